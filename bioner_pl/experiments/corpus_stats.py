"""What a corpus holds: sentences, tokens and entity mentions by type for each split, as training
reads it (the corpus's format, scheme and type map applied). For the paper's corpora, beside its
Table 1 (`make tables` writes it); for yours, the same command:

    python -m bioner_pl.corpus_stats corpora=[exptm,/data/mycorpus] [data.dir=DIR]

The paper counts mentions by category (its six), ours by the corpus's own types; results/FINDINGS.md
says where the two differ and why."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from bioner_pl import data as ds
from bioner_pl.config import listed
from bioner_pl.experiments.render import markdown
from bioner_pl.naming import corpus_name
from bioner_pl.paper import numbers

TABLE1 = ["bc2gm", "exptm", "ncbi", "linnaeus", "jnlpba", "bc5cdr", "bionlp09", "bionlp11id", "bionlp13pc"]


def stats(corpus: str, data_dir: Path) -> dict[str, dict]:
    """split -> {"sentences", "tokens", "mentions": Counter of types} (IOB2: a mention begins with B-)."""
    out = {}
    for split in ds.SPLITS:
        sentences = ds.load_split(corpus, split, data_dir, None)
        out[split] = {"sentences": len(sentences), "tokens": sum(len(s.tokens) for s in sentences),
                      "mentions": Counter(t[2:] for s in sentences for t in s.tags if t.startswith("B-"))}
    return out


def counts(mentions: Counter) -> str:
    return ", ".join(f"{kind} ({n:,})" for kind, n in sorted(mentions.items())) or "none"


def rows(corpora: list[str], data_dir: Path, paper: dict | None = None) -> tuple[list[str], list[list[str]]]:
    """Table 1's header and rows: ours per split and in all, and the paper's where it has the corpus."""
    header = ["dataset", "sentences train / dev / test", "sentences", "tokens", "entity types & counts"]
    if paper is not None:
        header += ["paper: sentences", "paper: entity types & counts"]
    table = []
    for corpus in corpora:
        split = stats(corpus, data_dir)
        total = sum((s["mentions"] for s in split.values()), Counter())
        row = [corpus_name(corpus), " / ".join(f"{split[s]['sentences']:,}" for s in ds.SPLITS),
               f"{sum(s['sentences'] for s in split.values()):,}", f"{sum(s['tokens'] for s in split.values()):,}",
               counts(total)]
        if paper is not None:
            theirs = paper.get(corpus_name(corpus))
            row += [f"{theirs['sentences']:,}", counts(Counter(theirs["entities"]))] if theirs else ["—", "—"]
        table.append(row)
    return header, table


def run(cfg) -> str:
    """Corpus statistics for the corpora cfg names (bioner_pl/conf/corpus_stats.yaml), printed and returned."""
    header, table = rows([str(c) for c in listed(cfg.corpora)] or TABLE1, Path(cfg.data.dir), numbers()["table1"])
    text = markdown("Corpus statistics (ours: as training reads them; the paper's Table 1 beside them)", header, table)
    print(text)
    return text
