"""The experiment grids (sweeps/), launchers, and `make tables` over a partly failed sweep."""

import csv
import json
import os
import subprocess

import joblib
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from bioner_pl import naming, paper
from bioner_pl.config import CONF_DIR, compose_config
from bioner_pl.experiments import tables
from bioner_pl.training import tracking
from bioner_pl.training.runner import honour_omp_num_threads
from helpers import ROOT, SMALL_VECTORS, run_cli
from wandb_files import offline_runs

SWEEPS = ROOT / "sweeps"


def jobs(grid: str, *extra: str) -> list[list[str]]:
    """The job list Hydra's basic sweeper makes of a grid (plus command-line sweeps)."""
    params = OmegaConf.load(SWEEPS / f"{grid}.yaml").hydra.sweeper.params
    overrides = [f"{k}={v}" for k, v in params.items()] + list(extra)
    parsed = OverridesParser.create().parse_overrides(overrides)
    return [job for batch in BasicSweeper.split_arguments(parsed, None) for job in batch]


def job_config(grid: str, job: list[str], return_hydra_config=False):
    with initialize_config_dir(config_dir=str(SWEEPS), version_base="1.3"):
        return compose(grid, overrides=[f"hydra.searchpath=[file://{CONF_DIR}]", *job],
                       return_hydra_config=return_hydra_config)


@pytest.mark.parametrize("grid, count", [("models", 20), ("baselines", 4), ("pairs", 20), ("subsets", 12),
                                         ("sizes", 32), ("embeddings", 48), ("adv", 36)])
def test_grid_sizes(grid, count):
    assert len(jobs(grid)) == count
    assert len(jobs(grid, "seed=1,2,3")) == 3 * count


def test_table4_is_20_cs_jobs_plus_stm_baselines():
    pairs = [job_config("pairs", job) for job in jobs("pairs")]
    assert {(c.model.name, c.main, c.aux) for c in pairs} == {
        ("cs", m, a) for m in tables.MAINS for a in tables.AUXS}
    baselines = [job_config("baselines", job) for job in jobs("baselines")]
    assert {(c.model.name, c.main, c.aux) for c in baselines} == {("stm", m, "none") for m in tables.MAINS}


def test_table2_pairs_each_main_with_its_best_partner():
    configs = [job_config("models", job) for job in jobs("models")]
    seen = {(c.model.name, c.main): c.aux for c in configs}
    assert seen[("stm", "linnaeus")] == "none" and seen[("cs", "linnaeus")] == "bc5cdr"
    assert seen[("adv", "bc2gm")] == "jnlpba" and seen[("fs", "exptm")] == "bionlp09"
    assert all(c.resume for c in configs)


def test_size_and_adv_grids_name_distinct_run_dirs():
    sizes = {job_config("sizes", job, True).hydra.sweep.subdir for job in jobs("sizes")}
    assert len(sizes) == 32 and any("frac0.25" in s for s in sizes)
    adv = {job_config("adv", job, True).hydra.sweep.subdir for job in jobs("adv")}
    assert len(adv) == 36 and any(s.startswith("adv-a0.1-b0.01/") for s in adv)


def test_adv_grid_narrows_from_the_command_line():
    """`make sweep-adv ARGS="model.arch.alpha=0.1"`: Hydra composes the grid's config with the
    command line before it sweeps, so the grid must pick ADV-MTM there, not only in its jobs."""
    primary = job_config("adv", ["+pair=exptm", "model.arch.alpha=0.1", "model.arch.beta=0"])
    assert (primary.model.name, primary.model.arch.alpha, primary.model.arch.beta) == ("adv", 0.1, 0)
    for grid in ("pairs", "subsets"):  # the other one-model grids pick theirs the same way
        assert job_config(grid, ["main=exptm", "aux=bionlp09"]).model.name == "cs"


@pytest.mark.parametrize("overrides, protocol_dir", [
    ([], ""),  # the defaults keep the directories of every run made before the switches
    (["batching=by_length"], "by_length/"),
    (["schedule=random", "train_on_dev=true"], "random-schedule+train+dev/"),
])
def test_protocol_switches_get_their_own_run_dir(overrides, protocol_dir):
    [job] = jobs("models", "model=cs", "+pair=exptm", *overrides)
    assert job_config("models", job, True).hydra.sweep.subdir == f"cs/exptm__bionlp09/glove50/frac1/{protocol_dir}seed1"


