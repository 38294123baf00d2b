"""How long `snakemake -n` takes to plan the full paper DAG (goal: under 10 s).

Usage: python benchmarks/paper_dag.py  (makes empty dataset folders in a temp data_root)
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    config = yaml.safe_load((REPO / "configs/paper.yaml").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for spec in config["datasets"].values():
            (root / spec["root"]).mkdir(parents=True, exist_ok=True)
        for spec in config["import"].values():
            (root / spec["path"]).parent.mkdir(parents=True, exist_ok=True)
            (root / spec["path"]).write_bytes(b"")
        command = [
            str(Path(sys.executable).parent / "snakemake"), "-n", "--configfile",
            "configs/paper.yaml", "--config", f"data_root={root}", "--directory", str(root),
            "--snakefile", str(REPO / "Snakefile"),
        ]  # fmt: skip
        times = []
        for _ in range(3):
            started = time.perf_counter()
            done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True)
            times.append(time.perf_counter() - started)
        total = re.search(r"^total\s+(\d+)$", done.stdout + done.stderr, re.M)
    print(f"paper DAG: {total.group(1) if total else '?'} jobs planned in "
          f"{min(times):.1f} s (best of 3; {', '.join(f'{t:.1f}' for t in times)})")  # fmt: skip


if __name__ == "__main__":
    main()
