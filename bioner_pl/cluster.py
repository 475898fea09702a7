"""Running under SLURM: a requeued job resumes, one handler requeues, and an attempt that SLURM
takes away leaves the job's result to the next attempt."""

from __future__ import annotations

import os
import signal
import subprocess

from bioner_pl.errors import causes

_terminated = False
_watching = False


def requeued() -> bool:
    """Whether SLURM restarted this job: after a time limit (submitit requeues it on the warning
    signal), a preemption, a node failure or `scontrol requeue` it counts the restarts."""
    return os.environ.get("SLURM_RESTART_COUNT", "0").strip() not in ("", "0")


def plugins() -> list:
    """Under SLURM, submitit requeues a job on the scheduler's warning signal; Lightning's own
    handler would requeue it a second time, so it is switched off."""
    from lightning_fabric.plugins.environments import SLURMEnvironment  # training only: tagging stays off Lightning

    return [SLURMEnvironment(auto_requeue=False)] if SLURMEnvironment.detect() else []


def watch_for_termination() -> None:
    """Note SLURM's SIGTERM (a requeue, a preemption, scancel), keeping whatever handler was there."""
    global _watching
    if "SLURM_JOB_ID" not in os.environ or _watching:
        return
    _watching = True
    previous = signal.getsignal(signal.SIGTERM)

    def note(signum, frame):
        global _terminated
        _terminated = True
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGTERM, note)


def terminating() -> bool:
    """Whether SLURM sent this job SIGTERM (see watch_for_termination): it will be killed KillWait
    seconds later, so work that can stop at a safe point should stop there."""
    return _terminated


def requeue_under_way(err: BaseException | None) -> bool:
    """Whether err comes from SLURM taking this attempt away. A requeue's SIGTERM reaches every
    process of the job step, `scontrol requeue` that submitit runs included, which then raises;
    the requeued attempt will give the job its result, so this one must not record a failure."""
    killed_requeue = any(isinstance(e, subprocess.CalledProcessError) and list(e.cmd[:2]) == ["scontrol", "requeue"]
                         and e.returncode < 0 for e in causes(err))
    return killed_requeue or _terminated