def test_the_charts_show_the_spread_over_seeds_and_the_arrows_against_stm(tmp_path):
    def run(model, aux, seed, f1):
        metrics = {"model": model, "main": "exptm", "aux": aux, "embedding": "glove50", "fraction": 1.0, "epochs": 80,
                   "seed": seed, "wall_seconds": 60.0, "test": {"precision": f1, "recall": f1, "f1": f1}}
        folder = tmp_path / f"{model}-{'-'.join(aux)}-{seed}"
        folder.mkdir()
        (folder / "metrics.json").write_text(json.dumps(metrics))

    for seed, f1 in ((1, 0.66), (2, 0.68), (3, 0.70)):
        run("stm", [], seed, f1)
    for seed, f1 in ((1, 0.71), (2, 0.72)):
        run("cs", ["bionlp09"], seed, f1)
    run("cs", ["jnlpba"], 1, 0.60)
    cells = tables.Tables(tables.collect([tmp_path]))
    bars = tables.table2_figure(cells).axes[1]  # exptm
    errors = [c for c in bars.containers if getattr(c, "has_yerr", False)]
    lines = errors[0].lines[2][0].get_segments()  # one vertical error line per model: stm fs sp adv cs
    heights = [round((seg[1][1] - seg[0][1]) / 2, 4) for seg in lines]
    assert heights[0] == 2.0 and heights[4] == 0.7071 and heights[1:4] == [0, 0, 0]  # std of 66,68,70 and of 71,72
    assert {t.get_text() for t in bars.texts} == {"n=3", "n=2"}
    grid = tables.table4_figure(cells).axes[1]
    labels = {t.get_text() for t in grid.texts}
    assert "71.5±0.7 ↑\nn=2" in labels and "60.0 ↓\nn=1" in labels and "—" in labels


def test_tables_keep_protocol_variants_apart(tmp_path):
    def run(seed, f1, protocol=None):
        metrics = {"model": "stm", "main": "ncbi", "aux": [], "embedding": "glove50", "fraction": 1.0, "epochs": 80,
                   "seed": seed, "wall_seconds": 60.0 * seed, "test": {"precision": f1, "recall": f1, "f1": f1},
                   **({"protocol": protocol} if protocol else {})}
        (tmp_path / str(seed)).mkdir()
        (tmp_path / str(seed) / "metrics.json").write_text(json.dumps(metrics))

    run(1, 0.80)  # written before metrics.json recorded the protocol: the defaults
    run(2, 0.82, {"schedule": "turns", "batching": "shuffled", "train_on_dev": False})
    run(3, 0.90, {"schedule": "turns", "batching": "by_length", "train_on_dev": False})
    cells = tables.collect([tmp_path])
    assert tables.Tables(cells).cell("stm", "ncbi").text("f1").startswith("81.00 ± 1.41 (n=2)")
    assert tables.Tables(cells, protocol="by_length").cell("stm", "ncbi").text("f1") == "90.00"
    tables.run(compose_config("tables", [f"roots=[{tmp_path}]", f"out={tmp_path / 'tables'}", "charts=false"]))
    assert "81.00 ± 1.41 (n=2)" in (tmp_path / "tables/table2.csv").read_text()
    by_length = (tmp_path / "tables/by_length/tables.md").read_text()
    assert "training protocol by_length" in by_length and "| 90.00 |" in by_length
    # the runs table: seeds, paper (Table 2's NCBI STM, 86.05), difference and wall time per run
    assert "| ncbi | stm | glove50 | 100% | 1, 2 | 81.00 ± 1.41 | 86.05 | -5.05 | 2 min |" in \
        (tmp_path / "tables/tables.md").read_text()
    assert "| ncbi | stm | glove50 | 100% | 3 | 90.00 | 86.05 | +3.95 | 3 min |" in by_length


