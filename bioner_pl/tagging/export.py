"""A trained tagger as a folder to share: the weights as `model.safetensors`, everything else the
network is built from as `config.json` (architecture, vocabularies, tag sets per head, corpus
names, a transformer's tokenizer and model config), and a model card, `README.md`. It is the
layout model hubs host, and loading it unpickles nothing (tagging.checkpoint.load_net). What
config.json may hold is tagging.tagger_file's schema; only the checked network description of a
loaded tagger is written, so nothing a crafted checkpoint smuggled in travels on."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import yaml

from bioner_pl.errors import InputError
from bioner_pl.files import MiB, read_json, regular_file
from bioner_pl.paper import run_f1
from bioner_pl.tagging.checkpoint import TaggerNet
from bioner_pl.tagging.tagger_file import CARD, CONFIG, FORMAT, VERSION, WEIGHTS


def export(model: TaggerNet, out: Path, run_dir: Path | None = None) -> Path:
    """Write `model` to the folder `out`; `run_dir` (its training run, where known) adds the
    command, scores and the paper's figure to the model card."""
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    hparams = model.spec.model_dump()
    (out / CONFIG).write_text(json.dumps({"format": FORMAT, "version": VERSION, **hparams}, indent=1) + "\n", encoding="utf-8")
    weights = {name: tensor.detach().cpu().contiguous() for name, tensor in model.net.state_dict().items()}
    save_file(weights, str(out / WEIGHTS), metadata={"format": FORMAT})
    (out / CARD).write_text(model_card(hparams, run_dir), encoding="utf-8")
    return out


def model_card(hparams: dict, run_dir: Path | None) -> str:
    """README.md: front matter a model hub reads, then what the tagger is, how it was trained and
    how well it does, where the run directory tells."""
    info = hparams.get("info") or {}
    datasets, tags = list(hparams["datasets"]), [list(t) for t in hparams["tag_sets"]]
    types = sorted({t[2:] for t in tags[0] if t != "O"})
    metrics, command = run_record(run_dir) if run_dir else (None, None)
    front = {"library_name": "bioner-pl", "pipeline_tag": "token-classification", "language": ["en"],
             "tags": ["biomedical", "named-entity-recognition", "bioner-pl"], "datasets": datasets}
    lines = ["---", yaml.safe_dump(front, sort_keys=False).strip(), "---", "",
             f"# {info.get('model', 'tagger')} tagger for {', '.join(types) or 'entities'} ({datasets[0]})", "",
             f"A bioner-pl tagger (multi-task BioNER after Wang et al. 2019): architecture "
             f"`{hparams['arch']['name']}`, embedding `{info.get('embedding', '?')}`, "
             f"trained on {datasets[0]}" + (f" with {', '.join(datasets[1:])} as auxiliary corpora" if datasets[1:] else "")
             + ". One CRF head per corpus:", ""]
    lines += [f"- `{name}`: {', '.join(sorted({t[2:] for t in ts if t != 'O'}))}" for name, ts in zip(datasets, tags)]
    lines += ["", "## Use", "", "    pip install " + ("bioner-pl" if hparams["embedding"]["kind"] == "word_char" else "'bioner-pl[transformers]'"), "",
              "    from bioner_pl import Tagger", "    tagger = Tagger.load('THIS_FOLDER')",
              "    tagger.predict(['Germline APC mutations cause colon cancer.'])[0].entities", "",
              "or `python -m bioner_pl.predict ckpt=THIS_FOLDER input=abstracts.txt`. Loading reads",
              "`config.json` and `model.safetensors`: no pickle, nothing in the folder runs.", ""]
    if command:
        lines += ["## Training", "", f"    {command}", ""]
    if metrics:
        scores = [f"| {split} | {s['precision']:.2%} | {s['recall']:.2%} | {s['f1']:.2%} |" for split, s in metrics["scores"].items()]
        lines += ["## Scores", "", f"Exact-match entity scores on {datasets[0]} at the best dev epoch "
                  f"({metrics['best_epoch']} of {metrics['epochs']}):", "",
                  "| split | precision | recall | F1 |", "|---|---|---|---|", *scores, ""]
        paper = metrics["paper"]
        if paper is not None:
            lines += [f"The paper (Wang et al. 2019) reports {paper:.2f} F1 for this configuration.", ""]
    return "\n".join(lines)


def run_record(run_dir: Path) -> tuple[dict | None, str | None]:
    """(metrics, training command) of the run directory a checkpoint sits in, where they read as
    ours; a run directory is data too, and what does not read is left off the card."""
    metrics = command = None
    try:
        found = read_json(run_dir / "metrics.json", MiB, "metrics.json")
        metrics = {"scores": {split: {k: float(found[split][k]) for k in ("precision", "recall", "f1")}
                              for split in ("dev", "test") if found.get(split)},
                   "best_epoch": int(found["best_epoch"]), "epochs": int(found["epochs"]), "paper": run_f1(found)}
    except (InputError, AttributeError, KeyError, TypeError, ValueError):
        pass
    overrides = run_dir / ".hydra" / "overrides.yaml"
    try:
        regular_file(overrides, MiB)
        listed = yaml.safe_load(overrides.read_text(encoding="utf-8"))
        if isinstance(listed, list) and all(isinstance(o, str) for o in listed):
            command = "python -m bioner_pl.train " + " ".join(shlex.quote(o) for o in listed)
    except (InputError, yaml.YAMLError, UnicodeDecodeError):
        pass
    return metrics, command
