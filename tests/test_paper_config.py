"""configs/paper.yaml: the full paper DAG is planned from dataset roots under one data_root."""

from __future__ import annotations

import re
import subprocess

import yaml

from tests.conftest import BIN, REPO, tool_env
from tests.test_workflow import copy_repo

PAPER = REPO / "configs/paper.yaml"


def paper_roots(data_root):
    """Every dataset folder and the imported checkpoint, where paper.yaml expects them."""
    config = yaml.safe_load(PAPER.read_text())
    for spec in config["datasets"].values():
        (data_root / spec["root"]).mkdir(parents=True, exist_ok=True)
    for spec in config["import"].values():
        (data_root / spec["path"]).parent.mkdir(parents=True, exist_ok=True)
        (data_root / spec["path"]).write_bytes(b"checkpoint")
    return config


def plan(repo, *args) -> tuple[int, str]:
    env = {**tool_env(), "PYTHONPATH": str(repo / "src")}
    done = subprocess.run(
        [str(BIN / "snakemake"), "-n", "--configfile", "configs/paper.yaml", *args],
        cwd=repo, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


def test_paper_dag_has_every_stage_for_every_model(tmp_path):
    repo = copy_repo(tmp_path / "repo")
    config = paper_roots(tmp_path / "data")
    code, text = plan(repo, "--config", f"data_root={tmp_path / 'data'}")
    assert code == 0, text[-3000:]
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", text.split("Job stats:")[1], re.M))
    models = 3 + 1 + 1  # default, spatial, appearance; random; imported supervised
    fusions, datasets = len(config["fusion"]), len(config["datasets"])
    assert int(jobs["pretrain"]) == 4 and int(jobs["import_model"]) == 1
    assert all(int(jobs[f"prepare_{name}"]) == 1 for name in config["datasets"])
    assert sum(int(n) for r, n in jobs.items() if r.startswith("features_")) == models * datasets
    assert int(jobs["synthetic_invariance"]) == models * 18
    assert int(jobs["realworld_invariance"]) == models * len(config["invariance"]["realworld"])
    assert int(jobs["downstream_probe"]) == (models + fusions) * len(config["downstream"])
    assert int(jobs["extrinsic_invariance"]) == models + fusions
    assert int(jobs["findings"]) == 1 and int(jobs["figure1"]) == 2


def test_paper_config_names_the_missing_dataset_folder(tmp_path):
    repo = copy_repo(tmp_path / "repo")
    paper_roots(tmp_path / "data")
    (tmp_path / "data" / "lsp").rmdir()
    code, text = plan(repo, "--config", f"data_root={tmp_path / 'data'}")
    assert code != 0
    assert f"'{tmp_path / 'data' / 'lsp'}' of dataset 'lsp'" in text
    assert "sam.johnson.io" in text or "Leeds" in text or "lsp" in text.lower()
