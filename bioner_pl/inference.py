"""Tagging with a trained checkpoint: loading, tokenizing raw text, batched decoding."""

from __future__ import annotations

import pickle
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch
from rich.progress import track

from bioner_pl.data import Sentence
from bioner_pl.datamodule import collate, encode, sorted_batches, tag_index
from bioner_pl.errors import InputError
from bioner_pl.module import TaggerModule
from bioner_pl.vocab import Vocab, WordVocab

# The MTL-Bioinformatics-2016 corpora split every punctuation mark off ("IL - 2", "( APC )"),
# so a token is a run of letters/digits or any single other visible character.
_TOKEN = re.compile(r"[^\W_]+|\S", re.UNICODE)
# A sentence ends at . ! ? followed by space and a capital, digit or bracket, unless the dot
# belongs to an abbreviation common in abstracts or to an initial ("J. Smith").
_BOUNDARY = re.compile(r"[.!?](?=\s+[\"'(\[]?[A-Z0-9])")
_ABBREVIATIONS = {"e.g", "i.e", "al", "fig", "figs", "vs", "approx", "ca", "dr", "no", "nos", "ref", "refs",
                  "resp", "cf", "sp", "spp", "var", "st", "mr", "mrs", "ms", "prof", "eq", "vol", "pp"}


@dataclass
class Token:
    text: str
    start: int
    end: int


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) character spans of the sentences of text."""
    spans, start = [], 0
    for match in _BOUNDARY.finditer(text):
        word = re.search(r"(\S+)$", text[start : match.start()])
        stem = word.group(1).lower().lstrip("([") if word else ""
        dotted = "." in stem and len(stem) <= 4  # "U.S", "e.g"
        if stem in _ABBREVIATIONS or (len(stem) == 1 and stem.isalpha()) or dotted:
            continue
        spans.append((start, match.end()))
        start = match.end()
    spans.append((start, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def tokenize(text: str, offset: int = 0) -> list[Token]:
    return [Token(m.group(), offset + m.start(), offset + m.end()) for m in _TOKEN.finditer(text)]


def load_tagger(path: str | Path) -> TaggerModule:
    """A bioner-pl checkpoint, on the CPU, in eval mode; anything else is a clear error."""
    path = Path(path)
    if not path.is_file():
        raise InputError("checkpoint not found", path)
    try:
        raw = torch.load(path, map_location="cpu", weights_only=False)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, ValueError, AttributeError) as err:
        raise InputError(f"not a PyTorch checkpoint ({type(err).__name__}: {err})", path) from None
    hparams = raw.get("hyper_parameters", {}) if isinstance(raw, dict) else {}
    if not {"arch", "tag_sets", "words", "chars"} <= set(hparams) or "state_dict" not in raw:
        raise InputError("not a bioner-pl checkpoint (no vocabularies / tag sets in it)", path)
    module = TaggerModule(**hparams)
    module.load_state_dict(raw["state_dict"])
    return module.eval()


def head_index(module: TaggerModule, head: str | int | None) -> int:
    """The CRF head to tag with: the main dataset's by default, else by dataset name or index."""
    names = list(module.hparams.datasets)
    if head is None or head == "":
        return 0
    if str(head) in names:
        return names.index(str(head))
    if str(head).isdigit() and int(head) < len(names):
        return int(head)
    raise InputError(f"unknown head {head!r}; this checkpoint has heads for {', '.join(names)}")


@torch.inference_mode()
def tag(module: TaggerModule, sentences: list[list[str]], head: int = 0, batch_size: int = 256,
        progress: bool = False) -> list[list[str]]:
    """Tags of every sentence; batches sorted by length (little padding), results in input order."""
    words, chars = WordVocab(list(module.hparams.words)), Vocab(list(module.hparams.chars))
    tags = module.hparams.tag_sets[head]
    index = tag_index(tags)
    items = [encode(Sentence(tuple(s), ("O",) * len(s)), words, chars, index, head) for s in sentences]
    out: list[list[str]] = [[] for _ in sentences]
    nonempty = [i for i, s in enumerate(sentences) if s]
    batches = [[nonempty[j] for j in b] for b in sorted_batches([len(sentences[i]) for i in nonempty], batch_size)]
    for indices in track(batches, description="tagging", disable=not progress or len(batches) < 5):
        batch = collate([(i, items[i]) for i in indices])
        pred = module.net.decode(batch["words"], batch["chars"], batch["mask"], batch["lengths"], head)
        for row, (index, n) in enumerate(zip(batch["index"].tolist(), batch["lengths"].tolist())):
            out[index] = [tags[t] for t in pred[row, :n].tolist()]
    return out
