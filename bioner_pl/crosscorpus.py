"""Score trained taggers off their own test set: python -m bioner_pl.crosscorpus [runs=outputs/runs | ckpt=PATH]
(python -m bioner_pl.crosscorpus --help; what it does: bioner_pl.experiments.crosscorpus)."""

import hydra
from omegaconf import DictConfig

from bioner_pl.errors import exits_cleanly
from bioner_pl.experiments.crosscorpus import run


@hydra.main(config_path="conf", config_name="crosscorpus", version_base="1.3")
@exits_cleanly
def main(cfg: DictConfig) -> None:
    print(f"{len(run(cfg))} runs scored across corpora")


if __name__ == "__main__":
    main()
