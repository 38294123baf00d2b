"""``sslinv <stage>``: the thin command line every Snakemake rule calls.

Each stage takes paths and a JSON ``--spec`` (the part of the config it uses) explicitly, so
the package runs without Snakemake and a rule's inputs, outputs and parameters are all
visible in its shell command. Errors a user can fix print one clear line, not a traceback.
The stages themselves live in ``sslinv.stages``; this module only dispatches.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from sslinv.errors import USER_ERRORS
from sslinv.stages import STAGES


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sslinv", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="stage", required=True)
    for name in STAGES:
        module = importlib.import_module(f"sslinv.stages.{name}")
        stage = sub.add_parser(name, help=module.HELP, description=module.__doc__)
        module.add_arguments(stage)
        stage.set_defaults(func=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # a data-parallel stage re-launches itself with the same arguments
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from sslinv.device import set_threads
    from sslinv.gpu_slots import claim

    set_threads(args.threads)
    try:
        with claim(args.gpus if args.device != "cpu" else 0):
            args.func(args)
    except USER_ERRORS as err:
        print(f"sslinv {args.stage}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
