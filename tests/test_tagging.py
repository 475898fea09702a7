"""Tagging a collection: the Python API, every input format, bad records, shards and resume, memory."""

import gzip
import io
import json
import random
import subprocess
import sys

import bioc
import pytest
import torch
from bioc import biocjson, biocxml

from bioner_pl import formats
from bioner_pl.formats import Rejected
from helpers import FIXTURE_CHECKPOINTS, ROOT, cli_env, run_cli

TEXT = "Mutations in the APC gene cause familial adenomatous polyposis. Colon cancer follows."

MEDLINE = """<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE PubmedArticleSet>
<PubmedArticleSet>
  <PubmedArticle>
    <MedlineCitation Status="MEDLINE" Owner="NLM">
      <PMID Version="1">101</PMID>
      <Article PubModel="Print">
        <ArticleTitle>Germline <i>APC</i> mutations in colon cancer.</ArticleTitle>
        <Abstract>
          <AbstractText Label="BACKGROUND">Familial adenomatous polyposis is inherited.</AbstractText>
          <AbstractText Label="RESULTS">We found   APC mutations.</AbstractText>
        </Abstract>
      </Article>
    </MedlineCitation>
  </PubmedArticle>
  <PubmedArticle>
    <MedlineCitation Status="MEDLINE" Owner="NLM">
      <PMID Version="1">102</PMID>
      <Article PubModel="Print"><ArticleTitle>A title without an abstract.</ArticleTitle></Article>
    </MedlineCitation>
  </PubmedArticle>
</PubmedArticleSet>
"""

