"""The building blocks every architecture is wired from (paper, Methods; docs/design.md)."""

from __future__ import annotations

from functools import cached_property

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from bioner_pl.models.registry import EMBEDDINGS, PartOptions


class Dropout(nn.Dropout):
    """nn.Dropout whose mask compares uniform samples with p: the same distribution, but on the
    CPU torch's bernoulli_ costs about three times as much as rand_like (issue #6 profile)."""

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0:
            return x
        return x * ((torch.rand_like(x) >= self.p) * (1.0 / (1.0 - self.p)))


class RealTokens:
    """Where the real tokens of a padded (B, T, ...) batch sit, found from the lengths, which stay
    on the CPU: selecting them never waits on an accelerator. Blocks that only need real tokens
    (char-CNN, encoder dropout and projection) `select` them, compute, and `scatter` back."""

    def __init__(self, lengths: Tensor, total_length: int, device: torch.device):
        self.lengths, self.shape = lengths, (len(lengths), total_length)
        real = torch.arange(total_length) < lengths[:, None]
        self.index = real.flatten().nonzero().squeeze(1).to(device, non_blocking=True)

    def select(self, padded: Tensor) -> Tensor:
        """(B, T, ...) -> (N, ...)"""
        return padded.flatten(0, 1).index_select(0, self.index)

    def scatter(self, real: Tensor) -> Tensor:
        """(N, ...) -> (B, T, ...), zeros at padding."""
        flat = real.new_zeros(self.shape[0] * self.shape[1], *real.shape[1:]).index_copy(0, self.index, real)
        return flat.view(*self.shape, *real.shape[1:])

    def reverse(self, padded: Tensor) -> Tensor:
        """(B, T, ...) with each sentence's real tokens in reverse order, padding left in place;
        its own inverse. Whole rows of the flattened batch are copied (index_select): several
        times faster than a gather along time with an expanded index, ~18x in bfloat16."""
        return padded.flatten(0, 1).index_select(0, self._reversal).view_as(padded)

    @cached_property
    def _reversal(self) -> Tensor:  # row indices into the flattened batch, once per batch, shared by every encoder
        steps, lengths = torch.arange(self.shape[1]), self.lengths[:, None]
        within = torch.where(steps < lengths, lengths - 1 - steps, steps)
        return (within + self.shape[1] * torch.arange(self.shape[0])[:, None]).flatten().to(self.index.device)


@EMBEDDINGS.register("word_char")
class WordCharEmbedding(nn.Module):
    """Word vector (fine-tuned) + char-CNN (30-d chars, 30 filters, window 3, padding 2, max-pool,
    tanh), dropout on the concatenation. The char max-pool skips padding, so a word's vector does
    not depend on the longest word of its batch. Its sizes come from the vocabularies and the word
    vectors, its dropout from the architecture's: it has no options of its own."""

    class Options(PartOptions):
        pass

    @classmethod
    def from_options(cls, options: PartOptions, vocab_size: int, word_dim: int, num_chars: int, dropout: float):
        return cls(vocab_size, word_dim, num_chars, dropout=dropout)

    def __init__(self, vocab_size: int, word_dim: int, num_chars: int, char_dim: int = 30,
                 char_filters: int = 30, window: int = 3, dropout: float = 0.5):
        super().__init__()
        self.words = nn.Embedding(vocab_size, word_dim, padding_idx=0)
        self.chars = nn.Embedding(num_chars, char_dim, padding_idx=0)
        self.conv = nn.Conv1d(char_dim, char_filters, window, padding=window - 1)
        self.dropout = Dropout(dropout)
        self.out_dim = word_dim + char_filters

    def forward(self, batch: dict, tokens: RealTokens) -> Tensor:
        """A batch's padded word and char ids -> (B, T, out_dim)."""
        return self.dropout(tokens.scatter(self.vectors(tokens.select(batch["words"]), tokens.select(batch["chars"]))))

    def vectors(self, words: Tensor, chars: Tensor) -> Tensor:
        """(N,) word ids and (N, C) char ids, 0-padded -> (N, out_dim) token vectors (before
        dropout). Only real tokens come here, and the tagger sends each distinct token once."""
        conv = self.conv(self.chars(chars).transpose(1, 2))  # (N, F, C + window - 1)
        n_chars = (chars > 0).sum(1, keepdim=True)
        valid = torch.arange(conv.shape[2], device=conv.device) < n_chars + self.conv.padding[0]
        pooled = conv.masked_fill(~valid.unsqueeze(1), float("-inf")).amax(2).tanh()
        return torch.cat([self.words(words), pooled], dim=-1)


