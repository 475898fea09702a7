"""Every entry point answers --help with what it does and an example, and exits 0; every one takes
its options one way, Hydra's key=value, and names a key it does not know."""

import pytest

from helpers import run_cli

pytestmark = pytest.mark.slow  # starts each command


@pytest.mark.parametrize("command, says", [
    ("train", "main=NAME|FOLDER"), ("predict", "ckpt=CHECKPOINT input=FILE|GLOB"),
    ("evaluate", "dataset=NAME|FOLDER"), ("compare", "paired"), ("partners", "Successive halving"),
    ("tables", "roots=[outputs/runs,...]"), ("results", "runs=outputs/runs"), ("bench", "repeats=20"),
    ("export", "ckpt=CHECKPOINT out=DIR"), ("crosscorpus", "entity_types"), ("corpus_stats", "corpora=[NAME|FOLDER,...]"),
    ("casestudy", "runs=[RUN_A,RUN_B]"),
])
def test_help(command, says):
    result = run_cli(f"bioner_pl.{command}", "--help")
    assert result.returncode == 0, result.stderr[-2000:]
    assert says in result.stdout and f"bioner_pl.{command}" in result.stdout
    assert len(result.stdout.splitlines()) < 60  # ours, not Hydra's page with the whole config


@pytest.mark.parametrize("command", ["train", "predict", "evaluate", "compare", "partners", "tables", "results", "bench",
                                     "export", "crosscorpus", "corpus_stats", "casestudy"])
def test_options_are_key_value_everywhere(command):
    result = run_cli(f"bioner_pl.{command}", "no_such_option=1")
    assert result.returncode != 0 and "Could not override 'no_such_option'" in result.stderr, result.stderr[-2000:]
