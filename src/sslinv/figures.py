"""The paper's figures from the tidy tables.

Every function takes DataFrames and an output path and returns nothing; the figure stage
only reads tables, so replotting never touches a network. Conventions shared by all
figures: one fixed colour per model (sslinv.palette), fused models as black markers,
baselines hatched and lighter, units on every axis, PDF + PNG side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from sslinv.findings import group_means
from sslinv.io import atomic_path
from sslinv.palette import fused_markers, is_baseline, model_colours

METRIC_LABEL = {
    "cosine": "whitened cosine similarity\n(higher = more invariant)",
    "mahalanobis": "Mahalanobis distance\n(lower = more invariant)",
}
plt.rcParams.update(
    {
        "font.size": 9,
        "axes.titlesize": 10,
        "axes.labelsize": 9,
        "legend.fontsize": 8,
        "xtick.labelsize": 8,
        "ytick.labelsize": 8,
    }
)


def save_figure(fig: plt.Figure, path: str | Path) -> None:
    """Write ``path`` (.pdf or .png) and its sibling in the other format, atomically."""
    path = Path(path)
    for target in {path, path.with_suffix(".png"), path.with_suffix(".pdf")}:
        with atomic_path(target, suffix=target.suffix) as tmp:
            fig.savefig(tmp, format=target.suffix[1:], dpi=150, bbox_inches="tight")
    plt.close(fig)


def _legend(fig: plt.Figure, handles, labels) -> None:
    """One legend for the whole figure, above the panels, one row."""
    fig.legend(
        handles,
        labels,
        loc="upper center",
        ncol=min(len(labels), 8),
        frameon=False,
        bbox_to_anchor=(0.5, 1.0),
    )


def _bars(
    ax: plt.Axes,
    table: pd.DataFrame,
    item: str,
    items: Sequence[str],
    models: Sequence[str],
    colours: dict[str, str],
) -> None:
    """Grouped bars: one group per item, one bar per model (baselines hatched, lighter)."""
    width = 0.8 / max(1, len(models))
    x = np.arange(len(items))
    for i, model in enumerate(models):
        scores = table[table["model"] == model].set_index(item)["score"].reindex(items)
        base = is_baseline(model)
        ax.bar(
            x + (i - (len(models) - 1) / 2) * width,
            scores.to_numpy(),
            width,
            color=colours[model],
            alpha=0.45 if base else 0.95,
            hatch="//" if base else None,
            edgecolor="white" if not base else colours[model],
            linewidth=0.3,
            label=model,
        )
    ax.set_xticks(x, [i.replace("_", " ") for i in items], rotation=35, ha="right")
    ax.set_xlim(-0.6, len(items) - 0.4)
    ax.grid(axis="y", alpha=0.3)


def _fused(
    ax: plt.Axes, table: pd.DataFrame, item: str, items: Sequence[str], fusions: Sequence[str]
) -> None:
    """Fused models as black markers joined by a thin black line across items."""
    markers = fused_markers(fusions)
    x = np.arange(len(items))
    for name in fusions:
        scores = table[table["model"] == name].set_index(item)["score"].reindex(items)
        ax.plot(
            x,
            scores.to_numpy(),
            color="black",
            marker=markers[name],
            markersize=5,
            linewidth=0.8,
            label=name,
            zorder=5,
        )


def figure1(
    synthetic: pd.DataFrame,
    realworld: pd.DataFrame,
    extrinsic: pd.DataFrame,
    downstream: pd.DataFrame,
    metric: str,
    models: Sequence[str],
    fusions: Sequence[str],
    path: str | Path,
) -> None:
    """The paper's Figure 1: synthetic, real-world, extrinsic invariance and downstream scores."""
    colours = model_colours(models)
    summary = synthetic[
        (synthetic["statistic"] == "mean_excluding_identity") & (synthetic["metric"] == metric)
    ]
    order = summary.drop_duplicates("transform").sort_values(
        "group", kind="stable", key=lambda g: g.map({"spatial": 0, "appearance": 1})
    )
    transforms = list(order["transform"])
    n_spatial = int((order["group"] == "spatial").sum())
    fig, axes = plt.subplots(4, 1, figsize=(max(8, 0.45 * len(transforms) + 3), 13))
    ax = axes[0]
    _bars(ax, summary, "transform", transforms, models, colours)
    if 0 < n_spatial < len(transforms):
        ax.axvline(n_spatial - 0.5, color="black", linewidth=0.8)
        top = ax.get_ylim()[1]
        ax.text(n_spatial / 2 - 0.5, top, "spatial", ha="center", va="bottom", fontsize=9)
        ax.text(
            (n_spatial + len(transforms)) / 2 - 0.5,
            top,
            "appearance",
            ha="center",
            va="bottom",
            fontsize=9,
        )
    ax.set_ylabel(METRIC_LABEL[metric])
    ax.set_title(
        "(1) Synthetic invariance (mean over each transform's grid, identity excluded)", pad=14
    )
    rw = realworld[realworld["metric"] == metric]
    factors = list(dict.fromkeys(rw["factor"]))
    _bars(axes[1], rw, "factor", factors, models, colours)
    axes[1].set_ylabel(METRIC_LABEL[metric])
    axes[1].set_title("(2) Real-world intrinsic invariance (pairs within groups of one object)")
    latents = list(dict.fromkeys(extrinsic["latent"]))
    _bars(axes[2], extrinsic, "latent", latents, models, colours)
    _fused(axes[2], extrinsic, "latent", latents, fusions)
    axes[2].set_ylabel("test $R^2$\n(lower = more invariant)")
    axes[2].set_title("(3) Extrinsic invariance: how well each latent is predicted")
    tasks = list(dict.fromkeys(downstream["task"]))
    _bars(axes[3], downstream, "task", tasks, models, colours)
    _fused(axes[3], downstream, "task", tasks, fusions)
    metrics = downstream.drop_duplicates("task").set_index("task")["metric"]
    axes[3].set_xticks(
        range(len(tasks)),
        [f"{t.replace('_', ' ')}\n({metrics[t].replace('_', ' ')})" for t in tasks],
        rotation=35,
        ha="right",
    )
    axes[3].set_ylabel("test score")
    axes[3].set_title("(4) Downstream performance of a linear probe")
    handles, labels = axes[3].get_legend_handles_labels()
    _legend(fig, handles, labels)
    fig.tight_layout(rect=(0, 0, 1, 0.975))
    save_figure(fig, path)


