"""Learning-rate schedules beyond torch's own (conf/scheduler/)."""

from __future__ import annotations


def warmup_linear(optimizer, warmup: float, steps: int):
    """BERT-style fine-tuning: the learning rate of every group rises linearly from 0 over the first
    `warmup` share of the run's `steps` optimizer steps, then falls linearly to 0 at the last."""
    from transformers import get_linear_schedule_with_warmup

    return get_linear_schedule_with_warmup(optimizer, int(warmup * steps), steps)
