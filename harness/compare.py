"""Regression checks of current run records against a baseline (``python -m harness compare``).

Runs are paired by (task, impl, mode, device, config without the seed); only ``ok`` records are
compared, and pairs present on one side only are listed, never fatal. For each pair and metric
(:data:`harness.thresholds.METRICS`) we report current/baseline (timings, memory) or
current - baseline (mean test accuracy) with a confidence interval.

Method, and why
---------------
*Timings and memory: a two-level (hierarchical) bootstrap of the ratio of pooled statistics.*
Each side is a few runs (one per seed, each its own process) of several steady-state epochs.
Epochs of one run are not independent: they share the process's CPU frequency, thread
placement and memory layout, so run-to-run spread is usually larger than epoch-to-epoch spread.
A Mann-Whitney U test or a plain bootstrap over the pooled epochs would treat 27 correlated
epochs as 27 independent observations and call run-to-run noise a regression. So each
bootstrap draw resamples whole runs first, then epochs within each drawn run, and takes the
statistic (median by default) of the pooled draw on each side; the percentile interval of
current/baseline over the draws is the confidence interval. It needs no distributional
assumption, works for any statistic (median step time, max peak memory) and any number of
runs, and with one value per run (first epoch, peak memory) it reduces to resampling runs.
With a single run per side the between-run noise is invisible; use 3 or more seeds.

*Test accuracy: a t interval of the difference of per-seed means.* Accuracy is one value per
seed. The harness fixes initial weights and batch order by seed, so when both sides ran the
same seeds the per-seed differences cancel the seed-to-seed spread: a paired t interval. With
different seed sets: Welch's t interval. Fewer than two seeds on a side gives no interval.

*Flagging.* A metric regresses only when the whole confidence interval lies beyond the
threshold (e.g. the lower end of the step-time ratio is above 1.10): the regression is both
larger than the limit and clear of the noise measured on both sides. An estimate beyond the
limit whose interval is not is reported as ``unclear`` (rerun with more seeds) and does not
fail.

*Measured* (``tests/test_compare.py::test_false_alarm_rate_over_500_noisy_pairs``; 500 pairs of
independent draws of one distribution, 3 seeds x 9 epochs, 5% epoch and 2% run spread): 0 of
500 pairs flagged with the five example thresholds. With a 0% step-time limit, i.e. the bare
one-sided test at the 97.5% end, 1.4% of pairs are flagged (nominal 2.5%). In a side study of
400 pairs per setting, the share of 95% intervals wholly above 1.0 was, for run spread 0/2/5%:
0.5/1.8/6.3% with this bootstrap against 1.8/5.8/14.5% for a bootstrap over pooled epochs,
which is why runs are resampled first (with only three runs it is still somewhat narrow when
run-to-run spread dominates; the threshold margin absorbs that).

Loading, baselines and the machine check live in :mod:`harness.baselines`, the terminal and
Markdown tables in :mod:`harness.compare_table`, the history DataFrame in :mod:`harness.history`.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from harness.cli import UsageError
from harness.records import RunRecord
from harness.thresholds import METRICS, Metric, Threshold, ThresholdError, parse_thresholds

DEFAULT_CONFIDENCE = 0.95
DEFAULT_RESAMPLES = 2000

REGRESSED, UNCLEAR, IMPROVED, OK, INFO, NA = "regressed", "unclear", "improved", "ok", "info", "n/a"
SEVERITY = (REGRESSED, UNCLEAR, IMPROVED, OK, INFO, NA)  # worst first


class CompareInputError(UsageError):
    """Input that cannot be compared (no baseline, no comparable runs, other machine): exit 2."""


class PairKey(NamedTuple):
    """What pairs runs across result sets: the run's identity minus its seed."""

    task: str
    impl: str
    mode: str
    device: str
    config: str

    @property
    def label(self) -> str:
        return f"{self.task} {self.impl} {self.mode} {self.device}"


def config_key(config: Mapping[str, Any]) -> str:
    """The spec as canonical JSON without ``seed``: equal for runs that differ only by seed."""
    return json.dumps({k: v for k, v in config.items() if k != "seed"}, sort_keys=True, default=str)


def pair_key(record: RunRecord) -> PairKey:
    """The :class:`PairKey` of one record."""
    return PairKey(record.task, record.impl, record.mode, record.device, config_key(record.config))


