"""A trained tagger exported to share (model.safetensors + config.json + model card): it loads with
no pickle and tags exactly as the checkpoint does."""

import json

import pytest
import torch

from bioner_pl import Tagger
from bioner_pl.data import read_columns
from bioner_pl.errors import InputError
from bioner_pl.tagging.checkpoint import load_net
from bioner_pl.tagging.export import export
from helpers import FIXTURE_CHECKPOINTS, FIXTURE_DATA, run_cli

OLD = FIXTURE_CHECKPOINTS / "cs-before-layout-move.ckpt"
TEXTS = ["Germline APC mutations cause familial adenomatous polyposis and colon cancer.",
         "The BRCA1 protein binds p53 in breast cancer cells; ataxia-telangiectasia patients lack ATM."]


def tagged(tagger: Tagger, sentences) -> list:
    docs = tagger.predict(sentences)
    return [(doc.tags, [(e.text, e.type, e.start, e.end, e.confidence) for e in doc.entities]) for doc in docs]


@pytest.mark.slow  # the export command
def test_an_export_loads_without_pickle_and_tags_exactly_as_its_checkpoint(tmp_path, monkeypatch):
    out = tmp_path / "shared"
    result = run_cli("bioner_pl.export", f"ckpt={OLD}", f"out={out}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    config = json.loads((out / "config.json").read_text())
    assert config["datasets"] == ["ncbi", "bionlp09"] and config["arch"]["name"] == "cs"
    assert config["version"] == 2 and config["embedding"] == {"kind": "word_char"}
    card = (out / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: bioner-pl") and "- `bionlp09`: Protein" in card
    sentences = [list(tokens) for tokens, _ in read_columns(FIXTURE_DATA / "NCBI-disease-IOB" / "test.tsv")]
    for head in ("ncbi", "bionlp09"):
        expected = tagged(Tagger.load(OLD, device="cpu", head=head), sentences + TEXTS)
        with monkeypatch.context() as m:  # nothing is unpickled on this path
            m.setattr(torch, "load", lambda *a, **k: pytest.fail("an export must not be unpickled"))
            assert tagged(Tagger.load(out, device="cpu", head=head), sentences + TEXTS) == expected
    assert sum(len(entities) for _, entities in expected) > 40
    predicted = run_cli("bioner_pl.predict", f"ckpt={out}", f"input={FIXTURE_DATA / 'NCBI-disease-IOB/test.tsv'}",
                        f"output={tmp_path / 'out.jsonl'}")
    assert predicted.returncode == 0, predicted.stderr[-3000:]


def test_an_export_that_names_a_foreign_class_or_is_not_ours_is_refused(tmp_path):
    out = export(load_net(OLD), tmp_path / "shared")
    config = json.loads((out / "config.json").read_text())
    config["arch"] = {"_target_": "os.system"}
    (out / "config.json").write_text(json.dumps(config))
    with pytest.raises(InputError, match="asks for architecture 'os.system', which is not one of ours"):
        Tagger.load(out)
    (out / "config.json").write_text("{}")
    with pytest.raises(InputError, match="not a bioner-pl export"):
        Tagger.load(out)
    with pytest.raises(InputError, match="not a bioner-pl export: config.json is missing"):
        Tagger.load(tmp_path)
