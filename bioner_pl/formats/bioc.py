"""BioC, the format PubTator3 and the BioCreative tasks exchange (XML and JSON), read and written
through the `bioc` library; what is ours is only the streaming, the messages, and the document:
passages joined by one space, each its own span of sentences, annotations as mentions.

XML is read a document at a time: lxml finds each `<document>` (its line kept for the messages),
bioc decodes it, and it is freed, so memory stays flat on a PubTator3 bulk file. A BioC JSON
collection is one JSON value and is read whole; BioC JSON lines (a document per line) stream.
External entities are never resolved and nothing is fetched: a file from elsewhere reads no other
file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Iterator

import bioc
from bioc import biocjson, biocxml
from bioc.biocxml.encoder import encode_document
from lxml import etree

from bioner_pl.data.tokenize import Tokens, sentence_spans
from bioner_pl.files import MAX_RECORD_BYTES, MiB, BoundedReader, RecordTooLarge, bounded_lines
from bioner_pl.formats.document import Document, Mention, Rejected
from bioner_pl.formats.opening import Options

DOCUMENT_KEYS = ("passages",)  # what makes a JSON object a BioC document


@dataclass
class Passage:
    """A passage with text: `offset` is BioC's (where it starts in the document's offsets)."""

    offset: int
    text: str
    infons: dict
    annotations: list  # bioc.BioCAnnotation, locations in the document's offsets


def read(path: Path, binary, options: Options) -> Iterator[Document | Rejected]:
    """Every document of a BioC XML or JSON file: its passages with text joined by one space, each
    split into sentences on its own (nothing crosses a passage), where each starts kept in its
    extras (so the BioC writer puts entities back at BioC offsets), its annotations as mentions
    (several locations: their covering span, with a note). A document without a passage with
    text is Rejected, unless options.keep_empty (training: nothing to learn from, nothing wrong)."""
    for line, doc in documents(binary, options.limit):
        if isinstance(doc, str):
            yield Rejected(path, line, doc, "")
            continue
        parts = passages(doc)
        if not parts and not options.keep_empty:
            yield Rejected(path, line, f"document {doc.id} has no passage with text", str(doc.id))
            continue
        text = " ".join(p.text for p in parts)
        starts = list(accumulate((len(p.text) + 1 for p in parts[:-1]), initial=0))
        sentences = [Tokens(text, start + s, start + e) for p, start in zip(parts, starts)
                     for s, e in sentence_spans(p.text)] if options.sentences else []
        layout = [{"offset": p.offset, "start": start, "end": start + len(p.text), "infons": p.infons}
                  for p, start in zip(parts, starts)]
        fields = {"id": doc.id, "passages": layout} | ({"infons": dict(doc.infons)} if doc.infons else {})
        if len(parts) > 1:
            fields["title_length"] = len(parts[0].text)  # PubTator output: first passage, then the rest
        mentions = [m for number, (p, start) in enumerate(zip(parts, starts))
                    for a in p.annotations if (m := mention(p, start, number, a, doc.id, line)) is not None]
        yield Document(text, sentences, fields=fields, mentions=mentions, path=path, line=line)


def mention(passage: Passage, start: int, number: int, annotation, doc_id, line: int) -> Mention | None:
    """An annotation as a mention in the document's text (None: no locations, not an entity)."""
    if not annotation.locations:
        return None
    where = f"document {doc_id}, annotation {annotation.id}"
    pieces = sorted((loc.offset - passage.offset, loc.offset - passage.offset + loc.length) for loc in annotation.locations)
    first, last = pieces[0][0], max(e for _, e in pieces)
    note = f"{where}: {len(pieces)} locations; tagged as their covering span {first}-{last}" if len(pieces) > 1 else ""
    return Mention(start + first, start + last, annotation_type(annotation), line,
                   annotation.text if len(pieces) == 1 else None, where, number, note)


