"""Tagging with a trained checkpoint: loading, tokenizing raw text, batched decoding."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch
from rich.progress import track

from bioner_pl.data import Sentence
from bioner_pl.data.tokenize import Token, split_sentences, tokenize  # noqa: F401  (predict's)
from bioner_pl.datamodule import collate, encode, sorted_batches, tag_index
from bioner_pl.errors import InputError
from bioner_pl.module import TaggerModule
from bioner_pl.vocab import Vocab, WordVocab


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


def batches(module: TaggerModule, sentences: list[list[str]], head: int = 0, batch_size: int = 256,
            progress: bool = False):
    """(sentence indices, collated batch) of the non-empty sentences, in batches sorted by length
    (little padding)."""
    words, chars = WordVocab(list(module.hparams.words)), Vocab(list(module.hparams.chars))
    index = tag_index(module.hparams.tag_sets[head])
    nonempty = [i for i, s in enumerate(sentences) if s]
    groups = [[nonempty[j] for j in b] for b in sorted_batches([len(sentences[i]) for i in nonempty], batch_size)]
    for indices in track(groups, description="tagging", disable=not progress or len(groups) < 5):
        items = [(i, encode(Sentence(tuple(sentences[i]), ("O",) * len(sentences[i])), words, chars, index, head))
                 for i in indices]
        yield indices, collate(items)


@torch.inference_mode()
def tag(module: TaggerModule, sentences: list[list[str]], head: int = 0, batch_size: int = 256,
        progress: bool = False) -> list[list[str]]:
    """Tags of every sentence, in input order."""
    tags = module.hparams.tag_sets[head]
    out: list[list[str]] = [[] for _ in sentences]
    for indices, batch in batches(module, sentences, head, batch_size, progress):
        pred = module.net.decode(batch["words"], batch["chars"], batch["mask"], batch["lengths"], head)
        for row, (index, n) in enumerate(zip(indices, batch["lengths"].tolist())):
            out[index] = [tags[t] for t in pred[row, :n].tolist()]
    return out
