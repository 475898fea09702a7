"""Linear-chain CRF heads: input-dependent ("bigram", paper eq. 10) or classic transitions.

Everything is vectorized over the batch; the only loops run over time. Padding is made
transparent by replacing the potentials of padded positions with an identity transition
(0 on the diagonal, a large negative value elsewhere), so a padded sentence keeps exactly the
score and decode it has alone, and neither loop needs a mask. The log-partition is a custom
autograd function: the forward algorithm runs without building a graph and the backward pass
computes the edge marginals from forward-backward in one vectorized step.
"""

from __future__ import annotations

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

    def potentials(self, features: Tensor, mask: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Return (emissions (B,T,L) with start/end folded in, raw transitions, psi (T-1,B,L,L))."""
        batch, length, _ = features.shape
        emissions = self.emission(features)
        lengths = mask.sum(1)
        position = torch.arange(length, device=mask.device)
        is_last = (position == (lengths - 1).unsqueeze(1)).unsqueeze(-1)
        is_first = (position == 0).view(1, -1, 1)
        emissions = emissions + is_last * self.end + is_first * self.start
        if self.bigram:
            trans = self.transition(features[:, 1:]).view(batch, length - 1, self.num_tags, self.num_tags)
        else:
            trans = self.transition.expand(batch, length - 1, -1, -1)
        psi = trans + emissions[:, 1:].unsqueeze(2)
        identity = torch.full((self.num_tags, self.num_tags), _BLOCKED, dtype=psi.dtype, device=psi.device)
        identity.fill_diagonal_(0.0)
        psi = torch.where(mask[:, 1:, None, None], psi, identity)
        return emissions, trans, psi.transpose(0, 1).contiguous()

    def nll(self, features: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """Negative log-likelihood per sentence (B,). Padded positions of `tags` may hold anything."""
        emissions, trans, psi = self.potentials(features, mask)
        log_z = _LogPartition.apply(emissions[:, 0], psi)
        return log_z - self._gold_score(emissions, trans, tags, mask)

    def _gold_score(self, emissions: Tensor, trans: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        tags = tags * mask
        emitted = emissions.gather(2, tags.unsqueeze(-1)).squeeze(-1)
        pairs = tags[:, :-1] * self.num_tags + tags[:, 1:]
        moved = trans.reshape(*trans.shape[:2], -1).gather(2, pairs.unsqueeze(-1)).squeeze(-1)
        return (emitted * mask).sum(1) + (moved * mask[:, 1:]).sum(1)

    @torch.no_grad()
    def decode(self, features: Tensor, mask: Tensor) -> Tensor:
        """Viterbi best tags (B, T); padded positions hold the last real tag (mask them)."""
        emissions, _, psi = self.potentials(features, mask)
        score = emissions[:, 0]
        pointers = []
        for t in range(psi.shape[0]):
            score, best_prev = (score.unsqueeze(-1) + psi[t]).max(dim=1)
            pointers.append(best_prev)
        best = score.argmax(dim=1)
        path = [best]
        for best_prev in reversed(pointers):
            best = best_prev.gather(1, best.unsqueeze(1)).squeeze(1)
            path.append(best)
        return torch.stack(path[::-1], dim=1)
