"""Run records -> tidy pandas DataFrames: the only place the report reads record fields.

Every derived number comes from :mod:`harness.record.derived` (step time, throughput, evaluation
throughput, the generalization gap, the machine id, the run label), never from a second formula.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from harness.record import derived, keys
from harness.record.execution import PLUGIN
from harness.record.keys import config_key, machine_id, run_label
from harness.record.schema import RunRecord

KEY = ["machine_id", "task", "variant", "label", "impl", "mode", "device"]
CURVE_METRICS = ("train_loss", "train_accuracy", "val_loss", "val_accuracy")


@dataclass
class Frames:
    """The tidy tables the report draws from; every row carries the :data:`KEY` columns.

    ``runs``: one row per record (its fields, its step-time samples, and its config, execution,
    versions and machine blocks). ``epochs``: one row per steady-state epoch (``epoch_s``,
    ``step_s``, ``samples_per_s``, and ``setup_s``, its epoch overhead). ``steps``: one row per
    single synchronised step.
    ``evals``: one row per test-split evaluation. ``curves``: one row per run, epoch and metric.
    ``rounds``: one row per steady epoch of an interleaved run, with its ``group`` and ``round``
    (what paired ratios are made of). ``twins``: the A/A twins, kept out of every other table: one
    row per steady round of an ok twin (``group``, ``round``, ``step_s``), one row with its
    ``status`` and ``reason`` for a twin that did not finish; the key is its original's.
    """

    runs: pd.DataFrame
    epochs: pd.DataFrame
    steps: pd.DataFrame
    evals: pd.DataFrame
    curves: pd.DataFrame
    rounds: pd.DataFrame
    twins: pd.DataFrame


def _variants(records: Sequence[RunRecord]) -> dict[tuple[str, str], str]:
    """(task, config key) -> a short label naming what differs from the task's commonest config.

    Runs of one task with different specs (another batch size, more epochs) are not comparable,
    so they get their own section; a record without a config joins the commonest one.
    """
    counts: dict[str, Counter] = {}
    for record in records:
        if record.config:
            counts.setdefault(record.task, Counter())[config_key(record.config)] += 1
    labels: dict[tuple[str, str], str] = {}
    for task, counter in counts.items():
        common = json.loads(counter.most_common(1)[0][0])
        for key in counter:
            config = json.loads(key)
            diff = [
                f"{k}={config.get(k)}"
                for k in sorted(set(config) | set(common))
                if config.get(k) != common.get(k)
            ]
            labels[(task, key)] = ", ".join(diff)
    return labels


def _variant_of(record: RunRecord, labels: dict[tuple[str, str], str]) -> str:
    return labels.get((record.task, config_key(record.config)), "") if record.config else ""


def _last(values: Sequence[float | None]) -> float | None:
    return values[-1] if values and values[-1] is not None else None


def _run_row(record: RunRecord, variant: str) -> dict[str, Any]:
    t, h = record.timings, record.curves
    return {
        "machine_id": machine_id(record),
        "task": record.task,
        "variant": variant,
        "label": run_label(record.impl, record.mode),
        "impl": record.impl,
        "mode": record.mode,
        "device": record.device,
        "framework": record.framework,
        "backend": record.backend,
        "api": record.api,
        "engine": keys.engine(record),
        "code_lines": (record.execution or {}).get("code_lines"),
        "seed": record.seed,
        "run_id": record.run_id,
        "status": record.status,
        "reason": record.reason,
        "n_train": record.n_train,
        "n_test": record.n_test,
        "n_val": record.n_val or record.n_test,  # older records kept no n_val: the test split's size
        "steps_per_epoch": record.steps_per_epoch,
        "train_flops_per_sample": record.train_flops_per_sample,
        "step_samples_s": derived.step_samples_s(record),
        "import_s": derived.import_s(record),
        "worker_runs_before": t.worker_runs_before,
        "build_s": t.build_s,
        "first_epoch_s": t.first_epoch_s,
        "time_to_target_s": t.time_to_target_s,
        "epochs_to_target": t.epochs_to_target,
        "target_val_accuracy": record.config.get("target_val_accuracy"),
        "test_accuracy": record.test_accuracy,
        "test_loss": record.test_loss,
        "train_accuracy": _last(h.train_accuracy),
        "val_accuracy": _last(h.val_accuracy),
        "gap": derived.generalization_gap(record),
        "peak_rss_bytes": record.peak_rss_bytes,
        "device_peak_bytes": record.device_peak_bytes,
        "peak_flops_per_s": derived.peak_flops_per_s(record),
        "dispatch_s": (record.calibration or {}).get("dispatch_s"),
        "git_commit": record.git_commit,
        "created_at": record.created_at,
        "suite": record.suite,
        "config": record.config or {},
        "execution": _settings(record),
        "versions": record.versions or {},
        "machine": record.machine or {},
        "overfitting": derived.overfitting_of(record),
        "left_out": left_out_reason(record) if record.status == "ok" else "",
        "steady_steps_s": derived.step_samples_s(record),
        "setup_stalls": _stalls(record) if record.status == "ok" else [],
    }


def _stalls(record: RunRecord) -> list[float]:
    """The seconds of each epoch setup that stalled (:func:`~harness.record.derived.setup_stalls`),
    then, last, the run's usual setup (:func:`~harness.record.derived.usual_setup_s`)."""
    stalls = derived.setup_stalls(record)
    if not stalls:
        return []
    setups = dict(zip(_steady_indices(record), derived.epoch_overheads_s(record), strict=True))
    return [setups[i] for i in stalls] + [derived.epoch_overhead_s(record)]


