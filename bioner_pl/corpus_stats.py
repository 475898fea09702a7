"""What a corpus holds: python -m bioner_pl.corpus_stats [corpora=[NAME|FOLDER,...]]
(python -m bioner_pl.corpus_stats --help; what it does: bioner_pl.experiments.corpus_stats)."""

import hydra
from omegaconf import DictConfig

from bioner_pl.errors import exits_cleanly
from bioner_pl.experiments.corpus_stats import run


@hydra.main(config_path="conf", config_name="corpus_stats", version_base="1.3")
@exits_cleanly
def main(cfg: DictConfig) -> None:
    run(cfg)


if __name__ == "__main__":
    main()