def test_adv_grid_picks_its_point_on_dev_not_test(tmp_path):
    def run(alpha, beta, dev, test, seed=1):
        run_dir = tmp_path / f"{alpha}-{beta}" / f"seed{seed}"
        run_dir.mkdir(parents=True)
        (run_dir / "metrics.json").write_text(json.dumps({
            "model": "adv", "arch": {"alpha": alpha, "beta": beta}, "main": "exptm", "aux": ["bionlp09"],
            "embedding": "glove50", "fraction": 1.0, "epochs": 80, "seed": seed, "wall_seconds": 60.0,
            "dev": {"f1": dev}, "test": {"f1": test}}))

    def exptm_row():
        _, header, rows = tables.Tables(tables.collect([tmp_path])).adv_grid()
        return dict(zip(header, next(row for row in rows if row[0] == "exptm")))

    run(0.1, 0.01, 0.70, 0.75)
    run(0.0, 0.01, 0.78, 0.71)
    exptm = exptm_row()
    assert exptm["α=0.1 β=0.01"] == "75.00 (dev 70.00)" and exptm["α=0 β=0.01"] == "71.00 (dev 78.00)"
    assert exptm["α=0.01 β=0.001"] == tables.MISSING
    assert exptm["picked on dev"] == "α=0 β=0.01: 71.00 (2 of 9 points run)"  # a partial grid says so
    for alpha, beta in tables.ADV_GRID:
        if not (tmp_path / f"{alpha}-{beta}").exists():
            run(alpha, beta, 0.60, 0.90)
    assert exptm_row()["picked on dev"] == "α=0 β=0.01: 71.00"
    # seeds 2 and 3 of the pick, worse on dev than the others' seed 1: the pick stands (it was made
    # on seed 1, the seed every point ran) and reports all three seeds
    run(0.0, 0.01, 0.40, 0.65, seed=2)
    run(0.0, 0.01, 0.40, 0.68, seed=3)
    assert exptm_row()["picked on dev"] == "α=0 β=0.01: 68.00 ± 3.00 (n=3)"


def test_runs_table_finds_each_cells_paper_score():
    t = tables.Tables({})
    assert t.paper_f1("cs", None, "bigram", "exptm", ("bionlp09",), "glove50", 1.0) == 72.05  # Table 2
    assert t.paper_f1("cs", None, "bigram", "exptm", ("jnlpba",), "glove50", 1.0) == 68.81  # Table 4
    assert t.paper_f1("cs", None, "bigram", "ncbi", ("bionlp11id_chem",), "glove50", 1.0) == 85.44  # Table 5
    assert t.paper_f1("stm", None, "bigram", "exptm", (), "glove50", 0.1) == 46.04  # Table 6
    assert t.paper_f1("cs", None, "bigram", "exptm", ("bionlp09",), "pmc", 1.0) == 70.61  # Table 7
    assert t.paper_f1("adv", (0.01, 0.001), "bigram", "exptm", ("bionlp09",), "glove50", 1.0) == 71.72
    for no_such_cell in [("adv", (0.1, 0.0), "bigram", "exptm", ("bionlp09",), "glove50", 1.0),  # grid: no numbers
                         ("stm", None, "classic", "exptm", (), "glove50", 1.0),
                         ("fs", None, "bigram", "exptm", ("jnlpba",), "glove50", 1.0),
                         ("stm", None, "bigram", "jnlpba", (), "glove50", 1.0)]:
        assert t.paper_f1(*no_such_cell) is None


def test_a_users_omp_num_threads_overrules_the_mkl_count_joblib_sets(monkeypatch):
    """Inside a local_parallel job joblib has set MKL_NUM_THREADS, which torch reads first."""
    before = torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", str(before + 1))
    monkeypatch.setenv("MKL_NUM_THREADS", "1")
    try:
        honour_omp_num_threads()
        assert torch.get_num_threads() == before + 1
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("launcher, target", [("local_parallel", "JoblibLauncher"), ("slurm", "SlurmLauncher")])
def test_launchers_compose(launcher, target):
    cfg = job_config("pairs", ["hydra/launcher=" + launcher, "hydra.launcher.timeout_min=60"]
                     if launcher == "slurm" else ["hydra/launcher=" + launcher], True)
    assert cfg.hydra.launcher._target_.endswith(target)


@pytest.mark.slow
def test_user_file_embeddings_fail_naming_the_file(tmp_path):
    result = run_cli("bioner_pl.train", "main=ncbi", "embedding=pmc", f"vectors_dir={tmp_path}",
                     f"hydra.run.dir={tmp_path / 'run'}")
    assert result.returncode == 2
    assert f"{tmp_path}/PMC-w2v.bin" in result.stderr and "bio.nlplab.org" in result.stderr


