import itertools

import pytest
import torch

from bioner_pl.models.crf import CRF, _log_backward, _log_forward, _scaled_backward, _scaled_forward


def brute_force(crf: CRF, features: torch.Tensor, length: int):
    """All tag sequences of one sentence: (log Z, best path, score function)."""
    emissions = crf.emission(features[:length])
    if crf.bigram:
        trans = crf.transition(features[:length]).view(length, crf.num_tags, crf.num_tags)
    else:
        trans = crf.transition.expand(length, -1, -1)

    def score(path):
        total = crf.start[path[0]] + crf.end[path[-1]] + sum(emissions[t, y] for t, y in enumerate(path))
        return total + sum(trans[t, path[t - 1], path[t]] for t in range(1, length))

    paths = list(itertools.product(range(crf.num_tags), repeat=length))
    scores = torch.stack([score(p) for p in paths])
    return torch.logsumexp(scores, 0), list(paths[int(scores.argmax())]), score


def random_crf(bigram: bool, dim: int, tags: int, seed: int) -> CRF:
    torch.manual_seed(seed)
    crf = CRF(dim, tags, bigram).double()
    with torch.no_grad():  # non-zero start/end/transitions so every term is exercised
        for p in crf.parameters():
            p.normal_(0, 1.0)
    return crf


@pytest.mark.parametrize("bigram", [True, False])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nll_and_viterbi_match_brute_force_on_padded_batch(bigram, seed):
    crf = random_crf(bigram, dim=6, tags=3 + seed % 2, seed=seed)
    lengths = torch.tensor([5, 3, 1, 4])
    mask = torch.arange(5) < lengths[:, None]
    features = torch.randn(4, 5, 6, dtype=torch.double)
    tags = torch.randint(0, crf.num_tags, (4, 5))
    nll = crf.nll(features, tags, mask)
    decoded = crf.decode(features, mask)
    for b, n in enumerate(lengths.tolist()):
        log_z, best, score = brute_force(crf, features[b], n)
        assert nll[b].item() == pytest.approx((log_z - score(tags[b, :n].tolist())).item(), abs=1e-9)
        assert decoded[b, :n].tolist() == best


@pytest.mark.parametrize("bigram", [True, False])
def test_padding_changes_nothing(bigram):
    crf = random_crf(bigram, dim=4, tags=5, seed=3).float()
    alone = torch.randn(1, 3, 4)
    tags = torch.randint(0, 5, (1, 3))
    padded = torch.cat([alone, torch.randn(1, 4, 4) * 10], dim=1)  # garbage in the padding
    mask = torch.tensor([[True] * 3 + [False] * 4])
    padded_tags = torch.cat([tags, torch.randint(0, 5, (1, 4))], dim=1)
    assert torch.allclose(crf.nll(alone, tags, torch.ones(1, 3, dtype=torch.bool)), crf.nll(padded, padded_tags, mask))
    assert crf.decode(alone, torch.ones(1, 3, dtype=torch.bool))[0].tolist() == crf.decode(padded, mask)[0, :3].tolist()


@pytest.mark.parametrize("bigram", [True, False])
def test_gradcheck(bigram):
    crf = random_crf(bigram, dim=3, tags=3, seed=4)
    lengths = torch.tensor([4, 2, 1])
    mask = torch.arange(4) < lengths[:, None]
    features = torch.randn(3, 4, 3, dtype=torch.double, requires_grad=True)
    tags = torch.randint(0, 3, (3, 4))
    assert torch.autograd.gradcheck(lambda x: crf.nll(x, tags, mask).sum(), (features,))
    params = [p for p in crf.parameters()]
    assert torch.autograd.gradcheck(lambda *_: crf.nll(features, tags, mask).sum(), params)


