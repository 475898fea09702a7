"""Standoff corpora (PubTator, brat, BioC): text plus character-offset mentions, turned into tagged
sentences with the tokenizer `predict` uses. Nothing is lost without a word: a mention whose edge
falls inside a token splits the token there, of overlapping or nested mentions the outermost is
kept, whitespace written at a mention's edges that the text does not have is trimmed, and a
document that comes again is read once; each is logged with file and line, and counted. The
corpus's type map applies to the mentions, so a dropped type drops before nesting is resolved."""

from __future__ import annotations

import gzip
import logging
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from bioner_pl.data import bioc_files
from bioner_pl.data.columns import Sentence, read_text
from bioner_pl.data.tokenize import Token, sentence_spans, tokenize
from bioner_pl.errors import InputError

log = logging.getLogger("bioner_pl")


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    type: str
    line: int  # where it is written, for the messages


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
                 "%d with whitespace at an edge that the text lacks (trimmed); %d tokens split at a mention's "
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
        cuts = [e for e in edges if token.start < e < token.end]
        for cut in cuts:
            line = next(m.line for m in mentions if cut in (m.start, m.end))
            report.note(line, f"a mention's edge at {cut} falls inside the token {token.text!r}; split it there")
            report.split_tokens += 1
        bounds = [token.start, *cuts, token.end]
        out += [Token(token.text[a - token.start : b - token.start], a, b) for a, b in zip(bounds, bounds[1:])]
    return out


def check_text(text: str, mention: Mention, written: str, path: Path, report: Report) -> Mention:
    """The mention, if the text at its offsets is what the file writes; whitespace written at its
    edges that the text does not have (NCBI-disease's release has such a mention) is trimmed off
    its offsets, with a note; anything else is an error."""
    if not 0 <= mention.start < mention.end <= len(text):
        raise InputError(f"mention offsets {mention.start}-{mention.end} are outside the text "
                         f"({len(text)} characters)", path, mention.line)
    if text[mention.start : mention.end] == written:
        return mention
    core = written.strip()
    trimmed = replace(mention, start=mention.start + len(written) - len(written.lstrip()),
                      end=mention.end - (len(written) - len(written.rstrip())))
    if core and len(written) == mention.end - mention.start and text[trimmed.start : trimmed.end] == core:
        report.note(mention.line, f"mention {written!r} has whitespace at its edges that the text lacks; "
                                  f"tagged as {core!r} at {trimmed.start}-{trimmed.end}")
        report.trimmed += 1
        return trimmed
    raise InputError(f"mention {written!r} does not match the text at {mention.start}-{mention.end} "
                     f"({text[mention.start : mention.end]!r})", path, mention.line)


PUBTATOR_TEXT = re.compile(r"^([^|\t]+)\|([ta])\|(.*)$")  # pmid|t|title, pmid|a|abstract (the tagger reads it too)


def looks_like_pubtator(path: Path) -> bool:
    first = next((line for line in read_text(path).splitlines() if line.strip()), "")
    return bool(PUBTATOR_TEXT.match(first))


def read_pubtator(path: str | Path, types: dict | None = None) -> list[Sentence]:
    """PubTator: `pmid|t|title`, `pmid|a|abstract`, then `pmid<TAB>start<TAB>end<TAB>text<TAB>type[...]`
    mention lines (relation lines are skipped); blank lines between documents. Offsets count over
    title + one character + abstract; the title is its own sentence. `types`: the type map."""
    path = Path(path)
    report, sentences = Report(path, types or {}), []
    documents: list[dict] = []
    raw = read_text(path)
    if raw.strip() and not raw.endswith("\n"):  # a file cut off: its last document would be half one
        raise InputError("the file ends in the middle of a line (no newline at its end): cut off? A whole "
                         "file ends with a newline", path, len(raw.splitlines()))
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        text = PUBTATOR_TEXT.match(line)
        if text:
            pmid, kind, content = text.groups()
            if kind == "t" or not documents or documents[-1]["pmid"] != pmid:
                documents.append({"pmid": pmid, "title": "", "abstract": "", "mentions": [], "line": number})
            documents[-1]["title" if kind == "t" else "abstract"] = content
            continue
        fields = line.split("\t")
        if len(fields) >= 5 and fields[1].isdigit() and fields[2].isdigit():
            if not documents or documents[-1]["pmid"] != fields[0]:
                raise InputError(f"mention of document {fields[0]!r} outside that document's block", path, number)
            documents[-1]["mentions"].append((Mention(int(fields[1]), int(fields[2]), fields[4], number), fields[3]))
        elif len(fields) >= 4 and documents and fields[0] == documents[-1]["pmid"]:
            continue  # a relation line (pmid, relation, id, id)
        else:
            raise InputError(f"not a PubTator line (pmid|t|..., pmid|a|... or a tab-separated mention): "
                             f"{line[:60]!r}", path, number)
    if not documents:
        raise InputError("no documents: the file is empty", path)
    first_line: dict[str, int] = {}
    for doc in documents:
        if doc["pmid"] in first_line:
            report.note(doc["line"], f"document {doc['pmid']} again (first at line {first_line[doc['pmid']]}); read once")
            report.repeated += 1
            continue
        first_line[doc["pmid"]] = doc["line"]
        text = doc["title"] + " " + doc["abstract"]
        mentions = [check_text(text, mention, written, path, report) for mention, written in doc["mentions"]]
        title_end = len(doc["title"])
        crossing = [m for m in mentions if m.start <= title_end < m.end]
        if crossing:
            raise InputError("mention crosses from the title into the abstract", path, crossing[0].line)
        sentences += tag_text(doc["title"], [m for m in mentions if m.end <= title_end], report)
        sentences += tag_text(doc["abstract"], [m for m in mentions if m.start > title_end], report, title_end + 1)
    report.log()
    return sentences


