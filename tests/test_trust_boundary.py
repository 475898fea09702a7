"""A file is data, never code (issue #44): checkpoints, export folders, run directories to resume
and the leftovers of an interrupted tagging job, crafted as an attacker would, in a temporary
folder. Each attack must run nothing (a marker file must not appear), touch nothing outside its
place, and end in one line (exit 2 from the command line)."""

import json
import os
import shutil
import time

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bioner_pl import Tagger
from bioner_pl.errors import InputError
from bioner_pl.models.transformer import load_pretrained
from bioner_pl.tagging.checkpoint import load_net
from bioner_pl.tagging.export import export
from helpers import FIXTURE_CHECKPOINTS, FIXTURE_DATA, run_cli

OLD = FIXTURE_CHECKPOINTS / "cs-before-layout-move.ckpt"
OLD_EXPORT = FIXTURE_CHECKPOINTS / "cs-export-v1"  # written by the export of before this change
SENTENCES = [["Germline", "APC", "mutations", "cause", "familial", "adenomatous", "polyposis", "."],
             ["BRCA1", "binds", "p53", "in", "breast", "cancer", "cells", "."]]


def payload(marker) -> dict:
    """What a crafted file puts where a value should be: a Hydra config that would run a shell command."""
    return {"_target_": "sympy.sympify", "_args_": [f"__import__('os').system('touch {marker}')"]}


def crafted_checkpoint(tmp_path, change) -> "Path":
    raw = torch.load(OLD, weights_only=True)
    change(raw)
    torch.save(raw, tmp_path / "crafted.ckpt")
    return tmp_path / "crafted.ckpt"


def crafted_export(tmp_path, change) -> "Path":
    folder = tmp_path / "export"
    shutil.copytree(OLD_EXPORT, folder)
    config = json.loads((folder / "config.json").read_text())
    change(config)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def refused(path, match: str) -> str:
    with pytest.raises(InputError, match=match) as err:
        load_net(path)
    assert "\n" not in str(err.value)
    return str(err.value)


def tags(model) -> list:
    return [doc.tags for doc in Tagger(model, device="cpu").predict(SENTENCES)]


# -- what loaded before still loads -----------------------------------------------------------------
def test_an_export_written_before_the_schema_loads_and_tags_as_its_checkpoint():
    assert json.loads((OLD_EXPORT / "config.json").read_text())["arch"]["_target_"] == "bioner_pl.models.CrossSharing"
    assert tags(load_net(OLD_EXPORT)) == tags(load_net(OLD))


def test_a_checkpoint_names_its_parts_by_name_and_an_export_copies_only_the_checked_description(tmp_path):
    model = load_net(OLD)
    assert model.spec.arch["name"] == "cs" and model.spec.embedding == {"kind": "word_char"}
    out = export(model, tmp_path / "out")
    config = json.loads((out / "config.json").read_text())
    assert set(config) == {"format", "version", "arch", "datasets", "tag_sets", "words", "chars", "word_dim",
                           "embedding", "info"}
    assert tags(load_net(out)) == tags(model)


# -- code ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["arch.hidden", "arch.bigram", "info.model", "embedding", "embedding.stride"])
def test_a_nested_target_anywhere_runs_nothing(tmp_path, where):
    marker = tmp_path / "MARKER"

    def plant(hparams):
        if where == "embedding":
            hparams["embedding"] = payload(marker)
        elif where == "embedding.stride":
            hparams["embedding"] = {"kind": "transformer", "model": "minilm", "stride": payload(marker),
                                    "files": {"config.json": "{}"}}
        else:
            group, key = where.split(".")
            hparams[group][key] = payload(marker)

    refused(crafted_checkpoint(tmp_path, lambda raw: plant(raw["hyper_parameters"])), "not a tagger of ours")
    refused(crafted_export(tmp_path, plant), "not a tagger of ours")
    assert not marker.exists()


