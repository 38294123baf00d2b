"""Invariance measures against hand-computed values and scipy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.distance import mahalanobis

from sslinv.invariance import (
    feature_statistics,
    group_invariance,
    invariance_scores,
    mahalanobis_distance,
    synthetic_invariance,
    whiten,
)
from sslinv.transforms import get_transform


@pytest.fixture
def features():
    rng = np.random.default_rng(0)
    mixing = rng.normal(size=(6, 6))
    return rng.normal(size=(400, 6)) @ mixing + 3.0


def test_whitening_gives_identity_covariance(features):
    stats = feature_statistics(features, ridge=1e-12)
    z = whiten(features, stats).numpy()
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-10)
    np.testing.assert_allclose(np.cov(z, rowvar=False), np.eye(6), atol=1e-8)
    # the explicit factor satisfies S^-1 = L L^T
    L = stats.whitening_factor
    np.testing.assert_allclose(L @ L.T, np.linalg.inv(stats.covariance), rtol=1e-8, atol=1e-10)


def test_mahalanobis_matches_scipy(features):
    stats = feature_statistics(features)
    a, b = features[:10], features[10:20]
    inverse = np.linalg.inv(stats.covariance)
    expected = [mahalanobis(x, y, inverse) for x, y in zip(a, b, strict=True)]
    np.testing.assert_allclose(mahalanobis_distance(a, b, stats), expected, rtol=1e-9)
    _, dist = invariance_scores(a, b, stats)
    np.testing.assert_allclose(dist, expected, rtol=1e-9)


def test_identity_gives_similarity_one_distance_zero(features):
    stats = feature_statistics(features)
    cos, dist = invariance_scores(features[:50], features[:50], stats)
    np.testing.assert_allclose(cos, 1.0, atol=1e-12)
    np.testing.assert_allclose(dist, 0.0, atol=1e-12)


def test_cosine_is_taken_after_centring_and_whitening(features):
    stats = feature_statistics(features, ridge=1e-12)
    z = whiten(features[:2], stats).numpy()
    expected = z[0] @ z[1] / np.linalg.norm(z[0]) / np.linalg.norm(z[1])
    cos, _ = invariance_scores(features[:1], features[1:2], stats)
    assert cos[0] == pytest.approx(expected, rel=1e-10)


def test_rank_deficient_features_get_invertible_covariance():
    rng = np.random.default_rng(1)
    low_rank = rng.normal(size=(50, 2)) @ rng.normal(size=(2, 8))  # rank 2 in 8-d
    stats = feature_statistics(low_rank)
    assert np.isfinite(stats.cholesky).all() and stats.ridge >= 1e-6


def test_statistics_round_trip(tmp_path, features):
    stats = feature_statistics(features)
    stats.save(tmp_path / "s.npz")
    loaded = type(stats).load(tmp_path / "s.npz")
    np.testing.assert_array_equal(loaded.cholesky, stats.cholesky)
    assert loaded.n == 400 and loaded.ridge == stats.ridge


def test_group_invariance_by_hand():
    stats = feature_statistics(np.random.default_rng(2).normal(size=(500, 3)), ridge=1e-12)
    # identical members: similarity 1, distance 0 in every group
    same = np.repeat(np.random.default_rng(3).normal(size=(4, 3)), 3, axis=0)
    scores = group_invariance(same, np.repeat(np.arange(4), 3), stats)
    assert scores["cosine"] == pytest.approx(1.0) and scores["mahalanobis"] == pytest.approx(0.0)
    # two opposite members: cosine -1 exactly; distance as scipy computes it
    pair = np.array([[1.0, 2.0, 3.0], [-1.0, -2.0, -3.0]]) + stats.mean
    scores = group_invariance(pair, [0, 0], stats)
    assert scores["cosine"] == pytest.approx(-1.0)
    expected = mahalanobis(pair[0], pair[1], np.linalg.inv(stats.covariance))
    assert scores["mahalanobis"] == pytest.approx(expected)


class _RowSums(torch.nn.Module):
    """Per-row intensity sums: exactly invariant to horizontal flips, not to vertical ones."""

    def forward(self, x):
        return x.sum(dim=3).flatten(1)


def test_exactly_invariant_feature_map_scores_one():
    rng = np.random.default_rng(4)
    images = rng.integers(0, 256, (40, 8, 8, 3), dtype=np.uint8)
    encoder = _RowSums()
    from sslinv.features import extract_features

    stats = feature_statistics(extract_features(encoder, images), ridge=1e-3)
    hflip = synthetic_invariance(
        encoder, images, get_transform("horizontal_flip"), [0.0, 1.0], stats, batch_size=16
    )
    np.testing.assert_allclose(hflip["cosine"], 1.0, atol=1e-6)
    np.testing.assert_allclose(hflip["mahalanobis"], 0.0, atol=1e-3)
    vflip = synthetic_invariance(
        encoder, images, get_transform("vertical_flip"), [0.0, 1.0], stats, batch_size=16
    )
    assert vflip["cosine"][0] == pytest.approx(1.0) and vflip["cosine"][1] < 0.9
    assert vflip["mahalanobis"][1] > 1.0
    assert list(hflip["n_images"]) == [40, 40]
