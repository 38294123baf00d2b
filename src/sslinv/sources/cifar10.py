"""CIFAR-10 from its python pickles (``cifar-10-batches-py/``).

The format stores pixels, so this adapter is the one place that decodes them: each row of a
batch's ``data`` is 3072 bytes, the 32 x 32 red plane, then green, then blue, row-major.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sslinv.sources import Source, check_split, malformed, require, torchvision_download

KIND = "cifar10"
PUBLISHED = "https://www.cs.toronto.edu/~kriz/cifar.html"
NAME = "CIFAR-10"
FOLDER = "cifar-10-batches-py"
SIDE = 32
BATCHES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}


def splits(spec: Mapping[str, Any]) -> list[str]:
    """The published train/test division (50,000 / 10,000)."""
    return list(BATCHES)


def read(root: str | Path, split: str, spec: Mapping[str, Any]) -> Source:
    """Pixels and labels of one split, batches concatenated in their published order."""
    check_split(NAME, split, BATCHES)
    folder = batches_folder(Path(root).expanduser())
    names = class_names(folder / "batches.meta")
    parts = [load_batch(folder / batch, len(names)) for batch in BATCHES[split]]
    images = np.concatenate([images for images, _ in parts])
    labels = np.concatenate([labels for _, labels in parts])
    latents = pd.DataFrame({"label": labels, "class_name": [names[i] for i in labels]})
    return Source(latents=latents, images=images)


def batches_folder(root: Path) -> Path:
    """Accept the batches folder itself or its parent (where torchvision downloads it)."""
    if (root / "batches.meta").is_file():
        return root
    require(
        root / FOLDER / "batches.meta", "the batches folder with 'batches.meta'", NAME, PUBLISHED
    )
    return root / FOLDER


def class_names(path: Path) -> list[str]:
    """The ten names, in label order, from ``batches.meta``."""
    meta = _unpickle(require(path, "the class names file", NAME, PUBLISHED))
    names = meta.get(b"label_names")
    if not isinstance(names, list) or not names:
        raise malformed(path, "no list under b'label_names'", NAME, PUBLISHED)
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


def load_batch(path: Path, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 N x 32 x 32 x 3 pixels and int64 labels of one pickled batch."""
    batch = _unpickle(require(path, f"the batch file '{path.name}'", NAME, PUBLISHED))
    if b"data" not in batch or b"labels" not in batch:
        raise malformed(path, "no b'data' and b'labels' entries", NAME, PUBLISHED)
    data = np.asarray(batch[b"data"])
    labels = np.asarray(batch[b"labels"], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * SIDE * SIDE:
        raise malformed(
            path, f"data is {data.dtype} {data.shape}, not uint8 N x 3072", NAME, PUBLISHED
        )
    if (
        labels.shape != (len(data),)
        or labels.min(initial=0) < 0
        or labels.max(initial=0) >= n_classes
    ):
        raise malformed(
            path, f"labels are not {len(data)} ints in [0, {n_classes})", NAME, PUBLISHED
        )
    planes = data.reshape(len(data), 3, SIDE, SIDE)
    return np.ascontiguousarray(planes.transpose(0, 2, 3, 1)), labels


def _unpickle(path: Path) -> dict:
    """Load a pickle written by Python 2 (byte-string keys), turning any failure into a fix."""
    try:
        with path.open("rb") as file:
            content = pickle.load(file, encoding="bytes")
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as err:
        raise malformed(path, f"not a readable pickle: {err}", NAME, PUBLISHED) from None
    if not isinstance(content, dict):
        raise malformed(path, f"holds a {type(content).__name__}, not a dict", NAME, PUBLISHED)
    return content


def download(root: Path) -> None:
    """Fetch the pickles through torchvision into ``root/cifar-10-batches-py`` (opt-in)."""
    root = Path(root).expanduser()
    if (root / "batches.meta").is_file() or (root / FOLDER / "batches.meta").is_file():
        return
    torchvision_download(
        NAME,
        root,
        "CIFAR10",
        f"download it by hand from {PUBLISHED} and extract it there",
        train=True,
    )