@pytest.mark.slow
def test_tiny_grid_with_a_failing_job_then_tables(tmp_path):
    """Three STM baselines with tiny budgets; bc2gm has no data here, so its job fails."""
    result = run_cli("bioner_pl.train", "-m", "--config-dir", str(SWEEPS), "--config-name", "baselines",
                     "main=ncbi,bc2gm,exptm", "trainer=smoke", "logger=csv", *SMALL_VECTORS,
                     f"out_root={tmp_path}", "data.base_url=null", "seed=1,2")
    assert result.returncode != 0 and "bc2gm" in result.stderr  # the sweep reports the failure...
    runs = tmp_path / "runs"
    assert len(list(runs.rglob("metrics.json"))) == 4  # ...after the other jobs finished
    out = tables.run(compose_config("tables", [f"roots=[{runs}]", f"out={tmp_path / 'tables'}", "embedding.name=random",
                                               "min_epochs=1"]))
    rows = list(csv.reader(open(out / "table2.csv")))
    header = rows[0]
    by = {(r[0], r[1]): dict(zip(header, r)) for r in rows[1:]}
    assert by[("bc2gm", "f1")]["stm ours"] == "failed"
    assert "(n=2)" in by[("ncbi", "f1")]["stm ours"] and by[("ncbi", "f1")]["stm paper"] == "86.05"
    assert by[("ncbi", "f1")]["cs ours"] == tables.MISSING
    assert (out / "tables.md").read_text().count("failed") >= 3
    assert (out / "table2.png").stat().st_size > 0 and (out / "table4.png").exists()
    f1 = [json.loads(p.read_text())["test"]["f1"] for p in runs.rglob("ncbi__none/**/metrics.json")]
    mean = sum(100 * v for v in f1) / 2
    assert by[("ncbi", "f1")]["stm ours"].startswith(f"{mean:.2f}")


