"""What the tests share: where the data is, running a command as a user would, small batches."""

import os
import subprocess
import sys
from pathlib import Path

from bioner_pl.data.encoding import collate

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_DATA = ROOT / "tests" / "fixtures" / "data"
FIXTURE_CHECKPOINTS = ROOT / "tests" / "fixtures" / "checkpoints"
SHARED_DATA = ROOT.parent / "shared" / "data" / "MTL-Bioinformatics-2016"

TINY = ["trainer=smoke", "logger=csv"]
SMALL_VECTORS = ["embedding=random", "embedding.vectors.dim=20"]


def cli_env(**extra: str) -> dict:
    """The environment the CLI runs in during the tests: the fixture data, W&B quiet, this checkout."""
    return {**os.environ, "BIONER_DATA_DIR": str(FIXTURE_DATA), "WANDB_SILENT": "true", "PYTHONPATH": str(ROOT),
            **extra}


def run_cli(module: str, *overrides: str, cwd: Path | None = None, env: dict | None = None,
            timeout: int = 600) -> subprocess.CompletedProcess:
    """Run `python -m module overrides...` the way a user would; capture its output."""
    return subprocess.run([sys.executable, "-m", module, *overrides], cwd=cwd or ROOT, env=cli_env(**(env or {})),
                          capture_output=True, text=True, timeout=timeout)


def batch_of(dm, task: int, size: int = 8) -> dict:
    """The first `size` training sentences of one task of a MultiTaskDataModule, collated as training batches are."""
    return collate([(i, e) for i, e in enumerate(dm.train_items) if e.task == task][:size])


class StopAtEpoch:
    """A Lightning callback that fails the run as epoch `epoch` starts (its checkpoints of the epoch
    before are written): an interrupted run, for the resume tests (`+callbacks.stop=...`)."""

    def __new__(cls, epoch: int):
        import pytorch_lightning as pl

        class Stop(pl.Callback):
            def on_train_epoch_start(self, trainer, module):
                if trainer.current_epoch == epoch:
                    raise RuntimeError(f"stopped at epoch {epoch}")

        return Stop()
