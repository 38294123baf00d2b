"""Prepare the splits of one dataset (render scenes, convert digits or an image folder)."""

from __future__ import annotations

import argparse
from pathlib import Path

from sslinv.stages import common_arguments, parse_spec

HELP = "prepare splits of a dataset (render, convert) + sheets"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--splits", nargs="+", required=True)
    parser.add_argument("--spec", required=True, help="the dataset's config entry as JSON")
    parser.add_argument("--image-size", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True, help="dataset folder")
    common_arguments(parser)


def run(args: argparse.Namespace) -> None:
    from sslinv.datasets import prepare_dataset
    from sslinv.device import resolve_device

    prepare_dataset(
        args.dataset,
        parse_spec(args.spec),
        args.splits,
        args.image_size,
        args.out,
        device=resolve_device(args.device),
        workers=max(0, args.threads - 1) if args.threads > 1 else 0,
    )
