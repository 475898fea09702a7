"""What a tagger file may hold: the one schema a checkpoint's hyper-parameters (`best.ckpt`) and an
export's `config.json` are read against before anything is built from them.

A tagger file is data from a stranger. It names a registered architecture and embedding layer
(models.registry) and gives their options, the corpora and tag sets of its heads, and the
vocabularies; every field has a type and a range, an unknown key is refused, and nothing is
resolved (`${...}` stays text) or built by Hydra. Training settings a checkpoint also carries
(the optimizer and its schedule, the seed) are dropped unread: a loaded tagger tags, it does not
train. Sizes are checked before memory is spent: the file's bytes, the number of values in it
(shared references counted each time they expand), and, in tagging.checkpoint, the network the
file describes against the shapes of the weights it carries.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints, ValidationError, model_validator

from bioner_pl.errors import InputError
from bioner_pl.files import MiB
from bioner_pl.models.registry import ARCHITECTURES, EMBEDDINGS, PartOptions, one_line

WEIGHTS, CONFIG, CARD = "model.safetensors", "config.json", "README.md"  # an export folder's files
FORMAT, VERSION = "bioner-pl tagger", 2  # version 1 (before 2026-12) named parts by class path: still read
MAX_CONFIG_BYTES = 64 * MiB   # a 50,000-word vocabulary and a BERT tokenizer take a few MB
MAX_VALUES = 4_000_000        # values in the hyper-parameters, counted as a tree
# What a checkpoint carries for training only (earlier releases: lr, rms_alpha, lr_decay): never read.
TRAINING_KEYS = ("optimizer", "scheduler", "seed", "lr", "rms_alpha", "lr_decay")

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^/\\\x00-\x1f]+$")]
Tag = Annotated[str, StringConstraints(max_length=200, pattern=r"^(O|[BI]-[^\x00-\x1f]+)$")]
Token = Annotated[str, StringConstraints(max_length=1000)]


class Info(PartOptions):
    """What the run was, for the model card and the tables."""

    model: Annotated[str, StringConstraints(max_length=200)] | None = None
    embedding: Annotated[str, StringConstraints(max_length=200)] | None = None
    fraction: float | None = Field(None, gt=0, le=1)


class TaggerFile(PartOptions):
    """The network a tagger file describes (TaggerModule's arguments, less training's)."""

    arch: dict[str, Any]
    datasets: list[Name] = Field(min_length=1, max_length=64)
    tag_sets: list[Annotated[list[Tag], Field(min_length=1, max_length=10_000)]] = Field(min_length=1, max_length=64)
    words: list[Token] = Field(min_length=2, max_length=2_000_000)
    chars: list[Token] = Field(min_length=2, max_length=200_000)
    word_dim: int = Field(ge=0, le=4096)
    embedding: dict[str, Any] | None = None
    info: Info | None = None

    @model_validator(mode="after")
    def parts_are_ours(self):
        if len(self.tag_sets) != len(self.datasets):
            raise ValueError(f"{len(self.datasets)} datasets but {len(self.tag_sets)} tag sets")
        ARCHITECTURES.spec(self.arch, "arch", stored=True)  # an InputError passes through pydantic as it is
        EMBEDDINGS.spec(self.embedding if self.embedding is not None else {"kind": "word_char"}, "embedding", stored=True)
        return self


def tagger_file(hparams: object, where: object, what: str) -> TaggerFile:
    """The checked contents of a checkpoint's hyper-parameters or an export's config (`what` names
    which, for the message), already walked within MAX_VALUES by whoever read them (files.load_torch_file,
    tagging.checkpoint.read_export); anything else is one line naming `where`."""
    if not isinstance(hparams, dict):
        raise InputError(f"not a bioner-pl tagger: its {what} is not a mapping", where)
    try:
        return TaggerFile.model_validate({k: v for k, v in hparams.items() if k not in TRAINING_KEYS})
    except ValidationError as err:
        raise InputError(f"not a tagger of ours: {what} {one_line(err)}", where) from None
    except InputError as err:
        raise InputError(f"not a tagger of ours: {what} {err.problem}", where) from None
