"""ALOI (Amsterdam Library of Object Images) as factor groups of one object each.

ALOI recorded 1,000 objects while changing one condition at a time, and publishes each
condition as its own tar of ``png4/{obj}/{obj}_{condition}.png`` files (quarter resolution;
``png2`` half, ``png`` full):

- ``aloi_red4_view.tar``: viewpoint, turntable angles ``_r0`` .. ``_r355`` (72 views),
- ``aloi_red4_col.tar``: illumination colour, lamp codes ``_i110`` .. ``_i250`` (12 codes),
- ``aloi_red4_ill.tar``: illumination direction, lights ``_l1`` .. ``_l8`` seen by cameras
  ``c1`` .. ``c3``.

Each tar unpacks to a bare ``png4/``, so a user either extracts every tar into one folder
(one merged ``png4/``) or each into a folder named after it (``aloi_red4_view/png4/``); both
are accepted. One object is one group, and only the chosen condition varies within it; for
illumination direction the camera is fixed too, so that only the light moves.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sslinv.errors import ConfigError, DatasetError
from sslinv.sources import Source, malformed, require
from sslinv.sources.coil100 import group_source, subsample_views, views_table

KIND = "aloi"
PUBLISHED = "http://aloi.science.uva.nl/"
NAME = "ALOI"
GROUP_PREFIX = "groups_"


@dataclass(frozen=True)
class Factor:
    """Where one recorded condition lives and how its file names encode it."""

    folder_option: str
    pattern: re.Pattern
    column: str
    example: str


FACTORS = {
    "viewpoint": Factor("view_folder", re.compile(r"(\d+)_r(\d+)\.png"), "angle", "{}_r0.png"),
    "illumination_colour": Factor(
        "colour_folder", re.compile(r"(\d+)_i(\d+)\.png"), "colour_temperature", "{}_i110.png"
    ),
    "illumination_direction": Factor(
        "illumination_folder", re.compile(r"(\d+)_l(\d+)c(\d+)\.png"), "light", "{}_l1c{}.png"
    ),
}


def splits(spec: Mapping[str, Any]) -> list[str]:
    """One ``groups_{factor}`` split per configured factor, in the config's order."""
    unknown = [f for f in spec["factors"] if f not in FACTORS]
    if unknown:
        raise ConfigError(f"ALOI has no factor {unknown[0]!r}; choose from {', '.join(FACTORS)}")
    return [GROUP_PREFIX + factor for factor in dict.fromkeys(spec["factors"])]


def read(root: str | Path, split: str, spec: Mapping[str, Any]) -> Source:
    """Groups of one factor: one per selected object, rows sorted by the factor's value."""
    if split not in splits(spec):
        raise DatasetError(f"{NAME} has no split '{split}'; it has: {', '.join(splits(spec))}")
    name = split[len(GROUP_PREFIX) :]
    factor = FACTORS[name]
    folder = images_folder(Path(root).expanduser(), spec[factor.folder_option], spec["png_folder"])
    objects = choose_objects(folder, spec["objects"], spec["max_objects"], spec["seed"])
    views = scan(folder, objects, factor, spec["camera"])
    views = subsample_views(views, factor.column, spec["views_per_group"], spec["seed"])
    return group_source(views, factor.column, f"{NAME} {name}")


def images_folder(root: Path, subset: str, png: str) -> Path:
    """``root/{subset}/{png}`` (each tar in its own folder), else ``root/{png}`` (merged)."""
    for folder in (root / subset / png, root / png):
        if folder.is_dir():
            return folder
    return require(
        root / subset / png,
        f"the '{png}' folder of {subset}.tar (or '{root / png}' if the tars were extracted "
        "into root itself)",
        NAME,
        PUBLISHED,
    )


def object_folders(folder: Path) -> dict[int, Path]:
    """The numbered object folders under ``png4/`` (other entries are not ALOI's)."""
    return {int(p.name): p for p in folder.iterdir() if p.is_dir() and p.name.isdigit()}


def choose_objects(
    folder: Path, objects: list[int] | None, max_objects: int | None, seed: int
) -> dict[int, Path]:
    """The configured objects (all found when None), then at most ``max_objects`` of them.

    Each object's place in the draw comes from (seed, object) alone, so the same seed picks
    the same objects for every factor, even when one factor's tar lacks a few objects.
    """
    found = object_folders(folder)
    if objects is not None:
        for obj in objects:
            if obj not in found:
                require(folder / str(obj), f"the folder of object {obj}", NAME, PUBLISHED)
        found = {obj: found[obj] for obj in objects}
    if not found:
        raise DatasetError(
            f"{NAME}: '{folder}' holds no numbered object folders; extract the tars from "
            f"{PUBLISHED} so that it holds {folder.name}/1/, {folder.name}/2/, ..."
        )
    if max_objects is not None and max_objects < len(found):
        key = {obj: np.random.default_rng([seed, obj, 1]).random() for obj in found}
        found = {obj: found[obj] for obj in sorted(found, key=key.__getitem__)[:max_objects]}
    return dict(sorted(found.items()))


def scan(folder: Path, objects: dict[int, Path], factor: Factor, camera: int) -> pd.DataFrame:
    """(object, factor value, path) of every matching file (one camera for light direction)."""
    per_camera = factor.pattern.groups == 3
    rows = []
    for obj, obj_folder in objects.items():
        for path in sorted(obj_folder.iterdir()):
            match = factor.pattern.fullmatch(path.name)
            if match is None:
                continue  # another condition's file in a merged png4/, or not ALOI's
            if int(match[1]) != obj:
                problem = f"it names object {match[1]} but lies in folder {obj}/"
                raise malformed(path, problem, NAME, PUBLISHED)
            if per_camera and int(match[3]) != camera:
                continue
            rows.append((obj, int(match[2]), path))
    if not rows:
        first = next(iter(objects))
        example = objects[first] / factor.example.format(first, camera)
        require(example, f"the {factor.column} image '{example.name}'", NAME, PUBLISHED)
    table = views_table(rows, factor.column, NAME)
    if per_camera:
        table["camera"] = np.int64(camera)
    return table
