"""Multi-dataset DataModule: one shared vocabulary, a tag set per dataset, batches in turns."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from bioner_pl import data as ds
from bioner_pl.embeddings import WordVectors
from bioner_pl.errors import InputError
from bioner_pl.vocab import Vocab, WordVocab, build_char_vocab, build_tag_vocab, build_word_vocab, embedding_matrix


@dataclass
class Encoded:
    """One sentence as ids; `task` is its dataset's index (0 = main)."""

    words: list[int]
    chars: list[list[int]]
    tags: list[int]
    task: int


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


def encode(sentence: ds.Sentence, words: WordVocab, chars: Vocab, tag_ids: dict[str, int], task: int) -> Encoded:
    return Encoded(*encode_tokens(sentence.tokens, words, chars), [tag_ids[t] for t in sentence.tags], task)


def pad_chars(word_chars: list[list[int]]) -> np.ndarray:
    """(words, longest word) char ids, 0-padded, filled through a mask (no per-word arrays)."""
    lengths = np.fromiter(map(len, word_chars), dtype=np.int64, count=len(word_chars))
    filled = np.arange(lengths.max(initial=1)) < lengths[:, None]
    padded = np.zeros(filled.shape, dtype=np.int64)
    padded[filled] = np.fromiter(itertools.chain.from_iterable(word_chars), dtype=np.int64, count=int(lengths.sum()))
    return padded


def collate(batch: list[tuple[int, Encoded]]) -> dict:
    """Pad to the batch's longest sentence / word, filling through masks (no per-word tensors).
    `lengths` stays on the CPU (packing and RealTokens index from it)."""
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
            "task": encoded[0].task, "index": torch.tensor([i for i, _ in batch])}


# How training sentences are grouped into batches (both shuffle every epoch), and how the
# datasets take turns (TurnBatchSampler).
BATCHINGS = ("shuffled", "by_length")
SCHEDULES = ("turns", "random")


class TurnBatchSampler(Sampler[list[int]]):
    """Training batches over datasets laid end to end (`sizes`, main first).

    mode="turns" (paper): a random main batch, then a random batch of each auxiliary dataset, each
    its own optimizer step; an epoch has as many turns as the main dataset has batches and the
    auxiliary batches cycle. mode="random" (authors' code): each step is a main batch with
    probability 0.5, else a batch of a random auxiliary dataset; same number of steps.
    With `lengths` (one per sentence), each batch holds sentences of similar length
    (`length_grouped`); without, batches are random slices of the shuffled dataset.
    The order depends only on (seed, epoch), so a resumed run sees the batches it would have seen.
    """

    def __init__(self, sizes: list[int], batch_size: int, seed: int, mode: str = "turns",
                 lengths: list[int] | None = None):
        if mode not in SCHEDULES:
            raise ValueError(f"unknown multi-task schedule {mode!r}; use one of {', '.join(SCHEDULES)}")
        self.sizes, self.batch_size, self.seed, self.mode = sizes, batch_size, seed, mode
        self.lengths = lengths
        self.offsets = [sum(sizes[:k]) for k in range(len(sizes))]
        self.main_batches = -(-sizes[0] // batch_size)
        self.epoch = 0
        self.sampler = self  # Lightning calls set_epoch on `batch_sampler.sampler` every epoch

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.main_batches * len(self.sizes)

    def _batches(self, task: int, rng: random.Random):
        """Endless shuffled batches of one dataset (reshuffled on every pass)."""
        while True:
            order = list(range(self.offsets[task], self.offsets[task] + self.sizes[task]))
            rng.shuffle(order)
            if self.lengths is None:
                yield from (order[start : start + self.batch_size] for start in range(0, len(order), self.batch_size))
            else:
                yield from length_grouped(order, self.lengths, self.batch_size, rng)

    def __iter__(self):
        rng = random.Random(self.seed * 1_000_003 + self.epoch)
        streams = [self._batches(k, random.Random(rng.random())) for k in range(len(self.sizes))]
        aux = range(1, len(self.sizes))
        if self.mode == "turns":
            for _ in range(self.main_batches):
                yield next(streams[0])
                for k in aux:
                    yield next(streams[k])
        else:
            for _ in range(len(self)):
                main = not aux or rng.random() < 0.5
                yield next(streams[0 if main else rng.choice(aux)])


def sorted_batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Evaluation / tagging batches of similar length: little padding, less LSTM work."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def length_grouped(order: list[int], lengths: list[int], batch_size: int, rng: random.Random,
                   pool_batches: int = 50) -> list[list[int]]:
    """Training batches of similar length from a shuffled `order`: each pool of `pool_batches`
    batches is sorted by length and cut into batches, then all batches are shuffled. Every
    sentence still comes once per pass and a batch's length is random, but padding drops from
    ~50 % of the tokens to ~5 % (the authors' code also batched by length buckets)."""
    pool = pool_batches * batch_size
    batches = []
    for start in range(0, len(order), pool):
        by_length = sorted(order[start : start + pool], key=lengths.__getitem__)  # stable: ties stay shuffled
        batches += [by_length[i : i + batch_size] for i in range(0, len(by_length), batch_size)]
    rng.shuffle(batches)
    return batches


