"""COIL-100 turntable views (``coil-100/obj{N}__{angle}.png``) as viewpoint factor groups.

Each of the 100 objects was photographed on a turntable every 5 degrees (72 views), with
nothing else changed, so one object is one group in which only the viewpoint varies: exactly
what the real-world invariance stage needs. The helpers that turn a table of (object, factor
value, path) into groups live here and are reused by :mod:`sslinv.sources.aloi`, whose
objects are recorded the same way.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sslinv.errors import DatasetError
from sslinv.sources import Source, check_split, malformed, require

KIND = "coil100"
PUBLISHED = "https://www.cs.columbia.edu/CAVE/software/softlib/coil-100.php"
NAME = "COIL-100"
FOLDER = "coil-100"
SPLITS = ("groups_viewpoint",)
FILE = re.compile(r"obj(\d+)__(\d+)\.png")
FULL_TURN = 360

log = logging.getLogger(__name__)


def splits(spec: Mapping[str, Any]) -> list[str]:
    """Only viewpoint groups: COIL-100 varies nothing else."""
    return list(SPLITS)


def read(root: str | Path, split: str, spec: Mapping[str, Any]) -> Source:
    """One group per object, its views sorted by turntable angle."""
    check_split(NAME, split, SPLITS)
    folder = images_folder(Path(root).expanduser())
    views = scan(folder)
    views = select_objects(views, spec["objects"], folder, "obj{}__0.png", NAME, PUBLISHED)
    views = subsample_views(views, "angle", spec["views_per_group"], spec["seed"])
    return group_source(views, "angle", NAME)


def images_folder(root: Path) -> Path:
    """Accept ``coil-100/`` itself or the folder the zip was extracted in."""
    if (root / FOLDER).is_dir():
        return root / FOLDER
    if root.is_dir() and any(FILE.fullmatch(p.name) for p in root.glob("obj*__*.png")):
        return root
    return require(root / FOLDER, "the folder of obj{N}__{angle}.png images", NAME, PUBLISHED)


def scan(folder: Path) -> pd.DataFrame:
    """(object, angle, path) of every view; the zip's helper script and other files are skipped.

    A PNG whose name does not fit the pattern is skipped with one warning, since it most likely
    means the files were renamed and views are silently missing.
    """
    rows, odd = [], []
    for path in sorted(folder.iterdir()):
        match = FILE.fullmatch(path.name)
        if match is None:
            if path.suffix.lower() == ".png":
                odd.append(path.name)
            continue
        angle = int(match[2])
        if angle >= FULL_TURN:
            raise malformed(path, f"angle {angle} is not in [0, {FULL_TURN})", NAME, PUBLISHED)
        rows.append((int(match[1]), angle, path))
    if odd:
        log.warning(
            "%s: skipped %d PNG files in '%s' not named obj{N}__{angle}.png (e.g. '%s')",
            NAME,
            len(odd),
            folder,
            odd[0],
        )
    if not rows:
        raise DatasetError(
            f"{NAME}: no images named obj{{N}}__{{angle}}.png in '{folder}'; download "
            f"coil-100.zip from {PUBLISHED} and point the config's 'root' at the extracted folder"
        )
    return views_table(rows, "angle", NAME)


# ------------------------------------------------------------------ factor groups (shared)


def views_table(rows: Sequence[tuple[int, int, Path]], factor: str, dataset: str) -> pd.DataFrame:
    """Rows (object, factor value, path) sorted, refusing two files for one view.

    Two names that parse to the same view (``obj1__5.png`` and ``obj1__05.png``) would give a
    group a duplicated image and inflate its similarity, so they stop the run.
    """
    table = pd.DataFrame(rows, columns=["object", factor, "path"])
    table = table.sort_values(["object", factor], kind="stable").reset_index(drop=True)
    twins = table[table.duplicated(["object", factor], keep=False)]
    if len(twins):
        first, second = twins["path"].iloc[0], twins["path"].iloc[1]
        raise DatasetError(
            f"{dataset}: '{first}' and '{second}' are the same view (object "
            f"{twins['object'].iloc[0]}, {factor} {twins[factor].iloc[0]}); delete one"
        )
    return table


def select_objects(
    table: pd.DataFrame,
    objects: Sequence[int] | None,
    folder: Path,
    example: str,
    dataset: str,
    published: str,
) -> pd.DataFrame:
    """Keep the configured objects (all when None), failing on one that has no images."""
    if objects is None:
        return table
    missing = sorted(set(objects) - set(table["object"]))
    if missing:
        raise DatasetError(
            f"{dataset}: object {missing[0]} is in the config's 'objects' but '{folder}' has no "
            f"image of it (expected e.g. '{folder / example.format(missing[0])}'); remove it "
            f"from 'objects' or get the full dataset from {published}"
        )
    return table[table["object"].isin(objects)].reset_index(drop=True)


def subsample_views(
    table: pd.DataFrame, factor: str, per_group: int | None, seed: int
) -> pd.DataFrame:
    """Keep ``per_group`` evenly spaced views of each object (all when None).

    Evenly spaced rather than random so that a subset still spans the factor's whole range
    (12 of 72 turntable views are every 30 degrees, not a random cluster). The start is drawn
    per object from (seed, object), so an object's views do not depend on which other objects
    are selected, and groups do not all share the same canonical angles.
    """
    if per_group is None:
        return table
    keep = []
    for obj, rows in table.groupby("object", sort=True):
        index = rows.index.to_numpy()
        if per_group >= len(index):
            keep.append(index)
            continue
        start = np.random.default_rng([seed, int(obj)]).integers(len(index))
        steps = np.floor(np.arange(per_group) * len(index) / per_group).astype(np.int64)
        keep.append(np.sort(index[(start + steps) % len(index)]))
    return table.loc[np.concatenate(keep)].reset_index(drop=True)


def group_source(table: pd.DataFrame, factor: str, dataset: str) -> Source:
    """Latents ``group, label, factor, ...`` and paths, one group per object with >= 2 views.

    ``label`` is the object number minus one, so it is the same class index whichever objects
    are selected; ``group`` counts the kept objects from 0. A lone view has no pair to compare,
    so its object is dropped with a warning rather than scored.
    """
    sizes = table.groupby("object")["object"].transform("size")
    lonely = sorted(table.loc[sizes < 2, "object"].unique())
    if lonely:
        log.warning(
            "%s: dropped %d objects with fewer than 2 %s views (e.g. object %d)",
            dataset,
            len(lonely),
            factor,
            lonely[0],
        )
    table = table[sizes >= 2].sort_values(["object", factor], kind="stable")
    if table.empty:
        raise DatasetError(
            f"{dataset}: no object has 2 or more {factor} views, so there is no group to score; "
            "select more objects or views"
        )
    extra = [c for c in table.columns if c not in ("object", factor, "path")]
    group = pd.factorize(table["object"], sort=True)[0].astype(np.int64)
    latents = pd.DataFrame(
        {
            "group": group,
            "label": table["object"].to_numpy(np.int64) - 1,
            factor: table[factor].to_numpy(np.int64),
            **{c: table[c].to_numpy() for c in extra},
        }
    )
    return Source(latents=latents, paths=[Path(p) for p in table["path"]])
