"""Readers of real datasets in their published on-disk layouts.

Each module here reads one dataset (CIFAR-10 pickles, Flowers-102 ``.mat`` files, 300W
``.pts`` files, ...) and returns, per split, a :class:`Source`: where each image is (or its
pixels, when the format stores pixels) and what is known about it. Nothing here decodes or
resizes images: :mod:`sslinv.sources.decode` does that once, in DataLoader workers, with the
paper's preprocessing, and :mod:`sslinv.datasets` writes the prepared split every later stage
reads. So an adapter is only the knowledge of a layout, and is tested on tiny trees written
in exactly that layout.

An adapter module defines

- ``KIND``: the config ``kind`` it serves,
- ``PUBLISHED``: where a user gets the files (used in every error message),
- ``splits(spec) -> list[str]``: the splits it provides, from the config alone (no disk access,
  so the DAG is known before any file is read),
- ``read(root, split, spec) -> Source``: one split, raising :class:`DatasetError` that names the
  file it expected when something is missing or malformed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sslinv.errors import DatasetError


@dataclass
class Source:
    """One split of a real dataset before decoding.

    ``latents`` has one row per image: ``label`` (an int class index) for recognition
    datasets, a ``group`` column for factor groups, any other known factor as a column.
    Exactly one of ``paths`` (image files) and ``images`` (uint8 N x H x W x 3 pixels, for
    formats that store pixels) is given. ``boxes`` (float N x 4: left, top, right, bottom in
    source pixels, square) asks the decoder to crop that box and resize it, instead of the
    default resize-and-centre-crop; keypoint columns are then given relative to the box, in
    [0, 1] when the point lies inside it.
    """

    latents: pd.DataFrame
    paths: list[Path] | None = None
    images: np.ndarray | None = None
    boxes: np.ndarray | None = None

    def __post_init__(self) -> None:
        if (self.paths is None) == (self.images is None):
            raise ValueError("a Source has exactly one of paths and images")
        n = len(self.paths) if self.paths is not None else len(self.images)
        if n != len(self.latents):
            raise ValueError(f"{n} images but {len(self.latents)} latent rows")
        if self.boxes is not None and self.boxes.shape != (n, 4):
            raise ValueError(f"boxes must be {n} x 4, got {self.boxes.shape}")

    def __len__(self) -> int:
        return len(self.latents)


def require(path: Path, what: str, dataset: str, published: str) -> Path:
    """Return ``path`` if it exists, else stop naming the file expected and where to get it."""
    if not path.exists():
        raise DatasetError(
            f"{dataset}: expected {what} at '{path}' but it is not there; download the dataset "
            f"from {published} and point the config's 'root' at the folder that holds it"
        )
    return path


def malformed(path: Path, problem: str, dataset: str, published: str) -> DatasetError:
    """The error for a file that exists but is not in the published format."""
    return DatasetError(
        f"{dataset}: '{path}' is malformed ({problem}); replace it with the original file "
        f"from {published}"
    )


def check_split(dataset: str, split: str, known) -> None:
    """Stop on a split this dataset does not publish, listing the ones it does."""
    if split not in known:
        raise DatasetError(f"{dataset} has no split '{split}'; it has: {', '.join(known)}")


def torchvision_download(dataset: str, root: Path, class_name: str, by_hand: str, **kw) -> None:
    """Fetch through ``torchvision.datasets.<class_name>(download=True)`` (opt-in, never at
    test time); a failure says how to get the files by hand instead.
    """
    from torchvision import datasets

    try:
        getattr(datasets, class_name)(root=str(root), download=True, **kw)
    except (OSError, RuntimeError) as err:
        raise DatasetError(f"{dataset}: download into '{root}' failed ({err}); {by_hand}") from None
