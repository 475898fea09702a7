"""The paper's tables with our numbers beside them: python -m bioner_pl.tables [roots=[outputs/runs]] [out=tables]

Reads every run's metrics.json (and error.txt of failed runs) under the output roots and writes,
for Table 1 (from the corpora, where they are here), Tables 2, 4, 5, 6, 7 and the ADV-MTM alpha/beta grid, Markdown and CSV with the paper's score,
ours (mean ± std over seeds, n) and the difference, plus PNG charts for Tables 2 and 4; and a
table of every cell that has runs, with its seeds and wall-clock time per run.
Cells nobody ran show "—", cells whose every run failed show "failed"; partial sweeps are fine.
Runs of a protocol variant (e.g. batching=by_length) get their own tables, in out/<variant>/.
"""

from __future__ import annotations

import csv
import json
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from omegaconf import OmegaConf

from bioner_pl.config import listed, whole
from bioner_pl.errors import InputError
from bioner_pl.experiments import corpus_stats, crosscorpus
from bioner_pl.experiments.render import markdown, pyplot
from bioner_pl import paper as the_paper
from bioner_pl.naming import PROTOCOL_SWITCHES, aux_list, corpus_name, fine_tuned, protocol_name

MAINS = the_paper.MAINS
MODELS = ["stm", "fs", "sp", "adv", "cs"]
AUXS = ["jnlpba", "bc5cdr", "bionlp09", "bionlp11id", "bionlp13pc"]
SUBSETS = ["bionlp11id", "bionlp11id_chem", "bionlp11id_ggp", "bionlp11id_species"]
FRACTIONS = [1.0, 0.5, 0.25, 0.1]
EMBEDDINGS = ["pmc", "pubmed", "pmc_pubmed", "pmc_pubmed_wiki", "glove100", "glove50"]
WORD_VECTORS = EMBEDDINGS + ["random", "word2vec"]  # every other embedding name is a transformer's
PLM_EPOCHS = 20  # a fine-tuned transformer's protocol (conf/embedding/transformer_ft.yaml)
ADV_GRID = [(a, b) for a in (0.0, 0.1, 0.01) for b in (0.0, 0.01, 0.001)]
ADV_DEFAULT = the_paper.ADV_DEFAULT
METRICS = ["precision", "recall", "f1"]
MISSING = "—"


@dataclass
class Cell:
    """All seeds of one configuration: each run's metrics.json."""

    runs: list[dict] = field(default_factory=list)
    failed: int = 0

    def values(self, metric: str, split: str = "test", seeds: set[int] | None = None) -> list[float]:
        # A debug run with limit_val_batches=0 or limit_test_batches=0 has no scores for that split.
        return [100 * run[split][metric] for run in self.runs
                if run.get(split) and (seeds is None or run["seed"] in seeds)]

    def mean(self, metric: str, split: str = "test", seeds: set[int] | None = None) -> float | None:
        values = self.values(metric, split, seeds)
        return statistics.fmean(values) if values else None

    def std(self, metric: str, split: str = "test") -> float:
        """The spread over seeds (0 for one seed: no error bar)."""
        values = self.values(metric, split)
        return statistics.stdev(values) if len(values) > 1 else 0.0

    def seeds(self) -> set[int]:
        return {run["seed"] for run in self.runs}

    def text(self, metric: str, count: bool = True, split: str = "test") -> str:
        values = self.values(metric, split)
        if not values:
            return "failed" if self.failed else MISSING
        if len(values) == 1:
            return f"{values[0]:.2f}"
        spread = f"{statistics.fmean(values):.2f} ± {statistics.stdev(values):.2f}"
        return f"{spread} (n={len(values)})" if count else spread


class CellKey(NamedTuple):
    """One configuration, all seeds: what a table cell is."""

    model: str
    variant: tuple[float, float] | None  # ADV-MTM's (alpha, beta); None for the other models
    crf: str  # bigram | classic
    main: str
    aux: tuple[str, ...]
    embedding: str
    fraction: float
    protocol: str  # protocol_name of the switches set away from their defaults; "" for none
    encoder: str = "bilstm"  # none: the CRF heads on the embedding itself (model.arch.encoder)


def key(model: str, arch: dict, main: str, aux, embedding: str, fraction: float, protocol: dict) -> CellKey:
    variant, crf, encoder = the_paper.architecture(model, arch)
    return CellKey(model, variant, crf, main, tuple(aux), embedding, float(fraction), protocol_name(**protocol), encoder)


