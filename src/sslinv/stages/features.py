"""Frozen features of every split of one dataset."""

from __future__ import annotations

import argparse
from pathlib import Path

from sslinv.stages import common_arguments

HELP = "frozen features of every split of one dataset"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, required=True, help="model folder")
    parser.add_argument("--data", type=Path, required=True, help="prepared dataset folder")
    parser.add_argument("--splits", nargs="+", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--batch-size", type=int, default=256)
    common_arguments(parser)


def run(args: argparse.Namespace) -> None:
    from sslinv.checkpoint import load_encoder
    from sslinv.device import resolve_device
    from sslinv.features import extract_splits

    device = resolve_device(args.device)
    encoder, _ = load_encoder(args.model, device)
    extract_splits(
        encoder, args.data, args.splits, args.out, batch_size=args.batch_size, device=device
    )
