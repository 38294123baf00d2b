"""One module per workflow stage: its command-line arguments and its ``run``.

A stage module imports only argparse at the top (heavy imports happen inside ``run``), so
``sslinv --help`` is instant, and the code a stage really runs is exactly the closure of its
module's imports: that is what ``sslinv.provenance`` hashes to decide which rules to rerun.
"""

from __future__ import annotations

import argparse
import json

from sslinv.errors import ConfigError

STAGES = (
    "data",
    "pretrain",
    "import_checkpoint",
    "features",
    "statistics",
    "synthetic",
    "realworld",
    "fuse",
    "extrinsic",
    "probe",
    "table",
    "figures",
    "findings",
)


def parse_spec(text: str) -> dict:
    """A stage's ``--spec``: the JSON object of the config part it uses."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"--spec is not valid JSON ({err})") from None
    if not isinstance(value, dict):
        raise ConfigError("--spec must be a JSON object")
    return value


def common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument(
        "--gpus",
        type=int,
        default=0,
        help="GPUs this job may use (the rule's gpu resource); free ones are claimed so "
        "concurrent jobs of a workstation do not share a device",
    )
