"""A trained tagger as a folder to share: the weights as `model.safetensors`, everything else the
network is built from as `config.json` (architecture, vocabularies, tag sets per head, corpus
names, a transformer's tokenizer and model config), and a model card, `README.md`. It is the
layout model hubs host, and loading it unpickles nothing (tagging.checkpoint.load_module)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import torch
import yaml

from bioner_pl.errors import InputError
from bioner_pl.models.module import TaggerModule

WEIGHTS, CONFIG, CARD = "model.safetensors", "config.json", "README.md"
FORMAT = "bioner-pl tagger"
# What of a checkpoint's hyperparameters the network is built from (the rest is training's).
NETWORK_KEYS = ("arch", "datasets", "tag_sets", "words", "chars", "word_dim", "embedding", "info")


def export(module: TaggerModule, out: Path, run_dir: Path | None = None) -> Path:
    """Write `module` to the folder `out`; `run_dir` (its training run, where known) adds the
    command, scores and the paper's figure to the model card."""
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    hparams = {key: module.hparams.get(key) for key in NETWORK_KEYS}
    (out / CONFIG).write_text(json.dumps({"format": FORMAT, "version": 1, **hparams}, indent=1) + "\n", encoding="utf-8")
    weights = {name: tensor.detach().cpu().contiguous() for name, tensor in module.net.state_dict().items()}
    save_file(weights, str(out / WEIGHTS), metadata={"format": FORMAT})
    (out / CARD).write_text(model_card(hparams, run_dir), encoding="utf-8")
    return out


def load_export(folder: Path) -> TaggerModule:
    """The module an export folder holds: built from its JSON config, weights from safetensors."""
    from safetensors.torch import load_file

    try:
        config = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise InputError(f"not a bioner-pl export: cannot read {CONFIG} ({err})", folder) from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise InputError(f"not a bioner-pl export: {CONFIG} does not say format: {FORMAT!r}", folder)
    from bioner_pl.tagging.checkpoint import check_targets  # the same allow-list as checkpoints

    check_targets(config, folder / CONFIG)
    module = TaggerModule(**{key: config.get(key) for key in NETWORK_KEYS})
    try:
        module.net.load_state_dict(load_file(str(folder / WEIGHTS)))
    except (OSError, RuntimeError) as err:
        raise InputError(f"cannot load the weights ({str(err).splitlines()[0]})", folder / WEIGHTS) from None
    return module.eval()


def model_card(hparams: dict, run_dir: Path | None) -> str:
    """README.md: front matter a model hub reads, then what the tagger is, how it was trained and
    how well it does, where the run directory tells."""
    info = hparams.get("info") or {}
    datasets, tags = list(hparams["datasets"]), [list(t) for t in hparams["tag_sets"]]
    types = sorted({t[2:] for t in tags[0] if t != "O"})
    metrics = json.loads((run_dir / "metrics.json").read_text()) if run_dir and (run_dir / "metrics.json").exists() else None
    overrides = run_dir / ".hydra" / "overrides.yaml" if run_dir else None
    command = ("python -m bioner_pl.train " + " ".join(shlex.quote(o) for o in yaml.safe_load(overrides.read_text()))
               if overrides and overrides.exists() else None)
    front = {"library_name": "bioner-pl", "pipeline_tag": "token-classification", "language": ["en"],
             "tags": ["biomedical", "named-entity-recognition", "bioner-pl"], "datasets": datasets}
    lines = ["---", yaml.safe_dump(front, sort_keys=False).strip(), "---", "",
             f"# {info.get('model', 'tagger')} tagger for {', '.join(types) or 'entities'} ({datasets[0]})", "",
             f"A bioner-pl tagger (multi-task BioNER after Wang et al. 2019): architecture "
             f"`{hparams['arch'].get('_target_', '?').rsplit('.', 1)[-1]}`, embedding `{info.get('embedding', '?')}`, "
             f"trained on {datasets[0]}" + (f" with {', '.join(datasets[1:])} as auxiliary corpora" if datasets[1:] else "")
             + ". One CRF head per corpus:", ""]
    lines += [f"- `{name}`: {', '.join(sorted({t[2:] for t in ts if t != 'O'}))}" for name, ts in zip(datasets, tags)]
    lines += ["", "## Use", "", "    pip install " + ("'bioner-pl[transformers]'" if hparams.get("embedding") else "bioner-pl"), "",
              "    from bioner_pl import Tagger", "    tagger = Tagger.load('THIS_FOLDER')",
              "    tagger.predict(['Germline APC mutations cause colon cancer.'])[0].entities", "",
              "or `python -m bioner_pl.predict ckpt=THIS_FOLDER input=abstracts.txt`. Loading reads",
              "`config.json` and `model.safetensors`: no pickle, nothing in the folder runs.", ""]
    if command:
        lines += ["## Training", "", f"    {command}", ""]
    if metrics:
        from bioner_pl.experiments.tables import paper_f1

        scores = [f"| {split} | {metrics[split]['precision']:.2%} | {metrics[split]['recall']:.2%} | {metrics[split]['f1']:.2%} |"
                  for split in ("dev", "test") if metrics.get(split)]
        lines += ["## Scores", "", f"Exact-match entity scores on {datasets[0]} at the best dev epoch "
                  f"({metrics['best_epoch']} of {metrics['epochs']}):", "",
                  "| split | precision | recall | F1 |", "|---|---|---|---|", *scores, ""]
        paper = paper_f1(metrics)
        if paper is not None:
            lines += [f"The paper (Wang et al. 2019) reports {paper:.2f} F1 for this configuration.", ""]
    return "\n".join(lines)
