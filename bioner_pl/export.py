"""Share a trained tagger: python -m bioner_pl.export ckpt=best.ckpt out=DIR writes model.safetensors,
config.json and a model card (README.md) into DIR; Tagger.load(DIR) and predict ckpt=DIR take it
(python -m bioner_pl.export --help). The work is bioner_pl.tagging.export."""

from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig

from bioner_pl.errors import exits_cleanly
from bioner_pl.tagging.checkpoint import load_net
from bioner_pl.tagging.export import export


@hydra.main(config_path="conf", config_name="export", version_base="1.3")
@exits_cleanly
def main(cfg: DictConfig) -> None:
    ckpt = Path(cfg.ckpt)
    # a checkpoint inside its run directory (<run>/checkpoints/best.ckpt): the card gets its command and scores
    run_dir = ckpt.parent.parent if ckpt.parent.name == "checkpoints" else None
    out = export(load_net(ckpt), Path(cfg.out), run_dir)
    print(f"{ckpt} -> {out}/ (model.safetensors, config.json, README.md)")


if __name__ == "__main__":
    main()
