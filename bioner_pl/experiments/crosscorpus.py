"""Cross-corpus evaluation: python -m bioner_pl.crosscorpus [runs=outputs/runs | ckpt=PATH] [into=results/runs]

Every score a run reports is in-corpus: its main corpus's own test split, same annotators and
guidelines. Here a run's main head tags the test split of every other corpus that annotates the
same entity type (`entity_types` in conf/crosscorpus.yaml); both sides' types are renamed to the
shared one and every other type is set to O, then scored as in-corpus runs are (exact match, and
nervaluate's partial-match views). A corpus the model trained on, or one cut from the same
release (`same_source`), is seen: marked, never scored as cross-corpus. The main corpus is scored
through the same path, so each checkpoint is paired with its own in-corpus score.

Each run gets crosscorpus.json and crosscorpus/<corpus>_<split>.tsv.gz (token, gold, prediction:
`python -m bioner_pl.compare` reads them for paired-bootstrap intervals). A rerun scores only
the corpora a run is missing, all of them again if its checkpoint changed. `make tables` adds the
cross-corpus table (`table`, `figure`) from every crosscorpus.json under its roots.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Literal

from omegaconf import DictConfig, OmegaConf
from pydantic import BaseModel, ConfigDict, ValidationError

from bioner_pl.errors import InputError, first_line
from bioner_pl.files import open_own, read_json
from bioner_pl.naming import protocol_name
from bioner_pl.scoring import MATCH_VIEWS, entity_scores, match_views

RESULT = "crosscorpus.json"
PREDICTIONS = "crosscorpus"  # the folder of a run's cross-corpus predictions
MAX_RESULT_BYTES = 4 * 2**20


class Correspondence:
    """Which corpora annotate which entity type, under which names, and which share their texts."""

    def __init__(self, entity_types: dict[str, dict[str, str]], same_source: list[list[str]] = ()):
        self.entity_types = {group: dict(names) for group, names in entity_types.items()}
        self.same_source = [set(family) for family in same_source]
        owners = defaultdict(list)
        for group, names in self.entity_types.items():
            for corpus in names:
                owners[corpus].append(group)
        doubled = {c: g for c, g in owners.items() if len(g) > 1}
        if doubled:  # a corpus scored as two types would need two heads' worth of mapping: one type each
            raise InputError(f"entity_types: a corpus belongs to one entity type; {doubled} are under several")

    def entity_type(self, corpus: str) -> str | None:
        return next((group for group, names in self.entity_types.items() if corpus in names), None)

    def seen(self, trained_on: list[str]) -> set[str]:
        """The corpora a model trained on, and those cut from the same release as one of them."""
        seen = set(trained_on)
        return seen.union(*(family for family in self.same_source if family & seen))

    def targets(self, main: str, trained_on: list[str]) -> dict[str, bool]:
        """Every corpus of main's entity type (main first) -> whether the model has seen it."""
        group = self.entity_type(main)
        if group is None:
            return {}
        seen = self.seen([main, *trained_on])
        return {main: True} | {c: c in seen for c in self.entity_types[group] if c != main}

    def shared(self, tags: list[str], corpus: str) -> list[str]:
        """Tags with corpus's name for its entity type renamed to the type, every other type O."""
        group = self.entity_type(corpus)
        name = self.entity_types[group][corpus]
        return [f"{t[:2]}{group}" if t[2:] == name else "O" for t in tags]


class Scores(BaseModel):
    """One corpus's entry in crosscorpus.json (read back on a rerun and by the tables: data, checked)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    seen: bool
    in_corpus: bool = False
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    match_views: dict[str, dict[str, float]] | None = None
    sentences: int | None = None
    gold_entities: int | None = None
    predictions: str | None = None


class CrossCorpusFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    format: Literal[1] = 1
    checkpoint: str
    fingerprint: str
    head: str
    trained_on: list[str]
    entity_type: str
    split: str
    run: dict | None  # the run's own metrics.json summary (model, aux, seed, ...): None for a bare checkpoint
    corpora: dict[str, Scores]


def fingerprint(path: Path) -> str:
    """sha256 of a checkpoint file, or of an export folder's files in name order."""
    digest = hashlib.sha256()
    for file in [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file()):
        with open(file, "rb") as f:
            for block in iter(lambda: f.read(2**20), b""):
                digest.update(block)
    return digest.hexdigest()


def read_result(path: Path) -> CrossCorpusFile:
    try:
        return CrossCorpusFile.model_validate(read_json(path, MAX_RESULT_BYTES, "cross-corpus scores"))
    except ValidationError as err:
        raise InputError(f"not cross-corpus scores of ours ({first_line(err)})", path) from None