@pytest.mark.slow
@pytest.mark.parametrize("command", ["predict", "evaluate", "export"])
def test_every_command_refuses_a_crafted_tagger_in_one_line(tmp_path, command):
    marker = tmp_path / "MARKER"
    ckpt = crafted_checkpoint(tmp_path, lambda raw: raw["hyper_parameters"]["info"].update(model=payload(marker)))
    (tmp_path / "in.txt").write_text("Mutations in BRCA1 cause breast cancer.\n")
    options = {"predict": [f"input={tmp_path / 'in.txt'}"], "evaluate": ["dataset=ncbi"],
               "export": [f"out={tmp_path / 'shared'}"]}[command]
    result = run_cli(f"bioner_pl.{command}", f"ckpt={ckpt}", *options, cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.stderr.strip().splitlines()[-1].startswith(f"bioner-pl: error: {ckpt}: not a tagger of ours")
    assert not marker.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["crafted.ckpt", "in.txt"]


def test_an_unknown_architecture_or_embedding_is_refused_by_name(tmp_path):
    refused(crafted_export(tmp_path, lambda c: c.update(arch={"_target_": "builtins.exec"})),
            "asks for architecture 'builtins.exec', which is not one of ours")
    shutil.rmtree(tmp_path / "export")
    refused(crafted_export(tmp_path, lambda c: c.update(embedding={"kind": "os.system"})),
            "asks for embedding layer 'os.system', which is not one of ours")


# -- files written anywhere --------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["../escape.py", "/tmp/bioner-escape.py", "sub/config.json", "model.safetensors"])
def test_tokenizer_files_are_known_names_written_nowhere_else(tmp_path, name):
    refused(crafted_export(tmp_path, lambda c: c.update(embedding={
        "kind": "transformer", "model": "minilm", "files": {"config.json": "{}", name: "import os"}})),
        "embedding.files")
    with pytest.raises(InputError, match="is not a tokenizer or config file name; refused"):
        load_pretrained("minilm", {"config.json": "{}", name: "import os"})
    assert not os.path.exists("/tmp/escape.py") and not os.path.exists("/tmp/bioner-escape.py")


def test_a_transformer_tagger_without_its_tokenizer_files_is_refused_at_once(tmp_path):
    """A hub name with no stored files: refused, not looked up (loading a file never goes online)."""
    started = time.time()
    refused(crafted_export(tmp_path, lambda c: c.update(embedding={"kind": "transformer", "model": "no-org/no-model"})),
            "must carry its tokenizer and config.json")
    assert time.time() - started < 5


# -- files deleted on resume -------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("record", ["local://{victim}", "{dirpath}/../../victim", "{victim}"])
def test_resume_refuses_checkpoint_records_outside_the_run_and_deletes_nothing(tmp_path, record):
    victim = tmp_path / "victim"
    (victim / "keep").mkdir(parents=True)
    run = tmp_path / "run"

    def forge(raw):
        for key, state in raw["callbacks"].items():
            if key.startswith("ModelCheckpoint{'monitor': 'val/f1'"):
                path = record.format(victim=victim, dirpath=state["dirpath"])
                state["best_model_path"] = path
                state["best_k_models"] = {path: state["best_model_score"]}
                (tmp_path / state["dirpath"].lstrip("/")).mkdir(parents=True, exist_ok=True)

    (run / "checkpoints").mkdir(parents=True)
    shutil.move(crafted_checkpoint(tmp_path, forge), run / "checkpoints" / "last.ckpt")
    result = run_cli("bioner_pl.train", "model=cs", "main=ncbi", "aux=bionlp09", "embedding=random",
                     "embedding.vectors.dim=16", "+model.arch.hidden=24", "+model.arch.out_dim=24", "logger=csv",
                     "trainer.max_epochs=17", "resume=true", f"hydra.run.dir={run}")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert "refused, nothing removed" in result.stderr.strip().splitlines()[-1]
    assert (victim / "keep").is_dir() and not (run / "metrics.json").exists()


# -- predict's leftovers -------------------------------------------------------------------------------
def tag_file(tmp_path, **options):
    from bioner_pl.tagging.collection import tag_collection

    return tag_collection(str(OLD), str(tmp_path / "in.txt"), str(tmp_path / "out.jsonl"), device="cpu",
                          documents_per_batch=2, progress_every=0, **options)


@pytest.fixture
def interrupted(tmp_path):
    """An input of 6 documents, tagged whole (for reference), and a rerun's leftovers: .part and journal."""
    (tmp_path / "in.txt").write_text("".join(f"Patient {i} had colon cancer and APC mutations.\n" for i in range(6)))
    tag_file(tmp_path)
    whole = (tmp_path / "out.jsonl").read_bytes()
    (tmp_path / "out.jsonl").unlink()
    part, journal = tmp_path / "out.jsonl.part", tmp_path / "out.jsonl.part.index"
    lines = whole.splitlines(keepends=True)
    part.write_bytes(b"".join(lines[:2]))
    from bioner_pl.tagging.collection import JOURNAL, digest
    from bioner_pl.formats.document import document

    job = {"input": str(tmp_path / "in.txt"), "input_format": "auto", "documents": "lines", "text_field": "text",
           "format": "jsonl", "shard": 0, "shards": 1}
    texts = (tmp_path / "in.txt").read_text().splitlines()
    journal.write_text(f"{JOURNAL} {json.dumps(job, sort_keys=True)}\n" +
                       "".join(f"{i} {len(lines[i])} {digest(document(texts[i]))}\n" for i in range(2)))
    return whole, part, journal


def test_a_genuine_interrupted_job_resumes_to_the_same_output(tmp_path, interrupted):
    whole, _, _ = interrupted
    tag_file(tmp_path)
    assert (tmp_path / "out.jsonl").read_bytes() == whole


@pytest.mark.parametrize("leftover", ["part", "journal"])
def test_a_leftover_that_is_a_link_is_refused_not_followed(tmp_path, interrupted, leftover):
    _, part, journal = interrupted
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    path = part if leftover == "part" else journal
    path.unlink()
    path.symlink_to(victim)
    with pytest.raises(InputError, match="a link or a special file is refused"):
        tag_file(tmp_path)
    assert victim.read_text() == "precious\n" and not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize("forgery", ["huge", "other_job", "wrong_digest", "skips", "more_documents"])
def test_a_forged_journal_is_refused(tmp_path, interrupted, forgery):
    _, part, journal = interrupted
    header, *lines = journal.read_text().splitlines(keepends=True)
    if forgery == "huge":  # would make a 1 TiB sparse output
        lines[0] = f"0 {1 << 40} {lines[0].split()[2]}\n"
    elif forgery == "other_job":
        header = header.replace('"format": "jsonl"', '"format": "conll"')
    elif forgery == "wrong_digest":  # the attacker's text as document 1's output
        lines[1] = lines[1].rsplit(" ", 1)[0] + " 0123456789abcdef\n"
    elif forgery == "skips":
        lines[1] = lines[1].replace("1 ", "3 ", 1)
    else:
        lines += [f"{n} 0 0123456789abcdef\n" for n in range(2, 9)]
    journal.write_text(header + "".join(lines))
    with pytest.raises(InputError) as err:
        tag_file(tmp_path)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "out.jsonl").exists() and part.stat().st_size < 1 << 20


