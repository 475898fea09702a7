"""The networks: building blocks, the CRF, the five architectures wired from them, the embedding
layers, and the LightningModule that trains them. No files: data comes in as tensors, and a
network is built from registered parts by name (models.registry), never from a class path."""

from bioner_pl.models import transformer  # noqa: F401  (registers the transformer embedding layer)
from bioner_pl.models.architectures import (  # noqa: F401  (checkpoints name them bioner_pl.models.<Class>)
    Adversarial, CrossSharing, FullyShared, Network, SharedPrivate, SingleTask,
)
from bioner_pl.models.registry import ARCHITECTURES, EMBEDDINGS  # noqa: F401  (conf/model/<name>.yaml: arch.name)
