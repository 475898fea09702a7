"""The paper's tables with our numbers beside them: python -m bioner_pl.tables [roots=[DIR,...]] [out=DIR]
(python -m bioner_pl.tables --help; what it does: bioner_pl.experiments.tables)."""

import hydra
from omegaconf import DictConfig

from bioner_pl.errors import exits_cleanly
from bioner_pl.experiments.tables import run


@hydra.main(config_path="conf", config_name="tables", version_base="1.3")
@exits_cleanly
def main(cfg: DictConfig) -> None:
    run(cfg)


if __name__ == "__main__":
    main()
