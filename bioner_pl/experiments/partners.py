"""Which auxiliary corpus helps a main corpus? Successive halving over candidate partners:

    python -m bioner_pl.partners main=exptm [candidates=[jnlpba,bc5cdr,bionlp09]] [model=cs] [seed=1]
        [eta=2] [rounds=N] [trainer.max_epochs=80] [report=DIR] [any training override, e.g.
        batching=by_length hydra/launcher=slurm]

Every candidate's multi-task run trains a few epochs, the best 1/eta of them on the main corpus's
dev F1 (never test) train on, and so on, until one run reaches the full protocol. Each round is one
Hydra multirun of `bioner_pl.train` with resume=true on whatever launcher the overrides name: runs
resume exactly, so a survivor continued round after round is the same run as one trained straight
through, and the winner's scores are a real full-protocol result. A candidate whose job fails drops
out with its error shown. Rerunning the same command skips what is done. The ranking (each round's
dev F1, then where each candidate stopped) is printed and written to DIR as CSV and Markdown, with
a plot of dev F1 per epoch per candidate.

Example (a quick check of the whole search, tiny budgets):
    python -m bioner_pl.partners main=exptm candidates=[bionlp09,jnlpba] trainer=smoke out_root=outputs/smoke
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

from bioner_pl import data as ds
from bioner_pl.config import CONF_DIR, compose_config, listed, whole
from bioner_pl.errors import InputError
from bioner_pl.experiments.results import dev_curve
from bioner_pl.experiments.render import markdown
from bioner_pl.naming import aux_list

# The search's own options (bioner_pl/conf/partners.yaml); every other one on its command line is
# a training option, and each round's training gets it as given.
OWN = ("candidates", "eta", "rounds", "report")
SET_BY_THE_SEARCH = ("model", "aux", "resume", "sweep", "trainer.max_epochs", "hydra.mode")


def schedule(count: int, epochs: int, eta: int, rounds: int | None = None) -> list[tuple[int, int]]:
    """(candidates trained, epochs reached) per round: keep ceil(n / eta) after each round, one in
    the last; the budget grows by eta a round and the last round reaches `epochs`."""
    sizes = [count]
    while sizes[-1] > 1 and (rounds is None or len(sizes) < rounds - 1):
        sizes.append(math.ceil(sizes[-1] / eta))
    if sizes[-1] > 1:
        sizes.append(1)  # the last round trains the best one to the full protocol
    return [(n, max(1, math.ceil(epochs / eta ** (len(sizes) - 1 - r)))) for r, n in enumerate(sizes)]


@dataclass
class Candidate:
    aux: str
    run_dir: Path
    dev: dict[int, float] = field(default_factory=dict)  # epochs reached -> best dev F1 by then
    error: str = ""
    stopped: int | None = None  # the round it dropped out after (None: still in)


def training_overrides() -> list[str]:
    """The command line's training options (task and Hydra's, e.g. hydra/launcher=slurm), as given."""
    given = HydraConfig.get().overrides
    return [o for o in [*given.task, *given.hydra]
            if o.split("=", 1)[0].lstrip("+~") not in OWN + SET_BY_THE_SEARCH]


def job(overrides: list[str]):
    """The config bioner_pl.train composes of these overrides, Hydra's part included."""
    return compose_config("config", overrides, hydra=True)


def corpus_dirs(overrides: list[str]) -> list[Path]:
    """Ours and the corpus configs of the folders a hydra.searchpath override adds (user corpora)."""
    searchpath = job([o for o in overrides if o.startswith("hydra.searchpath=")] + ["main=x"]).hydra.searchpath
    return [CONF_DIR / "corpus"] + [Path(p.removeprefix("file://")) / "corpus" for p in searchpath]


def run_dir(cfg) -> Path:
    return Path(cfg.hydra.sweep.dir) / cfg.hydra.sweep.subdir


