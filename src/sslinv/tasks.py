"""Linear read-outs of frozen features: extrinsic invariance and downstream tasks.

Extrinsic invariance regresses each scene latent from the features (test R^2): a feature
that is invariant to a factor cannot predict it. Downstream tasks are the transfer targets
(recognition, pose, colour, ...). Both use the same probe search (sslinv.probes), and both
use a dataset's own validation split for choosing the regularisation when it has one.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sslinv.errors import DatasetError
from sslinv.probes import fit_probe
from sslinv.targets import class_targets, regression_targets


def load_features(folder: str | Path, split: str) -> tuple[np.ndarray, pd.DataFrame]:
    """Features and their row-aligned latents for one split."""
    folder = Path(folder)
    path = folder / f"{split}.npy"
    if not path.is_file():
        raise DatasetError(f"features '{path}' are missing; build them with `snakemake {path}`")
    return np.load(path), pd.read_csv(folder / f"{split}.targets.csv")


def _splits(folder: Path) -> tuple:
    train, train_lat = load_features(folder, "train")
    test, test_lat = load_features(folder, "test")
    if (folder / "val.npy").is_file():
        val, val_lat = load_features(folder, "val")
    else:
        val, val_lat = None, None
    return train, train_lat, val, val_lat, test, test_lat


def grid(settings: Mapping[str, Any], kind: str) -> np.ndarray:
    """The probe grid: C values for logistic, alpha = 1/C for ridge (same 45 points)."""
    cs = np.logspace(
        np.log10(settings["grid_low"]), np.log10(settings["grid_high"]), settings["grid_steps"]
    )
    return cs if kind == "logistic" else np.sort(1.0 / cs)


def run_task(
    folder: str | Path, task: Mapping[str, Any], settings: Mapping[str, Any], device: str = "cpu"
) -> dict:
    """Fit one downstream probe; return the chosen value, validation curve and test score."""
    train, train_lat, val, val_lat, test, test_lat = _splits(Path(folder))
    kind = task["probe"]

    def pick(latents: pd.DataFrame) -> np.ndarray:
        if kind == "logistic":
            return class_targets(latents, task["target"])
        return regression_targets(latents, task["target"])[0]

    result = fit_probe(
        train,
        pick(train_lat),
        test,
        pick(test_lat),
        kind=kind,
        metric=task["metric"],
        grid=grid(settings, kind),
        val_fraction=settings["val_fraction"],
        seed=settings["seed"],
        device=device,
        X_val=val,
        y_val=None if val_lat is None else pick(val_lat),
    )
    return result.to_dict()


def extrinsic_invariance(
    folder: str | Path,
    latents: Mapping[str, float | None],
    settings: Mapping[str, Any],
    device: str = "cpu",
) -> pd.DataFrame:
    """Test R^2 of a ridge probe per latent (circular latents as their sin/cos pair)."""
    train, train_lat, val, val_lat, test, test_lat = _splits(Path(folder))
    rows = []
    for column, period in latents.items():
        spec = {column: period}
        result = fit_probe(
            train,
            regression_targets(train_lat, spec)[0],
            test,
            regression_targets(test_lat, spec)[0],
            kind="ridge",
            metric="r2",
            grid=grid(settings, "ridge"),
            val_fraction=settings["val_fraction"],
            seed=settings["seed"],
            device=device,
            X_val=val,
            y_val=None if val_lat is None else regression_targets(val_lat, spec)[0],
        )
        rows.append(
            {
                "latent": column,
                "circular": period is not None,
                "r2": result.test_score,
                "val_r2": result.val_score,
                "alpha": result.best_param,
            }
        )
    return pd.DataFrame(rows)
