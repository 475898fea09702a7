import time, torch, statistics
torch.set_num_threads(1)
from bioner_pl.tagging import Tagger
# usage: python bs2.py SENTENCES.txt CKPT (sentences from dump_sents.py)
import sys
S = [l.split() for l in open(sys.argv[1])][:5000]
res = {}
for rep in range(3):
    for p in ("32-true", "bf16-mixed"):
        for bs in (32, 64, 128, 256):
            t = Tagger.load(sys.argv[2], precision=p, batch_size=bs)
            t.tag_sentences(S[:300])
            s = time.perf_counter(); t.tag_sentences(S); e = time.perf_counter() - s
            res.setdefault((p, bs), []).append(len(S) / e)
for k, v in res.items(): print(*k, f"{statistics.median(v):.0f} sent/s", [round(x) for x in v])
