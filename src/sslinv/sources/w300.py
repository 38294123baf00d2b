"""300 Faces In-the-Wild (300W, ibug): face images each with a same-stem 68-point ``.pts`` file.

A ``.pts`` file is ``version: 1``, ``n_points:  68``, ``{``, 68 lines ``x y``, ``}``. Its
coordinates are 1-based (Matlab style: the centre of the top-left pixel is 1, 1), as the 300W
authors' own reader, menpo, assumes; this adapter subtracts 1 so that points, boxes and the
decoder's crop all count pixels from 0.

The standard "full set" protocol trains on AFW and the train sets of HELEN and LFPW and tests
on the test sets of HELEN and LFPW plus IBUG (the "common" + "challenging" subsets); the 300W
challenge images (``300W/01_Indoor``, ``300W/02_Outdoor``) are a test set too, chosen with
``test_dirs``. Each face is cropped by a square around its 68 points, enlarged by
``box_margin`` of the square's side on every edge, so the targets describe the face's shape
(pose, expression) rather than where it was in the photograph.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from sslinv.errors import DatasetError
from sslinv.sources import Source, check_split, malformed, require
from sslinv.sources.keypoints import keypoint_frame, normalise, square_boxes

KIND = "w300"
PUBLISHED = "https://ibug.doc.ic.ac.uk/resources/300-W/"
NAME = "300W"
POINTS = 68
ORIGIN = 1.0  # the .pts files count pixels from 1
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
SPLIT_DIRS = {"train": "train_dirs", "test": "test_dirs"}


def splits(spec: Mapping[str, Any]) -> list[str]:
    """Train (``train_dirs``) and test (``test_dirs``)."""
    return list(SPLIT_DIRS)


def read(root: str | Path, split: str, spec: Mapping[str, Any]) -> Source:
    """Image paths, square face boxes and box-relative landmarks of one split, sorted by path."""
    check_split(NAME, split, SPLIT_DIRS)
    check_disjoint(spec["train_dirs"], spec["test_dirs"])
    root = require(Path(root).expanduser(), "the dataset folder", NAME, PUBLISHED)
    paths = find_images(root, spec[SPLIT_DIRS[split]])
    points = np.stack([read_pts(path.with_suffix(".pts")) for path in paths]) - ORIGIN
    boxes = square_boxes(points, spec["box_margin"])
    latents = keypoint_frame(normalise(points, boxes))
    latents["image"] = [path.relative_to(root).as_posix() for path in paths]
    return Source(latents=latents, paths=paths, boxes=boxes)


def check_disjoint(train_dirs: list[str], test_dirs: list[str]) -> None:
    """Refuse a train folder that holds (or is held by) a test folder: faces would leak."""
    for train in train_dirs:
        for test in test_dirs:
            a, b = PurePosixPath(train), PurePosixPath(test)
            if a == b or a in b.parents or b in a.parents:
                raise DatasetError(
                    f"{NAME}: train folder '{train}' overlaps test folder '{test}'; the same "
                    "faces would be in both splits, so list disjoint folders in 'train_dirs' "
                    "and 'test_dirs'"
                )


def find_images(root: Path, folders: list[str]) -> list[Path]:
    """Every image below the listed folders (recursively), sorted for a stable order."""
    paths: list[Path] = []
    for folder in folders:
        base = require(root / folder, f"the subset folder '{folder}'", NAME, PUBLISHED)
        paths += [p for p in base.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES]
    if not paths:
        raise DatasetError(
            f"{NAME}: no .png/.jpg images below {', '.join(repr(str(root / f)) for f in folders)}; "
            f"download the dataset from {PUBLISHED} and point the config's 'root' at the folder "
            "that holds those subsets"
        )
    return sorted(set(paths))


def read_pts(path: Path) -> np.ndarray:
    """The 68 x 2 (x, y) points of one ``.pts`` file, as written (1-based)."""
    text = require(path, "the landmark file", NAME, PUBLISHED).read_text(errors="replace")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if "{" not in lines or "}" not in lines:
        raise malformed(path, "no '{' ... '}' block of points", NAME, PUBLISHED)
    header = lines[: lines.index("{")]
    body = lines[lines.index("{") + 1 : lines.index("}")]
    declared = [line.split(":", 1)[1].strip() for line in header if line.startswith("n_points")]
    if declared and declared[0] != str(POINTS):
        raise malformed(path, f"n_points is {declared[0]}, not {POINTS}", NAME, PUBLISHED)
    if len(body) != POINTS:
        raise malformed(path, f"{len(body)} points, not {POINTS}", NAME, PUBLISHED)
    try:
        points = np.array([[float(v) for v in line.split()] for line in body], dtype=np.float64)
    except ValueError:
        raise malformed(path, "a point that is not two numbers", NAME, PUBLISHED) from None
    if points.shape != (POINTS, 2) or not np.isfinite(points).all():
        raise malformed(path, "a point that is not two finite numbers", NAME, PUBLISHED)
    return points