# As PubTator3 exports it: a title and an abstract passage, offsets over the document
BIOC = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE collection SYSTEM "BioC.dtd">
<collection><source>PubTator</source><date>2024</date><key>BioC.key</key>
<document><id>201</id><infon key="journal">J Test</infon>
<passage><infon key="type">title</infon><offset>0</offset><text>APC mutations in colon cancer.</text>
<annotation id="1"><infon key="type">Gene</infon><location offset="0" length="3"/><text>APC</text></annotation></passage>
<passage><infon key="type">abstract</infon><offset>31</offset><text>Familial adenomatous polyposis is inherited. Breast cancer is not.</text></passage>
</document>
<document><id>202</id><passage><offset>0</offset></passage></document>
<document><id>203</id><passage><infon key="type">title</infon><offset>0</offset><text>Colon cancer and APC.</text></passage></document>
<document><id>204</id><passage><offset>10</offset>
<sentence><offset>10</offset><text>Nef binds CD4.</text><relation id="R1"><node refid="1" role="a"/></relation></sentence>
<sentence><offset>25</offset><text>測試 p53 levels.</text></sentence></passage></document>
</collection>
"""


@pytest.fixture(scope="module")
def tagger(trained):
    from bioner_pl import Tagger

    return Tagger.load(trained / "checkpoints" / "best.ckpt")


def test_each_distinct_token_once_gives_the_embedding_layers_vectors(tagger, data_dir):
    """The tagger runs the char-CNN once per distinct token, in chunks of similar word length;
    that must be what the embedding layer computes for every occurrence in a padded batch."""
    import torch

    from bioner_pl.models.blocks import RealTokens
    from bioner_pl.data import Sentence, read_iob
    from bioner_pl.data.encoding import collate, encode, tag_index

    sentences = [list(s.tokens) for s in read_iob(data_dir / "NCBI-disease-IOB" / "test.tsv")][:40]
    table, ids, offsets = tagger._token_vectors(sentences, chunk=7)  # several chunks of different char widths
    assert offsets.tolist() == [sum(map(len, sentences[:j])) for j in range(len(sentences) + 1)]
    assert len(table) == len({t for s in sentences for t in s}) < sum(map(len, sentences))
    index = tag_index(tagger.tags)
    batch = collate([(i, encode(Sentence(tuple(s), ("O",) * len(s)), tagger.words, tagger.chars, index, 0))
                     for i, s in enumerate(sentences)])
    tokens = RealTokens(batch["lengths"], batch["words"].shape[1], torch.device("cpu"))
    with torch.inference_mode():
        expected = tokens.select(tagger.model.net.embedding(batch, tokens))
    assert torch.allclose(table[torch.from_numpy(ids)], expected, atol=1e-6)


def test_entity_spans_read_tags_as_seqeval_does():
    import numpy as np
    from seqeval.metrics.sequence_labeling import get_entities

    from bioner_pl.tagging.tagger import entity_spans

    tags = ["O", "B-Gene", "I-Gene", "B-Disease", "I-Disease"]
    kinds, begins = np.array([-1, 0, 0, 1, 1]), np.array([t.startswith("B-") for t in tags])
    rng = np.random.default_rng(0)
    # every ill-formed case too (I- after O, after another type, at the start), and padding that
    # holds tags which must not extend an entity
    paths, lengths = rng.integers(0, len(tags), (500, 12)), rng.integers(1, 13, 500)
    rows, firsts, lasts = entity_spans(paths, lengths, kinds, begins)
    found = [[] for _ in paths]
    for row, first, last in zip(rows, firsts, lasts):
        found[row].append((tags[paths[row, first]][2:], first, last))
    expected = [get_entities([tags[t] for t in path[:n]]) for path, n in zip(paths, lengths)]
    assert found == expected and sum(map(len, expected)) > 1000


def test_bf16_precision_tags_as_float32_does_and_bad_names_are_errors(tagger):
    from bioner_pl import Tagger
    from bioner_pl.errors import InputError
    from bioner_pl.models.blocks import bf16_lstm_runs_on

    with pytest.raises(InputError, match="unknown precision 'fp16'"):
        Tagger(tagger.model, precision="fp16")
    if not bf16_lstm_runs_on(torch.device("cpu")):
        pytest.skip("this CPU has no bfloat16 LSTM (the fallback test covers it)")
    exact = tagger.predict([TEXT] * 3)
    fast = Tagger(tagger.model, precision="bf16-mixed").predict([TEXT] * 3)
    assert [d.tags for d in fast] == [d.tags for d in exact]
    pairs = [(a.confidence, b.confidence) for x, y in zip(exact, fast) for a, b in zip(x.entities, y.entities)]
    assert pairs and all(abs(a - b) < 0.02 for a, b in pairs)


def test_bf16_falls_back_to_float32_with_a_warning_where_the_cpu_has_no_bfloat16_lstm(tagger, monkeypatch):
    from bioner_pl import Tagger
    from bioner_pl.tagging import tagger as tagger_module

    monkeypatch.setattr(tagger_module, "bf16_lstm_runs_on", lambda device: False)
    with pytest.warns(UserWarning, match="no bfloat16 LSTM .* tagging in 32-true instead"):
        fallback = Tagger(tagger.model, precision="bf16-mixed")
    assert fallback.predict([TEXT] * 2) == tagger.predict([TEXT] * 2)


def test_api_offsets_slice_the_text_and_confidences_are_probabilities(tagger):
    docs = tagger.predict([TEXT, ["Colon", "cancer", "in", "APC", "carriers"], ""])
    assert len(docs) == 3 and docs[2].entities == []
    found = [e for d in docs for e in d.entities]
    assert found, "the fixture model tags some disease"
    for doc in docs:
        for e in doc.entities:
            assert doc.text[e.start:e.end] == e.text and 0 < e.confidence <= 1 and e.type == "Disease"
    assert docs[1].text == "Colon cancer in APC carriers"
    plain = type(tagger)(tagger.model, confidences=False).predict([TEXT])[0]
    assert [(e.start, e.end) for e in plain.entities] == [(e.start, e.end) for e in docs[0].entities]
    assert all(e.confidence is None for e in plain.entities)
    assert tagger.heads == ["ncbi", "bionlp09"]
    assert tagger.device.type == ("cuda" if torch.cuda.is_available() else "cpu")  # device="auto" by default


def records(path, **options):
    return list(formats.read(str(path), **options))


def test_every_input_format(tmp_path):
    (tmp_path / "a.txt").write_text(f"{TEXT}\n\nSecond document.\n")
    assert [d.text for d in records(tmp_path / "a.txt")] == [TEXT, "Second document."]
    assert [d.text for d in records(tmp_path / "a.txt", documents="file")] == [f"{TEXT}\n\nSecond document.\n"]
    (tmp_path / "b.jsonl").write_text(json.dumps({"id": "x1", "text": TEXT, "source": "s"}) + "\n")
    doc, = records(tmp_path / "b.jsonl")
    assert doc.text == TEXT and doc.fields == {"id": "x1", "source": "s"}
    (tmp_path / "c.pubtator").write_text("7|t|APC gene\n7|a|Colon cancer.\n7\t0\t3\tAPC\tGene\n\n8|t|Two\n8|a|\n")
    first, second = records(tmp_path / "c.pubtator")
    assert first.text == "APC gene Colon cancer." and first.fields["id"] == "7" and len(first.sentences) == 2
    assert second.text == "Two "
    with gzip.open(tmp_path / "d.xml.gz", "wt") as f:
        f.write(MEDLINE)
    a, b = records(tmp_path / "d.xml.gz")
    assert a.fields["id"] == "101" and a.text == ("Germline APC mutations in colon cancer. Familial adenomatous "
                                                  "polyposis is inherited. We found APC mutations.")
    assert b.text == "A title without an abstract. " and b.fields["id"] == "102"
    (tmp_path / "e.conll").write_text("APC\tO\ngene\tO\n\nColon\tO\n")
    conll, = records(tmp_path / "e.conll")
    assert [[t.text for t in s] for s in conll.sentences] == [["APC", "gene"], ["Colon"]]
    assert [d.fields.get("id") for d in records(str(tmp_path / "[bc].*"))] == ["x1", "7", "8"]  # a glob, sorted
    (tmp_path / "f.xml").write_text(BIOC)
    first, empty, third, fourth = records(tmp_path / "f.xml")
    assert first.text == "APC mutations in colon cancer. Familial adenomatous polyposis is inherited. Breast cancer is not."
    assert first.fields["id"] == "201" and first.fields["infons"] == {"journal": "J Test"} and len(first.sentences) == 3
    assert [(p["offset"], p["start"], p["infons"]["type"]) for p in first.fields["passages"]] == [(0, 0, "title"), (31, 31, "abstract")]
    assert isinstance(empty, Rejected) and empty.line == 9 and "document 202 has no passage with text" in empty.problem
    assert third.text == "Colon cancer and APC."
    assert fourth.text == "Nef binds CD4. 測試 p53 levels." and fourth.fields["passages"][0]["offset"] == 10  # given as sentences
    collection = biocxml.loads(BIOC)
    (tmp_path / "g.json").write_text(biocjson.dumps(collection, indent=2))  # a BioC JSON collection
    (tmp_path / "h.json").write_text("".join(biocjson.dumps(d) + "\n" for d in collection.documents))  # BioC JSON lines
    for name in ("g.json", "h.json"):
        got = records(tmp_path / name)
        assert [d.text if not isinstance(d, Rejected) else None for d in got] == [first.text, None, third.text, fourth.text]
        assert got[0].fields == first.fields


def test_bad_records_are_rejected_with_file_and_line(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"text": "ok"}\n{"text": \n{"title": "no text"}\n{"text": "fine"}\n')
    got = records(tmp_path / "bad.jsonl")
    assert [type(r).__name__ for r in got] == ["Document", "Rejected", "Rejected", "Document"]
    assert (got[1].line, got[2].line) == (2, 3) and "not a JSON line" in got[1].problem
    assert "no 'text' text field" in got[2].problem
    broken = MEDLINE.replace("<PMID Version=\"1\">102</PMID>", "").replace("</PubmedArticleSet>", "<oops></PubmedArticleSet>")
    (tmp_path / "bad.xml").write_text(broken)
    got = records(tmp_path / "bad.xml")
    assert [type(r).__name__ for r in got] == ["Document", "Rejected", "Rejected"]
    assert got[1].line == 16 and "without a PMID" in got[1].problem
    assert got[2].line == 22 and "broken XML" in got[2].problem
    cut = MEDLINE[:MEDLINE.index("A title without")]  # a file cut off in a record: its PMID is named
    (tmp_path / "cut.xml").write_text(cut)
    got = records(tmp_path / "cut.xml")
    assert [type(r).__name__ for r in got] == ["Document", "Rejected"] and "in the record of PMID 102" in got[1].problem
    (tmp_path / "bad-bioc.xml").write_text(BIOC.replace("<offset>31</offset>", "<offset>31</offset>\n<text>oops</passage>"))
    got = records(tmp_path / "bad-bioc.xml")
    assert [type(r).__name__ for r in got] == ["Rejected"] and got[0].line == 8 and "broken XML" in got[0].problem


def test_reading_knows_how_far_it_is_in_bytes_as_stored(tmp_path):
    """A glob of .gz files: bytes_read counts compressed bytes, file after file, up to the total."""
    rng = random.Random(0)
    for name in ("a", "b"):  # words that do not compress away: about 1 MB a file, as stored
        with gzip.open(tmp_path / f"{name}.txt.gz", "wt") as f:
            f.write("".join(" ".join(f"{rng.getrandbits(40):x}" for _ in range(40)) + "\n" for _ in range(3000)))
    source = formats.Input(str(tmp_path / "*.txt.gz"))
    assert source.total_bytes == sum(p.stat().st_size for p in tmp_path.glob("*.gz")) > 1_500_000
    seen = [source.bytes_read for n, _ in enumerate(source) if n % 500 == 0]
    assert seen == sorted(seen) and len(set(seen)) > 4 and seen[-1] < source.total_bytes
    assert source.bytes_read == source.total_bytes


def test_a_long_job_says_where_it_is(tmp_path, monkeypatch, capsys):
    """No terminal: a line every `every` seconds with documents, sentences, rate, share and time
    left; a terminal: Rich's bar, gone when the job ends."""
    from bioner_pl.tagging.collection import Meter

    (tmp_path / "in.txt").write_text("".join(f"Line {i:03d}.\n" for i in range(100)))
    source = formats.Input(str(tmp_path / "in.txt"))
    records = iter(source)
    meter, counts = Meter(source, every=1e-9), {"documents": 0, "sentences": 0}
    for _ in range(4):
        for _ in range(25):
            next(records)
        counts = {"documents": counts["documents"] + 25, "sentences": counts["sentences"] + 50}
        meter.update(counts)
    meter.close()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3 and lines[-1].startswith("tagging: 100 documents, 200 sentences (")
    assert [line.split("; ")[1].split("%")[0] for line in lines] == ["50", "75", "100"] and " left" in lines[0] and lines[-1].endswith("about 0 s left")
    quiet = Meter(formats.Input(str(tmp_path / "in.txt")), every=0)
    quiet.update(counts), quiet.update(counts), quiet.close()
    assert capsys.readouterr().err == ""

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    monkeypatch.setenv("TERM", "xterm")
    source = formats.Input(str(tmp_path / "in.txt"))
    meter = Meter(source, every=60)
    for n, _ in enumerate(source):
        if n % 25 == 24:
            meter.update({"documents": n + 1, "sentences": 2 * (n + 1)})
    meter.close()
    assert "tagging" in screen.getvalue() and "100 documents, 200 sentences" in screen.getvalue()


