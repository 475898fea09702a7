"""Tag raw text or CoNLL with a trained checkpoint:

    python -m bioner_pl.predict ckpt=best.ckpt input=abstracts.txt [output=tags.jsonl] [format=jsonl|conll|brat]
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import hydra
from omegaconf import DictConfig
from seqeval.metrics.sequence_labeling import get_entities

from bioner_pl.errors import InputError, exits_cleanly
from bioner_pl.inference import Token, head_index, load_tagger, split_sentences, tag, tokenize

FORMATS = {"jsonl": ".jsonl", "conll": ".conll", "brat": ".brat"}


@dataclass
class Document:
    text: str
    sentences: list[list[Token]] = field(default_factory=list)
    tags: list[list[str]] = field(default_factory=list)


def read_text(path: Path) -> str:
    data = path.read_bytes()
    if b"\x00" in data[:4096]:
        raise InputError("binary file, not text: give raw text or CoNLL (token<TAB>...)", path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise InputError(f"not UTF-8 text (byte {err.start})", path, line) from None
    if not text.strip():
        raise InputError("empty input: nothing to tag", path)
    return text


def looks_like_conll(text: str) -> bool:
    """One token per line (optionally tab-separated columns), sentences split by blank lines."""
    lines = [line for line in text.splitlines() if line.strip()]
    return all(" " not in line.split("\t")[0] for line in lines) and any("\t" in line for line in lines)


def from_text(text: str, whole_file: bool) -> list[Document]:
    """Documents of raw text; offsets are into the document's own text."""
    docs = [text] if whole_file else [line for line in text.split("\n") if line.strip()]
    return [Document(doc, [tokenize(doc[s:e], s) for s, e in split_sentences(doc)]) for doc in docs]


def from_conll(text: str) -> list[Document]:
    """One document; its text is the tokens joined by spaces (so offsets stay meaningful)."""
    sentences, current, parts, position = [], [], [], 0
    for line in text.splitlines() + [""]:
        if not line.strip():
            if current:
                sentences.append(current)
                current = []
            continue
        token = line.split("\t")[0]
        current.append(Token(token, position, position + len(token)))
        parts.append(token)
        position += len(token) + 1
    return [Document(" ".join(parts), sentences)]


def entities(doc: Document) -> list[dict]:
    found = []
    for tokens, tags in zip(doc.sentences, doc.tags):
        for kind, first, last in get_entities(tags):
            start, end = tokens[first].start, tokens[last].end
            found.append({"text": doc.text[start:end], "type": kind, "start": start, "end": end})
    return found


def write(docs: list[Document], fmt: str, output: Path) -> None:
    if fmt == "jsonl":
        with open(output, "w", encoding="utf-8") as out:
            for i, doc in enumerate(docs):
                out.write(json.dumps({"id": i, "text": doc.text, "entities": entities(doc)}, ensure_ascii=False) + "\n")
    elif fmt == "conll":
        with open(output, "w", encoding="utf-8") as out:
            for doc in docs:
                for tokens, tags in zip(doc.sentences, doc.tags):
                    out.writelines(f"{t.text}\t{g}\n" for t, g in zip(tokens, tags))
                    out.write("\n")
    else:  # brat: doc<i>.txt with its standoff doc<i>.ann
        output.mkdir(parents=True, exist_ok=True)
        for i, doc in enumerate(docs):
            (output / f"doc{i}.txt").write_text(doc.text, encoding="utf-8")
            lines = [f"T{n}\t{e['type']} {e['start']} {e['end']}\t{e['text']}" for n, e in enumerate(entities(doc), 1)]
            (output / f"doc{i}.ann").write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def predict(cfg: DictConfig) -> Path:
    if cfg.format not in FORMATS:
        raise InputError(f"unknown output format {cfg.format!r}; use one of {', '.join(FORMATS)}")
    source = Path(cfg.input)
    if not source.is_file():
        raise InputError("input file not found", source)
    text = read_text(source)
    module = load_tagger(cfg.ckpt)
    head = head_index(module, cfg.head)
    conll = cfg.input_format == "conll" or (cfg.input_format == "auto" and looks_like_conll(text))
    docs = from_conll(text) if conll else from_text(text, cfg.documents == "file")
    flat = [[t.text for t in s] for doc in docs for s in doc.sentences]
    tags = iter(tag(module, flat, head, cfg.batch_size, progress=True))
    for doc in docs:
        doc.tags = [next(tags) for _ in doc.sentences]
    output = Path(cfg.output) if cfg.output else source.with_suffix(FORMATS[cfg.format])
    write(docs, cfg.format, output)
    print(f"tagged {len(flat)} sentences in {len(docs)} documents -> {output}", file=sys.stderr)
    return output


@hydra.main(config_path="../conf", config_name="predict", version_base="1.3")
@exits_cleanly
def main(cfg: DictConfig) -> None:
    predict(cfg)


if __name__ == "__main__":
    main()
