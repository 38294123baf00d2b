"""CelebA, aligned and cropped: ``img_align_celeba/*.jpg`` with five landmarks per face.

``list_landmarks_align_celeba.txt`` holds the image count, the ten column names and one row
per image (left eye, right eye, nose, left and right mouth corner, x then y; here ``kp00`` to
``kp04`` in that order); ``list_eval_partition.txt`` gives each image's split (0 train, 1 val,
2 test). The files do not say where pixel counting starts; the coordinates are used as given
(0-based, like the decoder's).

Every aligned image is 178 x 218, so the box is the same centred 178 x 178 square for all of
them, known from the config without opening 200,000 files. Because the faces were aligned by
these very landmarks, the points vary little; what is left (pose, expression, the alignment's
residue) is the target. The root may be the folder with the files, torchvision's
``root/celeba/``, or the official Drive layout (``Img/``, ``Anno/``, ``Eval/`` subfolders).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sslinv.errors import DatasetError
from sslinv.sources import Source, check_split, malformed, require, torchvision_download
from sslinv.sources.keypoints import centred_square, keypoint_frame, normalise

KIND = "celeba"
PUBLISHED = "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html"
NAME = "CelebA"
IMAGES = "img_align_celeba"
LANDMARKS = "list_landmarks_align_celeba.txt"
PARTITION = "list_eval_partition.txt"
COLUMNS = (
    "lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y "
    "leftmouth_x leftmouth_y rightmouth_x rightmouth_y"
).split()
SPLITS = {"train": 0, "val": 1, "test": 2}
# where each file sits below the root in the official Drive folders (besides the root itself)
SUBFOLDERS = {IMAGES: "Img", LANDMARKS: "Anno", PARTITION: "Eval"}


def splits(spec: Mapping[str, Any]) -> list[str]:
    """The published partition: train, val, test (162,770 / 19,867 / 19,962 images)."""
    return list(SPLITS)


def read(root: str | Path, split: str, spec: Mapping[str, Any]) -> Source:
    """Image paths, the fixed centred box and box-relative landmarks of one split, by file name."""
    check_split(NAME, split, SPLITS)
    root = Path(root).expanduser()
    partition = read_partition(locate(root, PARTITION, "the split file"))
    names = sorted(partition.index[partition == SPLITS[split]])
    names = subsample(names, spec["max_per_split"], spec["seed"], split)
    landmarks_path = locate(root, LANDMARKS, "the landmark file")
    landmarks = read_landmarks(landmarks_path)
    missing = [name for name in names if name not in landmarks.index]
    if missing:
        problem = f"no row for '{missing[0]}', one of {len(missing)} split images without one"
        raise malformed(landmarks_path, problem, NAME, PUBLISHED)
    paths = image_paths(locate(root, IMAGES, "the aligned image folder"), names)
    points = landmarks.loc[names].to_numpy(dtype=np.float64).reshape(len(names), 5, 2)
    box = centred_square(spec["image_width"], spec["image_height"])
    boxes = np.tile(np.asarray(box, dtype=np.float64), (len(names), 1))
    latents = keypoint_frame(normalise(points, boxes))
    latents["image"] = names
    return Source(latents=latents, paths=paths, boxes=boxes)


def locate(root: Path, name: str, what: str) -> Path:
    """Find ``name`` in the root, torchvision's ``root/celeba``, or the Drive subfolder."""
    for base in (root, root / "celeba"):
        for candidate in (base / name, base / SUBFOLDERS[name] / name):
            if candidate.exists():
                return candidate
    return require(root / name, what, NAME, PUBLISHED)


def read_partition(path: Path) -> pd.Series:
    """Image file name -> split code (0, 1, 2), from ``list_eval_partition.txt``."""
    table = _table(path, 2)
    codes = pd.to_numeric(table[1], errors="coerce")
    if codes.isna().any() or not codes.isin(list(SPLITS.values())).all():
        raise malformed(path, "a split code that is not 0, 1 or 2", NAME, PUBLISHED)
    return pd.Series(codes.astype(np.int64).to_numpy(), index=table[0].to_numpy())


def read_landmarks(path: Path) -> pd.DataFrame:
    """Image file name -> the ten landmark coordinates, checked against the file's header."""
    with path.open(errors="replace") as file:
        head = [file.readline().split() for _ in range(2)]
    if len(head[0]) != 1 or not head[0][0].isdigit():
        raise malformed(path, "line 1 is not the image count", NAME, PUBLISHED)
    if head[1] != COLUMNS:
        raise malformed(
            path, f"line 2 is not the column names {' '.join(COLUMNS)}", NAME, PUBLISHED
        )
    table = _table(path, 1 + len(COLUMNS), skip=2)
    values = table.iloc[:, 1:].apply(pd.to_numeric, errors="coerce")
    if values.isna().any().any():
        raise malformed(path, "a landmark coordinate that is not a number", NAME, PUBLISHED)
    if len(table) != int(head[0][0]):
        raise malformed(path, f"{len(table)} rows, but line 1 says {head[0][0]}", NAME, PUBLISHED)
    if table[0].duplicated().any():
        raise malformed(path, "an image listed twice", NAME, PUBLISHED)
    values.index, values.columns = table[0].to_numpy(), COLUMNS
    return values


def _table(path: Path, columns: int, skip: int = 0) -> pd.DataFrame:
    """A whitespace-separated text table with exactly ``columns`` fields a row, as strings."""
    try:
        table = pd.read_csv(path, sep=r"\s+", header=None, skiprows=skip, dtype=str)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise malformed(path, f"not a whitespace-separated table: {err}", NAME, PUBLISHED) from None
    if table.shape[1] != columns or table.isna().any().any():
        raise malformed(path, f"rows are not {columns} fields each", NAME, PUBLISHED)
    return table


def subsample(names: list[str], limit: int | None, seed: int, split: str) -> list[str]:
    """At most ``limit`` names, drawn with a seed of their own per split, kept in name order."""
    if limit is None or len(names) <= limit:
        return names
    rng = np.random.default_rng([seed, *split.encode()])
    keep = np.sort(rng.choice(len(names), size=limit, replace=False))
    return [names[i] for i in keep]


def image_paths(folder: Path, names: list[str]) -> list[Path]:
    """The split's image files, each checked to exist (one listing, not 200,000 lookups)."""
    present = set(os.listdir(folder)) if folder.is_dir() else set()
    for name in names:
        if name not in present:
            require(folder / name, "an aligned image listed in the split file", NAME, PUBLISHED)
    return [folder / name for name in names]


def download(root: str | Path) -> None:
    """Fetch the aligned images and lists through torchvision into ``root/celeba`` (opt-in)."""
    root = Path(root).expanduser()
    try:
        locate(root, LANDMARKS, "the landmark file")
        locate(root, PARTITION, "the split file")
        locate(root, IMAGES, "the aligned image folder")
        return
    except DatasetError:
        pass
    torchvision_download(
        NAME,
        root,
        "CelebA",
        f"the Google Drive files are often over their quota, so download them by hand "
        f"from {PUBLISHED} and extract them there",
        split="all",
        target_type="landmarks",
    )
