"""Probe targets from a latents table.

A circular factor (an angle, a hue) has no linear order: 0.99 and 0.01 are neighbours. It
is regressed as (sin, cos) of 2 pi value / period, so a linear probe can represent it; a
linear factor is regressed as is. A target spec maps column -> period (None = linear).
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from sslinv.errors import ConfigError


def expand_pattern(latents: pd.DataFrame, pattern: str) -> dict[str, None]:
    """Linear targets for every column matching a shell pattern, in table order.

    Keypoint tasks have 10-136 coordinate columns (``kp00_x`` ... ``kp67_y``); a pattern such
    as ``kp*_[xy]`` names them all without also taking visibility flags.
    """
    columns = [c for c in latents.columns if fnmatch.fnmatchcase(c, pattern)]
    if not columns:
        raise ConfigError(
            f"target pattern '{pattern}' matches no column of the latents table (columns: "
            f"{', '.join(latents.columns)}); fix the task in the config"
        )
    return dict.fromkeys(columns)


def regression_targets(
    latents: pd.DataFrame, spec: Mapping[str, float | None] | str
) -> tuple[np.ndarray, list[str]]:
    """N x T float64 targets and their names (``col`` or ``col_sin``/``col_cos``)."""
    if isinstance(spec, str):
        spec = expand_pattern(latents, spec)
    columns, names = [], []
    for column, period in spec.items():
        if column not in latents:
            raise ConfigError(
                f"target column '{column}' is not in the latents table (columns: "
                f"{', '.join(latents.columns)}); fix the task or extrinsic latents in the config"
            )
        values = latents[column].to_numpy(dtype=np.float64)
        if period is None:
            columns.append(values)
            names.append(column)
        else:
            angle = 2 * math.pi * values / float(period)
            columns += [np.sin(angle), np.cos(angle)]
            names += [f"{column}_sin", f"{column}_cos"]
    return np.stack(columns, axis=1), names


def class_targets(latents: pd.DataFrame, column: str) -> np.ndarray:
    """Class labels of one column (any dtype; the probe encodes them)."""
    if column not in latents:
        raise ConfigError(
            f"target column '{column}' is not in the latents table (columns: "
            f"{', '.join(latents.columns)}); fix the task in the config"
        )
    return latents[column].to_numpy()
