"""How a tagging is scored: entity-level exact match, micro-averaged, as conlleval computes it."""

from __future__ import annotations

from seqeval.metrics import f1_score, precision_score, recall_score


def entity_scores(gold: list[list[str]], pred: list[list[str]]) -> dict[str, float]:
    """Entity-level exact-match micro P/R/F1 (seqeval's default mode = conlleval)."""
    return {"precision": precision_score(gold, pred, zero_division=0),
            "recall": recall_score(gold, pred, zero_division=0),
            "f1": f1_score(gold, pred, zero_division=0)}