def documents(binary, limit: int = MAX_RECORD_BYTES) -> Iterator[tuple[int, bioc.BioCDocument | str]]:
    """(line, document) for every document of a BioC XML or JSON file opened as `binary`; a
    document that cannot be read comes as (line, problem) and reading goes on (broken XML: the
    rest of the file is skipped, and the problem says so). A document (a collection, for BioC
    JSON that is not JSON lines) of more than `limit` bytes is a problem, found before it is
    read whole."""
    head = binary.peek(64)[:64].lstrip() if hasattr(binary, "peek") else b"<"
    yield from (_xml(binary, limit) if head.startswith(b"<") else _json(binary, limit))


def too_large(limit: int, what: str = "a document", rest_skipped: bool = True) -> str:
    return (f"{what} of more than {limit:,} bytes (max_record_mb={limit // MiB})"
            + ("; the rest of this file is skipped" if rest_skipped else ": set aside without reading it whole"))


def _xml(binary, limit: int) -> Iterator[tuple[int, bioc.BioCDocument | str]]:
    source = BoundedReader(binary, limit)
    parsed = etree.iterparse(source, events=("end",), tag="document", resolve_entities=False,
                             no_network=True, load_dtd=False, huge_tree=True)
    line = 1
    try:
        for _, element in parsed:
            source.record_ended()
            line = element.sourceline or line
            xml = etree.tostring(element, encoding="unicode", with_tail=False)
            try:
                yield line, biocxml.loads(f"<collection>{xml}</collection>").documents[0]
            except (ValueError, TypeError, KeyError, etree.LxmlError) as err:
                yield line, f"not a BioC document ({type(err).__name__}: {err})"
            element.clear()  # and the documents before it: memory stays flat
            while element.getprevious() is not None:
                del element.getparent()[0]
    except etree.XMLSyntaxError as err:
        yield err.lineno or line, f"broken XML ({err.msg}); the rest of this file is skipped"
    except RecordTooLarge:
        yield line, too_large(limit, "a document (or what lies between two)")


def _json(binary, limit: int) -> Iterator[tuple[int, bioc.BioCDocument | str]]:
    lines = bounded_lines(binary, limit)
    read: list[bytes] = []
    for number, raw in lines:  # the first line with something on it tells JSON lines from a collection
        if raw is None:
            yield number, too_large(limit)
            return
        read.append(raw)
        if raw.strip():
            break
    try:
        record = json.loads(read[-1]) if read else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        record = None
    if isinstance(record, dict) and all(k in record for k in DOCUMENT_KEYS):  # BioC JSON lines: one at a time
        yield len(read), _document(record)
        for number, raw in lines:
            if raw is None:
                yield number, too_large(limit, rest_skipped=False)
            elif raw.strip():
                yield number, _document(raw)
        return
    rest = binary.read(limit + 1 - sum(map(len, read)))
    if sum(map(len, read)) + len(rest) > limit:
        yield 1, too_large(limit, "a BioC JSON collection (give it as BioC JSON lines, a document a line)")
        return
    try:
        collection = json.loads((b"".join(read) + rest).decode("utf-8"))
    except UnicodeDecodeError as err:
        yield 1, f"not UTF-8 text (byte {err.start})"
        return
    except RecursionError:
        yield 1, "not BioC JSON: it nests too deeply"
        return
    except json.JSONDecodeError as err:
        yield err.lineno, f"not BioC JSON ({err.msg} at column {err.colno})"
        return
    if not isinstance(collection, dict) or not isinstance(collection.get("documents"), list):
        yield 1, "not a BioC JSON collection (no \"documents\" list) nor BioC JSON lines"
        return
    for number, obj in enumerate(collection["documents"], start=1):
        yield 1, _document(obj, f"document {number} of the collection: ")


