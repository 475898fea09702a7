"""One training job: refuse or resume, fit, test at the best-dev epoch, write the run's results."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Callable

import hydra
import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import LearningRateMonitor
from pytorch_lightning.utilities.exceptions import MisconfigurationException

from bioner_pl import cluster
from bioner_pl.data import corpus as ds
from bioner_pl.formats.conll import write_predictions
from bioner_pl.data.datamodule import MultiTaskDataModule
from bioner_pl.errors import InputError, causes
from bioner_pl.files import MiB, load_torch_file, read_json
from bioner_pl.models.blocks import WordCharEmbedding, bf16_lstm_runs_on
from bioner_pl.models.module import TaggerModule
from bioner_pl.naming import PROTOCOL_SWITCHES, aux_list
from bioner_pl.training import tracking
from bioner_pl.training.callbacks import CheckpointRecords

log = logging.getLogger("bioner_pl")


def train(cfg: DictConfig, out_dir: Path, paper_f1: Callable[[dict], float | None] = lambda metrics: None) -> dict:
    """The job of `python -m bioner_pl.train`, in out_dir: refuse to overwrite an earlier run unless
    told, continue one (resume=true, or a SLURM requeue), train, test, write metrics.json; each
    logger's run starts and ends here (paper_f1(metrics): the paper's score, for the W&B summary)."""
    # Instantiated first: the wall clock (a callback) counts the data loading too.
    callbacks = {name: hydra.utils.instantiate(c) for name, c in cfg.callbacks.items() if c is not None}
    missing = {"best", "last", "wall_clock"} - set(callbacks)
    if missing:
        raise InputError(f"callbacks.{sorted(missing)[0]} is needed: training reports and resumes from it")
    for corpus in [cfg.main, *aux_list(cfg.aux)]:  # a wrong corpus name fails before anything starts
        ds.resolve(corpus)
    metrics_path = out_dir / "metrics.json"
    last_ckpt = out_dir / "checkpoints" / "last.ckpt"
    # A requeued job continues its own run: the user asked for it once, when they submitted it.
    continuing = bool(cfg.resume) or cluster.requeued()
    resume = continuing and last_ckpt.exists()
    if continuing and metrics_path.exists():
        finished = read_json(metrics_path, MiB, "metrics.json")
        if not isinstance(finished, dict) or not isinstance(finished.get("epochs"), int):
            raise InputError("not a run record of ours (no number of epochs): remove it, or overwrite=true", metrics_path)
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
        metrics = fit_and_test(cfg, out_dir, loggers, callbacks, last_ckpt if resume else None)
    except BaseException:
        tracking.end_runs(runs, None)
        raise
    tracking.end_runs(runs, tracking.summary(metrics, paper_f1(metrics)))
    return metrics


def fit_and_test(cfg: DictConfig, out_dir: Path, loggers: list, callbacks: dict, resume_from: Path | None) -> dict:
    """Train (continuing from resume_from where given), then score dev and test at the best-dev epoch (or the last one where no best
    checkpoint exists: fast_dev_run, no validation batches); write metrics and predictions."""
    aux = aux_list(cfg.aux)
    pl.seed_everything(cfg.seed, workers=True)
    vectors = hydra.utils.instantiate(cfg.embedding.vectors)
    # partial, then called: Hydra would turn the vectors (a dataclass) into a config if passed to instantiate
    datamodule: MultiTaskDataModule = hydra.utils.instantiate(cfg.datamodule, _partial_=True)(aux=aux, vectors=vectors)
    datamodule.prepare()
    module = TaggerModule(
        OmegaConf.to_container(cfg.model.arch), datamodule.names, datamodule.tag_sets, datamodule.words.items,
        datamodule.chars.items, vectors.dim, seed=cfg.seed, optimizer=OmegaConf.to_container(cfg.optimizer),
        scheduler=OmegaConf.to_container(cfg.scheduler) if cfg.get("scheduler") else None,
        info={"model": cfg.model.name, "embedding": cfg.embedding.name, "fraction": cfg.fraction},
        embedding=OmegaConf.to_container(cfg.embedding.layer, resolve=True) if cfg.embedding.get("layer") else None)
    if resume_from is None and isinstance(module.net.embedding, WordCharEmbedding):
        module.net.embedding.words.weight.data.copy_(datamodule.word_matrix())
    checkpoint, latest, clock = callbacks["best"], callbacks["last"], callbacks["wall_clock"]
    if not loggers:  # Lightning refuses an LR monitor without a logger (fast_dev_run)
        callbacks = {name: c for name, c in callbacks.items() if not isinstance(c, LearningRateMonitor)}
    # A multi-task step trains one dataset's head (and private encoder): the others get no gradient,
    # which DDP must be told about.
    strategy = {"ddp": "ddp_find_unused_parameters_true"}.get(cfg.trainer.strategy, cfg.trainer.strategy)
    trainer: pl.Trainer = hydra.utils.instantiate(cfg.trainer, callbacks=[*callbacks.values(), CheckpointRecords()], logger=loggers,
                                                  default_root_dir=str(out_dir), plugins=cluster.plugins(),
                                                  strategy=strategy)
    if str(trainer.precision).startswith("bf16") and not bf16_lstm_runs_on(trainer.strategy.root_device):
        raise InputError(f"trainer.precision={trainer.precision}: this {trainer.strategy.root_device.type} has no "
                         "bfloat16 LSTM (a CPU needs AVX-512 BF16 or AMX); use trainer.precision=32-true")
    features = out_dir / FEATURES
    if getattr(module.net.embedding, "cached", False):
        frozen_features(module.net.embedding, datamodule, features, trainer.strategy.root_device, trainer.global_rank == 0)
    # A run directory may come from elsewhere: its checkpoints are read as data before Lightning
    # loads them (weights-only, within a budget; CheckpointRecords then checks the paths they record).
    if resume_from is not None:
        load_torch_file(resume_from)
    trainer.fit(module, datamodule=datamodule, ckpt_path=resume_from and str(resume_from), weights_only=True)
    fit_seconds, fitted = clock.seconds, time.time()  # validate/test load best.ckpt's clock too
    best = checkpoint.best_model_path or latest.best_model_path or None
    if best:
        load_torch_file(Path(best))
    best_epoch = torch.load(best, map_location="cpu", weights_only=True)["epoch"] + 1 if best else trainer.current_epoch
    trainer.validate(module, datamodule=datamodule, ckpt_path=best, verbose=False, weights_only=True)
    trainer.test(module, datamodule=datamodule, ckpt_path=best, verbose=False, weights_only=True)
    dev, test = module.scores.get("val"), module.scores.get("test")  # None where limit_*_batches=0
    metrics = {
        "model": cfg.model.name, "arch": {k: v for k, v in cfg.model.arch.items() if k not in ("_target_", "name")},
        "main": datamodule.names[0], "aux": datamodule.names[1:], "embedding": cfg.embedding.name,
        "fraction": cfg.fraction, "seed": cfg.seed,
        "protocol": {k: cfg[k] for k in PROTOCOL_SWITCHES},
        "best_epoch": best_epoch, "epochs": trainer.current_epoch,
        "params": sum(p.numel() for p in module.net.parameters()),
        "wall_seconds": round(fit_seconds + time.time() - fitted, 1), "threads": torch.get_num_threads(), "dev": dev, "test": test,
        "checkpoint": None if best is None else
        str(Path(best).relative_to(out_dir)) if Path(best).is_relative_to(out_dir) else best,
        "resumed": resume_from is not None, "processes": trainer.world_size,
    }
    scores = " / ".join(f"{test[k]:.4f}" for k in ("precision", "recall", "f1")) if test else "not run"
    if trainer.fast_dev_run:  # a check of the code path, like Lightning's: no checkpoint, no results
        log.info("fast_dev_run: test P/R/F1 %s; nothing written", scores)
        return metrics
    if trainer.global_rank != 0:  # data-parallel: the first process writes the run's results
        return metrics
    write_predictions(out_dir / "test_predictions.tsv", datamodule.sentences["test"], module.predictions)
    metrics_path = out_dir / "metrics.json"
    metrics_path.write_text(json.dumps(metrics, indent=2) + "\n")
    (out_dir / "error.txt").unlink(missing_ok=True)  # an earlier attempt's failure is over
    features.unlink(missing_ok=True)  # the frozen transformer's features: only a resumed run needs them
    log.info("test P/R/F1 %s (best dev epoch %d) -> %s", scores, best_epoch, metrics_path)
    return metrics


FEATURES = "transformer_features.safetensors"  # a frozen transformer's features, in the run directory


def frozen_features(embedding, datamodule: MultiTaskDataModule, path: Path, device: torch.device, save: bool) -> None:
    """A frozen transformer's features of every sentence of the run, computed once (on the
    training device) and kept in memory for all epochs and (where `save`) on disk for a resumed run
    and for the other processes of a data-parallel one."""
    if path.exists():
        embedding.load_cache(path)
        log.info("transformer features of %d sentences read from %s", len(embedding.cache), path)
        return
    started, where = time.time(), next(embedding.parameters()).device
    items = datamodule.train_items + [e for split in datamodule.eval_items.values() for e in split]
    embedding.to(device).cache_features([e.tokens for e in items])
    embedding.to(where)
    if save:
        embedding.save_cache(path)
    log.info("transformer features of %d sentences in %.1f s -> %s", len(embedding.cache), time.time() - started, path)


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