def cli(trained, *overrides, cwd=None):
    return run_cli("bioner_pl.predict", f"ckpt={trained}/checkpoints/best.ckpt", *overrides, cwd=cwd)


def test_on_error_raise_or_skip(trained, tmp_path):
    (tmp_path / "in.jsonl").write_text('{"text": "Colon cancer."}\n{"text": oops}\n{"text": "APC."}\n')
    failed = cli(trained, f"input={tmp_path}/in.jsonl")
    assert failed.returncode == 2 and f"{tmp_path}/in.jsonl:2: not a JSON line" in failed.stderr
    assert "Traceback" not in failed.stderr and not (tmp_path / "in.tagged.jsonl").exists()
    assert not list(tmp_path.glob("*.part*"))  # it failed before writing anything: nothing is left behind
    skipped = cli(trained, f"input={tmp_path}/in.jsonl", f"output={tmp_path}/out.jsonl", "on_error=skip")
    assert skipped.returncode == 0, skipped.stderr[-2000:]
    assert "tagged 2 documents, 2 sentences" in skipped.stderr and "1 rejected" in skipped.stderr
    reject, = [json.loads(line) for line in (tmp_path / "out.jsonl.rejects.jsonl").read_text().splitlines()]
    assert reject["line"] == 2 and reject["record"] == '{"text": oops}'
    assert [json.loads(line)["id"] for line in (tmp_path / "out.jsonl").read_text().splitlines()] == [0, 2]