def run_summary(run_dir: Path) -> dict | None:
    """What tables need to place a run: its metrics.json's configuration and in-corpus test F1."""
    path = run_dir / "metrics.json"
    if not path.is_file():
        return None
    m = read_json(path, MAX_RESULT_BYTES, "metrics")
    keys = ("model", "arch", "main", "aux", "embedding", "fraction", "seed", "protocol", "best_epoch", "epochs")
    return {k: m.get(k) for k in keys} | {"test_f1": (m.get("test") or {}).get("f1")}


class Evaluator:
    """Scores checkpoints corpus by corpus, each test split read once for every run."""

    def __init__(self, cfg: DictConfig):
        self.cfg = cfg
        self.links = Correspondence(OmegaConf.to_container(cfg.entity_types), OmegaConf.to_container(cfg.same_source))
        self.splits: dict[str, list] = {}

    def sentences(self, corpus: str) -> list:
        if corpus not in self.splits:
            from bioner_pl import data as ds

            self.splits[corpus] = ds.load_split(corpus, self.cfg.split, Path(self.cfg.data.dir), self.cfg.data.base_url)
        return self.splits[corpus]

    def evaluate(self, ckpt: Path, out: Path, run: dict | None = None) -> CrossCorpusFile | None:
        """Score ckpt's main head on every corpus of its type it lacks scores for; writes
        out/crosscorpus.json and out/crosscorpus/. None: its main corpus has no entity type here."""
        from bioner_pl.tagging.checkpoint import load_net
        from bioner_pl.tagging.tagger import Tagger

        print_name = out if run else ckpt
        stamp = fingerprint(ckpt)
        before = read_result(out / RESULT) if (out / RESULT).exists() else None
        if before is not None and (before.fingerprint != stamp or before.split != self.cfg.split):
            before = None  # another checkpoint (retrained) or split: every score again
        def load() -> Tagger:  # the checkpoint, loaded only when a corpus needs scoring
            return Tagger(load_net(ckpt), 0, device=self.cfg.device, batch_size=self.cfg.batch_size,
                          confidences=False)

        tagger = None
        if before is None:
            tagger = load()
            trained_on = [str(d) for d in tagger.model.spec.datasets]
        else:
            trained_on = before.trained_on
        main = trained_on[0]
        targets = self.links.targets(main, trained_on[1:])
        if not targets:
            print(f"{print_name}: {main} is under no entity type of entity_types: nothing to score")
            return None
        done = dict(before.corpora) if before else {}
        result = CrossCorpusFile(checkpoint=os.path.relpath(ckpt, out), fingerprint=stamp, head=main,
                                 trained_on=trained_on, entity_type=self.links.entity_type(main),
                                 split=self.cfg.split, run=run, corpora={})
        (out / PREDICTIONS).mkdir(exist_ok=True)
        for corpus, seen in targets.items():
            if corpus in done and done[corpus].seen == seen:
                result.corpora[corpus] = done[corpus]
                continue
            if seen and corpus != main:
                result.corpora[corpus] = Scores(seen=True)
                continue
            if tagger is None:
                tagger = load()
            result.corpora[corpus] = self.score(tagger, main, corpus, out)
            entry = result.corpora[corpus]
            print(f"{print_name}: {corpus} {self.cfg.split} {'(its own) ' if corpus == main else ''}"
                  f"F1 {100 * entry.f1:.2f} (precision {100 * entry.precision:.2f}, recall {100 * entry.recall:.2f})")
            write_atomic(out / RESULT, result.model_dump_json(indent=2) + "\n")  # a corpus at a time: resumable
        write_atomic(out / RESULT, result.model_dump_json(indent=2) + "\n")
        return result

    def score(self, tagger, main: str, corpus: str, out: Path) -> Scores:
        sentences = self.sentences(corpus)
        pred = [tags for tags, _ in tagger.tag_sentences([list(s.tokens) for s in sentences])]
        gold = [self.links.shared(list(s.tags), corpus) for s in sentences]
        pred = [self.links.shared(tags, main) for tags in pred]
        name = f"{PREDICTIONS}/{corpus}_{self.cfg.split}.tsv.gz"
        rows = "".join("".join(f"{t}\t{g}\t{p}\n" for t, g, p in zip(s.tokens, g_, p_)) + "\n"
                       for s, g_, p_ in zip(sentences, gold, pred))
        write_atomic(out / name, gzip.compress(rows.encode("utf-8"), mtime=0))
        scores = entity_scores(gold, pred)
        return Scores(seen=corpus == main, in_corpus=corpus == main, **scores, match_views=match_views(gold, pred),
                      sentences=len(sentences), gold_entities=sum(t.startswith("B-") for tags in gold for t in tags),
                      predictions=name)


