"""Tests of the procedural scenes: the embedded default's data must be deterministic, have
known latents that really drive the image (and only the ones they should), and classes that
can be told apart."""

from __future__ import annotations

import colorsys
import math

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from sslinv import scenes
from sslinv.sheets import contact_sheet

N_CLASSES = len(scenes.CLASS_NAMES)


def canonical(label_count: int = N_CLASSES) -> pd.DataFrame:
    """One centred, untilted scene per class at yaw 0."""
    frame = scenes.sample_latents(1, 0).iloc[[0] * label_count].reset_index(drop=True)
    frame["label"] = np.arange(label_count)
    frame[["pos_x", "pos_y", "rot_yaw", "rot_pitch", "rot_roll"]] = 0.0
    return frame


def test_public_constants() -> None:
    assert len(scenes.CLASS_NAMES) >= 7
    assert len(set(scenes.CLASS_NAMES)) == len(scenes.CLASS_NAMES)
    assert scenes.LATENT_COLUMNS[0] == "label"
    assert scenes.FACTORS == ("viewpoint", "light_hue", "light_direction")


def test_sample_latents_deterministic_and_in_range() -> None:
    a = scenes.sample_latents(500, 3)
    pd.testing.assert_frame_equal(a, scenes.sample_latents(500, 3))
    assert not a.equals(scenes.sample_latents(500, 4))
    assert tuple(a.columns) == scenes.LATENT_COLUMNS
    assert a["label"].dtype.kind == "i"
    assert set(a["label"]) == set(range(N_CLASSES))
    for name, (lo, hi) in scenes.LATENT_RANGES.items():
        assert a[name].between(lo, hi).all(), name
        assert a[name].max() < hi
    assert a["rot_pitch"].abs().max() <= math.pi / 6
    assert a["light_elevation"].min() >= math.pi / 8
    assert a["light_elevation"].max() <= math.pi / 2 - 0.1
    assert len(scenes.sample_latents(0, 1)) == 0


def test_render_deterministic_shapes_and_batch_independent() -> None:
    lat = scenes.sample_latents(40, 11)
    img = scenes.render(lat, 32)
    assert img.shape == (40, 32, 32, 3) and img.dtype == np.uint8
    assert np.array_equal(img, scenes.render(lat, 32))
    # An image depends on its own latents only, not on the batch it was drawn in.
    assert np.array_equal(img, scenes.render(lat, 32, batch_size=7))
    assert np.array_equal(img[5:6], scenes.render(lat.iloc[5:6], 32))
    other = scenes.render(scenes.sample_latents(40, 12), 32)
    assert not np.array_equal(img, other)
    assert img.min() < 40 and img.max() > 200  # not washed out, not black
    small = scenes.render(lat.iloc[:3], 17, antialias=1)
    assert small.shape == (3, 17, 17, 3)
    mask = scenes.object_mask(lat, 24)
    assert mask.shape == (40, 24, 24) and mask.dtype == bool


def test_objects_are_large() -> None:
    mask = scenes.object_mask(scenes.sample_latents(64, 0), 32)
    coverage = mask.mean(axis=(1, 2))
    assert 0.25 <= coverage.mean() <= 0.95
    assert coverage.min() > 0.05  # every object is visible
    rows, cols = mask.any(axis=2), mask.any(axis=1)
    extent = np.maximum(rows.sum(1), cols.sum(1)) / 32
    assert 0.6 <= extent.mean() <= 0.9  # largest extent fills 60-90% of the frame


@pytest.mark.parametrize(
    "column, change",
    [
        ("light_hue", lambda x: (x + 0.5) % 1.0),
        ("object_hue", lambda x: (x + 0.4) % 1.0),
        ("background_hue", lambda x: (x + 0.5) % 1.0),
        ("light_azimuth", lambda x: (x + math.pi) % (2 * math.pi)),
        ("light_elevation", lambda x: np.where(x > 1.0, 0.45, 1.4)),
    ],
)
def test_appearance_changes_image_not_mask(column: str, change) -> None:
    lat = scenes.sample_latents(16, 5)
    changed = lat.copy()
    changed[column] = change(lat[column].to_numpy())
    assert np.array_equal(scenes.object_mask(lat, 32), scenes.object_mask(changed, 32))
    a, b = scenes.render(lat, 32), scenes.render(changed, 32)
    differs = (a != b).reshape(len(lat), -1).any(axis=1)
    assert differs.all(), column


def test_geometry_changes_mask() -> None:
    lat = scenes.sample_latents(16, 5)
    base = scenes.object_mask(lat, 32)
    for column, delta in [("pos_x", 0.5), ("pos_y", 0.5), ("rot_pitch", 0.4), ("rot_roll", 0.4)]:
        moved = lat.copy()
        x = lat[column].to_numpy()
        moved[column] = np.where(x > 0, x - delta, x + delta)  # stays in range
        diff = (scenes.object_mask(moved, 32) != base).reshape(len(lat), -1).any(axis=1)
        assert diff.mean() >= 0.9, column


