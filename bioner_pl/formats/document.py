"""The one document type every reader yields and every writer takes: its text, its sentences as
token spans over the text, where its passages are, the gold mentions the file carries (training
reads them, tagging ignores them), the entities a tagger found, and its extras (an id, BioC
infons, ...) checked against a schema when read, so that a wrong type is a bad record, not a
crash in a writer later. A record a reader cannot use is a Rejected naming its file and line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bioner_pl.data.tokenize import Token, Tokens, sentence_spans
from bioner_pl.errors import InputError


@dataclass
class Entity:
    text: str
    type: str
    start: int  # character offsets into the document's text: text == doc.text[start:end]
    end: int
    confidence: float | None = None


@dataclass(frozen=True)
class Mention:
    """A gold mention as the file writes it, checked only when training reads it (data/standoff.py)."""

    start: int  # offsets into the document's text
    end: int
    type: str | None  # None: the file gives it no type (a BioC annotation without a type infon)
    line: int  # where it is written, for the messages
    written: str | None = None  # the text the file writes for it (None: none given)
    where: str = ""  # how messages name it beyond file:line (a BioC document and annotation)
    passage: int | None = None  # the passage it belongs to, where the file says so (BioC)
    note: str = ""  # what reading it needed (a discontinuous mention taken as its covering span)


@dataclass
class Document:
    text: str
    sentences: list[Tokens] = field(default_factory=list)
    tags: list[list[str]] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    fields: dict = field(default_factory=dict)  # its extras (Extras): an id, title_length, passages, infons, ...
    mentions: list[Mention] = field(default_factory=list)
    path: Path | None = None  # where it was read, and the line it starts at
    line: int | None = None

    def layout(self) -> list[dict]:
        """Where each passage is in the text (start, end; BioC offset and infons): as read from
        BioC, else title and abstract (PubTator, MEDLINE: BioC offsets equal PubTator's), else one."""
        if "passages" in self.fields:
            return self.fields["passages"]
        if "title_length" in self.fields:
            cut = self.fields["title_length"]
            return [{"offset": 0, "start": 0, "end": cut, "infons": {"type": "title"}},
                    {"offset": cut + 1, "start": cut + 1, "end": len(self.text), "infons": {"type": "abstract"}}]
        return [{"offset": 0, "start": 0, "end": len(self.text), "infons": {}}]


@dataclass
class Rejected:
    path: Path
    line: int | None  # None: the reader read it; the tagger or the writer could not use it
    problem: str
    record: str  # the start of what was read, for the rejects file

    def error(self) -> InputError:
        return InputError(self.problem, self.path, self.line)


class PassageSpan(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    offset: int = Field(ge=0)
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    infons: dict[str, str]


class Extras(BaseModel):
    """What a document may carry besides its text: these keys typed, any other key passed through
    to the JSON lines output as it came."""

    model_config = ConfigDict(strict=True, extra="allow")
    id: str | int | None = None
    title_length: int | None = Field(default=None, ge=0)
    passages: list[PassageSpan] | None = None
    infons: dict[str, str] | None = None


def checked_extras(extras: dict, text: str) -> dict | str:
    """The extras, or what is wrong with them (one line): a type, or a span outside the text."""
    if not extras.keys() & Extras.model_fields.keys():
        return extras  # none of ours: nothing to check (the common case, a record with an id of its own name)
    given_null = [key for key in Extras.model_fields if key in extras and extras[key] is None]
    if given_null:  # a key of ours given as null: not "absent"
        return f"field {given_null[0]}: null, where a value is needed"
    try:
        typed = Extras.model_validate(extras)
    except ValidationError as err:
        problem = err.errors()[0]
        return f"field {'.'.join(map(str, problem['loc']))}: {problem['msg'].lower()}"
    if typed.title_length is not None and typed.title_length > len(text):
        return f"field title_length: {typed.title_length} is past the end of the text ({len(text)} characters)"
    if typed.passages is not None and any(not p.start <= p.end <= len(text) for p in typed.passages):
        return f"field passages: a passage lies outside the text ({len(text)} characters)"
    return extras


def document(text: str, fields: dict | None = None) -> Document:
    """A document of raw text, split into sentences and tokens as the training corpora are."""
    return Document(text, [Tokens(text, s, e) for s, e in sentence_spans(text)], fields=fields or {})


def pretokenized(tokens: list[str], fields: dict | None = None) -> Document:
    """One sentence given as tokens; its text is the tokens joined by spaces."""
    sentence, position = [], 0
    for token in tokens:
        sentence.append(Token(token, position, position + len(token)))
        position += len(token) + 1
    return Document(" ".join(tokens), [Tokens.given(sentence)], fields=fields or {})


def titled(pmid: str, title: str, abstract: str, extra: dict | None = None, split: bool = True) -> Document:
    """Title and abstract as one text (PubTator's offsets: title, one space, abstract); the title is
    its own sentence."""
    text, shift = title + " " + abstract, len(title) + 1
    spans = sentence_spans(title) + [(shift + s, shift + e) for s, e in sentence_spans(abstract)] if split else []
    fields = {"id": pmid, "title_length": len(title), **(extra or {})}
    return Document(text, [Tokens(text, s, e) for s, e in spans], fields=fields)
