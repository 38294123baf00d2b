"""The smoke workflow submitted to a real (single-node, throwaway) SLURM cluster.

This is the path users take on a cluster: ``snakemake --profile profiles/slurm``. The only
test overrides are the site-specific ones the profile documents (no account, squeue status
because the throwaway cluster has no accounting database) and a thread cap for 2 cores.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
from pathlib import Path

import pytest

from tests import slurm_cluster
from tests.conftest import BIN, tool_env
from tests.test_workflow import copy_repo

pytestmark = [
    pytest.mark.workflow,
    pytest.mark.skipif(slurm_cluster.can_run() is not None, reason=str(slurm_cluster.can_run())),
]
GPU_RULES = {"pretrain", "features", "synthetic_invariance", "prepare_scenes"}


def _run(command: list[str], cwd: Path, env: dict, timeout: float) -> tuple[int, str]:
    """Run snakemake; on a timeout stop it with SIGINT (SIGTERM can hang its shutdown)."""
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=120)
        return -1, output
    return process.returncode, output


def _jobs(env: dict) -> list[dict[str, str]]:
    """Every job the controller still remembers (the test cluster keeps them an hour)."""
    text = subprocess.run(
        ["scontrol", "-o", "show", "job"], env=env, capture_output=True, text=True, check=True
    ).stdout
    return [dict(re.findall(r"(\w+)=(\S*)", line)) for line in text.splitlines() if line]


def test_smoke_workflow_through_the_slurm_profile(tmp_path):
    repo = copy_repo(tmp_path / "repo")
    # The node advertises more CPUs, memory and (fake) GPUs than the machine has
    # (SlurmdParameters=config_overrides), so light jobs overlap their start-up (mostly
    # waiting) instead of queueing one by one behind a single GPU.
    with slurm_cluster.cluster(tmp_path / "slurm", cpus=8, memory_mb=64000, gpus=4) as slurm_env:
        env = {**tool_env(), **slurm_env, "PYTHONPATH": str(repo / "src")}
        command = [
            str(BIN / "snakemake"),
            "--profile", "profiles/slurm",
            "--configfile", "configs/smoke.yaml",
            "--slurm-status-command", "squeue",
            "--slurm-no-account",
            "--slurm-init-seconds-before-status-checks", "2",
            "--seconds-between-status-checks", "2",
            "--max-threads", "2",
            "--jobs", "8",
            "--latency-wait", "5",
            "--retries", "0",
            # the smoke config pins the CPU; here GPU stages must ask SLURM for a GPU
            "--config", "compute={device: auto}",
        ]  # fmt: skip
        code, output = _run(command, repo, env, timeout=900)
        jobs = _jobs(env)
        subprocess.run(["scancel", "--user", "root"], env=env, check=False)
    assert code == 0, output[-4000:]
    findings = repo / "results/findings.md"
    assert findings.is_file() and "Q1" in findings.read_text()
    meta = json.loads((repo / "results/models/default/meta.json").read_text())
    assert meta["steps"] > 0 and meta["processes"] == 1  # trained inside a SLURM job
    assert jobs, "the controller saw no jobs: nothing was submitted through sbatch"
    gpu_jobs, cpu_jobs = set(), set()
    for job in jobs:
        rule = re.sub(r"^rule_([A-Za-z0-9_]+?)(_wildcards_.*)?$", r"\1", job.get("Comment", ""))
        gpus = job.get("TresPerJob", "")
        (gpu_jobs if "gpu:1" in gpus else cpu_jobs).add(rule)
    assert {"pretrain", "features_scenes", "synthetic_invariance"} <= gpu_jobs, jobs[:3]
    assert "downstream_probe" in cpu_jobs and not (gpu_jobs & {"downstream_probe", "findings"})
    logs = list((repo / "results/logs/slurm").rglob("*.log"))
    assert logs, "the profile's slurm-logdir holds no job logs"
