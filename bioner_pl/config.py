"""Where our Hydra configs live (packaged with the code, so `pip install .` works anywhere) and
the resolvers they use. Importing this module registers the resolvers."""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

from bioner_pl.errors import InputError
from bioner_pl.naming import aux_name, corpus_name, protocol_name, run_id, run_name, transformer_name

CONF_DIR = Path(__file__).resolve().parent / "conf"
# Where our corpora's split files are fetched from when missing (MTL-Bioinformatics-2016).
UPSTREAM_URL = "https://raw.githubusercontent.com/cambridgeltl/MTL-Bioinformatics-2016/master/data"


def group(name: str, option: str) -> dict:
    """One option of a config group as plain data, e.g. group("optimizer", "rmsprop")."""
    return OmegaConf.to_container(OmegaConf.load(CONF_DIR / name / f"{option}.yaml"))


def compose_config(name: str, overrides=(), hydra: bool = False):
    """A command's config (bioner_pl/conf/<name>.yaml) as its command line composes it from these
    key=value overrides: for calling a command from Python (`compare.run(compose_config("compare",
    ["runs=[a,b]"]))`) and for reading what a training run's overrides make of it (hydra=True)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.initialize import get_gh_backup, restore_gh_from_backup

    running = get_gh_backup()  # inside a command (partners), its Hydra is set aside meanwhile
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return compose(name, overrides=list(overrides), return_hydra_config=hydra)
    finally:
        restore_gh_from_backup(running)


def whole(cfg, key: str, at_least: int) -> int:
    """An option that must be a whole number of at least `at_least`: its value, or a one-line error."""
    value = cfg[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < at_least:
        raise InputError(f"{key} must be a whole number of at least {at_least}, got {value!r}")
    return value


def fraction(cfg, key: str) -> float:
    """An option that must lie strictly between 0 and 1 (a confidence level): its value, or a one-line error."""
    value = cfg[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise InputError(f"{key} must be a number between 0 and 1, got {value!r}")
    return float(value)


def listed(value) -> list:
    """An option that takes one value or a list of them (runs=DIR or runs=[DIR,DIR]), as a list."""
    return [] if value is None else [value] if isinstance(value, (str, int, float)) else list(value)


def register_resolvers() -> None:
    resolvers = {
        "aux_name": aux_name, "corpus_name": corpus_name, "run_name": run_name, "protocol_name": protocol_name,
        "wandb_id": run_id, "transformer_name": transformer_name,
        "encoder_suffix": lambda encoder: "" if encoder == "bilstm" else f"-{encoder}-encoder",
        "crf_suffix": lambda bigram: "" if bigram else "-classic",
        # best.ckpt is the best epoch on dev F1, except when dev is training data (then the last one)
        "dev_monitor": lambda train_on_dev: None if train_on_dev else "val/f1",
        "upstream_url": lambda: UPSTREAM_URL,
    }
    for name, resolver in resolvers.items():
        OmegaConf.register_new_resolver(name, resolver, replace=True)


register_resolvers()