def test_every_class_is_asymmetric() -> None:
    lat = canonical()
    at_zero = scenes.object_mask(lat, 32)
    turned = lat.copy()
    turned["rot_yaw"] = math.pi
    at_pi = scenes.object_mask(turned, 32)
    for k, name in enumerate(scenes.CLASS_NAMES):
        assert at_zero[k].any(), name
        assert (at_zero[k] != at_pi[k]).sum() > 0, f"{name}: yaw 0 and pi look the same"
    mirrored = [(at_zero[k] != at_zero[k][:, ::-1]).sum() > 0 for k in range(N_CLASSES)]
    assert sum(mirrored) >= N_CLASSES - 1
    # Yaw is recoverable over the full circle: no quarter-turn symmetry either.
    quarter = lat.copy()
    quarter["rot_yaw"] = math.pi / 2
    at_quarter = scenes.object_mask(quarter, 32)
    assert all((at_zero[k] != at_quarter[k]).any() for k in range(N_CLASSES))


def test_classes_differ() -> None:
    # Same poses for every class, so differences come from the shapes alone.
    poses = scenes.sample_latents(24, 9)
    frames = []
    for k in range(N_CLASSES):
        f = poses.copy()
        f["label"] = k
        frames.append(f)
    masks = scenes.object_mask(pd.concat(frames, ignore_index=True), 32).astype(np.float64)
    masks = masks.reshape(N_CLASSES, len(poses), 32, 32)
    per_pose = np.abs(masks[:, None] - masks[None]).mean(axis=(3, 4))  # (K, K, poses)
    off_diagonal = ~np.eye(N_CLASSES, dtype=bool)
    assert (per_pose.mean(axis=2)[off_diagonal] > 0.05).all()
    means = masks.mean(axis=1)
    distance = np.abs(means[:, None] - means[None]).mean(axis=(2, 3))
    assert (distance[off_diagonal] > 0.01).all()


@pytest.mark.parametrize(
    "factor, column, period",
    [
        ("viewpoint", "rot_yaw", 2 * math.pi),
        ("light_hue", "light_hue", 1.0),
        ("light_direction", "light_azimuth", 2 * math.pi),
    ],
)
def test_factor_groups_vary_one_column(factor: str, column: str, period: float) -> None:
    views = 6
    groups = scenes.factor_groups(5, views, factor, seed=2)
    assert list(groups.columns) == ["group", *scenes.LATENT_COLUMNS]
    assert len(groups) == 5 * views and groups["group"].dtype.kind == "i"
    pd.testing.assert_frame_equal(groups, scenes.factor_groups(5, views, factor, seed=2))
    for _, g in groups.groupby("group"):
        assert len(g) == views
        for name in scenes.LATENT_COLUMNS:
            expected = views if name == column else 1
            assert g[name].nunique() == expected, (factor, name)
        values = np.sort(g[column].to_numpy())
        assert values.min() >= 0 and values.max() < period
        gaps = np.diff(np.concatenate([values, values[:1] + period]))
        np.testing.assert_allclose(gaps, period / views, atol=1e-9)
    images = scenes.render(groups.iloc[:views], 16, antialias=1)
    assert len({im.tobytes() for im in images}) == views


def test_factor_groups_unknown_factor() -> None:
    with pytest.raises(ValueError, match="zoom") as info:
        scenes.factor_groups(2, 3, "zoom", seed=0)
    assert "viewpoint" in str(info.value)


def test_bad_latents_raise_clear_errors() -> None:
    lat = scenes.sample_latents(3, 0)
    with pytest.raises(ValueError, match="light_hue"):
        scenes.render(lat.drop(columns="light_hue"), 16)
    bad = lat.copy()
    bad["label"] = N_CLASSES
    with pytest.raises(ValueError, match="label"):
        scenes.object_mask(bad, 16)


def test_hsv_to_rgb_matches_colorsys() -> None:
    h = torch.tensor([0.0, 0.1, 0.33, 0.5, 0.71, 0.95])
    rgb = scenes.hsv_to_rgb(h, 0.8, 0.9)
    expected = [colorsys.hsv_to_rgb(float(x), 0.8, 0.9) for x in h]
    np.testing.assert_allclose(rgb.numpy(), np.array(expected), atol=1e-6)


def test_contact_sheet(tmp_path) -> None:
    images = scenes.render(scenes.sample_latents(20, 1), 32, antialias=1)
    path = tmp_path / "sheet.png"
    names = [scenes.CLASS_NAMES[k] for k in scenes.sample_latents(20, 1)["label"]]
    contact_sheet(images, path, columns=8, scale=2, labels=names)
    with Image.open(path) as sheet:
        assert sheet.format == "PNG"
        assert sheet.size == (8 * 64, 3 * 64)
    assert [p.name for p in tmp_path.iterdir()] == ["sheet.png"]  # no temporary left behind
    # At most columns x columns images are drawn.
    contact_sheet(images, path, columns=2, scale=1)
    with Image.open(path) as sheet:
        assert sheet.size == (64, 64)
        tile = np.asarray(sheet)[:32, :32]
    assert np.array_equal(tile, images[0])
