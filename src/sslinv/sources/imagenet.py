"""ImageNet ILSVRC-2012 from ``train/<wnid>/*.JPEG`` and ``val/``.

Class indices are the sorted wnids of ``train/`` (the order torchvision and most released
models use), and validation labels are mapped onto those same indices, so a probe trained on
one split reads the other. ``val/`` is accepted either sorted into ``val/<wnid>/`` folders or
flat as published, labelled by Kaggle's ``LOC_val_solution.csv`` in ``root``. The Kaggle
download (``root/ILSVRC/Data/CLS-LOC/{train,val}`` next to the CSV files) is read as is.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sslinv.errors import DatasetError
from sslinv.sources import Source, check_split, malformed, require

KIND = "imagenet"
PUBLISHED = (
    "https://image-net.org/challenges/LSVRC/2012/ (or Kaggle: "
    "https://www.kaggle.com/c/imagenet-object-localization-challenge)"
)
NAME = "ImageNet"
SPLITS = ("train", "val")
KAGGLE_IMAGES = Path("ILSVRC", "Data", "CLS-LOC")
VAL_SOLUTION = "LOC_val_solution.csv"
SYNSET_MAPPING = "LOC_synset_mapping.txt"
IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png")
WNID = re.compile(r"n\d{8}")


def splits(spec: Mapping[str, Any]) -> list[str]:
    """The published train and val (ImageNet's test labels were never released)."""
    return list(SPLITS)


def read(root: str | Path, split: str, spec: Mapping[str, Any]) -> Source:
    """Image paths and labels of one split, ordered by class then file name."""
    check_split(NAME, split, SPLITS)
    root = Path(root).expanduser()
    images = images_folder(root)
    wnids = class_folders(images / "train")
    if split == "train":
        files = {wnid: _images(images / "train" / wnid) for wnid in wnids}
    else:
        files = val_files(images / "val", root / VAL_SOLUTION, wnids)
    index = {wnid: i for i, wnid in enumerate(wnids)}
    names = class_names(root / SYNSET_MAPPING, wnids)
    paths, rows = [], []
    for wnid, class_files in files.items():
        for path in subsample(class_files, wnid, spec["seed"], spec["max_per_class"]):
            paths.append(path)
            rows.append((index[wnid], wnid, names[wnid]))
    latents = pd.DataFrame(rows, columns=["label", "wnid", "class_name"])
    latents["label"] = latents["label"].astype(np.int64)
    return Source(latents=latents, paths=paths)


def images_folder(root: Path) -> Path:
    """``root`` when it holds ``train/``, else the Kaggle download's image folder."""
    if not (root / "train").is_dir() and (root / KAGGLE_IMAGES / "train").is_dir():
        return root / KAGGLE_IMAGES
    return root


def class_folders(train: Path) -> list[str]:
    """The sorted wnids that index the classes."""
    require(train, "the training folder 'train/<wnid>/'", NAME, PUBLISHED)
    wnids = sorted(_subfolders(train))
    if len(wnids) < 2:
        raise DatasetError(
            f"{NAME}: expected one folder per class at '{train}/<wnid>/' but found "
            f"{len(wnids)}; download the dataset from {PUBLISHED} and extract each class's tar "
            "into its own folder"
        )
    return wnids


def val_files(val: Path, solution: Path, wnids: list[str]) -> dict[str, list[Path]]:
    """wnid -> sorted validation files, from class folders or the flat folder plus the CSV."""
    require(val, "the validation folder 'val/'", NAME, PUBLISHED)
    folders = sorted(_subfolders(val))
    if folders:
        files = {wnid: _images(val / wnid) for wnid in folders}
        origin = f"folder '{val}'"
    else:
        files = _flat_val(val, solution)
        origin = f"'{solution}'"
    unknown = sorted(set(files) - set(wnids))
    if unknown:
        raise DatasetError(
            f"{NAME}: validation classes {unknown[:5]} (from {origin}) have no folder in "
            f"'{val.parent / 'train'}'; train and val must come from the same release"
        )
    return {wnid: files[wnid] for wnid in wnids if files.get(wnid)}


def _flat_val(val: Path, solution: Path) -> dict[str, list[Path]]:
    """Label flat ``ILSVRC2012_val_*.JPEG`` files by the first wnid of their CSV row.

    Every image present needs a row; rows whose image is absent are skipped, so a partial
    copy of ``val/`` still reads.
    """
    labels = val_solution(solution)
    files: dict[str, list[Path]] = {}
    for path in _images(val):
        wnid = labels.get(path.stem)
        if wnid is None:
            raise malformed(solution, f"no row for image '{path.stem}'", NAME, PUBLISHED)
        files.setdefault(wnid, []).append(path)
    return files


def val_solution(path: Path) -> dict[str, str]:
    """ImageId -> wnid from Kaggle's ``LOC_val_solution.csv`` (first token of each box list)."""
    require(path, "the validation labels (val/ has no class folders)", NAME, PUBLISHED)
    try:
        table = pd.read_csv(path, dtype=str)
    except (ValueError, pd.errors.ParserError) as err:
        raise malformed(path, f"not a CSV file: {err}", NAME, PUBLISHED) from None
    if list(table.columns) != ["ImageId", "PredictionString"]:
        raise malformed(path, "header is not 'ImageId,PredictionString'", NAME, PUBLISHED)
    wnids = table["PredictionString"].fillna("").str.split().str[0]
    bad = table["ImageId"][~wnids.fillna("").str.fullmatch(WNID.pattern)]
    if len(bad):
        raise malformed(path, f"row '{bad.iloc[0]}' does not start with a wnid", NAME, PUBLISHED)
    return dict(zip(table["ImageId"], wnids, strict=True))


def class_names(path: Path, wnids: list[str]) -> dict[str, str]:
    """wnid -> its words from ``LOC_synset_mapping.txt``, or the wnid itself without the file."""
    if not path.is_file():
        return {wnid: wnid for wnid in wnids}
    try:
        lines = path.read_text().splitlines()
    except UnicodeDecodeError as err:
        raise malformed(path, f"not a text file: {err}", NAME, PUBLISHED) from None
    names = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        wnid, _, words = line.strip().partition(" ")
        if not WNID.fullmatch(wnid) or not words.strip():
            raise malformed(path, f"line {number} is not '<wnid> <names>'", NAME, PUBLISHED)
        names[wnid] = words.strip()
    missing = [wnid for wnid in wnids if wnid not in names]
    if missing:
        raise malformed(path, f"no line for class '{missing[0]}'", NAME, PUBLISHED)
    return {wnid: names[wnid] for wnid in wnids}


def subsample(files: list[Path], wnid: str, seed: int, limit: int | None) -> list[Path]:
    """At most ``limit`` files of a class, drawn per class so classes do not affect each other."""
    if limit is None or len(files) <= limit:
        return files
    rng = np.random.default_rng(np.random.SeedSequence([seed, *wnid.encode()]))
    return [files[i] for i in np.sort(rng.choice(len(files), size=limit, replace=False))]


def _subfolders(folder: Path) -> list[str]:
    return [e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith(".")]


def _images(folder: Path) -> list[Path]:
    """Sorted image files; ``os.scandir`` avoids a stat per file on 1.28M images."""
    return sorted(
        folder / entry.name
        for entry in os.scandir(folder)
        if entry.is_file() and entry.name.lower().endswith(IMAGE_SUFFIXES)
    )
