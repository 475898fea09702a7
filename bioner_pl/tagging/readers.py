"""Documents in, streamed: readers yield one record at a time (raw text, JSON lines, PubTator,
PubMed/MEDLINE XML, BioC XML or JSON, CoNLL). A record a reader cannot use comes out as a Rejected, naming
file:line, so that the caller decides whether it stops the job or is set aside."""

from __future__ import annotations

import glob
import gzip
import io
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Iterator

from bioner_pl.data import bioc_files
from bioner_pl.data.standoff import PUBTATOR_TEXT
from bioner_pl.data.tokenize import Token, Tokens, sentence_spans
from bioner_pl.errors import InputError
from bioner_pl.files import MAX_RECORD_BYTES, MiB, bounded_lines
from bioner_pl.tagging.documents import Document, document

INPUT_FORMATS = ("auto", "text", "jsonl", "pubtator", "medline", "bioc", "conll")


@dataclass
class Rejected:
    path: Path
    line: int | None  # None: the reader read it; the tagger or the writer could not use it
    problem: str
    record: str  # the start of what was read, for the rejects file

    def error(self) -> InputError:
        return InputError(self.problem, self.path, self.line)


def files(pattern: str) -> list[Path]:
    """A file, or every file a glob matches, sorted (so shards agree on the order)."""
    found = sorted(Path(p) for p in glob.glob(pattern)) if glob.has_magic(pattern) else [Path(pattern)]
    found = [p for p in found if p.is_file()]
    if not found:
        raise InputError("input file not found" if not glob.has_magic(pattern) else "no input file matches", pattern)
    return found


def open_binary(path: Path):
    return gzip.open(path) if path.suffix == ".gz" else open(path, "rb")


def open_text(path: Path) -> io.TextIOBase:
    binary = open_binary(path)
    head = binary.peek(4096)[:4096] if hasattr(binary, "peek") else b""
    if b"\x00" in head:
        raise InputError("binary file, not text: give raw text, JSON lines, PubTator, MEDLINE XML, BioC or CoNLL", path)
    return io.TextIOWrapper(binary, encoding="utf-8", newline="")


def too_large(limit: int) -> str:
    return f"a record of more than {limit:,} bytes (max_record_mb={limit // MiB}): set aside without reading it whole"


def detect(path: Path, declared: str) -> str:
    if declared not in INPUT_FORMATS:
        raise InputError(f"unknown input_format {declared!r}; use one of {', '.join(INPUT_FORMATS)}")
    if declared != "auto":
        return declared
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    with open_text(path) as f:  # the first 200 lines of the first 1 MB, whatever the file holds
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
        except json.JSONDecodeError:
            record = None
        if isinstance(record, dict):  # JSON lines, whatever the file is called: of BioC documents, or records
            return "bioc" if all(k in record for k in bioc_files.DOCUMENT_KEYS) else "jsonl"
        if '"documents"' in head:
            return "bioc"
        raise InputError("a JSON document, not JSON lines: this reader takes one JSON object per line "
                         "(input_format=jsonl, text_field=...) or a BioC JSON collection", path)
    if PUBTATOR_TEXT.match(first):
        return "pubtator"
    filled = [line for line in lines if line.strip()]
    if filled and all(" " not in line.split("\t")[0] for line in filled) and any("\t" in line for line in filled):
        return "conll"
    return "text"


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


def read_text(path: Path, binary, whole_file: bool, limit: int = MAX_RECORD_BYTES) -> Iterator[Document | Rejected]:
    if whole_file:
        data = binary.read(limit + 1)
        if len(data) > limit:
            yield Rejected(path, 1, too_large(limit), path.name)
            return
        try:
            yield document(data.decode("utf-8"), {"file": path.name})
        except UnicodeDecodeError as err:
            yield Rejected(path, 1, f"not UTF-8 text (byte {err.start})", path.name)
        return
    for number, text in lines(path, binary, limit=limit):
        if isinstance(text, Rejected) or text.strip():
            yield text if isinstance(text, Rejected) else document(text, {"line": number})


def read_jsonl(path: Path, binary, text_field: str, limit: int = MAX_RECORD_BYTES) -> Iterator[Document | Rejected]:
    for number, line in lines(path, binary, limit=limit):
        if isinstance(line, Rejected) or not line.strip():
            if isinstance(line, Rejected):
                yield line
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            yield Rejected(path, number, f"not a JSON line ({err.msg} at column {err.colno})", line[:200])
            continue
        if not isinstance(record, dict) or not isinstance(record.get(text_field), str):
            yield Rejected(path, number, f"no {text_field!r} text field (set text_field=...)", line[:200])
            continue
        text = record.pop(text_field)
        yield document(text, record)