# -- small files that would take the machine down ---------------------------------------------------
def test_a_pickle_of_shared_references_is_refused_before_it_expands(tmp_path):
    def bomb(raw):
        words = ["<pad>", "<unk>"]
        for _ in range(28):  # 2^28 leaves as a tree, a few hundred bytes as a pickle
            words = [words, words]
        raw["hyper_parameters"]["words"] = words

    ckpt = crafted_checkpoint(tmp_path, bomb)
    assert ckpt.stat().st_size < 1 << 20
    started = time.time()
    refused(ckpt, "values; refused before expanding them")
    assert time.time() - started < 10


def test_config_json_that_is_a_device_a_fifo_or_a_link_out_is_refused_without_reading_it(tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(OLD_EXPORT, folder)
    (folder / "config.json").unlink()
    (folder / "config.json").symlink_to("/dev/zero")
    refused(folder, "outside its folder|not a regular file")
    (folder / "config.json").unlink()
    os.mkfifo(folder / "config.json")
    refused(folder, "not a regular file")  # and does not hang on the FIFO


def test_sizes_are_checked_against_the_weights_before_anything_is_allocated(tmp_path):
    refused(crafted_export(tmp_path, lambda c: c["arch"].update(hidden=16000)), "less than or equal to 4096")
    shutil.rmtree(tmp_path / "export")
    started = time.time()
    refused(crafted_export(tmp_path, lambda c: c["arch"].update(hidden=4000, out_dim=4000)),
            "have shape .* where the network it describes needs")
    assert time.time() - started < 5  # a 4000-wide BiLSTM x 3 would take seconds and gigabytes to build


# -- one line, always --------------------------------------------------------------------------------
@pytest.mark.parametrize("weights", ["past_the_end", "truncated", "not_safetensors", "nan", "integers"])
def test_bad_weights_are_one_line(tmp_path, weights):
    from safetensors.torch import load_file, save_file

    folder = tmp_path / "export"
    shutil.copytree(OLD_EXPORT, folder)
    path = folder / "model.safetensors"
    data = path.read_bytes()
    if weights == "past_the_end":
        path.write_bytes((10 ** 9).to_bytes(8, "little") + data[8:])
    elif weights == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif weights == "not_safetensors":
        path.write_text("hello")
    else:
        tensors = load_file(path)
        name = next(iter(tensors))
        tensors[name] = (torch.full_like(tensors[name], float("nan")) if weights == "nan"
                         else tensors[name].to(torch.int64))
        save_file(tensors, path)
    refused(folder, "cannot read the weights|NaN or infinite|are torch.int64, where")


def test_deep_nesting_is_one_line(tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(OLD_EXPORT, folder)
    (folder / "config.json").write_text('{"format": "bioner-pl tagger", "version": 1, "info": ' + "[" * 100_000
                                        + "]" * 100_000 + "}")
    refused(folder, "nests too deeply|nests deeper")


@pytest.mark.parametrize("pickled", [b"](" * 100_000 + b"]" + b"e" * 100_000, b"(" * 10 + b"l" * 10])
def test_a_deep_or_foreign_pickle_is_one_line(tmp_path, pickled):
    """100,000 nested lists (which a recursive walk would die on), and an opcode torch's
    weights-only unpickler does not take, each as a checkpoint's data.pkl."""
    import zipfile

    torch.save({"hyper_parameters": {}, "state_dict": {}}, tmp_path / "base.ckpt")
    with zipfile.ZipFile(tmp_path / "base.ckpt") as base, \
            zipfile.ZipFile(tmp_path / "crafted.ckpt", "w", zipfile.ZIP_STORED) as out:
        for info in base.infolist():
            out.writestr(info, b"\x80\x02" + pickled + b"." if info.filename.endswith("data.pkl") else base.read(info))
    refused(tmp_path / "crafted.ckpt", "nests deeper than 32 levels|refused: not a checkpoint torch's weights-only")


def test_an_interpolation_is_text_never_resolved(tmp_path, monkeypatch):
    monkeypatch.setenv("BIONER_SECRET", "s3cr3t-value")
    folder = crafted_export(tmp_path, lambda c: c["info"].update(model="${oc.env:BIONER_SECRET}"))
    model = load_net(folder)
    assert model.spec.info.model == "${oc.env:BIONER_SECRET}"
    card = (export(model, tmp_path / "again") / "README.md").read_text()
    assert "${oc.env:BIONER_SECRET}" in card and "s3cr3t-value" not in card


@pytest.mark.slow
def test_evaluate_writes_beside_a_checkpoint_that_is_not_in_a_run_directory(tmp_path):
    (tmp_path / "here").mkdir()
    shutil.copy(OLD, tmp_path / "here" / "model.ckpt")
    result = run_cli("bioner_pl.evaluate", f"ckpt={tmp_path / 'here' / 'model.ckpt'}", "dataset=ncbi", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "here" / "ncbi_test_predictions.tsv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["here"]


# -- fuzzing: a working tagger or one line, never anything else --------------------------------------
ATTACKS = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30), st.sampled_from(["${oc.env:HOME}", "../../etc/passwd", "/dev/zero", "sympy.sympify",
                                           "bioner_pl.models.CrossSharing", "cs", "transformer", "word_char"]),
    st.builds(lambda marker: {"_target_": "builtins.exec", "_args_": [f"open('{marker}', 'w')"]}, st.just("/tmp/MARKER-fuzz")),
)
VALUES = st.recursive(ATTACKS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=10), inner, max_size=4)),
                      max_leaves=12)
