"""The optimisation loop shared by MoCo-v2 and the supervised baseline.

One loop, so both models get the same budget (steps, batch, schedule) and the same
reliability: progress in the log, a resumable state file written periodically and on
SIGTERM/SIGUSR1 (SLURM time limits, pre-emption), and a loud stop on a non-finite loss.
"""

from __future__ import annotations

import contextlib
import logging
import math
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from sslinv.augment import sharded
from sslinv.device import autocast
from sslinv.distributed import World, any_rank, mean_over_ranks
from sslinv.errors import Interrupted, TrainingError
from sslinv.io import atomic_path

log = logging.getLogger(__name__)

# An objective maps (uint8 image batch, labels or None, generator) to (loss, metrics).
Objective = Callable[[torch.Tensor, torch.Tensor | None, torch.Generator], tuple]


@dataclass
class Schedule:
    """SGD with linear warm-up then cosine decay to zero, per step (MoCo-v2's schedule)."""

    lr: float
    total_steps: int
    warmup_steps: int = 0

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        progress = (step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps)
        return self.lr * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


@dataclass
class TrainResult:
    steps: int
    history: list[dict] = field(default_factory=list)
    wall_time: float = 0.0
    images_per_s: float = 0.0

    def tail_mean(self, key: str, fraction: float = 0.1) -> float:
        """Mean of a metric over the last ``fraction`` of steps (the 'final' value)."""
        values = [h[key] for h in self.history if key in h]
        n = max(1, math.ceil(len(values) * fraction))
        return float(sum(values[-n:]) / n) if values else float("nan")


