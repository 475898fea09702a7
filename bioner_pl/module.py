"""The LightningModule: training steps, per-epoch seqeval scores, a self-contained checkpoint."""

from __future__ import annotations

import hydra
import pytorch_lightning as pl
import torch
from seqeval.metrics import f1_score, precision_score, recall_score

from bioner_pl.errors import InputError
from bioner_pl.models import Tagger


def entity_scores(gold: list[list[str]], pred: list[list[str]]) -> dict[str, float]:
    """Entity-level exact-match micro P/R/F1 (seqeval's default mode = conlleval)."""
    return {"precision": precision_score(gold, pred, zero_division=0),
            "recall": recall_score(gold, pred, zero_division=0),
            "f1": f1_score(gold, pred, zero_division=0)}


class TaggerModule(pl.LightningModule):
    """Wraps a `Tagger` built from `arch` (a Hydra `_target_` config). The hyperparameters hold
    the vocabularies and tag sets, so `load_from_checkpoint` rebuilds the tagger without any
    dataset or embedding file."""

    def __init__(self, arch: dict, datasets: list[str], tag_sets: list[list[str]], words: list[str],
                 chars: list[str], word_dim: int, lr: float = 1e-3, rms_alpha: float = 0.95,
                 lr_decay: float = 0.97, seed: int = 1, info: dict | None = None):
        super().__init__()
        for option, value, ok in (("optim.lr", lr, lr > 0), ("optim.rms_alpha", rms_alpha, 0 <= rms_alpha < 1),
                                  ("optim.lr_decay", lr_decay, 0 < lr_decay <= 1)):
            if not ok:
                raise InputError(f"{option}={value} is out of range (lr > 0, 0 <= rms_alpha < 1, 0 < lr_decay <= 1)")
        self.save_hyperparameters(logger=False)  # vocabularies: checkpoint yes, logger no
        self.net: Tagger = hydra.utils.instantiate(
            arch, vocab_size=len(words), word_dim=word_dim, num_chars=len(chars),
            tag_counts=[len(t) for t in tag_sets], _convert_="all")
        self.predictions: dict[int, list[str]] = {}
        self.scores: dict[str, dict[str, float]] = {}

    # -- batches -------------------------------------------------------------------------
    def transfer_batch_to_device(self, batch, device, dataloader_idx):
        # `lengths` feeds pack_padded_sequence and RealTokens, which index on the CPU: leave it there.
        return {k: v.to(device) if torch.is_tensor(v) and k != "lengths" else v for k, v in batch.items()}

    def training_step(self, batch, batch_idx):
        terms = self.net(batch["words"], batch["chars"], batch["tags"], batch["mask"], batch["lengths"],
                         batch["task"])
        task = self.hparams.datasets[batch["task"]]
        self.log("train/loss", terms["loss"], prog_bar=True, batch_size=len(batch["lengths"]))
        for name, value in terms.items():
            self.log(f"train/{name}/{task}", value, on_step=False, on_epoch=True, batch_size=len(batch["lengths"]))
        return terms["loss"]

    def on_train_batch_start(self, batch, batch_idx) -> None:
        # Dropout noise that depends only on (seed, step): a run resumed from a checkpoint
        # repeats the uninterrupted run exactly (Lightning does not restore the RNG state).
        torch.manual_seed(self.hparams.seed * 1_000_003 + self.global_step)

    # -- evaluation on the main dataset ---------------------------------------------------
    def _decode_step(self, batch) -> None:
        pred = self.net.decode(batch["words"], batch["chars"], batch["mask"], batch["lengths"], task=0)
        tags = self.hparams.tag_sets[0]
        for row, (index, n) in enumerate(zip(batch["index"].tolist(), batch["lengths"].tolist())):
            self.predictions[index] = [tags[i] for i in pred[row, :n].tolist()]

    def _score(self, split: str, stage: str) -> None:
        # Only the decoded sentences count (limit_val_batches / limit_test_batches may skip some).
        sentences = self.trainer.datamodule.sentences[split]
        decoded = sorted(self.predictions)
        scores = entity_scores([list(sentences[i].tags) for i in decoded], [self.predictions[i] for i in decoded])
        self.scores[stage] = scores  # exact values; the logged ones pass through float32
        self.log_dict({f"{stage}/{k}": v for k, v in scores.items()}, prog_bar=True)

    def on_validation_epoch_start(self) -> None:
        self.predictions = {}

    def validation_step(self, batch, batch_idx):
        self._decode_step(batch)

    def on_validation_epoch_end(self) -> None:
        self._score("devel", "val")

    on_test_epoch_start = on_validation_epoch_start

    def test_step(self, batch, batch_idx):
        self._decode_step(batch)

    def on_test_epoch_end(self) -> None:
        self._score("test", "test")

    # -- optimisation (paper: RMSprop 1e-3, decay 0.95, lr x 0.97 per epoch) ----------------
    def configure_optimizers(self):
        # foreach: one multi-tensor update instead of a loop over parameters, which torch picks
        # only on accelerators; ~3 ms (4 %) off a CPU training step (issue #6), same arithmetic.
        optimizer = torch.optim.RMSprop(self.parameters(), lr=self.hparams.lr, alpha=self.hparams.rms_alpha,
                                        momentum=0.0, foreach=True)
        scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=self.hparams.lr_decay)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}
