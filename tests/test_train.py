"""The training entry point, run as a user runs it."""

import gzip
import json
import subprocess

import pytest
import torch

from bioner_pl import cluster
from bioner_pl.experiments import results
from helpers import SMALL_VECTORS, TINY, run_cli

pytestmark = pytest.mark.slow  # the training command


def train(tmp_path, *overrides, name="run", env=None):
    vectors = [] if any(o.startswith("embedding=") for o in overrides) else SMALL_VECTORS
    return run_cli("bioner_pl.train", "main=ncbi", *TINY, *vectors, f"hydra.run.dir={tmp_path / name}", *overrides,
                   env=env)


def test_stm_end_to_end_outputs(tmp_path):
    result = train(tmp_path, "model=stm", "embedding=glove50")
    assert result.returncode == 0, result.stderr[-3000:]
    run = tmp_path / "run"
    metrics = json.loads((run / "metrics.json").read_text())
    assert {"model", "main", "aux", "embedding", "seed", "best_epoch", "epochs", "params", "wall_seconds"} <= set(metrics)
    assert metrics["model"] == "stm" and metrics["main"] == "ncbi" and metrics["aux"] == []
    assert metrics["embedding"] == "glove50" and metrics["epochs"] == 1 and metrics["best_epoch"] == 1
    for split in ("dev", "test"):
        assert set(metrics[split]) == {"precision", "recall", "f1"}
        assert all(0.0 <= v <= 1.0 for v in metrics[split].values())
    lines = (run / "test_predictions.tsv").read_text().split("\n")
    rows = [line.split("\t") for line in lines if line]
    assert rows and all(len(r) == 3 for r in rows)
    assert (run / metrics["checkpoint"]).exists() and (run / "checkpoints" / "last.ckpt").exists()
    assert list((run / "logs").glob("version_*/metrics.csv"))
    best, last = (torch.load(run / "checkpoints" / name, weights_only=True) for name in ("best.ckpt", "last.ckpt"))
    assert "optimizer_states" not in best and best["hyper_parameters"]["words"]  # lean: tagging's needs only
    assert last["optimizer_states"] and last["state_dict"].keys() == best["state_dict"].keys()  # resume's needs


def test_the_console_carries_our_lines_and_progress_not_other_projects_voices(tmp_path):
    """A smoke run with the default loggers (W&B offline), W&B not silenced from outside, on a
    machine with SLURM installed (CI's) but outside a SLURM job."""
    result = train(tmp_path, "model=stm", "logger=default", env={"WANDB_SILENT": "false"})
    assert result.returncode == 0, result.stderr[-3000:]
    console = result.stdout + result.stderr
    for noise in ("💡", "litlogger", "srun", "wandb:", "anonymous", "log_every_n_steps"):
        assert noise not in console, noise
    synced = [line for line in console.splitlines() if "wandb sync" in line]
    assert len(synced) == 1 and str(tmp_path / "run" / "wandb" / "offline-run-") in synced[0], synced
    assert "test P/R/F1" in console and "Epoch 0" in console  # ours, and Lightning's progress


def _weights(path):
    return torch.load(path, map_location="cpu", weights_only=False)["state_dict"]


