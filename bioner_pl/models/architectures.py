"""The five architectures, each a short wiring of the shared blocks.

Every model owns one embedding layer and one CRF head per dataset (index 0 = main dataset) and
only decides which encoder outputs reach the batch's head (`features`) and which extra loss
terms it adds (`extra_losses`). All batches hold sentences of a single dataset, `task`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from bioner_pl.models.blocks import CrossGate, Encoder, GradientReversal, RealTokens, WordCharEmbedding, diff_loss
from bioner_pl.models.crf import CRF
from bioner_pl.errors import InputError


class Network(nn.Module):
    """One embedding layer, the encoders an architecture wires up (`build`), and a CRF head per dataset."""

    multi_task = True

    def __init__(self, vocab_size: int, word_dim: int, num_chars: int, tag_counts: list[int],
                 bigram: bool = True, hidden: int = 256, out_dim: int = 128, dropout: float = 0.5):
        super().__init__()
        self.num_tasks = len(tag_counts)
        if self.multi_task and self.num_tasks < 2:
            raise InputError(f"{type(self).__name__} is a multi-task model: give it an auxiliary dataset (aux=NAME)")
        self.embedding = WordCharEmbedding(vocab_size, word_dim, num_chars, dropout=dropout)
        head_dim = self.build(lambda: Encoder(self.embedding.out_dim, hidden, out_dim, dropout), out_dim)
        self.heads = nn.ModuleList(CRF(head_dim, n, bigram) for n in tag_counts)

    def build(self, new_encoder, out_dim: int) -> int:
        """Create the encoders (new_encoder() makes one); return the width of the features the CRF heads see."""
        raise NotImplementedError

    def features(self, x: Tensor, tokens: RealTokens, task: int) -> tuple[Tensor, dict[str, Tensor]]:
        """Features for the task's head, plus whatever `extra_losses` needs."""
        raise NotImplementedError

    def extra_losses(self, cache: dict[str, Tensor], mask: Tensor, lengths: Tensor, task: int) -> dict[str, Tensor]:
        return {}

    def _run(self, words, chars, mask, lengths, task):
        tokens = RealTokens(lengths, words.shape[1], words.device)
        return self.features(self.embedding(words, chars, tokens), tokens, task)

    def forward(self, words: Tensor, chars: Tensor, tags: Tensor, mask: Tensor, lengths: Tensor,
                task: int) -> dict[str, Tensor]:
        """Loss terms of one batch: 'task' (mean CRF NLL), the extras, and their weighted 'loss'."""
        feats, cache = self._run(words, chars, mask, lengths, task)
        terms = {"task": self.heads[task].nll(feats, tags, mask).mean()}
        extras = self.extra_losses(cache, mask, lengths, task)
        terms["loss"] = terms["task"] + sum(weight * value for weight, value in extras.values())
        terms.update({name: value for name, (_, value) in extras.items()})
        return terms

    @torch.no_grad()
    def decode(self, words: Tensor, chars: Tensor, mask: Tensor, lengths: Tensor, task: int = 0) -> Tensor:
        feats, _ = self._run(words, chars, mask, lengths, task)
        return self.heads[task].decode(feats, mask)


class FullyShared(Network):
    """FS-MTM: one encoder for all datasets; only the CRF heads are per dataset."""

    def build(self, new_encoder, out_dim: int) -> int:
        self.shared = new_encoder()
        return out_dim

    def features(self, x, tokens, task):
        return self.shared(x, tokens), {}


class SingleTask(FullyShared):
    """STM: the fully-shared wiring with a single dataset."""

    multi_task = False

    def build(self, new_encoder, out_dim: int) -> int:
        if self.num_tasks != 1:
            raise InputError("model=stm is single-task: it trains on `main` only; drop `aux` "
                             "(aux=none) or pick a multi-task model (fs, sp, adv, cs)")
        return super().build(new_encoder, out_dim)


class SharedPrivate(Network):
    """SP-MTM: shared encoder S and a private encoder P_k per dataset; head k sees [P_k ; S]."""

    def build(self, new_encoder, out_dim: int) -> int:
        self.shared = new_encoder()
        self.private = nn.ModuleList(new_encoder() for _ in range(self.num_tasks))
        return 2 * out_dim

    def private_features(self, x, tokens, task) -> Tensor:
        return self.private[task](x, tokens)  # only the batch's own private encoder runs

    def features(self, x, tokens, task):
        shared = self.shared(x, tokens)
        private = self.private_features(x, tokens, task)
        return torch.cat([private, shared], dim=-1), {"shared": shared, "private": private}


class Adversarial(SharedPrivate):
    """ADV-MTM: SP-MTM + alpha * task-discriminator loss (behind gradient reversal)
    + beta * ||S^T P_k||_F^2 (eq. 13-17)."""

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


class CrossSharing(SharedPrivate):
    """CS-MTM: every private encoder runs; the gated interaction unit mixes them (eq. 18-21)."""

    def build(self, new_encoder, out_dim: int) -> int:
        head_dim = super().build(new_encoder, out_dim)
        self.gate = CrossGate(self.num_tasks, out_dim)
        return head_dim

    def private_features(self, x, tokens, task) -> Tensor:
        return self.gate([encoder(x, tokens) for encoder in self.private], task)
