"""Standoff corpora (PubTator, brat, BioC: read by bioner_pl.formats as documents with mentions),
turned into tagged sentences with the tokenizer `predict` uses. Nothing is lost without a word: a mention whose edge
falls inside a token splits the token there, of overlapping or nested mentions the outermost is
kept, whitespace written at a mention's edges that the text does not have is trimmed, and a
document that comes again is read once; each is logged with file and line, and counted. The
corpus's type map applies to the mentions, so a dropped type drops before nesting is resolved."""

from __future__ import annotations

import bisect
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable

from bioner_pl.data.tokenize import Token, sentence_spans, tokenize
from bioner_pl import formats
from bioner_pl.errors import InputError
from bioner_pl.formats.conll import Sentence
from bioner_pl.formats.document import Document, Mention, Rejected

log = logging.getLogger("bioner_pl")


@dataclass
class Report:
    """What a standoff file needed: mentions read, dropped by the type map or as nested/overlapping,
    edges trimmed, tokens split, documents repeated. `types` is the corpus's type map."""

    path: Path
    types: dict = field(default_factory=dict)
    mentions: int = 0
    dropped: int = 0
    overlapping: int = 0
    trimmed: int = 0
    split_tokens: int = 0
    repeated: int = 0
    file: Path | None = None  # the file being read (a brat folder's current .ann)
    seen_types: set = field(default_factory=set)

    def note(self, line: int, message: str) -> None:
        log.warning("%s:%d: %s", self.file or self.path, line, message)

    def mapped(self, mentions: list[Mention]) -> list[Mention]:
        """The type map on mentions: renamed, merged, or dropped (to None) before nesting is resolved."""
        self.seen_types |= {m.type for m in mentions}
        kept = [replace(m, type=self.types.get(m.type, m.type)) for m in mentions if self.types.get(m.type, "") is not None]
        self.dropped += len(mentions) - len(kept)
        return kept

    def log(self) -> None:
        log.info("%s: %d mentions; %d dropped by the type map; %d nested or overlapping (the outermost kept); "
                 "%d whose edges differ from the text in whitespace (trimmed); %d tokens split at a mention's "
                 "edge; %d repeated documents (read once)", self.path, self.mentions, self.dropped,
                 self.overlapping, self.trimmed, self.split_tokens, self.repeated)
        warn_unused_types(self.types, self.seen_types, self.path)


def warn_unused_types(types: dict, present: set, where) -> None:
    """A corpus's type map naming a type the file does not have (a typo, usually): a warning.
    Every format's reading applies the map (corpus.map_types for columns, Report.mapped here)."""
    missing = sorted(set(types) - set(present))
    if missing:
        log.warning("%s: the type map names %s, which this file does not have (types here: %s)",
                    where, missing, ", ".join(sorted(present)))


def outermost(mentions: list[Mention], report: Report) -> list[Mention]:
    """Non-overlapping mentions: of nested ones the outer, of crossing ones the first."""
    kept: list[Mention] = []
    for m in sorted(mentions, key=lambda m: (m.start, -m.end, m.line)):
        if kept and m.start < kept[-1].end:
            outer = kept[-1]
            how = "nested in" if m.end <= outer.end else "overlaps"
            report.note(m.line, f"{m.type} mention {m.start}-{m.end} {how} the {outer.type} mention "
                                f"{outer.start}-{outer.end} (line {outer.line}); kept that one")
            report.overlapping += 1
            continue
        kept.append(m)
    return kept


def tag_text(text: str, mentions: list[Mention], report: Report, offset: int = 0) -> list[Sentence]:
    """The sentences of text (offsets from `offset`) with IOB2 tags from the mentions."""
    report.mentions += len(mentions)
    mentions = outermost(report.mapped(mentions), report)
    spans = [(s + offset, e + offset) for s, e in sentence_spans(text)]
    merged: list[list[int]] = []  # a sentence boundary inside a mention is not one
    for start, end in spans:
        if merged and any(m.start < start < m.end for m in mentions):
            merged[-1][1] = end
        else:
            merged.append([start, end])
    sentences = []
    for start, end in merged:
        inside = [m for m in mentions if start <= m.start < end]
        tokens = split_at_edges(tokenize(text[start - offset : end - offset], start), inside, report)
        tags, previous = [], None
        for token in tokens:
            mention = next((m for m in inside if m.start <= token.start < m.end), None)
            tags.append("O" if mention is None else ("I-" if mention is previous else "B-") + mention.type)
            previous = mention
        if tokens:
            sentences.append(Sentence(tuple(t.text for t in tokens), tuple(tags)))
    return sentences


def split_at_edges(tokens: list[Token], mentions: list[Mention], report: Report) -> list[Token]:
    edges = sorted({m.start for m in mentions} | {m.end for m in mentions})
    out = []
    for token in tokens:
        first = bisect.bisect_right(edges, token.start)  # the edges inside the token, found by bisection
        cuts = edges[first:bisect.bisect_left(edges, token.end, first)]
        if not cuts:
            out.append(token)
            continue
        for cut in cuts:
            line = next(m.line for m in mentions if cut in (m.start, m.end))
            report.note(line, f"a mention's edge at {cut} falls inside the token {token.text!r}; split it there")
            report.split_tokens += 1
        bounds = [token.start, *cuts, token.end]
        out += [Token(token.text[a - token.start : b - token.start], a, b) for a, b in zip(bounds, bounds[1:])]
    return out


