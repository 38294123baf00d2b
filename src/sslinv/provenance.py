"""Which package code a workflow stage runs, as a content hash.

Snakemake notices edits to a rule's shell text, not to the Python modules the rule runs.
Each rule therefore carries ``code_hash(stage)`` in its ``params:``: the hash of the source
of ``sslinv.stages.<stage>`` and of every ``sslinv`` module it imports, directly or through
other modules, at the top or inside functions. Editing the probe solver changes the hash of
the probe and extrinsic stages only; touching a file without changing it changes nothing.
The dispatcher ``sslinv.cli`` is left out: it only routes a command to its stage.
"""

from __future__ import annotations

import ast
import hashlib
from functools import cache
from pathlib import Path

PACKAGE = "sslinv"


PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def _source(module: str) -> Path | None:
    """The file of a package module, found on disk: ``importlib.util.find_spec`` would
    import every parent package (``sslinv.pretrain`` pulls in torch) just to plan the DAG.
    """
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    base = PACKAGE_DIR.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _is_module(name: str) -> bool:
    return _source(name) is not None


def _parents(module: str) -> list[str]:
    """Package ``__init__`` modules run on import: sslinv.models.moco -> sslinv, sslinv.models."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


@cache
def direct_imports(module: str) -> frozenset[str]:
    """``sslinv`` modules named by any import statement in ``module``'s source."""
    path = _source(module)
    if path is None:
        return frozenset()
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            # `from sslinv import scenes` imports the submodule sslinv.scenes
            names += [
                f"{node.module}.{a.name}"
                for a in node.names
                if _is_module(f"{node.module}.{a.name}")
            ]
        for name in names:
            if name == PACKAGE or name.startswith(PACKAGE + "."):
                found.update(n for n in [*_parents(name), name] if _is_module(n))
    return frozenset(found)


def module_closure(module: str) -> list[str]:
    """``module`` and every ``sslinv`` module it reaches through imports, sorted."""
    seen: set[str] = set()
    todo = [module, *_parents(module)]
    while todo:
        name = todo.pop()
        if name in seen or not _is_module(name):
            continue
        seen.add(name)
        todo.extend(direct_imports(name))
    return sorted(seen)


def code_hash(stage: str) -> str:
    """Content hash of the code stage ``stage`` runs (16 hex digits)."""
    digest = hashlib.sha256()
    for name in module_closure(f"{PACKAGE}.stages.{stage}"):
        digest.update(name.encode() + b"\0" + _source(name).read_bytes() + b"\0")
    return digest.hexdigest()[:16]
