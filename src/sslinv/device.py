"""Choosing the compute device and thread count for a job."""

from __future__ import annotations

import contextlib

import torch


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA when present; asking for CUDA without one is a clear error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(
            "compute.device is 'cuda' but no CUDA device is visible; set compute.device to "
            "'auto' or 'cpu', or run on a GPU node"
        )
    return torch.device(name)


def set_threads(threads: int | None) -> None:
    """Give torch exactly the cores Snakemake reserved for the job (no oversubscription)."""
    if threads:
        torch.set_num_threads(max(1, int(threads)))


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA (tensor cores); full precision on CPU where bf16 is slow."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def memory_format(device: torch.device) -> torch.memory_format:
    """channels_last speeds up convolutions on CUDA; on CPU it is kept contiguous."""
    return torch.channels_last if device.type == "cuda" else torch.contiguous_format
