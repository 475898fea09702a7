"""The five architectures, each a short wiring of the shared blocks.

Every model owns one embedding layer (word vectors + char-CNN, or a pretrained transformer: the
`embedding` config) and one CRF head per dataset (index 0 = main dataset), and only decides which
encoder outputs reach the batch's head (`features`) and which extra loss terms it adds
(`extra_losses`). All batches hold sentences of a single dataset, `task`.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import Tensor, nn

from bioner_pl.models.blocks import CrossGate, Encoder, GradientReversal, NoEncoder, RealTokens, diff_loss
from bioner_pl.models.crf import CRF
from bioner_pl.models.registry import ARCHITECTURES, EMBEDDINGS, PartOptions, embedding_layer
from bioner_pl.errors import InputError

ENCODERS = ("bilstm", "none")


class ArchitectureOptions(PartOptions):
    """What every architecture takes (conf/model/*.yaml's `arch`, and what a tagger file stores)."""

    bigram: bool = True
    # widths far above the paper's (256, 128), below what would eat a machine's memory by itself
    hidden: int = Field(256, ge=1, le=4096)
    out_dim: int = Field(128, ge=1, le=4096)
    dropout: float = Field(0.5, ge=0, lt=1)
    encoder: Literal["bilstm", "none"] = "bilstm"


class Network(nn.Module):
    """One embedding layer, the encoders an architecture wires up (`build`), and a CRF head per dataset.
    `embedding` names the layer and its options (models.registry.EMBEDDINGS, conf/embedding/transformer.yaml);
    without one, the paper's word vectors + char-CNN. `encoder` is the paper's BiLSTM unit, or none
    (single-task and fully-shared only: the CRF heads on the embedding itself)."""

    Options = ArchitectureOptions
    multi_task = True

    def __init__(self, vocab_size: int, word_dim: int, num_chars: int, tag_counts: list[int],
                 bigram: bool = True, hidden: int = 256, out_dim: int = 128, dropout: float = 0.5,
                 encoder: str = "bilstm", embedding: dict | None = None):
        super().__init__()
        self.num_tasks = len(tag_counts)
        if self.multi_task and self.num_tasks < 2:
            raise InputError(f"{type(self).__name__} is a multi-task model: give it an auxiliary dataset (aux=NAME)")
        if encoder not in ENCODERS:
            raise InputError(f"unknown encoder {encoder!r}; use one of {', '.join(ENCODERS)}")
        self.embedding = embedding_layer(embedding, vocab_size, word_dim, num_chars, dropout)
        width = self.embedding.out_dim
        head_dim = self.build(lambda: Encoder(width, hidden, out_dim, dropout) if encoder == "bilstm" else NoEncoder(width))
        self.heads = nn.ModuleList(CRF(head_dim, n, bigram) for n in tag_counts)

    def build(self, new_encoder) -> int:
        """Create the encoders (new_encoder() makes one); return the width of the features the CRF heads see."""
        raise NotImplementedError

    def features(self, x: Tensor, tokens: RealTokens, task: int) -> tuple[Tensor, dict[str, Tensor]]:
        """Features for the task's head, plus whatever `extra_losses` needs."""
        raise NotImplementedError

    def extra_losses(self, cache: dict[str, Tensor], mask: Tensor, lengths: Tensor, task: int) -> dict[str, Tensor]:
        return {}

    def _run(self, batch: dict, task: int):
        mask = batch["mask"]
        tokens = RealTokens(batch["lengths"], mask.shape[1], mask.device)
        return self.features(self.embedding(batch, tokens), tokens, task)

    def forward(self, batch: dict) -> dict[str, Tensor]:
        """Loss terms of one batch (encoding.collate's dict): 'task' (mean CRF NLL), the extras,
        and their weighted 'loss'."""
        task, mask = batch["task"], batch["mask"]
        feats, cache = self._run(batch, task)
        terms = {"task": self.heads[task].nll(feats, batch["tags"], mask).mean()}
        extras = self.extra_losses(cache, mask, batch["lengths"], task)
        terms["loss"] = terms["task"] + sum(weight * value for weight, value in extras.values())
        terms.update({name: value for name, (_, value) in extras.items()})
        return terms

    @torch.no_grad()
    def decode(self, batch: dict, task: int = 0) -> Tensor:
        feats, _ = self._run(batch, task)
        return self.heads[task].decode(feats, batch["mask"])


@ARCHITECTURES.register("fs", "bioner_pl.models.FullyShared", "bioner_pl.models.architectures.FullyShared")
class FullyShared(Network):
    """FS-MTM: one encoder for all datasets; only the CRF heads are per dataset."""

    def build(self, new_encoder) -> int:
        self.shared = new_encoder()
        return self.shared.out_dim

    def features(self, x, tokens, task):
        return self.shared(x, tokens), {}


@ARCHITECTURES.register("stm", "bioner_pl.models.SingleTask", "bioner_pl.models.architectures.SingleTask")
class SingleTask(FullyShared):
    """STM: the fully-shared wiring with a single dataset."""

    multi_task = False

    def build(self, new_encoder) -> int:
        if self.num_tasks != 1:
            raise InputError("model=stm is single-task: it trains on `main` only; drop `aux` "
                             "(aux=none) or pick a multi-task model (fs, sp, adv, cs)")
        return super().build(new_encoder)


@ARCHITECTURES.register("sp", "bioner_pl.models.SharedPrivate", "bioner_pl.models.architectures.SharedPrivate")
class SharedPrivate(Network):
    """SP-MTM: shared encoder S and a private encoder P_k per dataset; head k sees [P_k ; S]."""

    def build(self, new_encoder) -> int:
        self.shared = new_encoder()
        if not isinstance(self.shared, Encoder):  # shared and private would be one and the same
            raise InputError(f"{type(self).__name__} needs its encoders: encoder=none is for model=stm and model=fs")
        self.private = nn.ModuleList(new_encoder() for _ in range(self.num_tasks))
        return 2 * self.shared.out_dim

    def private_features(self, x, tokens, task) -> Tensor:
        return self.private[task](x, tokens)  # only the batch's own private encoder runs

    def features(self, x, tokens, task):
        shared = self.shared(x, tokens)
        private = self.private_features(x, tokens, task)
        return torch.cat([private, shared], dim=-1), {"shared": shared, "private": private}


@ARCHITECTURES.register("adv", "bioner_pl.models.Adversarial", "bioner_pl.models.architectures.Adversarial")
class Adversarial(SharedPrivate):
    """ADV-MTM: SP-MTM + alpha * task-discriminator loss (behind gradient reversal)
    + beta * ||S^T P_k||_F^2 (eq. 13-17)."""

    class Options(ArchitectureOptions):
        alpha: float = Field(0.01, ge=0, le=1e3)
        beta: float = Field(0.001, ge=0, le=1e3)

    def __init__(self, *args, alpha: float = 0.01, beta: float = 0.001, **kwargs):
        super().__init__(*args, **kwargs)
        self.alpha, self.beta = alpha, beta
        self.discriminator = nn.Sequential(GradientReversal(), nn.Linear(self.shared.out_dim, self.num_tasks))

    def extra_losses(self, cache, mask, lengths, task):
        shared = cache["shared"]
        last = shared[torch.arange(shared.shape[0], device=shared.device), lengths.to(shared.device) - 1]
        logits = self.discriminator(last)
        target = torch.full((shared.shape[0],), task, dtype=torch.long, device=shared.device)
        return {"adv": (self.alpha, nn.functional.cross_entropy(logits, target)),
                "diff": (self.beta, diff_loss(shared, cache["private"], mask))}


@ARCHITECTURES.register("cs", "bioner_pl.models.CrossSharing", "bioner_pl.models.architectures.CrossSharing")
class CrossSharing(SharedPrivate):
    """CS-MTM: every private encoder runs; the gated interaction unit mixes them (eq. 18-21)."""

    def build(self, new_encoder) -> int:
        head_dim = super().build(new_encoder)
        self.gate = CrossGate(self.num_tasks, self.shared.out_dim)
        return head_dim

    def private_features(self, x, tokens, task) -> Tensor:
        return self.gate([encoder(x, tokens) for encoder in self.private], task)


def network(arch: dict, vocab_size: int, word_dim: int, num_chars: int, tag_counts: list[int],
            embedding: dict | None = None) -> tuple[Network, dict, dict]:
    """The network `arch` (a registered architecture's name and options) and `embedding` describe,
    and both descriptions in their checked, complete form (defaults filled in, a transformer's
    tokenizer and config files added): what a checkpoint stores and a tagger file reads back.
    Training (models.module) and tagging (tagging.checkpoint) build their networks here."""
    name, cls, options = ARCHITECTURES.spec(arch, "model.arch")
    net = cls(vocab_size, word_dim, num_chars, tag_counts, embedding=embedding, **options.model_dump())
    kind, _, layer = EMBEDDINGS.spec(embedding if embedding is not None else {"kind": "word_char"}, "embedding")
    files = getattr(net.embedding, "files", None)
    return (net, {"name": name, **options.model_dump()},
            {"kind": kind, **layer.model_dump(exclude_none=True), **({"files": files} if files else {})})
