"""Tag a collection with a trained checkpoint: python -m bioner_pl.predict ckpt=best.ckpt input=FILE|GLOB
[output=FILE] [format=jsonl|pubtator|bioc_xml|bioc_json|conll|brat] [shard=I num_shards=N] [merge=true] [on_error=skip]
(python -m bioner_pl.predict --help). The work is bioner_pl.tagging.collection.tag_collection."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig, OmegaConf

from bioner_pl import cluster
from bioner_pl.errors import exits_cleanly
from bioner_pl.tagging.collection import tag_collection


@hydra.main(config_path="conf", config_name="predict", version_base="1.3")
@exits_cleanly
def main(cfg: DictConfig) -> None:
    cluster.watch_for_termination()
    tag_collection(**OmegaConf.to_container(cfg))


if __name__ == "__main__":
    main()