def write_atomic(path: Path, content: str | bytes) -> None:
    """Whole or not at all; a leftover link where we write is replaced, never followed."""
    temp = path.with_name(path.name + ".tmp")
    temp.unlink(missing_ok=True)
    with open_own(temp, "wb") as f:
        f.write(content.encode("utf-8") if isinstance(content, str) else content)
    os.replace(temp, path)


def finished_runs(root: Path) -> list[Path]:
    """Run directories with a metrics.json and a best checkpoint: root itself, or every one below it."""
    found = [root] if (root / "metrics.json").is_file() else [p.parent for p in sorted(root.rglob("metrics.json"))]
    return [run for run in found if (run / "checkpoints" / "best.ckpt").is_file()]


def copy_into(run: Path, root: Path, into: Path) -> None:
    """The run's cross-corpus scores into the same place under `into`, where that run is (its metrics.json)."""
    target = into / run.relative_to(root)
    if not (target / "metrics.json").is_file():
        return
    (target / PREDICTIONS).mkdir(exist_ok=True)
    for file in sorted((run / PREDICTIONS).glob("*.tsv.gz")):
        write_atomic(target / PREDICTIONS / file.name, file.read_bytes())
    write_atomic(target / RESULT, (run / RESULT).read_bytes())


def run(cfg: DictConfig) -> list[CrossCorpusFile]:
    evaluator, results = Evaluator(cfg), []
    if cfg.ckpt:
        ckpt = Path(cfg.ckpt).resolve()
        if not ckpt.exists():
            raise InputError("checkpoint not found", cfg.ckpt)
        in_run = ckpt.is_file() and ckpt.parent.name == "checkpoints"
        # in its run directory; else a folder beside it of its own (two checkpoints in one folder do not collide)
        out = ckpt.parent.parent if in_run else ckpt.parent / f"{ckpt.name}.crosscorpus"
        out.mkdir(exist_ok=True)
        return [r for r in [evaluator.evaluate(ckpt, out, run_summary(out) if in_run else None)] if r]
    root = Path(cfg.runs)
    if not root.is_dir():
        raise InputError("no such folder of runs", root)
    runs = finished_runs(root)
    if not runs:
        raise InputError("no finished run (metrics.json and checkpoints/best.ckpt) here", root)
    without = sum(1 for _ in root.rglob("metrics.json")) - len(runs)
    if without:  # results/runs, say: scores without checkpoints (retrain them to score them)
        print(f"{root}: {without} finished runs without checkpoints/best.ckpt, not scored")
    for run_dir in runs:
        result = evaluator.evaluate(run_dir / "checkpoints" / "best.ckpt", run_dir, run_summary(run_dir))
        if result is not None:
            results.append(result)
            if cfg.into:
                copy_into(run_dir, root, Path(cfg.into))
    return results


# ---- the table ---------------------------------------------------------------------------------

def collect(roots: list[Path]) -> list[CrossCorpusFile]:
    """Every run's cross-corpus scores under roots (a run under two roots counted once, the first's)."""
    found, places = [], set()
    for root in roots:
        for path in sorted(root.rglob(RESULT)):
            place = path.parent.relative_to(root)
            if place not in places:
                result = read_result(path)
                if result.run is not None:
                    found.append(result)
                    places.add(place)
    return found


def mean_std(values: list[float]) -> str:
    if not values:
        return "—"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.fmean(values):.2f} ± {statistics.stdev(values):.2f}"


def model_label(run: dict) -> str:
    aux = run.get("aux") or []
    name = {"stm": "STM", "fs": "FS-MTM", "sp": "SP-MTM", "adv": "ADV-MTM", "cs": "CS-MTM"}.get(run["model"], run["model"])
    return name + (f" + {'+'.join(aux)}" if len(aux) <= 2 else f" + all {len(aux)} partners (K = {len(aux) + 1})") \
        if aux else name


