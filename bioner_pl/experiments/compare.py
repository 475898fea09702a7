"""Can the test set tell runs apart? python -m bioner_pl.compare runs=[RUN,RUN,...]

A RUN is a run directory (its test_predictions.tsv or .tsv.gz) or a predictions file
(token<TAB>gold<TAB>pred, as train and evaluate write them). Prints each run's entity-level
precision, recall and F1 (the numbers in its metrics.json) with a 95 % interval for F1 from
resampling the test sentences; where its errors are (missed gold entities and spurious predicted
ones, and how many of each overlap an entity on the other side: a wrong boundary or type rather
than an entity missed or made up outright); and for every pair the F1 difference with a paired
interval (both runs scored on the same resampled sentences): where that interval holds 0, this
test set cannot separate the two runs, whatever their point scores say. Percentile bootstrap
(scipy.stats). It measures the test set's sampling noise only; how much a score moves with the
training seed (the ± over seeds in `make tables`) comes on top. A last table gives each run's F1
under the partial-match views (nervaluate: strict, exact boundary, partial overlap, type) as
other taggers report them; exact match stays the headline.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.stats import bootstrap
from seqeval.metrics.sequence_labeling import get_entities

from bioner_pl.config import fraction, listed, whole
from bioner_pl.data import read_columns
from bioner_pl.errors import InputError
from bioner_pl.scoring import MATCH_VIEWS, match_views

PREDICTION_FILES = ("test_predictions.tsv", "test_predictions.tsv.gz")


@dataclass
class Run:
    name: str
    counts: np.ndarray  # (3, sentences): correct, predicted and gold entities of each sentence
    sentences: list      # (tokens, gold tags) of each sentence, to check that runs share a test set
    errors: np.ndarray   # missed and spurious entities, and how many of each overlap one on the other side
    views: dict          # P/R/F1 under each partial-match view

    @classmethod
    def load(cls, path: str) -> Run:
        file = Path(path)
        if file.is_dir():
            found = prediction_file(file)
            if found is None:
                raise InputError(f"no {' or '.join(PREDICTION_FILES)} here: not a finished run", file)
            file = found
        sentences = read_columns(file, ("token", "gold", "pred"))
        entities = [(set(get_entities(list(gold))), set(get_entities(list(pred)))) for _, gold, pred in sentences]
        counts = np.array([entity_counts(*pair) for pair in entities]).T
        errors = np.array([error_counts(*pair) for pair in entities]).sum(0)
        views = match_views([list(gold) for _, gold, _ in sentences], [list(pred) for _, _, pred in sentences])
        return cls(path, counts, [(tokens, gold) for tokens, gold, _ in sentences], errors, views)

    def scores(self) -> tuple[float, float, float]:
        correct, predicted, gold = self.counts.sum(1)
        return correct / max(predicted, 1), correct / max(gold, 1), f1(*self.counts)


def prediction_file(run_dir: Path) -> Path | None:
    """A run directory's test predictions (plain, or gzipped by `make results`); None if it has none."""
    return next((run_dir / name for name in PREDICTION_FILES if (run_dir / name).exists()), None)


def entity_counts(gold_entities: set, pred_entities: set) -> tuple[int, int, int]:
    """Correct, predicted and gold entities of a sentence (seqeval's (type, first, last) spans)."""
    return len(gold_entities & pred_entities), len(pred_entities), len(gold_entities)


def error_counts(gold_entities: set, pred_entities: set) -> tuple[int, int, int, int]:
    """Missed gold entities, how many of them overlap a predicted one, spurious predicted entities,
    how many of them overlap a gold one."""

    def overlapping(entities, others):  # (type, first, last) spans sharing a token
        return sum(any(first <= other_last and other_first <= last for _, other_first, other_last in others)
                   for _, first, last in entities)

    missed, spurious = gold_entities - pred_entities, pred_entities - gold_entities
    return len(missed), overlapping(missed, pred_entities), len(spurious), overlapping(spurious, gold_entities)


