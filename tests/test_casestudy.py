"""The case study (Table 8 for every sentence): groups, evidence, Markdown, and the page in a real browser."""

import json
import os
import re
import shutil
from collections import Counter

import pytest
from lxml import html as lxml_html

from bioner_pl import data as ds
from bioner_pl.formats import conll as columns
from bioner_pl.config import compose_config
from bioner_pl.errors import InputError
from bioner_pl.experiments import casestudy
from helpers import FIXTURE_DATA

BROWSER = casestudy.browser()
needs_browser = pytest.mark.skipif(BROWSER is None and not os.environ.get("BIONER_REQUIRE_BROWSER"),
                                   reason="no chromium here (CI installs it and sets BIONER_REQUIRE_BROWSER=1)")


def study(run_a, run_b, *options):
    """The case study of two runs, as `python -m bioner_pl.casestudy runs=[A,B] options...` makes it."""
    return casestudy.run(compose_config("casestudy", [f"runs=[{run_a},{run_b}]", *options]))


def make_run(folder, sentences, predictions, model, aux=()):
    folder.mkdir(parents=True)
    columns.write_predictions(folder / "test_predictions.tsv", sentences, dict(enumerate(predictions)))
    (folder / "metrics.json").write_text(json.dumps({"model": model, "main": "exptm", "aux": list(aux)}))
    return str(folder)


def protein_word():
    """A word BioNLP09's fixture training set tags as a protein somewhere: the evidence to find."""
    train = ds.load_split("bionlp09", "train", FIXTURE_DATA, None)
    counts = Counter(s.tokens[first] for s in train for kind, first, last in casestudy.get_entities(list(s.tags))
                     if first == last and s.tokens[first].isalpha() and len(s.tokens[first]) > 3)
    return counts.most_common(1)[0][0], train


def test_every_difference_is_a_case_grouped_by_what_happened(tmp_path, capsys):
    word, train = protein_word()
    S = ds.Sentence
    sentences = [S(("The", word, "binds", "."), ("O", "B-Protein", "O", "O")),       # B finds it
                 S(("A", word, "site", "."), ("O", "B-Protein", "O", "O")),          # A finds it
                 S(("Cells", "grew", "."), ("O", "O", "O")),                         # A makes one up
                 S(("Mice", "died", "."), ("O", "O", "O")),                          # B makes one up
                 S((word, "kinase", "acts"), ("B-Protein", "I-Protein", "O")),       # A cuts it short
                 S(("Same", word), ("O", "B-Protein"))]                              # they agree
    a = [["O"] * 4, ["O", "B-Protein", "O", "O"], ["B-Protein", "O", "O"], ["O"] * 3, ["B-Protein", "O", "O"], ["O", "B-Protein"]]
    b = [["O", "B-Protein", "O", "O"], ["O"] * 4, ["O"] * 3, ["B-Protein", "O", "O"], ["B-Protein", "I-Protein", "O"], ["O", "B-Protein"]]
    run_a = make_run(tmp_path / "stm", sentences, a, "stm")
    run_b = make_run(tmp_path / "cs", sentences, b, "cs", ["bionlp09"])
    out = study(run_a, run_b, f"out={tmp_path / 'out'}", f"data.dir={FIXTURE_DATA}")
    assert "5 cases in 5 sentences (found by B only 1, found by A only 1, spurious in A only 1, spurious in B only 1, " \
           "boundary or type differs 1)" in capsys.readouterr().out
    page = (out / "casestudy.html").read_text()
    data = json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S).group(1))
    assert [(c["sentence"], c["group"], c["right"]) for c in data["cases"]] == [
        (0, "found-by-b", "b"), (1, "found-by-a", "a"), (2, "spurious-a", "b"), (3, "spurious-b", "a"), (4, "boundary-type", "b")]
    # the evidence: BioNLP09's training sentences with the word, and how it is tagged there, counted independently
    first = data["cases"][0]
    expected = Counter("Protein" if t == "B-Protein" and (i + 1 == len(s.tags) or s.tags[i + 1] != "I-Protein")
                       else "O" if t == "O" else "other" for s in train for i, (w, t) in enumerate(zip(s.tokens, s.tags))
                       if casestudy.close_form(w) == casestudy.close_form(word))
    tagged = first["tagged"]["bionlp09"][word]
    assert tagged.get("Protein", 0) == expected["Protein"] > 0 and tagged.get("O", 0) == expected["O"]
    evidence = [e for e in first["evidence"] if e["corpus"] == "bionlp09"]
    assert 0 < len(evidence) <= casestudy.EVIDENCE_PER_CORPUS
    assert all(casestudy.close_form(e["tokens"][e["match"][0]]) == casestudy.close_form(word) for e in evidence)
    tagged_first = [any(x["first"] == e["match"][0] for x in e["entities"]) for e in evidence]
    assert tagged_first == sorted(tagged_first, reverse=True)  # a tagged occurrence before an untagged one
    assert "| [found by B only](casestudy-found-by-b.md) | 1 | 0 | 1 | 0 |" in (out / "casestudy.md").read_text()
    found = (out / "casestudy-found-by-b.md").read_text()
    assert f"- A (STM): The **{word}** binds ." in found and f"- B (CS-MTM + bionlp09): The **<ins>{word}</ins>** binds ." in found
    assert f"- A (STM): **<ins>{word}</ins> kinase** acts" in (out / "casestudy-boundary-type.md").read_text()


