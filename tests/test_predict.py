"""Tagging new text and re-scoring with a self-contained checkpoint."""

import json

import pytest
import torch

from bioner_pl.data.tokenize import split_sentences, tokenize
from bioner_pl.formats.document import document
from helpers import FIXTURE_DATA, run_cli

TEXT = "Mutations   in  BRCA1 (breast cancer 1) cause naïve “ovarian cancer”.  Dr. Smith et al. saw it, e.g. in mice."


def test_tokens_and_sentences_keep_offsets():
    spans = split_sentences(TEXT)
    assert len(spans) == 2 and TEXT[spans[1][0]:].lstrip().startswith("Dr. Smith")  # no split after Dr. / al. / e.g.
    for start, end in spans:
        for token in tokenize(TEXT[start:end], start):
            assert TEXT[token.start:token.end] == token.text
    assert [t.text for t in tokenize("BRCA1 (breast)")] == ["BRCA1", "(", "breast", ")"]


def test_sentence_ends_after_words_and_spaced_marks_not_after_abbreviations():
    text = "It grew . Then J. Smith (Fig. 2) left the U.S. in 2001! [Ref] two? No: (vs. A) Done.\tTabs. Here"
    assert [text[s:e].strip() for s, e in split_sentences(text)] == [
        "It grew .", "Then J. Smith (Fig. 2) left the U.S. in 2001!", "[Ref] two?", "No: (vs. A) Done.", "Tabs.", "Here"]


def test_documents_keep_offsets_into_the_text():
    doc = document(TEXT)
    assert [t.text for t in doc.sentences[0][:3]] == ["Mutations", "in", "BRCA1"]
    assert all(TEXT[t.start:t.end] == t.text for s in doc.sentences for t in s)
    assert [s.words for s in doc.sentences] == [[t.text for t in s] for s in doc.sentences]
    # the offsets tagging asks for (without making Tokens) are the Tokens' own
    for sentence, tokens in zip(document(TEXT).sentences, doc.sentences):
        n = len(tokens)
        assert [sentence.offsets(i, j) for i in range(n) for j in range(i, n)] == \
            [(tokens[i].start, tokens[j].end) for i in range(n) for j in range(i, n)]


def test_predict_jsonl_from_an_empty_directory(trained, tmp_path):
    (tmp_path / "abstracts.txt").write_text(TEXT + "\n\n" + "Ataxia-telangiectasia (A-T) is a recessive disorder.\n",
                                            encoding="utf-8")
    ckpt = trained / "checkpoints" / "best.ckpt"
    result = run_cli("bioner_pl.predict", f"ckpt={ckpt}", "input=abstracts.txt", cwd=tmp_path,
                     env={"BIONER_DATA_DIR": str(tmp_path / "no-data"), "BIONER_VECTORS_DIR": str(tmp_path / "none")})
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["abstracts.jsonl", "abstracts.txt"]
    docs = [json.loads(line) for line in (tmp_path / "abstracts.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [d["text"] for d in docs] == [TEXT, "Ataxia-telangiectasia (A-T) is a recessive disorder."]
    assert sum(len(doc["entities"]) for doc in docs) >= 2  # "breast cancer", "ovarian cancer", ... are found
    for doc in docs:
        for e in doc["entities"]:
            assert doc["text"][e["start"]:e["end"]] == e["text"] and e["type"] == "Disease"


def test_conll_round_trip_and_other_head(trained, tmp_path):
    source = FIXTURE_DATA / "BioNLP09-IOB" / "test.tsv"
    result = run_cli("bioner_pl.predict", f"ckpt={trained}/checkpoints/best.ckpt", f"input={source}",
                     f"output={tmp_path}/out.conll", "format=conll", "head=bionlp09")
    assert result.returncode == 0, result.stderr[-3000:]
    ours = (tmp_path / "out.conll").read_text().split("\n\n")
    theirs = source.read_text().strip("\n").split("\n\n")
    assert len([s for s in ours if s.strip()]) == len(theirs)
    tags = [line.split("\t")[1] for sentence in ours for line in sentence.splitlines()]
    assert tags.count("B-Protein") >= 10  # the BioNLP09 head finds proteins (the test slice has 39)
    for mine, original in zip(ours, theirs):
        assert [line.split("\t")[0] for line in mine.splitlines()] == [line.split("\t")[0] for line in original.splitlines()]
        assert all(line.split("\t")[1] in ("O", "B-Protein", "I-Protein") for line in mine.splitlines())


def test_brat_output(trained, tmp_path):
    (tmp_path / "a.txt").write_text(TEXT, encoding="utf-8")
    result = run_cli("bioner_pl.predict", f"ckpt={trained}/checkpoints/best.ckpt", f"input={tmp_path}/a.txt",
                     "format=brat", "documents=file")
    assert result.returncode == 0, result.stderr[-3000:]
    text = (tmp_path / "a.brat" / "doc0.txt").read_text(encoding="utf-8")
    assert text == TEXT
    annotations = (tmp_path / "a.brat" / "doc0.ann").read_text(encoding="utf-8").splitlines()
    assert annotations  # the disease mentions of TEXT
    for line in annotations:
        ident, span, surface = line.split("\t")
        kind, start, end = span.split()
        assert ident.startswith("T") and text[int(start):int(end)] == surface


def test_evaluate_reproduces_training_f1(trained, tmp_path):
    metrics = json.loads((trained / "metrics.json").read_text())
    result = run_cli("bioner_pl.evaluate", f"ckpt={trained}/{metrics['checkpoint']}", "dataset=ncbi", "split=test",
                     f"output={tmp_path}/pred.tsv")
    assert result.returncode == 0, result.stderr[-3000:]
    scores = json.loads((tmp_path / "pred.json").read_text())
    assert scores["f1"] == pytest.approx(metrics["test"]["f1"], abs=1e-12)
    assert scores["precision"] == pytest.approx(metrics["test"]["precision"], abs=1e-12)
    assert (tmp_path / "pred.tsv").read_text() == (trained / "test_predictions.tsv").read_text()
    assert "Disease" in result.stdout
    views = scores["match_views"]  # the second view: strict is the headline, partial credits overlaps
    assert views["strict"]["f1"] == pytest.approx(scores["f1"], abs=1e-12) and views["partial"]["f1"] >= scores["f1"]
    assert "partial-match views (nervaluate):" in result.stdout and "partial overlap (counted half)" in result.stdout


@pytest.mark.parametrize("content, message", [
    (b"", "empty input"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
])
@pytest.mark.slow
def test_bad_input_files(trained, tmp_path, content, message):
    (tmp_path / "in.txt").write_bytes(content)
    result = run_cli("bioner_pl.predict", f"ckpt={trained}/checkpoints/best.ckpt", f"input={tmp_path}/in.txt")
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("make", ["torch_dict", "garbage"])
def test_foreign_checkpoint(tmp_path, make):
    ckpt = tmp_path / "model.ckpt"
    if make == "torch_dict":
        torch.save({"state_dict": {"w": torch.zeros(2)}, "epoch": 3}, ckpt)
    else:
        ckpt.write_bytes(b"not a checkpoint at all")
    (tmp_path / "in.txt").write_text("Some text.")
    result = run_cli("bioner_pl.predict", f"ckpt={ckpt}", f"input={tmp_path}/in.txt")
    assert result.returncode == 2 and "checkpoint" in result.stderr and str(ckpt) in result.stderr
    assert "Traceback" not in result.stderr
