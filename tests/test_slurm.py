"""Sweeps through `hydra/launcher=slurm` (submitit) on a real single-node SLURM cluster: a failing job
in an array, a job requeued on its time limit, a job requeued by `scontrol requeue` (what
preemption does), one W&B run per job, and tagging shards as one array, one of them requeued.
`.ci/run` installs slurm-wlm and munge and sets BIONER_REQUIRE_SLURM=1, so there a missing
scheduler fails instead of skipping."""

import csv
import json
import os
import re
import subprocess
import sys
import time

import pytest

from bioner_pl import naming
from bioner_pl.config import compose_config
from bioner_pl.experiments import tables
from helpers import ROOT, SMALL_VECTORS, cli_env, run_cli
from slurm_cluster import SlurmCluster, missing_programs
from wandb_files import offline_runs

# A real SLURM cluster, started once for the tests of the group "slurm"; the shards test runs where the
# trained model is (group "trained", conftest.py), with a cluster of its own.
pytestmark = pytest.mark.slow
ON_THE_CLUSTER = pytest.mark.xdist_group("slurm")

SWEEPS = ROOT / "sweeps"
MISSING = missing_programs()
if MISSING and os.environ.get("BIONER_REQUIRE_SLURM") != "1":
    pytest.skip(f"needs slurm-wlm and munge ({', '.join(MISSING)} not found)", allow_module_level=True)

# One CPU a job, so that two jobs share the two cores instead of fighting over them.
SLURM = ["hydra/launcher=slurm", "hydra.launcher.gpus_per_node=null", "hydra.launcher.cpus_per_task=1",
         "hydra.launcher.mem_gb=1"]
