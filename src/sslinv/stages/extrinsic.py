"""Extrinsic invariance: test R^2 of each latent from frozen features."""

from __future__ import annotations

import argparse
from pathlib import Path

from sslinv.stages import common_arguments, parse_spec

HELP = "test R^2 of each latent from frozen features"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--features", type=Path, required=True, help="features of one dataset")
    parser.add_argument("--spec", required=True, help='{"latents": ..., "probes": ...} as JSON')
    parser.add_argument("--model-name", required=True)
    parser.add_argument("--out", type=Path, required=True)
    common_arguments(parser)


def run(args: argparse.Namespace) -> None:
    from sslinv.device import resolve_device
    from sslinv.io import save_csv
    from sslinv.tasks import extrinsic_invariance

    spec = parse_spec(args.spec)
    frame = extrinsic_invariance(
        args.features,
        dict(spec["latents"]),
        spec["probes"],
        device=str(resolve_device(args.device)),
    )
    frame.insert(0, "model", args.model_name)
    frame.insert(2, "metric", "r2")
    save_csv(args.out, frame.rename(columns={"r2": "score"}))
