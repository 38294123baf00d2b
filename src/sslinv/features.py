"""Frozen features: the global-average-pooled last stage, eval mode, no gradients.

Features go to ``{split}.npy`` (float32, memory-mappable) beside ``{split}.targets.csv`` (the
split's latents), so invariance measures and probes never touch a network again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from sslinv.datasets import load_split, to_tensor
from sslinv.device import autocast, memory_format
from sslinv.io import save_csv, save_npy
from sslinv.preprocess import normalize, to_unit

log = logging.getLogger(__name__)


@torch.no_grad()
def encode_floats(
    encoder: nn.Module,
    x: torch.Tensor,
    *,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """f(x) for float images in [0, 1] (N x 3 x H x W) already in memory, as float32 N x D."""
    device = torch.device(device)
    encoder = encoder.to(device).eval()
    out = []
    for start in range(0, x.shape[0], batch_size):
        batch = normalize(x[start : start + batch_size].to(device))
        with autocast(device):
            out.append(encoder(batch.contiguous(memory_format=memory_format(device))).float().cpu())
    return torch.cat(out).numpy().astype(np.float32)


def extract_features(
    encoder: nn.Module,
    images: np.ndarray,
    *,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """f(x) for every uint8 N x H x W x 3 image, as float32 N x D (decoded chunk by chunk)."""
    chunks = [
        encode_floats(
            encoder,
            to_unit(to_tensor(images[start : start + batch_size], device)),
            batch_size=batch_size,
            device=device,
        )
        for start in range(0, len(images), batch_size)
    ]
    if not chunks:
        return np.zeros((0, getattr(encoder, "feature_dim", 0)), dtype=np.float32)
    return np.concatenate(chunks)


def extract_splits(
    encoder: nn.Module,
    data_dir: str | Path,
    splits: Sequence[str],
    out_dir: str | Path,
    *,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
) -> None:
    """Write ``{split}.npy`` and ``{split}.targets.csv`` for each split of one dataset."""
    out_dir = Path(out_dir)
    for split in splits:
        images, latents = load_split(data_dir, split)
        feats = extract_features(encoder, images, batch_size=batch_size, device=device)
        if not np.isfinite(feats).all():
            raise FloatingPointError(f"non-finite features for split '{split}' of {data_dir}")
        save_npy(out_dir / f"{split}.npy", feats)
        save_csv(out_dir / f"{split}.targets.csv", latents)
        log.info("%s: %d x %d features", split, *feats.shape)


def knn_accuracy(
    bank: np.ndarray,
    bank_labels: np.ndarray,
    queries: np.ndarray,
    query_labels: np.ndarray,
    k: int = 20,
) -> float:
    """Majority-vote kNN accuracy with cosine similarity: a training-free learning check."""
    bank_t = torch.nn.functional.normalize(
        torch.as_tensor(np.asarray(bank), dtype=torch.float32), dim=1
    )
    query_t = torch.nn.functional.normalize(
        torch.as_tensor(np.asarray(queries), dtype=torch.float32), dim=1
    )
    k = min(k, len(bank_t))
    neighbours = (query_t @ bank_t.T).topk(k, dim=1).indices
    votes = torch.as_tensor(np.asarray(bank_labels))[neighbours]
    predicted = torch.mode(votes, dim=1).values.numpy()
    return float((predicted == np.asarray(query_labels)).mean())