def _epoch_samples(record: RunRecord, per_epoch: Callable[[float], float | None]) -> list[float]:
    return [v for e in record.timings.epoch_s if e and e > 0 and (v := per_epoch(e)) is not None]


def metric_samples(record: RunRecord, metric: str) -> list[float]:
    """The raw samples one run contributes to ``metric`` (empty when the record lacks them)."""
    steps, n_train = record.steps_per_epoch, record.n_train
    if metric == "step_time":
        return _epoch_samples(record, lambda e: e / steps if steps else None)
    if metric == "throughput":
        return _epoch_samples(record, lambda e: n_train / e if n_train else None)
    single = {
        "first_epoch": record.timings.first_epoch_s,
        "peak_memory": record.peak_rss_bytes,
        "test_accuracy": record.test_accuracy,
    }[metric]
    return [] if single is None else [float(single)]


_REDUCE = {"median": np.median, "mean": np.mean, "min": np.min, "max": np.max}
_NAN_REDUCE = {"median": np.nanmedian, "mean": np.nanmean, "min": np.nanmin, "max": np.nanmax}


def _row_statistic(rows: np.ndarray, statistic: str) -> np.ndarray:
    if statistic != "median":
        return _REDUCE[statistic](rows, axis=1)
    ordered = np.sort(rows, axis=1)  # several times faster than np.median on many short rows
    n = rows.shape[1]
    return (ordered[:, (n - 1) // 2] + ordered[:, n // 2]) / 2.0


def bootstrap_runs(
    runs: list[np.ndarray], statistic: str, resamples: int, rng: np.random.Generator
) -> np.ndarray:
    """``resamples`` draws of the pooled ``statistic``: runs resampled, then samples within runs."""
    lengths = np.array([len(r) for r in runs])
    n_max = int(lengths.max())
    padded = np.full((len(runs), n_max), np.nan)
    for i, run in enumerate(runs):
        padded[i, : len(run)] = run
    picked = rng.integers(0, len(runs), size=(resamples, len(runs)))
    picked_len = lengths[picked][..., None]
    within = (rng.random((resamples, len(runs), n_max)) * picked_len).astype(np.intp)
    draws = padded.ravel()[picked[..., None] * n_max + within]
    if np.all(lengths == n_max):
        return _row_statistic(draws.reshape(resamples, -1), statistic)
    draws[np.arange(n_max) >= picked_len] = np.nan
    return _NAN_REDUCE[statistic](draws.reshape(resamples, -1), axis=1)


def ratio_interval(
    baseline_runs: list[list[float]],
    current_runs: list[list[float]],
    statistic: str = "median",
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> tuple[float, float, float]:
    """current/baseline of the pooled ``statistic`` and its hierarchical-bootstrap interval."""
    base = [np.asarray(r, dtype=float) for r in baseline_runs if len(r)]
    cur = [np.asarray(r, dtype=float) for r in current_runs if len(r)]
    if not base or not cur:
        return (float("nan"),) * 3
    reduce = _REDUCE[statistic]
    with np.errstate(divide="ignore", invalid="ignore"):
        estimate = float(reduce(np.concatenate(cur)) / reduce(np.concatenate(base)))
        rng = np.random.default_rng(seed)
        ratios = bootstrap_runs(cur, statistic, resamples, rng) / bootstrap_runs(
            base, statistic, resamples, rng
        )
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(ratios, [alpha, 1.0 - alpha])
    return estimate, float(low), float(high)


def difference_interval(
    baseline_by_seed: Mapping[int, float],
    current_by_seed: Mapping[int, float],
    confidence: float = DEFAULT_CONFIDENCE,
) -> tuple[float, float, float, str]:
    """Mean(current) - mean(baseline), its t interval and the method (paired when seeds match)."""
    from scipy import stats as sps

    base, cur = np.array(list(baseline_by_seed.values())), np.array(list(current_by_seed.values()))
    if base.size == 0 or cur.size == 0:
        return float("nan"), float("nan"), float("nan"), "no values"
    estimate = float(cur.mean() - base.mean())
    if set(baseline_by_seed) == set(current_by_seed) and base.size >= 2:
        diffs = np.array([current_by_seed[s] - baseline_by_seed[s] for s in baseline_by_seed])
        se, dof, method = (
            diffs.std(ddof=1) / np.sqrt(diffs.size),
            diffs.size - 1,
            f"paired t, {diffs.size} seeds",
        )
    elif base.size >= 2 and cur.size >= 2:
        vb, vc = base.var(ddof=1) / base.size, cur.var(ddof=1) / cur.size
        se, method = np.sqrt(vb + vc), f"Welch t, {base.size} vs {cur.size} seeds"
        dof = (vb + vc) ** 2 / (vb**2 / (base.size - 1) + vc**2 / (cur.size - 1)) if se > 0 else 1.0
    else:
        return estimate, float("nan"), float("nan"), "fewer than 2 seeds on a side"
    half = float(sps.t.ppf(0.5 + confidence / 2.0, dof) * se) if se > 0 else 0.0
    return estimate, estimate - half, estimate + half, method


@dataclass(frozen=True)
class Comparison:
    """One pair and one metric: estimate (ratio or difference), its interval and the verdict."""

    key: PairKey
    metric: str
    statistic: str
    baseline_value: float
    current_value: float
    estimate: float
    ci_low: float
    ci_high: float
    confidence: float
    threshold: Threshold | None
    status: str
    n_baseline_runs: int
    n_current_runs: int
    method: str

    @property
    def label(self) -> str:
        return self.key.label


def verdict(metric: Metric, estimate: float, low: float, high: float, limit: float | None) -> str:
    """``regressed`` only when the whole interval is beyond ``limit`` in the bad direction."""
    if limit is None:
        return INFO if np.isfinite(estimate) else NA
    if not np.isfinite(estimate):
        return NA

    def worse_by(x: float) -> float:  # > 0 means worse than baseline, in units of the limit
        if metric.kind == "difference":
            return -x
        return x - 1.0 if not metric.higher_is_better else 1.0 - x

    ends = (worse_by(low), worse_by(high))
    if all(np.isfinite(ends)) and min(ends) > limit:
        return REGRESSED
    if worse_by(estimate) > limit:
        return UNCLEAR
    if all(np.isfinite(ends)) and max(ends) < -limit:
        return IMPROVED
    return OK


def _per_seed(records: list[RunRecord], metric: str) -> dict[int, float]:
    values: dict[int, list[float]] = defaultdict(list)
    for record in records:
        values[record.seed].extend(metric_samples(record, metric))
    return {seed: float(np.mean(v)) for seed, v in values.items() if v}


def compare_metric(
    key: PairKey,
    baseline: list[RunRecord],
    current: list[RunRecord],
    metric_name: str,
    threshold: Threshold | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
) -> Comparison:
    """Compare one metric of one pair (records already filtered to ``ok`` and to ``key``)."""
    metric = METRICS[metric_name]
    statistic = threshold.statistic if threshold else metric.default_statistic
    if metric.kind == "difference":
        base_seeds, cur_seeds = _per_seed(baseline, metric_name), _per_seed(current, metric_name)
        estimate, low, high, method = difference_interval(base_seeds, cur_seeds, confidence)
        base_value, cur_value = _mean(base_seeds.values()), _mean(cur_seeds.values())
        n_base, n_cur = len(base_seeds), len(cur_seeds)
    else:
        base_runs = [s for r in baseline if (s := metric_samples(r, metric_name))]
        cur_runs = [s for r in current if (s := metric_samples(r, metric_name))]
        estimate, low, high = ratio_interval(base_runs, cur_runs, statistic, confidence, resamples)
        base_value, cur_value = _pooled(base_runs, statistic), _pooled(cur_runs, statistic)
        n_base, n_cur = len(base_runs), len(cur_runs)
        method = f"hierarchical bootstrap, {n_base} vs {n_cur} runs"
    status = verdict(metric, estimate, low, high, threshold.limit if threshold else None)
    return Comparison(
        key, metric_name, statistic, base_value, cur_value, estimate, low, high,
        confidence, threshold, status, n_base, n_cur, method,
    )  # fmt: skip


def _mean(values: Iterable[float]) -> float:
    arr = np.fromiter(values, dtype=float)
    return float(arr.mean()) if arr.size else float("nan")


def _pooled(runs: list[list[float]], statistic: str) -> float:
    return float(_REDUCE[statistic](np.concatenate(runs))) if runs else float("nan")


def group_ok(records: Iterable[RunRecord]) -> dict[PairKey, list[RunRecord]]:
    """``ok`` records grouped by :func:`pair_key`."""
    groups: dict[PairKey, list[RunRecord]] = defaultdict(list)
    for record in records:
        if record.status == "ok":
            groups[pair_key(record)].append(record)
    return dict(groups)


def compare_records(
    baseline_records: Iterable[RunRecord],
    current_records: Iterable[RunRecord],
    thresholds: Iterable[Threshold] | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
) -> list[Comparison]:
    """Every metric of every pair with ``ok`` runs on both sides, sorted by pair then metric.

    A metric with thresholds gets one row per threshold (verdict applied); one without gets an
    ``info`` row. ``thresholds=None`` means :data:`harness.thresholds.DEFAULT_SPECS`.
    """
    chosen = parse_thresholds(None) if thresholds is None else list(thresholds)
    base, cur = group_ok(baseline_records), group_ok(current_records)
    rows = []
    for key in sorted(base.keys() & cur.keys()):
        for name in METRICS:
            for threshold in [t for t in chosen if t.metric == name] or [None]:
                rows.append(compare_metric(key, base[key], cur[key], name, threshold, confidence, resamples))
    return rows


@dataclass(frozen=True)
class Unmatched:
    """A pair with ``ok`` runs on one side only; ``reason`` says what the other side has."""

    key: PairKey
    present_in: str
    reason: str


def unmatched_pairs(
    baseline_records: Iterable[RunRecord], current_records: Iterable[RunRecord]
) -> list[Unmatched]:
    """Pairs that cannot be compared, each with why (absent, failed, or a different config)."""
    base, cur = list(baseline_records), list(current_records)
    out = []
    for present, here, there in (("baseline", base, cur), ("current", cur, base)):
        mine, theirs = group_ok(here), group_ok(there)
        for key in sorted(mine.keys() - theirs.keys()):
            out.append(Unmatched(key, present, _why_missing(key, theirs, there)))
    return out


def _why_missing(key: PairKey, ok_groups: dict[PairKey, list[RunRecord]], records: list[RunRecord]) -> str:
    other = "current" if records else "other side"
    failed = [r for r in records if pair_key(r) == key]
    if failed:
        return f"{other}: {failed[0].status} ({failed[0].reason or 'no reason given'})"
    for other_key, group in ok_groups.items():
        if other_key[:4] == key[:4]:
            return "config differs: " + _config_diff(json.loads(key.config), group[0].config)
    return "not run"


def _config_diff(mine: Mapping[str, Any], theirs: Mapping[str, Any]) -> str:
    fields = sorted(k for k in set(mine) | set(theirs) if k != "seed" and mine.get(k) != theirs.get(k))
    return ", ".join(f"{k} {mine.get(k)!r} vs {theirs.get(k)!r}" for k in fields) or "(key order)"


def worst_status(rows: Iterable[Comparison]) -> str:
    """The most severe status among ``rows`` (``regressed`` > ``unclear`` > ... > ``n/a``)."""
    statuses = {row.status for row in rows}
    return next((s for s in SEVERITY if s in statuses), NA)


def main(
    baseline: Path | None,
    current: Path,
    fail: list[str] | None,
    results_dir: Path,
    allow_other_machine: bool,
    markdown_out: Path | None,
    confidence: float = DEFAULT_CONFIDENCE,
) -> int:
    """Run the check and print it; 0 nothing regressed, 1 a regression, 2 unusable input."""
    from harness import baselines, compare_table  # here, not at the top: both import this module

    try:
        thresholds = parse_thresholds(fail)
        sides = baselines.load_sides(baseline, current, results_dir)
        baselines.check_machines(sides, allow_other_machine)
        rows = compare_records(sides.baseline, sides.current, thresholds, confidence)
        unmatched = unmatched_pairs(sides.baseline, sides.current)
        if not rows:
            raise CompareInputError(baselines.nothing_comparable(sides, unmatched))
    except (CompareInputError, ThresholdError, OSError, UnicodeDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    compare_table.print_table(rows, unmatched, sides.describe())
    if markdown_out is not None:
        baselines.write_text_atomic(
            Path(markdown_out), compare_table.render_markdown(rows, unmatched, sides.describe())
        )
    return 1 if any(row.status == REGRESSED for row in rows) else 0


def save_baseline(results_dir: Path, source: Path | None) -> Path:
    """Store the ``ok`` records of ``source`` (default: this machine's newest run file) as the
    machine's committed baseline; the previous baseline is kept as ``<machine_id>.<UTC time>.jsonl``.
    """
    from harness import baselines

    return baselines.save_baseline(results_dir, source)
