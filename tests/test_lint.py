"""Code and workflow hygiene the project promises: ruff, snakefmt and snakemake --lint clean."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import BIN, REPO, tool_env


@pytest.mark.parametrize(
    "command",
    [
        [str(BIN / "ruff"), "check", "src", "tests", "benchmarks"],
        [str(BIN / "snakefmt"), "--check", "Snakefile", "workflow/rules"],
        [str(BIN / "snakemake"), "--lint"],
    ],
    ids=["ruff", "snakefmt", "snakemake-lint"],
)
def test_clean(command):
    result = subprocess.run(
        command, cwd=REPO, env=tool_env(), capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
