"""Import an external encoder (MoCo v1/v2, torchvision ResNet, project model) as a model."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from sslinv.stages import common_arguments, parse_spec

HELP = "convert a MoCo, torchvision or sslinv checkpoint into a model folder"
FORMATS = ("moco", "torchvision", "sslinv")  # sslinv.importing.FORMATS, without importing torch


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        dest="format",
        required=True,
        choices=FORMATS,
        help="moco: official MoCo v1/v2 .pth.tar; torchvision: a ResNet state dict; "
        "sslinv: a project model folder or its encoder.safetensors",
    )
    parser.add_argument("--source", type=Path, required=True, help="checkpoint file or folder")
    parser.add_argument(
        "--spec", required=True, help="the pretrain.backbone section as JSON (arch, width, ...)"
    )
    parser.add_argument("--out", type=Path, required=True, help="model folder to write")
    parser.add_argument("--name", default=None, help="model name in meta.json (default: folder)")
    common_arguments(parser)


def run(args: argparse.Namespace) -> None:
    from sslinv.importing import import_checkpoint

    spec = parse_spec(args.spec)
    meta = import_checkpoint(
        args.source, args.format, spec.get("backbone", spec), args.out, name=args.name
    )
    summary = {k: meta[k] for k in ("format", "sha256", "feature_dim", "backbone") if k in meta}
    logging.getLogger("sslinv").info(
        "imported %s as %s: %s", args.source, args.out, json.dumps(summary)
    )
