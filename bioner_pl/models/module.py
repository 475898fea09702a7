"""The LightningModule: training steps, per-epoch seqeval scores, a self-contained checkpoint."""

from __future__ import annotations

import hydra
import pytorch_lightning as pl
import torch

from bioner_pl.errors import InputError
from bioner_pl.models.architectures import Network, network
from bioner_pl.scoring import entity_scores


# Settings torch accepts but that make no sense for these optimizers and schedules: (config, key) ->
# (test, what it must be). lr 0 never moves; RMSprop's alpha >= 1 never forgets; gamma > 1 grows the lr.
RANGES = {("optimizer", "lr"): (lambda v: v > 0, "above 0"),
          ("optimizer", "alpha"): (lambda v: 0 <= v < 1, "in [0, 1)"),
          ("scheduler", "gamma"): (lambda v: 0 < v <= 1, "in (0, 1]")}


class TaggerModule(pl.LightningModule):
    """Wraps a `Network` built from `arch`, which names a registered architecture and gives its
    options ({"name": "cs", "bigram": true}; models.registry). The hyperparameters hold the
    vocabularies and tag sets, so a checkpoint rebuilds the network without any dataset or
    embedding file. `optimizer` and `scheduler` are `_partial_` Hydra configs (conf/optimizer/,
    conf/scheduler/; the scheduler's `interval`, epoch or step, is Lightning's), kept as plain
    data so that a checkpoint holds no Python objects; only training needs them, and only from
    the user's own config (a tagger read from a file gets none). `embedding` names the embedding
    layer and its options (None: the paper's word vectors + char-CNN; a transformer's tokenizer
    and model config are added to it, so that the checkpoint needs neither). Both are stored in
    their checked, complete form: what tagging/tagger_file.py reads back."""

    def __init__(self, arch: dict, datasets: list[str], tag_sets: list[list[str]], words: list[str],
                 chars: list[str], word_dim: int, optimizer: dict | None = None, scheduler: dict | None = None,
                 seed: int = 1, info: dict | None = None, embedding: dict | None = None):
        super().__init__()
        self.save_hyperparameters(logger=False)  # vocabularies: checkpoint yes, logger no
        for (group, key), (ok, expected) in RANGES.items():  # before anything trains
            value = (self.hparams[group] or {}).get(key)
            if value is not None and not ok(value):
                raise InputError(f"{group}.{key}={value} is out of range: it must be {expected}")
        self.net: Network
        self.net, self.hparams.arch, self.hparams.embedding = network(arch, len(words), word_dim, len(chars),
                                                                      [len(t) for t in tag_sets], embedding)
        self.predictions: dict[int, list[str]] = {}
        self.scores: dict[str, dict[str, float]] = {}

    # -- batches -------------------------------------------------------------------------
    def transfer_batch_to_device(self, batch, device, dataloader_idx):
        # `lengths` feeds pack_padded_sequence and RealTokens, which index on the CPU: leave it there.
        return {k: v.to(device) if torch.is_tensor(v) and k != "lengths" else v for k, v in batch.items()}

    def training_step(self, batch, batch_idx):
        terms = self.net(batch)
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
        pred = self.net.decode(batch, task=0)
        tags = self.hparams.tag_sets[0]
        for row, (index, n) in enumerate(zip(batch["index"].tolist(), batch["lengths"].tolist())):
            self.predictions[index] = [tags[i] for i in pred[row, :n].tolist()]

    def _score(self, split: str, stage: str) -> None:
        # Only the decoded sentences count (limit_val_batches / limit_test_batches may skip some).
        if self.trainer.world_size > 1:  # data-parallel: each process decoded its share of the batches
            shares = [None] * self.trainer.world_size
            torch.distributed.all_gather_object(shares, self.predictions)
            self.predictions = {i: tags for share in shares for i, tags in share.items()}
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

    # -- optimisation: the configured optimizer and schedule (paper: RMSprop, lr x 0.97 an epoch) --
    def parameter_groups(self) -> list[dict]:
        """The trainable parameters; a fine-tuned transformer's in a group of their own, with its
        own learning rate and weight decay (a frozen one's train not at all)."""
        embedding = self.net.embedding
        encoder = getattr(embedding, "encoder", None)
        own = {id(p) for p in encoder.parameters()} if encoder is not None else set()
        rest = [p for p in self.parameters() if p.requires_grad and id(p) not in own]
        if encoder is None or not embedding.finetune:
            return [{"params": rest}]
        return [{"params": rest},
                {"params": list(encoder.parameters()), "lr": embedding.lr, "weight_decay": embedding.weight_decay}]

    def configure_optimizers(self):
        if self.hparams.optimizer is None:
            raise InputError("this module was built without an optimizer config: it can tag, not train")
        try:
            optimizer = hydra.utils.instantiate(self.hparams.optimizer)(self.parameter_groups())
            if self.hparams.scheduler is None:
                return optimizer
            schedule = dict(self.hparams.scheduler)
            interval = schedule.pop("interval", "epoch")
            if "steps" in schedule and schedule["steps"] is None:  # the run's own number of optimizer steps
                schedule["steps"] = int(self.trainer.estimated_stepping_batches)
            scheduler = hydra.utils.instantiate(schedule)(optimizer)
        except (ValueError, TypeError) as err:  # torch's word on an impossible setting, e.g. a negative momentum
            raise InputError(f"optimizer/scheduler config: {err}") from None
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": interval}}
