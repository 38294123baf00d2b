"""Importing external encoders (MoCo v1/v2, torchvision ResNets, project models).

Every import ends as the project's own checkpoint (``encoder.safetensors`` + ``meta.json``),
so later stages cannot tell an imported model from a trained one except by ``meta["kind"]``.

Safety and strictness:

* PyTorch files are read with ``torch.load(..., weights_only=True)`` only: tensors and plain
  containers load, any other pickled object is refused instead of executed.
* The converted state dict must match ``build_backbone(backbone_spec)`` key for key and
  shape for shape; a mismatch is a :class:`CheckpointError` that lists the missing,
  unexpected and wrongly shaped keys, guesses the checkpoint's architecture from its
  weights, and says what to change (``format`` or ``pretrain.backbone``).
* Everything is checked before anything is written, and the two files are written to a
  temporary folder that is moved into place at the end: a failed import leaves no output.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from sslinv.checkpoint import ENCODER_FILE, META_FILE, load_strict, save_encoder
from sslinv.errors import CheckpointError, ConfigError
from sslinv.io import load_json
from sslinv.models.backbone import Backbone, build_backbone

FORMATS = ("moco", "torchvision", "sslinv")
KIND = "imported"
SHOW = 10  # keys listed per kind of mismatch


def import_checkpoint(
    path: str | os.PathLike,
    fmt: str,
    backbone_spec: Mapping[str, Any],
    out_dir: str | os.PathLike,
    *,
    name: str | None = None,
) -> dict:
    """Convert the checkpoint at ``path`` (format ``fmt``) into a model folder ``out_dir``.

    ``backbone_spec`` is the config's ``pretrain.backbone`` section; the checkpoint must fit
    it exactly. ``name`` is the model name recorded in the metadata (default: the folder
    name). Returns the metadata written to ``meta.json``.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"unknown checkpoint format {fmt!r}; use one of {', '.join(FORMATS)}")
    path, out_dir = Path(path), Path(out_dir)
    try:
        backbone = build_backbone(backbone_spec)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"invalid pretrain.backbone {dict(backbone_spec)!r}: {err}") from None

    if fmt == "sslinv":
        state, info, hashed = _read_sslinv(path, backbone)
    else:
        if path.is_dir():
            raise CheckpointError(
                f"checkpoint '{path}' is a folder; format '{fmt}' expects a PyTorch file "
                "(a project model folder is imported with format 'sslinv')"
            )
        raw = _torch_load(path)
        if fmt == "moco":
            state, info = _moco_state(raw, path)
        else:
            state, info = _torchvision_state(raw, path)
        hashed = path
    state = _fill_num_batches_tracked(state, backbone)
    check_fits(backbone, state, source=path, fmt=fmt, info=info)
    load_strict(backbone.net, state, source=str(path))  # cannot fail after check_fits
    backbone.eval()

    meta: dict[str, Any] = {
        "model": name or out_dir.name,
        "kind": KIND,
        "format": fmt,
        "source": str(path),
        "sha256": sha256_file(hashed),
        "feature_dim": backbone.feature_dim,
        "n_tensors": len(state),
        **{k: v for k, v in info.items() if k.startswith("source_")},
    }
    _save_atomically(out_dir, backbone, meta)
    return {**meta, "backbone": backbone.config}


# --------------------------------------------------------------------------- reading


