"""A throwaway single-node SLURM cluster for the workflow test (root on Debian only).

CI runs as root on a fresh Debian machine, so the test can install the real daemons from
apt and run the workflow through the real ``sbatch``/``squeue`` path. The node advertises one
fake GPU (``File=/dev/null``) so rules that ask for ``gpu=1`` are scheduled with ``--gpus``
like on a real cluster; the job still runs on the CPU.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PACKAGES = ("slurm-wlm", "munge")
# Job steps read the default config (the jobstep plugin drops SLURM_CONF from their
# environment), so the throwaway cluster's config goes where a real node keeps it.
CONF_DIR = Path("/etc/slurm")
MARKER = "# written by sslinv's SLURM test; removed when it ends"
DAEMONS = ("/usr/sbin/munged", "/usr/sbin/slurmctld", "/usr/sbin/slurmd")


def can_run() -> str | None:
    """Why a real cluster cannot be started here, or None when it can."""
    if os.name != "posix" or os.geteuid() != 0:
        return "needs root (CI runs as root)"
    if not Path("/etc/debian_version").is_file() or shutil.which("apt-get") is None:
        return "needs Debian's apt-get to install slurm-wlm and munge"
    existing = CONF_DIR / "slurm.conf"
    if existing.is_file() and MARKER not in existing.read_text():
        return f"{existing} exists: this machine has a real SLURM setup to leave alone"
    return None


def install() -> None:
    """Install the daemons from apt when they are missing (about 10 s on a fresh machine)."""
    if all(Path(d).exists() for d in DAEMONS):
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES]
    done = subprocess.run(command, env=env, capture_output=True, timeout=600, check=False)
    if done.returncode != 0:  # a fresh image may have no package lists yet
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=600, check=True)
        subprocess.run(command, env=env, capture_output=True, timeout=600, check=True)


def write_config(folder: Path, *, cpus: int, memory_mb: int, gpus: int = 1) -> Path:
    host = socket.gethostname().split(".")[0]
    for sub in ("state", "spool", "log"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    CONF_DIR.mkdir(parents=True, exist_ok=True)
    # Fake GPUs: device files slurmd can open (one file per GPU, no driver needed).
    devices = [Path("/dev/null"), Path("/dev/zero"), Path("/dev/full"), Path("/dev/random")]
    if gpus > len(devices):
        raise ValueError(f"at most {len(devices)} fake GPUs")
    gres = "\n".join(f"NodeName={host} Name=gpu File={d}" for d in devices[:gpus])
    (CONF_DIR / "gres.conf").write_text(f"{MARKER}\n{gres}\n")
    conf = CONF_DIR / "slurm.conf"
    conf.write_text(
        f"""{MARKER}
ClusterName=sslinvci
SlurmctldHost={host}
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
ReturnToService=2
MinJobAge=3600
SlurmdParameters=config_overrides
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/log/slurmctld.log
SlurmdLogFile={folder}/log/slurmd.log
NodeName={host} CPUs={cpus} RealMemory={memory_mb} Gres=gpu:{gpus} State=UNKNOWN
PartitionName=ci Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""
    )
    return conf


def _wait(check, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise TimeoutError(f"SLURM test cluster: {what} did not come up within {timeout:.0f} s")


@contextmanager
def cluster(
    folder: Path, *, cpus: int = 2, memory_mb: int = 16000, gpus: int = 1
) -> Iterator[dict]:
    """Start munged, slurmctld and slurmd; yield the variables clients need; stop them."""
    install()
    conf = write_config(folder, cpus=cpus, memory_mb=memory_mb, gpus=gpus)
    extra = {"SLURM_CONF": str(conf)}
    env = {**os.environ, **extra}
    munge_dir = Path("/run/munge")
    munge_dir.mkdir(exist_ok=True)
    shutil.chown(munge_dir, "munge", "munge")
    if not Path("/etc/munge/munge.key").is_file():
        subprocess.run(["mungekey", "--create"], check=True, capture_output=True)
        shutil.chown("/etc/munge/munge.key", "munge", "munge")
    pids: list[int] = []
    try:
        munge_pid = Path("/run/munge/munged.pid")
        if not munge_pid.is_file() or not _alive(int(munge_pid.read_text() or 0)):
            subprocess.run(
                ["runuser", "-u", "munge", "--", "/usr/sbin/munged", "--force"],
                check=True,
                capture_output=True,
            )
            pids.append(int(munge_pid.read_text()))
        for daemon in ("slurmctld", "slurmd"):
            subprocess.run([f"/usr/sbin/{daemon}", "-f", str(conf)], check=True, env=env)
            pid_file = folder / f"{daemon}.pid"
            _wait(pid_file.is_file, f"{daemon} pid file")
            pids.append(int(pid_file.read_text()))
        _wait(lambda: _node_ready(env), "the node (sinfo shows it idle)")
        yield extra
    finally:
        for name in ("slurm.conf", "gres.conf"):
            (CONF_DIR / name).unlink(missing_ok=True)
        for pid in reversed(pids):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for pid in pids:
            _wait(lambda pid=pid: not _alive(pid), f"process {pid} to stop", timeout=20)


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _node_ready(env: dict) -> bool:
    out = subprocess.run(
        ["sinfo", "-h", "-o", "%t"], env=env, capture_output=True, text=True, check=False
    )
    return out.stdout.strip() in ("idle", "mix")
