"""Column files (CoNLL-style): a token per line, blank lines between sentences, tags in any scheme.
Training reads a corpus split's tokens and tags (read_column_corpus); tagging reads a file's first
column as one document's sentences (read) and writes token<TAB>tag (write)."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from bioner_pl.data import schemes
from bioner_pl.data.tokenize import Token, Tokens
from bioner_pl.errors import InputError
from bioner_pl.formats.document import Document, Rejected
from bioner_pl.formats.opening import Options, lines, read_text, too_large

log = logging.getLogger("bioner_pl")
SEPARATORS = {"auto": None, "tab": "\t", "space": " "}
EXTENSION = ".conll"


@dataclass(frozen=True)
class Sentence:
    tokens: tuple[str, ...]
    tags: tuple[str, ...]  # IOB2


@contextlib.contextmanager
def gc_paused():
    """Reading builds ~10^6 small lists and tuples that live on; the cyclic GC would rescan them
    again and again (it made reading JNLPBA's train split 2x slower). Nothing here makes cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def rows(path: str | os.PathLike, separator: str = "auto", is_row=None):
    """The sentences of a column file as lists of (line number, fields). `-DOCSTART-` lines are
    skipped, and so are lines that start with `#` and are not rows by `is_row(fields)` (so a `#`
    token still counts). separator: tab, space (any run of blanks) or auto (tab if the file has one)."""
    text = read_text(path)
    if separator not in SEPARATORS:
        raise InputError(f"unknown column separator {separator!r}; use one of {', '.join(SEPARATORS)}", path)
    tab = separator == "tab" or (separator == "auto" and "\t" in text)
    sentences, current = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            if current:
                sentences.append(current)
                current = []
            continue
        fields = line.rstrip("\r").split("\t") if tab else line.split()
        if fields[0] == "-DOCSTART-" or (line.startswith("#") and not (is_row and is_row(fields))):
            continue
        current.append((number, fields))
    if current:
        sentences.append(current)
    if not sentences:
        raise InputError("no sentences: the file is empty", path)
    return sentences


def read_columns(path: str | os.PathLike, names: tuple[str, ...] = ("token", "tag")) -> list[tuple[tuple[str, ...], ...]]:
    """Tab-separated `token<TAB>tag[<TAB>tag ...]` rows (columns `names`, every one after the first
    an IOB2 tag), e.g. a run's predictions; a sentence comes back as one tuple per column."""
    def is_row(fields):
        return len(fields) == len(names) and all(schemes.split_tag(t) for t in fields[1:])

    sentences = []
    for sentence in rows(path, "tab", is_row):
        for number, fields in sentence:
            if len(fields) != len(names):
                raise InputError(f"expected {len(names)} tab-separated columns ({', '.join(names)}), "
                                 f"found {len(fields)}: {chr(9).join(fields)!r}", path, number)
            if not fields[0]:
                raise InputError("empty token", path, number)
            for name, tag in zip(names[1:], fields[1:]):
                if tag != "O" and not (len(tag) > 2 and tag[:2] in ("B-", "I-")):
                    raise InputError(f"{name} {tag!r} is not IOB2 (O, B-TYPE or I-TYPE)", path, number)
        sentences.append(tuple(zip(*(fields for _, fields in sentence))))
    return sentences


def read_column_corpus(path: str | os.PathLike, scheme: str = "auto", token: int = 0, tag: int = -1,
                       separator: str = "auto") -> list[Sentence]:
    """A corpus split as a column file: token and tag columns by index (default first and last),
    tags in `scheme` (auto: detected, and the detection logged), converted to IOB2."""
    path = Path(path)
    try:
        scheme = schemes.canonical(scheme)
    except ValueError as err:
        raise InputError(str(err), path) from None

    def is_row(fields):
        try:
            return len(fields) > 1 and bool(schemes.split_tag(fields[tag])) and bool(fields[token])
        except IndexError:
            return False

    with gc_paused():
        return _read_column_corpus(path, scheme, token, tag, separator, is_row)


def _read_column_corpus(path, scheme, token, tag, separator, is_row) -> list[Sentence]:
    sentences = rows(path, separator, is_row)
    width = len(sentences[0][0][1])
    for sentence in sentences:
        for number, fields in sentence:
            if len(fields) != width:
                raise InputError(f"expected {width} columns like the first row, found {len(fields)}: "
                                 f"{' | '.join(fields)!r}", path, number)
            try:
                if not fields[token]:
                    raise InputError("empty token", path, number)
                fields[tag]
            except IndexError:
                raise InputError(f"no column {token if abs(token) >= width else tag} in a row of {width} "
                                 "columns (set the corpus's columns)", path, number) from None
    tags = [[fields[tag] for _, fields in sentence] for sentence in sentences]
    if scheme == "auto":
        try:
            scheme, why = schemes.detect(tags)
        except schemes.SchemeError as err:
            raise InputError(str(err), path) from None
        log.info("%s: tag scheme %s (detected: %s)", path, scheme.upper(), why)
    out = []
    for sentence, sentence_tags in zip(sentences, tags):
        try:
            entities = schemes.spans(sentence_tags, scheme)
        except schemes.SchemeError as err:
            raise InputError(str(err), path, sentence[err.index][0]) from None
        out.append(Sentence(tuple(fields[token] for _, fields in sentence),
                            tuple(schemes.iob2(len(sentence), entities))))
    return out


def read_iob(path: str | os.PathLike) -> list[Sentence]:
    """An IOB2 `token<TAB>tag` file, as the MTL-Bioinformatics-2016 corpora are."""
    return read_column_corpus(path, scheme="iob2")


def write_predictions(path: Path, sentences: list[Sentence], predictions: dict[int, list[str]]) -> None:
    """token<TAB>gold<TAB>pred, blank line between sentences (sentence index -> predicted tags):
    any conlleval-style scorer reads it, and so does read_columns(path, ("token", "gold", "pred"))."""
    with open(path, "w", encoding="utf-8") as out:
        for index in sorted(predictions):
            sentence = sentences[index]
            for token, gold, pred in zip(sentence.tokens, sentence.tags, predictions[index]):
                out.write(f"{token}\t{gold}\t{pred}\n")
            out.write("\n")


def is_marker(token: str, line: str) -> bool:
    """A line that is no token: `-DOCSTART-`, or a `#` comment (training checks a `#` row's tags too)."""
    return token == "-DOCSTART-" or line.startswith("# ")


def read(path: Path, binary, options: Options) -> Iterator[Document | Rejected]:
    """One document per file: its tokens (first column), blank lines between sentences."""
    sentences, current, parts, position = [], [], [], 0
    for number, line in lines(path, binary, limit=options.limit):
        if isinstance(line, Rejected):
            yield line
            continue
        if position > options.limit:  # the file is the document
            yield Rejected(path, number, too_large(options.limit) + "; the rest of this file is skipped", path.name)
            return
        token = line.split("\t")[0]
        if not line.strip() or is_marker(token, line):
            if current:
                sentences.append(Tokens.given(current))
                current = []
            continue
        current.append(Token(token, position, position + len(token)))
        parts.append(token)
        position += len(token) + 1
    if current:
        sentences.append(Tokens.given(current))
    yield Document(" ".join(parts), sentences, fields={"file": path.name})


def write(doc: Document, index: int) -> str:
    return "".join("".join(f"{t.text}\t{g}\n" for t, g in zip(tokens, tags)) + "\n"
                   for tokens, tags in zip(doc.sentences, doc.tags))