def _torch_load(path: Path) -> Any:
    if not path.is_file():
        raise CheckpointError(f"checkpoint '{path}' does not exist (check the import's path)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for foreign or corrupt files
        text = re.sub(r"\x1b\[[0-9;]*m", "", str(err))
        refused = re.search(r"Unsupported global: GLOBAL (\S+)|unsupported GLOBAL (\S+)", text)
        if refused:
            raise CheckpointError(
                f"checkpoint '{path}' pickles the Python object "
                f"{refused.group(1) or refused.group(2)}, which is refused: only tensors and "
                "plain containers are loaded "
                "(weights_only=True), since unpickling arbitrary objects can run code. "
                "Re-save just the weights (torch.save(model.state_dict(), ...)) and import that"
            ) from None
        detail = re.search(r"WeightsUnpickler error:\s*(.+?)\s*(?:\n\n|$)", text, re.S)
        reason = detail.group(1) if detail else text.strip().splitlines()[0] if text else ""
        hint = (
            "; a project model folder or encoder.safetensors is imported with format 'sslinv'"
            if path.suffix == ".safetensors"
            else ""
        )
        raise CheckpointError(
            f"checkpoint '{path}' is not a PyTorch checkpoint that loads with weights_only=True "
            f"({type(err).__name__}: {reason or 'no details'}); it must be a torch.save file "
            f"holding only tensors and plain containers{hint}"
        ) from None


def _read_sslinv(path: Path, backbone: Backbone) -> tuple[dict, dict, Path]:
    weights = path / ENCODER_FILE if path.is_dir() else path
    if not weights.is_file():
        raise CheckpointError(
            f"checkpoint '{weights}' does not exist; format 'sslinv' expects a model folder "
            f"(with {ENCODER_FILE} and {META_FILE}) or its {ENCODER_FILE}"
        )
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(
            f"cannot read checkpoint '{weights}' as safetensors ({err}); format 'sslinv' "
            "expects a project model folder (PyTorch files use format 'moco' or 'torchvision')"
        ) from None
    info: dict[str, Any] = {}
    meta_path = weights.parent / META_FILE
    if meta_path.is_file():
        source_meta = load_json(meta_path)
        info = {f"source_{k}": source_meta[k] for k in ("model", "kind") if k in source_meta}
        if isinstance(source_meta.get("backbone"), Mapping):
            try:
                source_config = build_backbone(source_meta["backbone"]).config
            except (ValueError, TypeError) as err:
                raise CheckpointError(f"'{meta_path}' names an unknown backbone ({err})") from None
            if source_config != backbone.config:
                raise CheckpointError(
                    f"checkpoint '{weights}' was built with backbone {source_config} "
                    f"(its {META_FILE}) but pretrain.backbone is {backbone.config}; set "
                    "pretrain.backbone to the checkpoint's (stem_stride cannot be checked "
                    "from the weights, so it must match too)"
                )
    return dict(state), info, weights


def _state_dict(raw: Any, path: Path, wrappers: tuple[str, ...]) -> dict[str, torch.Tensor]:
    """The tensor dict inside ``raw`` (the dict itself, or one of its ``wrappers`` keys)."""
    if isinstance(raw, Mapping):
        for key in wrappers:
            if isinstance(raw.get(key), Mapping):
                raw = raw[key]
                break
    if not isinstance(raw, Mapping) or not raw:
        raise CheckpointError(
            f"checkpoint '{path}' holds a {type(raw).__name__}, not a state dict "
            f"(a mapping of parameter names to tensors, optionally under {' or '.join(wrappers)})"
        )
    tensors = {str(k): v for k, v in raw.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise CheckpointError(
            f"checkpoint '{path}' has no tensors at its top level or under "
            f"{' or '.join(wrappers)} (top-level keys: {_few(sorted(map(str, raw)))[0]})"
        )
    return tensors


def _strip(state: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def _moco_state(raw: Any, path: Path) -> tuple[dict, dict]:
    """The query encoder's trunk of a MoCo checkpoint, without its ``fc`` head.

    Official MoCo v1/v2 (``module.encoder_q.conv1.weight`` ... ``module.encoder_q.fc.*``),
    its single-GPU variant without ``module.``, and this project's own ``MoCo`` layout
    (``encoder_q.0.net.conv1.weight`` ... ``encoder_q.1.*`` for the head).
    """
    info: dict[str, Any] = {}
    if isinstance(raw, Mapping):
        for key in ("epoch", "arch"):
            value = raw.get(key)
            if isinstance(value, (int, str)) and not isinstance(value, bool):
                info[f"source_{key}"] = value
    state = _state_dict(raw, path, ("state_dict", "model"))
    if all(k.startswith("module.") for k in state):
        state = _strip(state, "module.")
    query = _strip(state, "encoder_q.")
    if not query:
        looks = (
            "; its keys look like a plain ResNet state dict: use format 'torchvision'"
            if "conv1.weight" in state
            else ""
        )
        raise CheckpointError(
            f"checkpoint '{path}' has no 'encoder_q.*' keys, so it is not a MoCo v1/v2 "
            f"checkpoint (first keys: {_few(sorted(state))[0]}){looks}"
        )
    if any(k.startswith("0.net.") for k in query):  # sslinv.models.moco.MoCo
        trunk = _strip(query, "0.net.")
    else:
        trunk = {k: v for k, v in query.items() if not k.startswith("fc.")}
    return trunk, info


def _torchvision_state(raw: Any, path: Path) -> tuple[dict, dict]:
    """A torchvision ResNet state dict (bare or under 'state_dict'/'model'), minus ``fc``."""
    state = _state_dict(raw, path, ("state_dict", "model"))
    if all(k.startswith("module.") for k in state):  # saved from DataParallel
        state = _strip(state, "module.")
    return {k: v for k, v in state.items() if not k.startswith("fc.")}, {}


def _fill_num_batches_tracked(state: dict, backbone: Backbone) -> dict:
    """Old checkpoints lack BN's unused ``num_batches_tracked``; torch itself allows that."""
    own = backbone.net.state_dict()
    filled = dict(state)
    for key, value in own.items():
        prefix = key[: -len("num_batches_tracked")]
        if (
            key.endswith(".num_batches_tracked")
            and key not in filled
            and f"{prefix}running_mean" in filled
        ):
            filled[key] = torch.zeros_like(value)
    return filled


# --------------------------------------------------------------------------- checking


def check_fits(
    backbone: Backbone,
    state: Mapping[str, torch.Tensor],
    *,
    source: str | os.PathLike,
    fmt: str,
    info: Mapping[str, Any] | None = None,
) -> None:
    """Raise a CheckpointError naming every mismatch between ``state`` and ``backbone``."""
    own = backbone.net.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if not (missing or unexpected or wrong):
        return
    parts = []
    if missing:
        text, n = _few(missing)
        parts.append(f"{n} missing keys: {text}")
    if unexpected:
        text, n = _few(unexpected)
        parts.append(f"{n} unexpected keys: {text}")
    if wrong:
        text, n = _few(
            [f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)} expected" for k in wrong]
        )
        parts.append(f"{n} wrong shapes: {text}")
    raise CheckpointError(
        f"checkpoint '{source}' (format '{fmt}') does not fit pretrain.backbone "
        f"{backbone.config} ({'; '.join(parts)}). {_likely_cause(state, backbone, fmt, info)}"
    )


def _likely_cause(state: Mapping, backbone: Backbone, fmt: str, info: Mapping | None) -> str:
    keys = list(state)
    if any(re.match(r"(module\.)?encoder_[qk]\.", k) for k in keys) or "queue" in state:
        return "Its keys look like a MoCo checkpoint: use format 'moco'."
    guess = guess_backbone(state)
    if guess is None:
        return (
            "Its keys are not a torchvision ResNet's (conv1, bn1, layer1..layer4): check the "
            f"import's format ('{fmt}' given; one of {', '.join(FORMATS)}) and that the file "
            "is a ResNet checkpoint."
        )
    differs = {k: v for k, v in guess.items() if backbone.config.get(k) != v}
    arch = (info or {}).get("source_arch")
    said = f" (the checkpoint itself says arch {arch!r})" if arch else ""
    if differs:
        return (
            f"Its weights look like {guess}{said}: set pretrain.backbone "
            + ", ".join(f"{k}: {v}" for k, v in differs.items())
            + "."
        )
    return (
        f"Its weights look like {guess}{said}, as configured, so the format is probably "
        f"wrong ('{fmt}' given; one of {', '.join(FORMATS)}) or the file is damaged."
    )


def guess_backbone(state: Mapping[str, torch.Tensor]) -> dict | None:
    """arch, width and stem of a ResNet state dict, read from its weights (None: no ResNet)."""
    conv1 = state.get("conv1.weight")
    if conv1 is None or conv1.ndim != 4:
        return None
    blocks = [
        len({m.group(1) for k in state if (m := re.match(rf"layer{i}\.(\d+)\.", k))})
        for i in range(1, 5)
    ]
    bottleneck = any(k.endswith(".conv3.weight") for k in state)
    depth = {((2, 2, 2, 2), False): "resnet18", ((3, 4, 6, 3), False): "resnet34"}
    depth.update({((3, 4, 6, 3), True): "resnet50", ((3, 4, 23, 3), True): "resnet101"})
    depth[((3, 8, 36, 3), True)] = "resnet152"
    arch = depth.get((tuple(blocks), bottleneck), f"a ResNet with blocks {blocks}")
    stem = "imagenet" if conv1.shape[-1] == 7 else "small" if conv1.shape[-1] == 3 else "?"
    return {"arch": arch, "width": int(conv1.shape[0]), "stem": stem}


def _few(items: list[str], limit: int = SHOW) -> tuple[str, int]:
    more = f", ... (+{len(items) - limit} more)" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more, len(items)


# --------------------------------------------------------------------------- writing


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _save_atomically(out_dir: Path, backbone: Backbone, meta: Mapping[str, Any]) -> None:
    """Write both files in a temporary sibling folder, then move them into ``out_dir``.

    The encoder goes first and ``meta.json`` last, each with an atomic rename, so an
    interrupted import never leaves a ``meta.json`` beside a stale or missing encoder.
    """
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.import.", dir=out_dir.parent))
    try:
        umask = os.umask(0o022)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp's 0700 would follow the folder into place
        save_encoder(tmp, backbone, meta)
        if not out_dir.exists():
            try:
                os.replace(tmp, out_dir)
                return
            except OSError:  # created meanwhile: fall back to moving the files
                pass
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / META_FILE).unlink(missing_ok=True)
        os.replace(tmp / ENCODER_FILE, out_dir / ENCODER_FILE)
        os.replace(tmp / META_FILE, out_dir / META_FILE)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
