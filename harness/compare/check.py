"""Regression checks of current run records against a baseline: the library behind
``python -m harness compare`` and the report's regression section. It returns results and never
prints; the CLI renders them (:mod:`harness.compare.render`).

Runs are paired by (task, impl, mode, device, config without the seed); only ``ok`` records are
compared, and pairs present on one side only are listed, never fatal. For each pair and metric
(:data:`harness.compare.thresholds.METRICS`) we report current/baseline (timings, memory) or
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
larger than the limit and clear of the noise measured on both sides. It is ``ok`` only when the
whole interval lies short of the limit (the upper end below 1.10): the limit is ruled out. An
interval that straddles the limit, whatever its estimate, is ``unclear`` (rerun with more seeds):
the check then exits 3, "cannot tell", never a pass. With a single run on a side the noise
between runs cannot be seen at all, so such a side is always ``unclear``.

*What this check cannot do.* Its two sides ran minutes or days apart, and this machine's speed
drifts by more than most limits over minutes (the noise floor that ``harness noise`` measures and
``compare`` shows); the A/B gate (``harness ab``), which interleaves both sides, is the check to
trust for a pull request.

*Measured* (``tests/compare/test_compare.py::test_false_alarm_rate_over_500_noisy_pairs``; 500 pairs of
independent draws of one distribution, 3 seeds x 9 epochs, 5% epoch and 2% run spread): 0 of
500 pairs flagged with the five example thresholds. With a 0% step-time limit, i.e. the bare
one-sided test at the 97.5% end, 1.4% of pairs are flagged (nominal 2.5%). In a side study of
400 pairs per setting, the share of 95% intervals wholly above 1.0 was, for run spread 0/2/5%:
0.5/1.8/6.3% with this bootstrap against 1.8/5.8/14.5% for a bootstrap over pooled epochs,
which is why runs are resampled first (with only three runs it is still somewhat narrow when
run-to-run spread dominates; the threshold margin absorbs that).

Which records each side reads is :mod:`harness.store` (newest run file per pair, baselines); the
terminal and Markdown tables are :mod:`harness.compare.render`; metrics over commits
:mod:`harness.compare.history`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.compare.stats import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, difference_interval, ratio_interval
from harness.compare.thresholds import METRICS, Metric, Threshold, parse_thresholds
from harness.compare.verdicts import CANNOT_TELL, PASS, REGRESSION, Verdict
from harness.errors import CompareInputError
from harness.record.derived import PairKey, metric_samples, pair_key, pooled
from harness.record.schema import RunRecord
from harness.store.runs import Side

REGRESSED, UNCLEAR, IMPROVED, OK, INFO, NA = "regressed", "unclear", "improved", "ok", "info", "n/a"
ONE_RUN = "one run on a side: the noise between runs is invisible, so no change can be claimed (use 2+ seeds)"
SEVERITY = (REGRESSED, UNCLEAR, IMPROVED, OK, INFO, NA)  # worst first


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
    """``regressed`` only when the whole interval is beyond ``limit`` in the bad direction, ``ok``
    only when the whole interval is short of it (the limit ruled out), else ``unclear``."""
    if limit is None:
        return INFO if np.isfinite(estimate) else NA
    if not np.isfinite(estimate):
        return NA

    def worse_by(x: float) -> float:  # > 0 means worse than baseline, in units of the limit
        if metric.kind == "difference":
            return -x
        return x - 1.0 if not metric.higher_is_better else 1.0 - x

    ends = (worse_by(low), worse_by(high))
    if not all(np.isfinite(ends)):
        return UNCLEAR  # no interval (one seed for accuracy): the limit is not ruled out
    if min(ends) > limit:
        return REGRESSED
    if max(ends) < -limit:
        return IMPROVED
    return OK if max(ends) < limit else UNCLEAR


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
        base_value, cur_value = pooled(base_runs, statistic), pooled(cur_runs, statistic)
        n_base, n_cur = len(base_runs), len(cur_runs)
        method = f"hierarchical bootstrap, {n_base} vs {n_cur} runs"
    status = verdict(metric, estimate, low, high, threshold.limit if threshold else None)
    if min(n_base, n_cur) < 2 and status in (REGRESSED, IMPROVED, OK):
        status = UNCLEAR  # with one run on a side, the noise between runs is invisible
        method += f"; {ONE_RUN}"
    return Comparison(
        key, metric_name, statistic, base_value, cur_value, estimate, low, high,
        confidence, threshold, status, n_base, n_cur, method,
    )  # fmt: skip


def _mean(values: Iterable[float]) -> float:
    arr = np.fromiter(values, dtype=float)
    return float(arr.mean()) if arr.size else float("nan")


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
    ``info`` row. ``thresholds=None`` means :data:`harness.compare.thresholds.DEFAULT_SPECS`.
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


def _machines(records: Iterable[RunRecord]) -> dict[str, str]:
    out = {}
    for r in records:
        m = r.machine or {}
        out[str(m.get("fingerprint", ""))] = (
            f"{m.get('machine_id', '?')} ({m.get('cpu_model', 'unknown CPU')})"
        )
    return out


def machine_mismatch(baseline: list[RunRecord], current: list[RunRecord]) -> str:
    """``""`` when the paired runs of both sides ran on one machine fingerprint, else which ones."""
    base, cur = group_ok(baseline), group_ok(current)
    paired = base.keys() & cur.keys()
    base_machines = _machines(r for k in paired for r in base[k])
    cur_machines = _machines(r for k in paired for r in cur[k])
    if len(base_machines | cur_machines) <= 1:
        return ""
    return (
        f"baseline ran on {'; '.join(base_machines.values())}, current on {'; '.join(cur_machines.values())}"
    )


def nothing_comparable(baseline: Side, current: Side, unmatched: list[Unmatched]) -> str:
    """The message for a comparison with no pair on both sides, saying what each side holds."""
    lines = [
        "no comparable runs: no (task, impl, mode, device, config) has ok runs on both sides",
        f"  baseline: {baseline.describe()}",
        f"  current:  {current.describe()}",
    ]
    lines += [f"  only in {u.present_in}: {u.key.label} - {u.reason}" for u in unmatched[:10]]
    lines += [f"  skipped {s.path}:{s.line}: {s.reason}" for s in (baseline.skipped + current.skipped)[:5]]
    return "\n".join(lines)


@dataclass
class CheckResult:
    """What a check found: every compared row, what could not be paired, where the sides came
    from, and warnings (e.g. comparing across machines on purpose)."""

    rows: list[Comparison]
    unmatched: list[Unmatched]
    sources: dict[str, str]
    warnings: list[str] = field(default_factory=list)

    @property
    def regressed(self) -> bool:
        return any(row.status == REGRESSED for row in self.rows)

    @property
    def verdict(self) -> Verdict:
        """Regression when a row regressed; else cannot tell when a checked metric could not be
        told (``unclear``: "cannot tell" is never a pass); else pass."""
        if self.regressed:
            return REGRESSION
        return CANNOT_TELL if any(row.status == UNCLEAR for row in self.rows) else PASS


def check(
    baseline: Side,
    current: Side,
    thresholds: Iterable[Threshold] | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
) -> CheckResult:
    """Every comparable pair of ``current`` against ``baseline`` (possibly none); a comparison
    across machine fingerprints is made but carries a warning saying so."""
    mismatch = machine_mismatch(baseline.records, current.records)
    rows = compare_records(baseline.records, current.records, thresholds, confidence)
    unmatched = unmatched_pairs(baseline.records, current.records)
    sources = {"baseline": baseline.describe(), "current": current.describe()}
    return CheckResult(rows, unmatched, sources, [f"{mismatch}; compared anyway"] if mismatch else [])


def run_check(
    baseline: Side,
    current: Side,
    thresholds: Iterable[Threshold] | None = None,
    allow_other_machine: bool = False,
    confidence: float = DEFAULT_CONFIDENCE,
) -> CheckResult:
    """:func:`check` as a gate: :class:`CompareInputError` when the machines differ (unless
    ``allow_other_machine``) or when nothing can be compared."""
    mismatch = machine_mismatch(baseline.records, current.records)
    if mismatch and not allow_other_machine:
        raise CompareInputError(
            f"machine fingerprints differ: {mismatch}. Timings from different hardware are not "
            "comparable; save a baseline on this machine (`python -m harness baseline save`) or pass "
            "--allow-other-machine"
        )
    result = check(baseline, current, thresholds, confidence)
    if not result.rows:
        raise CompareInputError(nothing_comparable(baseline, current, result.unmatched))
    if mismatch:
        result.warnings = [f"{mismatch}; comparing anyway (--allow-other-machine)"]
    return result
