"""Where our Hydra configs live (packaged with the code, so `pip install .` works anywhere) and
the resolvers they use. Importing this module registers the resolvers."""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

from bioner_pl.naming import aux_name, corpus_name, protocol_name, run_id, run_name, transformer_name

CONF_DIR = Path(__file__).resolve().parent / "conf"
# Where our corpora's split files are fetched from when missing (MTL-Bioinformatics-2016).
UPSTREAM_URL = "https://raw.githubusercontent.com/cambridgeltl/MTL-Bioinformatics-2016/master/data"


def group(name: str, option: str) -> dict:
    """One option of a config group as plain data, e.g. group("optimizer", "rmsprop")."""
    return OmegaConf.to_container(OmegaConf.load(CONF_DIR / name / f"{option}.yaml"))


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
