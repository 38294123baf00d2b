"""Encoder checkpoints: ``encoder.safetensors`` (weights only) plus ``meta.json``.

safetensors cannot execute code on load, and the state-dict keys are torchvision's ResNet
keys (``conv1.weight``, ``layer1.0.bn1.running_mean``...), so a checkpoint is readable by
anyone with torchvision, and torchvision/MoCo checkpoints can be imported into this format.
Loading is strict: a checkpoint of the wrong architecture is an error that lists the keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from sslinv.errors import CheckpointError
from sslinv.io import atomic_path, load_json, save_json
from sslinv.models.backbone import Backbone, build_backbone

ENCODER_FILE = "encoder.safetensors"
META_FILE = "meta.json"


def save_encoder(model_dir: str | Path, backbone: Backbone, meta: Mapping[str, Any]) -> None:
    """Write the backbone's weights and its metadata (architecture first, so it can be rebuilt)."""
    model_dir = Path(model_dir)
    tensors = {k: v.detach().cpu().contiguous() for k, v in backbone.net.state_dict().items()}
    with atomic_path(model_dir / ENCODER_FILE, suffix=".safetensors") as tmp:
        save_file(tensors, str(tmp))
    save_json(model_dir / META_FILE, {**meta, "backbone": backbone.config})


def load_encoder(
    model_dir: str | Path, device: str | torch.device = "cpu"
) -> tuple[Backbone, dict]:
    """Rebuild the backbone from ``meta.json`` and load its weights strictly, in eval mode."""
    model_dir = Path(model_dir)
    weights, meta_path = model_dir / ENCODER_FILE, model_dir / META_FILE
    for path in (weights, meta_path):
        if not path.is_file():
            raise CheckpointError(
                f"checkpoint file '{path}' is missing; build it with `snakemake {path}` or check "
                f"that model '{model_dir.name}' is a variant, baseline or import in the config"
            )
    meta = load_json(meta_path)
    backbone = build_backbone(meta["backbone"])
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError) as err:
        raise CheckpointError(
            f"cannot read checkpoint '{weights}' ({err}); delete it and rerun"
        ) from None
    load_strict(backbone.net, state, source=str(weights))
    return backbone.to(device).eval(), meta


def load_strict(module: torch.nn.Module, state: Mapping[str, torch.Tensor], source: str) -> None:
    """load_state_dict(strict=True) with an error that names what does not match."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing keys: {_few(missing)}")
        if unexpected:
            parts.append(f"unexpected keys: {_few(unexpected)}")
        if wrong:
            parts.append(
                "wrong shapes: "
                + _few([f"{k} {tuple(state[k].shape)} != {tuple(own[k].shape)}" for k in wrong])
            )
        raise CheckpointError(
            f"checkpoint '{source}' does not fit the configured backbone ("
            + "; ".join(parts)
            + "). Check pretrain.backbone (arch, width, stem) against it."
        )
    module.load_state_dict(state, strict=True)


def _few(items: list[str], limit: int = 8) -> str:
    more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more
