"""A pretrained transformer (Hugging Face `transformers`) as the embedding layer: words in, one
vector per word out. Words stay the unit: the corpus's tokens go to the tokenizer as pre-split
words, each word is represented by its first sub-word (or the mean of its sub-words), and a word
the tokenizer turns into no sub-word at all gets the unknown token, so the alignment never shifts.
A sentence longer than the model takes is encoded in overlapping windows; each sub-word takes its
vector from the window where it has the most context on both sides."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from bioner_pl.errors import InputError

POOLINGS = ("first", "mean")


def word_pieces(tokenizer, words: list[str]) -> list[list[int]]:
    """Each word's sub-word ids, as the tokenizer splits the words of a sentence; a word it turns
    into nothing (a control character, a lone combining mark) gets the unknown token instead."""
    if not words:
        return []
    encoding = tokenizer(words, is_split_into_words=True, add_special_tokens=False)
    pieces: list[list[int]] = [[] for _ in words]
    for piece, word in zip(encoding["input_ids"], encoding.word_ids()):
        if word is not None:
            pieces[word].append(piece)
    return [p or [tokenizer.unk_token_id] for p in pieces]


def special_tokens(tokenizer) -> tuple[list[int], list[int]]:
    """The ids the tokenizer puts before and after a sentence ([CLS] and [SEP] for BERT), read off
    how it encodes one word, so that any tokenizer's own convention is kept."""
    encoding = tokenizer(["a"], is_split_into_words=True)
    words = encoding.word_ids()
    first = words.index(0)
    last = len(words) - 1 - words[::-1].index(0)
    return encoding["input_ids"][:first], encoding["input_ids"][last + 1:]


def window_starts(length: int, size: int, stride: int) -> list[int]:
    """Where the windows of `size` sub-words over a sentence of `length` start, `stride` apart; the
    last one ends at the sentence's end, so every sub-word is in some window."""
    if length <= size:
        return [0]
    starts = list(range(0, length - size, stride))
    return starts + [length - size]


def best_window(position: int, starts: list[int], size: int) -> int:
    """The window in which this sub-word has the most context: the most sub-words on its shorter side."""
    inside = [k for k, s in enumerate(starts) if s <= position < s + size]
    return max(inside, key=lambda k: min(position - starts[k], starts[k] + size - 1 - position))


@dataclass
class Layout:
    """A batch of sentences as transformer inputs: the windows' sub-word ids (with the model's special
    tokens) and, for every word, the rows of the flattened output that hold its sub-words."""

    input_ids: Tensor        # (windows, longest window) padded with the pad id
    attention_mask: Tensor   # (windows, longest window)
    rows: Tensor             # (pieces,) row in the flattened (windows * longest) output of each kept sub-word
    word_of_row: Tensor      # (pieces,) which word of the batch (sentence-major, see `lengths`) it belongs to
    first_row: Tensor        # (words,) the row of each word's first sub-word
    lengths: list[int]       # words per sentence


