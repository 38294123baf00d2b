"""Contact sheets: a PNG grid of a split, so a person can see the data a model learns from."""

from __future__ import annotations

import os

import numpy as np


def contact_sheet(
    images: np.ndarray,
    path: str | os.PathLike,
    *,
    columns: int = 16,
    scale: int = 2,
    labels: list[str] | None = None,
) -> None:
    """Write a PNG grid of up to ``columns`` x ``columns`` images, so a person can check renders.

    Images are upsampled by ``scale`` (nearest), laid out row-major without gaps; the sheet is
    ``min(n, columns)`` tiles wide. ``labels`` (one per image) are drawn in each tile's corner.
    The file is written to a temporary name and renamed into place.
    """
    from PIL import Image, ImageDraw

    from sslinv.io import atomic_path

    arr = np.asarray(images)
    if arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim == 3:
        arr = np.repeat(arr[..., None], 3, axis=-1)
    if arr.ndim != 4 or arr.shape[-1] != 3 or len(arr) == 0 or columns < 1 or scale < 1:
        raise ValueError(f"contact_sheet needs (N, H, W, 3) images with N >= 1, got {arr.shape}")
    if arr.dtype != np.uint8:
        # Floats in [0, 1] are scaled to bytes; anything else is taken as 0..255.
        factor = 255.0 if arr.max() <= 1.0 else 1.0
        arr = np.clip(np.round(arr.astype(np.float64) * factor), 0, 255).astype(np.uint8)
    arr = arr[: columns * columns]
    n, h, w, _ = arr.shape
    cols = min(n, columns)
    rows = -(-n // cols)
    tiles = arr.repeat(scale, axis=1).repeat(scale, axis=2)
    sheet = np.zeros((rows * h * scale, cols * w * scale, 3), dtype=np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, cols)
        sheet[r * h * scale : (r + 1) * h * scale, c * w * scale : (c + 1) * w * scale] = tile
    image = Image.fromarray(sheet)
    if labels is not None:
        draw = ImageDraw.Draw(image)
        for i, text in enumerate(list(labels)[:n]):
            r, c = divmod(i, cols)
            draw.text((c * w * scale + 2, r * h * scale + 1), str(text), fill=(255, 255, 255))
    with atomic_path(path, suffix=".png") as tmp:
        image.save(tmp, format="PNG")
