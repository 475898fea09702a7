import http.server
import threading
from functools import partial
from pathlib import Path

import pytest

from bioner_pl import data as ds
from bioner_pl.errors import InputError


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_reader_sentences_and_docstart(tmp_path):
    path = write(tmp_path / "a.tsv", "-DOCSTART-\tO\n\nIL-2\tB-DNA\ngene\tI-DNA\n\n\nok\tO\n")
    sentences = ds.read_iob(path)
    assert sentences == [ds.Sentence(("IL-2", "gene"), ("B-DNA", "I-DNA")), ds.Sentence(("ok",), ("O",))]


def test_reader_reads_fixture(data_dir):
    sentences = ds.read_iob(data_dir / "NCBI-disease-IOB" / "train.tsv")
    assert len(sentences) == 240
    assert sentences[0].tokens[:3] == ("Identification", "of", "APC2")


@pytest.mark.parametrize("text, line, problem", [
    ("a\tO\nb\tO\textra\n", 2, "expected 2 columns like the first row, found 3"),
    ("a\tO\n\nb O\n", 3, "found 1"),
    ("a\tO\nb\tGENE\n", 2, "not IOB2"),
    ("a\tE-GENE\n", 1, "not IOB2"),
    ("a\tO\n\tO\n", 2, "empty token"),
])
def test_reader_malformed_line(tmp_path, text, line, problem):
    path = write(tmp_path / "bad.tsv", text)
    with pytest.raises(InputError) as err:
        ds.read_iob(path)
    assert err.value.line == line and str(path) in str(err.value) and problem in str(err.value)


def test_reader_empty_file(tmp_path):
    with pytest.raises(InputError, match="empty"):
        ds.read_iob(write(tmp_path / "empty.tsv", "\n\n"))


def test_reader_non_utf8_names_line(tmp_path):
    path = write(tmp_path / "latin1.tsv", "a\tO\n\ncaf\xe9\tO\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8") as err:
        ds.read_iob(path)
    assert err.value.line == 3


def test_unknown_corpus_lists_known_ones():
    with pytest.raises(InputError, match="unknown corpus 'ncbi2': neither a corpus config .*bc2gm"):
        ds.resolve("ncbi2")


def test_registry_covers_the_paper(data_dir):
    names = ds.known_corpora()
    assert len(names) == 17 and {"bc2gm", "exptm", "ncbi", "linnaeus", "jnlpba"} <= set(names)
    assert ds.resolve("ncbi").path == "NCBI-disease-IOB" and ds.resolve("ncbi").scheme == "iob2"


def test_missing_split_offline_says_what_to_do(tmp_path):
    with pytest.raises(InputError) as err:
        ds.split_path("ncbi", "train", tmp_path, base_url=None)
    message = str(err.value)
    assert "NCBI-disease-IOB/train.tsv" in message and "BIONER_DATA_DIR" in message


class _Server:
    """A local HTTP server over `root`; `truncate` makes it promise more bytes than it sends."""

    def __init__(self, root: Path, truncate: bool = False):
        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def send_header(self, key, value):
                if truncate and key == "Content-Length":
                    value = str(int(value) + 1000)
                super().send_header(key, value)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


def test_download_missing_split_from_server(tmp_path, data_dir):
    server = _Server(data_dir)
    try:
        target_dir = tmp_path / "data"
        path = ds.split_path("ncbi", "devel", target_dir, base_url=server.url)
        assert path == target_dir / "NCBI-disease-IOB" / "devel.tsv"
        assert path.read_bytes() == (data_dir / "NCBI-disease-IOB" / "devel.tsv").read_bytes()
        assert len(ds.load_split("ncbi", "devel", target_dir, base_url=None)) == 60
    finally:
        server.close()


def test_interrupted_download_leaves_no_file(tmp_path, data_dir):
    server = _Server(data_dir, truncate=True)
    try:
        with pytest.raises(InputError, match="downloading .* failed"):
            ds.split_path("ncbi", "test", tmp_path, base_url=server.url)
        assert list((tmp_path / "NCBI-disease-IOB").iterdir()) == []  # no partial or temp file
    finally:
        server.close()


def test_download_404_is_clear(tmp_path):
    server = _Server(tmp_path / "nothing-here")
    (tmp_path / "nothing-here").mkdir()
    try:
        with pytest.raises(InputError, match="missing train split of 'exptm'"):
            ds.split_path("exptm", "train", tmp_path / "data", base_url=server.url)
    finally:
        server.close()


def test_subsample_seeded_and_ordered():
    sentences = [ds.Sentence((str(i),), ("O",)) for i in range(100)]
    half = ds.subsample(sentences, 0.5, seed=1)
    assert len(half) == 50 and half == ds.subsample(sentences, 0.5, seed=1)
    assert half != ds.subsample(sentences, 0.5, seed=2)
    assert [int(s.tokens[0]) for s in half] == sorted(int(s.tokens[0]) for s in half)
    assert ds.subsample(sentences, 1.0, seed=1) is sentences
    with pytest.raises(InputError):
        ds.subsample(sentences, 0.0, seed=1)
