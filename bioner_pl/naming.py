"""What a run is called: its directory, and the key its scores are grouped under in the tables."""

from __future__ import annotations

from omegaconf import ListConfig


def aux_list(aux) -> list[str]:
    """`aux` as given on the command line: none, a name, or a list of names."""
    if aux is None or (isinstance(aux, str) and aux.lower() in ("none", "")):
        return []
    names = list(aux) if isinstance(aux, (list, tuple, ListConfig)) else [aux]
    return [str(n) for n in names if str(n).lower() != "none"]


def aux_name(aux) -> str:
    return "+".join(aux_list(aux)) or "none"


# The config keys that make up the training protocol: protocol_name's parameters, recorded in
# metrics.json and read back by the tables.
PROTOCOL_SWITCHES = ("schedule", "batching", "train_on_dev")


def protocol_name(schedule="turns", batching="shuffled", train_on_dev=False) -> str:
    """The training-protocol switches set away from their defaults, the protocol of our
    reproduction ('' when none is), so that such runs get their own directory and table cells."""
    switches = [f"{schedule}-schedule" if schedule != "turns" else "",
                batching if batching != "shuffled" else "", "train+dev" if train_on_dev else ""]
    return "+".join(s for s in switches if s)


def run_name(model, main, aux, embedding, fraction, seed, protocol="") -> str:
    """One deterministic directory per configuration: rerunning it with resume=true continues it."""
    protocol_dir = f"{protocol}/" if protocol else ""
    return f"{model}/{main}__{aux_name(aux)}/{embedding}/frac{float(fraction):g}/{protocol_dir}seed{seed}"