def f1(correct, predicted, gold, axis=-1):
    """Micro F1 = 2·correct / (predicted + gold), over the last axis (vectorized for scipy)."""
    return 2 * correct.sum(axis) / np.maximum(predicted.sum(axis) + gold.sum(axis), 1)


def f1_difference(*counts, axis=-1):
    return f1(*counts[:3], axis=axis) - f1(*counts[3:], axis=axis)


def interval(counts: np.ndarray, statistic, resamples: int, seed: int, confidence: float) -> tuple[float, float]:
    result = bootstrap(tuple(counts), statistic, paired=True, vectorized=True, n_resamples=resamples,
                       batch=200, method="percentile", confidence_level=confidence, rng=seed)
    return result.confidence_interval.low, result.confidence_interval.high


def check_same_sentences(runs: list[Run]) -> None:
    first = runs[0]
    for run in runs[1:]:
        if len(run.sentences) != len(first.sentences):
            raise InputError(f"{len(run.sentences)} sentences, {first.name} has {len(first.sentences)}: "
                             "runs can only be compared on the same test set", run.name)
        for number, (ours, theirs) in enumerate(zip(run.sentences, first.sentences), start=1):
            if ours != theirs:
                raise InputError(f"sentence {number} (tokens or gold tags) differs from {first.name}'s: "
                                 "runs can only be compared on the same test set", run.name)


def compare(paths: list[str], resamples: int = 10_000, seed: int = 0, confidence: float = 0.95) -> str:
    runs = [Run.load(path) for path in paths]
    check_same_sentences(runs)
    level = f"{100 * confidence:g} %"
    lines = [f"| run | precision | recall | F1 | F1 {level} interval |", "|---|---|---|---|---|"]
    for run in runs:
        low, high = interval(run.counts, f1, resamples, seed, confidence)
        precision, recall, score = run.scores()
        lines.append(f"| {run.name} | {100 * precision:.2f} | {100 * recall:.2f} | {100 * score:.2f} "
                     f"| {100 * low:.2f} – {100 * high:.2f} |")
    lines += ["", "| run | gold entities | predicted | missed (overlapping a prediction) "
              "| spurious (overlapping a gold entity) |", "|---|---|---|---|---|"]
    for run in runs:
        _, predicted, gold = run.counts.sum(1)
        missed, missed_overlapping, spurious, spurious_overlapping = run.errors
        lines.append(f"| {run.name} | {gold} | {predicted} | {missed} ({missed_overlapping}) "
                     f"| {spurious} ({spurious_overlapping}) |")
    if len(runs) > 1:
        lines += ["", f"| A | B | F1 A − B | {level} interval | beyond test-set noise |", "|---|---|---|---|---|"]
    for a, b in itertools.combinations(runs, 2):
        low, high = interval(np.concatenate([a.counts, b.counts]), f1_difference, resamples, seed, confidence)
        verdict = "A higher" if low > 0 else "B higher" if high < 0 else "no"
        lines.append(f"| {a.name} | {b.name} | {100 * (a.scores()[2] - b.scores()[2]):+.2f} "
                     f"| {100 * low:+.2f} – {100 * high:+.2f} | {verdict} |")
    lines += ["", "| run | " + " | ".join(f"F1 {name}" for name in MATCH_VIEWS.values()) + " |",
              "|---|" + "---|" * len(MATCH_VIEWS)]
    for run in runs:
        lines.append(f"| {run.name} | " + " | ".join(f"{100 * run.views[v]['f1']:.2f}" for v in MATCH_VIEWS) + " |")
    return "\n".join(lines)


def run(cfg) -> str:
    """The report for the runs cfg names (bioner_pl/conf/compare.yaml), printed and returned."""
    report = compare([str(r) for r in listed(cfg.runs)], whole(cfg, "resamples", 1), whole(cfg, "seed", 0), fraction(cfg, "confidence"))
    print(report)
    return report
