"""Raw text: a document per line, or the whole file as one document (documents=file)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from bioner_pl.formats.document import Document, Rejected, document
from bioner_pl.formats.opening import Options, lines, too_large


def read(path: Path, binary, options: Options) -> Iterator[Document | Rejected]:
    if options.documents == "file":
        data = binary.read(options.limit + 1)
        if len(data) > options.limit:
            yield Rejected(path, 1, too_large(options.limit), path.name)
            return
        try:
            yield document(data.decode("utf-8"), {"file": path.name})
        except UnicodeDecodeError as err:
            yield Rejected(path, 1, f"not UTF-8 text (byte {err.start})", path.name)
        return
    for number, text in lines(path, binary, limit=options.limit):
        if isinstance(text, Rejected) or text.strip():
            yield text if isinstance(text, Rejected) else document(text, {"line": number})
