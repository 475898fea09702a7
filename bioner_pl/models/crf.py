"""Linear-chain CRF heads: input-dependent ("bigram", paper eq. 10) or classic transitions.

Everything is vectorized over the batch; the only loops run over time. Padding is made
transparent by replacing the potentials of padded positions with an identity transition
(0 on the diagonal, a large negative value elsewhere), so a padded sentence keeps exactly the
score and decode it has alone, and neither loop needs a mask. The log-partition is a custom
autograd function: the forward algorithm runs without building a graph (on the CPU rescaled in
probability space) and the backward pass computes the edge marginals from forward-backward in
one vectorized step. Viterbi runs in numpy.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

_BLOCKED = -1e4  # exp(-1e4) == 0 in float32/64, without the NaNs of -inf


class _LogPartition(torch.autograd.Function):
    """log Z of a chain with initial scores `first` (B, L), transitions `psi` (T-1, B, L, L) and
    final scores `last` (B, L).

    On the CPU the forward algorithm runs in probability space in float64, rescaled every step
    (Rabiner's scaling): one small bmm, a sum and a division per step instead of logsumexp's
    half-dozen kernels, and more accurate than float32 log space. Its one limit is a score range
    of ~700 within a step, where exp underflows; that case, and accelerators (where checking for
    it would cost a host sync per step), use the log-space recursion, exact for any scores.
    """

    @staticmethod
    def forward(ctx, first: Tensor, psi: Tensor, last: Tensor) -> Tensor:
        scaled = _scaled_forward(first, psi, last) if psi.device.type == "cpu" else None
        ctx.scaled = scaled is not None
        log_z, saved = scaled if ctx.scaled else _log_forward(first, psi, last)
        ctx.save_for_backward(*saved)
        return log_z.to(first.dtype)

    @staticmethod
    def backward(ctx, grad_log_z: Tensor):
        backward = _scaled_backward if ctx.scaled else _log_backward
        grads = backward(*ctx.saved_tensors, grad_log_z.view(1, -1, 1).double())
        return tuple(g.to(grad_log_z.dtype) for g in grads)


def _exp_shifted(scores: Tensor, dims) -> tuple[Tensor, Tensor]:
    """exp(scores - max) in float64 (a copy: the log-space fallback needs the input intact)."""
    scores = scores.to(torch.float64, copy=True)
    shift = scores.amax(dims, keepdim=True)
    return scores.sub_(shift).exp_(), shift


def _scaled_forward(first: Tensor, psi: Tensor, last: Tensor):
    """Forward messages probs[t] normalised to sum 1 and their normalisers sums[t] (the last
    one folds in `last`); None when a step's mass underflowed."""
    steps = psi.shape[0]
    trans, shift = _exp_shifted(psi, (2, 3))
    initial, shift_first = _exp_shifted(first, 1)
    probs = initial.new_empty((steps + 1,) + first.shape)
    probs[0] = initial
    final, shift_last = _exp_shifted(last, 1)
    sums = probs.new_empty((steps + 2, first.shape[0], 1))
    for t in range(steps + 1):
        if t:
            torch.bmm(probs[t - 1].unsqueeze(1), trans[t - 1], out=probs[t].unsqueeze(1))
        torch.sum(probs[t], 1, keepdim=True, out=sums[t])
        probs[t].div_(sums[t])
    torch.sum(probs[steps] * final, 1, keepdim=True, out=sums[-1])
    if not sums.min() > 1e-290:
        return None
    log_z = sums.log().sum(0) + shift.sum(0).squeeze(-1) + shift_first + shift_last
    return log_z.view(-1), (trans, probs, sums, final)


def _scaled_backward(trans: Tensor, probs: Tensor, sums: Tensor, final: Tensor, grad: Tensor):
    """Backward messages under the same scaling: node marginals are probs * betas, edge
    marginals probs[t] x trans[t] x betas[t+1] / sums[t+1]."""
    betas = torch.empty_like(probs)
    betas[-1] = final / sums[-1]
    for t in range(trans.shape[0] - 1, -1, -1):
        torch.bmm(trans[t], betas[t + 1].unsqueeze(-1), out=betas[t].unsqueeze(-1))
        betas[t].div_(sums[t + 1])
    edges = probs[:-1].unsqueeze(-1) * trans
    edges.mul_((betas[1:] / sums[1:-1] * grad).unsqueeze(-2))
    return probs[0] * betas[0] * grad[0], edges, probs[-1] * betas[-1] * grad[0]


def _log_forward(first: Tensor, psi: Tensor, last: Tensor):
    steps = psi.shape[0]
    alphas = first.new_empty((steps + 1,) + first.shape)
    alphas[0] = first
    for t in range(steps):
        torch.logsumexp(alphas[t].unsqueeze(-1) + psi[t], dim=1, out=alphas[t + 1])
    log_z = torch.logsumexp(alphas[steps] + last, dim=1)
    return log_z, (psi, alphas, last, log_z)


def _log_betas(psi: Tensor, last: Tensor) -> Tensor:
    """Backward messages (T, B, L) in log space: betas[t][y] = log-sum of every continuation from y at t."""
    betas = psi.new_empty((psi.shape[0] + 1,) + last.shape)
    betas[-1] = last
    for t in range(psi.shape[0] - 1, -1, -1):
        torch.logsumexp(psi[t] + betas[t + 1].unsqueeze(-2), dim=2, out=betas[t])
    return betas


def _log_backward(psi: Tensor, alphas: Tensor, last: Tensor, log_z: Tensor, grad: Tensor):
    betas = _log_betas(psi, last)
    norm = log_z.view(1, -1, 1)
    grad = grad.to(psi.dtype)
    ends = (alphas[[0, -1]] + betas[[0, -1]] - norm).exp_().mul_(grad)  # first and last node marginals
    edges = alphas[:-1].unsqueeze(-1) + psi + betas[1:].unsqueeze(-2) - norm.unsqueeze(-1)
    return ends[0], edges.exp_().mul_(grad.unsqueeze(-1)), ends[1]


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
        """Initial scores (B, L) = start + first emission, and psi (T-1, B, L, L) = transition +
        next emission, time-major, with an identity transition at padded positions. Since
        padding carries every score through unchanged, `end` is simply added after the last step."""
        by_time = emissions.transpose(0, 1)
        psi = (trans.transpose(0, 1) if self.bigram else trans) + by_time[1:].unsqueeze(2)
        return by_time[0] + self.start, torch.where(mask.t()[1:, :, None, None], psi, self.identity)

    def nll(self, features: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """Negative log-likelihood per sentence (B,). Padded positions of `tags` may hold anything."""
        return self.nll_from_scores(*self.scores(features), tags, mask)

    def nll_from_scores(self, emissions: Tensor, trans: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        first, psi = self._chain(emissions, trans, mask)
        log_z = _LogPartition.apply(first, psi, self.end.expand_as(first))
        tags = tags * mask
        emitted = emissions.gather(2, tags.unsqueeze(-1)).squeeze(-1)
        if self.bigram:
            pairs = tags[:, :-1] * self.num_tags + tags[:, 1:]
            moved = trans.flatten(2).gather(2, pairs.unsqueeze(-1)).squeeze(-1)
        else:
            moved = trans[tags[:, :-1], tags[:, 1:]]
        last_tags = tags.gather(1, mask.sum(1, keepdim=True) - 1).squeeze(1)
        gold = (emitted * mask).sum(1) + (moved * mask[:, 1:]).sum(1) + self.start[tags[:, 0]] + self.end[last_tags]
        return log_z - gold

    @torch.no_grad()
    def decode(self, features: Tensor, mask: Tensor) -> Tensor:
        """Viterbi best tags (B, T); padded positions hold the last real tag (mask them)."""
        return self.decode_from_scores(*self.scores(features), mask)

    @torch.no_grad()
    def decode_from_scores(self, emissions: Tensor, trans: Tensor, mask: Tensor) -> Tensor:
        first, psi = self._chain(emissions, trans, mask)
        # Max-product over tiny (B, L, L) blocks: numpy's per-call cost is a fraction of torch's,
        # and the tags go to the host anyway.
        arrays = [x.float().cpu().numpy() for x in (first, psi, self.end)]
        return torch.from_numpy(_viterbi(*arrays)).to(emissions.device)

    @torch.no_grad()
    def posterior(self, features: Tensor, mask: Tensor) -> tuple[Tensor, Posterior]:
        """The Viterbi tags (B, T) and the posterior that scores their segments (span confidences)."""
        emissions, trans = self.scores(features)
        first, psi = self._chain(emissions, trans, mask)
        return self.decode_from_scores(emissions, trans, mask), \
            Posterior(first, psi, self.end.expand_as(first), mask.sum(1).tolist())


class Posterior:
    """Forward-backward messages of a batch (float64, on the host), to score paths' segments:
    probability(b, s, labels, stop) = P(tags s.. = labels and the tag after them is not `stop`)."""

    def __init__(self, first: Tensor, psi: Tensor, last: Tensor, lengths: list[int]):
        first, psi, last = first.double(), psi.double(), last.double()
        log_z, (_, alphas, _, _) = _log_forward(first, psi, last)
        self.betas = _log_betas(psi, last).cpu().numpy()
        self.alphas, self.psi, self.log_z = alphas.cpu().numpy(), psi.cpu().numpy(), log_z.cpu().numpy()
        self.lengths = lengths

    def probability(self, b: int, s: int, labels: list[int], stop: int | None = None) -> float:
        end = s + len(labels) - 1
        score = self.alphas[s, b, labels[0]]
        for t in range(s, end):
            score += self.psi[t, b, labels[t - s], labels[t - s + 1]]
        if stop is None or end == self.lengths[b] - 1:  # nothing follows (padding repeats the last tag)
            score += self.betas[end, b, labels[-1]]
        else:
            following = self.psi[end, b, labels[-1]] + self.betas[end + 1, b]
            following[stop] = -np.inf
            score += np.logaddexp.reduce(following)
        return float(np.exp(score - self.log_z[b]))


def _viterbi(first: np.ndarray, psi: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Best path of a chain with initial scores (B, L), transitions psi (T-1, B, L, L) and final
    scores `last` (L,). The forward pass keeps only the best scores: one add and one max per
    step, taken over the leading axis of a (L_prev, B, L_next) view, which numpy reduces with
    whole contiguous rows. The backtrack recovers each pointer with a (B, L) argmax over the
    same sums, so ties break as a stored argmax would."""
    steps, batch = psi.shape[0], first.shape[0]
    scores = np.empty((steps + 1,) + first.shape, dtype=psi.dtype)
    scores[0] = first
    by_previous = psi.transpose(0, 2, 1, 3)
    candidates = np.empty(by_previous.shape[1:], dtype=psi.dtype)
    for t in range(steps):
        np.add(scores[t].T[:, :, None], by_previous[t], out=candidates)
        np.maximum.reduce(candidates, axis=0, out=scores[t + 1])
    path = np.empty((batch, steps + 1), dtype=np.int64)
    path[:, -1] = best = (scores[steps] + last).argmax(1)
    rows = np.arange(batch)
    for t in range(steps - 1, -1, -1):
        path[:, t] = best = (scores[t] + psi[t, rows, :, best]).argmax(1)
    return path