def test_bioc_in_and_out_keeps_passages_and_offsets(trained, tmp_path):
    """BioC XML in; BioC XML and JSON out (read back by the bioc library) carry the same entities as
    JSON lines, each at BioC offsets that slice its passage's text, with a confidence infon."""
    (tmp_path / "in.xml").write_text(BIOC.replace("<document><id>202</id><passage><offset>0</offset></passage></document>\n", ""))
    for fmt in ("bioc_xml", "bioc_json", "jsonl"):
        done = cli(trained, f"input={tmp_path}/in.xml", f"format={fmt}", f"output={tmp_path}/out.{fmt}")
        assert done.returncode == 0, done.stderr[-2000:]
    expected = sorted((str(r["id"]), e["start"], e["end"] - e["start"], e["type"], e["text"])
                      for r in map(json.loads, (tmp_path / "out.jsonl").read_text().splitlines()) for e in r["entities"])
    assert expected  # the tagger finds something here, or the test shows nothing
    with open(tmp_path / "out.bioc_xml") as f:
        from_xml = biocxml.load(f)
    with open(tmp_path / "out.bioc_json") as f:
        from_json = biocjson.load(f)
    for collection in (from_xml, from_json):
        assert collection.source == "bioner-pl" and [d.id for d in collection.documents] == ["201", "203", "204"]
        assert collection.documents[0].infons == {"journal": "J Test"}
        found = []
        for doc in collection.documents:
            for passage in doc.passages:
                for a in passage.annotations:
                    loc, = a.locations
                    assert passage.text[loc.offset - passage.offset:][:loc.length] == a.text
                    assert 0 < float(a.infons["confidence"]) <= 1
                    found.append((doc.id, loc.offset, loc.length, a.infons["type"], a.text))
        assert sorted(found) == expected


