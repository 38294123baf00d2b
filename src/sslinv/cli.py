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


def cmd_statistics(args: argparse.Namespace) -> None:
    import numpy as np

    from sslinv.invariance import feature_statistics

    stats = feature_statistics(np.load(args.features), ridge=args.ridge)
    stats.save(args.out)
    logging.getLogger("sslinv").info(
        "statistics of %d x %d features, ridge %g", stats.n, len(stats.mean), stats.ridge
    )


def cmd_synthetic(args: argparse.Namespace) -> None:
    from sslinv.checkpoint import load_encoder
    from sslinv.datasets import load_split
    from sslinv.device import resolve_device
    from sslinv.invariance import FeatureStatistics, synthetic_invariance
    from sslinv.io import save_csv
    from sslinv.tables import synthetic_rows
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


def cmd_realworld(args: argparse.Namespace) -> None:
    import numpy as np
    import pandas as pd

    from sslinv.invariance import FeatureStatistics, group_invariance
    from sslinv.io import save_csv

    latents = pd.read_csv(args.targets)
    if "group" not in latents:
        raise ConfigError(f"'{args.targets}' has no 'group' column: it is not a grouped split")
    scores = group_invariance(
        np.load(args.features), latents["group"].to_numpy(), FeatureStatistics.load(args.statistics)
    )
    rows = [
        {
            "model": args.model_name,
            "factor": args.factor,
            "metric": metric,
            "score": scores[metric],
            "groups": scores["groups"],
            "images_per_group": scores["images_per_group"],
        }
        for metric in ("cosine", "mahalanobis")
    ]
    save_csv(args.out, pd.DataFrame(rows))


def cmd_fuse(args: argparse.Namespace) -> None:
    from sslinv.fusion import fuse_splits

    fuse_splits(args.members, args.splits, args.out)


def cmd_extrinsic(args: argparse.Namespace) -> None:
    from sslinv.device import resolve_device
    from sslinv.io import save_csv
    from sslinv.tasks import extrinsic_invariance

    spec = _spec(args.spec)
    frame = extrinsic_invariance(
        args.features, spec["latents"], spec["probes"], device=str(resolve_device(args.device))
    )
    frame.insert(0, "model", args.model_name)
    frame.insert(2, "metric", "r2")
    save_csv(args.out, frame.rename(columns={"r2": "score"}))


def cmd_probe(args: argparse.Namespace) -> None:
    from sslinv.device import resolve_device
    from sslinv.io import save_json
    from sslinv.tasks import run_task

    spec = _spec(args.spec)
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


def cmd_table(args: argparse.Namespace) -> None:
    from sslinv.io import save_csv
    from sslinv.tables import downstream_table, stack_csv

    frame = downstream_table(args.inputs) if args.kind == "downstream" else stack_csv(args.inputs)
    save_csv(args.out, frame)


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

    p = sub.add_parser("statistics", help="mean, covariance and whitening of reference features")
    p.add_argument("--features", type=Path, required=True)
    p.add_argument("--ridge", type=float, default=1e-6)
    p.add_argument("--out", type=Path, required=True)
    _common(p)
    p.set_defaults(func=cmd_statistics)

    p = sub.add_parser("synthetic", help="invariance of one model to one synthetic transform")
    p.add_argument("--model", type=Path, required=True, help="model folder")
    p.add_argument("--data", type=Path, required=True, help="prepared split of clean images")
    p.add_argument("--statistics", type=Path, required=True)
    p.add_argument("--transform", required=True)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--images", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--out", type=Path, required=True)
    _common(p)
    p.set_defaults(func=cmd_synthetic)

    p = sub.add_parser("realworld", help="pairwise invariance within groups of real changes")
    p.add_argument("--features", type=Path, required=True)
    p.add_argument("--targets", type=Path, required=True, help="latents with a 'group' column")
    p.add_argument("--statistics", type=Path, required=True)
    p.add_argument("--model-name", required=True)
    p.add_argument("--factor", required=True)
    p.add_argument("--out", type=Path, required=True)
    _common(p)
    p.set_defaults(func=cmd_realworld)

    p = sub.add_parser("fuse", help="concatenate standardised features of several models")
    p.add_argument("--members", type=Path, nargs="+", required=True, help="feature folders")
    p.add_argument("--splits", nargs="+", required=True)
    p.add_argument("--out", type=Path, required=True)
    _common(p)
    p.set_defaults(func=cmd_fuse)

    p = sub.add_parser("extrinsic", help="test R^2 of each latent from frozen features")
    p.add_argument("--features", type=Path, required=True, help="feature folder of one dataset")
    p.add_argument("--spec", required=True, help='{"latents": ..., "probes": ...} as JSON')
    p.add_argument("--model-name", required=True)
    p.add_argument("--out", type=Path, required=True)
    _common(p)
    p.set_defaults(func=cmd_extrinsic)

    p = sub.add_parser("probe", help="one downstream linear probe")
    p.add_argument("--features", type=Path, required=True, help="feature folder of one dataset")
    p.add_argument("--spec", required=True, help='{"task": ..., "probes": ...} as JSON')
    p.add_argument("--model-name", required=True)
    p.add_argument("--task", required=True)
    p.add_argument("--out", type=Path, required=True)
    _common(p)
    p.set_defaults(func=cmd_probe)

    p = sub.add_parser("table", help="aggregate per-job results into one tidy table")
    p.add_argument("kind", choices=["synthetic", "realworld", "extrinsic", "downstream"])
    p.add_argument("--inputs", type=Path, nargs="+", required=True)
    p.add_argument("--out", type=Path, required=True)
    _common(p)
    p.set_defaults(func=cmd_table)
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
