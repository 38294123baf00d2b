"""Train (or initialise) one model of the study and write its checkpoint."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from sslinv.stages import common_arguments, parse_spec

HELP = "train (or initialise) one model; write its checkpoint"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kind", required=True, choices=["moco_v2", "supervised", "random"])
    parser.add_argument("--spec", required=True, help="training parameters as JSON")
    parser.add_argument("--data", type=Path, required=True, help="pre-training split")
    parser.add_argument("--out", type=Path, required=True, help="model folder")
    common_arguments(parser)


def run(args: argparse.Namespace) -> None:
    from sslinv.device import resolve_device
    from sslinv.pretrain import build_model

    meta = build_model(
        args.kind, parse_spec(args.spec), args.data, args.out, device=resolve_device(args.device)
    )
    summary = {
        k: meta[k]
        for k in (
            "final_loss",
            "final_top1",
            "knn_top1",
            "knn_majority",
            "images_per_s",
            "wall_time_s",
        )
        if k in meta
    }
    logging.getLogger("sslinv").info("finished %s: %s", args.out, json.dumps(summary))
