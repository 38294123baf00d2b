"""Probe search: sslinv's torch regularisation paths against per-value scikit-learn fits.

Why: the 45-value C/alpha search is run for every (model, task) pair, so its cost decides
how long the downstream stage takes. This script times the same protocol (seeded split,
fit every grid value on the fitting split, best on validation, refit on train+val, score
on test) done by ``sslinv.probes.fit_probe`` and by a plain scikit-learn loop, and prints
both test scores so a speed-up is never bought with a different answer.

    python benchmarks/probe_search.py                      # synthetic Gaussian clusters
    python benchmarks/probe_search.py --n 5000 --d 512 --device cuda
    python benchmarks/probe_search.py --features feats.npy --targets feats.targets.csv \
        --column label --regress x,y
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sslinv.probes import ALPHA_GRID, C_GRID, fit_probe, logistic_path


def synthetic(n: int, d: int, classes: int, targets: int, seed: int):
    """Overlapping Gaussian clusters (labels) and a noisy linear map of them (regression)."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(classes, d)) * 3.0 / np.sqrt(d)
    labels = rng.integers(0, classes, n)
    X = (centers[labels] + rng.normal(size=(n, d))).astype(np.float32)
    B = rng.normal(size=(d, targets)) / np.sqrt(d)
    Y = X @ B + rng.normal(size=(n, targets))
    return X, labels, Y


def load_real(features: str, targets: str, column: str | None, regress: str | None):
    """Saved features (N x D .npy) and their targets table (CSV, one row per feature row)."""
    X = np.load(features, mmap_mode="r").astype(np.float32)
    table = pd.read_csv(targets)
    if len(table) != len(X):
        raise SystemExit(f"{targets} has {len(table)} rows but {features} has {len(X)}")
    labels = table[column].to_numpy() if column else None
    Y = table[regress.split(",")].to_numpy(np.float64) if regress else None
    return X, labels, Y


