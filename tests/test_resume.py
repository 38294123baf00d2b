"""A pre-training job killed part-way (SLURM time limit) resumes to the same checkpoint."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import torch

from sslinv.checkpoint import load_encoder
from sslinv.datasets import write_split
from tests.conftest import tool_env
from tests.test_distributed import SPEC

RESUME_SPEC = {**SPEC, "epochs": 20, "checkpoint_every": 4}  # 40 steps, state every 4


def _command(data, out) -> list[str]:
    return [
        sys.executable, "-m", "sslinv", "pretrain", "--kind", "moco_v2",
        "--spec", json.dumps(RESUME_SPEC), "--data", str(data), "--out", str(out),
        "--device", "cpu", "--threads", "1",
    ]  # fmt: skip


def test_killed_pretraining_resumes_to_the_uninterrupted_checkpoint(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (64, 16, 16, 3), dtype=np.uint8)
    write_split(tmp_path / "data", images, pd.DataFrame({"label": np.arange(64) % 4}))
    env = tool_env()

    whole = subprocess.run(_command(tmp_path / "data", tmp_path / "whole"), env=env,
                           capture_output=True, text=True, timeout=300)  # fmt: skip
    assert whole.returncode == 0, whole.stderr[-2000:]

    out = tmp_path / "cut"
    job = subprocess.Popen(
        _command(tmp_path / "data", out), env=env, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 120
    while not (out / "state.pt").is_file() and time.monotonic() < deadline:
        time.sleep(0.05)
    job.send_signal(signal.SIGTERM)  # what SLURM sends at the time limit
    _, stderr = job.communicate(timeout=120)
    assert job.returncode == 2, stderr[-2000:]
    assert "state saved to" in stderr and "rerun the job to resume" in stderr
    assert not (out / "encoder.safetensors").exists()  # no half-trained model left behind
    saved_step = torch.load(out / "state.pt", weights_only=True)["step"]
    assert 0 < saved_step < 40

    resumed = subprocess.run(_command(tmp_path / "data", out), env=env,
                             capture_output=True, text=True, timeout=300)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resumed from {out / 'state.pt'} at step {saved_step}/40" in resumed.stderr
    assert not (out / "state.pt").exists()

    a = json.loads((tmp_path / "whole" / "meta.json").read_text())
    b = json.loads((out / "meta.json").read_text())
    assert a["steps"] == b["steps"] == 40
    assert a["loss_curve"] == b["loss_curve"]
    (whole_model, _), (cut_model, _) = load_encoder(tmp_path / "whole"), load_encoder(out)
    state_a, state_b = whole_model.state_dict(), cut_model.state_dict()
    assert state_a.keys() == state_b.keys()
    for key in state_a:  # bit for bit on the CPU
        assert torch.equal(state_a[key], state_b[key]), key
