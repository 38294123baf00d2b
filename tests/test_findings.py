"""Findings are computed: change the numbers and the verdicts change. Figures render."""

from __future__ import annotations

import pandas as pd
import pytest
from PIL import Image

from sslinv import figures, findings
from sslinv.invariance import synthetic_rows

MODELS = ["default", "spatial", "appearance", "random", "supervised"]
# cosine invariance per model: (spatial transforms, appearance transforms)
PAPER_LIKE = {
    "default": (0.6, 0.6),
    "spatial": (0.8, 0.3),
    "appearance": (0.3, 0.8),
    "random": (0.1, 0.1),
    "supervised": (0.5, 0.5),
}


def _synthetic(invariance: dict) -> pd.DataFrame:
    frames = []
    for model, (spa, app) in invariance.items():
        for transform, group, score in [("rotation", "spatial", spa), ("hue", "appearance", app)]:
            curve = pd.DataFrame(
                {
                    "value": [0.0, 1.0, 2.0],
                    "cosine": [1.0, score, score],
                    "mahalanobis": [0.0, 1 / score, 1 / score],
                }
            )
            frames.append(synthetic_rows(curve, model, transform, group, identity=0.0))
    return pd.concat(frames, ignore_index=True)


def _realworld(invariance: dict) -> pd.DataFrame:
    rows = []
    for model, (spa, app) in invariance.items():
        for factor, score in [("viewpoint", spa), ("light_hue", app)]:
            for metric, value in [("cosine", score), ("mahalanobis", 1 / score)]:
                rows.append({"model": model, "factor": factor, "metric": metric, "score": value})
    return pd.DataFrame(rows)


def _downstream(scores: dict) -> pd.DataFrame:
    groups = {"class": "recognition", "pose": "pose", "hue": "colour"}
    metric = {"class": "accuracy", "pose": "r2", "hue": "r2"}
    return pd.DataFrame(
        [
            {"model": m, "task": t, "group": groups[t], "metric": metric[t], "score": s}
            for m, per_task in scores.items()
            for t, s in per_task.items()
        ]
    )


SCORES = {
    "default": {"class": 0.8, "pose": 0.4, "hue": 0.3},
    "spatial": {"class": 0.6, "pose": 0.2, "hue": 0.9},
    "appearance": {"class": 0.6, "pose": 0.7, "hue": 0.1},
    "random": {"class": 0.3, "pose": 0.1, "hue": 0.2},
    "supervised": {"class": 0.9, "pose": 0.3, "hue": 0.2},
    "def+spa+app": {"class": 0.85, "pose": 0.75, "hue": 0.95},
}


def _answers(invariance=PAPER_LIKE, scores=SCORES):
    return findings.answer(
        _synthetic(invariance),
        _realworld(invariance),
        _downstream(scores),
        ["default", "spatial", "appearance"],
        ["def+spa+app"],
    )


def test_paper_like_numbers_give_holds():
    answers = _answers()
    assert {k: a["verdict"] for k, a in answers.items()} == dict.fromkeys(
        ("Q1", "Q2", "Q3", "Q4"), "holds"
    )
    assert answers["Q2"]["evidence"]["crossing"] is True


def test_q2_turns_when_the_crossing_disappears():
    swapped = {**PAPER_LIKE, "spatial": (0.3, 0.8), "appearance": (0.8, 0.3)}
    assert _answers(invariance=swapped)["Q2"]["verdict"] == "does not hold"


def test_q3_turns_when_pose_prefers_spatial():
    scores = {m: dict(s) for m, s in SCORES.items()}
    scores["spatial"]["pose"], scores["appearance"]["pose"] = 0.9, 0.1
    scores["spatial"]["hue"], scores["appearance"]["hue"] = 0.1, 0.9
    assert _answers(scores=scores)["Q3"]["verdict"] == "does not hold"


def test_q4_turns_when_fusion_lags():
    scores = {m: dict(s) for m, s in SCORES.items()}
    scores["def+spa+app"] = {"class": 0.1, "pose": 0.1, "hue": 0.1}
    q4 = _answers(scores=scores)["Q4"]
    assert q4["verdict"] == "does not hold" and q4["evidence"]["mean_rank_position"] == 6


def test_q1_turns_when_real_world_disagrees():
    realworld = _realworld({m: (1 - s, 1 - a) for m, (s, a) in PAPER_LIKE.items()})
    q1 = findings.q1(_synthetic(PAPER_LIKE), realworld)
    assert q1["verdict"] == "does not hold"
    assert all(r["spearman_rho"] < 0 for r in q1["evidence"])


def test_markdown_has_table_rules_and_winners():
    text = findings.markdown(_answers(), _downstream(SCORES))
    assert "| question | asks | verdict | evidence |" in text
    assert "## Rules" in text and "rho >= 0.5" in text
    assert "| pose | pose | def+spa+app |" in text
    assert "| appearance | +0.300 | -0.100 | +0.600 | 2/3 |" in text  # class, hue, pose vs random


@pytest.mark.parametrize("metric", ["cosine", "mahalanobis"])
def test_figures_render(tmp_path, metric):
    synthetic = _synthetic(PAPER_LIKE)
    extrinsic = _downstream(SCORES).rename(columns={"task": "latent"})
    figures.figure1(
        synthetic,
        _realworld(PAPER_LIKE),
        extrinsic,
        _downstream(SCORES),
        metric,
        MODELS,
        ["def+spa+app"],
        tmp_path / "f1.pdf",
    )
    figures.transform_curves(
        synthetic, {"rotation": "degrees"}, metric, MODELS, tmp_path / "curves.pdf"
    )
    figures.invariance_vs_performance(synthetic, _downstream(SCORES), MODELS, tmp_path / "ivp.pdf")
    for name in ("f1", "curves", "ivp"):
        assert (tmp_path / f"{name}.pdf").stat().st_size > 1000
        with Image.open(tmp_path / f"{name}.png") as image:
            assert image.width > 400 and image.height > 300
