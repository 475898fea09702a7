"""Cross-corpus evaluation (issue #46): type correspondences, the seen rule, a run scored on its own
corpus through the cross-corpus path equals its in-corpus score, reruns score only what is missing,
and the table from runs' scores."""

import json
import shutil

import pytest

from bioner_pl.config import compose_config
from bioner_pl.errors import InputError
from bioner_pl.experiments import crosscorpus
from bioner_pl.experiments.crosscorpus import Correspondence, CrossCorpusFile, Scores
from bioner_pl.experiments import tables
from helpers import run_cli

LINKS = Correspondence({"protein": {"exptm": "Protein", "bc2gm": "GENE", "bionlp11id_ggp": "Protein", "jnlpba": "protein"},
                        "disease": {"ncbi": "Disease"}},
                       [["bionlp11id", "bionlp11id_ggp", "bionlp11id_chem"]])


def test_types_map_to_the_shared_name_and_other_types_to_o():
    assert LINKS.shared(["B-GENE", "I-GENE", "O"], "bc2gm") == ["B-protein", "I-protein", "O"]
    # JNLPBA's other types are not proteins: gone on the gold side, so predicting them is no error
    assert LINKS.shared(["B-DNA", "I-DNA", "B-protein", "B-cell_type"], "jnlpba") == ["O", "O", "B-protein", "O"]
    assert LINKS.entity_type("ncbi") == "disease" and LINKS.entity_type("linnaeus") is None


def test_a_corpus_trained_on_or_cut_from_the_same_release_is_seen():
    assert LINKS.targets("exptm", []) == {"exptm": True, "bc2gm": False, "bionlp11id_ggp": False, "jnlpba": False}
    # trained beside BioNLP11ID (all its types): its protein-only cut shares the texts
    assert LINKS.targets("exptm", ["bionlp11id"]) == {"exptm": True, "bc2gm": False, "bionlp11id_ggp": True,
                                                       "jnlpba": False}
    assert LINKS.targets("exptm", ["jnlpba", "bc2gm"])["jnlpba"] and LINKS.targets("ncbi", []) == {"ncbi": True}
    assert LINKS.targets("linnaeus", []) == {}  # no entity type here: nothing to score


def test_a_corpus_under_two_types_is_refused():
    with pytest.raises(InputError, match="one entity type"):
        Correspondence({"protein": {"jnlpba": "protein"}, "cell": {"jnlpba": "cell_type"}})


@pytest.mark.slow
def test_a_run_on_its_own_corpus_equals_its_in_corpus_score_and_reruns_skip_what_is_done(trained, tmp_path):
    """The fixture run (FS-MTM, ncbi + bionlp09): Ex-PTM given as a disease corpus by a user's
    mapping, so that the run has an unseen corpus of its type among the fixture slices."""
    metrics = json.loads((trained / "metrics.json").read_text())
    types = ["~entity_types.protein.bionlp09", "~entity_types.protein.exptm",
             "~entity_types.disease.bc5cdr_disease", "+entity_types.disease.bionlp09=Protein"]
    first = run_cli("bioner_pl.crosscorpus", f"runs={trained}", *types)
    assert first.returncode == 0, first.stderr[-3000:]
    result = crosscorpus.read_result(trained / "crosscorpus.json")
    own = result.corpora["ncbi"]
    assert own.in_corpus and own.f1 == pytest.approx(metrics["test"]["f1"], abs=1e-12)
    assert own.precision == pytest.approx(metrics["test"]["precision"], abs=1e-12)
    assert result.corpora["bionlp09"] == Scores(seen=True)  # an auxiliary corpus: seen, not scored
    assert result.run["seed"] == metrics["seed"] and result.head == "ncbi" and result.trained_on == ["ncbi", "bionlp09"]
    assert (trained / "crosscorpus" / "ncbi_test.tsv.gz").is_file()

    # a corpus added to the mapping: only it is scored, the others are kept as they were
    into = tmp_path / "results"
    (into / "here").mkdir(parents=True)
    (into / "here" / "metrics.json").write_text("{}")
    second = run_cli("bioner_pl.crosscorpus", f"runs={trained}", *types, "+entity_types.disease.exptm=Protein",
                     f"into={into / 'here'}")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "exptm test F1" in second.stdout and "ncbi test" not in second.stdout
    again = crosscorpus.read_result(trained / "crosscorpus.json")
    assert again.corpora["ncbi"] == own and not again.corpora["exptm"].seen and again.corpora["exptm"].f1 is not None
    assert json.loads((into / "here" / "crosscorpus.json").read_text()) == json.loads(again.model_dump_json())
    assert (into / "here" / "crosscorpus" / "exptm_test.tsv.gz").is_file()
    # a checkpoint outside a run directory: its scores in a folder of its own beside it, no run to place it
    shutil.copy(trained / "checkpoints" / "best.ckpt", tmp_path / "mine.ckpt")
    alone = run_cli("bioner_pl.crosscorpus", f"ckpt={tmp_path / 'mine.ckpt'}", *types)
    assert alone.returncode == 0, alone.stderr[-3000:]
    mine = crosscorpus.read_result(tmp_path / "mine.ckpt.crosscorpus" / "crosscorpus.json")
    assert mine.run is None and mine.corpora["ncbi"].f1 == own.f1 and mine.checkpoint == "../mine.ckpt"
    # the compare command reads the predictions written: same scores
    compared = run_cli("bioner_pl.compare", f"runs={trained / 'crosscorpus' / 'exptm_test.tsv.gz'}", "resamples=200")
    assert compared.returncode == 0, compared.stderr[-2000:]
    assert f"{100 * again.corpora['exptm'].f1:.2f}" in compared.stdout


