"""Linear-chain CRF heads: input-dependent ("bigram", paper eq. 10) or classic transitions.

Everything is vectorized over the batch; the only loops run over time. Padding is made
transparent by replacing the potentials of padded positions with an identity transition
(0 on the diagonal, a large negative value elsewhere), so a padded sentence keeps exactly the
score and decode it has alone, and neither loop needs a mask. The log-partition is a custom
autograd function: the forward algorithm runs without building a graph and the backward pass
computes the edge marginals from forward-backward in one vectorized step.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

_BLOCKED = -1e4  # exp(-1e4) == 0 in float32/64, without the NaNs of -inf


class _LogPartition(torch.autograd.Function):
    """log Z of a chain with initial scores `first` (B, L) and transitions `psi` (T-1, B, L, L)."""

    @staticmethod
    def forward(ctx, first: Tensor, psi: Tensor) -> Tensor:
        steps = psi.shape[0]
        alphas = first.new_empty((steps + 1,) + first.shape)
        alphas[0] = first
        for t in range(steps):
            torch.logsumexp(alphas[t].unsqueeze(-1) + psi[t], dim=1, out=alphas[t + 1])
        log_z = torch.logsumexp(alphas[steps], dim=1)
        ctx.save_for_backward(psi, alphas, log_z)
        return log_z

    @staticmethod
    def backward(ctx, grad_log_z: Tensor):
        psi, alphas, log_z = ctx.saved_tensors
        steps = psi.shape[0]
        betas = torch.zeros_like(alphas)
        for t in range(steps - 1, -1, -1):
            torch.logsumexp(psi[t] + betas[t + 1].unsqueeze(-2), dim=2, out=betas[t])
        norm = log_z.view(1, -1, 1)
        grad = grad_log_z.view(1, -1, 1)
        grad_first = (alphas[0] + betas[0] - norm[0]).exp_() * grad[0]
        edges = alphas[:-1].unsqueeze(-1) + psi + betas[1:].unsqueeze(-2) - norm.unsqueeze(-1)
        return grad_first, edges.exp_().mul_(grad.unsqueeze(-1))


class CRF(nn.Module):
    """CRF head over features (B, T, D). `bigram=True`: transition scores Linear(D -> L*L) at
    every position (authors' code); `bigram=False`: one learned L x L matrix."""

    def __init__(self, in_dim: int, num_tags: int, bigram: bool = True):
        super().__init__()
        self.num_tags, self.bigram = num_tags, bigram
        self.emission = nn.Linear(in_dim, num_tags)
        if bigram:
            self.transition = nn.Linear(in_dim, num_tags * num_tags)
        else:
            self.transition = nn.Parameter(torch.zeros(num_tags, num_tags))
        self.start = nn.Parameter(torch.zeros(num_tags))
        self.end = nn.Parameter(torch.zeros(num_tags))
        identity = torch.full((num_tags, num_tags), _BLOCKED).fill_diagonal_(0.0)
        self.register_buffer("identity", identity, persistent=False)  # the transition of padding

    def scores(self, features: Tensor) -> tuple[Tensor, Tensor]:
        """Emission scores (B, T, L) and transition scores: (B, T-1, L, L) for the bigram CRF
        (from the features at the later position), the (L, L) matrix for the classic one."""
        emissions = self.emission(features)
        if not self.bigram:
            return emissions, self.transition
        batch, length, _ = features.shape
        return emissions, self.transition(features[:, 1:]).view(batch, length - 1, self.num_tags, self.num_tags)

    def _chain(self, emissions: Tensor, trans: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """Fold start/end into the emissions; psi (T-1, B, L, L) = transition + next emission,
        time-major, with an identity transition at padded positions."""
        batch = emissions.shape[0]
        emissions = emissions.clone()
        emissions[:, 0] += self.start
        emissions[torch.arange(batch, device=mask.device), mask.sum(1) - 1] += self.end
        by_time = emissions.transpose(0, 1)
        psi = (trans.transpose(0, 1) if self.bigram else trans) + by_time[1:].unsqueeze(2)
        return emissions, torch.where(mask.t()[1:, :, None, None], psi, self.identity)

    def nll(self, features: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """Negative log-likelihood per sentence (B,). Padded positions of `tags` may hold anything."""
        return self.nll_from_scores(*self.scores(features), tags, mask)

    def nll_from_scores(self, emissions: Tensor, trans: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        emissions, psi = self._chain(emissions, trans, mask)
        log_z = _LogPartition.apply(emissions[:, 0], psi)
        tags = tags * mask
        emitted = emissions.gather(2, tags.unsqueeze(-1)).squeeze(-1)
        if self.bigram:
            pairs = tags[:, :-1] * self.num_tags + tags[:, 1:]
            moved = trans.flatten(2).gather(2, pairs.unsqueeze(-1)).squeeze(-1)
        else:
            moved = trans[tags[:, :-1], tags[:, 1:]]
        gold = (emitted * mask).sum(1) + (moved * mask[:, 1:]).sum(1)
        return log_z - gold

    @torch.no_grad()
    def decode(self, features: Tensor, mask: Tensor) -> Tensor:
        """Viterbi best tags (B, T); padded positions hold the last real tag (mask them)."""
        return self.decode_from_scores(*self.scores(features), mask)

    @torch.no_grad()
    def decode_from_scores(self, emissions: Tensor, trans: Tensor, mask: Tensor) -> Tensor:
        emissions, psi = self._chain(emissions, trans, mask)
        # Max-product over tiny (B, L, L) blocks: numpy's per-call cost is a fraction of torch's,
        # and the tags go to the host anyway.
        tags = _viterbi(emissions[:, 0].float().cpu().numpy(), psi.float().cpu().numpy())
        return torch.from_numpy(tags).to(emissions.device)


def _viterbi(first: np.ndarray, psi: np.ndarray) -> np.ndarray:
    """Best path of a chain with initial scores (B, L) and transitions psi (T-1, B, L, L)."""
    steps, batch = psi.shape[0], first.shape[0]
    score = first
    pointers = np.empty((steps, batch, first.shape[1]), dtype=np.int64)
    for t in range(steps):
        candidates = score[:, :, None] + psi[t]
        pointers[t] = candidates.argmax(1)
        score = candidates.max(1)
    path = np.empty((batch, steps + 1), dtype=np.int64)
    path[:, -1] = best = score.argmax(1)
    rows = np.arange(batch)
    for t in range(steps - 1, -1, -1):
        path[:, t] = best = pointers[t, rows, best]
    return path
