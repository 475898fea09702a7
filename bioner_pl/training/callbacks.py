"""Our Lightning callbacks (the rest of conf/callbacks/ is Lightning's own)."""

from __future__ import annotations

import logging
import time

import pytorch_lightning as pl

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
        self.earlier = state_dict["seconds"]


class MovedRun(pl.Callback):
    """A run directory moved (scratch to home) and resumed there: its checkpoint callbacks saved
    paths under the old place, and Lightning, finding its dirpath changed, would forget the best
    score and write the next best beside the stale one (best-v1.ckpt). Their saved state is moved
    with the directory instead (called before the callbacks load it), so one best.ckpt stays."""

    def on_load_checkpoint(self, trainer, module, checkpoint: dict) -> None:
        for callback in trainer.checkpoint_callbacks:
            state = checkpoint.get("callbacks", {}).get(callback.state_key)
            old, new = (state or {}).get("dirpath"), callback.dirpath
            if not old or not new or old == new:
                continue

            def moved(path):
                return new + path[len(old):] if isinstance(path, str) and path.startswith(old) else path

            for key in ("best_model_path", "kth_best_model_path", "last_model_path"):
                if key in state:
                    state[key] = moved(state[key])
            state["best_k_models"] = {moved(k): v for k, v in state.get("best_k_models", {}).items()}
            state["dirpath"] = new
            log.info("the run directory moved from %s to %s: its checkpoints' records follow it", old, new)
