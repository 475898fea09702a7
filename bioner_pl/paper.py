"""The paper's numbers (Wang et al. 2019: Tables 1-7, paper_results.json) and which of them a run's
configuration has. Low in the house: the tables, training (the W&B summary) and a tagger's model
card all read them, and none of those has to import another."""

from __future__ import annotations

import functools
import json
from importlib import resources

MAINS = ["bc2gm", "exptm", "ncbi", "linnaeus"]
ADV_DEFAULT = (0.01, 0.001)  # the authors' ADV-MTM (alpha, beta): the ADV-MTM cell of Table 2
EMBEDDING = "glove50"  # the word vectors of Tables 2, 4, 5 and 6 here (Table 7 varies them)


@functools.cache
def numbers() -> dict:
    return json.loads(resources.files("bioner_pl").joinpath("paper_results.json").read_text())


def paired_aux(model: str, main: str) -> tuple:
    """The auxiliary datasets of the paper's model comparisons: none for STM, else the best partner."""
    return () if model == "stm" else (numbers()["best_partner"][main],)


def architecture(model: str, arch: dict) -> tuple[tuple[float, float] | None, str, str]:
    """(ADV-MTM's (alpha, beta) or None, the CRF: bigram | classic, the encoder) of a run's model.arch."""
    variant = (float(arch.get("alpha", ADV_DEFAULT[0])), float(arch.get("beta", ADV_DEFAULT[1]))) \
        if model == "adv" else None
    return variant, "bigram" if arch.get("bigram", True) else "classic", arch.get("encoder", "bilstm")


def f1(model, variant, crf, main, aux, embedding, fraction, encoder="bilstm", tables_embedding=EMBEDDING) -> float | None:
    """The paper's F1 for a cell, from whichever of its tables has that cell (none without the BiLSTM)."""
    paper = numbers()
    if crf != "bigram" or variant not in (None, ADV_DEFAULT) or main not in MAINS or encoder != "bilstm":
        return None
    paired = tuple(aux) == paired_aux(model, main)
    if embedding != tables_embedding:
        return paper["table7"].get(model, {}).get(embedding, {}).get(main) if fraction == 1 and paired else None
    if fraction != 1:
        return paper["table6"][main][str(fraction)].get(model, {}).get("f1") if paired else None
    if paired:
        return paper["table2"][main][model]["f1"]
    if model == "cs" and len(aux) == 1:
        return paper["table4"][main].get(aux[0], paper["table5"][main].get(aux[0]))
    return None


def run_f1(metrics: dict) -> float | None:
    """The paper's F1 for a run's cell (its metrics.json), where one of its tables has it."""
    variant, crf, encoder = architecture(metrics["model"], metrics.get("arch", {}))
    return f1(metrics["model"], variant, crf, metrics["main"], tuple(metrics["aux"]), metrics["embedding"],
              float(metrics["fraction"]), encoder)
