"""The paper's Table 8, for every sentence instead of three picked by hand:

    python -m bioner_pl.casestudy runs=[RUN_A,RUN_B] [aux=CORPUS] [out=DIR] [data.dir=DIR]

RUN_A and RUN_B are run directories of the same main corpus (e.g. STM and CS-MTM). Every test
sentence where the two differ on an entity becomes a case, grouped by what happened: found by B
only, found by A only, spurious in A only, spurious in B only, boundary or type differs (a case
is a cluster of overlapping gold and predicted spans). For each case, the training sentences of
the auxiliary corpus (RUN_B's partner unless aux= names one) and of the main corpus that hold the
same words, or a close form of one of them (lower case, punctuation and a plural or -ed/-ing
ending dropped), with how they are tagged there: the evidence the paper gives by hand, ranked
(the whole phrase before one of its words, a tagged occurrence before an untagged one, shorter
sentences first), a few per case, and how often each form is tagged as what in each corpus.

Writes DIR/casestudy.md (the counts) with DIR/casestudy-<group>.md (the cases; GitHub renders
them: gold in bold, a run's prediction underlined, as the paper's Table 8) and DIR/casestudy.html (one self-contained page, no external assets: entities
coloured by type, filters by group and type, search; `#group=...&type=...&q=...` in its address
sets them). One pair of runs: with several seeds, pass the pair you want (`make casestudy` uses
seed 1 of each).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

from seqeval.metrics.sequence_labeling import get_entities

from bioner_pl import data as ds
from bioner_pl.data import read_columns
from bioner_pl.config import listed, whole
from bioner_pl.errors import InputError
from bioner_pl.experiments.compare import PREDICTION_FILES, prediction_file

GROUPS = {
    "found-by-b": "found by B only",
    "found-by-a": "found by A only",
    "spurious-a": "spurious in A only",
    "spurious-b": "spurious in B only",
    "boundary-type": "boundary or type differs",
}
EVIDENCE_PER_CORPUS = 3
CONTEXT = 10  # words either side of the match in an evidence sentence (Markdown; the page shows it whole)
MODEL_NAMES = {"stm": "STM", "fs": "FS-MTM", "sp": "SP-MTM", "adv": "ADV-MTM", "cs": "CS-MTM"}
_ENDINGS = re.compile(r"(?<=...)(?:ing|ed|es|s)$")


def close_form(word: str) -> str:
    """What counts as the same word: lower case, letters and digits only, a plural or -ed/-ing
    ending dropped (Vitamins -> vitamin, phosphorylated -> phosphorylat); punctuation as it is."""
    return _ENDINGS.sub("", re.sub(r"[\W_]+", "", word.lower())) or word


@dataclass
class Span:
    type: str
    first: int
    last: int  # inclusive, as seqeval gives it


@dataclass
class Evidence:
    corpus: str
    sentence: int
    tokens: list[str]
    entities: list[Span]
    match: tuple[int, int]  # the matched words, first..last


@dataclass
class Case:
    sentence: int
    group: str
    first: int
    last: int
    words: str
    right: str  # which run is right: a, b, or neither
    evidence: list[Evidence] = field(default_factory=list)
    tagged: dict = field(default_factory=dict)  # corpus -> {form: {label: count}}


@dataclass
class Run:
    path: Path
    metrics: dict
    sentences: list  # (tokens, gold tags, predicted tags)

    @classmethod
    def load(cls, path: str) -> Run:
        folder = Path(path)
        found = prediction_file(folder) if folder.is_dir() else None
        if found is None:
            raise InputError(f"not a finished run directory (no {' or '.join(PREDICTION_FILES)})", folder)
        metrics_file = folder / "metrics.json"
        metrics = json.loads(metrics_file.read_text()) if metrics_file.exists() else {}
        return cls(folder, metrics, read_columns(found, ("token", "gold", "pred")))

    def label(self) -> str:
        """STM, CS-MTM + bionlp09, ... (the folder's name for a run without metrics.json)."""
        model, aux = self.metrics.get("model"), self.metrics.get("aux") or []
        name = MODEL_NAMES.get(model, model or self.path.name)
        return name + (f" + {' + '.join(aux)}" if aux else "")


def spans(tags) -> list[Span]:
    return [Span(kind, first, last) for kind, first, last in get_entities(list(tags))]


def clusters(gold: list[Span], a: list[Span], b: list[Span]) -> list[tuple[int, int]]:
    """Token ranges of overlapping spans (gold and both predictions together)."""
    ranges = sorted((s.first, s.last) for s in gold + a + b)
    merged: list[list[int]] = []
    for first, last in ranges:
        if merged and first <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    return [tuple(r) for r in merged]


def classify(gold: set, a: set, b: set) -> tuple[str, str] | None:
    """(group, which run is right) of one cluster, None where A and B agree."""
    if a == b:
        return None
    if not gold:
        return ("spurious-a", "b") if not b else ("spurious-b", "a") if not a else ("boundary-type", "neither")
    if b == gold:
        return ("found-by-b" if not a else "boundary-type"), "b"
    if a == gold:
        return ("found-by-a" if not b else "boundary-type"), "a"
    return "boundary-type", "neither"


def find_cases(run_a: Run, run_b: Run) -> tuple[list[Case], list[dict]]:
    """Every case, and every sentence that has one: tokens, gold, A's and B's spans."""
    if [(t, g) for t, g, _ in run_a.sentences] != [(t, g) for t, g, _ in run_b.sentences]:
        raise InputError(f"its test sentences (tokens or gold tags) differ from {run_a.path}'s: a case study "
                         "compares two runs on the same test set", run_b.path)
    cases, sentences = [], []
    for number, ((tokens, gold_tags, a_tags), (_, _, b_tags)) in enumerate(zip(run_a.sentences, run_b.sentences)):
        gold, a, b = spans(gold_tags), spans(a_tags), spans(b_tags)
        found = []
        for first, last in clusters(gold, a, b):
            inside = [{(s.type, s.first, s.last) for s in side if first <= s.first and s.last <= last}
                      for side in (gold, a, b)]
            verdict = classify(*inside)
            if verdict:
                found.append(Case(number, verdict[0], first, last, " ".join(tokens[first:last + 1]), verdict[1]))
        if found:
            cases += found
            sentences.append({"id": number, "tokens": list(tokens), "gold": [asdict(s) for s in gold],
                              "a": [asdict(s) for s in a], "b": [asdict(s) for s in b]})
    return cases, sentences


class TrainingIndex:
    """A training set, searchable by the close forms of its words."""

    def __init__(self, name: str, sentences):
        self.name, self.sentences = name, sentences
        self.forms = [[close_form(w) for w in s.tokens] for s in sentences]
        self.where: dict[str, set[int]] = defaultdict(set)
        for number, forms in enumerate(self.forms):
            for form in forms:
                self.where[form].add(number)

    def occurrences(self, phrase: list[str]):
        """(sentence, first, last) of every place the forms occur in a row."""
        if not phrase:
            return
        for number in sorted(set.intersection(*(self.where.get(f, set()) for f in phrase))):
            forms = self.forms[number]
            for start in range(len(forms) - len(phrase) + 1):
                if forms[start:start + len(phrase)] == phrase:
                    yield number, start, start + len(phrase) - 1

    def label(self, number: int, first: int, last: int) -> str:
        """How the words first..last are tagged here: a type, part of one, O, or mixed."""
        tags = self.sentences[number].tags[first:last + 1]
        if all(t == "O" for t in tags):
            return "O"
        whole = [s for s in spans(self.sentences[number].tags) if s.first == first and s.last == last]
        if whole:
            return whole[0].type
        kinds = {t[2:] for t in tags if t != "O"}
        return f"part of {kinds.pop()}" if len(kinds) == 1 and "O" not in tags else "mixed"

    def evidence(self, words: list[str], limit: int) -> tuple[list[Evidence], dict]:
        """Ranked sentences holding the phrase, else its words; and how each form is tagged here."""
        forms = [close_form(w) for w in words]
        queries = [forms] + sorted(({f} for f in forms if len(f) >= 3 and not f.isdigit()), key=lambda q: -len(next(iter(q))))
        found, tagged, seen = [], {}, set()
        for rank, query in enumerate(queries):
            phrase = query if isinstance(query, list) else [next(iter(query))]
            places = list(self.occurrences(phrase))
            if not places:
                continue
            shown = " ".join(words) if rank == 0 else next(w for w, f in zip(words, forms) if f == phrase[0])
            tagged[shown] = dict(Counter(self.label(*p) for p in places).most_common())
            for number, first, last in places:
                if number not in seen:
                    seen.add(number)
                    label = self.label(number, first, last)
                    found.append(((min(rank, 1), label == "O", len(self.sentences[number].tokens), number), number, first, last))
        found.sort()
        return [Evidence(self.name, number, list(self.sentences[number].tokens), spans(self.sentences[number].tags),
                         (first, last)) for _, number, first, last in found[:limit]], tagged


def case_study(run_a: Run, run_b: Run, aux: list[str], data_dir: Path, limit: int = EVIDENCE_PER_CORPUS):
    """(main corpus, cases with their evidence, the sentences they are in)."""
    main = run_b.metrics.get("main") or run_a.metrics.get("main")
    if not main:
        raise InputError("no metrics.json naming its main corpus: not a run directory of bioner_pl.train", run_b.path)
    cases, sentences = find_cases(run_a, run_b)
    indexes = [TrainingIndex(name, ds.load_split(name, "train", data_dir, None)) for name in [*aux, main]]
    tokens = {s["id"]: s["tokens"] for s in sentences}
    for case in cases:
        for index in indexes:
            found, tagged = index.evidence(tokens[case.sentence][case.first:case.last + 1], limit)
            case.evidence += found
            case.tagged[index.name] = tagged
    return main, cases, sentences


# ---- Markdown ------------------------------------------------------------------------------------

def marked(tokens: list[str], gold: list[dict], predicted: list[dict], show_types: bool,
           window: tuple[int, int] | None = None) -> str:
    """The sentence with gold entities in bold and predicted ones underlined (<ins>); with a
    window (first, last), only the tokens around it, the cut marked with …."""
    out = [html.escape(t) for t in tokens]
    for s in predicted:
        out[s["first"]] = "<ins>" + out[s["first"]]
        out[s["last"]] += "</ins>" + (f"<sub>{html.escape(s['type'])}</sub>" if show_types else "")
    for s in gold:
        out[s["first"]] = "**" + out[s["first"]]
        out[s["last"]] += "**"
    if window is None:
        return " ".join(out)
    first, last = max(window[0] - CONTEXT, 0), min(window[1] + CONTEXT, len(out) - 1)
    for s in gold:  # never cut a bold span open
        if s["first"] <= first <= s["last"]:
            first = s["first"]
        if s["first"] <= last <= s["last"]:
            last = s["last"]
    return ("… " if first else "") + " ".join(out[first:last + 1]) + (" …" if last < len(out) - 1 else "")


def tagged_summary(tagged: dict) -> str:
    return "; ".join(f"{corpus}: " + ", ".join(f"*{form}* " + ", ".join(f"{label} {n}" for label, n in labels.items())
                                                 for form, labels in forms.items())
                     for corpus, forms in tagged.items() if forms) or "no form of these words in the training data"


def markdown(main: str, run_a: Run, run_b: Run, cases: list[Case], sentences: list[dict]) -> dict[str, str]:
    """File name -> Markdown: casestudy.md (what the runs are, the counts, links) and one file per
    group (casestudy-<group>.md), each small enough for GitHub to render."""
    by_id = {s["id"]: s for s in sentences}
    types = {s["type"] for sentence in sentences for side in ("gold", "a", "b") for s in sentence[side]}
    counts = Counter(c.group for c in cases)
    index = [f"# Case study: {run_a.label()} (A) and {run_b.label()} (B) on the {main} test set", "",
             f"A = `{run_a.path}`, B = `{run_b.path}`. Every test sentence where the two differ on an entity; "
             "**bold**: the gold entity, <ins>underlined</ins>: the run's prediction. Under each case, training "
             "sentences that hold the same words or a close form, and how often each form is tagged as what there. "
             "The same as one page with filters and search: [casestudy.html](casestudy.html).",
             "", "| what happened | cases | right: A | right: B | right: neither |", "|---|---|---|---|---|"]
    files = {}
    for group, name in GROUPS.items():
        right = Counter(c.right for c in cases if c.group == group)
        index.append(f"| [{name}](casestudy-{group}.md) | {counts[group]} | {right['a']} | {right['b']} | {right['neither']} |")
        lines = [f"# {name}: {run_a.label()} (A) and {run_b.label()} (B) on the {main} test set ({counts[group]})", "",
                 "**bold**: the gold entity, <ins>underlined</ins>: the run's prediction. [All groups](casestudy.md)."]
        for case in (c for c in cases if c.group == group):
            sentence = by_id[case.sentence]
            lines += ["", f"## sentence {case.sentence + 1}: {html.escape(case.words)}", "",
                      f"- A ({run_a.label()}): {marked(sentence['tokens'], sentence['gold'], sentence['a'], len(types) > 1)}",
                      f"- B ({run_b.label()}): {marked(sentence['tokens'], sentence['gold'], sentence['b'], len(types) > 1)}",
                      f"- tagged in training: {tagged_summary(case.tagged)}"]
            for e in case.evidence:
                match = [{"type": "", "first": e.match[0], "last": e.match[1]}]
                gold = [asdict(s) for s in e.entities]
                lines.append(f"  - {e.corpus} train, sentence {e.sentence + 1}: "
                             f"{marked(e.tokens, gold, match, False, e.match)}")
        files[f"casestudy-{group}.md"] = "\n".join(lines) + "\n"
    return {"casestudy.md": "\n".join(index) + "\n", **files}


# ---- HTML ----------------------------------------------------------------------------------------

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")


def browser() -> str | None:
    """A Chromium on PATH (Debian's chromium), for the screenshot and the page's test."""
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def headless(args: list[str], timeout: float = 120) -> str:
    """Headless Chromium on `args` (--dump-dom URL: the DOM after the page's script ran;
    --screenshot=PNG URL); its stdout. A fresh profile each time; stopped by its own process
    group if it outlives `timeout`."""
    binary = browser()
    if binary is None:
        raise InputError("no Chromium found (chromium, chromium-browser or google-chrome on PATH); "
                         "on Debian: apt-get install chromium")
    profile = tempfile.mkdtemp(prefix="bioner-chromium-")
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
               f"--user-data-dir={profile}", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise InputError(f"Chromium did not finish in {timeout:g} s: {' '.join(args)}") from None
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if process.returncode:
        raise InputError(f"Chromium failed (exit {process.returncode}): {err.strip().splitlines()[-1:] or ''}")
    return out


def page(main: str, run_a: Run, run_b: Run, cases: list[Case], sentences: list[dict]) -> str:
    """One self-contained page: the data as JSON, rendered by the template's script."""
    data = {"title": f"Case study: {run_a.label()} (A) and {run_b.label()} (B) on the {main} test set",
            "runs": {"a": {"label": run_a.label(), "path": str(run_a.path)}, "b": {"label": run_b.label(), "path": str(run_b.path)}},
            "groups": GROUPS, "sentences": sentences,
            "cases": [asdict(c) for c in cases]}
    template = resources.files("bioner_pl.experiments").joinpath("casestudy.html").read_text(encoding="utf-8")
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")  # never ends the script
    return template.replace("{{title}}", html.escape(data["title"])).replace("{{data}}", payload)


def run(cfg) -> Path:
    """The case study of the two runs cfg names (bioner_pl/conf/casestudy.yaml); returns its folder."""
    import sys

    runs = listed(cfg.runs)
    if len(runs) != 2:
        raise InputError(f"runs= takes two run directories, A then B (runs=[RUN_A,RUN_B]), got {len(runs)}")
    run_a, run_b = (Run.load(str(r)) for r in runs)
    aux = [cfg.aux] if cfg.aux else list(run_b.metrics.get("aux") or run_a.metrics.get("aux") or [])
    main_corpus, cases, sentences = case_study(run_a, run_b, aux, Path(cfg.data.dir), whole(cfg, "evidence", 1))
    out = Path(cfg.out or f"casestudy/{main_corpus}")
    out.mkdir(parents=True, exist_ok=True)
    for name, text in markdown(main_corpus, run_a, run_b, cases, sentences).items():
        (out / name).write_text(text, encoding="utf-8")
    (out / "casestudy.html").write_text(page(main_corpus, run_a, run_b, cases, sentences), encoding="utf-8")
    if cfg.screenshot and browser() is None:  # the pages are written; only the picture needs a browser
        print("no Chromium found: no screenshot (on Debian: apt-get install chromium)", file=sys.stderr)
    elif cfg.screenshot:
        Path(cfg.screenshot).parent.mkdir(parents=True, exist_ok=True)
        headless(["--window-size=1280,1100", f"--screenshot={Path(cfg.screenshot).resolve()}",
                  (out / "casestudy.html").resolve().as_uri() + "#group=found-by-b"])
    counts = Counter(c.group for c in cases)
    print(f"{len(cases)} cases in {len(sentences)} sentences (" + ", ".join(f"{GROUPS[g]} {counts[g]}" for g in GROUPS)
          + f") -> {out}/casestudy.md (and one per group), casestudy.html")
    return out