def sklearn_search(X_tr, y_tr, X_te, y_te, grid, make, *, stratify: bool, seed: int):
    """The reference protocol, one sklearn model per grid value (grid in tie-break order).

    Features go in as float64, the precision sslinv's solvers use (sklearn keeps float32).
    """
    X_tr, X_te = np.asarray(X_tr, np.float64), np.asarray(X_te, np.float64)
    fit_idx, val_idx = train_test_split(
        np.arange(len(X_tr)), test_size=0.2, random_state=seed, stratify=y_tr if stratify else None
    )
    scaler = StandardScaler().fit(X_tr[fit_idx])
    Xf, Xv = scaler.transform(X_tr[fit_idx]), scaler.transform(X_tr[val_idx])
    vals = [make(v).fit(Xf, y_tr[fit_idx]).score(Xv, y_tr[val_idx]) for v in grid]
    best = int(np.argmax(vals))  # first maximum: grid is ordered strongest regulariser first
    scaler = StandardScaler().fit(X_tr)
    model = make(grid[best]).fit(scaler.transform(X_tr), y_tr)
    return grid[best], model.score(scaler.transform(X_te), y_te)


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="synthetic samples (train+test)")
    parser.add_argument("--d", type=int, default=256, help="synthetic feature dimension")
    parser.add_argument("--classes", type=int, default=7, help="synthetic classes")
    parser.add_argument("--targets-dim", type=int, default=5, help="synthetic regression targets")
    parser.add_argument("--grid", type=int, default=45, help="grid values (evenly subsampled)")
    parser.add_argument("--features", help="real features .npy (N x D) instead of synthetic")
    parser.add_argument("--targets", help="targets CSV matching --features row by row")
    parser.add_argument("--column", help="label column of --targets (logistic probe)")
    parser.add_argument("--regress", help="comma-separated numeric columns (ridge probe)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--max-iter", type=int, default=500, help="sklearn max_iter (ours: 500)")
    parser.add_argument("--tol", type=float, default=1e-6, help="sklearn tol (ours: 1e-6)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads for BOTH sides (torch and sklearn's BLAS/OpenMP); 1 by default so a "
        "shared machine's contention does not distort the comparison",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    with threadpool_limits(limits=args.threads):
        run(args, parser)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Build or load the features, time both searches, print the table."""

    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.features:
        if not args.targets:
            parser.error("--features needs --targets")
        X, labels, Y = load_real(args.features, args.targets, args.column, args.regress)
    else:
        X, labels, Y = synthetic(args.n, args.d, args.classes, args.targets_dim, args.seed)
    pick = np.unique(np.linspace(0, len(C_GRID) - 1, args.grid).round().astype(int))
    c_grid, alpha_grid = C_GRID[pick], np.sort(ALPHA_GRID[pick])
    idx_tr, idx_te = train_test_split(
        np.arange(len(X)), test_size=0.2, random_state=args.seed, stratify=labels
    )
    print(
        f"features {X.shape[0]} x {X.shape[1]} (train {len(idx_tr)}, test {len(idx_te)}), "
        f"grid {len(pick)} values, device {device}, torch threads {torch.get_num_threads()}"
    )
    # Exclude torch's one-off start-up cost (first LBFGS/linalg call) from the timing.
    logistic_path(np.eye(4), np.array([0, 1, 0, 1]), [1.0], device=device)

    rows = []
    if labels is not None:
        y_tr, y_te = labels[idx_tr], labels[idx_te]
        t_ours, ours = timed(
            lambda: fit_probe(
                X[idx_tr],
                y_tr,
                X[idx_te],
                y_te,
                kind="logistic",
                metric="accuracy",
                grid=c_grid,
                seed=args.seed,
                device=device,
            )
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            t_skl, (c_skl, acc_skl) = timed(
                lambda: sklearn_search(
                    X[idx_tr],
                    y_tr,
                    X[idx_te],
                    y_te,
                    c_grid,
                    lambda C: LogisticRegression(C=C, max_iter=args.max_iter, tol=args.tol),
                    stratify=True,
                    seed=args.seed,
                )
            )
        unconverged = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
        rows.append(
            (
                "logistic (accuracy)",
                t_ours,
                t_skl,
                ours.test_score,
                acc_skl,
                f"C {ours.best_param:.3g} vs {c_skl:.3g}; sklearn unconverged {unconverged}",
            )
        )
    if Y is not None:
        Y_tr, Y_te = Y[idx_tr], Y[idx_te]
        t_ours, ours = timed(
            lambda: fit_probe(
                X[idx_tr],
                Y_tr,
                X[idx_te],
                Y_te,
                kind="ridge",
                metric="r2",
                grid=alpha_grid,
                seed=args.seed,
                device=device,
            )
        )
        t_skl, (a_skl, r2_skl) = timed(
            lambda: sklearn_search(
                X[idx_tr],
                Y_tr,
                X[idx_te],
                Y_te,
                alpha_grid[::-1],
                lambda a: Ridge(alpha=a),
                stratify=False,
                seed=args.seed,
            )
        )
        rows.append(
            (
                "ridge (r2)",
                t_ours,
                t_skl,
                ours.test_score,
                r2_skl,
                f"alpha {ours.best_param:.3g} vs {a_skl:.3g}",
            )
        )

    header = f"{'probe':<20} {'ours s':>8} {'sklearn s':>10} {'skl/ours':>8} "
    header += f"{'test ours':>10} {'test skl':>10} {'diff':>10}  choice"
    print(header)
    print("-" * len(header))
    for name, t_o, t_s, s_o, s_s, note in rows:
        print(
            f"{name:<20} {t_o:8.2f} {t_s:10.2f} {t_s / t_o:7.1f}x "
            f"{s_o:10.4f} {s_s:10.4f} {s_o - s_s:10.2e}  {note}"
        )


if __name__ == "__main__":
    main()
