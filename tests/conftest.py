"""Shared fixtures: the repository paths and a tiny model spec every training test uses."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.fixture(autouse=True)
def _few_threads():
    """Tests run on 2 cores: keep torch from oversubscribing them."""
    torch.set_num_threads(1)
    yield


@pytest.fixture
def tiny_backbone_spec() -> dict:
    return {"arch": "resnet18", "width": 4, "stem": "small", "stem_stride": 2}


def tool_env() -> dict:
    """Environment for subprocesses: the venv's tools (snakemake, sslinv) first on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env
