"""Concatenate the standardised features of several models (a fused model)."""

from __future__ import annotations

import argparse
from pathlib import Path

from sslinv.stages import common_arguments

HELP = "concatenate standardised features of several models"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--members", type=Path, nargs="+", required=True, help="feature folders")
    parser.add_argument("--splits", nargs="+", required=True)
    parser.add_argument("--out", type=Path, required=True)
    common_arguments(parser)


def run(args: argparse.Namespace) -> None:
    from sslinv.fusion import fuse_splits

    fuse_splits(args.members, args.splits, args.out)
