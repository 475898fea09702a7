"""Our Lightning callbacks (the rest of conf/callbacks/ is Lightning's own)."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import pytorch_lightning as pl

from bioner_pl.errors import InputError

log = logging.getLogger("bioner_pl")


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
        seconds = state_dict.get("seconds") if isinstance(state_dict, dict) else None
        if not isinstance(seconds, (int, float)) or not math.isfinite(seconds) or seconds < 0:
            raise InputError(f"its wall-clock record is not a number of seconds ({str(seconds)[:40]}); refused")
        self.earlier = float(seconds)


class CheckpointRecords(pl.Callback):
    """The checkpoint callbacks' records in a run's last.ckpt (best, last and top-k paths), checked
    before they load: a resumed run later deletes the best checkpoint it replaces, so a record
    from a crafted or foreign last.ckpt could otherwise delete anything. Every path must resolve
    inside the callback's own folder (the run's checkpoints/), or the resume is refused. A run
    directory moved (scratch to home) and resumed there keeps its records: paths under the old
    folder move with it, compared resolved, so that Lightning, finding its dirpath changed, does
    not forget the best score and write the next best beside the stale one (best-v1.ckpt).
    The runner always installs it: it is part of resuming, not a choice."""

    PATHS = ("best_model_path", "kth_best_model_path", "last_model_path")

    def on_load_checkpoint(self, trainer, module, checkpoint: dict) -> None:
        where = trainer.ckpt_path
        for callback in trainer.checkpoint_callbacks:
            state = checkpoint.get("callbacks", {}).get(callback.state_key)
            if state is None or not callback.dirpath:
                continue
            if not isinstance(state, dict):
                raise InputError(f"its record of {type(callback).__name__} is not a mapping; refused", where)
            new = Path(callback.dirpath).resolve()
            old = state.get("dirpath")
            old = Path(old).resolve() if isinstance(old, str) and "://" not in old else None

            def moved(path: object) -> str:
                if not isinstance(path, str) or "://" in path:
                    raise InputError(f"its checkpoint records name {str(path)[:200]!r}, which is not a file "
                                     f"in {new}; refused, nothing removed", where)
                if path == "":
                    return path
                resolved = Path(path).resolve()
                if old is not None and resolved.is_relative_to(old):
                    resolved = new / resolved.relative_to(old)
                if resolved.parent != new:
                    raise InputError(f"its checkpoint records name {path[:200]!r}, outside the run's checkpoints "
                                     f"folder {new}; refused, nothing removed", where)
                return str(resolved)

            for key in self.PATHS:
                if key in state:
                    state[key] = moved(state[key])
            best_k = state.get("best_k_models", {})
            if not isinstance(best_k, dict):
                raise InputError("its record of the best checkpoints is not a mapping; refused", where)
            state["best_k_models"] = {moved(k): v for k, v in best_k.items()}
            if old != new:
                log.info("the run directory moved from %s to %s: its checkpoints' records follow it", old, new)
            state["dirpath"] = callback.dirpath
