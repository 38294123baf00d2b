"""Tidy result tables: one row per model x item x metric, aggregated from per-job files.

Each evaluation job writes its own small file (so a rerun touches only what changed);
these functions stack them into the four tables the figures and findings read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd


def stack_csv(paths: Sequence[str | Path]) -> pd.DataFrame:
    """Concatenate per-job CSV files (each already tidy and labelled with its model)."""
    frames = [pd.read_csv(p) for p in paths]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def downstream_table(paths: Sequence[str | Path]) -> pd.DataFrame:
    """One row per model x task from the probe jobs' JSON results."""
    rows = []
    for path in paths:
        result = json.loads(Path(path).read_text())
        rows.append(
            {
                "model": result["model"],
                "task": result["task"],
                "dataset": result["dataset"],
                "group": result["group"],
                "metric": result["metric"],
                "score": result["test_score"],
                "val_score": result["val_score"],
                "param_name": result["param_name"],
                "best_param": result["best_param"],
                "n_train": result["n_train"],
                "n_val": result["n_val"],
                "n_test": result["n_test"],
            }
        )
    return pd.DataFrame(rows)
