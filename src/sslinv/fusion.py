"""Feature fusion: concatenate several models' standardised features (no network involved).

Each member is z-scored with its own training-split statistics before concatenation, so no
member dominates the fused probe by the scale of its features; the fused "model" is then
probed like any other.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sslinv.errors import DatasetError
from sslinv.io import save_npy


def fuse(members: Sequence[np.ndarray], train_members: Sequence[np.ndarray]) -> np.ndarray:
    """Concatenate each member standardised with the matching training-split mean/std."""
    if len(members) != len(train_members) or not members:
        raise ValueError("fuse needs one training array per member")
    parts = []
    for x, train in zip(members, train_members, strict=True):
        mean = train.mean(axis=0)
        std = np.maximum(train.std(axis=0), 1e-8)
        parts.append((np.asarray(x, dtype=np.float64) - mean) / std)
    n = {len(p) for p in parts}
    if len(n) != 1:
        raise ValueError(f"members have different numbers of rows: {sorted(n)}")
    return np.concatenate(parts, axis=1).astype(np.float32)


def fuse_splits(
    member_dirs: Sequence[str | Path],
    splits: Sequence[str],
    out_dir: str | Path,
    train_split: str = "train",
) -> None:
    """Write fused ``{split}.npy`` (+ targets) for every split of one dataset."""
    member_dirs = [Path(d) for d in member_dirs]
    out_dir = Path(out_dir)
    train = [_load(d, train_split) for d in member_dirs]
    for split in splits:
        save_npy(out_dir / f"{split}.npy", fuse([_load(d, split) for d in member_dirs], train))
        targets = member_dirs[0] / f"{split}.targets.csv"
        out_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(targets, out_dir / f"{split}.targets.csv")


def _load(folder: Path, split: str) -> np.ndarray:
    path = folder / f"{split}.npy"
    if not path.is_file():
        raise DatasetError(f"features '{path}' are missing; build them with `snakemake {path}`")
    return np.load(path)
