"""Caltech-101 from ``101_ObjectCategories/<class>/image_XXXX.jpg``.

The dataset ships no split; the standard protocol draws a fixed number of training images
per class and tests on the rest. The draw is seeded per class name (not from one shared
stream), so a class's split does not change when another class is excluded or resized, and
files are sorted first, so it never depends on the order the file system lists them in.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sslinv.errors import DatasetError
from sslinv.sources import Source, check_split, require, torchvision_download

KIND = "caltech101"
PUBLISHED = "https://data.caltech.edu/records/mzrjq-6wc02"
NAME = "Caltech-101"
FOLDER = "101_ObjectCategories"
SPLITS = ("train", "test")
IMAGE_SUFFIXES = (".jpg", ".jpeg")


def splits(spec: Mapping[str, Any]) -> list[str]:
    """Train (``train_per_class`` per class) and test (the rest, or ``test_per_class``)."""
    return list(SPLITS)


def read(root: str | Path, split: str, spec: Mapping[str, Any]) -> Source:
    """Image paths and labels of one split, ordered by class then file name."""
    check_split(NAME, split, SPLITS)
    classes = scan_classes(categories_folder(Path(root).expanduser()), spec["exclude"])
    paths, labels = [], []
    for label, (name, files) in enumerate(classes.items()):
        chosen = split_class(files, name, spec, split)
        paths += [files[i] for i in chosen]
        labels += [label] * len(chosen)
    names = list(classes)
    latents = pd.DataFrame(
        {"label": np.asarray(labels, dtype=np.int64), "class_name": [names[i] for i in labels]}
    )
    return Source(latents=latents, paths=paths)


def categories_folder(root: Path) -> Path:
    """Accept the categories folder, its parent, or torchvision's ``root/caltech101/``."""
    found = _find_categories(root)
    return found or require(root / FOLDER, f"the '{FOLDER}' folder", NAME, PUBLISHED)


def _find_categories(root: Path) -> Path | None:
    for candidate in (root / FOLDER, root / "caltech101" / FOLDER):
        if candidate.is_dir():
            return candidate
    return root if root.is_dir() and root.name == FOLDER else None


def scan_classes(folder: Path, exclude: list[str]) -> dict[str, list[Path]]:
    """Sorted class names -> sorted image files; excluded names absent on disk are ignored."""
    names = sorted(
        entry.name
        for entry in os.scandir(folder)
        if entry.is_dir() and not entry.name.startswith(".") and entry.name not in exclude
    )
    classes = {name: _images(folder / name) for name in names}
    classes = {name: files for name, files in classes.items() if files}
    if len(classes) < 2:
        raise DatasetError(
            f"{NAME}: expected class folders of images at '{folder}/<class>/image_0001.jpg' but "
            f"found {len(classes)}; download the dataset from {PUBLISHED} and point the config's "
            "'root' at the folder that holds it"
        )
    return classes


def split_class(files: list[Path], name: str, spec: Mapping[str, Any], split: str) -> np.ndarray:
    """Sorted indices into ``files`` of one class's split.

    A class needs at least ``train_per_class + 1`` images (so it is tested at all); a smaller
    one is an error rather than a silent drop, since dropping it changes the number of classes.
    """
    train_count, test_count = spec["train_per_class"], spec["test_per_class"]
    if len(files) <= train_count:
        raise DatasetError(
            f"{NAME}: class '{name}' has {len(files)} images at '{files[0].parent}', too few for "
            f"train_per_class={train_count} plus a test image; lower 'train_per_class' or add "
            f"'{name}' to 'exclude' in the config"
        )
    order = class_rng(spec["seed"], name).permutation(len(files))
    if split == "train":
        chosen = order[:train_count]
    else:
        rest = order[train_count:]
        chosen = rest if test_count is None else rest[:test_count]
    return np.sort(chosen)


def class_rng(seed: int, name: str) -> np.random.Generator:
    """A generator that depends only on the seed and the class's own name."""
    return np.random.default_rng(np.random.SeedSequence([seed, *name.encode()]))


def _images(folder: Path) -> list[Path]:
    return sorted(
        folder / entry.name
        for entry in os.scandir(folder)
        if entry.is_file() and entry.name.lower().endswith(IMAGE_SUFFIXES)
    )


def download(root: Path) -> None:
    """Fetch the archive through torchvision into ``root/caltech101/`` (opt-in)."""
    root = Path(root).expanduser()
    if _find_categories(root) is not None:
        return
    torchvision_download(
        NAME,
        root,
        "Caltech101",
        f"download it by hand from {PUBLISHED} and extract '{FOLDER}' there",
        target_type="category",
    )
