"""The sentences our tagger sees in a PubMed-shaped file (tokens, one sentence per line), and the
checkpoint's vocabularies and word vectors, for flair."""
import json, sys, torch
from bioner_pl.tagging.readers import read_medline
from pathlib import Path
from bioner_pl.tagging.checkpoint import load_module
src, ckpt, out = sys.argv[1:4]
with open(out + ".sentences.txt", "w") as f:
    for doc in read_medline(Path(src)):
        for s in doc.sentences:
            f.write(" ".join(t.text for t in s) + "\n")
m = load_module(ckpt)
w = m.net.embedding.words.weight.detach()
json.dump({"words": list(m.hparams.words), "chars": list(m.hparams.chars), "tags": list(m.hparams.tag_sets[0]),
           "vectors": w.tolist()}, open(out + ".vocab.json", "w"))
