import gzip

import pytest

from bioner_pl import data as ds
from bioner_pl.formats import conll as columns
from bioner_pl.experiments.compare import Run, compare
from bioner_pl.errors import InputError
from bioner_pl.scoring import entity_scores
from helpers import run_cli


def write_predictions(path, sentences, predictions):
    """What training writes (columns.write_predictions), gzipped as `make results` stores it for .gz."""
    plain = path.with_suffix("") if path.suffix == ".gz" else path
    columns.write_predictions(plain, sentences, dict(enumerate(predictions)))
    if plain != path:
        path.write_bytes(gzip.compress(plain.read_bytes()))
        plain.unlink()
    return path


@pytest.fixture
def test_split(data_dir):
    return ds.read_iob(data_dir / "Ex-PTM-IOB" / "test.tsv")


def corrupt(sentences, every: int):
    """Every `every`-th sentence tagged all O, every (every+1)-th with its I- tags turned to B-."""
    return [["O"] * len(s.tags) if i % every == 0 else
            [t.replace("I-", "B-") for t in s.tags] if i % (every + 1) == 0 else list(s.tags)
            for i, s in enumerate(sentences)]


def test_scores_are_seqeval_scores(tmp_path, test_split):
    pred = corrupt(test_split, 3)
    run = Run.load(str(write_predictions(tmp_path / "p.tsv.gz", test_split, pred)))
    expected = entity_scores([list(s.tags) for s in test_split], pred)
    assert run.scores() == pytest.approx((expected["precision"], expected["recall"], expected["f1"]), abs=1e-12)


def test_errors_are_split_into_overlapping_and_outright(tmp_path):
    sentences = [ds.Sentence(("a", "b", "c", "d"), ("B-X", "I-X", "O", "B-X")),  # a span cut short, one missed
                 ds.Sentence(("e", "f"), ("O", "O")),                            # one made up
                 ds.Sentence(("g", "h"), ("B-X", "I-X"))]                        # right
    pred = [["B-X", "O", "O", "O"], ["B-X", "O"], ["B-X", "I-X"]]
    table = compare([str(write_predictions(tmp_path / "p.tsv", sentences, pred))], resamples=10)
    assert f"| {tmp_path / 'p.tsv'} | 3 | 3 | 2 (1) | 2 (1) |" in table
    # the partial-match views (nervaluate): the span cut short counts half under partial, fully for its type
    assert "| run | F1 strict (boundary and type) | F1 exact boundary, any type | F1 partial overlap (counted half) " \
           "| F1 type, on any overlap |" in table
    assert f"| {tmp_path / 'p.tsv'} | 33.33 | 33.33 | 50.00 | 66.67 |" in table


def test_the_strict_view_is_the_headline_score(test_split):
    from bioner_pl.scoring import match_views

    gold, pred = [list(s.tags) for s in test_split], corrupt(test_split, 3)
    views, headline = match_views(gold, pred), entity_scores(gold, pred)
    assert views["strict"] == pytest.approx(headline, abs=1e-12)
    assert views["strict"]["f1"] < views["partial"]["f1"] < views["ent_type"]["f1"]


def test_pairs_separate_only_what_the_test_set_can(tmp_path, test_split):
    perfect = write_predictions(tmp_path / "perfect.tsv", test_split, [list(s.tags) for s in test_split])
    bad = write_predictions(tmp_path / "bad.tsv", test_split, corrupt(test_split, 2))
    same = write_predictions(tmp_path / "same.tsv", test_split, corrupt(test_split, 2))
    table = compare([str(perfect), str(bad), str(same)], resamples=500)
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in table.splitlines()]
    pairs = {(row[0], row[1]): row[2:] for row in cells if len(row) == 5}
    assert pairs[(str(bad), str(same))] == ["+0.00", "+0.00 – +0.00", "no"]
    assert pairs[(str(perfect), str(bad))][2] == "A higher"
    assert "| 100.00 | 100.00 | 100.00 | 100.00 – 100.00 |" in table


def test_different_test_sets_are_refused(tmp_path, test_split):
    a = write_predictions(tmp_path / "a.tsv", test_split, [list(s.tags) for s in test_split])
    shorter = write_predictions(tmp_path / "b.tsv", test_split[1:], [list(s.tags) for s in test_split[1:]])
    with pytest.raises(InputError, match="sentences.*same test set") as err:
        compare([str(a), str(shorter)], resamples=10)
    assert str(shorter) in str(err.value)
    other_gold = [ds.Sentence(s.tokens, ("O",) * len(s.tags)) if i == 4 else s for i, s in enumerate(test_split)]
    c = write_predictions(tmp_path / "c.tsv", other_gold, [list(s.tags) for s in other_gold])
    with pytest.raises(InputError, match="sentence 5 .*differs"):
        compare([str(a), str(c)], resamples=10)


@pytest.mark.slow
def test_cli_reads_run_directories_and_names_bad_input(tmp_path, test_split):
    run_dir = tmp_path / "seed1"
    run_dir.mkdir()
    write_predictions(run_dir / "test_predictions.tsv.gz", test_split, corrupt(test_split, 4))
    done = run_cli("bioner_pl.compare", f"runs=[{run_dir}]", "resamples=200")
    assert done.returncode == 0, done.stderr
    assert f"| {run_dir} |" in done.stdout
    empty = tmp_path / "unfinished"
    empty.mkdir()
    malformed = tmp_path / "bad.tsv"
    malformed.write_text("a\tO\tO\nb\tO\n")
    for path, problem in [(empty, "not a finished run"), (malformed, f"{malformed}:2: expected 3 tab-separated columns (token, gold, pred)")]:
        failed = run_cli("bioner_pl.compare", f"runs={path}")
        assert failed.returncode == 2 and problem in failed.stderr, failed.stderr
