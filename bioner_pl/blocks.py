"""The building blocks every architecture is wired from (paper, Methods; DESIGN.md)."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class Dropout(nn.Dropout):
    """nn.Dropout whose mask compares uniform samples with p: the same distribution, but on the
    CPU torch's bernoulli_ costs about three times as much as rand_like (issue #6 profile)."""

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0:
            return x
        return x * ((torch.rand_like(x) >= self.p) * (1.0 / (1.0 - self.p)))


class WordCharEmbedding(nn.Module):
    """Word vector (fine-tuned) + char-CNN (30-d chars, 30 filters, window 3, padding 2, max-pool,
    tanh), dropout on the concatenation. The char max-pool skips padding, so a word's vector does
    not depend on the longest word of its batch."""

    def __init__(self, vocab_size: int, word_dim: int, num_chars: int, char_dim: int = 30,
                 char_filters: int = 30, window: int = 3, dropout: float = 0.5):
        super().__init__()
        self.words = nn.Embedding(vocab_size, word_dim, padding_idx=0)
        self.chars = nn.Embedding(num_chars, char_dim, padding_idx=0)
        self.conv = nn.Conv1d(char_dim, char_filters, window, padding=window - 1)
        self.dropout = Dropout(dropout)
        self.out_dim = word_dim + char_filters

    def forward(self, words: Tensor, chars: Tensor, mask: Tensor) -> Tensor:
        batch, length, width = chars.shape
        real = chars[mask]  # (N, C): char-CNN only over real tokens
        conv = self.conv(self.chars(real).transpose(1, 2))  # (N, F, C + window - 1)
        n_chars = (real > 0).sum(1, keepdim=True)
        valid = torch.arange(conv.shape[2], device=conv.device) < n_chars + self.conv.padding[0]
        pooled = conv.masked_fill(~valid.unsqueeze(1), float("-inf")).amax(2).tanh()
        char_repr = pooled.new_zeros(batch, length, pooled.shape[1]).masked_scatter(mask.unsqueeze(-1), pooled)
        return self.dropout(torch.cat([self.words(words), char_repr], dim=-1))


class Encoder(nn.Module):
    """The paper's "Bi-LSTM unit": BiLSTM(256/dir) over packed sequences, dropout, Linear -> ELU.
    Dropout and projection run on the packed real tokens; padded positions come out as zeros."""

    def __init__(self, in_dim: int, hidden: int = 256, out_dim: int = 128, dropout: float = 0.5):
        super().__init__()
        self.lstm = nn.LSTM(in_dim, hidden, batch_first=True, bidirectional=True)
        self.dropout = Dropout(dropout)
        self.project = nn.Sequential(nn.Linear(2 * hidden, out_dim), nn.ELU())
        self.out_dim = out_dim

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        hidden = self.lstm(packed)[0]
        projected = hidden._replace(data=self.project(self.dropout(hidden.data)))
        return pad_packed_sequence(projected, batch_first=True, total_length=x.shape[1])[0]


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
