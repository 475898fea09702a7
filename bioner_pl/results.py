"""Finished runs into the repository: python -m bioner_pl.results [runs=outputs/runs] [out=results/runs]
(python -m bioner_pl.results --help; what it does: bioner_pl.experiments.results)."""

import hydra
from omegaconf import DictConfig

from bioner_pl.errors import exits_cleanly
from bioner_pl.experiments.results import run


@hydra.main(config_path="conf", config_name="results", version_base="1.3")
@exits_cleanly
def main(cfg: DictConfig) -> None:
    run(cfg)


if __name__ == "__main__":
    main()
