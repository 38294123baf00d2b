"""Decoding a :class:`Source` into the uint8 array of a prepared split, in DataLoader workers.

The paper's evaluation preprocessing: resize the shorter side to 256 and take the centre
224 (for another ``image_size`` s, resize to s * 256 / 224 and take the centre s). Images
with a keypoint box are cropped to that box instead (outside the picture is black) and
resized to s x s, so the box-relative keypoints stay exact. Formats that store small
pixels (CIFAR) are already tight crops and are resized straight to s x s. ImageNet
normalisation happens later, when a network reads the images (sslinv.preprocess).

JPEG decoding dominates at paper scale (50k-1.3M files), so files are decoded by a
DataLoader's worker processes and written into one memory-mapped array.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from sslinv.errors import DatasetError
from sslinv.sources import Source

RESIZE_RATIO = 256 / 224  # resize 256, centre crop 224


def _resample(image, size: tuple[int, int]):
    from PIL import Image

    return image.resize(size, Image.BICUBIC)


def decode_file(path: Path, image_size: int, box: np.ndarray | None = None) -> np.ndarray:
    """One image file as uint8 ``image_size`` x ``image_size`` x 3, preprocessed as above."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img = img.convert("RGB")
            if box is not None:
                left, top, right, bottom = (float(v) for v in box)
                img = img.transform(
                    (image_size, image_size),
                    Image.EXTENT,
                    (left, top, right, bottom),
                    Image.BICUBIC,
                    fillcolor=(0, 0, 0),
                )
                return np.asarray(img, dtype=np.uint8)
            short = round(image_size * RESIZE_RATIO)
            scale = short / min(img.size)
            size = (max(short, round(img.width * scale)), max(short, round(img.height * scale)))
            img = _resample(img, size)
            left, top = (img.width - image_size) // 2, (img.height - image_size) // 2
            return np.asarray(img.crop((left, top, left + image_size, top + image_size)))
    except (UnidentifiedImageError, OSError) as err:
        raise DatasetError(
            f"cannot read image '{path}' ({err}); delete or replace the corrupt file"
        ) from None


class _Files(torch.utils.data.Dataset):
    def __init__(self, paths, boxes, image_size: int) -> None:
        self.paths, self.boxes, self.image_size = paths, boxes, image_size

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> np.ndarray:
        box = None if self.boxes is None else self.boxes[i]
        return decode_file(Path(self.paths[i]), self.image_size, box)


def _stack(batch: list[np.ndarray]) -> np.ndarray:
    return np.stack(batch)


def decode_source(
    source: Source,
    image_size: int,
    *,
    out: np.ndarray | None = None,
    workers: int = 0,
    batch_size: int = 64,
) -> np.ndarray:
    """Every image of ``source`` as uint8 N x ``image_size`` x ``image_size`` x 3.

    ``out`` (e.g. a memory-mapped ``.npy`` opened for writing) receives the images, so a
    split larger than memory streams from the workers to disk.
    """
    shape = (len(source), image_size, image_size, 3)
    if out is None:
        out = np.empty(shape, dtype=np.uint8)
    elif out.shape != shape or out.dtype != np.uint8:
        raise ValueError(f"out must be uint8 {shape}, got {out.dtype} {out.shape}")
    if source.images is not None:
        out[:] = resize_pixels(source.images, image_size)
        return out
    loader = torch.utils.data.DataLoader(
        _Files(source.paths, source.boxes, image_size),
        batch_size=batch_size,
        num_workers=workers,
        collate_fn=_stack,
    )
    start = 0
    for batch in loader:
        out[start : start + len(batch)] = batch
        start += len(batch)
    return out


def resize_pixels(images: np.ndarray, image_size: int) -> np.ndarray:
    """Stored pixels (N x h x w x 3 uint8) resized to the model's size, bilinear in torch."""
    if images.shape[1:3] == (image_size, image_size):
        return np.ascontiguousarray(images)
    out = np.empty((len(images), image_size, image_size, 3), dtype=np.uint8)
    for start in range(0, len(images), 1024):
        chunk = torch.from_numpy(np.ascontiguousarray(images[start : start + 1024]))
        x = chunk.permute(0, 3, 1, 2).float()
        y = F.interpolate(x, size=(image_size, image_size), mode="bilinear", antialias=True)
        out[start : start + len(chunk)] = (
            y.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
        )
    return out
