import json
import random
import statistics
from collections import Counter

import pytest
import torch

from bioner_pl.models.blocks import CrossGate, Encoder, GradientReversal, RealTokens, diff_loss
from bioner_pl.data.batching import TurnBatchSampler
from bioner_pl.models import Adversarial, CrossSharing, FullyShared, SharedPrivate, SingleTask
from bioner_pl.models.module import TaggerModule
from bioner_pl.config import group
from bioner_pl.models import ARCHITECTURES
from helpers import SMALL_VECTORS, TINY, batch_of, run_cli

SIZES = [50, 30, 20]  # main, aux 1, aux 2


def epoch(sampler, number):
    sampler.set_epoch(number)
    return list(sampler)


def task_of(index):
    return 0 if index < 50 else 1 if index < 80 else 2


def test_turns_order_and_epoch_length():
    sampler = TurnBatchSampler(SIZES, batch_size=16, seed=1)
    batches = epoch(sampler, 0)
    assert len(batches) == len(sampler) == 4 * 3  # 4 main batches, each followed by one per aux
    assert [task_of(b[0]) for b in batches] == [0, 1, 2] * 4
    assert all(len({task_of(i) for i in b}) == 1 for b in batches)  # one dataset per batch
    main = [i for b in batches[::3] for i in b]
    assert sorted(main) == list(range(50))  # every main sentence exactly once per epoch
    aux2 = [i for b in batches[2::3] for i in b]
    assert Counter(aux2).most_common(1)[0][1] == 2  # the small auxiliary set cycles
    assert batches == epoch(sampler, 0) and batches != epoch(sampler, 1)


def test_random_schedule_is_the_authors_variant():
    sampler = TurnBatchSampler([400, 400], batch_size=4, seed=3, mode="random")
    tasks = [0 if b[0] < 400 else 1 for b in epoch(sampler, 0)]
    assert len(tasks) == 200 and 70 < tasks.count(0) < 130 and tasks[:6] != [0, 1] * 3
    with pytest.raises(ValueError):
        TurnBatchSampler([4], 2, 1, mode="sometimes")


def test_by_length_batches_group_similar_lengths_and_keep_every_sentence():
    lengths = [random.Random(i).randint(1, 120) for i in range(2000)] + [5] * 300  # main, then aux
    spread = lambda batches: statistics.mean(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches)
    by_length = TurnBatchSampler([2000, 300], batch_size=16, seed=1, lengths=lengths)
    batches = epoch(by_length, 0)
    main = [i for b in batches[::2] for i in b]
    assert sorted(main) == list(range(2000)) and all(i >= 2000 for b in batches[1::2] for i in b)
    shuffled = epoch(TurnBatchSampler([2000, 300], batch_size=16, seed=1), 0)
    assert spread(batches[::2]) < 0.1 * spread(shuffled[::2])
    longest = [max(lengths[i] for i in b) for b in batches[::2]]
    descents = sum(a > b for a, b in zip(longest, longest[1:]))
    assert len(longest) / 4 < descents < 3 * len(longest) / 4  # batch lengths come in random order
    assert batches == epoch(by_length, 0) and batches != epoch(by_length, 1)


def test_gradient_reversal_flips_only_the_sign():
    x = torch.randn(3, 4, requires_grad=True)
    weights = torch.randn(3, 4)
    y = GradientReversal(scale=0.5)(x)
    assert torch.equal(y, x)
    (y * weights).sum().backward()
    assert torch.allclose(x.grad, -0.5 * weights)


def test_diff_loss_formula_on_hand_made_case():
    shared = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [9.0, 9.0]]])   # last row is padding
    private = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [9.0, 9.0]]])
    mask = torch.tensor([[True, True, False]])
    # S^T P = [[1, 2], [3, 4]] -> squared Frobenius norm 1 + 4 + 9 + 16
    assert diff_loss(shared, private, mask).item() == pytest.approx(30.0)


