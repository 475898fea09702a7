"""Loading a trained checkpoint for tagging, and choosing its head (the tagging itself: tagger.Tagger)."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch

from bioner_pl.errors import InputError, refused_pickle
from bioner_pl.models import ARCHITECTURES
from bioner_pl.models.module import TaggerModule

# The architectures a checkpoint may name: ours, under every path a release of ours has written.
KNOWN_TARGETS = {f"{module}.{cls.__name__}" for cls in ARCHITECTURES.values()
                 for module in ("bioner_pl.models", "bioner_pl.models.architectures")}
# The embedding layers it may name besides the default word vectors + char-CNN.
KNOWN_EMBEDDINGS = {"bioner_pl.models.transformer.TransformerWords"}
# Training settings that checkpoints written before the optimizer became a config group carry
# (RMSprop's lr and alpha, the lr decay): tagging needs none of them.
OLD_TRAINING_KEYS = ("lr", "rms_alpha", "lr_decay")


def check_targets(hparams: dict, path: Path) -> None:
    """Refuse a checkpoint or export whose architecture or embedding layer is not one of ours."""
    target = (hparams.get("arch") or {}).get("_target_")
    if target not in KNOWN_TARGETS:
        raise InputError(f"the checkpoint asks for architecture {target!r}, which is not one of ours", path)
    embedding = (hparams.get("embedding") or {}).get("_target_")
    if hparams.get("embedding") is not None and embedding not in KNOWN_EMBEDDINGS:
        raise InputError(f"the checkpoint asks for embedding layer {embedding!r}, which is not one of ours", path)


def load_module(path: str | Path) -> TaggerModule:
    """A bioner-pl checkpoint or export folder (tagging.export), on the CPU, in eval mode; anything
    else is a clear error. Nothing in the file runs: a checkpoint is read with torch's weights-only
    unpickler, an export with no pickle at all, and the architecture must be one of ours."""
    path = Path(path)
    if path.is_dir():
        from bioner_pl.tagging.export import load_export

        return load_export(path)
    if not path.is_file():
        raise InputError("checkpoint not found", path)
    try:  # torch's weights-only unpickler: tensors and plain data only, so nothing in the file can run
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise refused_pickle(err, path) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, AttributeError) as err:
        raise InputError(f"not a PyTorch checkpoint ({type(err).__name__}: {err})", path) from None
    hparams = dict(raw.get("hyper_parameters", {})) if isinstance(raw, dict) else {}
    if not {"arch", "tag_sets", "words", "chars"} <= set(hparams) or "state_dict" not in raw:
        raise InputError("not a bioner-pl checkpoint (no vocabularies / tag sets in it)", path)
    check_targets(hparams, path)
    for key in OLD_TRAINING_KEYS:
        hparams.pop(key, None)
    module = TaggerModule(**hparams)
    module.load_state_dict(raw["state_dict"])
    return module.eval()


def head_index(module: TaggerModule, head: str | int | None) -> int:
    """The CRF head to tag with: the main dataset's by default, else by dataset name or index."""
    names = list(module.hparams.datasets)
    if head is None or head == "":
        return 0
    if str(head) in names:
        return names.index(str(head))
    if str(head).isdigit() and int(head) < len(names):
        return int(head)
    raise InputError(f"unknown head {head!r}; this checkpoint has heads for {', '.join(names)}")