def _failed_run_key(run_dir: Path) -> CellKey | None:
    """A failed run has no metrics.json: read what it was from Hydra's saved config."""
    saved = run_dir / ".hydra" / "config.yaml"
    if not saved.exists():
        return None
    cfg = OmegaConf.load(saved)
    aux = [corpus_name(a) for a in aux_list(OmegaConf.select(cfg, "aux", default="none"))]  # resolves ${partner}
    arch = {k: v for k, v in cfg.model.arch.items() if k not in ("_target_", "name")}
    protocol = {k: cfg[k] for k in PROTOCOL_SWITCHES if k in cfg}
    return key(cfg.model.name, arch, corpus_name(cfg.main), aux, cfg.embedding.name, cfg.fraction, protocol)


def long_enough(run: dict, min_epochs: int) -> bool:
    """A run of the protocol's length, not a quick check (a fine-tuned transformer's protocol is shorter)."""
    return run["epochs"] >= (min(min_epochs, PLM_EPOCHS) if fine_tuned(run["embedding"]) else min_epochs)


def collect(roots: list[Path], min_epochs: int = 1) -> dict[CellKey, Cell]:
    """Every run under roots; runs shorter than min_epochs (quick checks) are left out."""
    cells: dict[CellKey, Cell] = defaultdict(Cell)
    for root in roots:
        for path in sorted(root.rglob("metrics.json")):
            m = json.loads(path.read_text())
            if not long_enough(m, min_epochs):
                continue
            cells[key(m["model"], m.get("arch", {}), m["main"], m["aux"], m["embedding"], m["fraction"],
                      m.get("protocol", {}))].runs.append(m)
        for path in sorted(root.rglob("error.txt")):
            if not (path.parent / "metrics.json").exists() and (k := _failed_run_key(path.parent)):
                cells[k].failed += 1
    return cells


