"""Linear probes on frozen features: a GPU-capable hyper-parameter search, sklearn's answers.

The paper scores every model by a linear read-out whose strength (C for multinomial L2
logistic regression, alpha for ridge) is chosen on a 45-value log grid by validation, then
refit on train+val and scored on test. Fitting 45 independent scikit-learn models per
(model, task) is the slowest step of the workflow on large feature sets, so the whole grid
is solved here as one regularisation path in torch (float64, on the GPU when there is one):

* logistic: L-BFGS on exactly sklearn's objective, warm-started from the previous C;
* ridge: one decomposition of the centred features shared by every alpha.

scikit-learn stays the correctness reference: the tests compare both solvers with
``LogisticRegression``/``Ridge`` and the full search with a hand-rolled sklearn loop.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split

from sslinv.device import resolve_device

# The paper's grid for the inverse regularisation strength C of logistic regression.
C_GRID: np.ndarray = np.logspace(-6, 5, 45)
# Ridge penalises 0.5 * alpha * ||w||^2 against 0.5 * sum of squared errors, logistic
# regression 0.5 * ||w||^2 against C * sum of losses: alpha plays the role of 1 / C, so the
# ridge grid is the same 45 points inverted (1e-5 ... 1e6), sorted ascending.
ALPHA_GRID: np.ndarray = np.sort(1.0 / C_GRID)

KINDS: dict[str, tuple[str, ...]] = {
    "logistic": ("accuracy", "mean_per_class_accuracy"),
    "ridge": ("r2",),
}
METRICS: tuple[str, ...] = ("accuracy", "mean_per_class_accuracy", "r2")

_STD_FLOOR = 1e-8


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------


def standardize(train: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, ...]:
    """Z-score every array with the first one's statistics (the paper's training-only rule).

    Statistics are taken in float64; a floor of 1e-8 on the std keeps constant features at
    zero instead of blowing them up. Returns float64 arrays: train first, then ``others``.
    """
    train64 = np.asarray(train, dtype=np.float64)
    mean = train64.mean(axis=0)
    std = np.maximum(train64.std(axis=0), _STD_FLOOR)
    out = [(train64 - mean) / std]
    out.extend((np.asarray(o, dtype=np.float64) - mean) / std for o in others)
    return tuple(out)


def predict_logistic(X: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """Class index (0..K-1) of the largest logit: the probe's decision."""
    logits = np.asarray(X, dtype=np.float64) @ np.asarray(coef).T + np.asarray(intercept)
    return np.argmax(logits, axis=1)


