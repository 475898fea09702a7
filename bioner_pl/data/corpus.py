"""What a corpus is: configuration, not code. A corpus is `corpus/<name>.yaml` on Hydra's config
search path (ours in conf/corpus/, a user's in their --config-dir or hydra.searchpath), or a
directory named directly (`main=/data/mycorpus`). Either says where the splits are, their format,
tag scheme and entity-type map; `load_split` reads a split into IOB2 sentences."""

from __future__ import annotations

import logging
import os
import random
import re
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field, fields
from pathlib import Path

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from bioner_pl import formats
from bioner_pl.data import schemes, standoff
from bioner_pl.formats import conll
from bioner_pl.formats.conll import Sentence
from bioner_pl.config import CONF_DIR, UPSTREAM_URL
from bioner_pl.errors import InputError
from bioner_pl.naming import corpus_name, is_path

log = logging.getLogger("bioner_pl")
SPLITS = ("train", "devel", "test")
DATA_DIR_ENV = "BIONER_DATA_DIR"
FORMATS = ("auto", "column", "pubtator", "brat", "bioc")
STANDOFF = ("pubtator", "brat", "bioc")  # text with mentions at character offsets
# How a directory's split files are found by name (lower case), and which files can be splits.
SPLIT_WORDS = {"train": re.compile("train"), "devel": re.compile("dev|valid"), "test": re.compile("test")}
EXTENSIONS = (".tsv", ".conll", ".iob", ".iob1", ".iob2", ".bio", ".iobes", ".bioes", ".bilou", ".txt", ".pubtator", ".xml", ".json")
_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*$")


@dataclass(frozen=True)
class Corpus:
    name: str
    path: str                  # the folder of its splits (relative: under data.dir)
    url: str | None = None     # where missing split files are fetched from (relative: under data.base_url)
    files: dict = field(default_factory=dict)  # split -> file or brat folder in `path`; default: found by name
    format: str = "auto"       # auto | column | pubtator | brat | bioc
    scheme: str = "auto"       # auto (detected, and logged) | iob1 | iob2 | iobes (bioes) | bilou
    columns: tuple = (0, -1)   # token and tag column of a column file
    separator: str = "auto"    # auto (tab if the file has one) | tab | space
    types: dict = field(default_factory=dict)  # entity-type map: rename or merge (DNA: Gene), drop (cell_line: null)
    source: str = ""           # the config file it came from, for the messages

    def directory(self, data_dir: Path) -> Path:
        return Path(self.path).expanduser() if Path(self.path).expanduser().is_absolute() else data_dir / self.path


def corpus_dirs() -> list[Path]:
    """Where corpus configs live: Hydra's config search path when a Hydra app is running (so a
    user's --config-dir and hydra.searchpath count), else ours. conf/corpus/ of each, in order."""
    from hydra.core.hydra_config import HydraConfig

    dirs = [CONF_DIR]
    if HydraConfig.initialized():
        dirs += [Path(s.path) for s in HydraConfig.get().runtime.config_sources if s.schema == "file"]
    return list(dict.fromkeys(d.resolve() / "corpus" for d in dirs))


def known_corpora(dirs: list[Path] | None = None) -> list[str]:
    """Every corpus config's name, ours first, in file order."""
    names = [p.stem for d in (dirs or corpus_dirs()) if d.is_dir() for p in sorted(d.glob("*.yaml"))]
    return list(dict.fromkeys(names))


def from_config(path: Path) -> Corpus:
    try:
        raw = OmegaConf.to_container(OmegaConf.load(path), resolve=True) or {}
    except (OmegaConfBaseException, OSError, ValueError) as err:
        raise InputError(f"not a readable corpus config ({err})", path) from None
    known = {f.name for f in fields(Corpus)} - {"name", "source"}
    unknown = sorted(set(raw) - known) if isinstance(raw, dict) else ["(not a mapping)"]
    if unknown:
        raise InputError(f"unknown corpus config keys {unknown}; use {', '.join(sorted(known))}", path)
    if "columns" in raw:
        raw["columns"] = tuple(raw["columns"])
    return check(Corpus(name=path.stem, path=raw.pop("path", path.stem), source=str(path), **raw))


def check(corpus: Corpus) -> Corpus:
    where = corpus.source or corpus.path
    problems = []
    if not _NAME.match(corpus.name):
        problems.append(f"corpus name {corpus.name!r} must be letters, digits, _ . - (rename the folder or the config)")
    if corpus.format not in FORMATS:
        problems.append(f"unknown format {corpus.format!r}; use one of {', '.join(FORMATS)}")
    if str(corpus.scheme).lower() not in schemes.SCHEMES:
        problems.append(f"unknown tag scheme {corpus.scheme!r}; use one of {', '.join(schemes.SCHEMES)}")
    if corpus.separator not in conll.SEPARATORS:
        problems.append(f"unknown separator {corpus.separator!r}; use one of {', '.join(conll.SEPARATORS)}")
    if len(corpus.columns) != 2 or not all(isinstance(c, int) for c in corpus.columns):
        problems.append(f"columns must be [token, tag] column indices, got {list(corpus.columns)}")
    if set(corpus.files) - set(SPLITS):
        problems.append(f"files names unknown splits {sorted(set(corpus.files) - set(SPLITS))}; use {', '.join(SPLITS)}")
    if problems:
        raise InputError("; ".join(problems), where)
    return corpus


