"""Invariance of frozen features, as defined in the paper.

Both measures live in the feature space whitened by the statistics of clean reference
images: with S the (ridge-regularised) feature covariance and S^-1 = L L^T,

* cosine similarity  cos((f(x) - mu) L, (f(t(x)) - mu) L)  (higher = more invariant);
* Mahalanobis distance  sqrt((f(x) - f(t(x)))^T S^-1 (f(x) - f(t(x))))  (lower = more invariant).

Whitening first makes features of different models comparable (a model whose features vary
along few directions cannot look invariant just by having small variance elsewhere), and it
turns every Mahalanobis distance into a Euclidean one: one triangular solve per batch, never a
per-pair scipy call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

# Relative ridge added to the covariance: ridge * mean eigenvalue (= trace / D). The paper
# suggests ~1e-6; we expose it so a user can check that conclusions do not hinge on it.
DEFAULT_RIDGE = 1e-6


@dataclass(frozen=True)
class FeatureStatistics:
    """Mean, regularised covariance and its whitening factor L (S^-1 = L L^T)."""

    mean: np.ndarray  # D
    covariance: np.ndarray  # D x D, ridge included
    cholesky: np.ndarray  # lower C with covariance = C C^T; L = C^-T
    ridge: float
    n: int

    @property
    def whitening_factor(self) -> np.ndarray:
        """L with S^-1 = L L^T (explicit; the measures use a triangular solve instead)."""
        return np.linalg.inv(self.cholesky).T

    def save(self, path: str | Path) -> None:
        from sslinv.io import atomic_path

        with atomic_path(path, suffix=".npz") as tmp, open(tmp, "wb") as fh:
            np.savez(
                fh,
                mean=self.mean,
                covariance=self.covariance,
                cholesky=self.cholesky,
                ridge=self.ridge,
                n=self.n,
            )

    @classmethod
    def load(cls, path: str | Path) -> FeatureStatistics:
        with np.load(path) as data:
            return cls(
                data["mean"],
                data["covariance"],
                data["cholesky"],
                float(data["ridge"]),
                int(data["n"]),
            )


def feature_statistics(features: np.ndarray, ridge: float = DEFAULT_RIDGE) -> FeatureStatistics:
    """Estimate mu and S on clean reference features; regularise S so it is always invertible.

    A random network's features can be rank-deficient (and fewer images than dimensions
    always are), so S gets ``ridge`` times its mean eigenvalue on the diagonal; if that is not
    enough for a Cholesky factorisation in float64 the ridge is raised tenfold until it is,
    and the ridge actually used is stored.
    """
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"need at least 2 feature vectors (N x D), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("reference features contain NaN or infinity")
    mean = x.mean(axis=0)
    centred = x - mean
    cov = centred.T @ centred / (len(x) - 1)
    scale = max(np.trace(cov) / cov.shape[0], np.finfo(np.float64).tiny)
    used = ridge
    for _ in range(12):
        regularised = cov + used * scale * np.eye(cov.shape[0])
        try:
            chol = np.linalg.cholesky(regularised)
            return FeatureStatistics(mean, regularised, chol, used, len(x))
        except np.linalg.LinAlgError:
            used *= 10
    raise np.linalg.LinAlgError("covariance is not positive definite even with a large ridge")


def whiten(
    features: np.ndarray | torch.Tensor, stats: FeatureStatistics, centre: bool = True
) -> torch.Tensor:
    """(f - mu) L as float64 rows: solve C z^T = (f - mu)^T with the lower Cholesky factor C."""
    f = torch.as_tensor(np.asarray(features), dtype=torch.float64)
    if centre:
        f = f - torch.as_tensor(stats.mean)
    chol = torch.as_tensor(stats.cholesky)
    return torch.linalg.solve_triangular(chol, f.T, upper=False).T


def cosine_similarity(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Row-wise cosine similarity (0 when a row is exactly zero)."""
    return torch.nn.functional.cosine_similarity(a, b, dim=-1, eps=1e-12)


def invariance_scores(
    clean: np.ndarray, transformed: np.ndarray, stats: FeatureStatistics
) -> tuple[np.ndarray, np.ndarray]:
    """Per-image whitened cosine similarity and Mahalanobis distance of f(x) vs f(t(x))."""
    z_clean, z_trans = whiten(clean, stats), whiten(transformed, stats)
    cos = cosine_similarity(z_clean, z_trans)
    dist = torch.linalg.vector_norm(z_clean - z_trans, dim=-1)
    return cos.numpy(), dist.numpy()