def predict_ridge(X: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """N x T predictions of a ridge probe (``coef`` T x D, ``intercept`` T)."""
    coef = np.atleast_2d(coef)
    return np.asarray(X, dtype=np.float64) @ coef.T + np.atleast_1d(intercept)


def _check_kind_metric(kind: str, metric: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown probe kind {kind!r}; choose one of {sorted(KINDS)}")
    if metric not in METRICS:
        raise ValueError(f"unknown probe metric {metric!r}; choose one of {list(METRICS)}")
    if metric not in KINDS[kind]:
        raise ValueError(
            f"metric {metric!r} does not apply to a {kind!r} probe; "
            f"choose one of {list(KINDS[kind])}"
        )


def _check_finite(name: str, array: np.ndarray) -> None:
    if not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ValueError(
            f"{name} holds {bad} non-finite value(s) (NaN or inf); probes need finite "
            "features/targets: check the feature extraction (a NaN loss or overflow) first"
        )


def score(kind: str, metric: str, y_true: Any, y_pred_or_scores: Any) -> float:
    """The task's metric: accuracy, mean per-class accuracy (balanced accuracy) or R^2.

    For ``logistic`` the prediction is either labels (1-D, compared with ``y_true`` as is) or
    an N x K score matrix, whose argmax is then compared with integer codes in ``y_true``.
    ``r2`` is sklearn's ``r2_score`` averaged uniformly over target columns.
    """
    _check_kind_metric(kind, metric)
    y_true = np.asarray(y_true)
    pred = np.asarray(y_pred_or_scores)
    if len(y_true) != len(pred):
        raise ValueError(f"score: {len(y_true)} true values but {len(pred)} predictions")
    if len(y_true) == 0:
        raise ValueError("score: no samples to score")
    if kind == "ridge":
        return float(
            r2_score(
                y_true.astype(np.float64), pred.astype(np.float64), multioutput="uniform_average"
            )
        )
    if pred.ndim == 2:
        pred = np.argmax(pred, axis=1)
    correct = y_true == pred
    if metric == "accuracy":
        return float(np.mean(correct))
    # Mean per-class recall over the classes present in y_true (sklearn's balanced accuracy).
    classes, inverse = np.unique(y_true, return_inverse=True)
    per_class_hits = np.bincount(
        inverse, weights=correct.astype(np.float64), minlength=len(classes)
    )
    per_class_count = np.bincount(inverse, minlength=len(classes))
    return float(np.mean(per_class_hits / per_class_count))


# --------------------------------------------------------------------------------------
# Solvers
# --------------------------------------------------------------------------------------


def _as_device(device: str | torch.device) -> torch.device:
    """``auto``/``cpu``/``cuda[:i]`` or a torch.device; CUDA without one is a clear error."""
    return resolve_device(str(device))


def _cold_start(Xt: torch.Tensor, onehot: torch.Tensor, reg: float) -> torch.Tensor:
    """A start next to the strongest-regularised solution, where a zero start is slow.

    With a large penalty the objective is badly conditioned (W's curvature 1/(C N) against
    the intercept's ~1/K), and L-BFGS from zero needs hundreds of iterations. The optimum
    there is close to b = log class priors (the W = 0 solution) and W one gradient step
    from zero with step 1 / (penalty + 0.5 * lambda_max(X^T X / N)), an upper bound on the
    curvature, so the step only lowers the objective. Any C is safe; small C gains most.
    """
    n, d = Xt.shape
    prior = onehot.mean(0)
    b0 = torch.log(prior) - torch.log(prior).mean()
    resid = (torch.softmax(b0, 0) - onehot) / n
    # lambda_max of X^T X / N by a few power iterations (an over-estimate is harmless).
    v = torch.ones(d, dtype=Xt.dtype, device=Xt.device) / math.sqrt(d)
    lam = torch.zeros((), dtype=Xt.dtype, device=Xt.device)
    for _ in range(20):
        w = Xt.T @ (Xt @ v) / n
        lam = torch.linalg.vector_norm(w)
        v = w / lam.clamp_min(1e-300)
    W0 = -(resid.T @ Xt) / (reg + 0.5 * 1.1 * float(lam))
    return torch.cat([W0.reshape(-1), b0])


def _logistic_path(
    X: np.ndarray | torch.Tensor,
    y: np.ndarray | torch.Tensor,
    Cs: Sequence[float],
    *,
    device: str | torch.device = "cpu",
    max_iter: int = 500,
    tol: float = 1e-6,
    init: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The path as device tensors (what ``fit_probe`` scores without leaving the GPU)."""
    device = _as_device(device)
    Xt = torch.as_tensor(np.asarray(X) if not torch.is_tensor(X) else X)
    Xt = Xt.to(device=device, dtype=torch.float64)
    yt = torch.as_tensor(np.asarray(y) if not torch.is_tensor(y) else y).to(device).long()
    if Xt.ndim != 2 or yt.ndim != 1 or len(yt) != len(Xt):
        raise ValueError(
            f"logistic_path: need X (N x D) and y (N,), got {tuple(Xt.shape)}, {tuple(yt.shape)}"
        )
    n, d = Xt.shape
    k = int(yt.max().item()) + 1
    counts = torch.bincount(yt, minlength=k)
    if k < 2 or int(yt.min().item()) < 0 or bool((counts == 0).any()):
        raise ValueError(
            f"logistic_path: y must hold integer class codes 0..K-1 (K >= 2), each occurring; "
            f"got counts {counts.tolist()}"
        )
    onehot = torch.nn.functional.one_hot(yt, k).to(torch.float64)
    # K == 2: sklearn fits ONE weight vector w (penalty 0.5 ||w||^2). A two-column softmax at
    # C/2 has W = [-w/2, w/2] at its optimum (columns sum to zero), whose penalty is 0.25
    # ||w||^2 on half the loss weight: the same minimiser, so decisions and probabilities
    # equal sklearn's binary model (its coef_ is coef[1] - coef[0]).
    c_scale = 0.5 if k == 2 else 1.0
    Cs_arr = np.asarray(Cs, dtype=np.float64).ravel()
    if Cs_arr.size == 0:
        return []
    if not np.all(np.isfinite(Cs_arr) & (Cs_arr > 0)):
        raise ValueError(f"logistic_path: every C must be positive and finite, got {Cs_arr}")

    # Solve from the strongest regularisation (smallest C) up, each warm-started from the
    # previous solution: neighbouring solutions on a log grid are close, so each needs a
    # few L-BFGS iterations rather than a cold start's hundreds.
    order = np.argsort(Cs_arr, kind="stable")
    params = torch.zeros(k * (d + 1), dtype=torch.float64, device=device)
    if init is not None:
        coef0 = torch.as_tensor(np.asarray(init[0]), dtype=torch.float64, device=device)
        b0 = torch.as_tensor(np.asarray(init[1]), dtype=torch.float64, device=device)
        params[: k * d] = coef0.reshape(-1)
        params[k * d :] = b0 - b0.mean()
    else:
        params[:] = _cold_start(Xt, onehot, 1.0 / (float(Cs_arr.min()) * c_scale * n))
    params.requires_grad_(True)
    results: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
    for idx in order:
        C = float(Cs_arr[idx])
        # sklearn's objective C * sum CE + 0.5 ||W||^2 divided by C * N: the mean loss plus
        # 0.5 / (C N) ||W||^2, the scaling sklearn's own L-BFGS uses, so ``tol`` (max |grad|)
        # means what sklearn's ``tol`` means. The minimiser is unchanged.
        reg = 1.0 / (C * c_scale * n)

        def closure(reg: float = reg) -> torch.Tensor:
            W = params[: k * d].view(k, d)
            b = params[k * d :]
            with torch.no_grad():
                logits = torch.addmm(b, Xt, W.T)
                lse = torch.logsumexp(logits, dim=1, keepdim=True)
                loss = (lse.sum() - (logits * onehot).sum()) / n + 0.5 * reg * (W * W).sum()
                resid = (torch.exp(logits - lse) - onehot) / n  # dCE/dlogits
                grad = torch.empty_like(params)
                grad[: k * d] = (resid.T @ Xt + reg * W).reshape(-1)
                grad[k * d :] = resid.sum(0)
            params.grad = grad
            return loss

        opt = torch.optim.LBFGS(
            [params],
            lr=1.0,
            max_iter=max_iter,
            max_eval=max_iter * 2,
            tolerance_grad=tol,
            tolerance_change=64 * np.finfo(np.float64).eps,
            history_size=20,
            line_search_fn="strong_wolfe",
        )
        opt.step(closure)
        with torch.no_grad():
            W = params[: k * d].view(k, d).clone()
            b = params[k * d :].clone()
            # The loss is flat along b + const: report the sum-zero intercept, as sklearn.
            results[int(idx)] = (W, b - b.mean())
    return [results[i] for i in range(len(Cs_arr))]


def logistic_path(
    X: np.ndarray,
    y: np.ndarray,
    Cs: Sequence[float],
    *,
    device: str | torch.device = "cpu",
    max_iter: int = 500,
    tol: float = 1e-6,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(coef K x D, intercept K) of sklearn's multinomial L2 logistic regression for each C.

    Minimises ``C * sum_i CE(x_i, y_i) + 0.5 * ||W||_F^2`` (intercept free) with L-BFGS in
    float64 on ``device``; ``y`` holds codes 0..K-1. ``tol`` bounds the max |gradient| of
    the objective divided by C*N, as sklearn's ``tol`` does. Returned in the order of ``Cs``.
    For K == 2 the two rows are ``[-w/2, w/2]`` of sklearn's binary solution ``w``.
    """
    path = _logistic_path(X, y, Cs, device=device, max_iter=max_iter, tol=tol)
    return [(W.cpu().numpy(), b.cpu().numpy()) for W, b in path]


def _ridge_factor(Xt: torch.Tensor, Yt: torch.Tensor):
    """One decomposition of the centred X shared by every alpha.

    Returns (x_mean, y_mean, V, s2, UtY) with Xc = U diag(s) V^T, so for any alpha
    W^T = V diag(1 / (s^2 + alpha)) (s * U^T Yc) -- the SVD formula
    V diag(s / (s^2 + alpha)) U^T Yc with the factor s folded into ``UtY``.
    For tall X (N > 2 D) the D x D Gram matrix's eigendecomposition gives the same V and
    s^2 at a fraction of the SVD's cost (float64 keeps its squared conditioning harmless:
    the smallest alpha of the grid, 1e-5, is far above eps * s_max^2).
    """
    x_mean = Xt.mean(0)
    y_mean = Yt.mean(0)
    Xc = Xt - x_mean
    Yc = Yt - y_mean
    n, d = Xc.shape
    if n > 2 * d:
        s2, V = torch.linalg.eigh(Xc.T @ Xc)
        s2 = s2.clamp_min(0.0)
        sUtY = V.T @ (Xc.T @ Yc)  # = diag(s) U^T Yc
    else:
        U, s, Vh = torch.linalg.svd(Xc, full_matrices=False)
        V = Vh.T
        s2 = s * s
        sUtY = s[:, None] * (U.T @ Yc)
    return x_mean, y_mean, V, s2, sUtY


def _ridge_path(
    X: np.ndarray, Y: np.ndarray, alphas: Sequence[float], *, device: str | torch.device = "cpu"
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The path as device tensors (coef T x D, intercept T)."""
    device = _as_device(device)
    Xt = torch.as_tensor(np.asarray(X), dtype=torch.float64, device=device)
    Yt = torch.as_tensor(np.asarray(Y), dtype=torch.float64, device=device)
    if Yt.ndim == 1:
        Yt = Yt[:, None]
    if Xt.ndim != 2 or Yt.ndim != 2 or len(Xt) != len(Yt):
        raise ValueError(
            f"ridge_path: need X (N x D) and Y (N x T), got {tuple(Xt.shape)}, {tuple(Yt.shape)}"
        )
    x_mean, y_mean, V, s2, sUtY = _ridge_factor(Xt, Yt)
    out = []
    for alpha in alphas:
        alpha = float(alpha)
        if not (alpha > 0 and math.isfinite(alpha)):
            raise ValueError(f"ridge_path: alpha must be positive and finite, got {alpha}")
        coef = (V @ (sUtY / (s2 + alpha)[:, None])).T  # T x D
        out.append((coef, y_mean - coef @ x_mean))
    return out


def ridge_path(
    X: np.ndarray, Y: np.ndarray, alphas: Sequence[float], *, device: str | torch.device = "cpu"
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(coef T x D, intercept T) of sklearn's ``Ridge(alpha, fit_intercept=True)`` per alpha.

    Centres X and Y and decomposes the centred X once (SVD, or the Gram matrix's
    eigendecomposition when N > 2 D), so the whole grid costs one factorisation. A 1-D ``Y``
    is treated as T = 1.
    """
    return [(c.cpu().numpy(), b.cpu().numpy()) for c, b in _ridge_path(X, Y, alphas, device=device)]


# --------------------------------------------------------------------------------------
# The search
# --------------------------------------------------------------------------------------


@dataclasses.dataclass
class ProbeResult:
    """One probe's search: the grid's validation scores, the choice and its test score."""

    kind: str
    metric: str
    param_name: str
    grid: list[float]
    val_scores: list[float]
    best_param: float
    best_index: int
    val_score: float
    test_score: float
    n_train: int
    n_val: int
    n_test: int

    def to_dict(self) -> dict[str, Any]:
        """Plain Python types only, ready for ``json.dumps``."""
        return {
            "kind": str(self.kind),
            "metric": str(self.metric),
            "param_name": str(self.param_name),
            "grid": [float(v) for v in self.grid],
            "val_scores": [float(v) for v in self.val_scores],
            "best_param": float(self.best_param),
            "best_index": int(self.best_index),
            "val_score": float(self.val_score),
            "test_score": float(self.test_score),
            "n_train": int(self.n_train),
            "n_val": int(self.n_val),
            "n_test": int(self.n_test),
        }


def _best_index(kind: str, grid: np.ndarray, val_scores: Sequence[float]) -> int:
    """Highest validation score; ties go to the stronger regularisation (small C, big alpha)."""
    strength_order = np.argsort(grid if kind == "logistic" else -grid, kind="stable")
    scores = np.asarray(val_scores, dtype=np.float64)[strength_order]
    scores = np.where(np.isnan(scores), -np.inf, scores)  # a NaN score never wins
    return int(strength_order[int(np.argmax(scores))])


def _logistic_predict_labels(
    X: np.ndarray, classes: np.ndarray, path: list[tuple[torch.Tensor, torch.Tensor]], device
) -> list[np.ndarray]:
    Xt = torch.as_tensor(X, dtype=torch.float64, device=device)
    return [classes[torch.argmax(torch.addmm(b, Xt, W.T), 1).cpu().numpy()] for W, b in path]


def fit_probe(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    *,
    kind: str,
    metric: str,
    grid: np.ndarray | None = None,
    val_fraction: float = 0.2,
    seed: int = 0,
    device: str | torch.device = "cpu",
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
) -> ProbeResult:
    """The paper's probe protocol: pick C/alpha on validation, refit on train+val, test.

    Without ``X_val``/``y_val`` a seeded validation split of ``val_fraction`` is carved from
    the training set (stratified for classification). Features are standardised with the
    fitting split's statistics at each stage. Labels may be any ints/strings; test labels
    never seen in train+val simply count as wrong.
    """
    _check_kind_metric(kind, metric)
    if (X_val is None) != (y_val is None):
        raise ValueError("fit_probe: give both X_val and y_val, or neither")
    device = _as_device(device)
    grid = np.asarray(
        (C_GRID if kind == "logistic" else ALPHA_GRID) if grid is None else grid, dtype=np.float64
    ).ravel()
    if grid.size == 0 or not np.all(np.isfinite(grid) & (grid > 0)):
        raise ValueError(f"fit_probe: the grid must be non-empty, positive and finite, got {grid}")

    X_train = np.asarray(X_train)
    X_test = np.asarray(X_test)
    y_train = np.asarray(y_train)
    y_test = np.asarray(y_test)
    arrays = {"X_train": X_train, "X_test": X_test}
    if X_val is not None:
        X_val = np.asarray(X_val)
        y_val = np.asarray(y_val)
        arrays["X_val"] = X_val
    for name, arr in arrays.items():
        if arr.ndim != 2:
            raise ValueError(f"fit_probe: {name} must be N x D, got shape {arr.shape}")
        _check_finite(name, arr)
    if kind == "ridge":
        for name, arr in (("y_train", y_train), ("y_test", y_test), ("y_val", y_val)):
            if arr is not None:
                _check_finite(name, np.asarray(arr, dtype=np.float64))

    if X_val is None:
        if not 0 < val_fraction < 1:
            raise ValueError(f"fit_probe: val_fraction must lie in (0, 1), got {val_fraction}")
        idx = np.arange(len(X_train))
        try:
            fit_idx, val_idx = train_test_split(
                idx,
                test_size=val_fraction,
                random_state=seed,
                stratify=y_train if kind == "logistic" else None,
            )
        except ValueError as err:
            raise ValueError(
                f"fit_probe: cannot carve a {'stratified ' if kind == 'logistic' else ''}"
                f"validation split ({err}); give X_val/y_val or more samples per class"
            ) from err
        X_fit, y_fit = X_train[fit_idx], y_train[fit_idx]
        X_val, y_val = X_train[val_idx], y_train[val_idx]
    else:
        X_fit, y_fit = X_train, y_train
    X_all = np.concatenate([X_fit, X_val])
    y_all = np.concatenate([y_fit, y_val])

    Xf, Xv = standardize(X_fit, X_val)
    if kind == "logistic":
        classes_fit, codes_fit = np.unique(y_fit, return_inverse=True)
        if len(classes_fit) < 2:
            raise ValueError("fit_probe: the fitting split holds fewer than 2 classes")
        path = _logistic_path(Xf, codes_fit, grid, device=device)
        preds = _logistic_predict_labels(Xv, classes_fit, path, device)
        val_scores = [score(kind, metric, y_val, p) for p in preds]
        best = _best_index(kind, grid, val_scores)
        # Refit on train+val (classes over train+val), warm-started from the chosen solution
        # where the class sets agree; the minimiser is unique, so the start changes nothing
        # but the iteration count.
        classes_all, codes_all = np.unique(y_all, return_inverse=True)
        init = None
        if len(classes_all) == len(classes_fit):
            init = (path[best][0].cpu().numpy(), path[best][1].cpu().numpy())
        Xa, Xt = standardize(X_all, X_test)
        final = _logistic_path(Xa, codes_all, [grid[best]], device=device, init=init)
        test_pred = _logistic_predict_labels(Xt, classes_all, final, device)[0]
        test_score = score(kind, metric, y_test, test_pred)
        param_name = "C"
    else:
        Yf = np.asarray(y_fit, dtype=np.float64)
        path = _ridge_path(Xf, Yf, grid, device=device)
        Xv_t = torch.as_tensor(Xv, dtype=torch.float64, device=device)
        val_scores = [
            score(
                kind,
                metric,
                y_val,
                (torch.addmm(b, Xv_t, W.T)).cpu().numpy().reshape(np.shape(y_val)),
            )
            for W, b in path
        ]
        best = _best_index(kind, grid, val_scores)
        Xa, Xt = standardize(X_all, X_test)
        W, b = _ridge_path(Xa, np.asarray(y_all, dtype=np.float64), [grid[best]], device=device)[0]
        test_pred = predict_ridge(Xt, W.cpu().numpy(), b.cpu().numpy()).reshape(np.shape(y_test))
        test_score = score(kind, metric, y_test, test_pred)
        param_name = "alpha"

    return ProbeResult(
        kind=kind,
        metric=metric,
        param_name=param_name,
        grid=[float(v) for v in grid],
        val_scores=[float(v) for v in val_scores],
        best_param=float(grid[best]),
        best_index=int(best),
        val_score=float(val_scores[best]),
        test_score=float(test_score),
        n_train=len(X_fit),
        n_val=len(X_val),
        n_test=len(X_test),
    )
