import os, sys, time, torch
torch.set_num_threads(1)
from bioner_pl.tagging import Tagger
from bioner_pl.scoring import entity_scores
def read(path):
    S, cur = [], []
    for line in open(path):
        line = line.rstrip("\n")
        if not line:
            if cur: S.append(cur); cur = []
        else: cur.append(line.split("\t"))
    return [[w for w, _ in s] for s in S], [[t for _, t in s] for s in S]
ckpt = sys.argv[1]
for split in ("devel", "test"):
    words, gold = read(f"{os.environ['BIONER_DATA_DIR']}/NCBI-disease-IOB/{split}.tsv")
    out = {}
    for p in ("32-true", "bf16-mixed", "32-true", "bf16-mixed"):
        t = Tagger.load(ckpt, precision=p)
        s = time.perf_counter(); res = t.tag_sentences(words); e = time.perf_counter() - s
        out[p] = res
        print(split, p, f"{len(words)/e:.0f} sent/s", f"F1 {entity_scores(gold, [r[0] for r in res])['f1']:.4f}")
    a, b = out["32-true"], out["bf16-mixed"]
    toks = sum(len(x[0]) for x in a); diff = sum(x != y for ra, rb in zip(a, b) for x, y in zip(ra[0], rb[0]))
    conf = max(abs(x[3] - y[3]) for ra, rb in zip(a, b) if ra[0] == rb[0] for x, y in zip(ra[1], rb[1]))
    print(split, f"tags differing {diff} of {toks} tokens; max confidence difference where tags agree {conf:.4f}")
