"""Per-configuration statistics: one row per (machine, task, variant, implementation, mode, device).

Timing samples are pooled over seeds (every steady epoch of every ok run) and summarised with
:func:`harness.compare.stats.summarize` (median, bootstrap CI of the median); per-seed values such
as test accuracy and the generalization gap get :func:`harness.compare.stats.mean_ci` (mean,
Student-t CI). The achieved FLOP/s and the fraction of the matmul peak are read at the group's
median step time (:func:`harness.record.derived.achieved_flops_per_s`), so the step-time column and
the "of peak" column describe the same median.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from harness.compare import stats
from harness.record.derived import achieved_flops_per_s, usual_setup_s
from harness.record.derived import median as median_of
from harness.report.data.frame import KEY, Frames

SECTION = ["machine_id", "task", "variant"]


def _median_ci(values: pd.Series, name: str) -> dict[str, float]:
    summary = stats.summarize(values.dropna().tolist())
    if summary is None:
        return {name: np.nan, f"{name}_lo": np.nan, f"{name}_hi": np.nan, f"{name}_n": 0}
    return {
        name: summary.median,
        f"{name}_lo": summary.ci_low,
        f"{name}_hi": summary.ci_high,
        f"{name}_n": summary.n,
    }


def _mean_ci(values: pd.Series, name: str) -> dict[str, float]:
    clean = values.dropna().tolist()
    mean, low, high = stats.mean_ci(clean)
    return {name: mean, f"{name}_lo": low, f"{name}_hi": high, f"{name}_n": len(clean)}


def _median(values: pd.Series) -> float:
    return median_of(values.tolist())


def _max(values: pd.Series) -> float:
    clean = values.dropna()
    return float(clean.max()) if len(clean) else np.nan


def _by_key(frame: pd.DataFrame, column: str) -> dict[tuple, pd.Series]:
    if frame.empty:
        return {}
    return {key: group[column] for key, group in frame.groupby(KEY, sort=False, dropna=False)}


def _efficiency(ok: pd.DataFrame, step_s: float) -> dict[str, float]:
    """Achieved FLOP/s at the group's median step time, against the runs' calibrated peak."""
    if ok.empty:
        return {"achieved_flops_per_s": np.nan, "fraction_of_peak": np.nan, "dispatch_s": np.nan}
    first = ok.iloc[0]
    flops = achieved_flops_per_s(
        first["train_flops_per_sample"], first["n_train"], first["steps_per_epoch"], step_s
    )
    peak = _median(ok["peak_flops_per_s"])
    return {
        "achieved_flops_per_s": flops,
        "peak_flops_per_s": peak,
        "fraction_of_peak": flops / peak if np.isfinite(peak) else np.nan,
        "dispatch_s": _median(ok["dispatch_s"]),
    }


def _flops_per_step(ok: pd.DataFrame) -> float:
    """Training FLOPs of one step (forward and backward of a full epoch over its steps)."""
    if ok.empty:
        return np.nan
    first = ok.iloc[0]
    if not all(
        pd.notna(first[c]) and first[c] for c in ("train_flops_per_sample", "n_train", "steps_per_epoch")
    ):
        return np.nan
    return float(first["train_flops_per_sample"] * first["n_train"] / first["steps_per_epoch"])


def _group_row(key: tuple, runs: pd.DataFrame, samples: dict[str, dict[tuple, pd.Series]]) -> dict[str, Any]:
    ok = runs[runs["status"] == "ok"]
    empty = pd.Series(dtype=float)
    row: dict[str, Any] = dict(zip(KEY, key, strict=True))
    row |= {"n_runs": len(runs), "n_ok": len(ok), "statuses": dict(runs["status"].value_counts())}
    row["seeds"] = sorted({int(s) for s in ok["seed"]}) if "seed" in ok else []
    first = runs.iloc[0]
    row |= {"api": first["api"], "engine": first["engine"], "framework": first["framework"]}
    row |= {"reasons": sorted({r for r in runs["reason"] if r}), "code_lines": _median(ok["code_lines"])}
    for name, by_key in samples.items():
        row |= _median_ci(by_key.get(key, empty), name)
    # the usual setup of two epochs is the smaller, as each run's (derived.usual_setup_s): their
    # median would be half of one stall
    row["epoch_overhead_s"] = usual_setup_s(samples["epoch_overhead_s"].get(key, empty).dropna().tolist())
    row |= _mean_ci(ok["test_accuracy"], "test_accuracy") | _mean_ci(ok["gap"], "gap")
    for column in ("first_epoch_s", "build_s", "import_s"):
        row[column] = _median(ok[column])
    # compile overhead is only seen by a run whose worker compiled nothing before (caches warm)
    fresh = ok[ok["worker_runs_before"] == 0] if "worker_runs_before" in ok else ok.iloc[:0]
    row["fresh_first_epoch_s"] = _median(fresh["first_epoch_s"])
    reached = ok["time_to_target_s"].dropna()
    row |= {"time_to_target_s": _median(reached), "n_reached": len(reached)}
    row["target_val_accuracy"] = _median(ok["target_val_accuracy"]) if len(ok) else np.nan
    row |= _efficiency(ok, row["step_s"])
    row["flops_per_step"] = _flops_per_step(ok)
    row |= {"peak_rss_bytes": _max(ok["peak_rss_bytes"]), "device_peak_bytes": _max(ok["device_peak_bytes"])}
    return row


def group_stats(frames: Frames) -> pd.DataFrame:
    """One row per configuration, ok or not, with medians, CIs and run counts (see module doc)."""
    runs = frames.runs
    if runs.empty:
        return pd.DataFrame(columns=[*KEY, "n_runs", "n_ok"])
    samples = {
        "step_s": _by_key(frames.epochs, "step_s"),
        "samples_per_s": _by_key(frames.epochs, "samples_per_s"),
        "steady_epoch_s": _by_key(frames.epochs, "epoch_s"),
        "epoch_overhead_s": _by_key(frames.epochs, "setup_s"),
        "single_step_s": _by_key(frames.steps, "step_s"),
        "eval_samples_per_s": _by_key(frames.evals, "eval_samples_per_s"),
    }
    rows = [_group_row(key, group, samples) for key, group in runs.groupby(KEY, sort=True, dropna=False)]
    return pd.DataFrame(rows)


def sections(table: pd.DataFrame) -> list[tuple[tuple[str, str, str], pd.DataFrame]]:
    """The rows split by (machine, task, variant), smallest network first (training FLOPs per step,
    then name): timings are never compared across machines."""
    if table.empty:
        return []
    found = [(key, group.reset_index(drop=True)) for key, group in table.groupby(SECTION, sort=True)]
    size = {
        key: group["flops_per_step"].min() if "flops_per_step" in group else np.nan for key, group in found
    }

    def order(item: tuple) -> tuple:
        flops = size[item[0]]
        return (item[0][0], 0 if pd.notna(flops) else 1, flops if pd.notna(flops) else 0.0, item[0][1:])

    return sorted(found, key=order)


def section_anchor(*parts: str) -> str:
    """The page anchor of a section: ``machine-task-variant`` in lower case, dashes between."""
    return re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-") or "section"