def fixture_result(model: str, aux: list[str], seed: int, own: float, away: dict[str, float | None]) -> CrossCorpusFile:
    corpora = {"exptm": Scores(seen=True, in_corpus=True, precision=own, recall=own, f1=own)}
    corpora |= {c: Scores(seen=True) if f is None else Scores(seen=False, precision=f, recall=f, f1=f)
                for c, f in away.items()}
    run = {"model": model, "aux": aux, "main": "exptm", "embedding": "glove50", "seed": seed, "epochs": 80,
           "protocol": {"batching": "by_length"}}
    return CrossCorpusFile(checkpoint="checkpoints/best.ckpt", fingerprint=str(seed), head="exptm",
                           trained_on=["exptm", *aux], entity_type="protein", split="test", run=run, corpora=corpora)


def test_the_table_from_runs_scores(tmp_path):
    runs = [fixture_result("stm", [], 1, 0.68, {"bionlp09": 0.50, "bc2gm": 0.40}),
            fixture_result("stm", [], 2, 0.66, {"bionlp09": 0.52, "bc2gm": 0.42}),
            fixture_result("cs", ["bionlp09"], 1, 0.71, {"bionlp09": None, "bc2gm": 0.39})]
    for number, run in enumerate(runs):
        folder = tmp_path / "runs" / f"run{number}"
        folder.mkdir(parents=True)
        (folder / "crosscorpus.json").write_text(run.model_dump_json())
    (title, header, rows), = crosscorpus.tables(crosscorpus.collect([tmp_path / "runs"]))
    assert header == ["model", "seeds", "in-corpus (exptm)", "bionlp09", "bc2gm", "mean cross-corpus", "drop"]
    stm, cs = rows
    assert stm == ["STM", "2", "67.00 ± 1.41", "51.00 ± 1.41", "41.00 ± 1.41", "46.00 ± 1.41 (2)", "21.00 ± 2.83"]
    # CS-MTM saw BioNLP09: its mean is over BC2GM alone, against STM's mean over BC2GM (41.00)
    assert cs == ["CS-MTM + bionlp09", "1", "71.00 ↑", "seen", "39.00 ↓", "39.00 ↓ (1; STM 41.00)", "32.00 (STM 26.00)"]
    assert "main corpus exptm" in title and "by_length" in title

    out = tables.run(compose_config("tables", [f"roots=[{tmp_path / 'runs'}]", f"out={tmp_path / 'tables'}",
                                               f"data.dir={tmp_path / 'none'}"]))
    text = (out / "crosscorpus.md").read_text()
    assert "| CS-MTM + bionlp09 | 1 | 71.00 ↑ | seen |" in text
    assert (out / "crosscorpus.png").stat().st_size > 1000 and (out / "crosscorpus1.csv").is_file()


def test_a_crafted_scores_file_is_refused_in_one_line(tmp_path):
    (tmp_path / "crosscorpus.json").write_text(json.dumps({"format": 1, "checkpoint": 3}))
    with pytest.raises(InputError, match="not cross-corpus scores of ours") as err:
        crosscorpus.read_result(tmp_path / "crosscorpus.json")
    assert "\n" not in str(err.value)


def test_leftover_links_where_scores_are_written_are_replaced_not_followed(tmp_path):
    """A results tree someone else left: links at the scores' names (and their temp names) must not
    carry our bytes to the files they point at."""
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched")
    run, target = tmp_path / "runs" / "r", tmp_path / "results" / "r"
    (run / "crosscorpus").mkdir(parents=True)
    (target / "crosscorpus").mkdir(parents=True)
    (run / "crosscorpus.json").write_text(fixture_result("stm", [], 1, 0.7, {}).model_dump_json())
    (run / "crosscorpus" / "bc2gm_test.tsv.gz").write_bytes(b"scores")
    (target / "metrics.json").write_text("{}")
    for name in ("crosscorpus.json", "crosscorpus.json.tmp", "crosscorpus/bc2gm_test.tsv.gz.tmp"):
        (target / name).symlink_to(victim)
    crosscorpus.copy_into(run, tmp_path / "runs", tmp_path / "results")
    assert victim.read_text() == "untouched"
    assert not (target / "crosscorpus.json").is_symlink() and crosscorpus.read_result(target / "crosscorpus.json")
    assert (target / "crosscorpus" / "bc2gm_test.tsv.gz").read_bytes() == b"scores"