def test_nll_is_non_negative_and_trainable():
    crf = CRF(4, 3)
    features, tags = torch.randn(2, 6, 4), torch.randint(0, 3, (2, 6))
    mask = torch.ones(2, 6, dtype=torch.bool)
    optimizer = torch.optim.SGD(crf.parameters(), lr=0.5)
    first = crf.nll(features, tags, mask).sum()
    assert (crf.nll(features, tags, mask) >= 0).all()
    for _ in range(50):
        optimizer.zero_grad()
        crf.nll(features, tags, mask).sum().backward()
        optimizer.step()
    assert crf.nll(features, tags, mask).sum() < first * 0.2
    assert crf.decode(features, mask).tolist() == tags.tolist()


@pytest.mark.parametrize("scale, scaled", [(1.0, True), (400.0, False)])  # 400: a range past exp's
def test_both_partition_paths_match_brute_force(scale, scaled):
    """The CPU's rescaled probability-space recursion, and the log-space one it falls back to
    when scores span more than exp can hold, give the exact log Z and finite gradients."""
    crf = random_crf(True, dim=5, tags=4, seed=5)
    with torch.no_grad():
        for p in crf.parameters():
            p.mul_(scale)
    lengths = torch.tensor([5, 2])
    mask = torch.arange(5) < lengths[:, None]
    features = torch.randn(2, 5, 5, dtype=torch.double)
    tags = torch.randint(0, 4, (2, 5))
    with torch.no_grad():
        assert (_scaled_forward(*crf._chain(*crf.scores(features), mask), crf.end.expand(2, 4)) is not None) == scaled
    nll = crf.nll(features, tags, mask)
    nll.sum().backward()
    for b, n in enumerate(lengths.tolist()):
        log_z, _, score = brute_force(crf, features[b], n)
        assert nll[b].item() == pytest.approx((log_z - score(tags[b, :n].tolist())).item(), rel=1e-9, abs=1e-7)
    assert all(torch.isfinite(p.grad).all() for p in crf.parameters())


def test_log_space_gradients_equal_the_scaled_ones():
    """gradcheck covers the path the CPU takes; the log-space one (accelerators, extreme scores)
    must give the same gradients for first, psi and last."""
    torch.manual_seed(6)
    first, last = torch.randn(3, 4, dtype=torch.double), torch.randn(3, 4, dtype=torch.double)
    psi = torch.randn(5, 3, 4, 4, dtype=torch.double)
    grad = torch.rand(1, 3, 1, dtype=torch.double)
    log_z, saved = _log_forward(first, psi, last)
    scaled_z, scaled_saved = _scaled_forward(first, psi, last)
    assert torch.allclose(log_z, scaled_z)
    for a, b in zip(_log_backward(*saved, grad), _scaled_backward(*scaled_saved, grad)):
        assert torch.allclose(a, b)


@pytest.mark.parametrize("bigram", [True, False])
def test_span_confidences_are_the_brute_force_posteriors(bigram):
    """P(tags s..e = labels, and the next tag is not `stop`), summed over every tag sequence."""
    crf = random_crf(bigram, dim=6, tags=3, seed=5)
    lengths = torch.tensor([5, 3, 1])
    mask = torch.arange(5) < lengths[:, None]
    features = torch.randn(3, 5, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    _, posterior = crf.posterior(features, mask)
    checked = 0
    for b, n in enumerate(lengths.tolist()):
        log_z, _, score = brute_force(crf, features[b], n)
        paths = list(itertools.product(range(3), repeat=n))
        probs = torch.stack([score(p) for p in paths]).sub(log_z).exp().detach()
        for s in range(n):
            for labels in ([1], [1, 2], [2, 2, 0], [0, 1, 2, 2]):
                if s + len(labels) > n:
                    continue
                for stop in (None, 2):
                    e = s + len(labels) - 1
                    expected = sum(float(p) for path, p in zip(paths, probs)
                                   if list(path[s : e + 1]) == labels and (stop is None or e == n - 1 or path[e + 1] != stop))
                    got = posterior.probability(b, s, labels, stop)
                    assert 0 <= got <= 1 and got == pytest.approx(expected, abs=1e-9)
                    checked += 1
    assert checked > 30
