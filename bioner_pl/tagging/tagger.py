"""The Python API: tag raw text (or tokenized sentences) with a trained checkpoint.

    from bioner_pl import Tagger
    tagger = Tagger.load("best.ckpt")                 # on the GPU if there is one (device="cpu" to stay off it), head="bionlp09"
    docs = tagger.predict(["Mutations in the APC gene cause colon cancer."])
    docs[0].entities  # [Entity(text='APC', type='Gene', start=17, end=20, confidence=0.98), ...]

A confidence is the CRF's posterior probability of the span: that exactly these tokens carry
this entity (its B- and I- tags, and no I- after it), from forward-backward over the sentence.
"""

from __future__ import annotations

import os
import warnings
from itertools import chain
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch

from bioner_pl.data.batching import sorted_batches
from bioner_pl.data.encoding import encode_tokens, pad_chars
from bioner_pl.data.vocab import Vocab, WordVocab
from bioner_pl.errors import InputError
from bioner_pl.models.blocks import RealTokens, WordCharEmbedding, bf16_lstm_runs_on
from bioner_pl.tagging.checkpoint import TaggerNet, head_index, load_net
from bioner_pl.formats.document import Document, Entity, document, pretokenized


def entity_spans(paths: np.ndarray, lengths: np.ndarray, kinds: np.ndarray, begins: np.ndarray):
    """(rows, firsts, lasts) of the entities in a batch of IOB2 paths (B, T) of tag ids, the first
    `lengths` of each row real; kinds[id] numbers the entity type (-1 for O), begins[id] marks B-.
    Read as seqeval reads them: an I- that does not continue an entity of its type starts one.
    Whole arrays at once: a Python loop over the tags was a tenth of the tagging time."""
    kind = np.where(np.arange(paths.shape[1]) < lengths[:, None], kinds[paths], -1)
    inside = kind >= 0
    previous = np.pad(kind[:, :-1], ((0, 0), (1, 0)), constant_values=-1)
    continues = inside & ~begins[paths] & (kind == previous)
    ends = inside & ~np.pad(continues[:, 1:], ((0, 0), (0, 1)))
    rows, firsts = np.nonzero(inside & ~continues)
    return rows, firsts, np.nonzero(ends)[1]


PRECISIONS = ("32-true", "bf16-mixed")  # as Lightning's Trainer names them


