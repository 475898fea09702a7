"""Loading a trained tagger for tagging (a checkpoint or an export folder), and choosing its head
(the tagging itself: tagger.Tagger).

A file is data: nothing in it runs, and nothing is built that the file's own weights do not fill.
A checkpoint is read with torch's weights-only unpickler (tensors and plain data only), memory-
mapped, after checking that its zip holds no compressed entry that could inflate; an export with
no pickle at all. Its description of the network is checked against tagging.tagger_file's schema,
the network is first built on the meta device (no memory) and its shapes compared with the
weights', and only then built for real and filled."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from bioner_pl.errors import InputError, first_line
from bioner_pl.files import check_budget, inside, load_torch_file, read_json, regular_file
from bioner_pl.models.architectures import Network, network
from bioner_pl.tagging.tagger_file import (CONFIG, FORMAT, MAX_CONFIG_BYTES, MAX_VALUES, VERSION, WEIGHTS, TaggerFile,
                                          tagger_file)


@dataclass
class TaggerNet:
    """A tagger's network and the checked description it is built from (the corpora and tag sets of
    its heads, the vocabularies): what tagging, evaluation and export use. Not training's
    LightningModule (models.module): tagging trains nothing, and Lightning alone takes seconds to
    import, which every `predict`, and every file refused, would pay."""

    net: Network
    spec: TaggerFile

    @classmethod
    def build(cls, spec: TaggerFile) -> TaggerNet:
        """The network spec describes, with fresh weights; the spec completed as training stores it."""
        net, arch, embedding = network(spec.arch, len(spec.words), spec.word_dim, len(spec.chars),
                                       [len(t) for t in spec.tag_sets], spec.embedding)
        return cls(net, spec.model_copy(update={"arch": arch, "embedding": embedding}))


def load_net(path: str | Path) -> TaggerNet:
    """A bioner-pl checkpoint or export folder (tagging.export), on the CPU, in eval mode; anything
    else is a one-line InputError naming the file."""
    path = Path(path)
    spec, weights = read_export(path) if path.is_dir() else read_checkpoint(path)
    return filled(spec, weights, path)


def read_checkpoint(path: Path) -> tuple[TaggerFile, dict[str, torch.Tensor]]:
    raw = load_torch_file(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("hyper_parameters"), dict) or "state_dict" not in raw:
        raise InputError("not a bioner-pl checkpoint (no vocabularies / tag sets in it)", path)
    spec = tagger_file(raw["hyper_parameters"], path, "hyper-parameters")
    state = raw["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(k, str) and k.startswith("net.") for k in state):
        raise InputError("not a bioner-pl checkpoint: its state_dict is not our network's", path)
    return spec, {key.removeprefix("net."): value for key, value in state.items()}


def read_export(folder: Path) -> tuple[TaggerFile, dict[str, torch.Tensor]]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    config = read_json(inside(folder, CONFIG), MAX_CONFIG_BYTES, CONFIG) if (folder / CONFIG).exists() else None
    check_budget(config, folder / CONFIG, MAX_VALUES)  # a checkpoint's is walked as it is loaded (load_torch_file)
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise InputError(f"not a bioner-pl export: {CONFIG} is missing or does not say format: {FORMAT!r}", folder)
    if config.get("version") not in range(1, VERSION + 1):
        raise InputError(f"{CONFIG} is version {str(config.get('version'))[:20]}; this bioner-pl reads 1 to {VERSION} "
                         "(a newer bioner-pl wrote it?)", folder)
    spec = tagger_file({k: v for k, v in config.items() if k not in ("format", "version")}, folder / CONFIG, CONFIG)
    weights = inside(folder, WEIGHTS)
    regular_file(weights, what=WEIGHTS)
    try:  # safetensors: a header and raw tensors, checked by the library to lie within the file
        return spec, load_file(str(weights), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise InputError(f"cannot read the weights ({first_line(err)})", weights) from None


def filled(spec: TaggerFile, weights: dict[str, torch.Tensor], path: Path) -> TaggerNet:
    """The network `spec` describes, filled with `weights`; refused where they do not fit, so that a
    few bytes of config cannot make us allocate a network the weights do not pay for."""
    with torch.device("meta"):  # shapes only: no memory, whatever sizes the file asks for
        expected = TaggerNet.build(spec).net.state_dict()
    if weights.keys() != expected.keys():
        odd = sorted(weights.keys() - expected.keys()) or sorted(expected.keys() - weights.keys())
        raise InputError(f"the weights do not fit the network it describes (first difference: {odd[0][:100]!r})", path)
    for name, tensor in weights.items():
        if not isinstance(tensor, torch.Tensor) or tensor.shape != expected[name].shape:
            raise InputError(f"weights {name!r} have shape {tuple(getattr(tensor, 'shape', ()))}, where the network it "
                             f"describes needs {tuple(expected[name].shape)}", path)
        if tensor.is_floating_point() != expected[name].is_floating_point():
            raise InputError(f"weights {name!r} are {tensor.dtype}, where the network needs {expected[name].dtype}", path)
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise InputError(f"weights {name!r} hold NaN or infinite values; refused", path)
    model = TaggerNet.build(spec)
    model.net.load_state_dict(weights)
    model.net.eval()
    return model


def head_index(model: TaggerNet, head: str | int | None) -> int:
    """The CRF head to tag with: the main dataset's by default, else by dataset name or index."""
    names = list(model.spec.datasets)
    if head is None or head == "":
        return 0
    if str(head) in names:
        return names.index(str(head))
    if str(head).isdigit() and int(head) < len(names):
        return int(head)
    raise InputError(f"unknown head {head!r}; this checkpoint has heads for {', '.join(names)}")
