"""Fusion, probe targets and tidy tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sslinv.errors import ConfigError
from sslinv.fusion import fuse, fuse_splits
from sslinv.invariance import synthetic_rows
from sslinv.targets import regression_targets


def test_fusion_dimension_is_the_sum_and_members_are_standardised():
    rng = np.random.default_rng(0)
    a_train, b_train = rng.normal(5, 3, (50, 4)), rng.normal(-2, 0.1, (50, 7))
    fused = fuse([a_train, b_train], [a_train, b_train])
    assert fused.shape == (50, 11) and fused.dtype == np.float32
    np.testing.assert_allclose(fused.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(fused.std(axis=0), 1, atol=1e-5)
    # other splits use the training statistics, not their own
    a_test = a_train[:5] + 3.0
    np.testing.assert_allclose(
        fuse([a_test], [a_train])[:, 0],
        (a_test[:, 0] - a_train[:, 0].mean()) / a_train[:, 0].std(),
        rtol=1e-5,
    )


def test_fuse_splits_writes_every_split(tmp_path):
    rng = np.random.default_rng(1)
    for member, dim in (("m1", 3), ("m2", 5)):
        for split in ("train", "test"):
            folder = tmp_path / member
            folder.mkdir(exist_ok=True)
            np.save(folder / f"{split}.npy", rng.normal(size=(6, dim)).astype(np.float32))
            pd.DataFrame({"label": range(6)}).to_csv(folder / f"{split}.targets.csv", index=False)
    fuse_splits([tmp_path / "m1", tmp_path / "m2"], ["train", "test"], tmp_path / "f")
    assert np.load(tmp_path / "f" / "test.npy").shape == (6, 8)
    assert (tmp_path / "f" / "test.targets.csv").read_text().startswith("label")


def test_circular_targets_are_sin_cos():
    latents = pd.DataFrame({"hue": [0.0, 0.25, 0.99], "x": [1.0, 2.0, 3.0]})
    y, names = regression_targets(latents, {"hue": 1.0, "x": None})
    assert names == ["hue_sin", "hue_cos", "x"]
    np.testing.assert_allclose(y[1], [1.0, 0.0, 2.0], atol=1e-12)
    # 0.99 and 0.0 are neighbours on the circle
    assert np.linalg.norm(y[2, :2] - y[0, :2]) == pytest.approx(2 * math.sin(math.pi * 0.01))


def test_unknown_target_column_is_named():
    with pytest.raises(ConfigError, match="target column 'nope'"):
        regression_targets(pd.DataFrame({"a": [1.0]}), {"nope": None})


def test_synthetic_rows_mean_excludes_identity():
    curve = pd.DataFrame(
        {"value": [0.0, 90.0, 180.0], "cosine": [1.0, 0.5, 0.3], "mahalanobis": [0.0, 2.0, 4.0]}
    )
    rows = synthetic_rows(curve, "spatial", "rotation", "spatial", identity=0.0)
    mean = rows[rows["statistic"] == "mean_excluding_identity"].set_index("metric")["score"]
    assert mean["cosine"] == pytest.approx(0.4) and mean["mahalanobis"] == pytest.approx(3.0)
    assert set(rows.columns) == {
        "model",
        "transform",
        "group",
        "statistic",
        "parameter",
        "metric",
        "score",
    }
    assert len(rows) == 8