def search(cfg) -> list[Candidate]:
    """The search cfg describes (bioner_pl/conf/partners.yaml: the training config and the search's
    own options), from a command line: each round trains with that command line's training options."""
    if OmegaConf.is_missing(cfg, "main"):
        raise InputError("main=<corpus> is required, e.g. main=exptm")
    main, model, seed = cfg.main, HydraConfig.get().runtime.choices["model"], cfg.seed
    passthrough = training_overrides()
    dirs = corpus_dirs(passthrough)
    main_name = ds.resolve(main, dirs).name
    names = aux_list([str(c) for c in listed(cfg.candidates)]) if cfg.candidates is not None else \
        [name for name in ds.known_corpora(dirs) if name != main_name]
    for name in names:
        ds.resolve(name, dirs)
    common = [f"model={model}", "resume=true", "sweep=partners", *passthrough]  # main=, seed= are in passthrough
    configs = [job([*common, f"aux={name}"]) for name in names]
    epochs = cfg.trainer.max_epochs  # the full protocol's (80; 1 with trainer=smoke)
    eta, rounds = whole(cfg, "eta", 2), None if cfg.rounds is None else whole(cfg, "rounds", 1)
    if epochs < 1 or not names:
        raise InputError(f"trainer.max_epochs must be at least 1 (got {epochs}), and candidates not empty")
    plan = schedule(len(names), epochs, eta, rounds)
    candidates = [Candidate(name, run_dir(config)) for name, config in zip(names, configs)]
    report = Path(cfg.report or Path(configs[0].out_root) / "partners" / f"{main_name}-{model}-seed{seed}")
    print(f"partner search for {main_name} ({model}, seed {seed}): "
          + ", ".join(f"{n} candidates to {e} epochs" for n, e in plan), flush=True)
    alive = candidates
    for number, (_, reached) in enumerate(plan, start=1):
        command = [sys.executable, "-m", "bioner_pl.train", "-m", *common, f"trainer.max_epochs={reached}",
                   "aux=" + ",".join(c.aux for c in alive)]
        print(f"round {number}: {len(alive)} to {reached} epochs: {' '.join(command[3:])}", flush=True)
        subprocess.run(command, check=False)  # a failed job is read off its directory below
        for candidate in alive:
            candidate.dev.update(score(candidate, reached))
        ranked = sorted((c for c in alive if reached in c.dev), key=lambda c: (-c.dev[reached], c.aux))
        for candidate in alive:
            if reached not in candidate.dev:
                candidate.stopped = number
        keep = plan[number][0] if number < len(plan) else len(ranked)
        for candidate in ranked[keep:]:
            candidate.stopped = number
        alive = ranked[:keep]
    write(report, candidates, plan)
    return candidates


def score(candidate: Candidate, reached: int) -> dict[int, float]:
    """The run's best dev F1 in its first `reached` epochs (from its CSV logs, so that a rerun of the
    search ranks a round as it did, though the survivors have trained on since), or its error."""
    metrics = candidate.run_dir / "metrics.json"
    if metrics.exists():
        m = json.loads(metrics.read_text())
        curve = dev_curve(candidate.run_dir, reached)
        if m["epochs"] >= reached and curve:
            return {reached: max(float(row[3]) for row in curve)}
        if m["epochs"] == reached and m["dev"]:  # no CSV logger
            return {reached: m["dev"]["f1"]}
    error = candidate.run_dir / "error.txt"
    lines = error.read_text().strip().splitlines() if error.exists() else []
    candidate.error = lines[-1] if lines else f"no metrics.json with {reached} epochs in {candidate.run_dir}"
    return {}


def rows(candidates: list[Candidate], plan: list[tuple[int, int]]) -> tuple[list[str], list[list[str]]]:
    header = ["rank", "aux"] + [f"dev F1 @{e} ep" for _, e in plan] + ["stopped", "test F1", "run"]

    def key(c: Candidate):
        last = max(c.dev) if c.dev else 0
        return (-last, -c.dev.get(last, 0.0), c.aux)

    table = []
    for rank, c in enumerate(sorted(candidates, key=key), start=1):
        test = ""
        if c.stopped is None:  # the winner: a full-protocol run
            test = f"{100 * json.loads((c.run_dir / 'metrics.json').read_text())['test']['f1']:.2f}"
        stopped = f"failed: {c.error}" if c.error else ("winner" if c.stopped is None else f"after round {c.stopped}")
        table.append([str(rank), c.aux] + [f"{100 * c.dev[e]:.2f}" if e in c.dev else "" for _, e in plan]
                     + [stopped, test, str(c.run_dir)])
    return header, table


def write(report: Path, candidates: list[Candidate], plan: list[tuple[int, int]]) -> None:
    header, table = rows(candidates, plan)
    report.mkdir(parents=True, exist_ok=True)
    with open(report / "ranking.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows([header, *table])
    trained = sum(max(c.dev, default=0) for c in candidates)
    seconds = sum(json.loads(p.read_text())["wall_seconds"] for c in candidates
                  if (p := c.run_dir / "metrics.json").exists())
    summary = (f"Cost: {trained} epochs, {seconds / 60:.0f} min of training (summed over runs); the full "
               f"grid is {len(candidates)} × {plan[-1][1]} = {len(candidates) * plan[-1][1]} epochs.")
    text = markdown("Partner search (dev F1, best epoch so far)", header, table) + f"\n{summary}\n"
    (report / "ranking.md").write_text(text, encoding="utf-8")
    print(text + f"-> {report}", flush=True)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for c in candidates:
        curve = dev_curve(c.run_dir, max(c.dev, default=0))
        if curve:
            ax.plot([int(r[0]) for r in curve], [100 * float(r[3]) for r in curve], label=c.aux)
    ax.set(xlabel="epoch", ylabel="dev F1", title="dev F1 per epoch, per candidate partner")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(report / "dev_curves.png", dpi=120)
    plt.close(fig)
