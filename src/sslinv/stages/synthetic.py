"""Invariance of one model to one synthetic transform over its parameter grid."""

from __future__ import annotations

import argparse
from pathlib import Path

from sslinv.stages import common_arguments

HELP = "invariance of one model to one synthetic transform"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, required=True, help="model folder")
    parser.add_argument("--data", type=Path, required=True, help="prepared split of clean images")
    parser.add_argument("--statistics", type=Path, required=True)
    parser.add_argument("--transform", required=True)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--out", type=Path, required=True)
    common_arguments(parser)


def run(args: argparse.Namespace) -> None:
    from sslinv.checkpoint import load_encoder
    from sslinv.datasets import load_split
    from sslinv.device import resolve_device
    from sslinv.invariance import FeatureStatistics, synthetic_invariance, synthetic_rows
    from sslinv.io import save_csv
    from sslinv.transforms import get_transform

    device = resolve_device(args.device)
    encoder, _ = load_encoder(args.model, device)
    images, _ = load_split(args.data)
    transform = get_transform(args.transform)
    values = transform.grid(args.steps, images.shape[1])
    curve = synthetic_invariance(
        encoder,
        images[: args.images],
        transform,
        values,
        FeatureStatistics.load(args.statistics),
        batch_size=args.batch_size,
        device=device,
    )
    save_csv(
        args.out,
        synthetic_rows(curve, args.model.name, args.transform, transform.kind, transform.identity),
    )