def check_text(text: str, mention: Mention, path: Path, report: Report) -> Mention:
    """The mention, if the text at its offsets is what the file writes. Whitespace at its edges
    that only one side has (the text at the offsets, or the text the file writes: NCBI-disease's
    release has both kinds) is trimmed off its offsets, with a note; anything else is an error."""
    where = f"{mention.where}: " if mention.where else ""
    if not 0 <= mention.start < mention.end <= len(text):
        raise InputError(f"{where}mention offsets {mention.start}-{mention.end} are outside the text "
                         f"({len(text)} characters)", path, mention.line)
    at = text[mention.start : mention.end]
    written = at if mention.written is None else mention.written
    if at == written:
        return mention
    core = written.strip()
    edges = [(len(at) - len(at.lstrip()), len(at) - len(at.rstrip()))]  # the text's whitespace at the offsets
    if len(written) == len(at):  # or the written mention's, at the same offsets
        edges.insert(0, (len(written) - len(written.lstrip()), len(written) - len(written.rstrip())))
    for lead, trail in edges:
        trimmed = replace(mention, start=mention.start + lead, end=mention.end - trail)
        if core and text[trimmed.start : trimmed.end] == core:
            report.note(mention.line, f"{where}mention {written!r} and the text at its offsets {at!r} differ in "
                                      f"whitespace at the edges; tagged as {core!r} at {trimmed.start}-{trimmed.end}")
            report.trimmed += 1
            return trimmed
    raise InputError(f"{where}mention {written!r} does not match the text at {mention.start}-{mention.end} "
                     f"({at!r})", path, mention.line)


def read(path: str | Path, fmt: str, types: dict | None = None) -> list[Sentence]:
    """A PubTator or BioC file, or a brat folder, as IOB2 sentences (`types`: the type map)."""
    path = Path(path)
    options = formats.Options(keep_empty=True, sentences=False)  # each passage is split as it is tagged
    return tagged_sentences(formats.read_file(path, fmt, options), path, types)


def tagged_sentences(records: Iterable[Document | Rejected], path: Path, types: dict | None = None) -> list[Sentence]:
    """A standoff file's documents (bioner_pl.formats) as IOB2 sentences, each passage tagged on its
    own; a bad record is an error naming its file and line; a document that comes again is read
    once, with a note; mentions are checked against the text. `types`: the corpus's type map."""
    report, sentences, first_line = Report(path, types or {}), [], {}
    for doc in records:
        if isinstance(doc, Rejected):
            raise doc.error()
        report.file = doc.path if doc.path != path else None
        key = doc.fields.get("id")
        if key is not None and key in first_line:
            report.note(doc.line, f"document {key} again (first at line {first_line[key]}); read once")
            report.repeated += 1
            continue
        first_line[key] = doc.line
        sentences += document_sentences(doc, report)
    if not first_line:
        raise InputError("no documents: the file is empty", path)
    report.log()
    return sentences


def document_sentences(doc: Document, report: Report) -> list[Sentence]:
    mentions = []
    for mention in doc.mentions:
        if mention.type is None:
            raise InputError(f"{mention.where} has no type infon (<infon key=\"type\">)", doc.path, mention.line)
        if mention.note:
            report.note(mention.line, mention.note)
        mentions.append(mention)
    layout, sentences = doc.layout(), []
    for number, span in enumerate(layout):
        start, end = span["start"], span["end"]
        inside = []
        for m in mentions:
            if m.passage == number and not start <= m.start < m.end <= end:
                raise InputError(f"{m.where}: offsets {m.start - start + span['offset']}-{m.end - start + span['offset']} "
                                 f"are outside its passage (offset {span['offset']}, {end - start} characters)",
                                 doc.path, m.line)
            if m.passage == number or (m.passage is None and start <= m.start < end):
                inside.append(check_text(doc.text, m, doc.path, report))
        crossing = [m for m in inside if m.end > end]
        if crossing:
            names = [p["infons"].get("type", f"passage {i + 1}") for i, p in enumerate(layout)]
            following = names[number + 1] if number + 1 < len(names) else "next passage"
            raise InputError(f"mention crosses from the {names[number]} into the {following}", doc.path, crossing[0].line)
        sentences += tag_text(doc.text[start:end], inside, report, start)
    outside = [m for m in mentions if m.passage is None and not any(p["start"] <= m.start < p["end"] for p in layout)]
    if outside:  # offsets past the text, or on the space between two passages
        check_text(doc.text, outside[0], doc.path, report)
        raise InputError(f"mention {outside[0].start}-{outside[0].end} starts between two passages",
                         doc.path, outside[0].line)
    return sentences
