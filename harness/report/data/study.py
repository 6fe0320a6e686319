"""The overfitting study, aggregated: runs of suite ``overfitting`` placed on the factor their
spec varies (see :mod:`harness.report.sections.study` for the rules) with each run's gap and onset
(:func:`study_frame`), and per factor level the frameworks' mean gaps and whether they agree
(:func:`agreement`). The section reads these, never the runs."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from harness.record.keys import config_key

SUITE = "overfitting"
FACTORS = ("train_fraction", "hidden", "label_noise", "cure")
FACTOR_NAMES = {
    "train_fraction": "training-set fraction",
    "hidden": "hidden width",
    "label_noise": "label noise",
    "cure": "cure",
}
CURES = ("dropout", "weight_decay")
SPREAD_FLOOR = 0.01  # 1 pp: below it, seeds that happen to agree closely would flag any difference


def _usable(run: pd.Series) -> bool:
    result = run["overfitting"]
    return (
        run["suite"] == SUITE
        and run["status"] == "ok"
        and isinstance(result, dict)
        and "reason" not in result
    )


def reference_spec(configs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Each field's most common value over the distinct specs (seed ignored), see module doc."""
    distinct = [json.loads(k) for k in dict.fromkeys(config_key(c) for c in configs)]
    fields = dict.fromkeys(k for c in distinct for k in c)
    return {
        name: json.loads(Counter(json.dumps(c.get(name)) for c in distinct).most_common(1)[0][0])
        for name in fields
    }


def _level(name: str, value: Any) -> tuple[str, float]:
    """How a factor level is shown, and a number to order the levels by."""
    if name == "hidden":
        return "×".join(str(w) for w in value) or "none", float(max(value, default=0))
    return f"{value:g}", float(value)


def _placements(config: dict[str, Any], reference: dict[str, Any]) -> list[tuple[str, str, float]]:
    """(factor, level, order) rows for one run's spec; several for the reference, none if mixed."""
    diff = [k for k in set(config) | set(reference) if k != "seed" and config.get(k) != reference.get(k)]
    if not diff:
        rows = [(f, *_level(f, config[f])) for f in FACTORS if f != "cure"]
        return [*rows, ("cure", "none", 0.0), ("cure", "early stopping", 3.0)]
    if len(diff) > 1:
        return []
    (name,) = diff
    if name in CURES:
        return [("cure", f"{name.replace('_', ' ')} {config[name]:g}", 1.0 + CURES.index(name))]
    return [(name, *_level(name, config[name]))] if name in FACTORS else []


def _row(run: pd.Series, factor: str, level: str, order: float) -> dict[str, Any]:
    result = run["overfitting"]
    stop = result["early_stopping"]
    stopped = level == "early stopping"
    return {
        "run_id": run["run_id"],
        "label": run["label"],
        "seed": run["seed"],
        "factor": factor,
        "level": level,
        "order": order,
        "gap": stop["accuracy_gap"] if stopped else result["gap_final"]["accuracy_gap"],
        "onset_epoch": np.nan if stopped or result["onset_epoch"] is None else float(result["onset_epoch"]),
        "val_accuracy": stop["val_accuracy"] if stopped else stop["val_accuracy_final"],
        "test_accuracy": stop.get("test_accuracy") if stopped else run["test_accuracy"],
    }


def study_frame(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (usable run, factor level it belongs to); empty when the suite is absent."""
    usable = [run for _, run in runs.iterrows() if _usable(run)] if not runs.empty else []
    reference = reference_spec([r["config"] for r in usable]) if usable else {}
    rows = [_row(r, *place) for r in usable for place in _placements(r["config"], reference)]
    columns = ["run_id", "label", "seed", "factor", "level", "order", "gap", "onset_epoch"]
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=columns)


def agreement(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Per (factor, level): each framework's mean gap, the pooled seed spread, and whether they agree."""
    out = []
    ranked = frame.assign(rank=frame["factor"].map(FACTORS.index))
    for (_, factor, _, level), part in ranked.groupby(["rank", "factor", "order", "level"], sort=True):
        by_label = part.groupby("label")["gap"]
        means = by_label.mean()
        variances = by_label.var(ddof=1).dropna()
        pooled_sd = float(np.sqrt(variances.mean())) if len(variances) else np.nan
        allowed = 2 * max(pooled_sd if np.isfinite(pooled_sd) else 0.0, SPREAD_FLOOR)
        spread = float(means.max() - means.min())
        out.append(
            {
                "factor": FACTOR_NAMES[factor],
                "level": level,
                "means": {label: round(float(v), 3) for label, v in means.items()},
                "seed_sd": round(pooled_sd, 3) if np.isfinite(pooled_sd) else None,
                "spread": round(spread, 3),
                "agree": len(means) < 2 or spread <= allowed,
                "overfit": f"{int(part['onset_epoch'].notna().sum())}/{len(part)}",
            }
        )
    return out
