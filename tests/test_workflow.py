"""The Snakemake workflow end to end on configs/smoke.yaml.

The smoke run happens once per session in a scratch copy of the repository (its own
``src/`` first on PYTHONPATH), so the rerun tests can edit package modules and configs there
without touching the working tree, and then ask ``snakemake -n`` what it would redo.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import BIN, REPO, tool_env

pytestmark = pytest.mark.workflow
# Figures and findings read the tables, so whatever reruns a table reruns them too.
DOWNSTREAM_OF_TABLES = {"figure1", "transform_curves", "invariance_vs_performance", "findings"}
COPIED = ("Snakefile", "config.yaml", "configs", "workflow", "profiles", "envs", "src")


def copy_repo(target: Path) -> Path:
    """The workflow's files in a scratch folder (its own src/ goes first on PYTHONPATH)."""
    target.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / name)
    return target


def snakemake(repo: Path, *args: str, config: str = "configs/smoke.yaml", timeout: int = 900):
    env = tool_env()
    env["PYTHONPATH"] = str(repo / "src")
    command = [str(BIN / "snakemake"), "--configfile", config, "--cores", "2", *args]
    return subprocess.run(
        command, cwd=repo, env=env, capture_output=True, text=True, timeout=timeout
    )


def planned(repo: Path, *args: str, **kw) -> dict[str, int]:
    """Rule -> job count that `snakemake -n` would run (empty when nothing is to be done)."""
    result = snakemake(repo, "-n", *args, **kw)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    text = result.stdout + result.stderr
    if "Nothing to be done" in text:
        return {}
    table = text.split("Job stats:")[1].split("\n\n")[0]
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", table, re.M))
    jobs.pop("total", None)
    jobs.pop("all", None)
    return {rule: int(n) for rule, n in jobs.items()}


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory) -> Path:
    """Copy the repository and run the smoke workflow in it once."""
    repo = copy_repo(tmp_path_factory.mktemp("repo"))
    result = snakemake(repo)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return repo


def test_features_of_every_model_and_split(smoke_run):
    config = yaml.safe_load((smoke_run / "configs/smoke.yaml").read_text())
    models = [*config["pretrain"]["variants"], "random"]
    scenes = config["datasets"]["scenes"]
    for model in models:
        meta = json.loads((smoke_run / f"results/models/{model}/meta.json").read_text())
        assert meta["backbone"]["width"] == 8
        for split, n in [
            ("train", scenes["train"]),
            ("test", scenes["test"]),
            ("groups_viewpoint", scenes["group_count"] * scenes["group_views"]),
        ]:
            folder = smoke_run / f"results/features/{model}/scenes"
            feats = np.load(folder / f"{split}.npy")
            targets = pd.read_csv(folder / f"{split}.targets.csv")
            assert feats.shape == (n, 64) and feats.dtype == np.float32
            assert np.isfinite(feats).all() and len(targets) == n
        assert np.load(smoke_run / f"results/features/{model}/digits/test.npy").shape[0] == 540
    a = np.load(smoke_run / "results/features/default/scenes/test.npy")
    b = np.load(smoke_run / "results/features/spatial/scenes/test.npy")
    assert not np.allclose(a, b)  # different variants are different networks


def test_tables_are_tidy_and_complete(smoke_run):
    config = yaml.safe_load((smoke_run / "configs/smoke.yaml").read_text())
    models = [*config["pretrain"]["variants"], "random"]
    evaluated = models + list(config["fusion"])
    tables = smoke_run / "results/tables"
    synthetic = pd.read_csv(tables / "synthetic_invariance.csv")
    means = synthetic[synthetic["statistic"] == "mean_excluding_identity"]
    assert len(means) == len(models) * len(config["invariance"]["synthetic"]["transforms"]) * 2
    identity = synthetic[(synthetic["transform"] == "rotation") & (synthetic["parameter"] == 0)]
    np.testing.assert_allclose(identity.query("metric == 'cosine'")["score"], 1.0, atol=1e-6)
    realworld = pd.read_csv(tables / "realworld_invariance.csv")
    assert set(realworld["factor"]) == set(config["invariance"]["realworld"])
    extrinsic = pd.read_csv(tables / "extrinsic.csv")
    assert set(extrinsic["model"]) == set(evaluated)
    first = extrinsic[extrinsic["model"] == evaluated[0]]
    assert list(first["latent"]) == list(config["extrinsic"]["latents"])  # config order
    downstream = pd.read_csv(tables / "downstream.csv")
    assert len(downstream) == len(evaluated) * len(config["downstream"])
    fused = np.load(smoke_run / "results/features/def+spa+app/scenes/test.npy")
    assert fused.shape[1] == 3 * 64  # fusion dimension is the sum of its members'


def test_logs_benchmarks_and_contact_sheets(smoke_run):
    log = (smoke_run / "results/logs/pretrain/default.log").read_text()
    assert "img/s" in log and "ETA" in log
    assert (smoke_run / "results/benchmarks/pretrain/default.tsv").is_file()
    assert (smoke_run / "results/data/scenes/groups_viewpoint/contact_sheet.png").is_file()
    assert (smoke_run / "results/data/digits/train/contact_sheet.png").is_file()