def titled(pmid: str, title: str, abstract: str, extra: dict | None = None) -> Document:
    """Title and abstract as one text (PubTator's offsets: title, one space, abstract); the title is
    its own sentence."""
    text, shift = title + " " + abstract, len(title) + 1
    spans = sentence_spans(title) + [(shift + s, shift + e) for s, e in sentence_spans(abstract)]
    fields = {"id": pmid, "title_length": len(title), **(extra or {})}
    return Document(text, [Tokens(text, s, e) for s, e in spans], fields=fields)


def read_pubtator(path: Path, binary, limit: int = MAX_RECORD_BYTES) -> Iterator[Document | Rejected]:
    block: list[tuple[int, str]] = []
    size, oversized = 0, False

    def finish():
        texts = {}
        for number, line in block:
            match = PUBTATOR_TEXT.match(line)
            if match:
                texts.setdefault(match.group(1), {})[match.group(2)] = match.group(3)
            elif not re.match(r"^[^\t]+\t", line):
                return Rejected(path, number, f"not a PubTator line: {line[:60]!r}", line[:200])
        if len(texts) != 1:
            return Rejected(path, block[0][0], f"{len(texts)} documents in one block (a blank line must "
                            "separate them)" if texts else "a block without pmid|t| / pmid|a| lines", block[0][1][:200])
        (pmid, parts), = texts.items()
        return titled(pmid, parts.get("t", ""), parts.get("a", ""))

    end: dict = {}
    for number, line in lines(path, binary, end, limit):
        if isinstance(line, Rejected):
            yield line
        elif line.strip():
            size += len(line)
            if size > limit and not oversized:  # a document this size: set aside, its lines dropped as they come
                oversized = True
                yield Rejected(path, block[0][0] if block else number, too_large(limit), "")
            if not oversized:
                block.append((number, line))
        elif block or oversized:
            if not oversized:
                yield finish()
            block, size, oversized = [], 0, False
    if block and not end["newline"]:  # half a document is not one: set it aside, say why
        yield Rejected(path, block[-1][0], "the file ends inside this document, with no newline after its last "
                       "line: cut off? (a whole file ends with a newline)", block[0][1][:200])
    elif block:
        yield finish()


RECORDS = ("PubmedArticle", "PubmedBookArticle", "MedlineCitation")


def read_bioc(path: Path, binary, limit: int = MAX_RECORD_BYTES) -> Iterator[Document | Rejected]:
    """BioC XML or JSON: a document's passages joined by one space, each split into sentences on
    its own (so nothing crosses a passage); where each passage starts is kept in the fields, so
    the BioC writer puts the entities back at BioC offsets."""
    for line, doc in bioc_files.documents(binary, limit):
        if isinstance(doc, str):
            yield Rejected(path, line, doc, "")
            continue
        parts = bioc_files.passages(doc)
        if not parts:
            yield Rejected(path, line, f"document {doc.id} has no passage with text", str(doc.id))
            continue
        text = " ".join(p.text for p in parts)
        starts = list(accumulate((len(p.text) + 1 for p in parts[:-1]), initial=0))
        sentences = [Tokens(text, start + s, start + e) for p, start in zip(parts, starts)
                     for s, e in sentence_spans(p.text)]
        layout = [{"offset": p.offset, "start": start, "end": start + len(p.text), "infons": p.infons}
                  for p, start in zip(parts, starts)]
        fields = {"id": doc.id, "passages": layout} | ({"infons": dict(doc.infons)} if doc.infons else {})
        if len(parts) > 1:
            fields["title_length"] = len(parts[0].text)  # PubTator output: first passage, then the rest
        yield Document(text, sentences, fields=fields)


