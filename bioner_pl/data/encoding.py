"""Sentences as ids (words, each word's characters, tags) and padded batches of them."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from bioner_pl.formats.conll import Sentence
from bioner_pl.data.vocab import Vocab, WordVocab


@dataclass
class Encoded:
    """One sentence as ids, and its words themselves (a transformer embedding tokenizes them);
    `task` is its dataset's index (0 = main)."""

    words: list[int]
    chars: list[list[int]]
    tags: list[int]
    task: int
    tokens: tuple[str, ...] = ()


class EncodedDataset(Dataset):
    def __init__(self, items: list[Encoded]):
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[int, Encoded]:
        return index, self.items[index]


def tag_index(tags: list[str]) -> dict[str, int]:
    return {t: i for i, t in enumerate(tags)}


def encode_tokens(tokens, words: WordVocab, chars: Vocab) -> tuple[list[int], list[list[int]]]:
    """Word ids and each token's char ids."""
    return [words.lookup(w) for w in tokens], [[chars.lookup(c) for c in w] for w in tokens]


def encode(sentence: Sentence, words: WordVocab, chars: Vocab, tag_ids: dict[str, int], task: int) -> Encoded:
    return Encoded(*encode_tokens(sentence.tokens, words, chars), [tag_ids[t] for t in sentence.tags], task,
                   tuple(sentence.tokens))


def pad_chars(word_chars: list[list[int]]) -> np.ndarray:
    """(words, longest word) char ids, 0-padded, filled through a mask (no per-word arrays)."""
    lengths = np.fromiter(map(len, word_chars), dtype=np.int64, count=len(word_chars))
    filled = np.arange(lengths.max(initial=1)) < lengths[:, None]
    padded = np.zeros(filled.shape, dtype=np.int64)
    padded[filled] = np.fromiter(itertools.chain.from_iterable(word_chars), dtype=np.int64, count=int(lengths.sum()))
    return padded


def collate(batch: list[tuple[int, Encoded]]) -> dict:
    """Pad to the batch's longest sentence / word, filling through masks (no per-word tensors).
    `lengths` stays on the CPU (packing and RealTokens index from it); `tokens` are the words."""
    encoded = [e for _, e in batch]
    lengths = torch.tensor([len(e.words) for e in encoded])
    mask = torch.arange(int(lengths.max())) < lengths.unsqueeze(1)
    words = torch.zeros(mask.shape, dtype=torch.long)
    tags = torch.zeros(mask.shape, dtype=torch.long)
    words[mask] = torch.tensor([w for e in encoded for w in e.words])
    tags[mask] = torch.tensor([t for e in encoded for t in e.tags])
    per_word = pad_chars([c for e in encoded for c in e.chars])
    chars = torch.zeros(*mask.shape, per_word.shape[1], dtype=torch.long)
    chars[mask] = torch.from_numpy(per_word)
    return {"words": words, "chars": chars, "tags": tags, "mask": mask, "lengths": lengths,
            "task": encoded[0].task, "index": torch.tensor([i for i, _ in batch]), "tokens": [e.tokens for e in encoded]}