class Tables:
    def __init__(self, cells: dict[CellKey, Cell], embedding: str = "glove50", protocol: str = ""):
        self.cells, self.embedding, self.protocol, self.paper = cells, embedding, protocol, the_paper.numbers()

    def cell(self, model, main, aux=(), fraction=1.0, embedding=None, variant=None, crf="bigram",
             encoder="bilstm") -> Cell:
        if model == "adv" and variant is None:
            variant = ADV_DEFAULT
        return self.cells.get(CellKey(model, variant, crf, main, tuple(aux), embedding or self.embedding,
                                      float(fraction), self.protocol, encoder), Cell())

    def partner(self, main: str) -> tuple:
        return (self.paper["best_partner"][main],)

    @staticmethod
    def paired_aux(model: str, main: str) -> tuple:
        return the_paper.paired_aux(model, main)

    @staticmethod
    def compare(paper_value: float | None, cell: Cell, metric: str = "f1") -> list[str]:
        """[paper, ours, ours - paper]."""
        ours = cell.mean(metric)
        delta = f"{ours - paper_value:+.2f}" if ours is not None and paper_value is not None else ""
        return [f"{paper_value:.2f}" if paper_value is not None else "", cell.text(metric), delta]

    def arrow(self, main: str, cell: Cell, embedding: str | None = None) -> str:
        ours, base = cell.mean("f1"), self.cell("stm", main, embedding=embedding).mean("f1")
        return "" if ours is None or base is None else ("↑" if ours > base else "↓")

    def table2(self):
        header = ["dataset", "metric"] + [f"{m} {c}" for m in MODELS for c in ("paper", "ours", "Δ")]
        rows = []
        for main in MAINS:
            for metric in METRICS:
                row = [main, metric]
                for model in MODELS:
                    cell = self.cell(model, main, self.paired_aux(model, main))
                    row += self.compare(self.paper["table2"][main][model][metric], cell, metric)
                rows.append(row)
        return "Table 2: model comparison (test, %)", header, rows

    def _aux_table(self, number: int, title: str, auxs: list[str]):
        source = self.paper[f"table{number}"]
        header = ["main"] + [f"{a} {c}" for a in auxs for c in ("paper", "ours", "Δ", "vs STM")]
        rows = []
        for main in MAINS:
            row = [main]
            for aux in auxs:
                cell = self.cell("cs", main, (aux,))
                row += self.compare(source[main].get(aux), cell) + [self.arrow(main, cell)]
            rows.append(row)
        return title, header, rows

    def table4(self):
        return self._aux_table(4, "Table 4: CS-MTM F1 by auxiliary dataset (test, %)", AUXS)

    def table5(self):
        return self._aux_table(5, "Table 5: CS-MTM F1 with BioNLP11ID sub-datasets (test, %)", SUBSETS)

    def table6(self):
        header = ["dataset", "metric"] + [f"{f:g} {m} {c}" for f in FRACTIONS for m in ("stm", "cs")
                                          for c in ("paper", "ours", "Δ")]
        rows = []
        for main in MAINS:
            for metric in METRICS:
                row = [main, metric]
                for fraction in FRACTIONS:
                    for model in ("stm", "cs"):
                        cell = self.cell(model, main, self.paired_aux(model, main), fraction)
                        row += self.compare(self.paper["table6"][main][str(fraction)][model][metric], cell, metric)
                rows.append(row)
        return "Table 6: training-set size (test, %)", header, rows

    def table7(self):
        header = ["embedding"] + [f"{m} {main} {c}" for m in ("stm", "cs") for main in MAINS
                                  for c in ("paper", "ours", "Δ")]
        rows = []
        for embedding in EMBEDDINGS:
            row = [embedding]
            for model in ("stm", "cs"):
                for main in MAINS:
                    cell = self.cell(model, main, self.paired_aux(model, main), embedding=embedding)
                    row += self.compare(self.paper["table7"][model].get(embedding, {}).get(main), cell)
            rows.append(row)
        return "Table 7: word embeddings, F1 (test, %; the paper's GloVe is 100-d)", header, rows

    def transformers(self):
        """Transformer encoders beside word vectors, for each main corpus that has transformer runs:
        the CRF heads alone on the encoder, STM (BiLSTM + CRF) and CS-MTM with the paper's partner."""
        header = ["main", "embedding", "CRF only", "STM", "CS-MTM", "CS-MTM vs STM", "wall per run (STM / CS-MTM)"]
        mine = {k for k in self.cells if k.protocol == self.protocol}
        rows = []
        for main in MAINS:
            encoders = sorted({k.embedding for k in mine if k.main == main} - set(WORD_VECTORS))
            if not encoders:
                continue
            for embedding in [self.embedding, *encoders]:
                alone = self.cell("stm", main, embedding=embedding, encoder="none")
                stm = self.cell("stm", main, embedding=embedding)
                cs = self.cell("cs", main, self.partner(main), embedding=embedding)
                gain = (f"{cs.mean('f1') - stm.mean('f1'):+.2f} {self.arrow(main, cs, embedding)}"
                        if cs.runs and stm.runs else "")
                walls = " / ".join(f"{statistics.fmean(r['wall_seconds'] for r in c.runs) / 60:.0f} min"
                                   if c.runs else MISSING for c in (stm, cs))
                rows.append([main, embedding, alone.text("f1"), stm.text("f1"), cs.text("f1"), gain, walls])
        return ("Transformer encoders (frozen; -ft: fine-tuned) beside word vectors, test F1 (%); CS-MTM with "
                "the paper's partner; ↑/↓ against STM on the same embedding", header, rows)

    def adv_grid(self):
        """The paper chose α and β by this grid search, so the dev split picks our point too."""
        header = ["main"] + [f"α={a:g} β={b:g}" for a, b in ADV_GRID] + ["picked on dev"]
        rows = []
        for main in MAINS:
            cells = {v: self.cell("adv", main, self.partner(main), variant=v) for v in ADV_GRID}
            ran = {v: c for v, c in cells.items() if c.runs}
            # more seeds of the picked point must not move the pick: compare on the seeds all points ran
            shared = set.intersection(*(c.seeds() for c in ran.values())) if ran else set()
            picked = max(ran, key=lambda v: ran[v].mean("f1", "dev", shared or None)) if ran else None
            scores = [f"{c.text('f1')} (dev {c.text('f1', count=False, split='dev')})" if c.runs else c.text("f1")
                      for c in cells.values()]
            # a pick from part of the grid may change when the rest lands: say how much of it ran
            partial = f" ({len(ran)} of {len(ADV_GRID)} points run)" if len(ran) < len(ADV_GRID) else ""
            rows.append([main, *scores, f"α={picked[0]:g} β={picked[1]:g}: {ran[picked].text('f1')}{partial}"
                         if picked else MISSING])
        return ("ADV-MTM α/β grid, test F1 (dev F1) (%; the paper gives no numbers; picked: the point with the "
                "best mean dev F1 among those run, over the seeds they all ran)", header, rows)

    def paper_f1(self, model, variant, crf, main, aux, embedding, fraction, encoder="bilstm") -> float | None:
        return the_paper.f1(model, variant, crf, main, aux, embedding, fraction, encoder, self.embedding)

    def runs(self):
        """Every cell with runs, what it cost and how it compares: the README's results table."""
        header = ["main (+ aux)", "model", "embedding", "training data", "seeds", "ours F1", "paper F1", "Δ",
                  "wall per run"]
        rank = {name: i for i, name in enumerate(MAINS + MODELS)}
        mine = [k for k, c in self.cells.items() if k.protocol == self.protocol and c.runs]
        rows = []
        for k in sorted(mine, key=lambda k: (rank.get(k.main, 99), k.main, -k.fraction, rank.get(k.model, 99),
                                             k.aux, k.embedding, str(k))):
            model, variant, crf, main, aux, embedding, fraction, _, encoder = k
            cell = self.cells[k]
            name = " ".join([model] + ([f"α={variant[0]:g} β={variant[1]:g}"] if variant else [])
                            + (["classic CRF"] if crf != "bigram" else []) + ([f"encoder={encoder}"] if encoder != "bilstm" else []))
            seeds = ", ".join(str(run["seed"]) for run in sorted(cell.runs, key=lambda run: run["seed"]))
            paper, _, delta = self.compare(self.paper_f1(model, variant, crf, main, aux, embedding, fraction, encoder), cell)
            wall = statistics.fmean(run["wall_seconds"] for run in cell.runs) / 60
            rows.append([" + ".join((main, *aux)), name, embedding, f"{fraction:.0%}", seeds,
                         cell.text("f1", count=False), paper, delta, f"{wall:.0f} min"])
        return "Every cell run (test F1, %; wall-clock time per run)", header, rows


