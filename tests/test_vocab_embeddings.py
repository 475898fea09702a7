import numpy as np
import pytest
import torch
from gensim.models import KeyedVectors

from bioner_pl.data import embeddings
from bioner_pl.errors import InputError
from bioner_pl.data.vocab import PAD, UNK, build_char_vocab, build_tag_vocab, build_word_vocab, embedding_matrix, normalize

VECTORS = embeddings.WordVectors("toy", 2, ["the", "protein", "il-0", "kinase", "rare"],
                                 np.arange(10, dtype=np.float32).reshape(5, 2))


def test_digits_normalised():
    assert normalize("IL-2") == "IL-0" and normalize("p53 1998") == "p00 0000"


def test_singleton_rule():
    vocab = build_word_vocab(["cell", "cell", "zzq", "protein", "IL-2"], [], VECTORS)
    assert "cell" in vocab.index          # frequent: kept although no vector
    assert "zzq" not in vocab.index       # singleton without a vector: dropped
    assert "protein" in vocab.index       # singleton with a vector: kept
    assert "IL-0" in vocab.index          # covered through its lower-case form "il-0"
    assert vocab.items[:2] == [PAD, UNK]


def test_dev_test_words_only_when_covered():
    vocab = build_word_vocab(["cell", "cell"], ["kinase", "unseen", "Rare"], VECTORS)
    assert "kinase" in vocab.index and "Rare" in vocab.index and "unseen" not in vocab.index


def test_frequency_order_and_cap():
    vocab = build_word_vocab(["b", "a", "a", "b", "b", "c", "c"], [], VECTORS, max_size=4)
    assert vocab.items == [PAD, UNK, "b", "a"]


def test_lookup_falls_back_to_lower_case_and_unk():
    vocab = build_word_vocab(["cell", "cell", "Cell", "Cell"], [], VECTORS)
    assert vocab.lookup("CELL") == vocab.index["cell"] and vocab.lookup("Cell") == vocab.index["Cell"]
    assert vocab.lookup("cells") == 1
    vocab = build_word_vocab(["protein", "protein"], [], VECTORS)
    assert vocab.lookup("Protein") == vocab.index["protein"] and vocab.lookup("IL-7") == 1


def test_embedding_matrix_uses_vectors_then_uniform():
    vocab = build_word_vocab(["Protein", "cell", "cell"], [], VECTORS)
    matrix = embedding_matrix(vocab, VECTORS, seed=0)
    assert torch.equal(matrix[0], torch.zeros(2))
    assert torch.equal(matrix[vocab.index["Protein"]], torch.tensor([2.0, 3.0]))  # lower-case vector
    bound = np.sqrt(3 / 2)
    assert matrix[vocab.index["cell"]].abs().max() <= bound and matrix[1].abs().max() <= bound


def test_char_and_tag_vocab():
    assert build_char_vocab(["ab", "b1"]).items == [PAD, UNK, "0", "a", "b"]
    assert build_tag_vocab(["O", "I-Gene", "B-Chem", "B-Gene"]) == ["O", "B-Chem", "I-Chem", "B-Gene", "I-Gene"]


def test_glove_wheel_is_the_official_50d():
    glove = embeddings.glove_6b_50d()
    assert glove.dim == 50 and len(glove.words) == 400_000
    assert glove["the"][:3] == pytest.approx([0.418, 0.24968, -0.41242])


@pytest.fixture
def keyed_vectors():
    kv = KeyedVectors(vector_size=3)
    kv.add_vectors(["protein", "kinase"], np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float32))
    return kv


def test_word2vec_text_and_binary(tmp_path, keyed_vectors):
    for binary, name in ((False, "vectors.txt"), (True, "vectors.bin")):
        keyed_vectors.save_word2vec_format(str(tmp_path / name), binary=binary)
        loaded = embeddings.from_file(str(tmp_path / name))
        assert loaded.dim == 3 and list(loaded["kinase"]) == [4, 5, 6]


def test_glove_text_without_header(tmp_path):
    (tmp_path / "glove.txt").write_text("protein 1 2 3\nkinase 4 5 6\n")
    loaded = embeddings.from_file(str(tmp_path / "glove.txt"))
    assert loaded.dim == 3 and list(loaded["protein"]) == [1, 2, 3]


def test_missing_embedding_file_names_it_and_where_to_get_it(tmp_path):
    with pytest.raises(InputError, match="embedding file not found.*nlp.stanford") as err:
        embeddings.from_file(str(tmp_path / "glove.6B.100d.txt"), where_to_get="https://nlp.stanford.edu")
    assert "glove.6B.100d.txt" in str(err.value)
    with pytest.raises(InputError, match="embedding.path"):
        embeddings.from_file(None)


def test_unreadable_embedding_file(tmp_path):
    (tmp_path / "bad.txt").write_text("protein 1 2 3\nkinase 4 five\n")
    with pytest.raises(InputError, match="cannot read word vectors"):
        embeddings.from_file(str(tmp_path / "bad.txt"))


def test_random_has_no_vectors():
    assert "the" not in embeddings.random_vectors(20) and embeddings.random_vectors(20).dim == 20
