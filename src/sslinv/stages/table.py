"""Aggregate per-job results into one tidy table."""

from __future__ import annotations

import argparse
from pathlib import Path

from sslinv.stages import common_arguments

HELP = "aggregate per-job results into one tidy table"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=["synthetic", "realworld", "extrinsic", "downstream"])
    parser.add_argument("--inputs", type=Path, nargs="+", required=True)
    parser.add_argument("--out", type=Path, required=True)
    common_arguments(parser)


def run(args: argparse.Namespace) -> None:
    from sslinv.io import save_csv
    from sslinv.tables import downstream_table, stack_csv

    frame = downstream_table(args.inputs) if args.kind == "downstream" else stack_csv(args.inputs)
    save_csv(args.out, frame)
