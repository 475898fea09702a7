"""Entry point: python -m bioner_pl.train model=cs main=ncbi aux=bionlp09 [overrides]."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
import traceback
import warnings
from pathlib import Path

import hydra
import pytorch_lightning as pl
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import LearningRateMonitor, ModelCheckpoint, RichProgressBar
from pytorch_lightning.utilities.exceptions import MisconfigurationException

from bioner_pl import cluster, tables, tracking
from bioner_pl import data as ds
from bioner_pl.blocks import bf16_lstm_runs_on
from bioner_pl.datamodule import MultiTaskDataModule
from bioner_pl.errors import InputError, causes
from bioner_pl.module import TaggerModule
from bioner_pl.naming import PROTOCOL_SWITCHES, aux_list, aux_name, corpus_name, protocol_name, run_name

log = logging.getLogger("bioner_pl")
# Lightning's own noise: our module (not the DataModule) deliberately keeps `lengths` on the CPU,
# and Lightning 2.6 trips over a torch deprecation inside its own pytree helper.
warnings.filterwarnings("ignore", message=".*overridden `transfer_batch_to_device`.*")
warnings.filterwarnings("ignore", message=".*isinstance\\(treespec, LeafSpec\\).*")


OmegaConf.register_new_resolver("aux_name", aux_name, replace=True)
OmegaConf.register_new_resolver("corpus_name", corpus_name, replace=True)
OmegaConf.register_new_resolver("run_name", run_name, replace=True)
OmegaConf.register_new_resolver("protocol_name", protocol_name, replace=True)
OmegaConf.register_new_resolver("wandb_id", tracking.run_id, replace=True)
OmegaConf.register_new_resolver("crf_suffix", lambda bigram: "" if bigram else "-classic", replace=True)


def write_predictions(path: Path, sentences, predictions: dict[int, list[str]]) -> None:
    """token<TAB>gold<TAB>pred, blank line between sentences: any conlleval-style scorer reads it."""
    with open(path, "w", encoding="utf-8") as out:
        for index in sorted(predictions):
            sentence = sentences[index]
            for token, gold, pred in zip(sentence.tokens, sentence.tags, predictions[index]):
                out.write(f"{token}\t{gold}\t{pred}\n")
            out.write("\n")


class WallClock(pl.Callback):
    """Seconds this run has spent, summed over its interrupted and resumed parts: the total is
    saved in every checkpoint and restored with it."""

    def __init__(self):
        self.started, self.earlier = time.time(), 0.0

    @property
    def seconds(self) -> float:
        return self.earlier + time.time() - self.started

    def state_dict(self) -> dict:
        return {"seconds": self.seconds}

    def load_state_dict(self, state_dict: dict) -> None:
        self.earlier = state_dict["seconds"]


def train(cfg: DictConfig, out_dir: Path) -> dict:
    clock = WallClock()
    for corpus in [cfg.main, *aux_list(cfg.aux)]:  # a wrong corpus name fails before anything starts
        ds.resolve(corpus)
    metrics_path = out_dir / "metrics.json"
    last_ckpt = out_dir / "checkpoints" / "last.ckpt"
    # A requeued job continues its own run: the user asked for it once, when they submitted it.
    continuing = bool(cfg.resume) or cluster.requeued()
    resume = continuing and last_ckpt.exists()
    if continuing and metrics_path.exists():
        finished = json.loads(metrics_path.read_text())
        if finished["epochs"] >= cfg.trainer.max_epochs:
            log.info("%s: finished earlier, nothing to do", metrics_path)
            return finished
    earlier = [p for p in (last_ckpt, metrics_path) if p.exists()]
    if earlier and not continuing:
        if not cfg.overwrite:
            raise InputError("an earlier run of this configuration is here: resume=true continues it "
                             "(or skips it if it finished), overwrite=true starts afresh", out_dir)
        shutil.rmtree(out_dir / "checkpoints", ignore_errors=True)
        metrics_path.unlink(missing_ok=True)
    # The W&B runs start here, after the refusal above (a refused job must not touch the earlier
    # run's W&B run, whose id it shares), so that every later failure is a failed W&B run.
    # Under fast_dev_run Lightning logs nothing; neither do we (it would join this directory's W&B run).
    loggers = [] if cfg.trainer.fast_dev_run else [hydra.utils.instantiate(c) for c in cfg.logger.values()]
    runs = tracking.start_runs(loggers, OmegaConf.to_container(cfg, resolve=True))
    try:
        metrics = fit_and_test(cfg, out_dir, loggers, clock, last_ckpt if resume else None)
    except BaseException:
        tracking.end_runs(runs, None)
        raise
    tracking.end_runs(runs, tracking.summary(metrics, paper_f1(metrics)))
    return metrics


def fit_and_test(cfg: DictConfig, out_dir: Path, loggers: list, clock: WallClock, resume_from: Path | None) -> dict:
    """Train (continuing from resume_from where given), then score dev and test at the best-dev epoch (or the last one where no best
    checkpoint exists: fast_dev_run, no validation batches); write metrics and predictions."""
    aux = aux_list(cfg.aux)
    pl.seed_everything(cfg.seed, workers=True)
    vectors = hydra.utils.instantiate(cfg.embedding.vectors)
    datamodule = MultiTaskDataModule(
        cfg.main, aux, vectors, cfg.data.dir, cfg.data.base_url, fraction=cfg.fraction,
        seed=cfg.seed, batch_size=cfg.batch_size, eval_batch_size=cfg.eval_batch_size, schedule=cfg.schedule,
        batching=cfg.batching, train_on_dev=cfg.train_on_dev, max_vocab=cfg.data.max_vocab)
    datamodule.prepare()
    module = TaggerModule(
        OmegaConf.to_container(cfg.model.arch), datamodule.names, datamodule.tag_sets, datamodule.words.items,
        datamodule.chars.items, vectors.dim, seed=cfg.seed, **cfg.optim,
        info={"model": cfg.model.name, "embedding": cfg.embedding.name, "fraction": cfg.fraction})
    if resume_from is None:
        module.net.embedding.words.weight.data.copy_(datamodule.word_matrix())
    # With train+dev as training data the dev score cannot select an epoch: keep the last one.
    checkpoint = ModelCheckpoint(dirpath=out_dir / "checkpoints", filename="best",
                                 monitor=None if cfg.train_on_dev else "val/f1", mode="max")
    # A separate every-epoch checkpoint: save_last only refreshes when the best one changes.
    latest = ModelCheckpoint(dirpath=out_dir / "checkpoints", filename="last", enable_version_counter=False)
    callbacks = [checkpoint, latest, clock, RichProgressBar()]
    if loggers:  # Lightning refuses an LR monitor without a logger (fast_dev_run)
        callbacks.append(LearningRateMonitor("epoch"))
    trainer: pl.Trainer = hydra.utils.instantiate(cfg.trainer, callbacks=callbacks, logger=loggers,
                                                  default_root_dir=str(out_dir), plugins=cluster.plugins())
    if str(trainer.precision).startswith("bf16") and not bf16_lstm_runs_on(trainer.strategy.root_device):
        raise InputError(f"trainer.precision={trainer.precision}: this {trainer.strategy.root_device.type} has no "
                         "bfloat16 LSTM (a CPU needs AVX-512 BF16 or AMX); use trainer.precision=32-true")
    trainer.fit(module, datamodule=datamodule, ckpt_path=resume_from and str(resume_from))
    fit_seconds, fitted = clock.seconds, time.time()  # validate/test load best.ckpt's clock too
    best = checkpoint.best_model_path or latest.best_model_path or None
    best_epoch = torch.load(best, map_location="cpu", weights_only=False)["epoch"] + 1 if best else trainer.current_epoch
    trainer.validate(module, datamodule=datamodule, ckpt_path=best, verbose=False)
    trainer.test(module, datamodule=datamodule, ckpt_path=best, verbose=False)
    dev, test = module.scores.get("val"), module.scores.get("test")  # None where limit_*_batches=0
    metrics = {
        "model": cfg.model.name, "arch": {k: v for k, v in cfg.model.arch.items() if k != "_target_"},
        "main": datamodule.names[0], "aux": datamodule.names[1:], "embedding": cfg.embedding.name,
        "fraction": cfg.fraction, "seed": cfg.seed,
        "protocol": {k: cfg[k] for k in PROTOCOL_SWITCHES},
        "best_epoch": best_epoch, "epochs": trainer.current_epoch,
        "params": sum(p.numel() for p in module.net.parameters()),
        "wall_seconds": round(fit_seconds + time.time() - fitted, 1), "threads": torch.get_num_threads(), "dev": dev, "test": test,
        "checkpoint": None if best is None else
        str(Path(best).relative_to(out_dir)) if Path(best).is_relative_to(out_dir) else best,
        "resumed": resume_from is not None,
    }
    scores = " / ".join(f"{test[k]:.4f}" for k in ("precision", "recall", "f1")) if test else "not run"
    if trainer.fast_dev_run:  # a check of the code path, like Lightning's: no checkpoint, no results
        log.info("fast_dev_run: test P/R/F1 %s; nothing written", scores)
        return metrics
    write_predictions(out_dir / "test_predictions.tsv", datamodule.sentences["test"], module.predictions)
    metrics_path = out_dir / "metrics.json"
    metrics_path.write_text(json.dumps(metrics, indent=2) + "\n")
    (out_dir / "error.txt").unlink(missing_ok=True)  # an earlier attempt's failure is over
    log.info("test P/R/F1 %s (best dev epoch %d) -> %s", scores, best_epoch, metrics_path)
    return metrics


def paper_f1(metrics: dict) -> float | None:
    """The paper's F1 for this run's cell, where one of its tables has it."""
    cell = tables.key(metrics["model"], metrics["arch"], metrics["main"], metrics["aux"], metrics["embedding"],
                      metrics["fraction"], metrics["protocol"])
    return tables.Tables({}).paper_f1(*cell[:7])


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> dict | None:
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    honour_omp_num_threads()
    cluster.watch_for_termination()
    try:
        return train(cfg, out_dir)
    except Exception as err:
        if cluster.requeue_under_way(err):  # no error.txt, no result: the next attempt has them
            raise SystemExit(f"bioner-pl: SLURM took this attempt away ({err}); the requeued job continues") from err
        # A failed job leaves error.txt beside its outputs, so `make tables` can mark it.
        (out_dir / "error.txt").write_text("".join(traceback.format_exception(err)))
        user_error = input_error(err)
        if user_error is not None and HydraConfig.get().mode == RunMode.RUN:
            print(f"bioner-pl: error: {user_error}", file=sys.stderr)
            sys.exit(2)
        raise  # multirun: Hydra records the failure and runs the other jobs


def honour_omp_num_threads() -> None:
    """Use OMP_NUM_THREADS threads when the user set it. torch reads MKL_NUM_THREADS first, and
    joblib's workers (hydra/launcher=local_parallel) set that to cores // n_jobs whenever the
    parent did not, which would overrule the user's OMP_NUM_THREADS without a word."""
    wanted = os.environ.get("OMP_NUM_THREADS", "")
    if wanted.isdigit() and int(wanted) > 0:
        torch.set_num_threads(int(wanted))


def input_error(err: BaseException | None) -> Exception | None:
    """The user's mistake behind err, if any: our InputError, or Lightning's word that a Trainer
    argument is impossible (hydra.utils.instantiate wraps what a target raises)."""
    return next((e for e in causes(err) if isinstance(e, (InputError, MisconfigurationException))), None)


if __name__ == "__main__":
    main()