class Encoder(nn.Module):
    """The paper's "Bi-LSTM unit": BiLSTM(256/dir), dropout, Linear -> ELU; padded positions come
    out as zeros. On the CPU each direction runs as its own LSTM over the padded batch, the
    backward one over every sentence reversed within its length, so padding never reaches a real
    token's state: that lets torch use oneDNN's fused LSTM, which packed sequences cannot
    (issue #6: forward+backward ~1.8x faster despite the padding). Elsewhere (cuDNN) packed."""

    def __init__(self, in_dim: int, hidden: int = 256, out_dim: int = 128, dropout: float = 0.5):
        super().__init__()
        self.lstm = nn.LSTM(in_dim, hidden, batch_first=True, bidirectional=True)
        self.dropout = Dropout(dropout)
        self.project = nn.Sequential(nn.Linear(2 * hidden, out_dim), nn.ELU())
        self.out_dim = out_dim

    def forward(self, x: Tensor, tokens: RealTokens) -> Tensor:
        bilstm = self._padded if x.device.type == "cpu" else self._packed
        return tokens.scatter(self.project(self.dropout(tokens.select(bilstm(x, tokens)))))

    def _packed(self, x: Tensor, tokens: RealTokens) -> Tensor:
        packed = pack_padded_sequence(x, tokens.lengths, batch_first=True, enforce_sorted=False)
        return pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=x.shape[1])[0]

    def _padded(self, x: Tensor, tokens: RealTokens) -> Tensor:
        backward = tokens.reverse(self._direction(tokens.reverse(x), "_reverse"))
        return torch.cat([self._direction(x, ""), backward], dim=-1)

    def _direction(self, x: Tensor, suffix: str) -> Tensor:
        """One direction of self.lstm (weights `*_l0` + suffix) over the padded batch."""
        weights = [getattr(self.lstm, f"{name}_l0{suffix}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        state = x.new_zeros(1, x.shape[0], self.lstm.hidden_size)
        # what nn.LSTM calls: (input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first)
        return torch.lstm(x, (state, state), weights, True, 1, 0.0, self.training, False, True)[0]


class NoEncoder(nn.Module):
    """encoder=none: the CRF heads read the embedding directly (the usual tagger on a pretrained
    transformer: a CRF on its last layer, no BiLSTM)."""

    def __init__(self, in_dim: int):
        super().__init__()
        self.out_dim = in_dim

    def forward(self, x: Tensor, tokens: RealTokens) -> Tensor:
        return x


def bf16_lstm_runs_on(device: torch.device) -> bool:
    """Whether an LSTM runs under bfloat16 autocast on this device. On a CPU without AVX-512 BF16
    or AMX, oneDNN has no such LSTM and raises (seen on an AVX2-only AMD EPYC), so we ask it."""
    lstm = torch.nn.LSTM(2, 2, batch_first=True).to(device)
    try:
        with torch.no_grad(), torch.autocast(device.type, torch.bfloat16):
            lstm(torch.zeros(1, 1, 2, device=device))
    except RuntimeError:
        return False
    return True


class _ReverseGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, scale: float) -> Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: Tensor):
        return -ctx.scale * grad, None


class GradientReversal(nn.Module):
    """Identity forward; multiplies the gradient by -scale backward (Ganin & Lempitsky 2015)."""

    def __init__(self, scale: float = 1.0):
        super().__init__()
        self.scale = scale

    def forward(self, x: Tensor) -> Tensor:
        return _ReverseGradient.apply(x, self.scale)


class CrossGate(nn.Module):
    """Gated interaction unit (eq. 18-19) for K tasks:
    G_k = P_k * sigmoid(sum_{j != k} W_{j->k} P_j + b_k), one Linear over the other tasks' P_j."""

    def __init__(self, num_tasks: int, dim: int):
        super().__init__()
        self.gates = nn.ModuleList(nn.Linear((num_tasks - 1) * dim, dim) for _ in range(num_tasks))

    def forward(self, private: list[Tensor], task: int) -> Tensor:
        others = torch.cat([p for j, p in enumerate(private) if j != task], dim=-1)
        return private[task] * torch.sigmoid(self.gates[task](others))


def diff_loss(shared: Tensor, private: Tensor, mask: Tensor) -> Tensor:
    """||S^T P||_F^2 per sentence (eq. 14), padding excluded; mean over the batch."""
    weights = mask.unsqueeze(-1).to(shared.dtype)
    correlation = torch.einsum("bti,btj->bij", shared * weights, private * weights)
    return correlation.pow(2).sum((1, 2)).mean()