def looks_like_bioc(path: Path) -> bool:
    """BioC XML (a `<collection>`) or BioC JSON (a collection, or documents a line each)."""
    name = path.name.lower().removesuffix(".gz")
    if not name.endswith((".xml", ".json", ".jsonl")):
        return False
    with open_binary(path) as binary:  # its head only: read_bioc reads the whole file once
        head = binary.read(4096).decode("utf-8", errors="replace")
    return "<collection" in head or '"documents"' in head or '"passages"' in head


def open_binary(path: Path):
    return gzip.open(path) if path.suffix == ".gz" else open(path, "rb")


def read_bioc(path: str | Path, types: dict | None = None) -> list[Sentence]:
    """BioC XML or JSON (through the `bioc` library): every passage with text is tagged on its own
    from its annotations (type: the `type` infon; locations in BioC's document offsets; several
    locations: the covering span, logged). A document that comes again is read once. Messages
    name the document's line (XML) and the annotation's id. `types`: the type map."""
    path = Path(path)
    report, sentences, first_line = Report(path, types or {}), [], {}
    with open_binary(path) as binary:
        for line, doc in bioc_files.documents(binary):
            if isinstance(doc, str):
                raise InputError(doc, path, line)
            if doc.id in first_line:
                report.note(line, f"document {doc.id} again (first at line {first_line[doc.id]}); read once")
                report.repeated += 1
                continue
            first_line[doc.id] = line
            for passage in bioc_files.passages(doc):
                mentions = [bioc_mention(passage, a, doc.id, line, path, report) for a in passage.annotations]
                sentences += tag_text(passage.text, [m for m in mentions if m is not None], report)
    if not first_line:
        raise InputError("no BioC documents in this file", path)
    report.log()
    return sentences


def bioc_mention(passage, annotation, doc_id, line: int, path: Path, report: Report) -> Mention | None:
    """An annotation as a mention in its passage's text (None: not an entity, e.g. no locations)."""
    where = f"document {doc_id}, annotation {annotation.id}"
    kind = bioc_files.annotation_type(annotation)
    if not annotation.locations:
        return None
    if kind is None:
        raise InputError(f"{where} has no type infon (<infon key=\"type\">)", path, line)
    pieces = sorted((loc.offset - passage.offset, loc.offset - passage.offset + loc.length) for loc in annotation.locations)
    mention = Mention(pieces[0][0], max(e for _, e in pieces), kind, line)
    written = annotation.text
    if len(pieces) > 1:
        report.note(line, f"{where}: {len(pieces)} locations; tagged as their covering span {mention.start}-{mention.end}")
        written = None
    if not 0 <= mention.start < mention.end <= len(passage.text):
        raise InputError(f"{where}: offsets {mention.start + passage.offset}-{mention.end + passage.offset} are outside "
                         f"its passage (offset {passage.offset}, {len(passage.text)} characters)", path, line)
    return check_text(passage.text, mention, written if written is not None else passage.text[mention.start:mention.end],
                      path, report)


_BRAT_ENTITY = re.compile(r"^(T\S*)\t(\S+) (\d+ \d+(?:;\d+ \d+)*)\t(.*)$")


def read_brat(directory: str | Path, types: dict | None = None) -> list[Sentence]:
    """brat standoff: every `<doc>.ann` with its `<doc>.txt` in a folder, in name order. Text-bound
    annotations (T lines) are the mentions; a discontinuous one becomes its covering span (logged);
    relations, events, attributes and notes are skipped. `types`: the type map."""
    directory = Path(directory)
    anns, texts = sorted(directory.glob("*.ann")), sorted(directory.glob("*.txt"))
    if not anns and not texts:
        raise InputError("no brat documents (.txt with .ann) in this folder", directory)
    for txt in texts:
        if not txt.with_suffix(".ann").exists():
            raise InputError("a .txt without its .ann (brat writes an empty .ann for a document without "
                             "annotations)", txt)
    sentences, report = [], Report(directory, types or {})
    for ann in anns:
        txt = ann.with_suffix(".txt")
        if not txt.exists():
            raise InputError(f"brat annotations without their text: {txt.name} is missing", ann)
        text, report.file, mentions = read_text(txt), ann, []
        for number, line in enumerate(read_text(ann).splitlines(), start=1):
            if not line.startswith("T"):
                continue
            match = _BRAT_ENTITY.match(line)
            if not match:
                raise InputError(f"not a brat text-bound annotation (T<id><TAB>TYPE START END<TAB>text): "
                                 f"{line[:60]!r}", ann, number)
            _, kind, offsets, written = match.groups()
            pieces = [tuple(map(int, p.split())) for p in offsets.split(";")]
            mention = Mention(pieces[0][0], pieces[-1][1], kind, number)
            if len(pieces) > 1:
                report.note(number, f"discontinuous {kind} mention {offsets}: tagged as its covering span "
                                    f"{mention.start}-{mention.end}")
                written = text[mention.start : mention.end] if " ".join(
                    text[a:b] for a, b in pieces) == written else written
            mentions.append(check_text(text, mention, written, ann, report))
        sentences += tag_text(text, mentions, report)
    report.log()
    return sentences
