"""The paper's Table 8 for every sentence: python -m bioner_pl.casestudy runs=[RUN_A,RUN_B]
(python -m bioner_pl.casestudy --help; what it does: bioner_pl.experiments.casestudy)."""

import hydra
from omegaconf import DictConfig

from bioner_pl.errors import exits_cleanly
from bioner_pl.experiments.casestudy import run


@hydra.main(config_path="conf", config_name="casestudy", version_base="1.3")
@exits_cleanly
def main(cfg: DictConfig) -> None:
    run(cfg)


if __name__ == "__main__":
    main()
