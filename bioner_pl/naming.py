"""What a run is called: its directory, and the key its scores are grouped under in the tables."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from omegaconf import ListConfig


def is_path(ref: str) -> bool:
    """A corpus given as a folder (`/data/mine`, `./mine`, `~/mine`), not a config name."""
    return "/" in ref or "\\" in ref or ref.startswith((".", "~"))


def corpus_name(ref) -> str:
    """The name a corpus goes by in run directories, tables and checkpoints: a config's name, or
    the folder's own name for `main=/data/mycorpus`."""
    ref = str(ref)
    return Path(ref.rstrip("/\\")).expanduser().resolve().name if is_path(ref) else ref


def aux_list(aux) -> list[str]:
    """`aux` as given on the command line: none, a name, or a list of names."""
    if aux is None or (isinstance(aux, str) and aux.lower() in ("none", "")):
        return []
    names = list(aux) if isinstance(aux, (list, tuple, ListConfig)) else [aux]
    return [str(n) for n in names if str(n).lower() != "none"]


def aux_name(aux) -> str:
    return "+".join(corpus_name(a) for a in aux_list(aux)) or "none"


# The config keys that make up the training protocol: protocol_name's parameters, recorded in
# metrics.json and read back by the tables.
PROTOCOL_SWITCHES = ("schedule", "batching", "train_on_dev")


def protocol_name(schedule="turns", batching="shuffled", train_on_dev=False) -> str:
    """The training-protocol switches set away from their defaults, the protocol of our
    reproduction ('' when none is), so that such runs get their own directory and table cells."""
    switches = [f"{schedule}-schedule" if schedule != "turns" else "",
                batching if batching != "shuffled" else "", "train+dev" if train_on_dev else ""]
    return "+".join(s for s in switches if s)


def transformer_name(model: str, finetune=False, pooling="first", layers="last") -> str:
    """A transformer embedding's name in run directories: the model's last path part (a hub name's
    or a directory's), then -ft when fine-tuned and the pooling / layers where not the defaults."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(str(model).rstrip("/")).name) or "transformer"
    return name + "-ft" * bool(finetune) + "-mean" * (pooling == "mean") + "-mix" * (layers == "mix")


def fine_tuned(embedding: str) -> bool:
    """Whether an embedding name (transformer_name's) is a fine-tuned transformer's."""
    return re.search(r"-ft(-|$)", embedding) is not None


def run_name(model, main, aux, embedding, fraction, seed, protocol="") -> str:
    """One deterministic directory per configuration: rerunning it with resume=true continues it."""
    protocol_dir = f"{protocol}/" if protocol else ""
    return f"{model}/{corpus_name(main)}__{aux_name(aux)}/{embedding}/frac{float(fraction):g}/{protocol_dir}seed{seed}"


def run_id(run_dir: str) -> str:
    """The W&B id of the run directory: a requeued or resumed job continues its own W&B run,
    and the same configuration in another output root (smoke mode, a fresh search) gets its own."""
    return hashlib.sha1(str(Path(run_dir).resolve()).encode()).hexdigest()[:16]
