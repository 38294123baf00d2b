"""COIL-100, ALOI and Causal3DIdent adapters on tiny trees in their published layouts."""

from __future__ import annotations

import io
import logging
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sslinv.errors import ConfigError, DatasetError
from sslinv.sources import aloi, causal3dident, coil100


def png_bytes() -> bytes:
    """One real 2 x 2 PNG, written under every name (decoding is not the adapters' job)."""
    buffer = io.BytesIO()
    Image.new("RGB", (2, 2), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


PNG = png_bytes()


def write_png(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(PNG)
    return path


# ------------------------------------------------------------------------------- COIL-100

COIL = {"kind": "coil100", "objects": None, "views_per_group": None, "seed": 0}
ALL_ANGLES = list(range(0, 360, 5))


@pytest.fixture
def coil_root(tmp_path) -> Path:
    """obj1: all 72 views; obj2: three views; obj3: one view (dropped); plus the zip's script."""
    folder = tmp_path / "coil-100"
    for angle in ALL_ANGLES:
        write_png(folder / f"obj1__{angle}.png")
    for angle in (10, 0, 355):
        write_png(folder / f"obj2__{angle}.png")
    write_png(folder / "obj3__0.png")
    (folder / "convertGroupppm2png.pl").write_text("#!/usr/bin/perl\n")
    return tmp_path


def test_coil_groups_are_objects_sorted_by_angle(coil_root, caplog):
    with caplog.at_level(logging.WARNING):
        source = coil100.read(coil_root, "groups_viewpoint", COIL)
    latents = source.latents
    assert list(latents.columns) == ["group", "label", "angle"]
    assert len(source) == 72 + 3
    assert latents["group"].tolist() == [0] * 72 + [1] * 3
    assert latents["label"].tolist() == [0] * 72 + [1] * 3  # object number - 1
    assert latents["angle"].tolist() == [*ALL_ANGLES, 0, 10, 355]  # numeric, not by file name
    assert latents.dtypes.map(str).tolist() == ["int64"] * 3
    assert [p.name for p in source.paths[:3]] == ["obj1__0.png", "obj1__5.png", "obj1__10.png"]
    assert source.paths[-1].name == "obj2__355.png"
    assert "object 3" in caplog.text  # the lone view is dropped, loudly


def test_coil_accepts_the_folder_itself_and_rejects_unknown_splits(coil_root):
    parent = coil100.read(coil_root, "groups_viewpoint", COIL)
    itself = coil100.read(coil_root / "coil-100", "groups_viewpoint", COIL)
    assert parent.latents.equals(itself.latents) and parent.paths == itself.paths
    assert coil100.splits(COIL) == ["groups_viewpoint"]
    with pytest.raises(DatasetError, match="no split 'train'"):
        coil100.read(coil_root, "train", COIL)


def test_coil_views_per_group_are_evenly_spaced_and_seeded(coil_root):
    spec = {**COIL, "views_per_group": 12}
    first = coil100.read(coil_root, "groups_viewpoint", spec).latents
    again = coil100.read(coil_root, "groups_viewpoint", spec).latents
    assert first.equals(again)
    obj1 = first.loc[first["label"] == 0, "angle"].to_numpy()
    assert len(obj1) == 12
    assert set(np.diff(np.append(obj1, obj1[0] + 360))) == {30}  # spans the whole circle
    assert first.loc[first["label"] == 1, "angle"].tolist() == [0, 10, 355]  # fewer: all kept
    starts = {
        coil100.read(coil_root, "groups_viewpoint", {**spec, "seed": s}).latents["angle"].iloc[0]
        for s in range(8)
    }
    assert len(starts) > 1  # the seed moves the start, it is not always 0 degrees


def test_coil_object_selection(coil_root):
    source = coil100.read(coil_root, "groups_viewpoint", {**COIL, "objects": [2]})
    assert source.latents["group"].tolist() == [0, 0, 0]
    assert source.latents["label"].tolist() == [1, 1, 1]
    with pytest.raises(DatasetError, match=r"obj7__0\.png"):
        coil100.read(coil_root, "groups_viewpoint", {**COIL, "objects": [1, 7]})
    with pytest.raises(DatasetError, match="no object has 2 or more angle views"):
        coil100.read(coil_root, "groups_viewpoint", {**COIL, "objects": [3]})


def test_coil_warns_about_png_files_off_the_pattern(coil_root, caplog):
    write_png(coil_root / "coil-100" / "obj1_0.png")
    with caplog.at_level(logging.WARNING):
        source = coil100.read(coil_root, "groups_viewpoint", COIL)
    assert len(source) == 75
    assert "obj1_0.png" in caplog.text


def test_coil_errors_name_the_file(tmp_path, coil_root):
    with pytest.raises(DatasetError, match=r"coil-100.*columbia"):
        coil100.read(tmp_path / "nowhere", "groups_viewpoint", COIL)
    empty = tmp_path / "empty" / "coil-100"
    empty.mkdir(parents=True)
    with pytest.raises(DatasetError, match="no images named"):
        coil100.read(empty.parent, "groups_viewpoint", COIL)
    write_png(coil_root / "coil-100" / "obj1__05.png")
    with pytest.raises(
        DatasetError, match=r"obj1__05\.png' and '.*obj1__5\.png' are the same view"
    ):
        coil100.read(coil_root, "groups_viewpoint", COIL)
    (coil_root / "coil-100" / "obj1__05.png").unlink()
    write_png(coil_root / "coil-100" / "obj2__360.png")
    with pytest.raises(DatasetError, match=r"obj2__360\.png' is malformed"):
        coil100.read(coil_root, "groups_viewpoint", COIL)


# ------------------------------------------------------------------------------------ ALOI

ALOI = {
    "kind": "aloi",
    "factors": ["viewpoint", "illumination_colour", "illumination_direction"],
    "objects": None,
    "max_objects": None,
    "views_per_group": None,
    "camera": 1,
    "view_folder": "aloi_red4_view",
    "colour_folder": "aloi_red4_col",
    "illumination_folder": "aloi_red4_ill",
    "png_folder": "png4",
    "seed": 0,
}
ANGLES = [0, 5, 10, 100, 355]
CODES = [110, 120, 190, 210, 250]


@pytest.fixture
def aloi_root(tmp_path) -> Path:
    """Views in their own ``aloi_red4_view/png4``; colour, light and stereo tars merged in ``png4``.

    Objects 1..4; object 4 has a single view (dropped from viewpoint groups).
    """
    for obj in (1, 2, 3):
        for angle in ANGLES:
            write_png(tmp_path / "aloi_red4_view" / "png4" / str(obj) / f"{obj}_r{angle}.png")
        merged = tmp_path / "png4" / str(obj)
        for code in CODES:
            write_png(merged / f"{obj}_i{code}.png")
        for light in range(1, 9):
            for camera in (1, 2, 3):
                write_png(merged / f"{obj}_l{light}c{camera}.png")
        for side in ("c", "l", "r"):  # aloi_red4_stereo, extracted into the same png4/
            write_png(merged / f"{obj}_{side}.png")
    write_png(tmp_path / "aloi_red4_view" / "png4" / "4" / "4_r0.png")
    return tmp_path


def test_aloi_splits_follow_the_factors_option():
    assert aloi.splits(ALOI) == [
        "groups_viewpoint",
        "groups_illumination_colour",
        "groups_illumination_direction",
    ]
    assert aloi.splits({**ALOI, "factors": ["illumination_direction"]}) == [
        "groups_illumination_direction"
    ]
    with pytest.raises(ConfigError, match="no factor 'pose'"):
        aloi.splits({**ALOI, "factors": ["pose"]})


def test_aloi_viewpoint_groups(aloi_root):
    source = aloi.read(aloi_root, "groups_viewpoint", ALOI)
    latents = source.latents
    assert list(latents.columns) == ["group", "label", "angle"]
    assert latents["group"].tolist() == [0] * 5 + [1] * 5 + [2] * 5
    assert latents["label"].tolist() == [0] * 5 + [1] * 5 + [2] * 5
    assert latents["angle"].tolist() == ANGLES * 3
    assert [p.name for p in source.paths[:5]] == [f"1_r{a}.png" for a in ANGLES]
    assert all(
        p.parent.name == str(label + 1)
        for p, label in zip(source.paths, latents["label"], strict=True)
    )


def test_aloi_colour_groups_from_a_merged_png4(aloi_root):
    source = aloi.read(aloi_root, "groups_illumination_colour", ALOI)
    assert list(source.latents.columns) == ["group", "label", "colour_temperature"]
    assert source.latents["colour_temperature"].tolist() == CODES * 3
    assert source.paths[0] == aloi_root / "png4" / "1" / "1_i110.png"


def test_aloi_direction_groups_hold_one_camera(aloi_root):
    source = aloi.read(aloi_root, "groups_illumination_direction", {**ALOI, "camera": 2})
    latents = source.latents
    assert list(latents.columns) == ["group", "label", "light", "camera"]
    assert len(source) == 3 * 8
    assert latents["light"].tolist() == list(range(1, 9)) * 3
    assert set(latents["camera"]) == {2}
    assert all(p.name.endswith("c2.png") for p in source.paths)


def test_aloi_object_selection_is_seeded_and_shared_by_factors(aloi_root):
    spec = {**ALOI, "max_objects": 2}
    view = aloi.read(aloi_root, "groups_viewpoint", spec).latents
    colour = aloi.read(aloi_root, "groups_illumination_colour", spec).latents
    assert view["label"].nunique() == 2
    assert set(view["label"]) == set(colour["label"])  # the same objects for every factor
    assert view.equals(aloi.read(aloi_root, "groups_viewpoint", spec).latents)
    picks = {
        tuple(
            sorted(
                set(aloi.read(aloi_root, "groups_viewpoint", {**spec, "seed": s}).latents["label"])
            )
        )
        for s in range(6)
    }
    assert len(picks) > 1
    chosen = aloi.read(aloi_root, "groups_viewpoint", {**ALOI, "objects": [3, 1]}).latents
    assert chosen["label"].unique().tolist() == [0, 2]
    assert chosen["group"].unique().tolist() == [0, 1]


def test_aloi_views_per_group(aloi_root):
    spec = {**ALOI, "views_per_group": 2}
    latents = aloi.read(aloi_root, "groups_illumination_direction", spec).latents
    assert latents.groupby("group").size().tolist() == [2, 2, 2]
    for _, group in latents.groupby("group"):
        assert abs(int(np.diff(group["light"])[0])) == 4  # half of the 8 lights apart


def test_aloi_errors_name_the_file(tmp_path, aloi_root):
    with pytest.raises(DatasetError, match=r"aloi_red4_view.*png4.*aloi\.science\.uva\.nl"):
        aloi.read(tmp_path / "nowhere", "groups_viewpoint", ALOI)
    with pytest.raises(DatasetError, match=r"object 9"):
        aloi.read(aloi_root, "groups_viewpoint", {**ALOI, "objects": [1, 9]})
    with pytest.raises(DatasetError, match=r"1_l1c4\.png"):  # ALOI has cameras c1..c3 only
        aloi.read(aloi_root, "groups_illumination_direction", {**ALOI, "camera": 4})
    with pytest.raises(DatasetError, match="no split 'groups_viewpoint'"):
        aloi.read(aloi_root, "groups_viewpoint", {**ALOI, "factors": ["illumination_colour"]})
    write_png(aloi_root / "aloi_red4_view" / "png4" / "2" / "3_r0.png")
    with pytest.raises(DatasetError, match=r"3_r0\.png' is malformed"):
        aloi.read(aloi_root, "groups_viewpoint", ALOI)


# --------------------------------------------------------------------------- Causal3DIdent

CAUSAL = {"kind": "causal3dident", "max_per_class": None, "latents_file": "raw_latents", "seed": 0}


def class_latents(k: int, n: int, sign: float = 1.0) -> np.ndarray:
    """Row j of class k: pos_x = sign * (100 k + j), the other columns 0.01 .. 0.09 above it."""
    base = sign * (100.0 * k + np.arange(n, dtype=np.float64))
    return base[:, None] + np.arange(10) / 100.0


def write_causal_split(folder: Path, sizes: list[int]) -> None:
    """The authors' layout: images_{k}/{j zero-padded to ceil(log10 N)}.png + two latent files."""
    for k, n in enumerate(sizes):
        width = math.ceil(math.log10(n))
        for j in range(n):
            write_png(folder / f"images_{k}" / f"{str(j).zfill(width)}.png")
        np.save(folder / f"raw_latents_{k}.npy", class_latents(k, n))
        np.save(folder / f"latents_{k}.npy", class_latents(k, n, sign=-1.0))


TRAIN_SIZES = [12, 3, 3, 3, 3, 3, 3]


@pytest.fixture
def causal_root(tmp_path) -> Path:
    write_causal_split(tmp_path / "trainset", TRAIN_SIZES)
    write_causal_split(tmp_path / "testset", [2] * 7)
    return tmp_path


def test_causal3dident_rows_pair_each_image_with_its_latents(causal_root):
    source = causal3dident.read(causal_root, "train", CAUSAL)
    latents = source.latents
    assert list(latents.columns) == ["label", "class_name", *causal3dident.LATENT_COLUMNS]
    assert len(source) == sum(TRAIN_SIZES)
    assert latents["label"].tolist() == [k for k, n in enumerate(TRAIN_SIZES) for _ in range(n)]
    assert latents["label"].dtype == np.int64
    assert latents["class_name"].iloc[0] == "teapot" and latents["class_name"].iloc[-1] == "head"
    for path, (_, row) in zip(source.paths, latents.iterrows(), strict=True):
        assert path.parent.name == f"images_{row['label']}"
        assert int(path.stem) == row["pos_x"] - 100 * row["label"]  # image j <-> latent row j
    assert source.paths[0].name == "00.png" and source.paths[11].name == "11.png"
    assert latents["background_hue"].iloc[0] == pytest.approx(0.09)


def test_causal3dident_test_split_and_latents_file(causal_root):
    test = causal3dident.read(causal_root, "test", CAUSAL)
    assert len(test) == 14
    assert all(p.parent.parent.name == "testset" for p in test.paths)
    other = causal3dident.read(causal_root, "train", {**CAUSAL, "latents_file": "latents"})
    assert other.latents["pos_x"].iloc[13] == -101.0  # class 1, image 1, from latents_1.npy
    assert causal3dident.splits(CAUSAL) == ["train", "test"]
    with pytest.raises(DatasetError, match="no split 'val'"):
        causal3dident.read(causal_root, "val", CAUSAL)


def test_causal3dident_max_per_class_is_a_seeded_subset(causal_root):
    spec = {**CAUSAL, "max_per_class": 2}
    full = causal3dident.read(causal_root, "train", CAUSAL)
    part = causal3dident.read(causal_root, "train", spec)
    assert part.latents.groupby("label").size().tolist() == [2] * 7
    assert part.latents.equals(causal3dident.read(causal_root, "train", spec).latents)
    assert set(part.paths) <= set(full.paths)
    teapot = [int(p.stem) for p in part.paths[:2]]
    assert teapot == sorted(teapot)  # kept in file order
    draws = {
        tuple(causal3dident.read(causal_root, "train", {**spec, "seed": s}).latents["pos_x"][:2])
        for s in range(6)
    }
    assert len(draws) > 1


def test_causal3dident_errors_name_the_file(tmp_path, causal_root):
    with pytest.raises(DatasetError, match=r"trainset.*zenodo"):
        causal3dident.read(tmp_path / "nowhere", "train", CAUSAL)
    np.save(causal_root / "testset" / "raw_latents_1.npy", class_latents(1, 3))
    with pytest.raises(
        DatasetError, match=r"raw_latents_1\.npy' is malformed.*3 rows but 2 images in '.*images_1'"
    ):
        causal3dident.read(causal_root, "test", CAUSAL)
    np.save(causal_root / "testset" / "raw_latents_1.npy", class_latents(1, 2)[:, :9])
    with pytest.raises(DatasetError, match=r"raw_latents_1\.npy' is malformed.*not N x 10"):
        causal3dident.read(causal_root, "test", CAUSAL)
    (causal_root / "testset" / "raw_latents_1.npy").write_bytes(b"not an array")
    with pytest.raises(DatasetError, match=r"raw_latents_1\.npy' is malformed"):
        causal3dident.read(causal_root, "test", CAUSAL)
    np.save(causal_root / "testset" / "raw_latents_1.npy", class_latents(1, 2))
    (causal_root / "testset" / "raw_latents_3.npy").unlink()
    with pytest.raises(DatasetError, match=r"expected the latents of class 3 .*raw_latents_3\.npy"):
        causal3dident.read(causal_root, "test", CAUSAL)


def test_causal3dident_missing_image_is_named(causal_root):
    (causal_root / "trainset" / "images_2" / "1.png").rename(
        causal_root / "trainset" / "images_2" / "7.png"
    )
    with pytest.raises(DatasetError, match=r"images_2/1\.png"):
        causal3dident.read(causal_root, "train", CAUSAL)