FIELDS = ["arch", "datasets", "tag_sets", "words", "chars", "word_dim", "embedding", "info", "format", "version",
          "surprise", "arch.name", "arch.hidden", "arch.bigram", "embedding.kind", "embedding.files", "info.model"]


def mutate(config: dict, field: str, value) -> dict:
    config = json.loads(json.dumps(config))
    group, _, key = field.partition(".")
    if key:
        if not isinstance(config.get(group), dict):
            config[group] = {}
        config[group][key] = value
    else:
        config[group] = value
    return config


def tagged_or_one_line(load) -> None:
    try:
        model = load()
    except InputError as err:
        assert "\n" not in str(err) and str(err)
        return
    Tagger(model, device="cpu").predict(SENTENCES)  # it loaded: then it tags


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.lists(st.tuples(st.sampled_from(FIELDS), VALUES), min_size=1, max_size=3))
def test_fuzzed_export_configs_load_as_a_tagger_or_fail_in_one_line(tmp_path, changes):
    config = json.loads((OLD_EXPORT / "config.json").read_text())
    for field, value in changes:
        config = mutate(config, field, value)
    folder = tmp_path / "fuzz"
    folder.mkdir(exist_ok=True)
    shutil.copy(OLD_EXPORT / "model.safetensors", folder)
    (folder / "config.json").write_text(json.dumps(config, allow_nan=True))
    tagged_or_one_line(lambda: load_net(folder))
    assert not os.path.exists("/tmp/MARKER-fuzz")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.lists(st.tuples(st.sampled_from([f for f in FIELDS if f not in ("format", "version")]), VALUES),
                        min_size=1, max_size=3))