class MultiTaskDataModule(pl.LightningDataModule):
    """Main corpus (task 0) + auxiliary corpora, each a config name, a folder or a ds.Corpus
    (see bioner_pl.data.corpus); dev/test are the main corpus's."""

    def __init__(self, main: str | ds.Corpus, aux: list[str | ds.Corpus], vectors: WordVectors, data_dir: str | Path,
                 base_url: str | None = ds.UPSTREAM_URL, fraction: float = 1.0, seed: int = 1,
                 batch_size: int = 16, eval_batch_size: int = 128, schedule: str = "turns",
                 batching: str = "shuffled", train_on_dev: bool = False, max_vocab: int = 50_000,
                 num_workers: int = 0):
        super().__init__()
        for option, value, known in (("batching", batching, BATCHINGS), ("schedule", schedule, SCHEDULES)):
            if value not in known:
                raise InputError(f"unknown {option} {value!r}; use one of {', '.join(known)}")
        for option, value in (("batch_size", batch_size), ("eval_batch_size", eval_batch_size),
                              ("data.max_vocab", max_vocab)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"{option} must be a whole number of at least 1, got {value!r}")
        self.corpora = [ds.resolve(c) for c in [main, *aux]]
        self.names = [c.name for c in self.corpora]
        if len(set(self.names)) != len(self.names):
            raise InputError(f"a corpus appears twice in main + aux: {self.names}")
        self.vectors, self.data_dir, self.base_url = vectors, Path(data_dir), base_url
        self.fraction, self.seed, self.batch_size = fraction, seed, batch_size
        self.eval_batch_size, self.schedule, self.batching = eval_batch_size, schedule, batching
        self.train_on_dev = train_on_dev
        self.max_vocab, self.num_workers = max_vocab, num_workers
        self.prepared = False

    def prepare(self) -> None:
        """Read every split, build the vocabularies and encode; idempotent."""
        if self.prepared:
            return
        corpora = [{s: ds.load_split(c, s, self.data_dir, self.base_url) for s in ds.SPLITS} for c in self.corpora]
        corpora[0]["train"] = ds.subsample(corpora[0]["train"], self.fraction, self.seed)
        if self.train_on_dev:
            for corpus in corpora:
                corpus["train"] = corpus["train"] + corpus["devel"]
        train_words = [w for c in corpora for s in c["train"] for w in s.tokens]
        other_words = [w for c in corpora for split in ("devel", "test") for s in c[split] for w in s.tokens]
        self.words = build_word_vocab(train_words, other_words, self.vectors, self.max_vocab)
        self.chars = build_char_vocab(train_words)
        self.tag_sets = [build_tag_vocab(t for split in c.values() for s in split for t in s.tags) for c in corpora]
        self.sentences = {split: corpora[0][split] for split in ("devel", "test")}
        indices = [tag_index(tags) for tags in self.tag_sets]
        self.train_items = [encode(s, self.words, self.chars, indices[k], k)
                            for k, c in enumerate(corpora) for s in c["train"]]
        self.train_sizes = [len(c["train"]) for c in corpora]
        self.eval_items = {split: [encode(s, self.words, self.chars, indices[0], 0) for s in sents]
                           for split, sents in self.sentences.items()}
        self.prepared = True

    def setup(self, stage: str | None = None) -> None:
        self.prepare()

    def word_matrix(self):
        return embedding_matrix(self.words, self.vectors, self.seed)

    def train_dataloader(self) -> DataLoader:
        lengths = [len(e.words) for e in self.train_items] if self.batching == "by_length" else None
        sampler = TurnBatchSampler(self.train_sizes, self.batch_size, self.seed, self.schedule, lengths)
        return DataLoader(EncodedDataset(self.train_items), batch_sampler=sampler, collate_fn=collate,
                          num_workers=self.num_workers, persistent_workers=self.num_workers > 0)

    def _eval_loader(self, split: str) -> DataLoader:
        items = self.eval_items[split]
        batches = sorted_batches([len(e.words) for e in items], self.eval_batch_size)
        return DataLoader(EncodedDataset(items), batch_sampler=batches, collate_fn=collate)

    def val_dataloader(self) -> DataLoader:
        return self._eval_loader("devel")

    def test_dataloader(self) -> DataLoader:
        return self._eval_loader("test")
