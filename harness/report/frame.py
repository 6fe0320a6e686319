"""Run records -> tidy pandas DataFrames: the only place the report reads record fields.

Derived metrics are computed here, when reading, never stored: the steady-state step time is
``epoch_s[i] / steps_per_epoch`` (the headline), throughput ``n_train / epoch_s[i]``, evaluation
throughput ``n_test / eval_s[i]``, and the generalization gap ``train_accuracy[-1] - val_accuracy[-1]``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from harness.records import RunRecord

KEY = ["machine_id", "task", "variant", "label", "impl", "mode", "device"]
HISTORY_METRICS = ("train_loss", "train_accuracy", "val_loss", "val_accuracy")


@dataclass
class Frames:
    """The tidy tables the report draws from; every row carries the :data:`KEY` columns.

    ``runs``: one row per record. ``epochs``: one row per steady-state epoch (``epoch_s``,
    ``step_s``, ``samples_per_s``). ``steps``: one row per single synchronised step.
    ``evals``: one row per test-split evaluation. ``history``: one row per run, epoch and metric.
    """

    runs: pd.DataFrame
    epochs: pd.DataFrame
    steps: pd.DataFrame
    evals: pd.DataFrame
    history: pd.DataFrame


def run_label(impl: str, mode: str) -> str:
    """How an implementation and mode are named on the page: ``torch``, ``torch [compiled]``."""
    return impl if mode in ("", "default") else f"{impl} [{mode}]"


def _machine_id(record: RunRecord) -> str:
    return str(record.machine.get("machine_id") or record.machine.get("fingerprint") or "unknown machine")


def _config_key(config: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in config.items() if k != "seed"}, sort_keys=True, default=str)


def _variants(records: Sequence[RunRecord]) -> dict[tuple[str, str], str]:
    """(task, config key) -> a short label naming what differs from the task's commonest config.

    Runs of one task with different specs (another batch size, more epochs) are not comparable,
    so they get their own section; a record without a config joins the commonest one.
    """
    counts: dict[str, Counter] = {}
    for record in records:
        if record.config:
            counts.setdefault(record.task, Counter())[_config_key(record.config)] += 1
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
    return labels.get((record.task, _config_key(record.config)), "") if record.config else ""


def _last(values: Sequence[float | None]) -> float | None:
    return values[-1] if values and values[-1] is not None else None


def _run_row(record: RunRecord, variant: str) -> dict[str, Any]:
    t, h = record.timings, record.history
    train_acc, val_acc = _last(h.train_accuracy), _last(h.val_accuracy)
    return {
        "machine_id": _machine_id(record),
        "task": record.task,
        "variant": variant,
        "label": run_label(record.impl, record.mode),
        "impl": record.impl,
        "mode": record.mode,
        "device": record.device,
        "framework": record.framework,
        "backend": record.backend,
        "api": record.api,
        "seed": record.seed,
        "status": record.status,
        "reason": record.reason,
        "n_train": record.n_train,
        "n_test": record.n_test,
        "steps_per_epoch": record.steps_per_epoch,
        "import_s": t.import_s if t.worker_runs_before == 0 else None,
        "build_s": t.build_s,
        "first_epoch_s": t.first_epoch_s,
        "time_to_target_s": t.time_to_target_s,
        "epochs_to_target": t.epochs_to_target,
        "target_val_accuracy": record.config.get("target_val_accuracy"),
        "test_accuracy": record.test_accuracy,
        "test_loss": record.test_loss,
        "train_accuracy": train_acc,
        "val_accuracy": val_acc,
        "gap": train_acc - val_acc if train_acc is not None and val_acc is not None else None,
        "peak_rss_bytes": record.peak_rss_bytes,
        "device_peak_bytes": record.device_peak_bytes,
        "git_commit": record.git_commit,
        "created_at": record.created_at,
        "suite": record.suite,
        "overfitting": record.extra.get("overfitting") if isinstance(record.extra, dict) else None,
        **_efficiency(record),
    }


EFFICIENCY_FIELDS = ("fraction_of_peak", "achieved_flops_per_s", "peak_flops_per_s", "dispatch_s")


def _efficiency(record: RunRecord) -> dict[str, Any]:
    """The record's efficiency against the machine calibration (``None`` where not calibrated)."""
    block = record.efficiency if isinstance(record.efficiency, dict) else {}
    return {name: block.get(name) for name in EFFICIENCY_FIELDS}


def _sample_rows(key: dict[str, Any], record: RunRecord) -> tuple[list, list, list]:
    epochs, steps, evals = [], [], []
    per_step = record.steps_per_epoch or None
    for i, seconds in enumerate(record.timings.epoch_s):
        if seconds and seconds > 0:
            step_s = seconds / per_step if per_step else None
            samples = record.n_train / seconds if record.n_train else None
            epochs.append(
                {**key, "epoch": i + 2, "epoch_s": seconds, "step_s": step_s, "samples_per_s": samples}
            )
    steps = [{**key, "step_s": s} for s in record.timings.step_s if s and s > 0]
    for seconds in record.timings.eval_s:
        if seconds and seconds > 0 and record.n_test:
            evals.append({**key, "eval_s": seconds, "eval_samples_per_s": record.n_test / seconds})
    return epochs, steps, evals


def _history_rows(key: dict[str, Any], history: Any) -> list[dict[str, Any]]:
    rows = []
    for metric in HISTORY_METRICS:
        for epoch, value in enumerate(getattr(history, metric), start=1):
            if value is not None:
                rows.append({**key, "metric": metric, "epoch": epoch, "value": float(value)})
    return rows


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns) if not rows else pd.DataFrame(rows)


def build_frames(records: Sequence[RunRecord]) -> Frames:
    """Tidy tables of ``records``; timing and history rows come from ``ok`` runs only."""
    labels = _variants(records)
    runs, epochs, steps, evals, history = [], [], [], [], []
    for record in records:
        row = _run_row(record, _variant_of(record, labels))
        runs.append(row)
        if record.status != "ok":
            continue
        key = {k: row[k] for k in KEY} | {"seed": record.seed}
        more = _sample_rows(key, record)
        epochs += more[0]
        steps += more[1]
        evals += more[2]
        history += _history_rows(key, record.history)
    sample_cols = [*KEY, "seed"]
    return Frames(
        runs=_frame(runs, [*KEY, "seed", "status", "reason"]),
        epochs=_frame(epochs, [*sample_cols, "epoch", "epoch_s", "step_s", "samples_per_s"]),
        steps=_frame(steps, [*sample_cols, "step_s"]),
        evals=_frame(evals, [*sample_cols, "eval_s", "eval_samples_per_s"]),
        history=_frame(history, [*sample_cols, "metric", "epoch", "value"]),
    )
