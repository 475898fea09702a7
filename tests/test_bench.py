import json

import pytest

from bioner_pl.config import compose_config
from bioner_pl.experiments import bench
from bioner_pl.models import ARCHITECTURES
from helpers import FIXTURE_DATA

pytestmark = pytest.mark.slow  # the benchmark itself, on the fixture slices (~30 s)


def test_bench_runs_end_to_end_and_reports_every_part(tmp_path):
    """The benchmark command on the fixture slices, one repetition: every section is there and
    every timing is a positive number (the figures themselves are measured by hand, README)."""
    out = tmp_path / "bench.json"
    report = bench.run(compose_config("bench", [f"data.dir={FIXTURE_DATA}", "repeats=1", f"out={out}"]))
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    assert [row["model"] for row in report["train"]] == list(ARCHITECTURES)
    for row in report["train"]:
        assert row["step_ms"] > 0 and row["fused_bilstm_ms"] > 0 and row["ratio_to_packed_bilstm"] > 0
    assert report["train"][-1]["params"] > report["train"][0]["params"]  # CS-MTM has more encoders than STM
    assert [row["model"] for row in report["batching"]] == list(ARCHITECTURES)
    for row in report["batching"]:
        assert row["shuffled_ms_per_sentence"] > 0 and row["by_length_ms_per_sentence"] > 0
        assert 0 < row["shuffled_real_tokens"] < row["by_length_real_tokens"] <= 1
    assert {(r["crf"], r["labels"], r["length"]) for r in report["crf"]} == {
        (crf, labels, length) for crf in ("classic", "bigram") for labels in (3, 11) for length in (30, 120)}
    classic = [r for r in report["crf"] if r["crf"] == "classic"]
    assert all(r["nll_speedup"] > 0 and r["viterbi_speedup"] > 0 for r in classic)  # setup installs the [bench] extra
    assert report["tagging"]["sentences"] > 0 and report["tagging"]["sentences_per_s"] > 0
    read = {(r["format"], r["reader"]) for r in report["reading"]}  # every written format, read back both ways
    assert read == {(f, "tagging") for f in ("jsonl", "pubtator", "bioc_xml", "bioc_json")} | {
        (f, "training") for f in ("pubtator", "bioc_xml", "bioc_json")}
    assert all(r["documents"] > 0 and r["documents_per_s"] > 0 for r in report["reading"])
