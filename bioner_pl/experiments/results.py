"""Finished runs into the repository: python -m bioner_pl.results [runs=outputs/runs] [out=results/runs]

For every run directory with a metrics.json, out/<the same relative path>/ gets its metrics.json,
its test_predictions.tsv gzipped, and dev_curve.csv: the main dataset's dev scores after each epoch
(epochs counted from 1, as metrics.json's best_epoch), read from the run's CSV logs, every version
of them, so that a resumed run's curve is whole. With these, the learning curves can be checked
from the repository as well as the scores (`make results` runs this, then renders the tables).
A run whose metrics.json is already there unchanged is not copied again.
"""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

DEV_SCORES = ("precision", "recall", "f1")


def dev_curve(run: Path, epochs: int) -> list[list[str]]:
    """[epoch, precision, recall, f1] rows of the dev scores Lightning's CSV logger wrote during the
    run's `epochs` epochs (after them comes the best checkpoint's re-validation, not an epoch)."""
    by_epoch: dict[int, list[str]] = {}
    versions = sorted(run.glob("logs/version_*/metrics.csv"), key=lambda p: int(p.parent.name.split("_")[-1]))
    for log in versions:  # a later version (a resumed run) wins an epoch that two logged
        with open(log, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if row.get("val/f1") and int(row["epoch"]) < epochs:
                    by_epoch[int(row["epoch"]) + 1] = [row[f"val/{score}"] for score in DEV_SCORES]
    return [[str(epoch), *scores] for epoch, scores in sorted(by_epoch.items())]


def collect(runs: Path, out: Path) -> int:
    """Copy every finished run under runs to out; returns how many were new or changed."""
    copied = 0
    for metrics in sorted(runs.rglob("metrics.json")):
        run, target, content = metrics.parent, out / metrics.parent.relative_to(runs), metrics.read_bytes()
        target.mkdir(parents=True, exist_ok=True)
        if not (target / "metrics.json").exists() or (target / "metrics.json").read_bytes() != content:
            # mtime=0: the same predictions give the same bytes, so git sees no change
            (target / "test_predictions.tsv.gz").write_bytes(
                gzip.compress((run / "test_predictions.tsv").read_bytes(), mtime=0))
            (target / "metrics.json").write_bytes(content)  # last: an interrupted copy is redone
            copied += 1
        curve = dev_curve(run, json.loads(content)["epochs"])
        if curve:
            with open(target / "dev_curve.csv", "w", newline="", encoding="utf-8") as f:
                csv.writer(f, lineterminator="\n").writerows([["epoch", *DEV_SCORES], *curve])
    return copied


def run(cfg) -> int:
    """Copy the finished runs cfg names (bioner_pl/conf/results.yaml); returns how many were new or changed."""
    copied = collect(Path(cfg.runs), Path(cfg.out))
    print(f"{copied} new or changed runs -> {cfg.out}")
    return copied
