"""Documents out, one at a time: JSON lines, PubTator, BioC XML or JSON, CoNLL as text, brat as
files of their own. A BioC collection is a container: its documents are written one at a time and
put between the collection's header and footer when the output is finished (CONTAINERS)."""

from __future__ import annotations

import json
import hashlib
import re

import bioc

from bioner_pl.data import bioc_files
from bioner_pl.tagging.documents import Document

# format -> the output file's extension (brat: a folder)
OUTPUT_FORMATS = {"jsonl": ".jsonl", "pubtator": ".pubtator", "bioc_xml": ".xml", "bioc_json": ".json",
                  "conll": ".conll", "brat": ".brat"}


def entity_dicts(doc: Document) -> list[dict]:
    return [{"text": e.text, "type": e.type, "start": e.start, "end": e.end}
            | ({"confidence": round(e.confidence, 6)} if e.confidence is not None else {}) for e in doc.entities]


def doc_id(doc: Document, index: int):
    return doc.fields.get("id", index)


def as_jsonl(doc: Document, index: int) -> str:
    fields = {k: v for k, v in doc.fields.items() if k != "title_length"}
    record = {"id": doc_id(doc, index), **fields, "text": doc.text, "entities": entity_dicts(doc)}
    return json.dumps(record, ensure_ascii=False) + "\n"


def as_pubtator(doc: Document, index: int) -> str:
    pmid = str(doc_id(doc, index))
    cut = doc.fields.get("title_length", len(doc.text))
    title, abstract = doc.text[:cut], doc.text[cut + 1:]
    out = [f"{pmid}|t|{title}", f"{pmid}|a|{abstract}"]
    out += [f"{pmid}\t{e.start}\t{e.end}\t{e.text}\t{e.type}" + (f"\t{e.confidence:.4f}" if e.confidence is not None else "")
            for e in doc.entities]
    return "\n".join(out) + "\n\n"


def as_conll(doc: Document, index: int) -> str:
    return "".join("".join(f"{t.text}\t{g}\n" for t, g in zip(tokens, tags)) + "\n"
                   for tokens, tags in zip(doc.sentences, doc.tags))


def brat_files(doc: Document, index: int) -> dict[str, str]:
    name = re.sub(r"[^\w.-]", "_", str(doc_id(doc, index)))
    name = f"doc{name}" if isinstance(doc_id(doc, index), int) else name
    if len(name.encode()) > 100 or name.startswith("."):  # every file system takes 255 bytes; a leading dot hides it
        short = name.lstrip(".").encode()[:80].decode(errors="ignore")
        name = f"{short}-{hashlib.blake2b(name.encode(), digest_size=6).hexdigest()}"
    ann = "".join(f"T{n}\t{e.type} {e.start} {e.end}\t{e.text}\n" for n, e in enumerate(doc.entities, 1))
    return {f"{name}.txt": doc.text, f"{name}.ann": ann}


def passage_layout(doc: Document) -> list[dict]:
    """Where each BioC passage is in the text: as read from BioC, else title and abstract (PubTator,
    MEDLINE: BioC offsets equal PubTator's), else one passage."""
    if "passages" in doc.fields:
        return doc.fields["passages"]
    if "title_length" in doc.fields:
        cut = doc.fields["title_length"]
        return [{"offset": 0, "start": 0, "end": cut, "infons": {"type": "title"}},
                {"offset": cut + 1, "start": cut + 1, "end": len(doc.text), "infons": {"type": "abstract"}}]
    return [{"offset": 0, "start": 0, "end": len(doc.text), "infons": {}}]


def as_bioc(doc: Document, index: int) -> bioc.BioCDocument:
    """The document with its entities as annotations (type and confidence infons, BioC offsets:
    the passage's offset plus the place in its text); the input's other fields become infons."""
    out = bioc.BioCDocument()
    out.id = str(doc_id(doc, index))
    out.infons = {k: str(v) for k, v in doc.fields.items() if k not in ("id", "passages", "infons", "title_length")
                  and isinstance(v, (str, int, float, bool))} | doc.fields.get("infons", {})
    entities = iter(sorted(doc.entities, key=lambda e: e.start))
    entity, number = next(entities, None), 0
    for part in passage_layout(doc):
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


def as_bioc_xml(doc: Document, index: int) -> str:
    return bioc_files.xml_document(as_bioc(doc, index))


def as_bioc_json(doc: Document, index: int) -> str:
    return bioc_files.json_document(as_bioc(doc, index))


WRITERS = {"jsonl": as_jsonl, "pubtator": as_pubtator, "bioc_xml": as_bioc_xml, "bioc_json": as_bioc_json,
           "conll": as_conll}
# format -> (header, separator, footer) of a file whose documents sit inside a container
CONTAINERS = {"bioc_xml": bioc_files.container(xml=True), "bioc_json": bioc_files.container(xml=False)}


def assemble(format: str, documents, out) -> None:
    """Write a finished output: the documents' bytes, in the format's container if it has one."""
    header, separator, footer = (c.encode() for c in CONTAINERS.get(format, ("", "", "")))
    out.write(header)
    for n, data in enumerate(documents):
        out.write(separator if n else b"")
        out.write(data)
    out.write(footer)