def grouped(results: list[CrossCorpusFile]) -> dict[tuple, dict[str, list[CrossCorpusFile]]]:
    """(main, embedding, protocol) -> model label -> its seeds' results."""
    groups: dict[tuple, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for r in results:
        protocol = protocol_name(**(r.run.get("protocol") or {}))  # as the tables name it: "" or by_length, ...
        groups[(r.head, r.run.get("embedding"), protocol)][model_label(r.run)].append(r)
    return groups


def unseen(result: CrossCorpusFile) -> list[str]:
    return [c for c, s in result.corpora.items() if not s.seen and s.f1 is not None]


def unseen_by_all(results: list[CrossCorpusFile]) -> list[str]:
    """The corpora every seed of a model was scored on and never saw, in the first seed's order."""
    return [c for c in unseen(results[0]) if all(c in unseen(r) for r in results)]


def f1s(results: list[CrossCorpusFile], corpus: str) -> list[float]:
    return [100 * r.corpora[corpus].f1 for r in results if corpus in r.corpora and r.corpora[corpus].f1 is not None]


def mean_over(results: list[CrossCorpusFile], corpora: list[str]) -> list[float]:
    """Each seed's mean F1 over the given corpora (seeds that lack one left out)."""
    return [statistics.fmean(100 * r.corpora[c].f1 for c in corpora) for r in results
            if corpora and all(c in r.corpora and r.corpora[c].f1 is not None for c in corpora)]


def arrow(ours: list[float], baseline: list[float]) -> str:
    if not ours or not baseline:
        return ""
    return " ↑" if statistics.fmean(ours) > statistics.fmean(baseline) else " ↓"


def tables(results: list[CrossCorpusFile]) -> list[tuple[str, list[str], list[list[str]]]]:
    """One table per (main corpus, embedding, protocol): per model in-corpus F1, F1 on each other
    corpus of the type (seen: "seen"), the mean over the model's unseen corpora and the drop from
    in-corpus, mean ± std over seeds; ↑/↓ against STM (its mean over the same corpora)."""
    out = []
    for (main, embedding, protocol), models in sorted(grouped(results).items(), key=lambda kv: [str(k) for k in kv[0]]):
        corpora = list(dict.fromkeys(c for rs in models.values() for r in rs for c in r.corpora if c != main))
        stm = models.get("STM", [])
        header = ["model", "seeds", f"in-corpus ({main})", *corpora, "mean cross-corpus", "drop"]
        rows = []
        for label in sorted(models, key=lambda m: (m != "STM", m)):
            rs = models[label]
            away = unseen_by_all(rs)
            own, mean = f1s(rs, main), mean_over(rs, away)
            drops = [a - b for a, b in zip(own, mean)]
            cells = ["seen" if any(r.corpora.get(c) and r.corpora[c].seen for r in rs) else
                     mean_std(f1s(rs, c)) + ("" if label == "STM" else arrow(f1s(rs, c), f1s(stm, c))) for c in corpora]
            # STM over this model's corpora: a model that saw one of them is compared on the rest only
            stm_mean = mean_over(stm, away)
            stm_drops = [a - b for a, b in zip(f1s(stm, main), stm_mean)]
            beside = "" if label == "STM" or not stm_mean else f"; STM {statistics.fmean(stm_mean):.2f}"
            rows.append([label, str(len(rs)), mean_std(own) + ("" if label == "STM" else arrow(own, f1s(stm, main))),
                         *cells, mean_std(mean) + ("" if label == "STM" else arrow(mean, stm_mean))
                         + f" ({len(away)}{beside})", mean_std(drops)
                         + ("" if label == "STM" or not stm_drops else f" (STM {statistics.fmean(stm_drops):.2f})")])
        title = (f"Cross-corpus test F1 (%), main corpus {main}, {embedding}" + (f", {protocol}" if protocol else "")
                 + ": each model's main head on the other corpora of its entity type; mean ± std over seeds; "
                 "↑/↓ against STM on the same corpora; (n corpora in the mean; STM's mean and drop over the same corpora); "
                 "drop = in-corpus − mean")
        out.append((title, header, rows))
    return out


def figure(results: list[CrossCorpusFile]):
    """In-corpus beside mean cross-corpus F1 for every model, one panel per main corpus."""
    import numpy as np

    from bioner_pl.experiments.render import pyplot

    plt = pyplot()
    groups = sorted(grouped(results).items(), key=lambda kv: [str(k) for k in kv[0]])
    fig, axes = plt.subplots(1, max(len(groups), 1), figsize=(7 * max(len(groups), 1), 4), squeeze=False)
    for ax, ((main, embedding, _), models) in zip(axes[0], groups):
        labels = sorted(models, key=lambda m: (m != "STM", m))
        own = [f1s(models[m], main) for m in labels]
        away = [mean_over(models[m], unseen_by_all(models[m])) for m in labels]
        x = np.arange(len(labels))
        for shift, values, name in ((-0.2, own, "in-corpus"), (0.2, away, "mean cross-corpus")):
            ax.bar(x + shift, [statistics.fmean(v) if v else 0 for v in values], 0.4, label=name,
                   yerr=[statistics.stdev(v) if len(v) > 1 else 0 for v in values], capsize=3)
        ax.set_xticks(x, [label.replace(" + ", "\n+ ") for label in labels], fontsize=7)
        ax.set_title(f"{main} ({embedding})")
        ax.set_ylabel("test F1 (%)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
