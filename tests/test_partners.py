"""The partner search: successive halving over auxiliary corpora, on dev F1."""

import csv
import json

import pytest

from bioner_pl import data as ds
from bioner_pl.experiments import partners
from helpers import SMALL_VECTORS, run_cli

BUDGET = ["trainer=smoke", "trainer.limit_train_batches=2", "trainer.limit_val_batches=1",
          "trainer.limit_test_batches=1", "logger=csv", *SMALL_VECTORS, "data.base_url=null"]


@pytest.mark.parametrize("count, epochs, eta, rounds, plan", [
    (5, 80, 2, None, [(5, 10), (3, 20), (2, 40), (1, 80)]),  # the five Table 4 partners: 160 epochs, not 400
    (5, 80, 3, None, [(5, 9), (2, 27), (1, 80)]),
    (16, 80, 2, 3, [(16, 20), (8, 40), (1, 80)]),  # fewer rounds: the last one still trains one
    (1, 80, 2, None, [(1, 80)]),
])
def test_schedule_halves_the_field_and_grows_the_budget(count, epochs, eta, rounds, plan):
    assert partners.schedule(count, epochs, eta, rounds) == plan


def test_ranking_is_by_dev_f1_never_test(tmp_path):
    def candidate(aux, dev, test, epochs, stopped=None):
        run = tmp_path / aux
        run.mkdir()
        (run / "metrics.json").write_text(json.dumps({"epochs": epochs, "dev": {"f1": dev}, "test": {"f1": test},
                                                      "wall_seconds": 60.0}))
        c = partners.Candidate(aux, run, stopped=stopped)
        c.dev.update(partners.score(c, epochs))
        return c

    plan = [(3, 1), (1, 2)]
    ranked = [candidate("a", 0.50, 0.90, 1, stopped=1), candidate("b", 0.70, 0.10, 2), candidate("c", 0.60, 0.99, 1, 1)]
    header, rows = partners.rows(ranked, plan)
    assert [r[1] for r in rows] == ["b", "c", "a"]  # the run that went furthest, then dev F1; test is ignored
    assert dict(zip(header, rows[0]))["stopped"] == "winner" and dict(zip(header, rows[0]))["test F1"] == "10.00"
    assert dict(zip(header, rows[1]))["dev F1 @1 ep"] == "60.00" and dict(zip(header, rows[1]))["test F1"] == ""


@pytest.mark.slow
def test_search_end_to_end_with_a_failing_candidate(tmp_path):
    """bc2gm has no data here: it drops out with its error; the winner's run, continued from round
    to round, equals the same run trained straight through."""
    result = run_cli("bioner_pl.partners", "main=ncbi", "candidates=[bionlp09,exptm,bc2gm]", "rounds=2",
                     "trainer.max_epochs=2", f"out_root={tmp_path}", *BUDGET)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "round 1: 3 to 1 epochs" in result.stdout and "round 2: 1 to 2 epochs" in result.stdout
    report = tmp_path / "partners" / "ncbi-cs-seed1"
    rows = list(csv.DictReader(open(report / "ranking.csv")))
    by_aux = {r["aux"]: r for r in rows}
    assert "missing train split of 'bc2gm'" in by_aux["bc2gm"]["stopped"] and by_aux["bc2gm"]["dev F1 @1 ep"] == ""
    [winner] = [r for r in rows if r["stopped"] == "winner"]
    loser = next(r for r in rows if r["stopped"] == "after round 1")
    assert float(winner["dev F1 @1 ep"]) >= float(loser["dev F1 @1 ep"])
    assert (report / "ranking.md").exists() and (report / "dev_curves.png").stat().st_size > 0
    searched = json.loads((tmp_path / "runs" / "cs" / f"ncbi__{winner['aux']}" / "random" / "frac1" / "seed1" /
                           "metrics.json").read_text())
    assert searched["epochs"] == 2 and searched["resumed"] is True
    straight = tmp_path / "straight"
    again = run_cli("bioner_pl.train", "model=cs", "main=ncbi", f"aux={winner['aux']}", "trainer.max_epochs=2",
                    *BUDGET, f"hydra.run.dir={straight}")
    assert again.returncode == 0, again.stderr[-3000:]
    expected = json.loads((straight / "metrics.json").read_text())
    for key in ("dev", "test", "best_epoch", "epochs", "params"):
        assert searched[key] == expected[key], key
    # rerun: everything is done, nothing trains again
    rerun = run_cli("bioner_pl.partners", "main=ncbi", "candidates=[bionlp09,exptm,bc2gm]", "rounds=2",
                    "trainer.max_epochs=2", f"out_root={tmp_path}", *BUDGET)
    assert rerun.returncode == 0 and rerun.stdout.count("finished earlier, nothing to do") >= 2


@pytest.mark.parametrize("options, message", [
    (["main=ncbi", "candidates=[bionlp09,nope]"], "unknown corpus 'nope'"),
    (["main=ncbi", "eta=x"], "eta must be a whole number of at least 2, got 'x'"),
    (["candidates=bionlp09"], "main=<corpus> is required"),
    (["main=ncbi", "bionlp09"], "Error parsing override 'bionlp09'"),  # Hydra's word, as for training
])
@pytest.mark.slow
def test_bad_options_are_one_line(tmp_path, options, message):
    result = run_cli("bioner_pl.partners", *options, f"out_root={tmp_path}")
    assert result.returncode in (1, 2) and message in result.stderr and "Traceback" not in result.stderr


def test_default_candidates_include_user_corpus_configs(tmp_path):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "mine.yaml").write_text("path: /data/mine\n")
    dirs = partners.corpus_dirs([f"hydra.searchpath=[file://{tmp_path}]", "batching=by_length"])
    names = ds.known_corpora(dirs)
    assert names[-1] == "mine" and len(names) == 18 and "ncbi" in names
