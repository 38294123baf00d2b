"""``sslinv <stage>``: the thin command line every Snakemake rule calls.

Each stage takes paths and a JSON ``--spec`` (the part of the config it uses) explicitly, so
the package runs without Snakemake and a rule's inputs, outputs and parameters are all
visible in its shell command. Errors a user can fix print one clear line, not a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from sslinv.errors import USER_ERRORS, ConfigError


def _spec(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"--spec is not valid JSON ({err})") from None
    if not isinstance(value, dict):
        raise ConfigError("--spec must be a JSON object")
    return value


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")


def cmd_data(args: argparse.Namespace) -> None:
    from sslinv.datasets import prepare_dataset
    from sslinv.device import resolve_device

    prepare_dataset(
        args.dataset,
        _spec(args.spec),
        args.splits,
        args.image_size,
        args.out,
        device=resolve_device(args.device),
    )


def cmd_pretrain(args: argparse.Namespace) -> None:
    from sslinv.device import resolve_device
    from sslinv.pretrain import build_model

    meta = build_model(
        args.kind, _spec(args.spec), args.data, args.out, device=resolve_device(args.device)
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


def cmd_features(args: argparse.Namespace) -> None:
    from sslinv.checkpoint import load_encoder
    from sslinv.device import resolve_device
    from sslinv.features import extract_splits

    device = resolve_device(args.device)
    encoder, _ = load_encoder(args.model, device)
    extract_splits(
        encoder, args.data, args.splits, args.out, batch_size=args.batch_size, device=device
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sslinv", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="stage", required=True)

    p = sub.add_parser("data", help="prepare splits of a dataset (render, convert) + sheets")
    p.add_argument("--dataset", required=True)
    p.add_argument("--splits", nargs="+", required=True)
    p.add_argument("--spec", required=True, help="the dataset's config entry as JSON")
    p.add_argument("--image-size", type=int, required=True)
    p.add_argument("--out", type=Path, required=True, help="dataset folder (one subfolder a split)")
    _common(p)
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("pretrain", help="train (or initialise) one model; write its checkpoint")
    p.add_argument("--kind", required=True, choices=["moco_v2", "supervised", "random"])
    p.add_argument("--spec", required=True, help="training parameters as JSON")
    p.add_argument("--data", type=Path, required=True, help="prepared pre-training split folder")
    p.add_argument("--out", type=Path, required=True, help="model folder")
    _common(p)
    p.set_defaults(func=cmd_pretrain)

    p = sub.add_parser("features", help="frozen features of every split of one dataset")
    p.add_argument("--model", type=Path, required=True, help="model folder with the checkpoint")
    p.add_argument("--data", type=Path, required=True, help="prepared dataset folder")
    p.add_argument("--splits", nargs="+", required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--batch-size", type=int, default=256)
    _common(p)
    p.set_defaults(func=cmd_features)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from sslinv.device import set_threads

    set_threads(args.threads)
    try:
        args.func(args)
    except USER_ERRORS as err:
        print(f"sslinv {args.stage}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
