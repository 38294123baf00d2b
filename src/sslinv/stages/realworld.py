"""Pairwise invariance within groups of real changes (viewpoint, light, ...)."""

from __future__ import annotations

import argparse
from pathlib import Path

from sslinv.errors import ConfigError
from sslinv.stages import common_arguments

HELP = "pairwise invariance within groups of real changes"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--targets", type=Path, required=True, help="latents with a 'group' column")
    parser.add_argument("--statistics", type=Path, required=True)
    parser.add_argument("--model-name", required=True)
    parser.add_argument("--factor", required=True)
    parser.add_argument("--out", type=Path, required=True)
    common_arguments(parser)


def run(args: argparse.Namespace) -> None:
    import numpy as np
    import pandas as pd

    from sslinv.invariance import FeatureStatistics, group_invariance
    from sslinv.io import save_csv

    latents = pd.read_csv(args.targets)
    if "group" not in latents:
        raise ConfigError(f"'{args.targets}' has no 'group' column: it is not a grouped split")
    scores = group_invariance(
        np.load(args.features), latents["group"].to_numpy(), FeatureStatistics.load(args.statistics)
    )
    rows = [
        {
            "model": args.model_name,
            "factor": args.factor,
            "metric": metric,
            "score": scores[metric],
            "groups": scores["groups"],
            "images_per_group": scores["images_per_group"],
        }
        for metric in ("cosine", "mahalanobis")
    ]
    save_csv(args.out, pd.DataFrame(rows))