def test_fuzzed_checkpoint_hyperparameters_load_as_a_tagger_or_fail_in_one_line(tmp_path, changes):
    raw = torch.load(OLD, weights_only=True)
    hparams = raw["hyper_parameters"]
    for field, value in changes:
        hparams = mutate(hparams, field, value)
    raw["hyper_parameters"] = hparams
    torch.save(raw, tmp_path / "fuzz.ckpt")
    tagged_or_one_line(lambda: load_net(tmp_path / "fuzz.ckpt"))
    assert not os.path.exists("/tmp/MARKER-fuzz")


def test_a_long_journal_is_checked_a_line_at_a_time(tmp_path):
    """100,000 documents done: the rerun checks the journal and each document against it without
    keeping a record per document (peak memory flat, time linear)."""
    import tracemalloc

    from bioner_pl.tagging.collection import JOURNAL, Journal, digest
    from bioner_pl.formats.document import Document

    job = {"format": "jsonl", "shard": 0, "shards": 1}
    docs = [Document(f"Document {i} of a long job.") for i in range(100_000)]
    (tmp_path / "out.jsonl.part").write_bytes(b"x" * len(docs))
    (tmp_path / "out.jsonl.part.index").write_text(f"{JOURNAL} {json.dumps(job, sort_keys=True)}\n" +
                                                   "".join(f"{i} 1 {digest(d)}\n" for i, d in enumerate(docs)))
    started = time.time()
    tracemalloc.start()
    journal = Journal(tmp_path / "out.jsonl.part.index", 0, 1, job)
    for number, doc in enumerate(docs):
        journal.confirm(number, doc)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    journal.abandon()
    assert journal.last == len(docs) - 1
    assert peak < 5 << 20 and time.time() - started < 60, (peak, time.time() - started)
