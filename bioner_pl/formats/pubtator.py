"""PubTator: `pmid|t|title`, `pmid|a|abstract`, then `pmid<TAB>start<TAB>end<TAB>text<TAB>type[...]`
mention lines (relation lines `pmid<TAB>relation<TAB>id<TAB>id` are skipped), blank lines
between documents. Offsets count over title + one space + abstract; the title is its own passage."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from bioner_pl.formats.document import Document, Mention, Rejected, titled
from bioner_pl.formats.opening import Options, lines, too_large

EXTENSION = ".pubtator"
TEXT_LINE = re.compile(r"^([^|\t]+)\|([ta])\|(.*)$")  # pmid|t|title, pmid|a|abstract


@dataclass
class Block:
    pmid: str
    line: int
    parts: dict = field(default_factory=dict)
    mentions: list = field(default_factory=list)
    size: int = 0
    problem: Rejected | None = None  # the first thing wrong in it: the whole document is set aside


def read(path: Path, binary, options: Options) -> Iterator[Document | Rejected]:
    """A document starts at its title line (or at a line of another PMID) and ends at a blank
    line or the next document; a document with a line that is not PubTator is Rejected whole, at
    that line."""
    current: Block | None = None

    def finish(block: Block) -> Document | Rejected:
        if block.problem is not None:
            return block.problem
        doc = titled(block.pmid, block.parts.get("t", ""), block.parts.get("a", ""), split=options.sentences)
        doc.mentions, doc.path, doc.line = block.mentions, path, block.line
        return doc

    def wrong(block: Block, number: int, problem: str, line: str) -> None:
        if block.problem is None:
            block.problem = Rejected(path, number, problem, line[:200])

    end: dict = {}
    number = 0
    for number, line in lines(path, binary, end, options.limit):
        if isinstance(line, Rejected):
            if current is None:
                yield line
            elif current.problem is None:
                current.problem = line
            continue
        if not line.strip():
            if current is not None:
                yield finish(current)
            current = None
            continue
        text = TEXT_LINE.match(line)
        if text and (current is None or text.group(2) == "t" or text.group(1) != current.pmid):
            if current is not None:
                yield finish(current)
            current = Block(text.group(1), number)
        if current is None:
            yield Rejected(path, number, f"not a PubTator line (pmid|t|..., pmid|a|... or a tab-separated "
                           f"mention): {line[:60]!r}", line[:200])
            continue
        current.size += len(line)
        if current.size > options.limit:  # set aside; its lines are dropped as they come
            wrong(current, current.line, too_large(options.limit), "")
            current.parts, current.mentions = {}, []
            continue
        if current.problem is not None:
            continue
        if text:
            current.parts[text.group(2)] = text.group(3)
            continue
        fields = line.split("\t")
        if len(fields) >= 5 and fields[1].isdigit() and fields[2].isdigit():
            if fields[0] != current.pmid:
                wrong(current, number, f"mention of document {fields[0]!r} outside that document's block", line)
            else:
                current.mentions.append(Mention(int(fields[1]), int(fields[2]), fields[4], number, fields[3]))
        elif not (len(fields) >= 4 and fields[0] == current.pmid):  # else: a relation line
            wrong(current, number, f"not a PubTator line (pmid|t|..., pmid|a|... or a tab-separated mention): "
                                   f"{line[:60]!r}", line)
    if current is not None and not end.get("newline", True):  # half a document is not one: say why
        yield Rejected(path, number, "the file ends inside this document, in the middle of a line (no newline "
                       "at its end): cut off? A whole file ends with a newline", current.pmid)
    elif current is not None:
        yield finish(current)


def write(doc: Document, index: int) -> str:
    pmid = str(doc.fields.get("id", index))
    cut = doc.fields.get("title_length", len(doc.text))
    title, abstract = doc.text[:cut], doc.text[cut + 1:]
    out = [f"{pmid}|t|{title}", f"{pmid}|a|{abstract}"]
    out += [f"{pmid}\t{e.start}\t{e.end}\t{e.text}\t{e.type}" + (f"\t{e.confidence:.4f}" if e.confidence is not None else "")
            for e in doc.entities]
    return "\n".join(out) + "\n\n"