class _SignalFlag:
    """Remember SIGTERM/SIGUSR1 so the loop can save state at a step boundary."""

    SIGNALS = tuple(
        s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGUSR1", None)) if s
    )

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict = {}

    def __enter__(self) -> _SignalFlag:
        for sig in self.SIGNALS:
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: leave signals alone
                pass
        return self

    def _handle(self, signum, frame) -> None:
        self.received = signum

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def train(
    model: nn.Module,
    objective: Objective,
    images: torch.Tensor,
    labels: torch.Tensor | None,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    momentum: float = 0.9,
    weight_decay: float = 1e-4,
    warmup_epochs: float = 0.0,
    seed: int = 0,
    state_path: str | Path | None = None,
    fingerprint: str = "",
    checkpoint_every: int = 100,
    log_every: int = 10,
    world: World | None = None,
    workers: int = 2,
) -> TrainResult:
    """Optimise ``model`` through ``objective`` over ``images``.

    ``images`` is a uint8 N x 3 x H x W tensor already on the training device (small sets),
    or a uint8 N x H x W x 3 numpy memory map (a prepared split larger than memory, e.g.
    ImageNet): its batches are then read by ``workers`` DataLoader processes and copied to
    the device through pinned memory while the previous step runs.

    The data order of epoch e is a permutation seeded by (seed, e) and every augmentation
    draws from one generator whose state is checkpointed, so a resumed run sees the same
    batches and views as an uninterrupted one.

    With several data-parallel processes (``world``), each takes its slice of every global
    batch and draws the augmentation parameters of the whole batch, keeping its own; the
    objective's network must already be wrapped for gradient averaging. Only rank 0 writes
    the resume state; all ranks read it.
    """
    world = world or World()
    shard = world.shard(batch_size)
    n = images.shape[0]
    if n < batch_size:
        raise TrainingError(
            f"the pre-training split has {n} images, fewer than one batch of {batch_size}; "
            "lower pretrain.batch_size or render more images"
        )
    steps_per_epoch = n // batch_size
    total = epochs * steps_per_epoch
    schedule = Schedule(lr, total, round(warmup_epochs * steps_per_epoch))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    generator = torch.Generator().manual_seed(seed)
    result = TrainResult(steps=total)
    start_step, elapsed_before = 0, 0.0
    if state_path is not None and Path(state_path).is_file():
        start_step, elapsed_before = _load_state(
            state_path, model, optimizer, generator, result, fingerprint
        )
        log.info("resumed from %s at step %d/%d", state_path, start_step, total)
    model.train()
    device = labels.device if labels is not None else _device_of(images, model)
    batches = BatchOrder(n, batch_size, steps_per_epoch, seed, shard)
    started = time.perf_counter()
    with _SignalFlag() as flag:
        for step, (index, x) in zip(
            range(start_step, total),
            _stream(images, batches, start_step, total, device, workers),
            strict=True,
        ):
            epoch = step // steps_per_epoch
            for group in optimizer.param_groups:
                group["lr"] = schedule(step)
            with autocast(device), _shard_draws(world, batch_size, shard):
                loss, metrics = objective(
                    x, None if labels is None else labels[index.to(device)], generator
                )
            if not torch.isfinite(loss):
                raise TrainingError(
                    f"the loss became {loss.item()} at step {step} (epoch {epoch}); lower "
                    "pretrain.optimizer.lr or add warm-up (pretrain.optimizer.warmup_epochs). "
                    "No checkpoint was written."
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            metrics = mean_over_ranks(metrics)
            record = {"step": step + 1, "lr": schedule(step)}
            record.update({k: float(v) for k, v in metrics.items()})
            result.history.append(record)
            done = step + 1
            if world.is_main and (done % log_every == 0 or done == total):
                _log_progress(record, done, total, start_step, started, batch_size, epoch)
            interrupted = any_rank(flag.received is not None, device)
            if (
                world.is_main
                and state_path is not None
                and (done % checkpoint_every == 0 or interrupted)
                and done < total
            ):
                _save_state(
                    state_path,
                    model,
                    optimizer,
                    generator,
                    result,
                    fingerprint,
                    done,
                    elapsed_before + time.perf_counter() - started,
                )
            if interrupted:
                signal_name = flag.received or "(on another rank)"
                raise Interrupted(
                    f"received signal {signal_name} at step {done}/{total}; state saved to "
                    f"{state_path}, rerun the job to resume"
                )
    result.wall_time = elapsed_before + time.perf_counter() - started
    result.images_per_s = total * batch_size / max(result.wall_time, 1e-9)
    return result


class BatchOrder:
    """Which images form step s's batch: a permutation seeded by (seed, epoch), sliced.

    A pure function of the step, so a resumed run and every data-parallel rank compute the
    same batches without sharing state.
    """

    def __init__(self, n: int, batch_size: int, steps_per_epoch: int, seed: int, shard: slice):
        self.n, self.batch_size, self.steps_per_epoch = n, batch_size, steps_per_epoch
        self.seed, self.shard = seed, shard
        self._epoch, self._order = -1, None

    def __call__(self, step: int) -> torch.Tensor:
        epoch, within = divmod(step, self.steps_per_epoch)
        if epoch != self._epoch:
            generator = torch.Generator().manual_seed(self.seed * 100003 + epoch)
            self._epoch, self._order = epoch, torch.randperm(self.n, generator=generator)
        batch = self._order[within * self.batch_size : (within + 1) * self.batch_size]
        return batch[self.shard]


class _MappedBatches(torch.utils.data.Dataset):
    """Step -> (indices, uint8 N x 3 x H x W batch) read from a memory-mapped split."""

    def __init__(self, images: np.ndarray, order: BatchOrder, start: int) -> None:
        self.filename, self.shape = images.filename, images.shape
        self.offset = images.offset
        self.order, self.start = order, start
        self._images = None

    def __len__(self) -> int:
        return 1 << 62  # indexed by step; the loop decides when to stop

    def __getitem__(self, i: int):
        if self._images is None:  # opened per worker process
            self._images = np.memmap(
                self.filename, np.uint8, "r", offset=self.offset, shape=self.shape
            )
        index = self.order(self.start + i)
        ordered = index.numpy()
        rank = np.argsort(ordered)  # read in file order (sequential I/O), then restore
        pixels = np.empty((len(ordered), *self.shape[1:]), dtype=np.uint8)
        pixels[rank] = self._images[ordered[rank]]
        return index, torch.from_numpy(pixels).permute(0, 3, 1, 2)


def _stream(images, order: BatchOrder, start: int, total: int, device, workers: int):
    """(indices, batch on device) for steps start..total-1."""
    if isinstance(images, torch.Tensor):
        for step in range(start, total):
            index = order(step)
            yield index, images[index.to(images.device)]
        return
    if not isinstance(images, np.memmap):
        raise TypeError("images must be a tensor on the device or a numpy memory map")
    loader = torch.utils.data.DataLoader(
        _MappedBatches(images, order, start),
        batch_size=None,
        sampler=range(total - start),
        num_workers=workers,
        pin_memory=device.type == "cuda",
        prefetch_factor=4 if workers else None,
        persistent_workers=False,
    )
    for index, x in loader:
        yield index, x.to(device, non_blocking=True)


def _device_of(images, model: nn.Module) -> torch.device:
    if isinstance(images, torch.Tensor):
        return images.device
    return next(model.parameters()).device


def _shard_draws(world: World, batch_size: int, shard: slice):
    """Draw augmentations for the global batch in data-parallel runs (see augment.sharded)."""
    if not world.distributed:
        return contextlib.nullcontext()
    return sharded(batch_size, shard.start)


def _log_progress(
    record: dict,
    done: int,
    total: int,
    start_step: int,
    started: float,
    batch_size: int,
    epoch: int,
) -> None:
    elapsed = time.perf_counter() - started
    rate = (done - start_step) * batch_size / max(elapsed, 1e-9)
    eta = (total - done) * batch_size / max(rate, 1e-9)
    metrics = " ".join(f"{k} {v:.4f}" for k, v in record.items() if k not in ("step", "lr"))
    log.info(
        "step %d/%d epoch %d %s lr %.4f | %.0f img/s | ETA %s",
        done,
        total,
        epoch + 1,
        metrics,
        record["lr"],
        rate,
        time.strftime("%H:%M:%S", time.gmtime(eta)),
    )


def _save_state(path, model, optimizer, generator, result, fingerprint, step, elapsed) -> None:
    state = {
        "fingerprint": fingerprint,
        "step": step,
        "elapsed": elapsed,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "generator": generator.get_state(),
        "torch_rng": torch.get_rng_state(),
        "history": result.history,
    }
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(state, tmp)


def _load_state(path, model, optimizer, generator, result, fingerprint) -> tuple[int, float]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a truncated or foreign file: say which and what to do
        raise TrainingError(
            f"cannot read resume state '{path}' ({err}); delete it to start over"
        ) from None
    if state.get("fingerprint") != fingerprint:
        log.warning("ignoring resume state %s: it belongs to a different configuration", path)
        return 0, 0.0
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    generator.set_state(state["generator"])
    torch.set_rng_state(state["torch_rng"])
    result.history = list(state["history"])
    return int(state["step"]), float(state["elapsed"])