def resolve(ref: str | Corpus, dirs: list[Path] | None = None) -> Corpus:
    """A corpus by config name (`ncbi`) or by directory (`/data/mycorpus`, `./mine`)."""
    if isinstance(ref, Corpus):
        return ref
    ref = str(ref)
    dirs = dirs or corpus_dirs()
    if is_path(ref):
        directory = Path(ref).expanduser().resolve()
        if not directory.is_dir():
            raise InputError("corpus directory not found (a corpus is a config name or a folder of split files)", ref)
        name = corpus_name(ref)
        if name in known_corpora(dirs):
            raise InputError(f"this folder's name {name!r} is also a corpus config's; rename the folder "
                             "or describe it in a config of another name", directory)
        return check(Corpus(name=name, path=str(directory)))
    for d in dirs:
        if (d / f"{ref}.yaml").is_file():
            return from_config(d / f"{ref}.yaml")
    raise InputError(f"unknown corpus {ref!r}: neither a corpus config (corpus/{ref}.yaml in conf/ or your "
                     f"--config-dir) nor a folder path; known corpora: {', '.join(known_corpora(dirs))}")


def find_split(corpus: Corpus, split: str, directory: Path) -> Path | None:
    """The file (or brat folder) of a split: as the config names it, else the one whose name says
    train / dev|devel|valid / test; None when there is none."""
    if split in corpus.files:
        return directory / corpus.files[split]
    if not directory.is_dir():
        return None
    found = [p for p in sorted(directory.iterdir()) if not p.name.startswith(".")
             and SPLIT_WORDS[split].search(p.name.lower())
             and (p.is_dir() or p.name.lower().removesuffix(".gz").endswith(EXTENSIONS))]
    if len(found) > 1:
        raise InputError(f"{len(found)} files could be the {split} split ({', '.join(p.name for p in found)}); "
                         f"name one in a corpus config (files: {{{split}: ...}})", directory)
    return found[0] if found else None


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


def split_path(corpus: str | Corpus, split: str, data_dir: Path, base_url: str | None = UPSTREAM_URL) -> Path:
    """Path of a corpus split; fetched from the corpus's url first when missing (a relative url is
    under base_url; base_url=None: never fetch those). A url holds `<split>.tsv` files unless the
    config's `files` names them (the MTL-Bioinformatics-2016 layout)."""
    corpus = resolve(corpus)
    directory = corpus.directory(Path(data_dir))
    found = find_split(corpus, split, directory)
    if found is not None and found.exists():
        return found
    target = found or directory / f"{split}.tsv"
    url = corpus.url
    if url and "://" not in url:
        url = f"{base_url.rstrip('/')}/{url}" if base_url else None
    shown = f"{corpus.path}/{target.name}" if not Path(corpus.path).is_absolute() else str(target)
    how = (f"put {shown} under {data_dir}, or point data.dir / ${DATA_DIR_ENV} at a copy" if corpus.url else
           f"put a file named like {split} ({', '.join(EXTENSIONS)}, optionally .gz) in {directory}")
    if not url:
        raise InputError(f"missing {split} split of {corpus.name!r}; {how}", target)
    url = f"{url.rstrip('/')}/{target.name}"
    try:
        download(url, target)
    except (urllib.error.URLError, OSError) as err:
        raise InputError(f"missing {split} split of {corpus.name!r} and downloading {url} failed ({err}); {how}",
                         target) from None
    return target


def read_split(corpus: Corpus, path: Path) -> list[Sentence]:
    """A split file in the corpus's format (auto: a folder is brat, a BioC collection BioC, `pmid|t|`
    text PubTator, anything else columns), as IOB2 sentences, the corpus's type map applied (to a standoff
    file's mentions, so that a dropped type drops before nested mentions are resolved)."""
    fmt = corpus.format
    if fmt == "auto":
        fmt = formats.detect(path)
        fmt = fmt if fmt in STANDOFF else "column"  # anything else is read as columns, which say what is wrong
        if fmt != "column":  # the usual case goes without saying
            log.info("%s: read as %s", path, fmt)
    if path.is_dir() != (fmt == "brat"):
        raise InputError(f"a folder, but the corpus's format is {fmt}" if path.is_dir()
                         else "a file, but the corpus's format is brat (a folder of .txt and .ann)", path)
    if fmt in STANDOFF:
        return standoff.read(path, fmt, corpus.types)
    token, tag = corpus.columns
    return map_types(conll.read_column_corpus(path, corpus.scheme, token, tag, corpus.separator), corpus.types, str(path))


def map_types(sentences: list[Sentence], types: dict, where: str) -> list[Sentence]:
    """Rename, merge (two types to one name) or drop (to None: the entity becomes O) entity types."""
    if not types:
        return sentences
    standoff.warn_unused_types(types, {t[2:] for s in sentences for t in s.tags if t != "O"}, where)

    def mapped(tag: str) -> str:
        if tag == "O" or tag[2:] not in types:
            return tag
        return "O" if types[tag[2:]] is None else f"{tag[:2]}{types[tag[2:]]}"

    return [Sentence(s.tokens, tuple(mapped(t) for t in s.tags)) for s in sentences]


def load_split(corpus: str | Corpus, split: str, data_dir: Path, base_url: str | None = UPSTREAM_URL) -> list[Sentence]:
    corpus = resolve(corpus)
    path = split_path(corpus, split, data_dir, base_url)
    return read_split(corpus, path)


def subsample(sentences: list[Sentence], fraction: float, seed: int) -> list[Sentence]:
    """Keep a seeded random `fraction` of the sentences, in their original order (Table 6)."""
    if not 0 < fraction <= 1:
        raise InputError(f"training fraction must be in (0, 1], got {fraction}")
    if fraction == 1:
        return sentences
    keep = max(1, round(len(sentences) * fraction))
    chosen = sorted(random.Random(seed).sample(range(len(sentences)), keep))
    return [sentences[i] for i in chosen]
