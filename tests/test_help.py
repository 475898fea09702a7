"""Every entry point answers --help with what it does and an example, and exits 0."""

import pytest

from helpers import run_cli

pytestmark = pytest.mark.slow  # starts each command


@pytest.mark.parametrize("command, says", [
    ("train", "main=NAME|FOLDER"), ("predict", "ckpt=CHECKPOINT input=FILE|GLOB"),
    ("evaluate", "dataset=NAME|FOLDER"), ("compare", "paired"), ("partners", "Successive halving"),
    ("tables", "--roots"), ("results", "--runs"), ("bench", "--repeats"), ("export", "ckpt=CHECKPOINT out=DIR"),
    ("crosscorpus", "entity_types"),
])
def test_help(command, says):
    result = run_cli(f"bioner_pl.{command}", "--help")
    assert result.returncode == 0, result.stderr[-2000:]
    assert says in result.stdout and f"bioner_pl.{command}" in result.stdout
    assert len(result.stdout.splitlines()) < 60  # ours, not Hydra's page with the whole config
