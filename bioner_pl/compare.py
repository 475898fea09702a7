"""Can the test set tell runs apart? python -m bioner_pl.compare runs=[RUN,RUN]
(python -m bioner_pl.compare --help; what it does: bioner_pl.experiments.compare)."""

import hydra
from omegaconf import DictConfig

from bioner_pl.errors import exits_cleanly
from bioner_pl.experiments.compare import run


@hydra.main(config_path="conf", config_name="compare", version_base="1.3")
@exits_cleanly
def main(cfg: DictConfig) -> None:
    run(cfg)


if __name__ == "__main__":
    main()