def test_cross_gate_is_equations_18_19():
    gate = CrossGate(2, 2)
    with torch.no_grad():
        gate.gates[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, -1.0]]))   # W_{2->1}
        gate.gates[0].bias.copy_(torch.tensor([0.0, 1.0]))                   # b_{2->1}
        gate.gates[1].weight.copy_(torch.tensor([[2.0, 1.0], [0.0, 0.0]]))    # W_{1->2}
        gate.gates[1].bias.copy_(torch.tensor([-1.0, 0.0]))                  # b_{1->2}
    p1, p2 = torch.tensor([[2.0, 3.0]]), torch.tensor([[1.0, -2.0]])
    sig = torch.sigmoid
    g1 = torch.tensor([[2.0 * sig(torch.tensor(1.0)), 3.0 * sig(torch.tensor(3.0))]])
    g2 = torch.tensor([[1.0 * sig(torch.tensor(6.0)), -2.0 * sig(torch.tensor(0.0))]])
    assert torch.allclose(gate([p1, p2], 0), g1) and torch.allclose(gate([p1, p2], 1), g2)


def test_cross_gate_sums_over_the_other_tasks():
    gate = CrossGate(3, 4)
    private = [torch.randn(2, 5, 4) for _ in range(3)]
    w, b = gate.gates[1].weight, gate.gates[1].bias
    w01, w21 = w[:, :4], w[:, 4:]   # W_{0->1}, W_{2->1}
    expected = private[1] * torch.sigmoid(private[0] @ w01.T + private[2] @ w21.T + b)
    assert torch.allclose(gate(private, 1), expected, atol=1e-6)


def test_real_tokens_select_and_scatter_back_with_zero_padding():
    lengths = torch.tensor([3, 1, 2])
    tokens = RealTokens(lengths, 4, torch.device("cpu"))
    padded = torch.arange(12.0).view(3, 4, 1)
    real = tokens.select(padded)
    assert real.flatten().tolist() == [0.0, 1.0, 2.0, 4.0, 8.0, 9.0]
    back = tokens.scatter(real)
    assert back.shape == padded.shape
    assert torch.equal(back, padded * (torch.arange(4) < lengths[:, None]).unsqueeze(-1))


def test_encoder_padded_directions_match_a_packed_bilstm():
    """The CPU path (each direction over the padded batch, the backward one over sentences
    reversed within their lengths) computes what nn.LSTM over packed sequences computes:
    same outputs at real tokens, same gradients, zeros at padding."""
    torch.manual_seed(0)
    encoder = Encoder(12, hidden=8, out_dim=6, dropout=0.0)
    lengths = torch.tensor([7, 2, 5, 1, 7])
    x = torch.randn(5, 7, 12, requires_grad=True)
    tokens = RealTokens(lengths, 7, x.device)
    mask = (torch.arange(7) < lengths[:, None]).unsqueeze(-1)
    padded, packed = encoder._padded(x, tokens), encoder._packed(x, tokens)
    assert torch.allclose(padded * mask, packed, atol=1e-6)
    weights = torch.randn_like(packed)
    grads = [torch.autograd.grad((out * mask * weights).sum(), [x, *encoder.lstm.parameters()])
             for out in (encoder._padded(x, tokens), encoder._packed(x, tokens))]
    for ours, reference in zip(*grads):
        assert torch.allclose(ours, reference, atol=1e-5)
    out = encoder(x, tokens)
    assert out.shape == (5, 7, 6) and torch.all(out[~mask.squeeze(-1)] == 0)
    # A sentence's encoding does not depend on the padding its batch gives it.
    alone = encoder(x[1:2, :2], RealTokens(lengths[1:2], 2, x.device))
    assert torch.allclose(alone[0], out[1, :2], atol=1e-6)


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_one_step_lowers_the_batch_loss(three_datasets, name):
    dm = three_datasets
    tasks = 1 if name == "stm" else 2
    arch = {"_target_": f"bioner_pl.models.{ARCHITECTURES[name].__name__}", "dropout": 0.0}
    torch.manual_seed(0)
    module = TaggerModule(arch, dm.names[:tasks], dm.tag_sets[:tasks], dm.words.items, dm.chars.items, 20,
                          optimizer=group("optimizer", "rmsprop"), scheduler=group("scheduler", "exponential"))
    optimizer = module.configure_optimizers()["optimizer"]
    for task in range(tasks):
        batch = batch_of(dm, task)
        before = module.net(batch)
        optimizer.zero_grad()
        before["loss"].backward()
        optimizer.step()
        after = module.net(batch)
        assert after["loss"] < before["loss"], (name, task)
        if name == "adv":
            assert {"task", "adv", "diff"} <= set(before)