@pytest.mark.parametrize("fmt", ["jsonl", "bioc_json"])  # plain concatenation, and a container
def test_shards_interrupted_and_rerun_equal_the_unsharded_output(trained, tmp_path, fmt):
    """A 3-shard multirun on local_parallel; one shard cut mid-batch, rerun, merged: byte for byte
    the unsharded output."""
    lines = [f"Patient {i} had colon cancer and APC mutations. Breast cancer {i % 7} was not seen."
             for i in range(40)]
    (tmp_path / "in.txt").write_text("\n".join(lines) + "\n")
    common = [f"input={tmp_path}/in.txt", f"format={fmt}", "documents_per_batch=4"]
    whole = cli(trained, *common, f"output={tmp_path}/whole.out")
    assert whole.returncode == 0, whole.stderr[-2000:]
    sharded = [*common, f"output={tmp_path}/sharded.out", "num_shards=3"]
    first = run_cli("bioner_pl.predict", "-m", f"ckpt={trained}/checkpoints/best.ckpt", *sharded,
                    "shard=0,1,2", "hydra/launcher=local_parallel", "hydra.launcher.n_jobs=2", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    shard = tmp_path / "sharded.out.shards" / "1-of-3.out"
    index = shard.with_name(shard.name + ".index")
    # interrupt shard 1: two batches and some bytes of a third on disk, the third's journal line half written
    kept = index.read_text().splitlines()[:9]  # the journal's header, then a line per document
    assert kept[0].startswith("# bioner-pl tagging journal")
    size = sum(int(line.split()[1]) for line in kept[1:])
    shard.with_name(shard.name + ".part").write_bytes(shard.read_bytes()[: size + 30])
    shard.with_name(shard.name + ".part.index").write_text("\n".join(kept) + "\n" + kept[-1].split()[0][:1])
    shard.unlink()
    index.unlink()
    rerun = run_cli("bioner_pl.predict", "-m", f"ckpt={trained}/checkpoints/best.ckpt", *sharded,
                    "shard=0,1,2", "hydra/launcher=local_parallel", "hydra.launcher.n_jobs=2", cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert rerun.stderr.count("finished earlier, nothing to do") == 2 and "tagged 5 documents" in rerun.stderr
    merged = cli(trained, *sharded, "merge=true")
    assert merged.returncode == 0, merged.stderr[-2000:]
    assert (tmp_path / "sharded.out").read_bytes() == (tmp_path / "whole.out").read_bytes()


def peak_rss_mb(trained, source, output, **env) -> float:
    code = ("import resource, runpy, sys; sys.argv = sys.argv[1:]; "
            "exec('try:\\n runpy.run_module(\"bioner_pl.predict\", run_name=\"__main__\")\\nexcept SystemExit: pass'); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    result = subprocess.run([sys.executable, "-c", code, "predict", f"ckpt={trained}/checkpoints/best.ckpt",
                             f"input={source}", f"output={output}", "documents_per_batch=50"],
                            capture_output=True, text=True, env=cli_env(**env), cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return float(result.stdout.strip().splitlines()[-1])


def test_memory_stays_flat_on_a_large_input(trained, tmp_path):
    """Sentences of many lengths (each batch shape is new to oneDNN), 10x apart in number."""
    def text(i):
        return f"Patient {i} had " + "colon " * (i % 97) + "cancer and APC mutations."

    for n in (1_000, 10_000):
        (tmp_path / f"in{n}.jsonl").write_text("".join(json.dumps({"id": i, "text": text(i)}) + "\n" for i in range(n)))
    small = peak_rss_mb(trained, tmp_path / "in1000.jsonl", tmp_path / "o1.jsonl")
    large = peak_rss_mb(trained, tmp_path / "in10000.jsonl", tmp_path / "o2.jsonl")
    assert len((tmp_path / "o2.jsonl").read_text().splitlines()) == 10_000
    assert large - small < 40, (small, large)  # 10x the input, (almost) the same peak


def test_tagging_starts_without_lightning(tmp_path):
    """Lightning takes seconds to import and tagging trains nothing: `predict` tags a file without
    it, and the training and bench commands import it only once they run (not for --help or a
    mistyped option)."""
    (tmp_path / "in.txt").write_text(TEXT + "\n")
    code = ("import runpy, sys; import bioner_pl.train, bioner_pl.bench; sys.argv = sys.argv[1:]\n"
            "try:\n runpy.run_module('bioner_pl.predict', run_name='__main__')\nexcept SystemExit as e:\n assert not e.code, e\n"
            "print(sorted(m for m in sys.modules if 'lightning' in m))")
    result = subprocess.run([sys.executable, "-c", code, "predict", f"ckpt={FIXTURE_CHECKPOINTS / 'cs-before-layout-move.ckpt'}",
                             f"input={tmp_path / 'in.txt'}", f"output={tmp_path / 'out.jsonl'}"],
                            capture_output=True, text=True, env=cli_env(), cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads((tmp_path / "out.jsonl").read_text())["entities"]  # it tagged
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_rejected_is_an_input_error():
    err = Rejected(path="f.jsonl", line=3, problem="bad", record="x").error()
    assert str(err) == "f.jsonl:3: bad"
