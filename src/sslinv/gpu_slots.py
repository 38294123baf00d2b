"""Give each concurrent GPU job of a workstation its own devices.

Snakemake caps how many GPU jobs run at once (``--resources gpu=N``) but never says *which*
GPU a job gets: without help every job would pile onto ``cuda:0``. Each job here claims
free device indices by taking an exclusive ``flock`` on one lock file per device, and
exports them as ``CUDA_VISIBLE_DEVICES`` before CUDA starts. The kernel drops a lock when
its process dies, so a killed job never leaves a device reserved.

Where a scheduler already chose the devices (SLURM sets ``CUDA_VISIBLE_DEVICES``), or the user
did, that choice is kept untouched.
"""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

VISIBLE = "CUDA_VISIBLE_DEVICES"
COUNT_OVERRIDE = "SSLINV_GPU_COUNT"  # pretend this many devices exist (tests, odd drivers)
LOCK_DIR = "SSLINV_GPU_LOCK_DIR"


def device_count() -> int:
    """GPUs on this machine; ``torch.cuda.device_count`` asks NVML and does not start CUDA."""
    if COUNT_OVERRIDE in os.environ:
        return int(os.environ[COUNT_OVERRIDE])
    import torch

    return torch.cuda.device_count()


def lock_dir() -> Path:
    """One folder per user and machine: every job of every workflow run shares the devices."""
    default = Path(tempfile.gettempdir()) / f"sslinv-gpu-locks-{os.getuid()}"
    return Path(os.environ.get(LOCK_DIR, default))


def _try_lock(path: Path) -> int | None:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


@contextmanager
def claim(count: int, *, total: int | None = None, poll_s: float = 0.5) -> Iterator[list[int]]:
    """Hold ``count`` free GPUs for the duration of the block; yield their indices.

    All ``count`` devices are taken at once or none (then it waits), so two multi-GPU jobs
    can never each hold half of what the other needs.
    """
    if count <= 0:
        yield []
        return
    if VISIBLE in os.environ:
        chosen = [int(d) for d in os.environ[VISIBLE].split(",") if d.strip().isdigit()]
        log.info("using the GPUs chosen for this job: %s=%s", VISIBLE, os.environ[VISIBLE])
        yield chosen
        return
    total = device_count() if total is None else total
    if total == 0:
        yield []  # no GPU here: the job runs on the CPU (compute.device auto)
        return
    if count > total:
        raise RuntimeError(
            f"this job asks for {count} GPUs but the machine has {total}; lower the rule's "
            "gpu resource (set-resources in the profile)"
        )
    folder = lock_dir()
    folder.mkdir(parents=True, exist_ok=True)
    waited = False
    while True:
        with ExitStack() as held:
            chosen = []
            for index in range(total):
                fd = _try_lock(folder / f"gpu{index}.lock")
                if fd is not None:
                    held.callback(os.close, fd)
                    chosen.append(index)
                    if len(chosen) == count:
                        break
            if len(chosen) == count:
                os.environ[VISIBLE] = ",".join(map(str, chosen))
                log.info("claimed GPU(s) %s (lock files in %s)", os.environ[VISIBLE], folder)
                try:
                    yield chosen
                finally:
                    del os.environ[VISIBLE]
                return
        if not waited:
            log.info("waiting for %d free GPU(s) of %d", count, total)
            waited = True
        time.sleep(poll_s)
