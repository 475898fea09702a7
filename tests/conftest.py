import os
import subprocess
import sys
from pathlib import Path

import pytest

from bioner_pl.bench import ARCHS, FIELDS  # noqa: F401  (model names -> classes, batch fields, for the tests)
from bioner_pl.datamodule import MultiTaskDataModule, collate
from bioner_pl.embeddings import random_vectors

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_DATA = ROOT / "tests" / "fixtures" / "data"
SHARED_DATA = ROOT.parent / "shared" / "data" / "MTL-Bioinformatics-2016"


@pytest.fixture
def data_dir() -> Path:
    """Small slices of NCBI-disease, BioNLP09 and Ex-PTM (tests/fixtures/data/README.md)."""
    return FIXTURE_DATA


def cli_env(**extra: str) -> dict:
    """The environment the CLI runs in during the tests: the fixture data, W&B quiet, this checkout."""
    return {**os.environ, "BIONER_DATA_DIR": str(FIXTURE_DATA), "WANDB_SILENT": "true", "PYTHONPATH": str(ROOT),
            **extra}


def run_cli(module: str, *overrides: str, cwd: Path | None = None, env: dict | None = None,
            timeout: int = 600) -> subprocess.CompletedProcess:
    """Run `python -m module overrides...` the way a user would; capture its output."""
    return subprocess.run([sys.executable, "-m", module, *overrides], cwd=cwd or ROOT, env=cli_env(**(env or {})),
                          capture_output=True, text=True, timeout=timeout)


TINY = ["trainer=smoke", "logger=csv"]
SMALL_VECTORS = ["embedding=random", "embedding.vectors.dim=20"]


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> Path:
    """A small multi-task run trained on the fixture slices (ncbi + bionlp09), for the tagging tests:
    6 epochs with GloVe, enough that it finds diseases and proteins (~1 min on 2 cores)."""
    run = tmp_path_factory.mktemp("trained")
    result = run_cli("bioner_pl.train", "model=fs", "main=ncbi", "aux=bionlp09", "logger=csv",
                     "trainer.max_epochs=6", f"hydra.run.dir={run}")
    assert result.returncode == 0, result.stderr[-3000:]
    return run


@pytest.fixture(scope="module")
def three_datasets() -> MultiTaskDataModule:
    """NCBI-disease with BioNLP09 and Ex-PTM as auxiliaries, on the fixture slices."""
    dm = MultiTaskDataModule("ncbi", ["bionlp09", "exptm"], random_vectors(20), data_dir=FIXTURE_DATA, base_url=None)
    dm.prepare()
    return dm


def batch_of(dm: MultiTaskDataModule, task: int, size: int = 8) -> dict:
    """The first `size` training sentences of one task, collated as training batches are."""
    return collate([(i, e) for i, e in enumerate(dm.train_items) if e.task == task][:size])
