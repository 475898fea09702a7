"""The networks: building blocks, the CRF, the five architectures wired from them, and the
LightningModule that trains them. No Hydra, no files: data comes in as tensors."""

from bioner_pl.models.architectures import (  # noqa: F401  (checkpoints name them bioner_pl.models.<Class>)
    Adversarial, CrossSharing, FullyShared, Network, SharedPrivate, SingleTask,
)

# The model config names (conf/model/<name>.yaml) and their classes.
ARCHITECTURES = {"stm": SingleTask, "fs": FullyShared, "sp": SharedPrivate, "adv": Adversarial, "cs": CrossSharing}
