"""One downstream linear probe (model x task)."""

from __future__ import annotations

import argparse
from pathlib import Path

from sslinv.stages import common_arguments, parse_spec

HELP = "one downstream linear probe"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--features", type=Path, required=True, help="features of one dataset")
    parser.add_argument("--spec", required=True, help='{"task": ..., "probes": ...} as JSON')
    parser.add_argument("--model-name", required=True)
    parser.add_argument("--task", required=True)
    parser.add_argument("--out", type=Path, required=True)
    common_arguments(parser)


def run(args: argparse.Namespace) -> None:
    from sslinv.device import resolve_device
    from sslinv.io import save_json
    from sslinv.tasks import run_task

    spec = parse_spec(args.spec)
    task = spec["task"]
    result = run_task(args.features, task, spec["probes"], device=str(resolve_device(args.device)))
    save_json(
        args.out,
        {
            "model": args.model_name,
            "task": args.task,
            "dataset": task["dataset"],
            "group": task["group"],
            **result,
        },
    )
