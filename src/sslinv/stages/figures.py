"""Render one of the paper's figures from the result tables."""

from __future__ import annotations

import argparse
from pathlib import Path

from sslinv.stages import common_arguments, parse_spec

HELP = "render one figure (figure1, curves, invariance_vs_performance) from the tables"
KINDS = ("figure1", "curves", "invariance_vs_performance")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--tables", type=Path, required=True, help="folder of the tidy tables")
    parser.add_argument("--metric", choices=["cosine", "mahalanobis"], default="cosine")
    parser.add_argument("--spec", required=True, help='{"models": [...], "fusions": [...]}')
    parser.add_argument("--out", type=Path, required=True, help="the .pdf (a .png is written too)")
    common_arguments(parser)


def run(args: argparse.Namespace) -> None:
    import pandas as pd

    from sslinv import figures
    from sslinv.transforms import TRANSFORMS

    spec = parse_spec(args.spec)
    synthetic = pd.read_csv(args.tables / "synthetic_invariance.csv")
    if args.kind == "figure1":
        figures.figure1(
            synthetic,
            pd.read_csv(args.tables / "realworld_invariance.csv"),
            pd.read_csv(args.tables / "extrinsic.csv"),
            pd.read_csv(args.tables / "downstream.csv"),
            args.metric,
            spec["models"],
            spec["fusions"],
            args.out,
        )
    elif args.kind == "curves":
        units = {name: t.unit for name, t in TRANSFORMS.items()}
        figures.transform_curves(synthetic, units, args.metric, spec["models"], args.out)
    else:
        figures.invariance_vs_performance(
            synthetic, pd.read_csv(args.tables / "downstream.csv"), spec["models"], args.out
        )