def test_resume_reaches_the_same_state(tmp_path):
    budget = ["trainer.limit_train_batches=3", "trainer.limit_val_batches=1", "trainer.limit_test_batches=1"]
    straight = train(tmp_path, "trainer.max_epochs=2", *budget, name="straight")
    assert straight.returncode == 0, straight.stderr[-3000:]
    first = train(tmp_path, "trainer.max_epochs=1", *budget, name="interrupted")
    assert first.returncode == 0, first.stderr[-3000:]
    again = train(tmp_path, "trainer.max_epochs=2", *budget, name="interrupted")
    assert again.returncode == 2 and "resume=true" in again.stderr  # never silently overwrites
    # The wall clock carries over: pretend the first part took a day.
    last = tmp_path / "interrupted/checkpoints/last.ckpt"
    ckpt = torch.load(last, map_location="cpu", weights_only=False)
    ckpt["callbacks"]["WallClock"] = {"seconds": 86400.0}
    torch.save(ckpt, last)
    resumed = train(tmp_path, "trainer.max_epochs=2", "resume=true", *budget, name="interrupted")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    a, b = _weights(tmp_path / "straight/checkpoints/last.ckpt"), _weights(tmp_path / "interrupted/checkpoints/last.ckpt")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    metrics = json.loads((tmp_path / "interrupted/metrics.json").read_text())
    assert metrics["resumed"] is True and 86400 < metrics["wall_seconds"] < 86400 + 600
    # make results: the resumed run's dev curve joins both logs and is the uninterrupted run's
    out = tmp_path.with_name(tmp_path.name + "-results")  # beside the runs, not among them
    assert results.collect(tmp_path, out) == 2
    straight_curve, resumed_curve = [(out / name / "dev_curve.csv").read_text().splitlines()
                                     for name in ("straight", "interrupted")]
    assert resumed_curve == straight_curve and [row.split(",")[0] for row in resumed_curve] == ["epoch", "1", "2"]
    assert gzip.decompress((out / "interrupted/test_predictions.tsv.gz").read_bytes()) == \
        (tmp_path / "interrupted/test_predictions.tsv").read_bytes()
    assert results.collect(tmp_path, out) == 0  # finished runs are copied once


def test_a_run_moved_and_resumed_keeps_one_best_checkpoint_and_its_best_score(tmp_path):
    """Scratch to home: the run directory moves between its interrupted part and the resume."""
    budget = ["trainer.limit_train_batches=3", "trainer.limit_val_batches=2", "trainer.limit_test_batches=1"]
    first = train(tmp_path / "scratch", "trainer.max_epochs=1", *budget)
    assert first.returncode == 0, first.stderr[-3000:]
    (tmp_path / "scratch").rename(tmp_path / "home")
    resumed = train(tmp_path / "home", "trainer.max_epochs=3", "resume=true", *budget)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "dirpath has changed" not in resumed.stderr and "is not empty" not in resumed.stderr  # expected, so unsaid
    checkpoints = tmp_path / "home/run/checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir()) == ["best.ckpt", "last.ckpt"]
    best, last = (torch.load(checkpoints / f"{name}.ckpt", map_location="cpu", weights_only=False) for name in ("best", "last"))
    state = next(v for k, v in last["callbacks"].items() if k.startswith("ModelCheckpoint") and "'monitor': 'val/f1'" in k)
    assert state["dirpath"] == str(checkpoints) and state["best_model_path"] == str(checkpoints / "best.ckpt")
    metrics = json.loads((tmp_path / "home/run/metrics.json").read_text())
    assert best["epoch"] + 1 == metrics["best_epoch"] and round(float(state["best_model_score"]), 6) == round(metrics["dev"]["f1"], 6)


@pytest.mark.parametrize("overrides, message", [
    (["main=ncbi2"], "unknown corpus 'ncbi2'"),
    (["aux=nope", "model=cs"], "unknown corpus 'nope'"),
    (["embedding=glove100"], "embedding file not found"),
    (["embedding=glove100", "embedding.path=/nowhere/glove.6B.100d.txt"], "/nowhere/glove.6B.100d.txt"),
    (["main=exptm", "data.base_url=null", "data.dir=/nonexistent"], "Ex-PTM-IOB/train.tsv"),
    (["model=stm", "aux=bionlp09"], "model=stm is single-task"),
    (["batching=sorted"], "unknown batching 'sorted'"),
    (["model=cs", "aux=bionlp09", "schedule=sometimes"], "unknown schedule 'sometimes'"),
    (["batch_size=0"], "batch_size must be a whole number of at least 1, got 0"),
    (["eval_batch_size=-2"], "eval_batch_size must be a whole number of at least 1, got -2"),
    (["optimizer.lr=0"], "optimizer.lr=0 is out of range"),
    (["optimizer.alpha=2"], "optimizer.alpha=2 is out of range: it must be in [0, 1)"),
    (["scheduler.gamma=1.5"], "scheduler.gamma=1.5 is out of range"),
    (["optimizer.momentum=-1"], "Invalid momentum value: -1"),
    (["trainer.max_epochs=-5"], "`max_epochs` must be a non-negative integer or -1"),
])
def test_bad_input_is_one_clear_line(tmp_path, overrides, message):
    result = train(tmp_path, *overrides)
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"bioner-pl: error:" in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr


