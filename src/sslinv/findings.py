"""Answers to the paper's four questions, computed from the tables.

Nothing here is asserted: each question has a statistic computed from the current tables
and a verdict by a stated rule, so a different run (another seed, another dataset) can
give another answer. Rules (``RULES`` below, printed into findings.md):

* Q1 (synthetic -> real-world): per real-world factor, Spearman's rho across network models
  between the real-world cosine and the mean synthetic cosine of the matching group
  (viewpoint: spatial transforms; light colour and direction: appearance transforms).
  holds: rho >= 0.5 for every factor; partly: for at least one; else does not hold.
* Q2 (trade-off): the spatial model is more spatially invariant than the appearance model
  AND the appearance model more appearance-invariant than the spatial model (a crossing),
  plus Spearman's rho between spatial and appearance invariance across trained variants.
  holds: crossing and rho < 0; partly: crossing only; else does not hold.
* Q3 (tasks prefer opposite invariances): pose tasks score higher with appearance than
  with spatial features, colour tasks the reverse. holds: every pose and colour task goes
  the predicted way; partly: more than half do; else does not hold.
* Q4 (fusion): the best fused model's mean rank over all tasks among every model and fusion.
  holds: it has the best mean rank; partly: it is within the top two or within 0.02 of the
  best score on every task; else does not hold.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

MATCHING_GROUP = {
    "viewpoint": "spatial",
    "light_hue": "appearance",
    "light_direction": "appearance",
    "illumination_colour": "appearance",
    "illumination_direction": "appearance",
}
RULES = __doc__.split("Rules (``RULES`` below, printed into findings.md):")[1].strip()
VERDICTS = ("holds", "partly", "does not hold", "not measured")


def _rho(x: Sequence[float], y: Sequence[float]) -> float:
    if len(x) < 3 or np.std(x) == 0 or np.std(y) == 0:
        return float("nan")
    return float(spearmanr(x, y).statistic)


def group_means(synthetic: pd.DataFrame, metric: str = "cosine") -> pd.DataFrame:
    """Model x {spatial, appearance}: mean synthetic invariance over each group."""
    summary = synthetic[
        (synthetic["statistic"] == "mean_excluding_identity") & (synthetic["metric"] == metric)
    ]
    return summary.pivot_table(index="model", columns="group", values="score", aggfunc="mean")


def q1(synthetic: pd.DataFrame, realworld: pd.DataFrame) -> dict:
    groups = group_means(synthetic)
    rw = realworld[realworld["metric"] == "cosine"].pivot_table(
        index="model", columns="factor", values="score"
    )
    rows = []
    for factor in rw.columns:
        group = MATCHING_GROUP.get(factor, "appearance")
        if group not in groups:
            continue
        models = sorted(set(groups.index) & set(rw.index))
        rho = _rho(groups.loc[models, group].to_numpy(), rw.loc[models, factor].to_numpy())
        rows.append(
            {"factor": factor, "synthetic_group": group, "spearman_rho": rho, "models": len(models)}
        )
    if not rows:
        return {"verdict": "not measured", "evidence": []}
    good = [r["spearman_rho"] >= 0.5 for r in rows]
    verdict = "holds" if all(good) else "partly" if any(good) else "does not hold"
    return {"verdict": verdict, "evidence": rows}


def q2(synthetic: pd.DataFrame, variants: Sequence[str]) -> dict:
    groups = group_means(synthetic)
    needed = {"spatial", "appearance"}
    if not needed <= set(groups.columns) or not needed <= set(groups.index):
        return {"verdict": "not measured", "evidence": {}}
    crossing = bool(
        groups.loc["spatial", "spatial"] > groups.loc["appearance", "spatial"]
        and groups.loc["appearance", "appearance"] > groups.loc["spatial", "appearance"]
    )
    trained = [v for v in variants if v in groups.index]
    rho = _rho(
        groups.loc[trained, "spatial"].to_numpy(), groups.loc[trained, "appearance"].to_numpy()
    )
    verdict = "holds" if crossing and rho < 0 else "partly" if crossing else "does not hold"
    evidence = {
        "crossing": crossing,
        "spearman_rho_spatial_vs_appearance": rho,
        "variants": len(trained),
        "invariance": groups.loc[trained].round(4).to_dict(orient="index"),
    }
    return {"verdict": verdict, "evidence": evidence}


def q3(downstream: pd.DataFrame) -> dict:
    scores = downstream.pivot_table(index="task", columns="model", values="score")
    groups = downstream.drop_duplicates("task").set_index("task")["group"]
    rows = []
    for task in scores.index:
        row = scores.loc[task]
        winner = row.idxmax()
        entry = {"task": task, "group": groups[task], "winner": winner, "best": row.max()}
        if {"spatial", "appearance"} <= set(row.index) and groups[task] in ("pose", "colour"):
            prefers = "appearance" if row["appearance"] > row["spatial"] else "spatial"
            expected = "appearance" if groups[task] == "pose" else "spatial"
            entry.update(prefers=prefers, expected=expected, as_predicted=prefers == expected)
        rows.append(entry)
    checked = [r["as_predicted"] for r in rows if "as_predicted" in r]
    if not checked:
        return {"verdict": "not measured", "evidence": rows}
    share = sum(checked) / len(checked)
    verdict = "holds" if share == 1 else "partly" if share > 0.5 else "does not hold"
    return {"verdict": verdict, "evidence": rows}


def q4(downstream: pd.DataFrame, fusions: Sequence[str]) -> dict:
    scores = downstream.pivot_table(index="task", columns="model", values="score")
    present = [f for f in fusions if f in scores.columns]
    if not present:
        return {"verdict": "not measured", "evidence": []}
    ranks = scores.rank(axis=1, ascending=False, method="min")
    mean_rank = ranks.mean().sort_values()
    best_fused = min(present, key=lambda f: mean_rank[f])
    gaps = (scores.max(axis=1) - scores[best_fused]).to_dict()
    position = list(mean_rank.index).index(best_fused) + 1
    if position == 1:
        verdict = "holds"
    elif position <= 2 or max(gaps.values()) <= 0.02:
        verdict = "partly"
    else:
        verdict = "does not hold"
    evidence = {
        "best_fused": best_fused,
        "mean_rank_position": position,
        "mean_rank": mean_rank.round(2).to_dict(),
        "gap_to_best": {k: round(v, 4) for k, v in gaps.items()},
        "rank_per_task": ranks[best_fused].astype(int).to_dict(),
    }
    return {"verdict": verdict, "evidence": evidence}


QUESTIONS = {
    "Q1": "Do learned (synthetic) invariances carry over to real-world changes?",
    "Q2": "Is there a trade-off between spatial and appearance invariance?",
    "Q3": "Do different downstream tasks prefer opposite invariances?",
    "Q4": "Does a simple fusion of complementary features do well on every task?",
}


def answer(synthetic, realworld, downstream, variants, fusions) -> dict[str, dict]:
    """Every question's verdict and evidence."""
    return {
        "Q1": q1(synthetic, realworld),
        "Q2": q2(synthetic, variants),
        "Q3": q3(downstream),
        "Q4": q4(downstream, fusions),
    }


