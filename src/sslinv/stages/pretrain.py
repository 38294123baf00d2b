"""Train (or initialise) one model of the study and write its checkpoint."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from sslinv.stages import common_arguments, parse_spec

HELP = "train (or initialise) one model; write its checkpoint"
TRAINED = ("moco_v2", "supervised")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kind", required=True, choices=["moco_v2", "supervised", "random"])
    parser.add_argument("--spec", required=True, help="training parameters as JSON")
    parser.add_argument("--data", type=Path, required=True, help="pre-training split")
    parser.add_argument("--out", type=Path, required=True, help="model folder")
    parser.add_argument(
        "--processes",
        type=int,
        default=0,
        help="data-parallel processes (default: one per GPU of --gpus on CUDA, else 1); "
        "more than 1 re-launches this command under torchrun",
    )
    common_arguments(parser)


def processes(args: argparse.Namespace, device_type: str) -> int:
    """One process per GPU the job was given; an explicit --processes wins (CPU tests)."""
    if args.kind not in TRAINED:
        return 1
    if args.processes:
        return args.processes
    return max(1, args.gpus) if device_type == "cuda" else 1


def run(args: argparse.Namespace) -> None:
    import torch

    from sslinv import distributed
    from sslinv.device import resolve_device, set_threads
    from sslinv.errors import TrainingError
    from sslinv.pretrain import build_model

    device = resolve_device(args.device)
    nproc = processes(args, device.type)
    if nproc > 1 and not distributed.launched_by_torchrun():
        code = distributed.launch(nproc, args.argv)
        if code != 0:
            raise TrainingError(
                f"the {nproc}-process pre-training run exited with code {code}; the ranks' "
                "errors are above in this log (a rerun resumes from the saved state)"
            )
        return
    world = distributed.init(device.type)
    if world.distributed:
        set_threads(max(1, args.threads // world.size) if args.threads else 0)
        if device.type == "cuda":
            device = torch.device("cuda", world.local_rank)
    try:
        meta = build_model(
            args.kind, parse_spec(args.spec), args.data, args.out, device=device, world=world
        )
    finally:
        distributed.shutdown()
    if not world.is_main:
        return
    summary = {
        k: meta[k]
        for k in (
            "final_loss",
            "final_top1",
            "knn_top1",
            "knn_majority",
            "images_per_s",
            "wall_time_s",
            "processes",
        )
        if k in meta
    }
    logging.getLogger("sslinv").info("finished %s: %s", args.out, json.dumps(summary))