def _document(obj, where: str = "") -> bioc.BioCDocument | str:
    try:
        obj = json.loads(obj) if isinstance(obj, (str, bytes)) else obj
        return biocjson.decoder.parse_doc(obj)
    except json.JSONDecodeError as err:
        return f"{where}not a JSON line ({err.msg} at column {err.colno})"
    except UnicodeDecodeError as err:
        return f"{where}not UTF-8 text (byte {err.start})"
    except KeyError as err:
        return f"{where}not a BioC document: no {err} field"
    except (TypeError, AttributeError) as err:
        return f"{where}not a BioC document ({err})"


def passages(doc: bioc.BioCDocument) -> list[Passage]:
    """The passages that carry text, in order (a passage given as sentences is rebuilt from them,
    each at its offset); annotations of the document itself go to the passage they fall in."""
    out = []
    for p in doc.passages:
        text, annotations = p.text, list(p.annotations)
        if not text and p.sentences:
            text = ""
            for s in p.sentences:
                text += " " * max(s.offset - p.offset - len(text), 0) + (s.text or "")
                annotations += s.annotations
        if text:
            out.append(Passage(int(p.offset), text, dict(p.infons), annotations))
    for annotation in doc.annotations:
        start = min((loc.offset for loc in annotation.locations), default=-1)
        home = next((p for p in out if p.offset <= start < p.offset + len(p.text)), None)
        if home is not None:
            home.annotations.append(annotation)
    return out


def annotation_type(annotation: bioc.BioCAnnotation) -> str | None:
    """The entity type: the `type` infon (PubTator3, BioCreative), any case."""
    return next((v for k, v in annotation.infons.items() if k.lower() == "type"), None)


def container(xml: bool) -> tuple[str, str, str]:
    """(header, separator, footer) of a collection written a document at a time, as bioc writes
    an empty collection: the documents go between header and footer."""
    empty = bioc.BioCCollection()
    empty.source = "bioner-pl"
    if xml:
        text = biocxml.dumps(empty, pretty_print=False)
        cut = text.rindex("</collection>")
        return text[:cut] + "\n", "", "</collection>\n"
    text = biocjson.dumps(empty)
    cut = text.rindex("[]") + 1
    return text[:cut] + "\n", ",\n", "\n" + text[cut:] + "\n"


def xml_document(doc: bioc.BioCDocument) -> str:
    return etree.tostring(encode_document(doc), encoding="unicode") + "\n"


def json_document(doc: bioc.BioCDocument) -> str:
    return json.dumps(biocjson.toJSON(doc), ensure_ascii=False)


def as_bioc(doc: Document, index: int) -> bioc.BioCDocument:
    """The document with its entities as annotations (type and confidence infons, BioC offsets:
    the passage's offset plus the place in its text); the input's other fields become infons."""
    out = bioc.BioCDocument()
    out.id = str(doc.fields.get("id", index))
    out.infons = {k: str(v) for k, v in doc.fields.items() if k not in ("id", "passages", "infons", "title_length")
                  and isinstance(v, (str, int, float, bool))} | doc.fields.get("infons", {})
    entities = iter(sorted(doc.entities, key=lambda e: e.start))
    entity, number = next(entities, None), 0
    for part in doc.layout():
        passage = bioc.BioCPassage()
        passage.offset, passage.infons, passage.text = part["offset"], dict(part["infons"]), doc.text[part["start"]:part["end"]]
        while entity is not None and entity.start < part["end"]:
            number += 1
            annotation = bioc.BioCAnnotation()
            annotation.id, annotation.text = f"T{number}", entity.text
            annotation.infons["type"] = entity.type
            if entity.confidence is not None:
                annotation.infons["confidence"] = f"{entity.confidence:.4f}"
            annotation.add_location(bioc.BioCLocation(part["offset"] + entity.start - part["start"], entity.end - entity.start))
            passage.add_annotation(annotation)
            entity = next(entities, None)
        out.add_passage(passage)
    return out


def write_xml(doc: Document, index: int) -> str:
    return xml_document(as_bioc(doc, index))


def write_json(doc: Document, index: int) -> str:
    return json_document(as_bioc(doc, index))