class Tagger:
    def __init__(self, model: TaggerNet, head: str | int | None = None, device: str | torch.device = "auto",
                 batch_size: int = 256, confidences: bool = True, precision: str = "32-true"):
        # oneDNN keeps a compiled LSTM for every (length, batch) shape it meets, up to 1,024: over a
        # collection's hundreds of sentence lengths its memory grew with the input (peak 0.95 GB for
        # 1,000 PubMed-like abstracts, 1.9 GB for 10,000). Batches come sorted by length, so a few
        # recent shapes serve as well. oneDNN reads this when it first runs, so it must come first.
        os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "16")
        self.device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device)
        self.model = model
        model.net.to(self.device).eval()
        self.head, self.batch_size, self.confidences = head_index(model, head), batch_size, confidences
        self.tags = list(model.spec.tag_sets[self.head])
        self.inside = {t[2:]: i for i, t in enumerate(self.tags) if t.startswith("I-")}
        self.kinds = [t[2:] if t != "O" else None for t in self.tags]
        types = sorted({k for k in self.kinds if k})
        self.kind_ids = np.array([types.index(k) if k else -1 for k in self.kinds])
        self.begins = np.array([t.startswith("B-") for t in self.tags])
        self.names = np.array(self.tags, dtype=object)
        self.words, self.chars = WordVocab(model.spec.words), Vocab(model.spec.chars)
        if precision not in PRECISIONS:
            raise InputError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
        if precision == "bf16-mixed" and not bf16_lstm_runs_on(self.device):
            warnings.warn(f"precision bf16-mixed: this {self.device.type} has no bfloat16 LSTM "
                          "(a CPU needs AVX-512 BF16 or AMX); tagging in 32-true instead", stacklevel=2)
            precision = "32-true"
        # bf16-mixed: the embedding and encoders under bfloat16 autocast (the LSTM twice as fast
        # on a CPU with AVX-512 BF16, as measured; meant for GPUs too); the CRF stays float32/64.
        self.autocast = torch.autocast(self.device.type, torch.bfloat16, enabled=precision == "bf16-mixed")

    @classmethod
    def load(cls, path: str | Path, **options) -> Tagger:
        return cls(load_net(path), **options)

    @property
    def heads(self) -> list[str]:
        return list(self.model.spec.datasets)

    def predict(self, texts: Iterable[str | list[str]]) -> list[Document]:
        """Raw strings (or pre-tokenized sentences, as lists of tokens) in, tagged documents out."""
        return self.tag([pretokenized(t) if isinstance(t, (list, tuple)) else document(t) for t in texts])

    def tag(self, docs: list[Document]) -> list[Document]:
        """Tag these documents in place (one batched pass over all their sentences); returns them."""
        found = iter(self.tag_sentences([s.words for doc in docs for s in doc.sentences]))
        for doc in docs:
            doc.tags, doc.entities = [], []
            for sentence in doc.sentences:
                tags, spans = next(found)
                doc.tags.append(tags)
                for kind, first, last, confidence in spans:
                    start, end = sentence.offsets(first, last)
                    doc.entities.append(Entity(doc.text[start:end], kind, start, end, confidence))
        return docs

    def stream(self, docs: Iterable[Document], documents_per_batch: int = 512) -> Iterator[list[Document]]:
        """Tag an iterable of any length, a batch of documents at a time (memory stays flat)."""
        batch: list[Document] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) == documents_per_batch:
                yield self.tag(batch)
                batch = []
        if batch:
            yield self.tag(batch)

    @torch.inference_mode()
    def tag_sentences(self, sentences: list[list[str]]) -> list[tuple[list[str], list[tuple]]]:
        """(tags, [(type, first token, last token, confidence)]) of every sentence, in order."""
        out: list = [([], [])] * len(sentences)
        nonempty = [i for i, s in enumerate(sentences) if s]
        sizes = np.array([len(sentences[i]) for i in nonempty], dtype=np.int64)
        batches, embed = self._embedder([sentences[i] for i in nonempty])
        net, crf = self.model.net, self.model.net.heads[self.head]
        for group in batches:
            n_tokens = sizes[group]
            lengths = torch.from_numpy(n_tokens)
            longest = int(n_tokens.max())
            tokens = RealTokens(lengths, longest, self.device)
            mask = (torch.arange(longest) < lengths[:, None]).to(self.device)
            with self.autocast:
                features, _ = net.features(embed(group, tokens), tokens, self.head)
            features = features.float()
            if self.confidences:
                paths, posterior = crf.posterior(features, mask)
            else:
                paths, posterior = crf.decode(features, mask), None
            paths = paths.cpu().numpy()
            names = self.names[paths]
            spans: list[list[tuple]] = [[] for _ in group]
            for row, first, last in zip(*entity_spans(paths, n_tokens, self.kind_ids, self.begins)):
                path = paths[row, first : last + 1].tolist()
                kind = self.kinds[path[0]]
                spans[row].append((kind, int(first), int(last), None if posterior is None else
                                   posterior.probability(int(row), int(first), path, self.inside.get(kind))))
            for row, (j, n) in enumerate(zip(group, n_tokens.tolist())):
                out[nonempty[j]] = (names[row, :n].tolist(), spans[row])
        return out

    def _embedder(self, sentences: list[list[str]]):
        """The batches to tag these sentences in (lists of their indices, similar lengths together)
        and embed(batch, tokens) -> the embedding layer's (B, T, dim) output for one of them.
        Word vectors + char-CNN: batches by words, from a table of each distinct token's vector.
        A transformer: batches by sub-words (what its cost grows with), each run through it."""
        embedding = self.model.net.embedding
        if isinstance(embedding, WordCharEmbedding):
            table, ids, offsets = self._token_vectors(sentences)

            def embed(group, tokens):
                real = np.concatenate([ids[offsets[j] : offsets[j + 1]] for j in group])
                return tokens.scatter(table.index_select(0, torch.from_numpy(real).to(self.device)))

            return sorted_batches(np.diff(offsets).tolist(), self.batch_size), embed
        pieces = embedding.tokenizer(sentences, is_split_into_words=True, add_special_tokens=False)["input_ids"]
        return (sorted_batches(list(map(len, pieces)), self.batch_size),
                lambda group, tokens: embedding({"tokens": [sentences[j] for j in group]}, tokens))

    def _token_vectors(self, sentences: list[list[str]], chunk: int = 4096) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
        """The embedding layer's vector of each distinct token (in eval mode a function of the
        token alone); every token as a row of that table (ids, sentence j's at
        ids[offsets[j]:offsets[j + 1]]). Each distinct token is looked up and run through the
        char-CNN once, in chunks of similar word length (little char padding; `chunk` distinct
        tokens a call), instead of once per occurrence padded to its batch's longest word."""
        flat = list(chain.from_iterable(sentences))
        distinct = {token: u for u, token in enumerate(dict.fromkeys(flat))}  # C loops, not Python ones
        ids = np.fromiter(map(distinct.__getitem__, flat), dtype=np.int64, count=len(flat))
        offsets = np.cumsum([0, *map(len, sentences)])
        tokens = list(distinct)
        order = sorted(range(len(tokens)), key=lambda u: len(tokens[u]))
        embedding = self.model.net.embedding
        table = torch.empty(len(tokens), embedding.out_dim, device=self.device)
        for start in range(0, len(order), chunk):
            rows = order[start : start + chunk]
            words, chars = encode_tokens([tokens[u] for u in rows], self.words, self.chars)
            with self.autocast:
                vectors = embedding.vectors(torch.tensor(words, device=self.device),
                                            torch.from_numpy(pad_chars(chars)).to(self.device))
            table[torch.tensor(rows, device=self.device)] = vectors.float()
        return table, ids, offsets
