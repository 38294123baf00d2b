"""Mean, covariance and whitening factor of a model's reference features."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from sslinv.stages import common_arguments

HELP = "mean, covariance and whitening of reference features"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--ridge", type=float, default=1e-6)
    parser.add_argument("--out", type=Path, required=True)
    common_arguments(parser)


def run(args: argparse.Namespace) -> None:
    import numpy as np

    from sslinv.invariance import feature_statistics

    stats = feature_statistics(np.load(args.features), ridge=args.ridge)
    stats.save(args.out)
    logging.getLogger("sslinv").info(
        "statistics of %d x %d features, ridge %g", stats.n, len(stats.mean), stats.ridge
    )
