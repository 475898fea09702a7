"""Benchmark this machine: python -m bioner_pl.bench [repeats=20] [out=bench.json] [skip=[SECTION,...]]
(python -m bioner_pl.bench --help; what it does: bioner_pl.experiments.bench)."""

import hydra
from omegaconf import DictConfig

from bioner_pl.errors import exits_cleanly


@hydra.main(config_path="conf", config_name="bench", version_base="1.3")
@exits_cleanly
def main(cfg: DictConfig) -> None:
    from bioner_pl.experiments.bench import run  # here: Lightning's seconds of import are not --help's

    run(cfg)


if __name__ == "__main__":
    main()
