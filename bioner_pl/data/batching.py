"""Which sentences share a batch: training batches in multi-task turns (shuffled or by length),
and evaluation / tagging batches sorted by length."""

from __future__ import annotations

import random

from torch.utils.data import Sampler


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
    Under data-parallel training (`world` processes), every process draws the same batches and
    takes its own share of each (`share`): the effective batch stays `batch_size`.
    """

    def __init__(self, sizes: list[int], batch_size: int, seed: int, mode: str = "turns",
                 lengths: list[int] | None = None, rank: int = 0, world: int = 1):
        if mode not in SCHEDULES:
            raise ValueError(f"unknown multi-task schedule {mode!r}; use one of {', '.join(SCHEDULES)}")
        self.sizes, self.batch_size, self.seed, self.mode = sizes, batch_size, seed, mode
        self.lengths, self.rank, self.world = lengths, rank, world
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
        return (share(batch, self.rank, self.world) for batch in self._all_batches())

    def _all_batches(self):
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


def share(batch: list[int], rank: int, world: int) -> list[int]:
    """Process `rank`'s part of a batch split over `world` processes (every other sentence, so the
    parts are of similar length). A batch smaller than `world` lends its last sentence to the
    processes it cannot feed: each must take a step, and a step needs a sentence."""
    return batch[rank::world] or batch[-1:]


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