# A job that trains for about a minute on one core. slurmctld checks time limits on a 30 s tick
# and sends the warning signal at the first tick within signal_delay_s + 30 s of the limit, so with
# a one-minute limit and signal_delay_s=5 each attempt runs 25-55 s: the job outlasts its first
# attempt, and every attempt gets some training done after start-up.
LONG_JOB = ["model=stm", "main=ncbi", *SMALL_VECTORS, "trainer.max_epochs=40", "data.base_url=null"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    cluster = SlurmCluster(tmp_path_factory.mktemp("slurm")).start()
    yield cluster
    cluster.run("scancel", "--user", "root", check=False)
    cluster.stop()


def sweep(cluster, out_root, *overrides, config="baselines", wait=True):
    """`python -m bioner_pl.train -m` as a user runs it, submitting to the test cluster."""
    env = cli_env(SLURM_CONF=cluster.env["SLURM_CONF"], OMP_NUM_THREADS="1")
    command = [sys.executable, "-m", "bioner_pl.train", "-m", "--config-dir", str(SWEEPS), "--config-name", config,
               *SLURM, f"out_root={out_root}", f"hydra.launcher.submitit_folder={out_root}/submitit/%j", *overrides]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return finish(process) if wait else process


def finish(process, timeout=420) -> tuple[int, str]:
    output, _ = process.communicate(timeout=timeout)
    return process.returncode, output


def submitted_jobs(out_root) -> list[str]:
    """The SLURM ids of the jobs submitit submitted (<array id>_<task> for a sweep of several), from
    its folder (which also holds a folder for the array itself)."""
    names = [p.name for p in (out_root / "submitit").iterdir() if re.fullmatch(r"\d+(_\d+)?", p.name)]
    return [n for n in names if "_" in n] or names


def job_dir(out_root, seed=1):
    return out_root / "runs" / "stm" / "ncbi__none" / "random" / "frac1" / f"seed{seed}"


def assert_one_wandb_run(run_dir, metrics=None):
    """A job's W&B run: one id (the run directory's), however many attempts wrote segments; the
    last segment finished with the job's config and its metrics.json as summary."""
    segments = offline_runs(run_dir)
    assert segments and {s.id for s in segments} == {naming.run_id(run_dir)}, [s.path for s in segments]
    last = segments[-1]
    assert last.config["main"] == run_dir.parts[-4].split("__")[0]
    assert last.config["seed"] == int(run_dir.name.removeprefix("seed"))
    if metrics is None:
        assert last.exit_code == 1  # marked failed
    else:
        assert last.exit_code == 0
        assert last.summary["test/f1"] == metrics["test"]["f1"] and last.summary["dev/f1"] == metrics["dev"]["f1"]
        assert last.summary["best_epoch"] == metrics["best_epoch"] and last.summary["params"] == metrics["params"]
    return segments


@ON_THE_CLUSTER
def test_array_with_a_failing_job_lands_the_others_and_tables_mark_it(cluster, tmp_path):
    """(a) three jobs in one array; bc2gm has no data here, so its job fails."""
    code, output = sweep(cluster, tmp_path, "main=ncbi,bc2gm,exptm", "trainer=smoke", *SMALL_VECTORS,
                         "data.base_url=null")
    assert code != 0 and "bc2gm" in output, output[-3000:]
    tasks = submitted_jobs(tmp_path)
    assert len(tasks) == 3 and len({t.split("_")[0] for t in tasks}) == 1, tasks  # one array of three
    runs = tmp_path / "runs" / "stm"
    finished = {p.parent.parts[-4]: json.loads(p.read_text()) for p in runs.rglob("metrics.json")}
    assert set(finished) == {"ncbi__none", "exptm__none"}
    failed = runs / "bc2gm__none" / "random" / "frac1" / "seed1"
    assert "missing train split of 'bc2gm'" in (failed / "error.txt").read_text()
    out = tables.run(compose_config("tables", [f"roots=[{tmp_path / 'runs'}]", f"out={tmp_path / 'tables'}",
                                               "embedding.name=random", "min_epochs=1", "charts=false"]))
    rows = {(r[0], r[1]): r for r in csv.reader(open(out / "table2.csv"))}
    header = next(csv.reader(open(out / "table2.csv")))
    assert dict(zip(header, rows[("bc2gm", "f1")]))["stm ours"] == "failed"
    assert dict(zip(header, rows[("ncbi", "f1")]))["stm ours"] != "failed"
    # (d) one W&B run per job, the failed one marked failed
    ids = set()
    for name, metrics in finished.items():
        segments = assert_one_wandb_run(runs / name / "random" / "frac1" / "seed1", metrics)
        ids |= {s.id for s in segments}
    assert_one_wandb_run(failed)
    assert len(ids) == 2


def comparable(metrics: dict) -> dict:
    """metrics.json less what differs between an interrupted and an uninterrupted run by nature."""
    return {k: v for k, v in metrics.items() if k not in ("wall_seconds", "resumed")}


def wait_for(condition, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


@ON_THE_CLUSTER
def test_requeued_jobs_end_as_if_never_interrupted(cluster, tmp_path):
    """(b) a one-minute limit, shorter than the job: submitit requeues it on the warning signal;
    (c) `scontrol requeue` of a running job. Neither says resume=true: a requeue resumes by
    itself. Both end with the metrics and predictions of an uninterrupted run (basic launcher)."""
    reference = subprocess.Popen(
        [sys.executable, "-m", "bioner_pl.train", *LONG_JOB, "logger=csv", f"hydra.run.dir={tmp_path / 'reference'}"],
        cwd=ROOT, env=cli_env(OMP_NUM_THREADS="1"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # Plain multiruns (no sweep config): resume is false, as a user's own sweep would have it.
    timed = sweep(cluster, tmp_path / "timed", *LONG_JOB, "seed=1", "hydra.launcher.timeout_min=1",
                  "hydra.launcher.signal_delay_s=5", "hydra.launcher.max_num_timeout=12", config="config", wait=False)
    preempted_root = tmp_path / "preempted"
    preempted = sweep(cluster, preempted_root, *LONG_JOB, "seed=1", "hydra.launcher.timeout_min=30",
                      config="config", wait=False)
    last = job_dir(preempted_root) / "checkpoints" / "last.ckpt"
    wait_for(last.exists, 240, "the first checkpoint of the job to preempt")
    [job_id] = submitted_jobs(preempted_root)
    cluster.run("scontrol", "requeue", job_id)

    code, output = finish(reference)
    assert code == 0, output[-3000:]
    expected = json.loads((tmp_path / "reference" / "metrics.json").read_text())
    predictions = (tmp_path / "reference" / "test_predictions.tsv").read_bytes()
    for name, process in (("timed", timed), ("preempted", preempted)):
        code, output = finish(process)
        run_dir = job_dir(tmp_path / name)
        assert code == 0, f"{name}: {output[-3000:]}\n{cluster.logs()[-3000:]}"
        metrics = json.loads((run_dir / "metrics.json").read_text())
        assert metrics["resumed"] is True, name  # it was cut off after a checkpoint and continued from it
        assert comparable(metrics) == comparable(expected), name
        assert (run_dir / "test_predictions.tsv").read_bytes() == predictions, name
        assert not (run_dir / "error.txt").exists()
        segments = assert_one_wandb_run(run_dir, metrics)  # (d)
        # the cut-off attempt (marked failed, or with no end at all where SLURM's SIGTERM also reached
        # wandb's service process), then the resumed one
        assert len(segments) >= 2 and segments[0].exit_code != 0, name
    # exactly one requeue per signal: submitit's (it says it caught the timeout signal before it calls
    # `scontrol requeue`; its "Requeued job" line comes after, and the requeue may kill the attempt before
    # it is written); Lightning's own SLURM requeue handler is off
    logs = "".join(p.read_text(errors="replace") for p in (tmp_path / "timed" / "submitit").rglob("*_log.*"))
    assert "this job is timed-out" in logs and "SLURM auto-requeueing enabled" not in logs


def test_shards_as_one_array_one_requeued_mid_run_merge_to_the_unsharded_output(cluster, trained, tmp_path):
    """Tagging in three shards, one array job; shard 1 requeued by `scontrol requeue` while it tags:
    on SLURM's SIGTERM the attempt stops after the batch in hand (not KillWait seconds later, when
    a fast CPU has finished the shard), the new attempt resumes from the shard's index at that very
    document and says so, and the merge is byte for byte the unsharded output. 6,000 documents of
    five sentences, 50 a batch: each shard tags for seconds, so the requeue lands mid-run."""
    (tmp_path / "in.txt").write_text("".join(
        f"Patient {i} had colon cancer. APC mutations were found. Breast cancer {i % 7} was not seen. "
        f"Familial adenomatous polyposis is inherited. The tumour {i % 13} grew.\n" for i in range(6000)))
    common = [f"ckpt={trained}/checkpoints/best.ckpt", f"input={tmp_path}/in.txt", "documents_per_batch=50"]
    sharded = [*common, f"output={tmp_path}/sharded.jsonl", "num_shards=3"]
    env = cli_env(SLURM_CONF=cluster.env["SLURM_CONF"], OMP_NUM_THREADS="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "bioner_pl.predict", "-m", *sharded, "shard=0,1,2", *SLURM,
         f"hydra.launcher.submitit_folder={tmp_path}/submitit/%j"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    index = tmp_path / "sharded.jsonl.shards" / "1-of-3.jsonl.part.index"
    deadline = time.time() + 300
    while not (index.exists() and index.read_text().count("\n") >= 50):  # shard 1's first batch is on disk
        assert time.time() < deadline and process.poll() is None, "shard 1 never wrote a batch"
        time.sleep(0.05)
    tasks = submitted_jobs(tmp_path)
    assert len(tasks) == 3 and len({t.split("_")[0] for t in tasks}) == 1, tasks  # one array of three
    [job] = [t for t in tasks if t.endswith("_1")]
    cluster.run("scontrol", "requeue", job)
    code, output = finish(process)
    assert code == 0, f"{output[-3000:]}\n{cluster.logs()[-3000:]}"
    log = (tmp_path / "submitit" / job / f"{job}_0_log.err").read_text(errors="replace")
    stopped = re.search(r"SLURM took this attempt away after document (\d+)", log)
    resumed = re.search(r"1-of-3\.jsonl: resuming after document (\d+)", log)
    assert stopped and resumed, log[-3000:]
    assert 0 < int(stopped.group(1)) == int(resumed.group(1)) < 5998, log[-3000:]  # mid-run, where it stopped

    whole = run_cli("bioner_pl.predict", *common, f"output={tmp_path}/whole.jsonl")
    assert whole.returncode == 0, whole.stderr[-2000:]
    merged = run_cli("bioner_pl.predict", *sharded, "merge=true")
    assert merged.returncode == 0, merged.stderr[-2000:]
    assert (tmp_path / "sharded.jsonl").read_bytes() == (tmp_path / "whole.jsonl").read_bytes()
