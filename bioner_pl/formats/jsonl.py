"""JSON lines: a record per line, its text in `text_field`, its other fields the document's extras
(typed: a wrong type is a bad record); written back with the entities found."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from bioner_pl.formats.document import Document, Rejected, checked_extras, document
from bioner_pl.formats.opening import Options, lines

EXTENSION = ".jsonl"


def read(path: Path, binary, options: Options) -> Iterator[Document | Rejected]:
    for number, line in lines(path, binary, limit=options.limit):
        if isinstance(line, Rejected) or not line.strip():
            if isinstance(line, Rejected):
                yield line
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            yield Rejected(path, number, f"not a JSON line ({err.msg} at column {err.colno})", line[:200])
            continue
        except RecursionError:
            yield Rejected(path, number, "not a JSON line: it nests too deeply", line[:200])
            continue
        if not isinstance(record, dict) or not isinstance(record.get(options.text_field), str):
            yield Rejected(path, number, f"no {options.text_field!r} text field (set text_field=...)", line[:200])
            continue
        text = record.pop(options.text_field)
        extras = checked_extras(record, text)
        if isinstance(extras, str):
            yield Rejected(path, number, extras, line[:200])
            continue
        yield document(text, extras)


def entity_dicts(doc: Document) -> list[dict]:
    return [{"text": e.text, "type": e.type, "start": e.start, "end": e.end}
            | ({"confidence": round(e.confidence, 6)} if e.confidence is not None else {}) for e in doc.entities]


def write(doc: Document, index: int) -> str:
    fields = {k: v for k, v in doc.fields.items() if k != "title_length"}
    record = {"id": doc.fields.get("id", index), **fields, "text": doc.text, "entities": entity_dicts(doc)}
    return json.dumps(record, ensure_ascii=False) + "\n"
