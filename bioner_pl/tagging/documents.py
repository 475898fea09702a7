"""The small data model that readers, the tagger and writers share: a document (its text, its
sentences as token spans over the text, their tags) and the entities found in it."""

from __future__ import annotations

from dataclasses import dataclass, field

from bioner_pl.data.tokenize import Token, Tokens, sentence_spans


@dataclass
class Entity:
    text: str
    type: str
    start: int  # character offsets into the document's text: text == doc.text[start:end]
    end: int
    confidence: float | None = None


@dataclass
class Document:
    text: str
    sentences: list[Tokens] = field(default_factory=list)
    tags: list[list[str]] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    fields: dict = field(default_factory=dict)  # what the input carried besides the text (an id, ...)


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
