"""Where the tagging time goes, without a profiler: wall time of each stage on 1,000 abstracts."""
import sys, time, collections
from pathlib import Path
import torch
from bioner_pl.tagging.readers import read_medline
from bioner_pl.tagging.tagger import Tagger
from bioner_pl.models import crf as crfmod, blocks
spent = collections.Counter()
def timed(owner, name, label):
    f = getattr(owner, name)
    def wrapper(*a, **k):
        t = time.perf_counter(); r = f(*a, **k); spent[label] += time.perf_counter() - t; return r
    setattr(owner, name, wrapper)
timed(blocks.Encoder, "_direction", "lstm direction")
timed(blocks.RealTokens, "reverse", "reverse")
timed(crfmod.CRF, "decode_from_scores", "viterbi")
timed(crfmod.Posterior, "__init__", "forward-backward")
timed(crfmod.Posterior, "probability", "span probability")
timed(Tagger, "_token_vectors", "token table")
timed(Tagger, "tag_sentences", "tag_sentences")
timed(blocks.Encoder, "forward", "encoder")
timed(crfmod.CRF, "scores", "crf scores")
timed(crfmod.CRF, "_chain", "crf chain")
timed(blocks.RealTokens, "scatter", "scatter")
timed(blocks.WordCharEmbedding, "vectors", "embedding vectors")
tagger = Tagger.load(sys.argv[1], precision=sys.argv[2])
t = time.perf_counter(); docs = list(read_medline(Path(sys.argv[3]))); spent["read+tokenize"] = time.perf_counter() - t
t = time.perf_counter()
for i in range(0, len(docs), 512): tagger.tag(docs[i:i + 512])
spent["tag"] = time.perf_counter() - t
for k, v in spent.most_common(): print(f"{k:18s} {v:6.2f} s")