def charts(tables: Tables, out: Path) -> None:
    plt = pyplot()
    for name, figure in (("table2", table2_figure), ("table4", table4_figure)):
        fig = figure(tables)
        fig.savefig(out / f"{name}.png", dpi=120)
        plt.close(fig)


def table2_figure(tables: Tables):
    """Table 2 as bars, the paper's beside ours, with the spread over seeds and their number."""
    import numpy as np

    plt = pyplot()
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.8), sharey=False)
    for ax, main in zip(axes, MAINS):
        cells = [tables.cell(m, main, tables.paired_aux(m, main)) for m in MODELS]
        ours = [c.mean("f1") for c in cells]
        theirs = [tables.paper["table2"][main][m]["f1"] for m in MODELS]
        x = np.arange(len(MODELS))
        ax.bar(x - 0.2, theirs, 0.4, label="paper")
        ax.bar(x + 0.2, [v if v is not None else 0 for v in ours], 0.4, label="ours (mean ± std over seeds)",
               yerr=[c.std("f1") for c in cells], capsize=3)
        for xi, cell, value in zip(x, cells, ours):  # how many seeds each bar is
            if value is not None:
                ax.text(xi + 0.2, value + cell.std("f1") + 0.5, f"n={len(cell.values('f1'))}", ha="center", fontsize=7,
                        clip_on=True, in_layout=False)  # a smoke run's bar sits below the axes: no label there
        ax.set_xticks(x, MODELS)
        ax.set_title(main)
        ax.set_ylim(min(theirs) - 15, 100)
    axes[0].set_ylabel("test F1 (%)")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def table4_figure(tables: Tables):
    """Table 4 as two grids, the paper's and ours: F1, ± std and n over seeds, ↑/↓ against STM."""
    import numpy as np

    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(14, 4))
    ours = [[tables.cell("cs", m, (a,)) for a in AUXS] for m in MAINS]
    for ax, (name, grid) in zip(axes, [("paper", [[tables.paper["table4"][m][a] for a in AUXS] for m in MAINS]),
                                       ("ours", [[c.mean("f1") for c in row] for row in ours])]):
        values = np.array([[np.nan if v is None else v for v in row] for row in grid], dtype=float)
        ax.imshow(values, cmap="viridis", aspect="auto")
        ax.set_xticks(range(len(AUXS)), AUXS)
        ax.set_yticks(range(len(MAINS)), MAINS)
        ax.set_title(f"Table 4 CS-MTM F1: {name} (↑/↓ against STM)")
        for i, row in enumerate(values):
            for j, v in enumerate(row):
                if np.isnan(v):
                    label = "—"
                elif name == "paper":
                    label = f"{v:.1f} {'↑' if v > tables.paper['table2'][MAINS[i]]['stm']['f1'] else '↓'}"
                else:
                    cell = ours[i][j]
                    n = len(cell.values("f1"))
                    label = (f"{v:.1f}" + (f"±{cell.std('f1'):.1f}" if n > 1 else "")
                             + f" {tables.arrow(MAINS[i], cell)}\nn={n}")
                ax.text(j, i, label, ha="center", va="center", color="k" if np.isnan(v) else "w", fontsize=8)
    fig.tight_layout()
    return fig