def test_second_run_has_nothing_to_do(smoke_run):
    assert planned(smoke_run) == {}


def test_touching_a_module_reruns_nothing(smoke_run):
    module = smoke_run / "src/sslinv/probes.py"
    os.utime(module)
    assert planned(smoke_run) == {}


def planned_after_edit(repo: Path, module: str) -> dict[str, int]:
    """What `snakemake -n` would rerun after a real (comment-only) edit of a package module."""
    path = repo / "src/sslinv" / module
    original = path.read_text()
    path.write_text(original + "\n# edited by a test\n")
    try:
        return planned(repo)
    finally:
        path.write_text(original)


def test_editing_the_table_module_reruns_only_tables(smoke_run):
    jobs = planned_after_edit(smoke_run, "tables.py")
    assert set(jobs) == {
        "table_synthetic_invariance",
        "table_realworld_invariance",
        "table_extrinsic",
        "table_downstream",
        *DOWNSTREAM_OF_TABLES,
    }


def test_editing_the_probe_module_reruns_probes_and_tables_only(smoke_run):
    jobs = planned_after_edit(smoke_run, "probes.py")
    assert {
        "downstream_probe",
        "extrinsic_invariance",
        "table_downstream",
        "table_extrinsic",
    } <= set(jobs)
    assert not {"pretrain", "features_scenes", "prepare_scenes", "synthetic_invariance"} & set(jobs)


def test_editing_the_figure_module_reruns_only_figures(smoke_run):
    jobs = planned_after_edit(smoke_run, "figures.py")
    assert set(jobs) == {"figure1", "transform_curves", "invariance_vs_performance"}


def test_changing_a_probe_setting_reruns_probes_only(smoke_run):
    config = yaml.safe_load((smoke_run / "configs/smoke.yaml").read_text())
    config["probes"]["seed"] = 1
    (smoke_run / "configs/changed.yaml").write_text(yaml.safe_dump(config))
    jobs = planned(smoke_run, config="configs/changed.yaml")
    assert set(jobs) == {
        "downstream_probe",
        "extrinsic_invariance",
        "table_downstream",
        "table_extrinsic",
        *DOWNSTREAM_OF_TABLES,
    }


def _write_config(repo: Path, change) -> str:
    config = yaml.safe_load((repo / "configs/smoke.yaml").read_text())
    change(config)
    (repo / "configs/bad.yaml").write_text(yaml.safe_dump(config))
    return "configs/bad.yaml"


def test_unknown_config_key_stops_the_dag(smoke_run):
    path = _write_config(smoke_run, lambda c: c["pretrain"].update(lerning_rate=0.1))
    result = snakemake(smoke_run, "-n", config=path)
    assert result.returncode != 0
    assert "unknown config key 'pretrain.lerning_rate'" in result.stdout + result.stderr


def test_missing_imagefolder_root_stops_the_dag(smoke_run, tmp_path):
    root = tmp_path / "no_such_folder"
    path = _write_config(
        smoke_run, lambda c: c["datasets"].update(mine={"kind": "imagefolder", "root": str(root)})
    )
    result = snakemake(smoke_run, "-n", config=path)
    assert result.returncode != 0
    assert f"imagefolder root '{root}' of dataset 'mine' does not exist" in (
        result.stdout + result.stderr
    )


def test_missing_checkpoint_is_a_clear_cli_error(tmp_path):
    result = subprocess.run(
        [
            str(BIN / "sslinv"),
            "features",
            "--model",
            str(tmp_path / "results/models/nope"),
            "--data",
            str(tmp_path),
            "--splits",
            "test",
            "--out",
            str(tmp_path / "f"),
        ],
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "sslinv features: error: checkpoint file" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_imported_checkpoint_is_evaluated_like_a_trained_model(smoke_run):
    """import: converts a checkpoint into a model folder that features and probes pick up."""
    source = "results/models/random/encoder.safetensors"
    config = yaml.safe_load((smoke_run / "configs/smoke.yaml").read_text())
    config["import"] = {"copied": {"path": source, "format": "sslinv"}}
    (smoke_run / "configs/imported.yaml").write_text(yaml.safe_dump(config))
    target = "results/probes/copied/downstream/digits.json"
    jobs = planned(smoke_run, target, config="configs/imported.yaml")
    assert jobs == {"import_model": 1, "features_digits": 1, "downstream_probe": 1}
    result = snakemake(smoke_run, target, config="configs/imported.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    meta = json.loads((smoke_run / "results/models/copied/meta.json").read_text())
    assert meta["kind"] == "imported" and meta["format"] == "sslinv"
    for split in ("train", "test"):
        imported = np.load(smoke_run / f"results/features/copied/digits/{split}.npy")
        original = np.load(smoke_run / f"results/features/random/digits/{split}.npy")
        np.testing.assert_array_equal(imported, original)
