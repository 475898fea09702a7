"""Datasets: the short-name registry, the IOB reader, the data directory and downloads."""

from __future__ import annotations

import gzip
import os
import random
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bioner_pl.errors import InputError

# Short name -> directory in cambridgeltl/MTL-Bioinformatics-2016/data (paper Tables 1 and 5).
DATASETS: dict[str, str] = {
    "bc2gm": "BC2GM-IOB",
    "exptm": "Ex-PTM-IOB",
    "ncbi": "NCBI-disease-IOB",
    "linnaeus": "linnaeus-IOB",
    "jnlpba": "JNLPBA",
    "bc5cdr": "BC5CDR-IOB",
    "bc5cdr_chem": "BC5CDR-chem-IOB",
    "bc5cdr_disease": "BC5CDR-disease-IOB",
    "bionlp09": "BioNLP09-IOB",
    "bionlp11id": "BioNLP11ID-IOB",
    "bionlp11id_chem": "BioNLP11ID-chem-IOB",
    "bionlp11id_ggp": "BioNLP11ID-ggp-IOB",
    "bionlp11id_species": "BioNLP11ID-species-IOB",
    "bionlp13pc": "BioNLP13PC-IOB",
    "bionlp13pc_cc": "BioNLP13PC-cc-IOB",
    "bionlp13pc_chem": "BioNLP13PC-chem-IOB",
    "bionlp13pc_ggp": "BioNLP13PC-ggp-IOB",
}
SPLITS = ("train", "devel", "test")
UPSTREAM_URL = "https://raw.githubusercontent.com/cambridgeltl/MTL-Bioinformatics-2016/master/data"
DATA_DIR_ENV = "BIONER_DATA_DIR"


@dataclass(frozen=True)
class Sentence:
    tokens: tuple[str, ...]
    tags: tuple[str, ...]


def check_dataset_name(name: str) -> str:
    if name not in DATASETS:
        raise InputError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}")
    return name


def _valid_tag(tag: str) -> bool:
    return tag == "O" or (len(tag) > 2 and tag[:2] in ("B-", "I-"))


def read_columns(path: str | os.PathLike, names: tuple[str, ...] = ("token", "tag")) -> list[tuple[tuple[str, ...], ...]]:
    """Read `token<TAB>tag[<TAB>tag ...]` lines (columns `names`, every one after the first an
    IOB2 tag), blank line between sentences, `-DOCSTART-` lines skipped; `.gz` files too. A
    sentence comes back as one tuple per column."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        text = (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8")
    except UnicodeDecodeError as err:
        line = err.object[: err.start].count(b"\n") + 1
        raise InputError(f"not UTF-8 text (byte {err.start}: {err.reason})", path, line) from None
    except FileNotFoundError:
        raise InputError("file not found", path) from None
    except (gzip.BadGzipFile, EOFError) as err:
        raise InputError(f"not a readable gzip file ({err})", path) from None
    sentences, rows = [], []
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.rstrip("\r\n")
        if not line.strip():
            if rows:
                sentences.append(tuple(zip(*rows)))
                rows = []
            continue
        fields = line.split("\t")
        if fields[0] == "-DOCSTART-":  # whatever columns it carries
            continue
        if len(fields) != len(names):
            raise InputError(f"expected {len(names)} tab-separated columns ({', '.join(names)}), "
                             f"found {len(fields)}: {line!r}", path, number)
        if not fields[0]:
            raise InputError("empty token", path, number)
        for name, tag in zip(names[1:], fields[1:]):
            if not _valid_tag(tag):
                raise InputError(f"{name} {tag!r} is not IOB2 (O, B-TYPE or I-TYPE)", path, number)
        rows.append(fields)
    if rows:
        sentences.append(tuple(zip(*rows)))
    if not sentences:
        raise InputError("no sentences: the file is empty", path)
    return sentences


def read_iob(path: str | os.PathLike) -> list[Sentence]:
    """A dataset split: `token<TAB>tag` lines (see read_columns)."""
    return [Sentence(*columns) for columns in read_columns(path)]


def download(url: str, target: Path, timeout: float = 30.0) -> None:
    """Fetch url into target atomically: a temp file in the same directory, renamed when complete."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            while chunk := response.read(1 << 20):
                out.write(chunk)
            if response.length:  # the server closed before sending what it announced
                raise OSError(f"connection closed with {response.length} bytes still to come")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def split_path(name: str, split: str, data_dir: Path, base_url: str | None = UPSTREAM_URL) -> Path:
    """Path of a dataset split; downloaded from upstream first when missing (base_url=None: never)."""
    directory = DATASETS[check_dataset_name(name)]
    path = data_dir / directory / f"{split}.tsv"
    if path.exists():
        return path
    how = (
        f"put {directory}/{split}.tsv of https://github.com/cambridgeltl/MTL-Bioinformatics-2016 "
        f"(data/) under {data_dir}, or point data.dir / ${DATA_DIR_ENV} at a copy"
    )
    if not base_url:
        raise InputError(f"missing {split} split of {name!r}; {how}", path)
    url = f"{base_url.rstrip('/')}/{directory}/{split}.tsv"
    try:
        download(url, path)
    except (urllib.error.URLError, OSError) as err:
        raise InputError(f"missing {split} split of {name!r} and downloading {url} failed ({err}); {how}", path) from None
    return path


def load_split(name: str, split: str, data_dir: Path, base_url: str | None = UPSTREAM_URL) -> list[Sentence]:
    return read_iob(split_path(name, split, data_dir, base_url))


def subsample(sentences: list[Sentence], fraction: float, seed: int) -> list[Sentence]:
    """Keep a seeded random `fraction` of the sentences, in their original order (Table 6)."""
    if not 0 < fraction <= 1:
        raise InputError(f"training fraction must be in (0, 1], got {fraction}")
    if fraction == 1:
        return sentences
    keep = max(1, round(len(sentences) * fraction))
    chosen = sorted(random.Random(seed).sample(range(len(sentences)), keep))
    return [sentences[i] for i in chosen]