def table1(data_dir: Path):
    """Table 1 from the corpora themselves (None, with a note, where they are not on this machine)."""
    try:
        header, rows = corpus_stats.rows(corpus_stats.TABLE1, data_dir, the_paper.numbers()["table1"])
    except InputError as err:
        print(f"Table 1 left out: the corpora are not here ({err})")
        return None
    return "Table 1: the corpora (ours as training reads them, every split; the paper's beside them)", header, rows


def write(tables: Tables, out: Path, min_epochs: int, with_charts: bool = True, corpora=None) -> None:
    """tables.md, one CSV per table and the charts of one protocol's runs, into out/ (and Table 1,
    given as `corpora`, first)."""
    out.mkdir(parents=True, exist_ok=True)
    protocol = f"training protocol {tables.protocol}; " if tables.protocol else ""
    report = [f"# Our results beside the paper's\n\nOurs: {tables.embedding} unless the table says otherwise; "
              f"{protocol}runs of at least {min_epochs} epochs; mean ± std over seeds (n). Δ = ours − paper.\n"]
    names = ["runs", "table2", "table4", "table5", "table6", "table7", "transformers", "adv_grid"]
    for name in (["table1"] if corpora else []) + names:
        title, header, rows = corpora if name == "table1" else getattr(tables, name)()
        report.append(markdown(title, header, rows))
        with open(out / f"{name}.csv", "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([header, *rows])
    (out / "tables.md").write_text("\n".join(report), encoding="utf-8")
    if with_charts:
        charts(tables, out)
    cells = [c for k, c in tables.cells.items() if k.protocol == tables.protocol]
    print(f"{sum(len(c.runs) for c in cells)} runs, {sum(c.failed for c in cells)} failed -> {out / 'tables.md'}")


def write_crosscorpus(runs: list, out: Path, with_charts: bool = True) -> None:
    """crosscorpus.md (a table per main corpus, embedding and protocol), a CSV each, and a chart."""
    out.mkdir(parents=True, exist_ok=True)
    report = ["# Cross-corpus scores\n\nEach run's main head on the test splits of the other corpora of its entity "
              "type (python -m bioner_pl.crosscorpus; docs/experiments.md).\n"]
    for number, (title, header, rows) in enumerate(crosscorpus.tables(runs), start=1):
        report.append(markdown(title, header, rows))
        with open(out / f"crosscorpus{number}.csv", "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([header, *rows])
    (out / "crosscorpus.md").write_text("\n".join(report), encoding="utf-8")
    if with_charts:
        fig = crosscorpus.figure(runs)
        fig.savefig(out / "crosscorpus.png", dpi=120)
        pyplot().close(fig)
    print(f"{len(runs)} runs scored across corpora -> {out / 'crosscorpus.md'}")


def run(cfg) -> Path:
    """Every table of the runs under cfg.roots into cfg.out (bioner_pl/conf/tables.yaml)."""
    out, min_epochs, charts = Path(cfg.out), whole(cfg, "min_epochs", 1), bool(cfg.charts)
    roots = [Path(r) for r in listed(cfg.roots) if Path(r).exists()]
    cells = collect(roots, min_epochs)
    corpora = table1(Path(cfg.data.dir))
    for protocol in sorted({k.protocol for k in cells} | {""}):
        write(Tables(cells, cfg.embedding.name, protocol), out / protocol, min_epochs, charts,
              corpora if protocol == "" else None)
    runs = [r for r in crosscorpus.collect(roots) if long_enough(r.run, min_epochs)]
    if runs:
        write_crosscorpus(runs, out, charts)
    return out
