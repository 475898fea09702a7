"""Which auxiliary corpus helps a main corpus? python -m bioner_pl.partners main=exptm [training options]
(python -m bioner_pl.partners --help; what it does: bioner_pl.experiments.partners)."""

import hydra
from omegaconf import DictConfig

from bioner_pl import config  # noqa: F401  (registers the resolvers the training config uses)
from bioner_pl.errors import exits_cleanly
from bioner_pl.experiments.partners import search


@hydra.main(config_path="conf", config_name="partners", version_base="1.3")
@exits_cleanly
def main(cfg: DictConfig) -> None:
    search(cfg)


if __name__ == "__main__":
    main()
