"""The Python API: tag raw text (or tokenized sentences) with a trained checkpoint.

    from bioner_pl import Tagger
    tagger = Tagger.load("best.ckpt")                 # device="cuda" on a GPU, head="bionlp09"
    docs = tagger.predict(["Mutations in the APC gene cause colon cancer."])
    docs[0].entities  # [Entity(text='APC', type='Gene', start=17, end=20, confidence=0.98), ...]

A confidence is the CRF's posterior probability of the span: that exactly these tokens carry
this entity (its B- and I- tags, and no I- after it), from forward-backward over the sentence.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import torch
from seqeval.metrics.sequence_labeling import get_entities

from bioner_pl.data.tokenize import Token, sentence_spans, tokenize
from bioner_pl.inference import batches, head_index, load_tagger
from bioner_pl.module import TaggerModule


@dataclass
class Entity:
    text: str
    type: str
    start: int  # character offsets into the document's text: text == doc.text[start:end]
    end: int
    confidence: float | None = None


@dataclass
class Document:
    text: str
    sentences: list[list[Token]] = field(default_factory=list)
    tags: list[list[str]] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    fields: dict = field(default_factory=dict)  # what the input carried besides the text (an id, ...)


def document(text: str, fields: dict | None = None) -> Document:
    """A document of raw text, split into sentences and tokens as the training corpora are."""
    return Document(text, [tokenize(text[s:e], s) for s, e in sentence_spans(text)], fields=fields or {})


def pretokenized(tokens: list[str], fields: dict | None = None) -> Document:
    """One sentence given as tokens; its text is the tokens joined by spaces."""
    sentence, position = [], 0
    for token in tokens:
        sentence.append(Token(token, position, position + len(token)))
        position += len(token) + 1
    return Document(" ".join(tokens), [sentence], fields=fields or {})


class Tagger:
    def __init__(self, module: TaggerModule, head: str | int | None = None, device: str | torch.device = "cpu",
                 batch_size: int = 256, confidences: bool = True):
        # oneDNN keeps a compiled LSTM for every (length, batch) shape it meets, up to 1,024: over a
        # collection's hundreds of sentence lengths its memory grew with the input (peak 0.95 GB for
        # 1,000 PubMed-like abstracts, 1.9 GB for 10,000). Batches come sorted by length, so a few
        # recent shapes serve as well. oneDNN reads this when it first runs, so it must come first.
        os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "16")
        self.device = torch.device(device)
        self.module = module.to(self.device).eval()
        self.head, self.batch_size, self.confidences = head_index(module, head), batch_size, confidences
        self.tags = list(module.hparams.tag_sets[self.head])
        self.inside = {t[2:]: i for i, t in enumerate(self.tags) if t.startswith("I-")}

    @classmethod
    def load(cls, path: str | Path, **options) -> Tagger:
        return cls(load_tagger(path), **options)

    @property
    def heads(self) -> list[str]:
        return list(self.module.hparams.datasets)

    def predict(self, texts: Iterable[str | list[str]]) -> list[Document]:
        """Raw strings (or pre-tokenized sentences, as lists of tokens) in, tagged documents out."""
        return self.tag([pretokenized(t) if isinstance(t, (list, tuple)) else document(t) for t in texts])

    def tag(self, docs: list[Document]) -> list[Document]:
        """Tag these documents in place (one batched pass over all their sentences); returns them."""
        sentences = [s for doc in docs for s in doc.sentences]
        found = iter(self.tag_sentences([[t.text for t in s] for s in sentences]))
        for doc in docs:
            doc.tags, doc.entities = [], []
            for sentence in doc.sentences:
                tags, spans = next(found)
                doc.tags.append(tags)
                for kind, first, last, confidence in spans:
                    start, end = sentence[first].start, sentence[last].end
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
        net = self.module.net
        for indices, batch in batches(self.module, sentences, self.head, self.batch_size):
            mask = batch["mask"].to(self.device)
            features, _ = net._run(batch["words"].to(self.device), batch["chars"].to(self.device), mask,
                                   batch["lengths"], self.head)
            crf = net.heads[self.head]
            if self.confidences:
                paths, posterior = crf.posterior(features, mask)
            else:
                paths, posterior = crf.decode(features, mask), None
            for row, (index, n) in enumerate(zip(indices, batch["lengths"].tolist())):
                path = paths[row, :n].tolist()
                tags = [self.tags[t] for t in path]
                spans = [(kind, first, last, None if posterior is None else
                          posterior.probability(row, first, path[first : last + 1], self.inside.get(kind)))
                         for kind, first, last in get_entities(tags)]
                out[index] = (tags, spans)
        return out