def _steady_indices(record: RunRecord) -> list[int]:
    follows = derived.follows_an_epoch(record)
    return [
        i for i, (e, f) in enumerate(zip(record.timings.epoch_s, follows, strict=True)) if f and e and e > 0
    ]


def left_out_reason(record: RunRecord) -> str:
    """Why an ok run's step times are kept out of the tables, sentences and ratios ("" if not):
    its steady epochs disagree (:func:`~harness.record.derived.unstable`) or it ran beside other
    work (:func:`~harness.record.derived.beside_other_work`). Its record keeps every sample."""
    why = []
    if derived.unstable(record):
        why.append(
            f"its steady epochs are {derived.epoch_spread(record):.1f}x apart (median over the fastest; "
            f"more than {derived.UNSTABLE_SPREAD}x is unstable)"
        )
    if derived.beside_other_work(record):
        share = derived.others_cpu_share(record)
        busy = derived.busy_epochs(record)
        measured = math.isfinite(share)
        what = f"other processes used {share:.0%} of the CPU during its timed epochs" if measured else ""
        marks = f"{len(busy)} epoch(s) marked" if busy else ""
        why.append("it ran beside other work: " + ", ".join(x for x in (what, marks) if x))
    return "; ".join(why)


def _sample_rows(key: dict[str, Any], record: RunRecord) -> tuple[list, list, list]:
    epochs_s = derived.steady_epochs_s(record)
    steps_s = derived.step_samples_s(record) or [None] * len(epochs_s)
    rates = derived.throughput_samples(record) or [None] * len(epochs_s)
    setups = derived.epoch_overheads_s(record) or [None] * len(epochs_s)
    epochs = [
        {**key, "epoch_s": e, "step_s": s, "samples_per_s": r, "setup_s": o}
        for e, s, r, o in zip(epochs_s, steps_s, rates, setups, strict=True)
    ]
    steps = [{**key, "step_s": s} for s in derived.single_steps_s(record)]
    evals = [{**key, "eval_samples_per_s": rate} for rate in derived.eval_throughput_samples(record)]
    return epochs, steps, evals


def _settings(record: RunRecord) -> dict[str, Any]:
    """Every fact of how a run ran and where it came from, one level (the page lists them by
    name): ``execution``, the implementation's own facts in it, and ``provenance``."""
    execution = dict(record.execution or {})
    own = execution.pop(PLUGIN, None) or {}
    return {**execution, **own, **(record.provenance or {})}


def _curve_rows(key: dict[str, Any], curves: Any) -> list[dict[str, Any]]:
    rows = []
    for metric in CURVE_METRICS:
        for epoch, value in enumerate(getattr(curves, metric), start=1):
            if value is not None:
                rows.append({**key, "metric": metric, "epoch": epoch, "value": float(value)})
    return rows


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns) if not rows else pd.DataFrame(rows)


def build_frames(records: Sequence[RunRecord]) -> Frames:
    """Tidy tables of ``records``; timing and curve rows come from ``ok`` runs only."""
    labels = _variants(records)
    runs, epochs, steps, evals, curves, rounds, twins = [], [], [], [], [], [], []
    for record in records:
        row = _run_row(record, _variant_of(record, labels))
        if derived.is_twin(record):
            twins += _twin_rows(record, row)
            continue
        runs.append(row)
        if record.status != "ok":
            continue
        key = {k: row[k] for k in KEY} | {"seed": record.seed}
        more = _sample_rows(key, record)
        curves += _curve_rows(key, record.curves)
        if row["left_out"]:  # listed with its epochs, never in a table, sentence or ratio
            continue
        epochs += more[0]
        steps += more[1]
        evals += more[2]
        group = derived.interleaved_group(record)
        if group:
            rounds += [
                {**key, "group": group, "round": r, "step_s": s}
                for r, s in derived.round_steps_s(record).items()
            ]
    sample_cols = [*KEY, "seed"]
    return Frames(
        runs=_frame(runs, [*KEY, "seed", "status", "reason"]),
        epochs=_frame(epochs, [*sample_cols, "epoch_s", "step_s", "samples_per_s", "setup_s"]),
        steps=_frame(steps, [*sample_cols, "step_s"]),
        evals=_frame(evals, [*sample_cols, "eval_samples_per_s"]),
        curves=_frame(curves, [*sample_cols, "metric", "epoch", "value"]),
        rounds=_frame(rounds, [*sample_cols, "group", "round", "step_s"]),
        twins=_frame(twins, [*sample_cols, "status", "reason", "group", "round", "step_s"]),
    )


def _twin_rows(record: RunRecord, row: dict[str, Any]) -> list[dict[str, Any]]:
    """An A/A twin's rows for ``Frames.twins``: its steady rounds, or one row saying why none."""
    key = {k: row[k] for k in KEY} | {"seed": record.seed, "status": record.status, "reason": record.reason}
    group = derived.interleaved_group(record)
    found = derived.round_steps_s(record) if record.status == "ok" else {}
    if not group or not found:
        return [key | {"group": group, "round": None, "step_s": None}]
    return [key | {"group": group, "round": r, "step_s": s} for r, s in found.items()]
