"""What the landmark adapters (300W, CelebA, LSP) share: boxes, normalisation, column names.

Keypoint targets are regressed from features of the *cropped* image, so they must be given in
the frame the model sees: relative to the square box the decoder crops, x' = (x - left) / side
and y' = (y - top) / side, in [0, 1] for a point inside the box. A box drawn around the points
themselves removes where and how large the face or body is, leaving its shape (pose,
expression) as the target; a fixed box (CelebA's aligned images) keeps the points' place too.

Every adapter names the columns the same way (``kp00_x, kp00_y, kp01_x, ...``, then
``kp00_visible, ...`` where the format has visibility), so one task can target them all.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MIN_SIDE = 1.0  # pixels: a box around one point (or identical points) still has an area


def square_boxes(points: np.ndarray, margin: float, valid: np.ndarray | None = None) -> np.ndarray:
    """Square boxes (left, top, right, bottom) around each row's points, ``margin`` each way.

    ``points`` is N x P x 2 (x, y in source pixels). The square is centred on the points'
    bounding rectangle and its side is the rectangle's longer side times ``1 + 2 * margin``,
    so ``margin`` is the fraction of that side added on each edge. ``valid`` (N x P bool)
    limits each box to some points (LSP's visible joints); a row with none uses all its points,
    since a crop of the person is still better than none.
    """
    points = np.asarray(points, dtype=np.float64)
    if valid is None:
        valid = np.ones(points.shape[:2], dtype=bool)
    valid = np.where(valid.any(axis=1, keepdims=True), valid, True)
    xs = np.where(valid, points[..., 0], np.nan)
    ys = np.where(valid, points[..., 1], np.nan)
    low = np.stack([np.nanmin(xs, axis=1), np.nanmin(ys, axis=1)], axis=1)
    high = np.stack([np.nanmax(xs, axis=1), np.nanmax(ys, axis=1)], axis=1)
    centre = (low + high) / 2
    side = np.maximum((high - low).max(axis=1) * (1 + 2 * margin), MIN_SIDE)
    half = np.stack([side, side], axis=1) / 2
    return np.concatenate([centre - half, centre + half], axis=1)


def centred_square(width: float, height: float) -> tuple[float, float, float, float]:
    """The largest square centred in a width x height image: what a centre crop keeps."""
    side = min(width, height)
    left, top = (width - side) / 2, (height - side) / 2
    return (left, top, left + side, top + side)


def normalise(points: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """N x P x 2 source-pixel points in their row's box frame (0 at left/top, 1 at right/bottom)."""
    points = np.asarray(points, dtype=np.float64)
    boxes = np.asarray(boxes, dtype=np.float64)
    origin = boxes[:, None, :2]
    size = (boxes[:, 2:] - boxes[:, :2])[:, None, :]
    return (points - origin) / size


def keypoint_columns(count: int, visible: bool = False) -> list[str]:
    """``kp00_x, kp00_y, kp01_x, ...``, then ``kp00_visible, ...`` when asked for."""
    columns = [f"kp{i:02d}_{axis}" for i in range(count) for axis in ("x", "y")]
    return columns + ([f"kp{i:02d}_visible" for i in range(count)] if visible else [])


def keypoint_frame(normalised: np.ndarray, visible: np.ndarray | None = None) -> pd.DataFrame:
    """Latents table of N x P x 2 box-relative points (and N x P visibility as int64 0/1)."""
    count = normalised.shape[1]
    values = normalised.reshape(len(normalised), 2 * count)
    frame = pd.DataFrame(values, columns=keypoint_columns(count))
    if visible is not None:
        flags = pd.DataFrame(
            np.asarray(visible, dtype=np.int64), columns=keypoint_columns(count, True)[2 * count :]
        )
        frame = pd.concat([frame, flags], axis=1)
    return frame
