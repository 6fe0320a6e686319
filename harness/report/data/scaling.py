"""The scaling sweeps, aggregated: per machine, task and device, the pooled median step time and
the fraction of the peak at it, per implementation label and batch size, from the runs of one
spec that differ only in ``batch_size`` (the ``scaling`` suite makes them). The section
(:mod:`harness.report.sections.scaling`) reads these points, never the runs."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from harness.record.derived import achieved_flops_per_s, median, pooled

IGNORED = {"batch_size", "seed", "epochs", "target_val_accuracy"}
MIN_BATCH_SIZES = 3


def _sweep_key(run: pd.Series) -> str:
    return json.dumps(
        {k: v for k, v in run["config"].items() if k not in IGNORED}, sort_keys=True, default=str
    )


def _point(runs: pd.DataFrame) -> dict[str, Any]:
    """One label at one batch size: pooled median step time, and the fraction of peak there."""
    first = runs.iloc[0]
    step = pooled(runs["step_samples_s"])
    flops = achieved_flops_per_s(
        first["train_flops_per_sample"], first["n_train"], first["steps_per_epoch"], step
    )
    return {
        "label": first["label"],
        "impl": first["impl"],
        "mode": first["mode"],
        "batch_size": int(first["config"]["batch_size"]),
        "step_s": step,
        "fraction_of_peak": flops / median(runs["peak_flops_per_s"]),
    }


def scaling_frame(runs: pd.DataFrame) -> dict[tuple[str, str, str], pd.DataFrame]:
    """Per (machine, task, device): median step time and fraction of peak per label and batch
    size, for the largest group of ok runs that differ only in batch size (at least three)."""
    if runs.empty:
        return {}
    ok = runs[(runs["status"] == "ok") & runs["step_samples_s"].map(bool)]
    ok = ok[ok["config"].map(lambda c: bool(c.get("batch_size")))]
    best: dict[tuple[str, str, str], pd.DataFrame] = {}
    if ok.empty:
        return best
    ok = ok.assign(_sweep=ok.apply(_sweep_key, axis=1), _batch=ok["config"].map(lambda c: c["batch_size"]))
    for (machine_id, task, device, _), group in ok.groupby(["machine_id", "task", "device", "_sweep"]):
        if group["_batch"].nunique() < MIN_BATCH_SIZES:
            continue
        frame = pd.DataFrame([_point(part) for _, part in group.groupby(["label", "_batch"], sort=True)])
        key = (machine_id, task, device)
        if key not in best or frame["batch_size"].nunique() > best[key]["batch_size"].nunique():
            best[key] = frame
    return best
