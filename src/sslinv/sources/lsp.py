"""Leeds Sports Pose (LSP) and LSP-extended: ``images/im0001.jpg ...`` and ``joints.mat``.

``joints.mat`` holds one variable, ``joints``, whose orientation tells the two apart:

- LSP: 3 x 14 x 2000 (x, y, flag) x joint x image, images ``im0001.jpg`` to ``im2000.jpg``.
  Its README calls the flag "visibility", but in the published file it is 1 for an occluded
  joint and 0 for a visible one (every pose code that reads it, e.g. pytorch-pose's
  ``gen_lsp.m``, inverts it), so this adapter inverts it.
- LSP-extended: 14 x 3 x 10000 joint x (x, y, visible) x image, ``im00001.jpg`` onwards,
  where the flag is 1 for a visible joint, as its README says.

Both give ``kpNN_visible`` as 1 for visible. Joints (in order: right ankle, knee, hip, left
hip, knee, ankle, right wrist, elbow, shoulder, left shoulder, elbow, wrist, neck, head top)
are used as given; the files do not say where pixel counting starts. The protocol trains on
the first ``train_count`` images (1000 for LSP) and tests on the rest. ``box: joints`` crops
a square around the visible joints enlarged by ``box_margin`` on every edge, so the targets
describe the pose rather than where the person stands; ``box: image`` crops the image's
centred square (LSP's images are already roughly centred on the person).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import scipy.io
from scipy.io.matlab import MatReadError

from sslinv.errors import DatasetError
from sslinv.sources import Source, check_split, malformed, require
from sslinv.sources.keypoints import centred_square, keypoint_frame, normalise, square_boxes

KIND = "lsp"
PUBLISHED = "http://sam.johnson.io/research/lsp.html"
NAME = "LSP"
JOINTS = 14
SPLITS = ("train", "test")


def splits(spec: Mapping[str, Any]) -> list[str]:
    """Train (the first ``train_count`` images) and test (the rest)."""
    return list(SPLITS)


def read(root: str | Path, split: str, spec: Mapping[str, Any]) -> Source:
    """Image paths, square boxes and box-relative joints with visibility, in image order."""
    check_split(NAME, split, SPLITS)
    root = Path(root).expanduser()
    joints_path = require(root / "joints.mat", "the joints file", NAME, PUBLISHED)
    points, visible, digits = load_joints(joints_path)
    numbers = split_numbers(len(points), spec["train_count"], split)
    paths = [root / "images" / f"im{n:0{digits}d}.jpg" for n in numbers]
    for path in paths:
        require(path, "an image numbered like its column of joints.mat", NAME, PUBLISHED)
    points, visible = points[numbers - 1], visible[numbers - 1]
    if spec["box"] == "joints":
        boxes = square_boxes(points, spec["box_margin"], valid=visible)
    else:
        boxes = np.array([centred_square(*image_size(path)) for path in paths], dtype=np.float64)
        boxes = boxes.reshape(len(paths), 4)
    latents = keypoint_frame(normalise(points, boxes), visible)
    latents["image"] = [path.name for path in paths]
    return Source(latents=latents, paths=paths, boxes=boxes)


def load_joints(path: Path) -> tuple[np.ndarray, np.ndarray, int]:
    """N x 14 x 2 points, N x 14 visibility (True = visible) and the image names' digit count."""
    try:
        content = scipy.io.loadmat(str(path))
    except (MatReadError, ValueError, TypeError, OSError, NotImplementedError) as err:
        raise malformed(path, f"not a readable MATLAB file: {err}", NAME, PUBLISHED) from None
    if "joints" not in content:
        raise malformed(path, "no variable 'joints'", NAME, PUBLISHED)
    joints = np.asarray(content["joints"])
    if joints.ndim == 3 and joints.shape[:2] == (3, JOINTS):
        table, digits = joints.transpose(2, 1, 0), 4
    elif joints.ndim == 3 and joints.shape[:2] == (JOINTS, 3):
        table, digits = joints.transpose(2, 0, 1), 5
    else:
        shape = " x ".join(map(str, joints.shape))
        problem = f"'joints' is {shape}, not 3 x 14 x N (LSP) or 14 x 3 x N (LSP-extended)"
        raise malformed(path, problem, NAME, PUBLISHED)
    table = table.astype(np.float64)
    if not np.isfinite(table).all() or not np.isin(table[..., 2], (0, 1)).all():
        raise malformed(path, "a coordinate that is not finite or a flag not 0/1", NAME, PUBLISHED)
    # LSP's flag means occluded, LSP-extended's means visible (see the module docstring)
    visible = table[..., 2] == (0 if digits == 4 else 1)
    return table[..., :2], visible, digits


def split_numbers(count: int, train_count: int, split: str) -> np.ndarray:
    """1-based image numbers of a split: the first ``train_count`` images, or the rest."""
    if not 0 < train_count < count:
        raise DatasetError(
            f"{NAME}: train_count {train_count} leaves no images for one split of the {count} in "
            f"joints.mat; set it between 1 and {count - 1}"
        )
    numbers = np.arange(1, count + 1)
    return numbers[:train_count] if split == "train" else numbers[train_count:]


def image_size(path: Path) -> tuple[int, int]:
    """Width and height from the file's header, without decoding its pixels."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return image.size
    except (UnidentifiedImageError, OSError) as err:
        raise DatasetError(
            f"{NAME}: cannot read image '{path}' ({err}); replace it with the original file "
            f"from {PUBLISHED}"
        ) from None
