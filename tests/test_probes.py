"""Linear probes: the torch solvers and the search agree with scikit-learn, the reference."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import balanced_accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sslinv.probes import (
    ALPHA_GRID,
    C_GRID,
    ProbeResult,
    fit_probe,
    logistic_path,
    predict_logistic,
    predict_ridge,
    ridge_path,
    score,
    standardize,
)


def _clusters(n=300, d=20, k=3, spread=1.5, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, d))
    y = rng.integers(0, k, n)
    X = centers[y] + spread * rng.normal(size=(n, d))
    return X.astype(np.float32), y


def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def _regression(n=200, d=30, t=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 10, d) + 3
    Y = X @ rng.normal(size=(d, t)) + rng.normal(size=(n, t))
    return X, Y


def test_grids_are_the_papers():
    assert len(C_GRID) == 45 and C_GRID[0] == pytest.approx(1e-6) and C_GRID[-1] == 1e5
    assert np.all(np.diff(ALPHA_GRID) > 0)
    np.testing.assert_allclose(ALPHA_GRID, np.sort(1 / C_GRID))


def test_standardize_uses_the_first_arrays_statistics_and_floors_constant_features():
    rng = np.random.default_rng(0)
    train = rng.normal(3, 2, size=(50, 4))
    train[:, 2] = 7.0  # constant
    other = rng.normal(size=(10, 4))
    zt, zo = standardize(train, other)
    np.testing.assert_allclose(zt.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(zt[:, [0, 1, 3]].std(0), 1)
    assert np.all(zt[:, 2] == 0) and np.all(np.isfinite(zo))
    mean, std = train.mean(0), train.std(0)
    np.testing.assert_allclose(zo[:, 0], (other[:, 0] - mean[0]) / std[0])


def test_logistic_path_matches_sklearn_across_the_grid():
    X, y = _clusters()
    (X,) = standardize(X)
    Cs = [1e-4, 1e-2, 1.0, 100.0]
    # Input order is kept even though the path is solved from small to large C.
    order = [2, 0, 3, 1]
    path = logistic_path(X, y, [Cs[i] for i in order], tol=1e-10, max_iter=5000)
    for (W, b), i in zip(path, order, strict=True):
        C = Cs[i]
        ref = LogisticRegression(C=C, max_iter=5000, tol=1e-10).fit(X, y)
        # Probabilities within 1e-4 (measured: <= 1e-6 for every C here).
        np.testing.assert_allclose(_softmax(X @ W.T + b), ref.predict_proba(X), atol=1e-4)
        np.testing.assert_array_equal(predict_logistic(X, W, b), ref.predict(X))
        # Both intercepts sum to zero (the loss is flat along b + const).
        assert abs(b.sum()) < 1e-9
        # coef within 1e-4 relative for C <= 1 (measured ~1e-6 at C=1, ~5e-6 at C=100). At
        # large C the problem is ill-conditioned (tiny penalty curvature): both solvers stop
        # on a small gradient at slightly different points, so only 1e-3 relative there.
        rel = np.abs(W - ref.coef_).max() / np.abs(ref.coef_).max()
        assert rel < (1e-4 if C <= 1 else 1e-3), (C, rel)


def test_logistic_path_binary_equals_sklearns_single_column_model():
    X, y = _clusters(n=200, d=8, k=2, spread=2.0, seed=1)
    (X,) = standardize(X)
    for C, (W, b) in zip([1e-3, 1.0], logistic_path(X, y, [1e-3, 1.0], tol=1e-10), strict=True):
        ref = LogisticRegression(C=C, max_iter=5000, tol=1e-10).fit(X, y)
        np.testing.assert_allclose(W[1] - W[0], ref.coef_[0], rtol=1e-5, atol=1e-8)
        np.testing.assert_allclose(_softmax(X @ W.T + b), ref.predict_proba(X), atol=1e-6)
        np.testing.assert_array_equal(predict_logistic(X, W, b), ref.predict(X))


def test_logistic_path_rejects_missing_class_codes():
    X, y = _clusters(n=60, d=4)
    with pytest.raises(ValueError, match=r"0\.\.K-1"):
        logistic_path(X, np.where(y == 1, 2, y), [1.0])


@pytest.mark.parametrize("shape", [(200, 30, 3), (40, 60, 2), (100, 10, 1), (60, 40, 2)])
def test_ridge_path_matches_sklearn(shape):
    n, d, t = shape  # tall (Gram eigendecomposition), wide and square-ish (SVD), 1-D Y
    X, Y = _regression(n, d, t, seed=n + d)
    if t == 1:
        Y = Y[:, 0]
    alphas = [1e-5, 1e-2, 1.0, 100.0, 1e6]
    for alpha, (W, b) in zip(alphas, ridge_path(X, Y, alphas), strict=True):
        ref = Ridge(alpha=alpha).fit(X, Y)
        assert W.shape == (t, d) and b.shape == (t,)
        # 1e-6 relative (measured ~1e-13).
        np.testing.assert_allclose(W, np.atleast_2d(ref.coef_), rtol=1e-6, atol=1e-6 * abs(W).max())
        pred = predict_ridge(X, W, b).reshape(np.shape(Y))
        np.testing.assert_allclose(pred, ref.predict(X), rtol=1e-6, atol=1e-9)


def test_score_hand_computed_cases():
    y = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    pred = np.array([0, 0, 0, 1, 1, 0, 2, 2])
    assert score("logistic", "accuracy", y, pred) == pytest.approx(6 / 8)
    # Recalls 3/4, 1/2, 2/2 -> mean 0.75.
    assert score("logistic", "mean_per_class_accuracy", y, pred) == pytest.approx(0.75)
    assert score("logistic", "mean_per_class_accuracy", y, pred) == pytest.approx(
        balanced_accuracy_score(y, pred)
    )
    # An N x K score matrix is argmax'ed.
    scores = np.eye(3)[pred] + 0.1
    assert score("logistic", "accuracy", y, scores) == pytest.approx(6 / 8)
    # String labels; a label never predicted is simply a miss.
    assert score("logistic", "accuracy", ["a", "b", "z"], ["a", "b", "a"]) == pytest.approx(2 / 3)
    # R^2 = 1 - SSE/SST per column, averaged: column 1 is perfect, column 2 has
    # SSE = 2, SST = 8 -> 0.75; mean 0.875.
    yt = np.array([[1.0, 0.0], [2.0, 2.0], [3.0, 4.0]])
    yp = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    assert score("ridge", "r2", yt, yp) == pytest.approx(0.875)
    assert score("ridge", "r2", yt, yp) == pytest.approx(r2_score(yt, yp))


def _sklearn_search(X_fit, y_fit, X_val, y_val, X_test, y_test, grid, make):
    """The reference protocol: fit each value, best on val (ties -> first), refit, test."""
    scaler = StandardScaler().fit(X_fit)
    vals = [
        make(v).fit(scaler.transform(X_fit), y_fit).score(scaler.transform(X_val), y_val)
        for v in grid
    ]
    best = int(np.argmax(vals))
    X_all, y_all = np.concatenate([X_fit, X_val]), np.concatenate([y_fit, y_val])
    scaler = StandardScaler().fit(X_all)
    model = make(grid[best]).fit(scaler.transform(X_all), y_all)
    return best, vals, model.score(scaler.transform(X_test), y_test)


def test_fit_probe_logistic_matches_a_hand_rolled_sklearn_search():
    X, y = _clusters(n=400, d=12, k=4, spread=2.5, seed=3)
    labels = np.array(["cat", "dog", "emu", "fox"])[y]  # arbitrary labels
    X_tr, X_te, y_tr, y_te = X[:300], X[300:], labels[:300], labels[300:]
    grid = C_GRID[::4]  # 12 values spanning the grid (ascending: ties -> first = smaller C)
    res = fit_probe(X_tr, y_tr, X_te, y_te, kind="logistic", metric="accuracy", grid=grid, seed=5)

    fit_idx, val_idx = train_test_split(
        np.arange(300), test_size=0.2, random_state=5, stratify=y_tr
    )
    best, vals, test_acc = _sklearn_search(
        X_tr[fit_idx],
        y_tr[fit_idx],
        X_tr[val_idx],
        y_tr[val_idx],
        X_te,
        y_te,
        grid,
        lambda C: LogisticRegression(C=C, max_iter=5000, tol=1e-10),
    )
    assert (res.n_train, res.n_val, res.n_test) == (240, 60, 100)
    assert res.param_name == "C" and res.best_index == best and res.best_param == grid[best]
    np.testing.assert_allclose(res.val_scores, vals, atol=1e-12)
    # Same chosen C, same data, same minimiser: identical test accuracy.
    assert res.test_score == pytest.approx(test_acc, abs=1e-9)
    assert 0.3 < res.test_score < 1.0  # an informative, not saturated, problem


def test_fit_probe_ridge_matches_a_hand_rolled_sklearn_search():
    X, Y = _regression(n=250, d=20, t=2, seed=4)
    Y = Y + 20 * np.random.default_rng(0).normal(size=Y.shape)  # noisy: alpha matters
    X_tr, X_te, Y_tr, Y_te = X[:200], X[200:], Y[:200], Y[200:]
    grid = ALPHA_GRID[::4]  # ascending alpha: ties must go to the LARGER alpha
    res = fit_probe(X_tr, Y_tr, X_te, Y_te, kind="ridge", metric="r2", grid=grid, seed=1)
    fit_idx, val_idx = train_test_split(np.arange(200), test_size=0.2, random_state=1)
    rev = grid[::-1]
    best, vals, test_r2 = _sklearn_search(
        X_tr[fit_idx],
        Y_tr[fit_idx],
        X_tr[val_idx],
        Y_tr[val_idx],
        X_te,
        Y_te,
        rev,
        lambda a: Ridge(alpha=a),
    )
    assert res.param_name == "alpha" and res.best_param == rev[best]
    np.testing.assert_allclose(res.val_scores, vals[::-1], atol=1e-9)
    assert res.test_score == pytest.approx(test_r2, abs=1e-9)


def test_fit_probe_with_given_validation_and_unseen_test_labels():
    X, y = _clusters(n=200, d=6, k=3, spread=0.3, seed=2)  # separable: everything right
    y_te = y[150:].copy()
    y_te[:10] = 7  # a class never seen in training: always wrong
    res = fit_probe(
        X[:100],
        y[:100],
        X[150:],
        y_te,
        kind="logistic",
        metric="accuracy",
        grid=[1e-2, 1.0],
        X_val=X[100:150],
        y_val=y[100:150],
    )
    assert (res.n_train, res.n_val, res.n_test) == (100, 50, 50)
    assert res.val_score == 1.0 and res.test_score == pytest.approx(40 / 50)
    # Ties at 1.0 on validation go to the stronger regularisation.
    assert res.best_param == 1e-2


def test_fit_probe_errors():
    X, y = _clusters(n=60, d=4)
    with pytest.raises(ValueError, match=r"kind 'svm'.*logistic"):
        fit_probe(X, y, X, y, kind="svm", metric="accuracy")
    with pytest.raises(ValueError, match=r"metric 'f1'.*accuracy"):
        fit_probe(X, y, X, y, kind="logistic", metric="f1")
    with pytest.raises(ValueError, match="does not apply"):
        fit_probe(X, y, X, y, kind="ridge", metric="accuracy")
    with pytest.raises(ValueError, match="unknown probe metric"):
        score("logistic", "auc", y, y)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"X_train.*non-finite"):
        fit_probe(bad, y, X, y, kind="logistic", metric="accuracy")
    with pytest.raises(ValueError, match=r"X_test.*non-finite"):
        fit_probe(X, y, np.where(bad > 0, np.inf, bad), y, kind="logistic", metric="accuracy")
    with pytest.raises(ValueError, match="both X_val and y_val"):
        fit_probe(X, y, X, y, kind="logistic", metric="accuracy", X_val=X)


def test_fit_probe_is_deterministic_and_json_ready():
    X, y = _clusters(n=150, d=8, k=3, spread=2.0, seed=6)
    kwargs = dict(kind="logistic", metric="mean_per_class_accuracy", grid=C_GRID[::6], seed=2)
    a = fit_probe(X[:100], y[:100], X[100:], y[100:], **kwargs)
    b = fit_probe(X[:100], y[:100], X[100:], y[100:], **kwargs)
    assert isinstance(a, ProbeResult)
    assert a.to_dict() == b.to_dict()
    assert json.loads(json.dumps(a.to_dict())) == a.to_dict()
    c = fit_probe(X[:100], y[:100], X[100:], y[100:], **{**kwargs, "seed": 3})
    assert c.val_scores != a.val_scores  # a different split


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_path_equals_cpu_path():
    X, y = _clusters(n=300, d=20)
    (X,) = standardize(X)
    for (Wc, bc), (Wg, bg) in zip(
        logistic_path(X, y, [1e-2, 1.0], tol=1e-10),
        logistic_path(X, y, [1e-2, 1.0], tol=1e-10, device="cuda"),
        strict=True,
    ):
        np.testing.assert_allclose(_softmax(X @ Wg.T + bg), _softmax(X @ Wc.T + bc), atol=1e-6)
    Xr, Yr = _regression()
    for (Wc, _), (Wg, _) in zip(
        ridge_path(Xr, Yr, [1.0]), ridge_path(Xr, Yr, [1.0], device="cuda"), strict=True
    ):
        np.testing.assert_allclose(Wg, Wc, rtol=1e-8, atol=1e-10)


def test_fit_probe_ridge_accepts_a_1d_target_and_auto_device():
    X, Y = _regression(n=120, d=8, t=1, seed=7)
    res = fit_probe(
        X[:100], Y[:100, 0], X[100:], Y[100:, 0], kind="ridge", metric="r2", device="auto"
    )
    assert res.grid == list(ALPHA_GRID) and len(res.val_scores) == 45
    assert res.test_score > 0.9
