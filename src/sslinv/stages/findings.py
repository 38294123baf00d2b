"""Answer the paper's four questions from the result tables."""

from __future__ import annotations

import argparse
from pathlib import Path

from sslinv.stages import common_arguments, parse_spec

HELP = "answer Q1-Q4 from the tables: findings.md and a summary CSV"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tables", type=Path, required=True, help="folder of the tidy tables")
    parser.add_argument("--spec", required=True, help='{"variants": [...], "fusions": [...]}')
    parser.add_argument("--markdown", type=Path, required=True)
    parser.add_argument("--summary", type=Path, required=True, help="CSV: one row per question")
    common_arguments(parser)


def run(args: argparse.Namespace) -> None:
    import pandas as pd

    from sslinv import findings
    from sslinv.io import atomic_path, save_csv

    spec = parse_spec(args.spec)
    downstream = pd.read_csv(args.tables / "downstream.csv")
    answers = findings.answer(
        pd.read_csv(args.tables / "synthetic_invariance.csv"),
        pd.read_csv(args.tables / "realworld_invariance.csv"),
        downstream,
        spec["variants"],
        spec["fusions"],
    )
    save_csv(args.summary, findings.summary_table(answers))
    with atomic_path(args.markdown) as tmp:
        tmp.write_text(findings.markdown(answers, downstream))
