"""flair's SequenceTagger.predict on the same pre-tokenized sentences, same network size:
BiLSTM hidden 256, word embeddings of our checkpoint's vocabulary, character embeddings, CRF.
flair_bench.py PREFIX [THREADS] (default 1)."""
import json, sys, time, torch
torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
import numpy as np
from gensim.models import KeyedVectors
from flair.data import Dictionary, Sentence
from flair.embeddings import CharacterEmbeddings, StackedEmbeddings, WordEmbeddings
from flair.models import SequenceTagger
prefix = sys.argv[1]
vocab = json.load(open(prefix + ".vocab.json"))
kv = KeyedVectors(vector_size=len(vocab["vectors"][0]))
kv.add_vectors(vocab["words"][2:], np.array(vocab["vectors"][2:], dtype=np.float32))
kv.save(prefix + ".kv")
chars = Dictionary()
for c in vocab["chars"][2:]:
    chars.add_item(c)
tags = Dictionary(add_unk=False)
for t in vocab["tags"]:
    tags.add_item(t)
emb = StackedEmbeddings([WordEmbeddings(prefix + ".kv"), CharacterEmbeddings(chars)])
tagger = SequenceTagger(hidden_size=256, embeddings=emb, tag_dictionary=tags, tag_type="ner", use_crf=True,
                        tag_format="BIO").eval()
lines = [l.split() for l in open(prefix + ".sentences.txt")]
sentences = [Sentence(t) for t in lines]
start = time.perf_counter()
tagger.predict(sentences, mini_batch_size=128)
elapsed = time.perf_counter() - start
print(f"flair {flair_version if (flair_version := __import__('flair').__version__) else ''}: {len(sentences)} sentences in {elapsed:.1f} s = {len(sentences)/elapsed:.0f} sentences/s, {torch.get_num_threads()} threads")
