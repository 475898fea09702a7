"""Read W&B's offline run files (`offline-run-*/run-<id>.wandb`) as W&B writes them: a LevelDB-style
log of protobuf records. wandb ships no Python reader any more (its core is in Go), and a test must
look at what a user would sync, so this reads the records a run wrote: id, name, group, tags,
config, summary, exit code."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

from wandb.proto import wandb_internal_pb2 as pb

HEADER = 7  # ":W&B", magic 0xBEE1, version
BLOCK = 32 * 1024
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def records(path: Path):
    data = path.read_bytes()
    assert data[:4] == b":W&B", f"{path} is not a W&B run file"
    pos, pending = HEADER, b""
    while pos + 7 <= len(data):
        if BLOCK - pos % BLOCK < 7:  # a block's tail too short for a header is padding
            pos += BLOCK - pos % BLOCK
            continue
        length, kind = struct.unpack_from("<HB", data, pos + 4)
        if kind == 0:
            break
        pending += data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind in (FULL, LAST):
            record = pb.Record()
            record.ParseFromString(pending)
            yield record
            pending = b""


@dataclass
class OfflineRun:
    """One offline segment of a W&B run (a resumed run has one per attempt)."""

    path: Path
    id: str = ""
    name: str = ""
    group: str = ""
    tags: list[str] = field(default_factory=list)
    config: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    exit_code: int | None = None

    @classmethod
    def read(cls, path: Path) -> "OfflineRun":
        # The id W&B named the file by: an attempt that SLURM's SIGTERM cut off may have written no
        # record at all (wandb's service exits on SIGTERM before it flushes: wandb/wandb#9963).
        run = cls(path, id=path.stem.removeprefix("run-"))
        for record in records(path):
            kind = record.WhichOneof("record_type")
            if kind == "run":
                run.id, run.name, run.group = record.run.run_id, record.run.display_name, record.run.run_group
                run.tags = list(record.run.tags)
            elif kind == "config":
                for item in record.config.update:
                    run.config[item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
            elif kind == "summary":
                for item in record.summary.update:
                    run.summary[item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
            elif kind == "exit":
                run.exit_code = record.exit.exit_code
        return run


def offline_runs(run_dir: Path) -> list[OfflineRun]:
    """Every offline W&B segment under a job's directory, oldest first."""
    return [OfflineRun.read(p) for p in sorted(run_dir.glob("wandb/offline-run-*/run-*.wandb"))]
