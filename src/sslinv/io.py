"""Atomic file writing.

Every output goes to a temporary name in the same folder and is renamed into place, so a
crash, a SLURM time limit or a NaN abort never leaves a plausible half-written file that
Snakemake (or a person) would mistake for a result.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or ".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; results are shared like any file
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_with(path: str | os.PathLike, writer: Callable[[Path], Any], suffix: str = "") -> None:
    """Call ``writer(tmp_path)`` and move the result onto ``path`` atomically."""
    with atomic_path(path, suffix=suffix) as tmp:
        writer(tmp)


def save_npy(path: str | os.PathLike, array: np.ndarray) -> None:
    """Save an array as ``.npy`` (memory-mappable by every later stage)."""
    with atomic_path(path, suffix=".npy") as tmp, open(tmp, "wb") as fh:
        np.save(fh, np.ascontiguousarray(array))


def save_json(path: str | os.PathLike, obj: Any) -> None:
    """Save JSON with sorted keys so reruns produce byte-identical files."""
    text = json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def save_csv(path: str | os.PathLike, frame: pd.DataFrame) -> None:
    """Save a table without the index (tidy tables have their keys as columns)."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def load_json(path: str | os.PathLike) -> Any:
    """Read a JSON file written by :func:`save_json`."""
    return json.loads(Path(path).read_text())


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")
