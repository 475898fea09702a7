"""brat standoff: a folder of `<doc>.txt` with its `<doc>.ann`. Text-bound annotations (T lines)
are the mentions (a discontinuous one: its covering span, with a note); relations, events,
attributes and notes are skipped. Written as a folder of such pairs, one per document, named by
the document's id: safe and bounded on every file system."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Iterator

from bioner_pl.formats.document import Document, Mention, Rejected
from bioner_pl.formats.opening import read_text

EXTENSION = ".brat"  # a folder
ENTITY_LINE = re.compile(r"^(T\S*)\t(\S+) (\d+ \d+(?:;\d+ \d+)*)\t(.*)$")


def read_folder(directory: Path) -> Iterator[Document | Rejected]:
    """Every document of the folder, in name order: its text, its mentions; each from its .ann."""
    anns, texts = sorted(directory.glob("*.ann")), sorted(directory.glob("*.txt"))
    if not anns and not texts:
        yield Rejected(directory, None, "no brat documents (.txt with .ann) in this folder", "")
        return
    for txt in texts:
        if not txt.with_suffix(".ann").exists():
            yield Rejected(txt, None, "a .txt without its .ann (brat writes an empty .ann for a document without "
                           "annotations)", "")
            return
    for ann in anns:
        txt = ann.with_suffix(".txt")
        if not txt.exists():
            yield Rejected(ann, None, f"brat annotations without their text: {txt.name} is missing", "")
            return
        yield read_pair(txt, ann)


def read_pair(txt: Path, ann: Path) -> Document | Rejected:
    text, mentions = read_text(txt), []
    for number, line in enumerate(read_text(ann).splitlines(), start=1):
        if not line.startswith("T"):
            continue
        match = ENTITY_LINE.match(line)
        if not match:
            return Rejected(ann, number, f"not a brat text-bound annotation (T<id><TAB>TYPE START END<TAB>text): "
                            f"{line[:60]!r}", line[:200])
        _, kind, offsets, written = match.groups()
        pieces = [tuple(map(int, p.split())) for p in offsets.split(";")]
        start, end, note = pieces[0][0], pieces[-1][1], ""
        if len(pieces) > 1:
            note = f"discontinuous {kind} mention {offsets}: tagged as its covering span {start}-{end}"
            written = text[start:end] if " ".join(text[a:b] for a, b in pieces) == written else written
        mentions.append(Mention(start, end, kind, number, written, note=note))
    return Document(text, fields={"id": txt.stem}, mentions=mentions, path=ann, line=1)


def files(doc: Document, index: int) -> dict[str, str]:
    """The document as brat's two files, {name: content}."""
    given = doc.fields.get("id", index)
    name = re.sub(r"[^\w.-]", "_", str(given))
    name = f"doc{name}" if isinstance(given, int) else name
    if len(name.encode()) > 100 or name.startswith("."):  # every file system takes 255 bytes; a leading dot hides it
        short = name.lstrip(".").encode()[:80].decode(errors="ignore")
        name = f"{short}-{hashlib.blake2b(name.encode(), digest_size=6).hexdigest()}"
    ann = "".join(f"T{n}\t{e.type} {e.start} {e.end}\t{e.text}\n" for n, e in enumerate(doc.entities, 1))
    return {f"{name}.txt": doc.text, f"{name}.ann": ann}