def transform_curves(
    synthetic: pd.DataFrame,
    units: dict[str, str],
    metric: str,
    models: Sequence[str],
    path: str | Path,
) -> None:
    """Invariance against the transform parameter: one panel per transform, a line per model."""
    colours = model_colours(models)
    curves = synthetic[(synthetic["statistic"] == "value") & (synthetic["metric"] == metric)]
    transforms = list(dict.fromkeys(curves["transform"]))
    cols = min(6, len(transforms))
    rows = -(-len(transforms) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.3 * rows + 0.6), squeeze=False)
    for ax, name in zip(axes.flat, transforms, strict=False):
        part = curves[curves["transform"] == name]
        for model in models:
            line = part[part["model"] == model].sort_values("parameter")
            ax.plot(
                line["parameter"],
                line["score"],
                color=colours[model],
                marker=".",
                linewidth=1.2,
                alpha=0.5 if is_baseline(model) else 1.0,
                linestyle="--" if is_baseline(model) else "-",
                label=model,
            )
        ax.set_title(name.replace("_", " "))
        ax.set_xlabel(units.get(name, "parameter"))
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(transforms) :]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel(metric)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    _legend(fig, handles, labels)
    fig.suptitle(f"{METRIC_LABEL[metric].splitlines()[0]} against the transform parameter", y=1.03)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    save_figure(fig, path)


def invariance_vs_performance(
    synthetic: pd.DataFrame, downstream: pd.DataFrame, models: Sequence[str], path: str | Path
) -> None:
    """Downstream score against spatial and appearance invariance, with Spearman's rho."""
    colours = model_colours(models)
    groups = group_means(synthetic)
    tasks = list(dict.fromkeys(downstream["task"]))
    kinds = [k for k in ("spatial", "appearance") if k in groups]
    fig, axes = plt.subplots(
        len(kinds),
        len(tasks),
        squeeze=False,
        figsize=(2.5 * len(tasks) + 0.5, 2.5 * len(kinds) + 0.6),
    )
    for col, task in enumerate(tasks):
        scores = downstream[downstream["task"] == task].set_index("model")["score"]
        shared = [m for m in models if m in scores.index and m in groups.index]
        for row, kind in enumerate(kinds):
            ax = axes[row, col]
            x, y = groups.loc[shared, kind], scores.loc[shared]
            for model in shared:
                ax.scatter(
                    x[model],
                    y[model],
                    color=colours[model],
                    s=30,
                    alpha=0.5 if is_baseline(model) else 1.0,
                    label=model,
                    zorder=3,
                )
            rho = spearmanr(x, y).statistic if len(shared) > 2 else float("nan")
            ax.set_title(f"{task.replace('_', ' ')}\nSpearman ρ = {rho:.2f}")
            ax.set_xlabel(f"{kind} invariance (cosine)")
            if col == 0:
                ax.set_ylabel("test score")
            ax.grid(alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    _legend(fig, handles, labels)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    save_figure(fig, path)