def read_medline(path: Path, binary, limit: int = MAX_RECORD_BYTES) -> Iterator[Document | Rejected]:
    """PubMed / MEDLINE XML (`<PubmedArticle>` or `<MedlineCitation>` records): PMID, title and
    abstract (its sections joined by spaces). Parsed incrementally, a line at a time (so a record's
    line is known), each record freed once read. A record without a PMID or title is Rejected;
    broken XML ends the file with a Rejected naming its line."""
    parser, depth, start, root, pmid = ET.XMLPullParser(events=("start", "end")), 0, 0, None, ""
    number, size = 0, 0
    try:
        for number, raw in bounded_lines(binary, limit):
            size = size + len(raw) if raw is not None and depth else 0
            if raw is None or size > limit:  # XML cannot be picked up again after a hole
                yield Rejected(path, start if depth else number, too_large(limit) + in_record(depth, pmid)
                               + "; the rest of this file is skipped", pmid)
                return
            parser.feed(raw)
            for event, element in parser.read_events():
                root = element if root is None else root
                if element.tag == "PMID" and event == "end" and depth and not pmid:
                    pmid = (element.text or "").strip()  # to name the record if the file breaks off in it
                if element.tag not in RECORDS:
                    continue
                if event == "start":
                    depth += 1
                    start, pmid = (start, pmid) if depth > 1 else (number, "")
                    continue
                depth -= 1
                if depth == 0:
                    yield medline_record(path, start, element)
                    root.clear()  # the set's finished records: memory stays flat
        parser.close()
    except ET.ParseError as err:
        yield Rejected(path, number, f"broken XML ({err}){in_record(depth, pmid)}; the rest of this file is skipped", pmid)
    except (OSError, EOFError) as err:
        yield Rejected(path, number, f"unreadable ({err}){in_record(depth, pmid)}; the rest of this file is skipped", pmid)


def in_record(depth: int, pmid: str) -> str:
    return f" in the record of PMID {pmid}" if depth and pmid else " in a record without a PMID yet" if depth else ""


def medline_record(path: Path, line: int, element) -> Document | Rejected:
    pmid = (element.findtext(".//PMID") or "").strip()
    title_element = element.find(".//ArticleTitle")
    if title_element is None:
        title_element = element.find(".//BookTitle")
    if not pmid or title_element is None:
        return Rejected(path, line, f"a record without {'a PMID' if not pmid else 'an ArticleTitle'}"
                        + (f" (PMID {pmid})" if pmid else ""), pmid)
    title = " ".join("".join(title_element.itertext()).split())
    abstract = " ".join(" ".join("".join(part.itertext()).split()) for part in element.iterfind(".//Abstract/AbstractText"))
    return titled(pmid, title, abstract)


def read_conll(path: Path, binary, limit: int = MAX_RECORD_BYTES) -> Iterator[Document | Rejected]:
    """One document per file: its tokens (first column), blank lines between sentences."""
    sentences, current, parts, position = [], [], [], 0
    for number, line in lines(path, binary, limit=limit):
        if isinstance(line, Rejected):
            yield line
            continue
        if position > limit:  # the file is the document
            yield Rejected(path, number, too_large(limit) + "; the rest of this file is skipped", path.name)
            return
        if not line.strip():
            if current:
                sentences.append(Tokens.given(current))
                current = []
            continue
        token = line.split("\t")[0]
        current.append(Token(token, position, position + len(token)))
        parts.append(token)
        position += len(token) + 1
    if current:
        sentences.append(Tokens.given(current))
    yield Document(" ".join(parts), sentences, fields={"file": path.name})


class Input:
    """Every record of every input file, in order, and how far reading has got: bytes of the files
    as stored (compressed, for .gz), so that a long job can say how much is left."""

    def __init__(self, pattern: str, input_format: str = "auto", documents: str = "lines", text_field: str = "text",
                 max_record_bytes: int = MAX_RECORD_BYTES):
        if documents not in ("lines", "file"):
            raise InputError(f"unknown documents={documents!r}; use lines (a document per line) or file")
        if max_record_bytes < 1:
            raise InputError(f"max_record_mb must be above 0, got {max_record_bytes / MiB:g}")
        self.paths, self.format, self.documents, self.text_field = files(pattern), input_format, documents, text_field
        self.limit = max_record_bytes
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
                self._raw = raw
                binary = gzip.GzipFile(fileobj=raw) if path.suffix == ".gz" else raw
                if fmt == "text":
                    yield from read_text(path, binary, self.documents == "file", self.limit)
                elif fmt == "jsonl":
                    yield from read_jsonl(path, binary, self.text_field, self.limit)
                else:
                    yield from READERS[fmt](path, binary, self.limit)
            self._before, self._raw = self._before + path.stat().st_size, None


READERS = {"pubtator": read_pubtator, "medline": read_medline, "bioc": read_bioc, "conll": read_conll}


def read(pattern: str, input_format: str = "auto", documents: str = "lines", text_field: str = "text",
         max_record_bytes: int = MAX_RECORD_BYTES) -> Iterator[Document | Rejected]:
    """Every record of every input file, in order."""
    return iter(Input(pattern, input_format, documents, text_field, max_record_bytes))