def mahalanobis_distance(a: np.ndarray, b: np.ndarray, stats: FeatureStatistics) -> np.ndarray:
    """sqrt((a - b)^T S^-1 (a - b)) per row (the mean cancels)."""
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    return torch.linalg.vector_norm(whiten(diff, stats, centre=False), dim=-1).numpy()


def group_invariance(
    features: np.ndarray, groups: Sequence, stats: FeatureStatistics
) -> dict[str, float]:
    """Mean pairwise (off-diagonal) cosine and Mahalanobis within each group, averaged over groups.

    A group holds images of one object in which a single real factor changes (viewpoint,
    light colour, ...); the same code serves COIL-100 and ALOI.
    """
    groups = np.asarray(groups)
    z = whiten(features, stats)
    cosines, distances, sizes = [], [], []
    for g in np.unique(groups):
        zg = z[torch.as_tensor(groups == g)]
        v = zg.shape[0]
        if v < 2:
            continue
        unit = torch.nn.functional.normalize(zg, dim=1, eps=1e-12)
        off = ~torch.eye(v, dtype=torch.bool)
        cosines.append(float((unit @ unit.T)[off].mean()))
        distances.append(float(torch.cdist(zg, zg)[off].mean()))
        sizes.append(v)
    if not cosines:
        raise ValueError("no group has two or more images")
    return {
        "cosine": float(np.mean(cosines)),
        "mahalanobis": float(np.mean(distances)),
        "groups": len(cosines),
        "images_per_group": float(np.mean(sizes)),
    }


def synthetic_invariance(
    encoder: torch.nn.Module,
    images: np.ndarray,
    transform,
    values,
    stats: FeatureStatistics,
    *,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
):
    """Mean whitened cosine and Mahalanobis between f(x) and f(t_v(x)) for each grid value v.

    Images are processed in chunks; within a chunk every grid value is applied in one batched
    call and the transformed images go through the encoder together (eval mode, no grad).
    Returns a DataFrame with one row per value: value, cosine, mahalanobis (means over images)
    and their standard deviations.
    """

    from sslinv.datasets import to_tensor
    from sslinv.features import encode_floats
    from sslinv.preprocess import to_unit

    device = torch.device(device)
    values = np.asarray(values, dtype=np.float64)
    per_chunk = max(1, batch_size // max(1, len(values)))
    cos_sum = np.zeros(len(values))
    cos_sq = np.zeros(len(values))
    dist_sum = np.zeros(len(values))
    dist_sq = np.zeros(len(values))
    count = 0
    for start in range(0, len(images), per_chunk):
        x = to_unit(to_tensor(images[start : start + per_chunk], device))
        clean = encode_floats(encoder, x, batch_size=batch_size, device=device)
        grid = transform.apply_grid(x, values)  # V x B x 3 x H x W
        v, b = grid.shape[:2]
        moved = encode_floats(
            encoder, grid.reshape(v * b, *grid.shape[2:]), batch_size=batch_size, device=device
        )
        for i in range(v):
            cos, dist = invariance_scores(clean, moved[i * b : (i + 1) * b], stats)
            cos_sum[i] += cos.sum()
            cos_sq[i] += (cos**2).sum()
            dist_sum[i] += dist.sum()
            dist_sq[i] += (dist**2).sum()
        count += b
    cos_mean, dist_mean = cos_sum / count, dist_sum / count
    return pd.DataFrame(
        {
            "value": values,
            "cosine": cos_mean,
            "cosine_std": np.sqrt(np.maximum(cos_sq / count - cos_mean**2, 0)),
            "mahalanobis": dist_mean,
            "mahalanobis_std": np.sqrt(np.maximum(dist_sq / count - dist_mean**2, 0)),
            "n_images": count,
        }
    )


METRICS = ("cosine", "mahalanobis")


def synthetic_rows(
    curve: pd.DataFrame, model: str, transform: str, group: str, identity: float
) -> pd.DataFrame:
    """Tidy rows of one synthetic-invariance curve plus its mean excluding the identity value."""
    is_identity = np.isclose(curve["value"].to_numpy(dtype=float), identity)
    rows = []
    for metric in METRICS:
        for value, score in zip(curve["value"], curve[metric], strict=True):
            rows.append(
                {"statistic": "value", "parameter": value, "metric": metric, "score": score}
            )
        rows.append(
            {
                "statistic": "mean_excluding_identity",
                "parameter": np.nan,
                "metric": metric,
                "score": float(curve[metric][~is_identity].mean()),
            }
        )
    frame = pd.DataFrame(rows)
    frame.insert(0, "group", group)
    frame.insert(0, "transform", transform)
    frame.insert(0, "model", model)
    return frame
