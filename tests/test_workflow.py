"""The Snakemake workflow end to end on configs/smoke.yaml, in a scratch working directory."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import BIN, REPO, tool_env

pytestmark = pytest.mark.workflow
SMOKE = REPO / "configs" / "smoke.yaml"


def snakemake(workdir: Path, *args: str, config: Path = SMOKE, timeout: int = 600):
    command = [
        str(BIN / "snakemake"),
        "-s",
        str(REPO / "Snakefile"),
        "-d",
        str(workdir),
        "--configfile",
        str(config),
        "--cores",
        "2",
        *args,
    ]
    return subprocess.run(command, env=tool_env(), capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory) -> Path:
    """Run the smoke workflow once; later tests read (and must not change) its outputs."""
    workdir = tmp_path_factory.mktemp("smoke")
    result = snakemake(workdir)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return workdir


def test_features_of_every_model_and_split(smoke_run):
    config = yaml.safe_load(SMOKE.read_text())
    models = [*config["pretrain"]["variants"], "random", "supervised"]
    scenes = config["datasets"]["scenes"]
    for model in models:
        meta = json.loads((smoke_run / f"results/models/{model}/meta.json").read_text())
        assert meta["backbone"]["width"] == 8
        for split, n in [
            ("train", scenes["train"]),
            ("test", scenes["test"]),
            ("groups_viewpoint", scenes["group_count"] * scenes["group_views"]),
        ]:
            feats = np.load(smoke_run / f"results/features/{model}/scenes/{split}.npy")
            targets = pd.read_csv(
                smoke_run / f"results/features/{model}/scenes/{split}.targets.csv"
            )
            assert feats.shape == (n, 64) and feats.dtype == np.float32
            assert np.isfinite(feats).all() and len(targets) == n
        digits = np.load(smoke_run / f"results/features/{model}/digits/test.npy")
        assert digits.shape[0] == 540
    # different variants are different networks
    a = np.load(smoke_run / "results/features/default/scenes/test.npy")
    b = np.load(smoke_run / "results/features/spatial/scenes/test.npy")
    assert not np.allclose(a, b)


def test_logs_benchmarks_and_contact_sheets(smoke_run):
    log = (smoke_run / "results/logs/pretrain/default.log").read_text()
    assert "img/s" in log and "ETA" in log
    assert (smoke_run / "results/benchmarks/pretrain/default.tsv").is_file()
    assert (smoke_run / "results/data/scenes/groups_viewpoint/contact_sheet.png").is_file()
    assert (smoke_run / "results/data/digits/train/contact_sheet.png").is_file()


def test_second_run_has_nothing_to_do(smoke_run):
    result = snakemake(smoke_run, "-n")
    assert result.returncode == 0, result.stderr
    assert "Nothing to be done" in result.stdout + result.stderr


def _write_config(tmp_path: Path, change) -> Path:
    config = yaml.safe_load(SMOKE.read_text())
    change(config)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_unknown_config_key_stops_the_dag(tmp_path):
    path = _write_config(tmp_path, lambda c: c["pretrain"].update(lerning_rate=0.1))
    result = snakemake(tmp_path, "-n", config=path)
    assert result.returncode != 0
    assert "unknown config key 'pretrain.lerning_rate'" in result.stdout + result.stderr


def test_missing_imagefolder_root_stops_the_dag(tmp_path):
    root = tmp_path / "no_such_folder"
    path = _write_config(
        tmp_path, lambda c: c["datasets"].update(mine={"kind": "imagefolder", "root": str(root)})
    )
    result = snakemake(tmp_path, "-n", config=path)
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
