"""Causal3DIdent (von Kügelgen et al., NeurIPS 2021): 7 rendered objects with 10 known latents.

The Zenodo archives unpack to ``trainset/`` and ``testset/``, each holding, per object class
``k`` (0..6), a folder ``images_{k}/`` of ``{j}.png`` files (``j`` zero-padded to
``ceil(log10(N_k))`` digits) and the arrays ``raw_latents_{k}.npy`` and ``latents_{k}.npy``
(N_k x 10, row ``j`` describes image ``j``). That is the layout the authors' own loader
(``datasets/clevr_dataset.py`` in github.com/ysharma1126/ssl_identifiability) reads; it uses
``raw_latents_{k}.npy``, the values the generative process sampled, and so does the default
here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sslinv.sources import Source, check_split, malformed, require

KIND = "causal3dident"
PUBLISHED = "https://zenodo.org/record/4784282"
NAME = "Causal3DIdent"
SPLITS = {"train": "trainset", "test": "testset"}
# The paper's order: the 3DIdent teapot, then the six added shapes.
CLASS_NAMES = ("teapot", "hare", "dragon", "cow", "armadillo", "horse", "head")
LATENT_COLUMNS = (
    "pos_x",
    "pos_y",
    "pos_z",
    "rot_alpha",
    "rot_beta",
    "rot_gamma",
    "spot_pos",
    "object_hue",
    "spot_hue",
    "background_hue",
)


def splits(spec: Mapping[str, Any]) -> list[str]:
    """The published train (250,000 images) / test (25,000) division."""
    return list(SPLITS)


def read(root: str | Path, split: str, spec: Mapping[str, Any]) -> Source:
    """Every class of one split (or ``max_per_class`` of each), classes in index order."""
    check_split(NAME, split, SPLITS)
    folder = require(
        Path(root).expanduser() / SPLITS[split],
        f"the {SPLITS[split]} folder (the extracted {SPLITS[split]} archive)",
        NAME,
        PUBLISHED,
    )
    frames, paths = [], []
    for k in range(len(CLASS_NAMES)):
        latents, files = read_class(folder, k, spec["latents_file"])
        words = [spec["seed"], list(SPLITS).index(split), k]
        keep = subsample(len(files), spec["max_per_class"], words)
        frame = pd.DataFrame(latents[keep], columns=list(LATENT_COLUMNS))
        frame.insert(0, "class_name", CLASS_NAMES[k])
        frame.insert(0, "label", np.int64(k))
        frames.append(frame)
        paths += [files[i] for i in keep]
    return Source(latents=pd.concat(frames, ignore_index=True), paths=paths)


def read_class(folder: Path, k: int, latents_file: str) -> tuple[np.ndarray, list[Path]]:
    """Latents (N x 10 float64) and image paths of class ``k``, row ``j`` with image ``j``."""
    path = require(folder / f"{latents_file}_{k}.npy", f"the latents of class {k}", NAME, PUBLISHED)
    images = require(folder / f"images_{k}", f"the images of class {k}", NAME, PUBLISHED)
    latents = load_latents(path)
    files = numbered_images(images)
    if len(files) != len(latents):
        problem = f"{len(latents)} rows but {len(files)} images in '{images}'"
        raise malformed(path, problem, NAME, PUBLISHED)
    missing = sorted(set(range(len(latents))) - set(files))
    if missing:
        width = math.ceil(math.log10(len(latents))) if len(latents) > 1 else 0
        expected = images / f"{str(missing[0]).zfill(width)}.png"
        require(expected, f"image {missing[0]} of class {k}", NAME, PUBLISHED)
    return latents, [files[j] for j in range(len(latents))]


def load_latents(path: Path) -> np.ndarray:
    """An N x 10 float array from ``.npy`` (never unpickling objects from a download)."""
    try:
        latents = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise malformed(path, f"not a readable .npy array: {err}", NAME, PUBLISHED) from None
    if latents.ndim != 2 or latents.shape[1] != len(LATENT_COLUMNS):
        problem = f"shape {latents.shape}, not N x {len(LATENT_COLUMNS)}"
        raise malformed(path, problem, NAME, PUBLISHED)
    if not np.issubdtype(latents.dtype, np.number) or not np.isfinite(latents).all():
        raise malformed(path, f"dtype {latents.dtype} or non-finite values", NAME, PUBLISHED)
    return latents.astype(np.float64)


def numbered_images(folder: Path) -> dict[int, Path]:
    """Image index -> path for every ``{j}.png``, whatever its zero padding."""
    return {int(p.stem): p for p in folder.iterdir() if p.suffix == ".png" and p.stem.isdigit()}


def subsample(n: int, count: int | None, words: list[int]) -> np.ndarray:
    """All indices, or ``count`` of them drawn from ``words`` and kept in file order."""
    if count is None or count >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(words).choice(n, size=count, replace=False))
