"""Multi-dataset DataModule: one shared vocabulary, a tag set per dataset, batches in turns."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import pytorch_lightning as pl
from torch.utils.data import DataLoader

from bioner_pl.data import corpus as ds
from bioner_pl.data.batching import BATCHINGS, SCHEDULES, TurnBatchSampler, share, sorted_batches
from bioner_pl.data.embeddings import WordVectors
from bioner_pl.data.encoding import EncodedDataset, collate, encode, tag_index
from bioner_pl.data.vocab import build_char_vocab, build_tag_vocab, build_word_vocab, embedding_matrix
from bioner_pl.errors import InputError

log = logging.getLogger("bioner_pl")


def split_stats(sentences) -> str:
    """Sentences, tokens and entity mentions by type (IOB2: each begins with B-) of a split."""
    kinds = Counter(t[2:] for s in sentences for t in s.tags if t.startswith("B-"))
    by_type = ", ".join(f"{k} {n:,}" for k, n in sorted(kinds.items())) or "none"
    return f"{len(sentences):,} sentences, {sum(len(s.tokens) for s in sentences):,} tokens, " \
           f"{sum(kinds.values()):,} mentions ({by_type})"


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
                              ("datamodule.max_vocab", max_vocab)):
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
        for name, splits in zip(self.names, corpora):
            for split, sentences in splits.items():
                log.info("%s %s: %s", name, split, split_stats(sentences))
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
        sampler = TurnBatchSampler(self.train_sizes, self.batch_size, self.seed, self.schedule, lengths, *self._rank())
        return DataLoader(EncodedDataset(self.train_items), batch_sampler=sampler, collate_fn=collate,
                          num_workers=self.num_workers, persistent_workers=self.num_workers > 0)

    def _eval_loader(self, split: str) -> DataLoader:
        items = self.eval_items[split]
        rank, world = self._rank()  # each process decodes its share; the module gathers the predictions
        batches = [share(b, rank, world) for b in sorted_batches([len(e.words) for e in items], self.eval_batch_size)]
        return DataLoader(EncodedDataset(items), batch_sampler=batches, collate_fn=collate)

    def _rank(self) -> tuple[int, int]:
        """(this process, processes) under data-parallel training (trainer.strategy=ddp); (0, 1) otherwise."""
        trainer = self.trainer
        return (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)

    def val_dataloader(self) -> DataLoader:
        return self._eval_loader("devel")

    def test_dataloader(self) -> DataLoader:
        return self._eval_loader("test")
