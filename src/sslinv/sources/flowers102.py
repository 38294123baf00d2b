"""Oxford Flowers-102 from ``jpg/``, ``imagelabels.mat`` and ``setid.mat``.

The splits are the published ones (``trnid``, ``valid``, ``tstid`` in ``setid.mat``), never
redrawn, so results compare with the literature. Both files hold MATLAB 1-based ids: image
``k`` is ``jpg/image_{k:05d}.jpg`` and its class is ``labels[k - 1] - 1`` here.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.io

from sslinv.sources import Source, check_split, malformed, require, torchvision_download

KIND = "flowers102"
PUBLISHED = "https://www.robots.ox.ac.uk/~vgg/data/flowers/102/"
NAME = "Flowers-102"
FOLDER = "flowers-102"
SET_VARIABLES = {"train": "trnid", "val": "valid", "test": "tstid"}


def splits(spec: Mapping[str, Any]) -> list[str]:
    """The published train/val/test (10 + 10 images per class, the rest for test)."""
    return list(SET_VARIABLES)


def read(root: str | Path, split: str, spec: Mapping[str, Any]) -> Source:
    """Image paths and 0-based labels of one split, ordered by image id."""
    check_split(NAME, split, SET_VARIABLES)
    folder = dataset_folder(Path(root).expanduser())
    labels = mat_vector(folder / "imagelabels.mat", "labels")
    ids = np.sort(mat_vector(folder / "setid.mat", SET_VARIABLES[split]))
    if labels.min(initial=1) < 1:
        raise malformed(folder / "imagelabels.mat", "class ids below 1", NAME, PUBLISHED)
    if np.any(np.diff(ids) == 0):
        raise malformed(
            folder / "setid.mat", f"'{SET_VARIABLES[split]}' repeats image ids", NAME, PUBLISHED
        )
    if ids.min(initial=1) < 1 or ids.max(initial=1) > len(labels):
        raise malformed(
            folder / "setid.mat",
            f"'{SET_VARIABLES[split]}' has image ids outside 1..{len(labels)}",
            NAME,
            PUBLISHED,
        )
    images = require(folder / "jpg", "the image folder 'jpg'", NAME, PUBLISHED)
    paths = [images / f"image_{i:05d}.jpg" for i in ids]
    for path in paths:
        require(path, "an image listed in setid.mat", NAME, PUBLISHED)
    latents = pd.DataFrame({"label": labels[ids - 1] - 1, "image_id": ids})
    return Source(latents=latents, paths=paths)


def dataset_folder(root: Path) -> Path:
    """Accept the folder holding the files or torchvision's ``root/flowers-102/``."""
    if (root / "setid.mat").is_file() or not (root / FOLDER).is_dir():
        return root
    return root / FOLDER


def mat_vector(path: Path, variable: str) -> np.ndarray:
    """One 1 x n (or n x 1) integer variable of a MATLAB file, as a flat int64 array."""
    require(path, f"the MATLAB file '{path.name}'", NAME, PUBLISHED)
    try:
        content = scipy.io.loadmat(path)
    except (
        scipy.io.matlab.MatReadError,
        ValueError,
        TypeError,
        OSError,
        NotImplementedError,
    ) as err:
        raise malformed(path, f"not a readable .mat file: {err}", NAME, PUBLISHED) from None
    if variable not in content:
        raise malformed(path, f"no variable '{variable}'", NAME, PUBLISHED)
    values = np.asarray(content[variable])
    if values.ndim != 2 or min(values.shape) != 1 or not np.issubdtype(values.dtype, np.number):
        raise malformed(path, f"'{variable}' is not a 1 x n numeric array", NAME, PUBLISHED)
    flat = values.ravel()
    if not np.array_equal(flat, np.round(flat)):
        raise malformed(path, f"'{variable}' holds non-integer ids", NAME, PUBLISHED)
    return flat.astype(np.int64)


def download(root: Path) -> None:
    """Fetch the images and .mat files through torchvision into ``root/flowers-102/``."""
    root = Path(root).expanduser()
    if (root / "setid.mat").is_file() or (root / FOLDER / "setid.mat").is_file():
        return
    torchvision_download(
        NAME,
        root,
        "Flowers102",
        f"download '102flowers.tgz', 'imagelabels.mat' and 'setid.mat' by hand from "
        f"{PUBLISHED} into '{root}'",
        split="train",
    )
