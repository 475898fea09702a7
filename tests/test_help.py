"""Every entry point answers --help with what it does and an example, and exits 0; every one takes
its options one way, Hydra's key=value, and names a key it does not know."""

import pytest
from hydra.errors import ConfigCompositionException

from bioner_pl.config import compose_config
from helpers import ROOT, run_cli


@pytest.mark.slow  # starts each command
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


@pytest.mark.parametrize("command, config", [
    ("train", "config"), ("predict", "predict"), ("evaluate", "evaluate"), ("compare", "compare"),
    ("partners", "partners"), ("tables", "tables"), ("results", "results"), ("bench", "bench"), ("export", "export"),
    ("crosscorpus", "crosscorpus"), ("corpus_stats", "corpus_stats"), ("casestudy", "casestudy"),
])
def test_options_are_key_value_everywhere(command, config):
    """Every entry point is a Hydra app of its config (the one its --help above describes), so an
    option it does not have is refused by name, as the command line refuses it."""
    source = (ROOT / "bioner_pl" / f"{command}.py").read_text()
    assert f'@hydra.main(config_path="conf", config_name="{config}"' in source
    compose_config(config, ["main=ncbi"] if config in ("config", "partners") else [])
    with pytest.raises(ConfigCompositionException, match="no_such_option"):
        compose_config(config, ["no_such_option=1"])
