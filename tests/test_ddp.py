"""Data-parallel training (trainer.strategy=ddp), on the CPU with two processes (gloo): each process
takes its share of every batch, evaluation and the run's outputs happen once, resume works."""

import json

import pytest

from bioner_pl.data.batching import TurnBatchSampler, share
from bioner_pl.formats.conll import read_columns, read_iob
from bioner_pl.scoring import entity_scores
from helpers import FIXTURE_DATA, SMALL_VECTORS, run_cli


def test_each_process_takes_its_own_share_of_every_batch():
    sizes, lengths = [50, 30], [i % 17 + 1 for i in range(80)]
    alone = list(TurnBatchSampler(sizes, 8, seed=3, lengths=lengths))
    ranks = [list(TurnBatchSampler(sizes, 8, seed=3, lengths=lengths, rank=r, world=3)) for r in range(3)]
    assert all(len(r) == len(alone) for r in ranks)  # every process takes every step
    for step, batch in enumerate(alone):
        parts = [r[step] for r in ranks]
        assert set().union(*parts) == set(batch) and all(parts)  # all of it, and every process has some
        if len(batch) >= 3:
            assert sorted(i for p in parts for i in p) == sorted(batch)  # each sentence once
    assert share([7], 1, 2) == [7] and share([4, 5, 6], 1, 2) == [5]  # a lone sentence is lent, not dropped


@pytest.mark.slow
def test_two_processes_train_evaluate_once_write_once_and_resume(tmp_path):
    run = tmp_path / "run"
    common = ["model=cs", "main=ncbi", "aux=bionlp09", *SMALL_VECTORS, "trainer.accelerator=cpu", "trainer.devices=2",
              "trainer.strategy=ddp", "trainer.limit_train_batches=6", f"hydra.run.dir={run}"]
    first = run_cli("bioner_pl.train", *common, "trainer.max_epochs=2", env={"OMP_NUM_THREADS": "1"})
    assert first.returncode == 0, first.stderr[-3000:]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["processes"] == 2 and metrics["epochs"] == 2
    # The test predictions are every test sentence once, gathered from both processes, and the
    # reported scores are theirs.
    written = read_columns(run / "test_predictions.tsv", ("token", "gold", "pred"))
    assert [tokens for tokens, _, _ in written] == [s.tokens for s in read_iob(FIXTURE_DATA / "NCBI-disease-IOB/test.tsv")]
    assert entity_scores([list(g) for _, g, _ in written], [list(p) for _, _, p in written]) == metrics["test"]
    assert len(list((run / "wandb").glob("offline-run-*"))) == 1  # one W&B run, from the first process
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["best.ckpt", "last.ckpt"]
    again = run_cli("bioner_pl.train", *common, "trainer.max_epochs=3", "resume=true", env={"OMP_NUM_THREADS": "1"})
    assert again.returncode == 0, again.stderr[-3000:]
    resumed = json.loads((run / "metrics.json").read_text())
    assert resumed["resumed"] and resumed["epochs"] == 3
