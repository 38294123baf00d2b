"""Building one model of the study: a MoCo-v2 variant, the supervised or the random baseline.

Every model goes through the same function so the baselines share the variants' backbone,
budget and bookkeeping: the result is ``encoder.safetensors`` + ``meta.json`` with the final
loss, a training-free kNN check and the throughput, and a pre-training run that did not
learn stops here instead of poisoning every later number.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sslinv.augment import build_augmentation, describe
from sslinv.checkpoint import save_encoder
from sslinv.datasets import load_split, to_tensor
from sslinv.device import memory_format
from sslinv.distributed import World
from sslinv.features import extract_features, knn_accuracy
from sslinv.models.backbone import Backbone, build_backbone
from sslinv.models.moco import MoCo
from sslinv.preprocess import normalize, to_unit
from sslinv.training import TrainingError, train

log = logging.getLogger(__name__)

STATE_FILE = "state.pt"
PRELOAD_BYTES = 4 << 30
KINDS = ("moco_v2", "supervised", "random")


def fingerprint(spec: Mapping[str, Any], n_images: int) -> str:
    """Identify a training configuration so a stale resume state is never picked up."""
    text = json.dumps({"spec": spec, "n": n_images}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class MoCoObjective:
    """Two independently augmented views of each image through MoCo-v2."""

    def __init__(self, moco: MoCo, augmentation, device: torch.device) -> None:
        self.moco, self.augmentation, self.device = moco, augmentation, device

    def wrap(self, wrapper: Callable[[nn.Module], nn.Module]) -> None:
        """Route the forward pass through ``wrapper`` (DistributedDataParallel)."""
        self.moco = wrapper(self.moco)

    def __call__(self, x: torch.Tensor, y: torch.Tensor | None, generator: torch.Generator):
        fmt = memory_format(self.device)
        x = to_unit(x)
        im_q = normalize(self.augmentation(x, generator)).contiguous(memory_format=fmt)
        im_k = normalize(self.augmentation(x, generator)).contiguous(memory_format=fmt)
        return self.moco(im_q, im_k, generator)


class SupervisedObjective:
    """Cross-entropy of a linear head on one augmented view (the supervised baseline)."""

    def __init__(self, backbone: Backbone, head: nn.Linear, augmentation, device) -> None:
        self.network: nn.Module = nn.Sequential(backbone, head)
        self.augmentation, self.device = augmentation, device

    def wrap(self, wrapper: Callable[[nn.Module], nn.Module]) -> None:
        self.network = wrapper(self.network)

    def __call__(self, x: torch.Tensor, y: torch.Tensor | None, generator: torch.Generator):
        view = normalize(self.augmentation(to_unit(x), generator))
        logits = self.network(view.contiguous(memory_format=memory_format(self.device)))
        loss = F.cross_entropy(logits.float(), y)
        top1 = (logits.argmax(1) == y).float().mean()
        return loss, {"loss": loss.detach(), "top1": top1.detach()}


def build_model(
    kind: str,
    spec: Mapping[str, Any],
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    device: str | torch.device = "cpu",
    world: World | None = None,
) -> dict:
    """Train (or just initialise) one model and write its checkpoint; return its metadata.

    In a data-parallel run every rank trains; rank 0 alone checks and writes the model.
    """
    world = world or World()
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}; one of {', '.join(KINDS)}")
    device = torch.device(device)
    out_dir = Path(out_dir)
    images_np, latents = load_split(data_dir)
    backbone = build_backbone(spec["backbone"], seed=spec["seed"])
    meta: dict[str, Any] = {
        "model": out_dir.name,  # the variant or baseline name (the model folder)
        "kind": kind,
        "seed": spec["seed"],
        "dataset": str(data_dir),
        "n_images": len(images_np),
        "image_size": int(images_np.shape[1]),
        "feature_dim": backbone.feature_dim,
        "device": str(device),
    }
    if kind != "random":
        meta.update(_train(kind, spec, backbone, images_np, latents, out_dir, device, world))
    if not world.is_main:
        return meta
    meta.update(_knn_check(backbone, images_np, latents, spec, device))
    _check_learned(kind, meta, spec)
    save_encoder(out_dir, backbone, meta)
    (out_dir / STATE_FILE).unlink(missing_ok=True)
    return meta


def _train(kind, spec, backbone, images_np, latents, out_dir, device, world: World) -> dict:
    augmentation = build_augmentation(spec["augmentations"])
    backbone = backbone.to(device).to(memory_format=memory_format(device))
    # A split that fits is copied to the device once; a larger one (ImageNet at 224 px is
    # ~190 GB) stays memory-mapped and streams through DataLoader workers.
    preload = images_np.nbytes <= PRELOAD_BYTES or not isinstance(images_np, np.memmap)
    images = to_tensor(images_np, device) if preload else images_np
    labels = None
    if kind == "moco_v2":
        moco = MoCo(
            backbone,
            backbone.feature_dim,
            dim=spec["moco"]["dim"],
            hidden_dim=spec["moco"]["hidden_dim"],
            queue_size=spec["moco"]["queue_size"],
            momentum=spec["moco"]["momentum"],
            temperature=spec["moco"]["temperature"],
            shuffle_bn_groups=spec["moco"]["shuffle_bn_groups"],
        ).to(device)
        model, objective = moco, MoCoObjective(moco, augmentation, device)
    else:
        label = spec.get("label", "label")
        if label not in latents:
            raise TrainingError(
                f"the supervised baseline needs a '{label}' column in {spec.get('dataset')} "
                "latents; use a labelled pre-training dataset or disable baselines.supervised"
            )
        codes, classes = _encode_labels(latents[label].to_numpy())
        labels = torch.as_tensor(codes, device=device)
        head = nn.Linear(backbone.feature_dim, len(classes)).to(device)
        model = nn.ModuleDict({"backbone": backbone, "head": head})
        objective = SupervisedObjective(backbone, head, augmentation, device)
    if world.distributed:
        objective.wrap(lambda module: _data_parallel(module, device))
    opt = spec["optimizer"]
    result = train(
        model,
        objective,
        images,
        labels,
        epochs=spec["epochs"],
        batch_size=spec["batch_size"],
        lr=opt["lr"],
        momentum=opt["momentum"],
        weight_decay=opt["weight_decay"],
        warmup_epochs=opt["warmup_epochs"],
        seed=spec["seed"],
        state_path=out_dir / STATE_FILE,
        fingerprint=fingerprint(spec, len(images_np)),
        checkpoint_every=spec["checkpoint_every"],
        log_every=spec["log_every"],
        world=world,
        workers=max(1, torch.get_num_threads() - 1),
    )
    backbone.to(memory_format=torch.contiguous_format)
    return {
        "augmentations": describe(spec["augmentations"]),
        "epochs": spec["epochs"],
        "steps": result.steps,
        "batch_size": spec["batch_size"],
        "optimizer": dict(opt),
        **({"moco": dict(spec["moco"])} if kind == "moco_v2" else {}),
        "final_loss": result.tail_mean("loss"),
        "final_top1": result.tail_mean("top1"),
        "first_loss": result.history[0]["loss"] if result.history else float("nan"),
        "wall_time_s": round(result.wall_time, 2),
        "images_per_s": round(result.images_per_s, 1),
        "processes": world.size,
        "loss_curve": [round(h["loss"], 4) for h in result.history],
    }


def _data_parallel(module: nn.Module, device: torch.device) -> nn.Module:
    """DDP averages gradients over ranks. Buffers stay per rank: MoCo's queue is kept equal
    by gathering keys, and batch-norm statistics are each rank's own (rank 0's are saved).
    """
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids, broadcast_buffers=False)


def _encode_labels(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    classes, codes = np.unique(values, return_inverse=True)
    return codes.astype(np.int64), classes


def _knn_check(backbone, images_np, latents, spec, device, limit: int = 4000) -> dict:
    """kNN class accuracy on the pre-training images' labels (when they have any)."""
    label = spec.get("label", "label")
    if label not in latents or len(latents) < 4:
        return {}
    n = min(limit, len(latents)) // 2 * 2
    feats = extract_features(backbone, images_np[:n], batch_size=256, device=device)
    codes, _ = _encode_labels(latents[label].to_numpy()[:n])
    half = n // 2
    acc = knn_accuracy(feats[:half], codes[:half], feats[half:], codes[half:])
    majority = float(np.bincount(codes[half:]).max() / (n - half))
    return {"knn_top1": acc, "knn_majority": majority, "knn_images": n}


def _check_learned(kind: str, meta: dict, spec: Mapping[str, Any]) -> None:
    """Stop when a contrastive model stayed at chance: its features would mean nothing."""
    if kind != "moco_v2" or spec.get("min_top1", 0) <= 0:
        return
    chance = 1.0 / (spec["moco"]["queue_size"] + 1)
    top1, loss = meta["final_top1"], meta["final_loss"]
    if not math.isfinite(top1) or top1 < spec["min_top1"]:
        raise TrainingError(
            f"MoCo did not learn: final contrastive top-1 {top1:.4f} < pretrain.min_top1 "
            f"{spec['min_top1']} (chance {chance:.4f}; loss {loss:.3f} vs ln(K+1) = "
            f"{math.log(spec['moco']['queue_size'] + 1):.3f}). Try a lower lr, more warm-up, "
            "weaker augmentations or a smaller queue; no checkpoint was written."
        )