def test_bf16_training_runs_where_the_cpu_has_a_bfloat16_lstm_and_is_one_clear_line_elsewhere(tmp_path):
    from bioner_pl.models.blocks import bf16_lstm_runs_on

    result = train(tmp_path, "trainer.precision=bf16-mixed", "trainer.max_epochs=1")
    if bf16_lstm_runs_on(torch.device("cpu")):
        assert result.returncode == 0, result.stderr[-3000:]
        assert json.loads((tmp_path / "run/metrics.json").read_text())["epochs"] == 1
    else:  # e.g. an AVX2-only CPU, where oneDNN's own error was a traceback
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-3000:]
        assert "bioner-pl: error: trainer.precision=bf16-mixed: this cpu has no bfloat16 LSTM" in result.stderr


@pytest.mark.parametrize("group, value", [("model", "xyz"), ("embedding", "glove3000")])
def test_unknown_config_choice_lists_options(tmp_path, group, value):
    result = train(tmp_path, f"{group}={value}")
    assert result.returncode != 0 and f"Could not find '{group}/{value}'" in result.stderr
    assert "Available options" in result.stderr


def test_a_job_slurm_restarted_resumes_without_being_told(tmp_path):
    """SLURM_RESTART_COUNT is what a requeued job sees (time limit, preemption, scontrol requeue)."""
    budget = ["trainer.limit_train_batches=3", "trainer.limit_val_batches=1", "trainer.limit_test_batches=1"]
    first = train(tmp_path, "trainer.max_epochs=1", *budget)
    assert first.returncode == 0, first.stderr[-3000:]
    fresh = train(tmp_path, "trainer.max_epochs=2", *budget, env={"SLURM_RESTART_COUNT": "0"})
    assert fresh.returncode == 2 and "resume=true" in fresh.stderr  # a fresh job still refuses
    requeued = train(tmp_path, "trainer.max_epochs=2", *budget, env={"SLURM_RESTART_COUNT": "1"})
    assert requeued.returncode == 0, requeued.stderr[-3000:]
    metrics = json.loads((tmp_path / "run/metrics.json").read_text())
    assert metrics["resumed"] is True and metrics["epochs"] == 2


def test_fast_dev_run_checks_the_path_and_writes_nothing(tmp_path):
    run = tmp_path / "run"
    result = run_cli("bioner_pl.train", "main=ncbi", "trainer.fast_dev_run=true", *SMALL_VECTORS, f"hydra.run.dir={run}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "fast_dev_run: test P/R/F1" in result.stdout + result.stderr
    assert not (run / "metrics.json").exists() and not (run / "checkpoints").exists()
    assert not (run / "wandb").exists()  # nor a W&B run under this directory's id
    again = train(tmp_path)  # so the real run is not refused
    assert again.returncode == 0, again.stderr[-3000:]


def test_without_validation_the_last_weights_are_tested(tmp_path):
    result = train(tmp_path, "trainer.limit_val_batches=0", "trainer.max_epochs=2", "trainer.limit_train_batches=2")
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((tmp_path / "run/metrics.json").read_text())
    assert metrics["dev"] is None and metrics["best_epoch"] == 2 and metrics["epochs"] == 2
    assert 0 <= metrics["test"]["f1"] <= 1


def test_an_error_from_slurms_own_requeue_leaves_the_result_to_the_next_attempt():
    """The requeue's SIGTERM also kills the `scontrol requeue` submitit runs (seen in CI): that error
    must not fail the job, whose requeued attempt gives the result; any other error still does."""
    killed = subprocess.CalledProcessError(-15, ["scontrol", "requeue", "4"])
    try:
        raise RuntimeError("interrupted") from killed
    except RuntimeError as wrapped:
        assert cluster.requeue_under_way(wrapped)
    assert not cluster.requeue_under_way(subprocess.CalledProcessError(1, ["scontrol", "requeue", "4"]))
    assert not cluster.requeue_under_way(ValueError("a real failure"))