@pytest.mark.slow
def test_parallel_launcher_shares_the_cores_and_survives_a_failing_job(tmp_path):
    """hydra/launcher=local_parallel: joblib gives each of its n_jobs workers cpu_count // n_jobs
    threads unless OMP_NUM_THREADS says otherwise (no oversubscription); a failing job still
    lets the other one land."""
    result = run_cli("bioner_pl.train", "-m", "--config-dir", str(SWEEPS), "--config-name", "baselines",
                     "main=ncbi,bc2gm,exptm", "trainer=smoke", *SMALL_VECTORS, f"out_root={tmp_path}",
                     "data.base_url=null", "hydra/launcher=local_parallel", "hydra.launcher.n_jobs=2")
    assert result.returncode != 0 and "bc2gm" in result.stderr
    finished = [json.loads(p.read_text()) for p in (tmp_path / "runs").rglob("metrics.json")]
    expected = int(os.environ.get("OMP_NUM_THREADS", max(joblib.cpu_count() // 2, 1)))
    assert sorted(m["main"] for m in finished) == ["exptm", "ncbi"] and all(m["threads"] == expected for m in finished)
    # joblib reuses its worker processes: still one W&B run per job (the third job ran where another had)
    runs = {job.parts[-4]: offline_runs(job) for job in (tmp_path / "runs").glob("stm/*/random/frac1/seed1")}
    assert {name: [(r.id, r.exit_code) for r in segments] for name, segments in runs.items()} == {
        f"{main}__none": [(naming.run_id(tmp_path / "runs" / "stm" / f"{main}__none" / "random" / "frac1" / "seed1"),
                           1 if main == "bc2gm" else 0)] for main in ("ncbi", "bc2gm", "exptm")}


@pytest.mark.slow
def test_each_job_of_a_multirun_is_its_own_wandb_run(tmp_path):
    """The default logger (CSV + W&B offline) on the basic launcher, where every job runs in this
    one process: one W&B run per job, with the job's own config and summary, the failing job's
    run marked failed; a finished job rerun with resume=true does not touch its W&B run."""
    grid = ["-m", "--config-dir", str(SWEEPS), "--config-name", "baselines", "main=ncbi,bc2gm", "seed=1,2",
            "trainer=smoke", *SMALL_VECTORS, f"out_root={tmp_path}", "data.base_url=null"]
    result = run_cli("bioner_pl.train", *grid)
    assert result.returncode != 0 and "bc2gm" in result.stderr
    assert "wandb run already in progress" not in result.stderr
    jobs = sorted(p for p in (tmp_path / "runs").glob("stm/*/random/frac1/seed*"))
    assert len(jobs) == 4
    ids = set()
    for job in jobs:
        [run] = offline_runs(job)
        assert run.id == naming.run_id(job) and run.group == "baselines"
        assert run.name == str(job.relative_to(tmp_path / "runs"))
        assert run.config["seed"] == int(job.name.removeprefix("seed")) and run.config["main"] == job.parts[-4][:-6]
        assert f"seed:{run.config['seed']}" in run.tags
        if (job / "metrics.json").exists():
            metrics = json.loads((job / "metrics.json").read_text())
            assert run.exit_code == 0 and run.summary["test/f1"] == metrics["test"]["f1"]
            assert run.summary["wall_seconds"] == metrics["wall_seconds"] and "paper/f1" not in run.summary
        else:
            assert run.exit_code == 1 and "bc2gm" in job.parts[-4]
        ids.add(run.id)
    assert len(ids) == 4
    rerun = run_cli("bioner_pl.train", *grid[:5], "main=ncbi", "seed=1", *grid[7:])
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert len(offline_runs(jobs[-2])) == 1  # finished: skipped, no new segment


def test_wandb_summary_has_the_papers_cell():
    metrics = {"model": "cs", "dev": {"f1": 0.78}, "test": {"precision": 0.7, "recall": 0.72, "f1": 0.71},
               "best_epoch": 40, "epochs": 80, "params": 5_000_000, "wall_seconds": 3600.0, "resumed": False,
               "arch": {}, "main": "exptm", "aux": ["jnlpba"], "embedding": "glove50", "fraction": 1.0,
               "protocol": {"schedule": "turns", "batching": "by_length", "train_on_dev": False}}
    summary = tracking.summary(metrics, paper.run_f1(metrics))
    assert summary["paper/f1"] == pytest.approx(0.6881)  # Table 4: Ex-PTM + JNLPBA
    assert summary["paper/delta_f1"] == pytest.approx(0.71 - 0.6881)
    assert summary["test/f1"] == 0.71 and summary["dev/f1"] == 0.78 and summary["best_epoch"] == 40


def test_smoke_mode_keeps_its_tiny_budget_when_args_are_given_too():
    """`make sweep-pairs SMOKE=1 ARGS=...` once dropped smoke mode (ARGS from the command line won over
    the Makefile's `ARGS +=`) and launched full 80-epoch runs."""
    dry = subprocess.run(["make", "-n", "sweep-pairs", "SMOKE=1", "ARGS=seed=1,2 batching=by_length"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    runs = dry.split("bioner_pl.train -m")[1:]  # the baselines and the pairs, in one recipe line
    assert len(runs) == 2 and all("seed=1,2 batching=by_length" in r and "trainer=smoke out_root=outputs/smoke" in r
                                  for r in runs)


def test_the_transformer_table_sets_encoders_beside_word_vectors(tmp_path):
    def run(model, embedding, f1, epochs=80, aux=(), encoder="bilstm"):
        run_dir = tmp_path / f"{model}-{encoder}-{embedding}"
        run_dir.mkdir()
        (run_dir / "metrics.json").write_text(json.dumps({
            "model": model, "arch": {"encoder": encoder}, "main": "exptm", "aux": list(aux), "embedding": embedding,
            "fraction": 1.0, "epochs": epochs, "seed": 1, "wall_seconds": 600.0,
            "test": {"precision": f1, "recall": f1, "f1": f1}}))

    run("stm", "glove50", 0.68)
    run("cs", "glove50", 0.70, aux=["bionlp09"])
    run("stm", "minilm", 0.59)
    run("cs", "minilm", 0.57, aux=["bionlp09"])
    run("stm", "minilm", 0.49, encoder="none")
    run("stm", "minilm-ft", 0.74, epochs=20, encoder="none")  # the PLM protocol's 20 epochs: a whole run
    run("stm", "minilm-ft", 0.10, epochs=3)  # a quick check: left out
    title, header, rows = tables.Tables(tables.collect([tmp_path], min_epochs=80)).transformers()
    assert [r[:6] for r in rows] == [
        ["exptm", "glove50", "—", "68.00", "70.00", "+2.00 ↑"],
        ["exptm", "minilm", "49.00", "59.00", "57.00", "-2.00 ↓"],
        ["exptm", "minilm-ft", "74.00", "—", "—", ""]]


def test_a_run_without_the_bilstm_has_no_paper_figure():
    metrics = {"model": "stm", "arch": {"bigram": True}, "main": "exptm", "aux": [], "embedding": "glove50",
               "fraction": 1.0, "protocol": {}}
    assert paper.run_f1(metrics) == 67.31  # Table 2's Ex-PTM STM
    assert paper.run_f1({**metrics, "arch": {"bigram": True, "encoder": "none"}}) is None
