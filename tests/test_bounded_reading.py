"""Bounded memory on any input (issue #45): a record larger than max_record_mb is set aside with
its file and line before it is read whole, whatever the format, and the records around it are
read as usual where the format lets reading go on."""

import gzip
import json
import subprocess
import sys

import pytest

from bioner_pl import formats
from bioner_pl.formats import Rejected
from helpers import FIXTURE_CHECKPOINTS, ROOT, cli_env

LIMIT = 4096
BIG = "x" * (3 * LIMIT)
GOOD = "Mutations in BRCA1 cause breast cancer."


def bioc_document(i, text):
    return {"id": str(i), "infons": {}, "passages": [{"offset": 0, "infons": {}, "text": text, "annotations": [],
                                                      "relations": [], "sentences": []}], "relations": []}


CASES = {  # file name, content, records before and after the big one that still read
    "text": ("in.txt", f"{GOOD}\n{BIG}\n{GOOD}\n", 2),
    "jsonl": ("in.jsonl", json.dumps({"text": GOOD}) + "\n" + json.dumps({"text": BIG}) + "\n"
              + json.dumps({"text": GOOD}) + "\n", 2),
    "pubtator": ("in.pubtator", f"1|t|{GOOD}\n1|a|{GOOD}\n\n" + "".join(f"2|a|{'y' * 1000}\n" for _ in range(6))
                 + f"\n3|t|{GOOD}\n3|a|{GOOD}\n", 2),
    "bioc_jsonl": ("in.json", "".join(json.dumps(bioc_document(i, t)) + "\n" for i, t in enumerate([GOOD, BIG, GOOD])), 2),
    "bioc_collection": ("in.json", json.dumps({"source": "", "date": "", "key": "", "infons": {},
                                               "documents": [bioc_document(0, BIG)]}), 0),
    "medline": ("in.xml", "<?xml version='1.0'?>\n<PubmedArticleSet>\n<PubmedArticle><MedlineCitation><PMID>1</PMID>"
                f"<Article><ArticleTitle>{GOOD}</ArticleTitle></Article></MedlineCitation></PubmedArticle>\n"
                "<PubmedArticle><MedlineCitation><PMID>2</PMID><Article><ArticleTitle>\n"
                + "".join(f"{'y' * 500}\n" for _ in range(20)) + "</ArticleTitle></Article></MedlineCitation>"
                "</PubmedArticle>\n</PubmedArticleSet>\n", 1),
    "bioc_xml": ("in.xml", "<?xml version='1.0'?>\n<collection><source/><date/><key/>\n<document><id>1</id><passage>"
                 f"<offset>0</offset><text>{GOOD}</text></passage></document>\n<document><id>2</id><passage>"
                 f"<offset>0</offset><text>{BIG}</text></passage></document>\n</collection>\n", 1),
    "conll": ("in.conll", "".join(f"tok{i}\tO\n" for i in range(2000)), 0),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_record_over_the_limit_is_set_aside_with_its_line_and_the_rest_reads(tmp_path, case):
    name, content, good = CASES[case]
    (tmp_path / name).write_text(content)
    records = list(formats.read(str(tmp_path / name), max_record_bytes=LIMIT))
    rejected = [r for r in records if isinstance(r, Rejected)]
    assert len(rejected) == 1 and "more than 4,096 bytes (max_record_mb=0)" in rejected[0].problem, records
    assert rejected[0].line >= 1 and "\n" not in rejected[0].problem
    read = [r for r in records if not isinstance(r, Rejected)]
    assert len(read) == good and all(GOOD in r.text for r in read)


def test_the_limit_is_far_above_real_records(tmp_path):
    """The default takes a long abstract and a full text of a few MB in one line."""
    (tmp_path / "in.txt").write_text(GOOD + " " + "word " * 600_000 + "\n")
    records = list(formats.read(str(tmp_path / "in.txt")))
    assert len(records) == 1 and not isinstance(records[0], Rejected)


def peak_rss_mb(*args) -> float:
    code = ("import resource, runpy, sys; sys.argv = sys.argv[1:]; "
            "exec('try:\\n runpy.run_module(\"bioner_pl.predict\", run_name=\"__main__\")\\nexcept SystemExit: pass'); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    result = subprocess.run([sys.executable, "-c", code, "predict", *args], capture_output=True, text=True,
                            env=cli_env(), cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return float(result.stdout.strip().splitlines()[-1]), result.stderr


@pytest.mark.slow
def test_a_one_line_gz_bomb_between_good_lines_is_skipped_in_bounded_memory(tmp_path):
    """A .gz of a few hundred KB that inflates to 256 MB of one line, between two good lines: the
    job tags the two, sets the line aside and finishes, in the memory a small input takes."""
    bomb = tmp_path / "bomb.txt.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as f:
        f.write(f"{GOOD}\n".encode())
        chunk = b"a" * (1 << 20)
        for _ in range(256):
            f.write(chunk)
        f.write(f"\n{GOOD}\n".encode())
    assert bomb.stat().st_size < 2 << 20
    (tmp_path / "small.txt").write_text(f"{GOOD}\n{GOOD}\n")
    ckpt = FIXTURE_CHECKPOINTS / "cs-before-layout-move.ckpt"
    common = [f"ckpt={ckpt}", "on_error=skip", "max_record_mb=16", "device=cpu"]
    small, _ = peak_rss_mb(*common, f"input={tmp_path / 'small.txt'}", f"output={tmp_path / 'small.jsonl'}")
    peak, stderr = peak_rss_mb(*common, f"input={bomb}", f"output={tmp_path / 'bomb.jsonl'}")
    print(f"peak RSS: small input {small:.0f} MB, 256 MB one-line gz bomb {peak:.0f} MB")
    assert "tagged 2 documents" in stderr and "1 rejected" in stderr
    assert peak < small + 64  # the 16 MB limit, a read piece or two, and noise; never the line
    reject = json.loads((tmp_path / "bomb.jsonl.rejects.jsonl").read_text())
    assert reject["line"] == 2 and "more than 16,777,216 bytes" in reject["problem"]


@pytest.mark.parametrize("on_error", ["skip", "raise"])
def test_a_document_the_writer_cannot_write_is_a_bad_record_like_any_other(tmp_path, on_error):
    """A control character XML cannot hold, written as BioC XML: skip sets the document aside and
    finishes the others; raise stops in one line naming it and leaves nothing behind."""
    from bioner_pl.errors import InputError
    from bioner_pl.tagging.collection import tag_collection

    (tmp_path / "in.txt").write_text(f"{GOOD}\nBRCA1 \x01 binds p53.\n{GOOD}\n")
    run = dict(ckpt=str(FIXTURE_CHECKPOINTS / "cs-before-layout-move.ckpt"), input=str(tmp_path / "in.txt"),
               output=str(tmp_path / "out.xml"), format="bioc_xml", device="cpu", on_error=on_error, progress_every=0)
    if on_error == "raise":
        with pytest.raises(InputError, match=r"in.txt: document 1 of the input could not be written \(ValueError") as err:
            tag_collection(**run)
        assert "\n" not in str(err.value) and sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]
        return
    tag_collection(**run)
    written = (tmp_path / "out.xml").read_text()
    assert written.count("<document>") == 2 and "binds p53" not in written
    reject = json.loads((tmp_path / "out.xml.rejects.jsonl").read_text())
    assert reject["line"] is None and "document 1 of the input could not be written" in reject["problem"]
    assert not list(tmp_path.glob("*.part*"))
