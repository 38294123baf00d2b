"""Dataset kinds write the prepared-split format; bad inputs get actionable errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from sslinv.datasets import (
    DatasetError,
    check_sources,
    load_digits,
    load_split,
    prepare_dataset,
    prepare_split,
)

DIGITS = {"kind": "digits", "val_fraction": 0.15, "test_fraction": 0.3, "seed": 0}


def test_digits_splits_are_disjoint_stratified_and_complete(tmp_path):
    prepare_dataset("digits", DIGITS, ["train", "val", "test"], 16, tmp_path)
    images, labels = load_digits(16)
    sizes = {}
    for split in ("train", "val", "test"):
        x, latents = load_split(tmp_path, split)
        assert x.dtype == np.uint8 and x.shape[1:] == (16, 16, 3)
        assert (x[..., 0] == x[..., 1]).all()  # gray digits as RGB
        sizes[split] = len(x)
        # every class appears in every split (stratified)
        assert set(latents["label"]) == set(range(10))
    assert sum(sizes.values()) == len(labels) == 1797
    assert sizes["test"] == pytest.approx(0.3 * 1797, abs=2)
    assert (tmp_path / "train" / "contact_sheet.png").is_file()
    # digits really are digits: bright strokes on a dark background
    assert images.mean() < 100 and images.max() == 255


def test_split_is_deterministic(tmp_path):
    prepare_split("d", DIGITS, "val", 8, tmp_path / "a")
    prepare_split("d", DIGITS, "val", 8, tmp_path / "b")
    assert np.array_equal(load_split(tmp_path / "a")[0], load_split(tmp_path / "b")[0])


def _imagefolder(root, classes=("cat", "dog"), per_class=10, size=(20, 12)):
    rng = np.random.default_rng(0)
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
            pixels[..., c % 3] = 255
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    return {
        "kind": "imagefolder",
        "root": str(root),
        "val_fraction": 0.2,
        "test_fraction": 0.2,
        "seed": 0,
    }


def test_imagefolder_labels_and_crop(tmp_path):
    spec = _imagefolder(tmp_path / "data")
    prepare_dataset("mine", spec, ["train", "val", "test"], 8, tmp_path / "out")
    x, latents = load_split(tmp_path / "out", "train")
    assert x.shape == (12, 8, 8, 3)
    assert list(latents.columns) == ["label", "path", "class_name"]
    for image, row in zip(x, latents.itertuples(), strict=True):
        assert row.class_name == ("cat" if row.label == 0 else "dog")
        assert (image[..., row.label] == 255).all()  # the class's colour channel survived
    total = sum(len(load_split(tmp_path / "out", s)[1]) for s in ("train", "val", "test"))
    assert total == 20


def test_imagefolder_missing_root(tmp_path):
    spec = {
        "kind": "imagefolder",
        "root": str(tmp_path / "nowhere"),
        "val_fraction": 0.2,
        "test_fraction": 0.2,
        "seed": 0,
    }
    with pytest.raises(DatasetError, match=r"root '.*nowhere' of dataset 'mine' does not exist"):
        check_sources({"mine": spec})


def test_imagefolder_empty_root(tmp_path):
    (tmp_path / "empty" / "cls").mkdir(parents=True)
    spec = {"kind": "imagefolder", "root": str(tmp_path / "empty")}
    with pytest.raises(DatasetError, match="has no images"):
        check_sources({"mine": spec})


def test_corrupt_image_is_named(tmp_path):
    spec = _imagefolder(tmp_path / "data", per_class=5)
    (tmp_path / "data" / "cat" / "0.png").write_bytes(b"garbage")
    with pytest.raises(DatasetError, match=r"cannot read image '.*cat/0\.png'"):
        for split in ("train", "val", "test"):
            prepare_split("mine", spec, split, 8, tmp_path / "out" / split)


def test_missing_prepared_split_says_how_to_build(tmp_path):
    with pytest.raises(DatasetError, match="snakemake"):
        load_split(tmp_path, "train")


def test_unknown_split(tmp_path):
    with pytest.raises(DatasetError, match="has no split 'pretrain'"):
        prepare_split("digits", DIGITS, "pretrain", 8, tmp_path)


def test_mismatched_files_are_rejected(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    np.save(folder / "images.npy", np.zeros((3, 4, 4, 3), np.uint8))
    pd.DataFrame({"label": [0, 1]}).to_csv(folder / "latents.csv", index=False)
    with pytest.raises(DatasetError, match="3 images but 2 latent rows"):
        load_split(folder)
