"""The workstation GPU allocator: concurrent jobs never share a device, dead jobs free theirs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from sslinv import gpu_slots

# A job: claim N GPUs of a fake machine, note when it held which, hold them a while.
JOB = """
import json, os, sys, time
from sslinv.gpu_slots import claim
count, hold, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
with claim(count) as devices:
    start = time.monotonic()
    visible = os.environ["CUDA_VISIBLE_DEVICES"]
    time.sleep(hold)
    end = time.monotonic()
with open(out, "w") as f:
    json.dump({"devices": devices, "visible": visible, "start": start, "end": end}, f)
"""


@pytest.fixture
def fake_gpus(tmp_path, monkeypatch):
    monkeypatch.setenv(gpu_slots.COUNT_OVERRIDE, "2")
    monkeypatch.setenv(gpu_slots.LOCK_DIR, str(tmp_path / "locks"))
    monkeypatch.delenv(gpu_slots.VISIBLE, raising=False)
    return tmp_path


def _start(tmp_path, name: str, count: int, hold: float) -> subprocess.Popen:
    out = tmp_path / f"{name}.json"
    return subprocess.Popen([sys.executable, "-c", JOB, str(count), str(hold), str(out)])


def _result(tmp_path, name: str) -> dict:
    return json.loads((tmp_path / f"{name}.json").read_text())


def test_concurrent_jobs_get_distinct_devices(fake_gpus):
    jobs = [_start(fake_gpus, f"job{i}", 1, 0.8) for i in range(4)]
    assert all(job.wait(timeout=60) == 0 for job in jobs)
    runs = [_result(fake_gpus, f"job{i}") for i in range(4)]
    for run in runs:
        assert len(run["devices"]) == 1 and run["visible"] == str(run["devices"][0])
    assert {run["devices"][0] for run in runs} == {0, 1}
    for a in runs:  # the same device is never held by two jobs at once
        for b in runs:
            if a is not b and a["devices"] == b["devices"]:
                assert a["end"] <= b["start"] or b["end"] <= a["start"]
    # 4 jobs on 2 devices: at least two rounds, so the whole took >= 2 holds
    span = max(r["end"] for r in runs) - min(r["start"] for r in runs)
    assert span >= 1.6


def test_a_multi_gpu_job_waits_for_all_its_devices(fake_gpus):
    single = _start(fake_gpus, "single", 1, 1.0)
    time.sleep(0.6)  # let it take a device first
    double = _start(fake_gpus, "double", 2, 0.1)
    assert single.wait(timeout=60) == 0 and double.wait(timeout=60) == 0
    one, two = _result(fake_gpus, "single"), _result(fake_gpus, "double")
    assert two["devices"] == [0, 1] and two["visible"] == "0,1"
    assert two["start"] >= one["end"]


def test_a_killed_job_frees_its_device(fake_gpus):
    holder = _start(fake_gpus, "holder", 2, 60.0)
    deadline = time.monotonic() + 20
    while not (fake_gpus / "locks" / "gpu1.lock").is_file() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.3)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=20)
    started = time.monotonic()
    with gpu_slots.claim(2) as devices:
        assert devices == [0, 1]
    assert time.monotonic() - started < 2.0


def test_the_environment_is_restored_after_the_block(fake_gpus):
    with gpu_slots.claim(1) as devices:
        assert os.environ[gpu_slots.VISIBLE] == str(devices[0])
    assert gpu_slots.VISIBLE not in os.environ


def test_a_scheduler_choice_is_kept(fake_gpus, monkeypatch):
    monkeypatch.setenv(gpu_slots.VISIBLE, "3,5")
    with gpu_slots.claim(2) as devices:
        assert devices == [3, 5]
    assert os.environ[gpu_slots.VISIBLE] == "3,5"
    assert not (fake_gpus / "locks").exists()


def test_no_gpu_no_claim(fake_gpus, monkeypatch):
    monkeypatch.setenv(gpu_slots.COUNT_OVERRIDE, "0")
    with gpu_slots.claim(1) as devices:
        assert devices == []
    with gpu_slots.claim(0) as devices:
        assert devices == []


def test_asking_for_more_than_the_machine_has(fake_gpus):
    with pytest.raises(RuntimeError, match="asks for 3 GPUs but the machine has 2"):
        with gpu_slots.claim(3):
            pass
