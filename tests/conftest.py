"""Fixtures shared by the test modules (plain helpers are in helpers.py)."""

import os
from pathlib import Path

if os.environ.get("PYTEST_XDIST_WORKER"):  # `make test` runs a worker per core: one thread each, and for
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # the commands they start, or they fight over the cores
    os.environ.setdefault("MKL_NUM_THREADS", "1")

import pytest

from bioner_pl.data.datamodule import MultiTaskDataModule
from bioner_pl.data.embeddings import random_vectors
from helpers import FIXTURE_DATA, run_cli


@pytest.fixture
def data_dir() -> Path:
    """Small slices of NCBI-disease, BioNLP09 and Ex-PTM (tests/fixtures/data/README.md)."""
    return FIXTURE_DATA


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


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups off the markers
def pytest_collection_modifyitems(items):
    """A test that needs a trained model (the `trained` fixture, ~1 min) is slow, wherever it is, and
    runs on the worker that trained it (pytest-xdist's loadgroup: the model is trained once). Slow
    tests go first, so that quick ones fill the workers' last minutes instead of a long one
    starting when the other worker is nearly done."""
    for item in items:
        if "trained" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.xdist_group("trained"))
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: otherwise as collected


def pytest_configure(config):
    """pytest 9.2 broke xdist 3.8's loadgroup (pytest-xdist#1386): nothing fails, every worker just
    trains the model and starts the cluster itself, minutes more. Say so instead."""
    from importlib.metadata import version

    from packaging.version import Version

    broken = Version(pytest.__version__) >= Version("9.2") and Version(version("pytest-xdist")) <= Version("3.8.0")
    if config.getoption("dist", "no") == "loadgroup" and broken:
        raise pytest.UsageError(f"--dist loadgroup does not group with pytest {pytest.__version__} and pytest-xdist "
                                f"{version('pytest-xdist')} (pytest-xdist#1386): pip install 'pytest<9.2' (make setup does)")