def test_three_dataset_cross_sharing_trains(three_datasets):
    dm = three_datasets
    torch.manual_seed(0)
    net = CrossSharing(len(dm.words), 20, len(dm.chars), [len(t) for t in dm.tag_sets], dropout=0.0)
    optimizer = torch.optim.RMSprop(net.parameters(), lr=1e-3, alpha=0.95)
    for task in (0, 1, 2):
        batch = batch_of(dm, task)
        loss = net(batch)["loss"]
        optimizer.zero_grad()
        loss.backward()
        assert all(p.grad is not None for p in net.private.parameters())  # every private encoder ran
        optimizer.step()
        assert net(batch)["loss"] < loss
    assert len(net.gate.gates) == 3 and net.gate.gates[0].in_features == 2 * 128


def count(model):
    return sum(p.numel() for p in model.parameters())


def test_parameter_counts_match_table_3():
    """Paper: STM 3.68M, FS 3.68M, SP 5.41M, ADV 5.41M, CS 5.44M (100-d GloVe)."""
    vocab, chars, tags = 25_000, 80, [3, 3]  # NCBI-disease + BioNLP09: O, B-x, I-x
    build = lambda cls, t=tags: cls(vocab, 100, chars, t)  # noqa: E731
    stm, fs, sp, adv, cs = (build(SingleTask, tags[:1]), build(FullyShared), build(SharedPrivate),
                            build(Adversarial), build(CrossSharing))

    def crf(width, labels):  # emission + input-dependent transitions + start/end
        return width * labels + labels + width * labels * labels + labels * labels + 2 * labels

    lstm = 2 * 4 * 256 * (130 + 256 + 2)  # two directions, gates x (input + hidden + two biases)
    encoder = lstm + 512 * 128 + 128
    assert count(fs) - count(stm) == crf(128, 3)
    assert count(cs) - count(sp) == 33_024 == 2 * (128 * 128 + 128)
    assert count(adv) - count(sp) == 128 * 2 + 2
    sp_minus_stm = 2 * encoder + crf(256, 3) - crf(128, 3) + crf(256, 3)
    assert count(sp) - count(stm) == sp_minus_stm == 1_725_202
    assert round(sp_minus_stm / 1e6, 2) == pytest.approx(5.41 - 3.68)


@pytest.mark.slow
def test_five_models_end_to_end(tmp_path):
    """All four multi-task models on ncbi + bionlp09 in one Hydra multirun, then STM."""
    common = [*TINY, *SMALL_VECTORS, "main=ncbi", "trainer.limit_train_batches=4"]
    result = run_cli("bioner_pl.train", "-m", "model=fs,sp,adv,cs", "aux=bionlp09",
                     f"hydra.sweep.dir={tmp_path}", *common)
    assert result.returncode == 0, result.stderr[-3000:]
    stm = run_cli("bioner_pl.train", "model=stm", f"hydra.run.dir={tmp_path}/stm", *common)
    assert stm.returncode == 0, stm.stderr[-3000:]
    found = {}
    for path in tmp_path.rglob("metrics.json"):
        metrics = json.loads(path.read_text())
        found[metrics["model"]] = metrics
        assert metrics["aux"] == ([] if metrics["model"] == "stm" else ["bionlp09"])
        assert 0 <= metrics["test"]["f1"] <= 1
    assert set(found) == set(ARCHITECTURES)
    params = {m: found[m]["params"] for m in found}
    assert params["cs"] - params["sp"] == 33_024 and params["adv"] - params["sp"] == 258
    logged = next((tmp_path).rglob("adv-a0.01-b0.001/**/metrics.csv")).read_text().splitlines()[0]
    assert {"train/adv/ncbi", "train/diff/bionlp09", "train/task/ncbi"} <= set(logged.split(","))