def summary_table(answers: dict[str, dict]) -> pd.DataFrame:
    """One row per question: the question, the verdict and a one-line piece of evidence."""
    rows = []
    for key, result in answers.items():
        rows.append(
            {
                "question": key,
                "asks": QUESTIONS[key],
                "verdict": result["verdict"],
                "evidence": _one_line(key, result["evidence"]),
            }
        )
    return pd.DataFrame(rows)


def _one_line(key: str, evidence) -> str:
    if not evidence:
        return "no data"
    if key == "Q1":
        return "; ".join(
            f"{r['factor']}~{r['synthetic_group']}: rho={r['spearman_rho']:.2f}" for r in evidence
        )
    if key == "Q2":
        return (
            f"crossing={evidence['crossing']}, rho(spatial, appearance)="
            f"{evidence['spearman_rho_spatial_vs_appearance']:.2f} over "
            f"{evidence['variants']} variants"
        )
    if key == "Q3":
        parts = [
            f"{r['task']} ({r['group']}) prefers {r['prefers']}" for r in evidence if "prefers" in r
        ]
        return "; ".join(parts) or "no pose or colour task"
    return (
        f"{evidence['best_fused']} mean-rank position {evidence['mean_rank_position']}, "
        f"largest gap to best {max(evidence['gap_to_best'].values()):.3f}"
    )


def markdown(answers: dict[str, dict], downstream: pd.DataFrame) -> str:
    """findings.md: the summary table, the winners per task, the evidence and the rules."""
    table = summary_table(answers)
    lines = [
        "# Findings: why do self-supervised models transfer?",
        "",
        "Computed from `results/tables/*.csv` by `sslinv findings`; verdicts follow the "
        "rules at the end of this file.",
        "",
        _md_table(table),
        "",
        "## Winner per downstream task",
        "",
    ]
    winners = pd.DataFrame(
        [
            {k: r.get(k, "") for k in ("task", "group", "winner", "best")}
            for r in answers["Q3"]["evidence"]
        ]
    )
    if not winners.empty:
        winners["best"] = winners["best"].map(lambda v: f"{v:.3f}")
        lines += [_md_table(winners), ""]
    learned = learning_check(downstream)
    if not learned.empty:
        lines += [
            "## Did every model learn? (score minus the random network's)",
            "",
            "A trained model that does not beat the untrained network on any task has "
            "learned nothing useful; one that loses on some tasks has traded them away.",
            "",
            _md_table(learned),
            "",
        ]
    lines += ["## Evidence", ""]
    for key, result in answers.items():
        lines += [
            f"### {key}: {QUESTIONS[key]} **{result['verdict']}**",
            "",
            "```",
            _pretty(result["evidence"]),
            "```",
            "",
        ]
    lines += ["## Rules", "", RULES, ""]
    return "\n".join(lines)


def learning_check(downstream: pd.DataFrame, reference: str = "random") -> pd.DataFrame:
    """Per model and task: test score minus the random network's (rounded, as strings)."""
    scores = downstream.pivot_table(index="model", columns="task", values="score")
    if reference not in scores.index:
        return pd.DataFrame()
    delta = scores.drop(index=reference) - scores.loc[reference]
    table = delta.map(lambda v: f"{v:+.3f}")
    table["beats random on"] = [
        f"{int((row > 0).sum())}/{row.notna().sum()}" for _, row in delta.iterrows()
    ]
    return table.reset_index()


def _pretty(evidence) -> str:
    import json

    return json.dumps(
        evidence, indent=2, default=lambda v: float(v) if hasattr(v, "item") else str(v)
    )


def _md_table(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])
