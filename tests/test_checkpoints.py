"""Checkpoints written by earlier code keep working: they load, tag as they did, and resume."""

import json
import os
import shutil

import pytest
import torch

from bioner_pl import Tagger
from bioner_pl.data import read_columns
from bioner_pl.errors import InputError
from bioner_pl.tagging.checkpoint import load_net
from helpers import FIXTURE_CHECKPOINTS, FIXTURE_DATA, run_cli

OLD = FIXTURE_CHECKPOINTS / "cs-before-layout-move.ckpt"
EXPECTED = json.loads((FIXTURE_CHECKPOINTS / "cs-before-layout-move.expected.json").read_text())


@pytest.mark.parametrize("head", ["ncbi", "bionlp09"])
def test_a_checkpoint_written_before_the_move_tags_as_it_did(head):
    assert torch.load(OLD, weights_only=False)["hyper_parameters"]["arch"]["_target_"] == "bioner_pl.models.CrossSharing"
    sentences = [list(tokens) for tokens, _ in read_columns(FIXTURE_DATA / "NCBI-disease-IOB" / "test.tsv")]
    docs = Tagger.load(OLD, device="cpu", head=head).predict(sentences)
    expected = EXPECTED[head]
    assert [doc.tags[0] for doc in docs] == expected["tags"]
    entities = [(e.text, e.type, e.start, e.end, e.confidence) for doc in docs for e in doc.entities]
    assert len(entities) == len(expected["entities"]) > 40
    for ours, theirs in zip(entities, expected["entities"]):
        assert list(ours[:4]) == theirs[:4] and ours[4] == pytest.approx(theirs[4], abs=1e-4)


@pytest.mark.slow
def test_a_run_directory_written_before_the_move_resumes(tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    shutil.copy(OLD, run / "checkpoints" / "last.ckpt")
    # The configuration it was trained with, in today's names (optim.lr is now optimizer.lr).
    result = run_cli("bioner_pl.train", "model=cs", "main=ncbi", "aux=bionlp09", "embedding=random",
                     "embedding.vectors.dim=16", "+model.arch.hidden=24", "+model.arch.out_dim=24", "optimizer.lr=0.01",
                     "logger=csv", "trainer.max_epochs=16", "resume=true", f"hydra.run.dir={run}")
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["resumed"] and metrics["epochs"] == 16 and metrics["test"]["f1"] > 0.1


def test_a_checkpoint_naming_another_architecture_is_refused(tmp_path):
    raw = torch.load(OLD, weights_only=False)
    raw["hyper_parameters"]["arch"]["_target_"] = "builtins.print"
    torch.save(raw, tmp_path / "other.ckpt")
    with pytest.raises(InputError, match="asks for architecture 'builtins.print', which is not one of ours"):
        load_net(tmp_path / "other.ckpt")


class RunsAShellCommand:
    """What a crafted checkpoint carries: unpickling it with the full unpickler calls os.system."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def crafted(tmp_path):
    marker = tmp_path / "the-payload-ran"
    raw = torch.load(OLD, weights_only=True)
    raw["hyper_parameters"]["info"] = RunsAShellCommand(marker)
    torch.save(raw, tmp_path / "crafted.ckpt")
    return tmp_path / "crafted.ckpt", marker


def test_a_checkpoint_that_would_run_code_is_refused_and_nothing_runs(tmp_path):
    ckpt, marker = crafted(tmp_path)
    with pytest.raises(InputError, match=r"refused: the file asks to call (os|posix)\.system.*nothing of it ran"):
        load_net(ckpt)
    assert not marker.exists()


@pytest.mark.slow
def test_predict_refuses_it_in_one_line(tmp_path):
    ckpt, marker = crafted(tmp_path)
    (tmp_path / "in.txt").write_text("Mutations in BRCA1 cause breast cancer.\n")
    result = run_cli("bioner_pl.predict", f"ckpt={ckpt}", f"input={tmp_path / 'in.txt'}")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"bioner-pl: error: {ckpt}: refused")
    assert not marker.exists() and not (tmp_path / "in.jsonl").exists()


@pytest.mark.slow
def test_resuming_a_run_directory_whose_last_checkpoint_would_run_code_is_refused(tmp_path):
    ckpt, marker = crafted(tmp_path)
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    shutil.move(ckpt, run / "checkpoints" / "last.ckpt")
    result = run_cli("bioner_pl.train", "model=cs", "main=ncbi", "aux=bionlp09", "embedding=random",
                     "embedding.vectors.dim=16", "+model.arch.hidden=24", "+model.arch.out_dim=24", "logger=csv",
                     "trainer.max_epochs=16", "resume=true", f"hydra.run.dir={run}")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert "refused: the file asks to call" in result.stderr.strip().splitlines()[-1]
    assert not marker.exists() and not (run / "metrics.json").exists()
