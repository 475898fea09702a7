"""Vocabularies (authors' rules, docs/design.md) and the embedding matrix built from them."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch

from bioner_pl.data.embeddings import WordVectors

PAD, UNK = "<pad>", "<unk>"
_DIGIT = re.compile(r"\d")


def normalize(word: str) -> str:
    return _DIGIT.sub("0", word)


@dataclass
class Vocab:
    """Index <-> item, with PAD = 0 and UNK = 1."""

    items: list[str]

    def __post_init__(self) -> None:
        self.index = {item: i for i, item in enumerate(self.items)}

    def __len__(self) -> int:
        return len(self.items)

    def lookup(self, item: str) -> int:
        return self.index.get(item, 1)


class WordVocab(Vocab):
    def lookup(self, word: str) -> int:
        word = normalize(word)
        found = self.index.get(word)
        return found if found is not None else self.index.get(word.lower(), 1)


def _covered(word: str, vectors: WordVectors) -> bool:
    return word in vectors or word.lower() in vectors


def build_word_vocab(train_words, other_words, vectors: WordVectors, max_size: int = 50_000) -> WordVocab:
    """Training words unless a singleton the embeddings lack; then dev/test words the embeddings
    cover; most frequent first; at most max_size entries including PAD and UNK."""
    counts = Counter(normalize(w) for w in train_words)
    kept = [w for w, c in sorted(counts.items(), key=lambda wc: (-wc[1], wc[0]))
            if c > 1 or _covered(w, vectors)]
    seen = set(kept)
    for word in map(normalize, other_words):
        if word not in seen and _covered(word, vectors):
            kept.append(word)
            seen.add(word)
    return WordVocab([PAD, UNK] + kept[: max_size - 2])


def build_char_vocab(words) -> Vocab:
    return Vocab([PAD, UNK] + sorted({c for w in words for c in normalize(w)}))


def build_tag_vocab(tags) -> list[str]:
    """Tags as the dataset spells them; O first, then B-/I- pairs by type."""
    kinds = sorted({t[2:] for t in tags if t != "O"})
    return ["O"] + [f"{p}-{k}" for k in kinds for p in ("B", "I")]


def embedding_matrix(vocab: WordVocab, vectors: WordVectors, seed: int = 0) -> torch.Tensor:
    """Pretrained vector (exact, then lower-case); otherwise uniform(+-sqrt(3/d)); PAD is zero."""
    rng = np.random.default_rng(seed)
    scale = np.sqrt(3.0 / vectors.dim)
    matrix = rng.uniform(-scale, scale, (len(vocab), vectors.dim)).astype(np.float32)
    matrix[0] = 0.0
    for i, word in enumerate(vocab.items[2:], start=2):
        for form in (word, word.lower()):
            if form in vectors:
                matrix[i] = vectors[form]
                break
    return torch.from_numpy(matrix)
