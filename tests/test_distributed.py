"""Data-parallel pre-training: 2 gloo processes on the CPU against the single-process run."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from sslinv.augment import build_augmentation, sharded
from sslinv.datasets import write_split
from sslinv.distributed import World, torchrun_command

from .conftest import tool_env
from .test_features import SPEC as BASE_SPEC

# The tiny MoCo of the pre-training tests, with batch-norm groups of 16 images.
SPEC = {
    **BASE_SPEC,
    "backbone": {"arch": "resnet18", "width": 4, "stem": "small", "stem_stride": 2},
    "epochs": 6,
    "batch_size": 32,
    "checkpoint_every": 100,
    "optimizer": {"lr": 0.05, "momentum": 0.9, "weight_decay": 1e-4, "warmup_epochs": 0},
    "moco": {**BASE_SPEC["moco"], "shuffle_bn_groups": 2},
    "augmentations": [
        {"random_resized_crop": {"scale": [0.5, 1.0]}},
        "horizontal_flip",
        {"color_jitter": {"p": 0.8}},
    ],
}


def test_shards_draw_the_parameters_of_the_global_batch():
    """Each process's slice of the views equals that slice of the single-process views."""
    aug = build_augmentation(SPEC["augmentations"] + ["grayscale", "gaussian_blur"])
    x = torch.rand(8, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    full = aug(x, torch.Generator().manual_seed(0))
    parts, generators = [], []
    for start in (0, 4):
        g = torch.Generator().manual_seed(0)
        with sharded(8, start):
            parts.append(aug(x[start : start + 4], g))
        generators.append(g.get_state())
    torch.testing.assert_close(torch.cat(parts), full, rtol=0, atol=1e-6)
    assert torch.equal(generators[0], generators[1])  # ranks stay in step


def test_world_shard_splits_the_global_batch():
    assert World(rank=1, size=4).shard(16) == slice(4, 8)
    with pytest.raises(ValueError, match="divisible by the number of GPUs"):
        World(rank=0, size=3).shard(16)


def test_torchrun_command_runs_the_package():
    command = torchrun_command(2, ["pretrain", "--kind", "moco_v2"])
    assert command[1:4] == ["-m", "torch.distributed.run", "--standalone"]
    assert "--nproc-per-node=2" in command
    assert command[-3:] == ["pretrain", "--kind", "moco_v2"]


def _pretrain(data, out, processes: int) -> dict:
    command = [
        sys.executable, "-m", "sslinv", "pretrain", "--kind", "moco_v2",
        "--spec", json.dumps(SPEC), "--data", str(data), "--out", str(out),
        "--device", "cpu", "--threads", "2", "--processes", str(processes),
    ]  # fmt: skip
    done = subprocess.run(command, env=tool_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((out / "meta.json").read_text())


def test_two_gloo_processes_follow_the_single_process_loss_curve(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (64, 16, 16, 3), dtype=np.uint8)
    write_split(tmp_path / "data", images, pd.DataFrame({"label": np.arange(64) % 4}))
    single = _pretrain(tmp_path / "data", tmp_path / "one", 1)
    double = _pretrain(tmp_path / "data", tmp_path / "two", 2)
    assert single["processes"] == 1 and double["processes"] == 2
    assert double["steps"] == single["steps"] == 12  # the global batch is unchanged
    a, b = np.array(single["loss_curve"]), np.array(double["loss_curve"])
    # Same data order, same augmentation parameters, same batch-norm group sizes: only which
    # keys share a batch-norm group differs, so the curves agree closely (not bit-exactly).
    assert abs(a[0] - b[0]) < 0.1
    assert np.abs(a - b).max() < 0.25 and np.abs(a - b).mean() < 0.1
    assert not (tmp_path / "two" / "state.pt").exists()
    written = sorted(p.name for p in (tmp_path / "two").iterdir())
    assert written == sorted(p.name for p in (tmp_path / "one").iterdir())
