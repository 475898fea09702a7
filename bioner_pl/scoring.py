"""How a tagging is scored: entity-level exact match, micro-averaged, as conlleval computes it."""

from __future__ import annotations

from seqeval.metrics import f1_score, precision_score, recall_score


def entity_scores(gold: list[list[str]], pred: list[list[str]]) -> dict[str, float]:
    """Entity-level exact-match micro P/R/F1 (seqeval's default mode = conlleval)."""
    return {"precision": precision_score(gold, pred, zero_division=0),
            "recall": recall_score(gold, pred, zero_division=0),
            "f1": f1_score(gold, pred, zero_division=0)}


# nervaluate's four views (SemEval-2013 9.1): strict = boundary and type (our headline, as above),
# exact = boundary whatever the type, partial = overlap counted half, ent_type = type on any overlap
MATCH_VIEWS = {"strict": "strict (boundary and type)", "exact": "exact boundary, any type",
               "partial": "partial overlap (counted half)", "ent_type": "type, on any overlap"}


def match_views(gold: list[list[str]], pred: list[list[str]]) -> dict[str, dict[str, float]]:
    """P/R/F1 under nervaluate's partial-match views, as HunFlair and others report them; exact
    match (entity_scores) stays the headline."""
    from nervaluate import Evaluator

    types = sorted({t[2:] for tags in (*gold, *pred) for t in tags if t != "O"})
    overall = Evaluator(gold, pred, tags=types, loader="list").evaluate()["overall"] if types else {}
    return {view: {"precision": overall[view].precision, "recall": overall[view].recall, "f1": overall[view].f1}
            if view in overall else {"precision": 0.0, "recall": 0.0, "f1": 0.0} for view in MATCH_VIEWS}
