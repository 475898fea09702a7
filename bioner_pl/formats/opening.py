"""How a file is opened (gzip-aware, once for every format) and read: whole, for the corpora
training loads; or a line at a time in bounded pieces, for collections of any size."""

from __future__ import annotations

import glob
import gzip
import io
import os
from pathlib import Path
from typing import Iterator

from bioner_pl.errors import InputError
from bioner_pl.files import MAX_RECORD_BYTES, MiB, bounded_lines
from bioner_pl.formats.document import Rejected


def files(pattern: str) -> list[Path]:
    """A file, or every file a glob matches, sorted (so shards agree on the order)."""
    found = sorted(Path(p) for p in glob.glob(pattern)) if glob.has_magic(pattern) else [Path(pattern)]
    found = [p for p in found if p.is_file()]
    if not found:
        raise InputError("input file not found" if not glob.has_magic(pattern) else "no input file matches", pattern)
    return found


def decompressed(raw, path: Path):
    """The bytes of a file opened as `raw`: gunzipped as they are read where its name ends in .gz."""
    return gzip.GzipFile(fileobj=raw) if path.suffix == ".gz" else raw


def open_binary(path: Path):
    return gzip.open(path) if path.suffix == ".gz" else open(path, "rb")  # closing it closes the file


def open_text(path: Path) -> io.TextIOBase:
    binary = open_binary(path)
    head = binary.peek(4096)[:4096] if hasattr(binary, "peek") else b""
    if b"\x00" in head:
        raise InputError("binary file, not text: give raw text, JSON lines, PubTator, MEDLINE XML, BioC or CoNLL", path)
    return io.TextIOWrapper(binary, encoding="utf-8", newline="")


def read_text(path: str | os.PathLike) -> str:
    """A UTF-8 text file, gzipped or not, whole; unreadable ones are one-line errors naming the file (and line)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        return (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8")
    except UnicodeDecodeError as err:
        line = err.object[: err.start].count(b"\n") + 1
        raise InputError(f"not UTF-8 text (byte {err.start}: {err.reason})", path, line) from None
    except (FileNotFoundError, IsADirectoryError):
        raise InputError("file not found", path) from None
    except (gzip.BadGzipFile, EOFError) as err:
        raise InputError(f"not a readable gzip file ({err})", path) from None


def too_large(limit: int) -> str:
    return f"a record of more than {limit:,} bytes (max_record_mb={limit // MiB}): set aside without reading it whole"


def lines(path: Path, binary, end: dict | None = None,
          limit: int = MAX_RECORD_BYTES) -> Iterator[tuple[int, str | Rejected]]:
    """(line number, text) of a file; an undecodable line, or one longer than `limit` (never held
    whole), is Rejected and reading goes on. Once read, end["newline"] says whether the file ends
    with one (a file cut off does not)."""
    raw = b"\n"
    for number, raw in bounded_lines(binary, limit):
        if raw is None:
            yield number, Rejected(path, number, too_large(limit), "")
            raw = b"\n"
            continue
        try:
            yield number, raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as err:
            yield number, Rejected(path, number, f"not UTF-8 text (byte {err.start})", repr(raw[:200]))
    if end is not None:
        end["newline"] = raw.endswith(b"\n")


class Options:
    """How records are read: the size limit of one record, and what the plain formats need."""

    def __init__(self, limit: int = MAX_RECORD_BYTES, documents: str = "lines", text_field: str = "text",
                 keep_empty: bool = False, sentences: bool = True):
        self.limit, self.documents, self.text_field = limit, documents, text_field
        self.keep_empty = keep_empty  # a document with no text: kept (training) or a bad record (tagging)
        self.sentences = sentences  # split into sentences (tagging); training splits each passage itself
