"""Our Lightning callbacks (the rest of conf/callbacks/ is Lightning's own)."""

from __future__ import annotations

import time

import pytorch_lightning as pl


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
