"""Tried for issue #22, not kept: a hand-written BiLSTM recurrence for tagging against the encoder's
oneDNN path, on the batches tagging makes of the 1,000-abstract sentences (p1000.sentences.txt from
dump_sents.py; lengths only, random inputs). Packed (real tokens only, no padding), the input GEMM
once over the real tokens, per step one addmm and in-place gate arithmetic, tanh as
2 sigmoid(2x) - 1 (torch's tanh was ~3.6x its sigmoid per element here).
Run from the checkout: .venv/bin/python results/tagging-speed/recurrence.py [--gemm-only]
(--gemm-only: the GEMMs alone, no gate arithmetic: what even a fused cell would cost; outputs wrong)."""
import sys, time, torch, random
GEMM_ONLY = '--gemm-only' in sys.argv
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from bioner_pl.models.blocks import Encoder, RealTokens
torch.manual_seed(0); random.seed(0)
def bench(f, n=5):
    f(); t = time.perf_counter()
    for _ in range(n): f()
    return (time.perf_counter() - t) / n
lens = sorted(len(l.split()) for l in open(sys.argv[1]))
B, D, H = 256, 80, 256
batches = [lens[i:i + B] for i in range(0, len(lens), B)]
enc = Encoder(D, H).eval()
lstm = enc.lstm
def fused_weights(suffix):
    w_ih, w_hh = getattr(lstm, "weight_ih_l0" + suffix), getattr(lstm, "weight_hh_l0" + suffix)
    b = getattr(lstm, "bias_ih_l0" + suffix) + getattr(lstm, "bias_hh_l0" + suffix)
    scale = torch.ones(4 * H); scale[2 * H:3 * H] = 2  # tanh(g) = 2 sigmoid(2g) - 1
    return (w_ih * scale[:, None]).t().contiguous(), (w_hh * scale[:, None]).t().contiguous(), b * scale
W = {s: fused_weights(s) for s in ("", "_reverse")}
def direction(data, sizes, w_ihT, w_hhT, b, reverse):
    xg = torch.addmm(b, data, w_ihT)          # (N, 4H): real tokens only
    n0 = sizes[0]
    h, c = data.new_zeros(n0, H), data.new_zeros(n0, H)
    out = data.new_empty(data.shape[0], H)
    gates, tmp = data.new_empty(n0, 4 * H), data.new_empty(n0, H)
    offsets = [0]
    for s in sizes[:-1]: offsets.append(offsets[-1] + s)
    steps = range(len(sizes) - 1, -1, -1) if reverse else range(len(sizes))
    for t in steps:
        n, o = sizes[t], offsets[t]
        g = gates[:n]
        torch.addmm(xg[o:o + n], h[:n], w_hhT, out=g)
        if GEMM_ONLY:
            continue
        g.sigmoid_()
        cc = c[:n]
        cc.mul_(g[:, H:2 * H]).addcmul_(g[:, :H], g[:, 2 * H:3 * H], value=2).sub_(g[:, :H])
        torch.mul(cc, 2, out=tmp[:n]); tmp[:n].sigmoid_()
        tmp[:n].mul_(2).sub_(1)
        torch.mul(g[:, 3 * H:], tmp[:n], out=h[:n])
        out[o:o + n] = h[:n]
    return out
def mine(x, lengths):
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    sizes = packed.batch_sizes.tolist()
    outs = [direction(packed.data, sizes, *W[s], s == "_reverse") for s in ("", "_reverse")]
    return pad_packed_sequence(packed._replace(data=torch.cat(outs, 1)), batch_first=True, total_length=x.shape[1])[0]
torch.manual_seed(1)
data = []
for bl in batches:
    lengths = torch.tensor(bl)[torch.randperm(len(bl))]
    x = torch.randn(len(bl), max(bl), D) * (torch.arange(max(bl)) < lengths[:, None])[..., None]
    data.append((x, lengths, RealTokens(lengths, max(bl), torch.device("cpu"))))
for threads in (1, 2, 1, 2):
    torch.set_num_threads(threads)
    with torch.inference_mode():
        x, lengths, tok = data[len(data) // 2]
        ref, got = enc._padded(x, tok), mine(x, lengths)
        diff = ((ref - got) * (torch.arange(x.shape[1]) < lengths[:, None])[..., None]).abs().max().item()
        a = bench(lambda: [enc._padded(x, tok) for x, _, tok in data], 2)
        b = bench(lambda: [mine(x, l) for x, l, _ in data], 2)
        print(f"threads {threads}: max diff {diff:.2e}; all {len(data)} batches: oneDNN padded {a:.2f} s, packed loop {b:.2f} s, x{a/b:.2f}")
