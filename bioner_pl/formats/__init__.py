"""Every on-disk format, in one place, for training and tagging alike: detection, opening
(gzip-aware, once), one reader per format yielding one Document type (its text, passages,
sentences, and the gold mentions where the file has them: training turns those into tagged
sentences, tagging ignores them), and the writers beside the readers of the same format.

A new format is one module here (a `read(path, binary, options)` that yields Documents or
Rejected records; a `write(doc, index) -> str` if it can be written, with its EXTENSION) and one
line in READERS and/or WRITERS below; docs/corpora.md and docs/tagging.md say the same."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterator

from bioner_pl.errors import InputError
from bioner_pl.files import MAX_RECORD_BYTES, MiB
from bioner_pl.formats import bioc, brat, conll, jsonl, medline, pubtator, text
from bioner_pl.formats.document import Document, Entity, Mention, Rejected, document, pretokenized  # noqa: F401
from bioner_pl.formats.opening import Options, decompressed, files, open_text

# format -> its reader (brat, a folder, is read by brat.read_folder: training only)
READERS = {"text": text.read, "jsonl": jsonl.read, "pubtator": pubtator.read, "medline": medline.read,
           "bioc": bioc.read, "conll": conll.read}
INPUT_FORMATS = ("auto", *READERS)
# format -> (writer, the output file's extension; brat: a folder of files, written by brat.files)
WRITERS = {"jsonl": (jsonl.write, jsonl.EXTENSION), "pubtator": (pubtator.write, pubtator.EXTENSION),
           "bioc_xml": (bioc.write_xml, ".xml"), "bioc_json": (bioc.write_json, ".json"),
           "conll": (conll.write, conll.EXTENSION), "brat": (brat.files, brat.EXTENSION)}
# format -> (header, separator, footer) of a file whose documents sit inside a container
CONTAINERS = {"bioc_xml": bioc.container(xml=True), "bioc_json": bioc.container(xml=False)}


def detect(path: Path, declared: str = "auto") -> str:
    """The format of a file: `declared`, or (auto) what its name and its first 200 lines (of at
    most 1 MB) say. A folder is brat."""
    if declared not in INPUT_FORMATS and declared != "brat":
        raise InputError(f"unknown input_format {declared!r}; use one of {', '.join(INPUT_FORMATS)}")
    if declared != "auto":
        return declared
    if path.is_dir():
        return "brat"
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    with open_text(path) as f:
        try:
            head = f.read(MiB)
        except UnicodeDecodeError:
            return "text"  # the reader names the line
    lines = head.split("\n")[:200]
    head = "\n".join(lines)
    if name.endswith(".xml") or head.lstrip().startswith("<?xml"):
        return "bioc" if re.search(r"<collection\b", head) else "medline"
    first = next((line for line in lines if line.strip()), "")
    if first.lstrip().startswith(("{", "[")):
        try:
            record = json.loads(first)
        except (json.JSONDecodeError, RecursionError):
            record = None
        if isinstance(record, dict):  # JSON lines, whatever the file is called: of BioC documents, or records
            return "bioc" if all(k in record for k in bioc.DOCUMENT_KEYS) else "jsonl"
        if '"documents"' in head:
            return "bioc"
        if record is not None or name.endswith(".json"):  # else a line that starts with a bracket token
            raise InputError("a JSON document, not JSON lines: this reader takes one JSON object per line "
                             "(input_format=jsonl, text_field=...) or a BioC JSON collection", path)
    if pubtator.TEXT_LINE.match(first):
        return "pubtator"
    filled = [line for line in lines if line.strip()]
    if filled and all(" " not in line.split("\t")[0] for line in filled) and any("\t" in line for line in filled):
        return "conll"
    return "text"


def read_file(path: Path, fmt: str, options: Options | None = None) -> Iterator[Document | Rejected]:
    """Every record of one file (or brat folder) in a known format."""
    if fmt == "brat":
        yield from brat.read_folder(path)
        return
    with open(path, "rb") as raw:
        yield from READERS[fmt](path, decompressed(raw, path), options or Options())


class Input:
    """Every record of every input file, in order, and how far reading has got: bytes of the files
    as stored (compressed, for .gz), so that a long job can say how much is left."""

    def __init__(self, pattern: str, input_format: str = "auto", documents: str = "lines", text_field: str = "text",
                 max_record_bytes: int = MAX_RECORD_BYTES):
        if documents not in ("lines", "file"):
            raise InputError(f"unknown documents={documents!r}; use lines (a document per line) or file")
        if max_record_bytes < 1:
            raise InputError(f"max_record_mb must be above 0, got {max_record_bytes / MiB:g}")
        if input_format not in INPUT_FORMATS:
            raise InputError(f"unknown input_format {input_format!r}; use one of {', '.join(INPUT_FORMATS)}")
        self.paths, self.format = files(pattern), input_format
        self.options = Options(max_record_bytes, documents, text_field)
        self.current: Path | None = None  # the file being read
        self.total_bytes = sum(p.stat().st_size for p in self.paths)
        self._before, self._raw = 0, None

    @property
    def bytes_read(self) -> int:
        return self._before + (self._raw.tell() if self._raw is not None and not self._raw.closed else 0)

    def __iter__(self) -> Iterator[Document | Rejected]:
        for path in self.paths:
            fmt = detect(path, self.format)
            self.current = path
            with open(path, "rb") as raw:
                self._raw = raw  # its position is what has been read of the file as stored
                yield from READERS[fmt](path, decompressed(raw, path), self.options)
            self._before, self._raw = self._before + path.stat().st_size, None


def read(pattern: str, input_format: str = "auto", documents: str = "lines", text_field: str = "text",
         max_record_bytes: int = MAX_RECORD_BYTES) -> Iterator[Document | Rejected]:
    """Every record of every input file, in order."""
    return iter(Input(pattern, input_format, documents, text_field, max_record_bytes))


def assemble(format: str, documents, out) -> None:
    """Write a finished output: the documents' bytes, in the format's container if it has one."""
    header, separator, footer = (c.encode() for c in CONTAINERS.get(format, ("", "", "")))
    out.write(header)
    for n, data in enumerate(documents):
        out.write(separator if n else b"")
        out.write(data)
    out.write(footer)
