"""Documents out, one at a time: JSON lines, PubTator, CoNLL as text, brat as files of their own."""

from __future__ import annotations

import json
import re

from bioner_pl.tagging.documents import Document

# format -> the output file's extension (brat: a folder)
OUTPUT_FORMATS = {"jsonl": ".jsonl", "pubtator": ".pubtator", "conll": ".conll", "brat": ".brat"}


def entity_dicts(doc: Document) -> list[dict]:
    return [{"text": e.text, "type": e.type, "start": e.start, "end": e.end}
            | ({"confidence": round(e.confidence, 6)} if e.confidence is not None else {}) for e in doc.entities]


def doc_id(doc: Document, index: int):
    return doc.fields.get("id", index)


def as_jsonl(doc: Document, index: int) -> str:
    fields = {k: v for k, v in doc.fields.items() if k not in ("title_length",)}
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
    ann = "".join(f"T{n}\t{e.type} {e.start} {e.end}\t{e.text}\n" for n, e in enumerate(doc.entities, 1))
    return {f"{name}.txt": doc.text, f"{name}.ann": ann}


WRITERS = {"jsonl": as_jsonl, "pubtator": as_pubtator, "conll": as_conll}