def test_runs_of_different_test_sets_are_one_line(tmp_path):
    S = ds.Sentence
    run_a = make_run(tmp_path / "a", [S(("x",), ("O",))], [["O"]], "stm")
    run_b = make_run(tmp_path / "b", [S(("y",), ("O",))], [["O"]], "cs", ["bionlp09"])
    for argv, says in (([run_a, run_b], "test sentences (tokens or gold tags) differ"),
                       ([run_a, str(tmp_path)], "not a finished run directory")):
        with pytest.raises(InputError, match=re.escape(says)):
            study(*argv, f"data.dir={FIXTURE_DATA}", f"out={tmp_path / 'out'}")


def corrupt(sentences, every):
    return [["O"] * len(s.tags) if i % every == 0 else
            [t.replace("I-", "B-") for t in s.tags] if i % (every + 1) == 0 else list(s.tags)
            for i, s in enumerate(sentences)]


def rendered(page, fragment=""):
    """The page's DOM after its script ran, in headless Chromium."""
    dom = casestudy.headless(["--dump-dom", page.resolve().as_uri() + fragment], timeout=120)
    return lxml_html.fromstring(dom)


@pytest.mark.slow
@needs_browser
def test_the_page_shows_in_a_browser_the_spans_the_data_says(tmp_path):
    test = ds.load_split("exptm", "test", FIXTURE_DATA, None)
    run_a = make_run(tmp_path / "stm", test, corrupt(test, 3), "stm")
    run_b = make_run(tmp_path / "cs", test, corrupt(test, 4), "cs", ["bionlp09"])
    out = study(run_a, run_b, f"out={tmp_path / 'out'}", f"data.dir={FIXTURE_DATA}")
    page = out / "casestudy.html"
    data = json.loads(re.search(r'id="data">(.*?)</script>', page.read_text(), re.S).group(1))
    sentences = {s["id"]: s for s in data["sentences"]}
    dom = rendered(page)
    nodes = dom.xpath('//div[@class="case"]')
    assert len(nodes) == len(data["cases"]) > 5
    for node, case in zip(nodes, data["cases"]):
        assert (node.get("data-group"), int(node.get("data-sentence"))) == (case["group"], case["sentence"])
        for role in ("gold", "a", "b"):
            shown = [(int(s.get("data-first")), int(s.get("data-last")), s.get("data-type"), s.text_content())
                     for s in node.xpath(f'.//div[@data-row="{role}"]//span[@data-role="{role}"]')]
            tokens = sentences[case["sentence"]]["tokens"]
            assert shown == [(e["first"], e["last"], e["type"], " ".join(tokens[e["first"]:e["last"] + 1]))
                             for e in sentences[case["sentence"]][role]]
        focus, = node.xpath('.//div[@data-row="gold"]//span[@class="focus"]')
        assert case["words"] in focus.text_content()
    assert dom.xpath('string(//span[@id="shown"])') == f"{len(nodes)} of {len(nodes)} cases"
    # the filters, set from the address as a reader's link would
    group = Counter(c["group"] for c in data["cases"]).most_common(1)[0][0]
    filtered = rendered(page, f"#group={group}")
    visible = [n for n in filtered.xpath('//div[@class="case"]') if n.get("hidden") is None]
    assert {n.get("data-group") for n in visible} == {group}
    assert len(visible) == sum(c["group"] == group for c in data["cases"]) < len(nodes)
    word = data["cases"][0]["words"].split()[0]
    searched = rendered(page, f"#q={word.lower()}")
    visible = [n for n in searched.xpath('//div[@class="case"]') if n.get("hidden") is None]
    assert visible and all(word.lower() in n.get("data-text") for n in visible)


@pytest.mark.slow
@needs_browser
def test_an_8000_sentence_test_set_opens_in_seconds(tmp_path):
    test = ds.load_split("exptm", "test", FIXTURE_DATA, None)
    big = (test * (8000 // len(test) + 1))[:8000]
    run_a = make_run(tmp_path / "stm", big, corrupt(big, 3), "stm")
    run_b = make_run(tmp_path / "cs", big, corrupt(big, 4), "cs", ["bionlp09"])
    out = study(run_a, run_b, f"out={tmp_path / 'out'}", f"data.dir={FIXTURE_DATA}", "evidence=1")
    dom = rendered(out / "casestudy.html")
    cases = len(dom.xpath('//div[@class="case"]'))
    assert cases > 1000
    assert int(dom.xpath("string(//body/@data-rendered-ms)")) < 5000  # measured ~1 s here: see docs/experiments.md


def test_no_browser_is_one_line_and_the_pages_are_written_without_one(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(InputError, match="no Chromium"):
        casestudy.headless(["--dump-dom", "about:blank"])
    test = ds.load_split("exptm", "test", FIXTURE_DATA, None)[:20]
    run_a = make_run(tmp_path / "stm", test, corrupt(test, 3), "stm")
    run_b = make_run(tmp_path / "cs", test, [list(s.tags) for s in test], "cs", ["bionlp09"])
    out = study(run_a, run_b, f"out={tmp_path / 'out'}", f"data.dir={FIXTURE_DATA}", f"screenshot={tmp_path / 'x.png'}")
    assert (out / "casestudy.html").exists() and not (tmp_path / "x.png").exists()
    assert "no Chromium found: no screenshot" in capsys.readouterr().err
