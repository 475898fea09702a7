"""A real single-node SLURM cluster for the tests: munged, slurmctld and slurmd (Debian's munge and
slurm-wlm), from a key and a slurm.conf written into a temporary directory, run in the foreground
as our own child processes, so that stopping them means stopping exactly the pids we started."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

DAEMONS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "sinfo", "scontrol")


def missing_programs() -> list[str]:
    return [p for p in DAEMONS if shutil.which(p) is None and not Path("/usr/sbin", p).exists()]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _program(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


SLURM_CONF = """\
ClusterName=bioner-ci
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# A requeued job waits cred_expire + 1 s before it may start again (default 120 s).
AuthInfo=socket={munge_socket},cred_expire=5
CredType=cred/munge
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
# Fast turnarounds for the tests: a killed job's processes get 5 s after SIGTERM, and the
# scheduler looks at the queue every second.
KillWait=5
MinJobAge=300
SchedulerParameters=sched_interval=1,bf_interval=1
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
"""


class SlurmCluster:
    def __init__(self, root: Path):
        self.root = root
        self.processes: list[subprocess.Popen] = []
        self.conf = root / "slurm.conf"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}

    def start(self, timeout: float = 60) -> "SlurmCluster":
        root = self.root
        for sub in ("munge", "state", "spool"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        (root / "munge").chmod(0o700)
        munge_socket = root / "munge" / "munge.socket"
        subprocess.run([_program("mungekey"), "--create", "--keyfile", str(root / "munge" / "munge.key")],
                       check=True, capture_output=True)
        self._spawn("munged", "--foreground", "--force", f"--socket={munge_socket}",
                    f"--key-file={root / 'munge' / 'munge.key'}", f"--log-file={root / 'munged.log'}",
                    f"--pid-file={root / 'munge' / 'munged.pid'}", f"--seed-file={root / 'munge' / 'seed'}")
        self._wait(lambda: munge_socket.exists(), timeout, "munged did not open its socket")
        host = socket.gethostname().split(".")[0]
        memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20 // 2
        self.conf.write_text(SLURM_CONF.format(
            host=host, root=root, munge_socket=munge_socket, ctld_port=_free_port(), slurmd_port=_free_port(),
            cpus=os.cpu_count(), memory_mb=memory_mb))
        self._spawn("slurmctld", "-D", "-i", "-f", str(self.conf))
        self._spawn("slurmd", "-D", "-f", str(self.conf))
        self._wait(self.node_idle, timeout, "the node never showed idle in sinfo")
        return self

    def _spawn(self, name: str, *args: str) -> None:
        log = open(self.root / f"{name}.out", "wb")
        self.processes.append(subprocess.Popen([_program(name), *args], stdout=log, stderr=subprocess.STDOUT,
                                               env=self.env, start_new_session=True))

    def _wait(self, ready, timeout: float, problem: str) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if ready():
                return
            for process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{process.args[0]} exited ({process.returncode}): {self.logs()}")
            time.sleep(0.5)
        raise RuntimeError(f"{problem}: {self.logs()}")

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}"
                         for p in sorted(self.root.glob("*.log")) + sorted(self.root.glob("*.out")))

    def run(self, *command: str, check: bool = True) -> str:
        result = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=60)
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)}: {result.stderr}")
        return result.stdout

    def node_idle(self) -> bool:
        result = subprocess.run(["sinfo", "--noheader", "--format=%T"], env=self.env, capture_output=True,
                                text=True, timeout=30)
        return result.returncode == 0 and result.stdout.strip() == "idle"

    def stop(self) -> None:
        """SIGTERM to each pid we started (slurmd first), SIGKILL to any still alive after 15 s."""
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
