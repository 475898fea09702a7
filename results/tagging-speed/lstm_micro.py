import time, torch
torch.set_num_threads(1)
B, T, I, H = 256, 30, 80, 256
lstm = torch.nn.LSTM(I, H, batch_first=True).eval()
x = torch.randn(B, T, I)
def run(dtype, n=10):
    w = [p.to(dtype) for p in (lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0)]
    xx = x.to(dtype); s = xx.new_zeros(1, B, H)
    with torch.inference_mode():
        for _ in range(2): torch.lstm(xx, (s, s), w, True, 1, 0.0, False, False, True)
        t = time.perf_counter()
        for _ in range(n): out = torch.lstm(xx, (s, s), w, True, 1, 0.0, False, False, True)[0]
    return (time.perf_counter() - t) / n, out.float()
t32, o32 = run(torch.float32); t16, o16 = run(torch.bfloat16)
print(f"fp32 {t32*1e3:.1f} ms  bf16 {t16*1e3:.1f} ms  max diff {(o32-o16).abs().max():.3g}")
q = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(lstm), {torch.nn.LSTM}, dtype=torch.qint8)
with torch.inference_mode():
    for _ in range(2): q(x)
    t = time.perf_counter()
    for _ in range(10): oq = q[0](x)[0]
print(f"int8 dynamic {(time.perf_counter()-t)/10*1e3:.1f} ms max diff {(o32-oq).abs().max():.3g}")
