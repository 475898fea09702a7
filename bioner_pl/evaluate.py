"""Score a checkpoint on a dataset split: python -m bioner_pl.evaluate ckpt=PATH dataset=ncbi split=test
(python -m bioner_pl.evaluate --help)."""

from __future__ import annotations

import json
from pathlib import Path

import hydra
from omegaconf import DictConfig
from seqeval.metrics import classification_report

from bioner_pl import data as ds
from bioner_pl.formats.conll import write_predictions
from bioner_pl.errors import InputError, exits_cleanly
from bioner_pl.scoring import MATCH_VIEWS, entity_scores, match_views
from bioner_pl.tagging.checkpoint import head_index, load_net
from bioner_pl.tagging.tagger import Tagger


def evaluate(cfg: DictConfig) -> dict:
    if cfg.split not in ds.SPLITS:
        raise InputError(f"unknown split {cfg.split!r}; use one of {', '.join(ds.SPLITS)}")
    model = load_net(cfg.ckpt)
    corpus = ds.resolve(cfg.dataset)
    sentences = ds.load_split(corpus, cfg.split, Path(cfg.data.dir), cfg.data.base_url)
    datasets = list(model.spec.datasets)
    head = head_index(model, cfg.head if cfg.head is not None else (corpus.name if corpus.name in datasets else 0))
    tagger = Tagger(model, head, device=cfg.device, batch_size=cfg.batch_size, confidences=False)
    pred = [tags for tags, _ in tagger.tag_sentences([list(s.tokens) for s in sentences])]
    gold = [list(s.tags) for s in sentences]
    scores = entity_scores(gold, pred)
    print(f"{corpus.name} {cfg.split} with head {datasets[head]}: precision {scores['precision']:.4f} "
          f"recall {scores['recall']:.4f} F1 {scores['f1']:.4f}")
    print(classification_report(gold, pred, digits=4, zero_division=0))
    views = match_views(gold, pred)  # a second view; exact match above stays the headline
    print("partial-match views (nervaluate):")
    for view, name in MATCH_VIEWS.items():
        print(f"  {name:32s} precision {views[view]['precision']:.4f} recall {views[view]['recall']:.4f} "
              f"F1 {views[view]['f1']:.4f}")
    # by default in the run directory of a checkpoint in its checkpoints/ folder, else beside the
    # checkpoint file or export folder
    ckpt = Path(cfg.ckpt).resolve()
    where = ckpt.parent.parent if ckpt.is_file() and ckpt.parent.name == "checkpoints" else ckpt.parent
    output = Path(cfg.output) if cfg.output else where / f"{corpus.name}_{cfg.split}_predictions.tsv"
    write_predictions(output, sentences, dict(enumerate(pred)))
    output.with_suffix(".json").write_text(json.dumps({"dataset": corpus.name, "split": cfg.split,
                                                       "head": datasets[head], **scores, "match_views": views},
                                                      indent=2) + "\n")
    return scores


@hydra.main(config_path="conf", config_name="evaluate", version_base="1.3")
@exits_cleanly
def main(cfg: DictConfig) -> None:
    evaluate(cfg)


if __name__ == "__main__":
    main()