def layout(tokenizer, sentences: list[list[str]], max_length: int, stride: int | None = None) -> Layout:
    """Tokenize a batch of word-split sentences into windows of at most `max_length` positions,
    special tokens included, overlapping by half a window unless `stride` is given."""
    prefix, suffix = special_tokens(tokenizer)
    size, offset = max_length - len(prefix) - len(suffix), len(prefix)
    if size < 2:
        raise InputError(f"max_length={max_length} leaves no room for sub-words beside the "
                         f"{len(prefix) + len(suffix)} special tokens")
    stride = stride or max(1, size // 2)
    windows, first_row = [], []
    placed: list[tuple[int, int, int]] = []  # (window, position in it, word) of every sub-word
    word = 0
    for words in sentences:
        pieces = word_pieces(tokenizer, words)
        flat = [(w, p) for w, ps in enumerate(pieces) for p in ps]
        starts = window_starts(len(flat), size, stride)
        first_window = len(windows)
        windows += [[p for _, p in flat[s : s + size]] for s in starts]
        seen = set()
        for position, (w, _) in enumerate(flat):
            k = best_window(position, starts, size)
            placed.append((first_window + k, offset + position - starts[k], word + w))
            if w not in seen:
                seen.add(w)
                first_row.append(len(placed) - 1)
        word += len(words)
    inputs = [prefix + w + suffix for w in windows]
    longest = max(map(len, inputs), default=1)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    input_ids = torch.full((len(inputs), longest), pad, dtype=torch.long)
    attention_mask = torch.zeros((len(inputs), longest), dtype=torch.long)
    for k, ids in enumerate(inputs):
        input_ids[k, : len(ids)] = torch.tensor(ids)
        attention_mask[k, : len(ids)] = 1
    rows = torch.tensor([k * longest + position for k, position, _ in placed], dtype=torch.long)
    word_of_row = torch.tensor([w for _, _, w in placed], dtype=torch.long)
    return Layout(input_ids, attention_mask, rows, word_of_row, rows[first_row], [len(s) for s in sentences])


class LayerMix(nn.Module):
    """A learned softmax-weighted sum of the transformer's layers, scaled (ELMo's scalar mix)."""

    def __init__(self, layers: int):
        super().__init__()
        self.weights = nn.Parameter(torch.zeros(layers))
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, hidden_states: tuple[Tensor, ...]) -> Tensor:
        weights = torch.softmax(self.weights, 0)
        return self.scale * sum(w * h for w, h in zip(weights, hidden_states))


class TransformerWords(nn.Module):
    """Word vectors from a pretrained transformer: (sentences of words) -> (B, T, hidden), zeros at
    padding. `model` is a Hugging Face hub name or a local model directory; `pooling` first or mean;
    `layers` "last" or "mix" (a learned mix of every layer's output)."""

    def __init__(self, model: str, pooling: str = "first", layers: str = "last", max_length: int | None = None,
                 stride: int | None = None):
        super().__init__()
        from transformers import AutoModel, AutoTokenizer  # only transformer runs need transformers

        if pooling not in POOLINGS:
            raise InputError(f"unknown pooling {pooling!r}; use one of {', '.join(POOLINGS)}")
        if layers not in ("last", "mix"):
            raise InputError(f"unknown layers {layers!r}; use last or mix")
        self.tokenizer = AutoTokenizer.from_pretrained(model)
        if not self.tokenizer.is_fast:
            raise InputError(f"{model}: its tokenizer cannot map sub-words to words (no fast tokenizer)")
        self.encoder = AutoModel.from_pretrained(model)
        self.pooling, self.stride = pooling, stride
        self.max_length = min(max_length or self.encoder.config.max_position_embeddings,
                              self.encoder.config.max_position_embeddings)
        self.mix = LayerMix(self.encoder.config.num_hidden_layers + 1) if layers == "mix" else None
        self.out_dim = self.encoder.config.hidden_size

    def forward(self, sentences: list[list[str]]) -> Tensor:
        device = next(self.encoder.parameters()).device
        batch = layout(self.tokenizer, sentences, self.max_length, self.stride)
        output = self.encoder(input_ids=batch.input_ids.to(device), attention_mask=batch.attention_mask.to(device),
                              output_hidden_states=self.mix is not None)
        hidden = self.mix(output.hidden_states) if self.mix is not None else output.last_hidden_state
        flat = hidden.flatten(0, 1)
        if self.pooling == "first":
            words = flat.index_select(0, batch.first_row.to(device))
        else:
            pieces = flat.index_select(0, batch.rows.to(device))
            index = batch.word_of_row.to(device)
            words = pieces.new_zeros(len(batch.first_row), pieces.shape[1]).index_add_(0, index, pieces)
            words = words / torch.bincount(index, minlength=len(batch.first_row)).clamp(min=1).unsqueeze(1)
        out = words.new_zeros(len(sentences), max(batch.lengths, default=0), words.shape[1])
        mask = torch.arange(out.shape[1]) < torch.tensor(batch.lengths).unsqueeze(1)
        out[mask.to(device)] = words
        return out
