"""One colour per model, the same in every figure.

The paper's reading depends on recognising a model at a glance across rows and figures, so
colours are assigned by name (not by plotting order): known variants and baselines get fixed
colours, any other variant the next free colour in config order; fused models are black with
their own marker, baselines are drawn lighter (they are reference points, not contenders).
"""

from __future__ import annotations

from collections.abc import Sequence

FIXED = {
    "default": "#1f77b4",
    "spatial": "#d62728",
    "appearance": "#2ca02c",
    "supervised": "#9467bd",
    "random": "#7f7f7f",
}
SPARE = ("#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#bcbd22", "#393b79", "#637939")
BASELINES = ("random", "supervised")
FUSED_MARKERS = ("o", "s", "^", "D", "v", "P")


def model_colours(models: Sequence[str]) -> dict[str, str]:
    """Colour of every (non-fused) model; stable for the fixed names."""
    colours, spare = {}, iter(SPARE * 4)
    for model in models:
        colours[model] = FIXED.get(model) or next(spare)
    return colours


def fused_markers(fusions: Sequence[str]) -> dict[str, str]:
    return {name: FUSED_MARKERS[i % len(FUSED_MARKERS)] for i, name in enumerate(fusions)}


def is_baseline(model: str) -> bool:
    return model in BASELINES
