"""One W&B run per job (its stable id: naming.run_id), the job's metrics as its summary,
and an end when the job ends (finished or failed), whatever launcher ran the job."""

from __future__ import annotations

import logging
from pathlib import Path

from pytorch_lightning.loggers import WandbLogger
from pytorch_lightning.utilities import rank_zero_only

log = logging.getLogger(__name__)


class QuietWandbLogger(WandbLogger):
    """Lightning's W&B logger, less the `anonymous=None` it always hands to wandb.init, which W&B
    (0.19 and later) answers with a warning on every run about a setting nobody set."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self._wandb_init.get("anonymous") is None:
            self._wandb_init.pop("anonymous", None)


def summary(metrics: dict, paper_f1: float | None) -> dict:
    """What metrics.json holds, flat (F1 etc. as fractions, like metrics.json), and the paper's F1
    and our difference to it where the paper has the cell."""
    flat = {f"{split}/{name}": value for split in ("dev", "test") for name, value in (metrics[split] or {}).items()}
    flat.update({key: metrics[key] for key in ("best_epoch", "epochs", "params", "wall_seconds", "resumed")})
    if paper_f1 is not None and metrics["test"]:
        flat["paper/f1"] = paper_f1 / 100
        flat["paper/delta_f1"] = metrics["test"]["f1"] - paper_f1 / 100
    return flat


def start_runs(loggers: list, config: dict) -> list:
    """Log the job's resolved config, which starts each logger's run; the W&B runs started (none in
    the other processes of a data-parallel run: Lightning logs from the first one only)."""
    for logger in loggers:
        logger.log_hyperparams(config)
    if rank_zero_only.rank != 0:
        return []
    return [logger.experiment for logger in loggers if isinstance(logger, WandbLogger)]


def end_runs(runs: list, summary_values: dict | None) -> None:
    """Finish the job's W&B runs: with its summary, or marked failed (summary None). Without this
    the next job of a multirun in the same process would log into this job's run."""
    for run in runs:
        if summary_values is not None:
            run.summary.update(summary_values)
            run.finish(exit_code=0)
            if run.offline:  # W&B is silent (conf/logger/default.yaml): one line of ours instead
                where = Path(run.dir).parent
                log.info("W&B run %s (offline) is in %s; publish it with: wandb sync %s", run.id, where, where)
            continue
        try:  # the job is failing already: its own error is the one to report
            run.finish(exit_code=1)
        except Exception as err:  # e.g. SLURM's SIGTERM also stopped wandb's service process
            log.warning("could not mark W&B run %s failed: %s", run.id, err)
