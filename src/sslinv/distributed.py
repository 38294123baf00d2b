"""Data-parallel pre-training: launching under torchrun and the few collectives it needs.

A pre-training job given several GPUs re-launches itself through ``torchrun`` with one
process per GPU. Every process holds the same model, draws the same random numbers from
the same seeds (data order, augmentation parameters), and works on its slice of each global
batch, so the global batch, the schedule and the augmentations stay exactly those of the
single-process run: only the arithmetic is spread out. Rank 0 alone writes files.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.distributed as dist

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class World:
    """This process's place among the data-parallel processes (1 process: rank 0 of 1)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    def shard(self, batch_size: int) -> slice:
        """This rank's contiguous part of a global batch (rank order = single-process order)."""
        if batch_size % self.size:
            raise ValueError(
                f"the batch size {batch_size} does not split evenly over {self.size} processes; "
                "pick a pretrain.batch_size divisible by the number of GPUs"
            )
        per = batch_size // self.size
        return slice(self.rank * per, (self.rank + 1) * per)


def launched_by_torchrun() -> bool:
    return "LOCAL_RANK" in os.environ and "WORLD_SIZE" in os.environ


def init(device_type: str) -> World:
    """Join the process group torchrun set up (NCCL on GPUs, gloo on the CPU)."""
    if not launched_by_torchrun():
        return World()
    world = World(
        rank=int(os.environ["RANK"]),
        size=int(os.environ["WORLD_SIZE"]),
        local_rank=int(os.environ["LOCAL_RANK"]),
    )
    if world.distributed and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
    return world


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def torchrun_command(nproc: int, argv: Sequence[str]) -> list[str]:
    """``python -m torch.distributed.run --standalone`` running ``sslinv <argv>`` per process."""
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        "--module",
        "sslinv",
        *argv,
    ]


def launch(nproc: int, argv: Sequence[str]) -> int:
    """Run ``sslinv <argv>`` in ``nproc`` processes and wait; returns torchrun's exit code.

    SIGTERM and SIGUSR1 (a SLURM time limit or pre-emption) reach this launcher; both are
    passed on to torchrun as SIGTERM, which hands it to every rank: the ranks agree on the
    step, rank 0 saves the resume state and all exit.
    """
    command = torchrun_command(nproc, argv)
    log.info("launching %d processes: %s", nproc, " ".join(command))
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    child = subprocess.Popen(command, env=env)

    def forward(signum, frame) -> None:
        child.send_signal(signal.SIGTERM)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGUSR1)}
    try:
        return child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def all_gather_cat(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate a tensor from every rank in rank order (no gradient, as MoCo's keys)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return tensor
    parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, tensor.contiguous())
    return torch.cat(parts)


def mean_over_ranks(values: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Average logged metrics over ranks: equal shards, so this is the global-batch mean."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return values
    keys = sorted(values)
    stacked = torch.stack([values[k].detach().float() for k in keys])
    dist.all_reduce(stacked)
    stacked /= dist.get_world_size()
    return dict(zip(keys, stacked, strict=True))


def any_rank(flag: bool, device: torch.device) -> bool:
    """True when any rank raised ``flag`` (a signal seen by one must stop all together)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item() > 0)


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
