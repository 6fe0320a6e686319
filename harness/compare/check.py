"""Regression checks of current run records against a stored baseline: the library behind
``python -m harness compare`` and the report's regression section. It returns results and never
prints; the CLI renders them (:mod:`harness.cli.compare_view`).

Runs are paired by (task, impl, mode, device, config without the seed); only ``ok`` records are
compared, and pairs present on one side only are listed, never fatal. Each pair and metric
(:data:`harness.compare.thresholds.METRICS`) gets current/baseline (timings, memory) or current -
baseline (mean test accuracy) with a 95% interval, and the whole comparison one row per checked
metric over every pair (``all pairs``).

Why not "ok only when the interval rules the limit out"
-------------------------------------------------------
That rule could never pass on this project's own data (measured 2026-12-02: a default bench
compared with itself said "unclear" 149 times). A default bench on a 2-core machine runs most
pairs with one seed, and one process differs from the next by 3-8% (a run's own seeds:
``tests/data/records_default``), so one pair's interval is about +-8% wide and never clears a 10%
limit: no stored comparison of one pair can rule out a 10% change there. What can be decided is
what the evidence shows. So, as asv's ``compare`` and conbench do:

*Estimate.* Per run, the metric's statistic over its samples (the median of its steady epochs'
step times; the peak of its memory). Per pair, the mean log ratio of runs of the same seed on both
sides (each seed's own data order and start cancel); sides without a common seed are compared
unpaired. Test accuracy: per seed, current - baseline.

*Noise, pooled over pairs.* The noise of one pair's ratio is what the other pairs of the same
comparison show: the spread of every pair's log ratio about the median of them (scaled by its
number of seeds; a median absolute deviation, so the pairs that really changed do not widen it),
on the assumption that most pairs did not change, pooled with the spread of each pair's own seeds
where it has several. It holds the machine's run-to-run noise between the two sessions, measured
where it matters.
Test accuracy's noise is a seed's: the spread of the pair's task's seeds on each side, at least
the binomial error of its test set. A pair's interval is its estimate +- t x that noise / sqrt(its
seeds), every interval widened for the number of pairs (Bonferroni).

*Verdicts* (one vocabulary, :mod:`harness.compare.verdicts`). **regression** when the whole
interval is beyond the limit: slower than the limit, and clear of the noise. **pass** otherwise:
no regression shown; each row carries the smallest slowdown it would have shown (``shown_beyond``:
the limit plus the interval's half-width), and the CLI says it in one line. The ``all pairs`` row
(the typical pair: a Hodges-Lehmann estimate over the pairs) catches what moved everything - a
machine slowed from outside, a dependency slower everywhere - within about a percent.
**cannot tell** only when there is no noise to scale by (fewer than :data:`MIN_PAIRS` pairs of a
metric and no pair with two seeds a side). For a pull request the A/B gate (``harness ab``), which
interleaves both sides, is the check to trust; for drift over nights, ``history --check``.

*Measured*: see ``docs/regression-checks.md`` (identical records, two default benches of the
same code one after the other, and a run slowed 15%).

Which records each side reads is :func:`harness.store.runs.choose_runs` (the newest run per
pair); the terminal and Markdown tables are :mod:`harness.cli.compare_view`; metrics over commits
:mod:`harness.compare.history`.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from harness.compare.stats import DEFAULT_CONFIDENCE, HL_VARIANCE, hodges_lehmann
from harness.compare.thresholds import METRICS, Metric, Threshold, parse_thresholds
from harness.compare.verdicts import CANNOT_TELL, PASS, REGRESSION, Verdict, worst
from harness.errors import CompareInputError
from harness.record.derived import (
    beside_other_work,
    is_twin,
    metric_samples,
    others_cpu_share,
    pooled,
    statistic,
)
from harness.record.keys import PairKey, pair_key
from harness.record.schema import RunRecord
from harness.store.runs import RecordSet

MIN_PAIRS = 4  # pairs whose spread can stand for a pair's noise
MIN_GROUP = 3  # pairs of one interleaved group whose median can stand for the group's shared shift
MIN_LOG_SIGMA = 0.005  # a ratio's noise is never taken below 0.5% (identical records read 0)
MIN_GROUPS = 3  # interleaved groups whose spread can stand for the whole run's noise
ALL_PAIRS = PairKey("all pairs", "", "", "", "")


@dataclass(frozen=True)
class Comparison:
    """One pair (or :data:`ALL_PAIRS`) and one metric: estimate (ratio or difference), its
    interval and the verdict (``None``: a metric without a threshold, shown, not checked)."""

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
    status: Verdict | None
    n_baseline_runs: int
    n_current_runs: int
    method: str
    shown_beyond: float = math.nan  # the smallest change (in the limit's units) this row would show

    @property
    def label(self) -> str:
        return self.key.label.strip()

    @property
    def improved(self) -> bool:
        """Better than the limit by the whole interval (a pass, said apart)."""
        if self.threshold is None or not np.isfinite(self.ci_low):
            return False
        return (
            max(_worse_by(METRICS[self.metric], e) for e in (self.ci_low, self.ci_high))
            < -self.threshold.limit
        )


def _worse_by(metric: Metric, x: float) -> float:
    """How much worse than the baseline ``x`` is, in the limit's units (> 0: worse)."""
    if metric.kind == "difference":
        return -x
    return x - 1.0 if not metric.higher_is_better else 1.0 - x


def verdict(metric: Metric, estimate: float, low: float, high: float, limit: float | None) -> Verdict | None:
    """Regression only when the whole interval is beyond ``limit`` in the bad direction; pass
    otherwise; cannot tell without an estimate or an interval; ``None`` without a limit."""
    if limit is None:
        return None
    ends = (_worse_by(metric, low), _worse_by(metric, high))
    if not (np.isfinite(estimate) and all(np.isfinite(ends))):
        return CANNOT_TELL
    return REGRESSION if min(ends) > limit else PASS


@dataclass(frozen=True)
class _PairChange:
    """One pair's change in one metric before its noise is known."""

    key: PairKey
    change: float  # mean log ratio (ratios) or mean difference (accuracy)
    n: float  # the effective number of paired seeds
    paired: bool
    base_value: float
    cur_value: float
    n_base: int
    n_cur: int
    residuals: tuple[float, ...] = ()  # each paired seed's change less the pair's mean
    per_seed: tuple[tuple[int, float], ...] = ()  # (seed, change) of each paired seed


def _run_values(records: list[RunRecord], metric: str, name: str) -> dict[int, list[float]]:
    """Each seed's run values: ``name`` of each run's samples of ``metric``."""
    out: dict[int, list[float]] = defaultdict(list)
    for record in records:
        samples = metric_samples(record, metric)
        if samples:
            out[record.seed].append(statistic(samples, name))
    return out


def _change(
    key: PairKey, base: list[RunRecord], cur: list[RunRecord], metric: Metric, name: str
) -> _PairChange | None:
    b, c = _run_values(base, metric.name, name), _run_values(cur, metric.name, name)
    if not b or not c:
        return None
    ratio = metric.kind != "difference"
    value = (lambda v: math.log(v) if v > 0 else math.nan) if ratio else float
    seed_mean = {
        side: {s: float(np.mean([value(v) for v in vs])) for s, vs in d.items()}
        for side, d in (("b", b), ("c", c))
    }
    common = sorted(seed_mean["b"].keys() & seed_mean["c"].keys())
    residuals: tuple[float, ...] = ()
    per_seed: list[float] = []
    if common:
        per_seed = [seed_mean["c"][s] - seed_mean["b"][s] for s in common]
        change = float(np.mean(per_seed))
        n = float(len(common))
        residuals = tuple(d - change for d in per_seed)
    else:
        change = float(np.mean(list(seed_mean["c"].values())) - np.mean(list(seed_mean["b"].values())))
        n = 2.0 / (1.0 / len(seed_mean["b"]) + 1.0 / len(seed_mean["c"]))
    base_runs = [metric_samples(r, metric.name) for r in base]
    cur_runs = [metric_samples(r, metric.name) for r in cur]
    return _PairChange(
        key, change, n, bool(common), pooled([x for x in base_runs if x], name),
        pooled([x for x in cur_runs if x], name), sum(map(len, b.values())), sum(map(len, c.values())),
        residuals, tuple(zip(common, per_seed, strict=True)),
    )  # fmt: skip


def _group(key: PairKey, seed: int) -> tuple[str, str, int, bool]:
    """The interleaved group a seed's run of ``key`` was measured in, as a bench plans them: a
    task's default runs of one seed in one group, its fast paths of one seed in another."""
    return (key.task, key.device, seed, key.mode == "default")


def _group_changes(changes: Sequence[_PairChange]) -> dict[tuple[str, str, int, bool], list[float]]:
    """Each interleaved group's per-seed changes (finite ones), keyed by :func:`_group`."""
    found: dict[tuple[str, str, int, bool], list[float]] = defaultdict(list)
    for c in changes:
        for seed, d in c.per_seed:
            if np.isfinite(d):
                found[_group(c.key, seed)].append(d)
    return found


def without_group_effects(changes: Sequence[_PairChange]) -> list[_PairChange]:
    """Each pair's change with its groups' shared shift taken out and the comparison's typical
    change put back: per seed, current/baseline less the median of that seed's group (of
    :data:`MIN_GROUP` pairs or more), plus the typical pair's change. A group the machine slowed as a
    whole (another process during its seconds) then moves none of its pairs; a change of one pair,
    or of all of them, still shows. Pairs compared unpaired keep their change."""
    found = _group_changes(changes)
    effect = {g: float(np.median(v)) for g, v in found.items() if len(v) >= MIN_GROUP}
    finite = [c.change for c in changes if np.isfinite(c.change)]
    centre = hodges_lehmann(finite) if finite else 0.0
    out = []
    for c in changes:
        if not c.per_seed:
            out.append(c)
            continue
        adjusted = [d - effect.get(_group(c.key, s), centre) + centre for s, d in c.per_seed]
        change = float(np.mean(adjusted))
        residuals = tuple(d - change for d in adjusted)
        seeds = tuple(s for s, _ in c.per_seed)
        out.append(
            replace(c, change=change, residuals=residuals, per_seed=tuple(zip(seeds, adjusted, strict=True)))
        )
    return out


def _ratio_noise(changes: Sequence[_PairChange]) -> tuple[float, int]:
    """The noise (log standard deviation) of one seed's paired ratio and its degrees of freedom,
    pooled from two estimates where both can be had: the pairs' spread about their median (with
    :data:`MIN_PAIRS` pairs or more; a median absolute deviation) and the spread of each pair's
    seeds about its own mean; NaN when neither can be had."""
    finite = [c for c in changes if np.isfinite(c.change)]
    found: list[tuple[float, int]] = []
    if len(finite) >= MIN_PAIRS:
        centre = float(np.median([c.change for c in finite]))
        scaled = np.array([(c.change - centre) * math.sqrt(c.n) for c in finite])
        found.append((1.4826 * float(np.median(np.abs(scaled))), len(finite) - 1))
    df = sum(len(c.residuals) - 1 for c in finite if len(c.residuals) > 1)
    if df >= 1:
        squares = sum(r * r for c in finite for r in c.residuals if len(c.residuals) > 1)
        found.append((math.sqrt(squares / df), df))
    if not found or (len(finite) < MIN_PAIRS and df < 2):
        return math.nan, 0
    dof = sum(d for _, d in found)
    sigma = math.sqrt(sum(d * s * s for s, d in found) / dof)
    return max(sigma, MIN_LOG_SIGMA), dof


def _accuracy_noise(
    key: PairKey, groups: Mapping[PairKey, list[RunRecord]], records: list[RunRecord]
) -> float:
    """One seed's test-accuracy noise for ``key``: the pooled spread of its task's seeds (every
    pair of the task with two seeds or more on this side), at least its test set's binomial error."""
    squares, df = 0.0, 0
    for other, runs in groups.items():
        if other.task == key.task and other.device == key.device:
            values = [r.test_accuracy for r in runs if r.test_accuracy is not None]
            if len(values) > 1:
                squares += float(np.var(values, ddof=1)) * (len(values) - 1)
                df += len(values) - 1
    accuracy = np.mean([r.test_accuracy for r in records if r.test_accuracy is not None] or [math.nan])
    n_test = max((r.n_test or 0) for r in records) if records else 0
    binomial = math.sqrt(accuracy * (1 - accuracy) / n_test) if n_test and np.isfinite(accuracy) else 0.0
    return max(math.sqrt(squares / df) if df else 0.0, binomial) if df or binomial else math.nan


def _z(confidence: float) -> float:
    from scipy import stats  # the analysis stack, loaded when a comparison is made: --help stays fast

    return float(stats.norm.ppf(0.5 + confidence / 2))


def _t(confidence: float, df: int) -> float:
    from scipy import stats  # the analysis stack, loaded when a comparison is made: --help stays fast

    return float(stats.t.ppf(0.5 + confidence / 2, df)) if df > 0 else math.nan


def _rows_for_metric(
    metric: Metric,
    threshold: Threshold | None,
    base: Mapping[PairKey, list[RunRecord]],
    cur: Mapping[PairKey, list[RunRecord]],
    confidence: float,
) -> list[Comparison]:
    name = threshold.statistic if threshold else metric.default_statistic
    keys = sorted(base.keys() & cur.keys())
    changes = [c for k in keys if (c := _change(k, base[k], cur[k], metric, name)) is not None]
    # Every pair is a test: each row's interval holds 1 - (1 - confidence) / pairs, so that same
    # code shows no regression anywhere in 1 - confidence of comparisons, however many pairs
    # (Bonferroni; a 40-pair default bench would otherwise raise about one false alarm a night).
    each = 1 - (1 - confidence) / max(1, len(changes))
    rows = []
    if metric.kind == "difference":
        z = _z(each)
        for c in changes:
            sigma = max(_accuracy_noise(c.key, base, base[c.key]), _accuracy_noise(c.key, cur, cur[c.key]))
            half = z * sigma * math.sqrt(2.0 / c.n) if np.isfinite(sigma) else math.nan
            how = "paired" if c.paired else "unpaired"
            method = f"{how} over {c.n:g} seed(s); a seed's noise {sigma * 100:.2g} pp"
            rows.append(
                _row(metric, threshold, c, c.change, c.change - half, c.change + half, each, method, half)
            )
        return rows
    raw = changes
    changes = without_group_effects(raw)
    overall = _ratio_noise(changes)
    by_task = {
        task: _ratio_noise([c for c in changes if (c.key.task, c.key.device) == task])
        for task in {(c.key.task, c.key.device) for c in changes}
    }
    for c in changes:
        found = by_task[(c.key.task, c.key.device)]
        sigma, df = found if np.isfinite(found[0]) else overall  # a task's own noise, where it has enough
        half = _t(each, df) * sigma / math.sqrt(c.n) if np.isfinite(sigma) else math.nan
        if not np.isfinite(sigma):
            method = f"too few pairs ({len(changes)} < {MIN_PAIRS}) and seeds to know the noise between runs"
        else:
            how = "paired" if c.paired else "unpaired"
            whose = "its task's" if found[0] == sigma else "every task's"
            method = (f"{how} over {c.n:g} seed(s), its groups' shared shifts out; {whose} noise {sigma:.1%} "
                      f"a run ({df} degrees of freedom)")  # fmt: skip
        rows.append(_row(metric, threshold, c, math.exp(c.change), math.exp(c.change - half),
                         math.exp(c.change + half), each, method, half))  # fmt: skip
    whole = _all_pairs(metric, threshold, raw, confidence) if threshold is not None else None
    rows += [whole] if whole is not None else []
    return rows


def _row(
    metric: Metric, threshold: Threshold | None, c: _PairChange, estimate: float, low: float, high: float,
    confidence: float, method: str, half: float,
) -> Comparison:  # fmt: skip
    limit = threshold.limit if threshold else None
    status = verdict(metric, estimate, low, high, limit)
    shown = (
        (limit + (math.expm1(half) if metric.kind != "difference" else half))
        if limit is not None
        else math.nan
    )
    return Comparison(
        c.key, metric.name, threshold.statistic if threshold else metric.default_statistic, c.base_value,
        c.cur_value, estimate, low, high, confidence, threshold, status, c.n_base, c.n_cur, method, shown,
    )  # fmt: skip


def _all_pairs(
    metric: Metric, threshold: Threshold, changes: Sequence[_PairChange], confidence: float
) -> Comparison | None:
    """What moved everything: the typical interleaved group's change (a Hodges-Lehmann estimate
    over the groups' medians; one group the machine slowed moves it little), its interval from the
    groups' spread (a median absolute deviation). Groups, not pairs, are the units: the pairs of one
    group share its minutes on the machine. ``None`` with fewer than :data:`MIN_GROUPS` groups or
    :data:`MIN_PAIRS` pairs."""
    found = _group_changes(changes)
    medians = np.array([float(np.median(v)) for v in found.values()])
    if medians.size < MIN_GROUPS or sum(np.isfinite(c.change) for c in changes) < MIN_PAIRS:
        return None
    centre = hodges_lehmann(medians)
    sigma = max(1.4826 * float(np.median(np.abs(medians - np.median(medians)))), MIN_LOG_SIGMA)
    df = medians.size - 1
    half = _t(confidence, df) * sigma * math.sqrt(HL_VARIANCE / medians.size)
    summary = _PairChange(ALL_PAIRS, centre, float(medians.size), True, math.nan, math.nan,
                          sum(c.n_base for c in changes), sum(c.n_cur for c in changes))  # fmt: skip
    method = (
        f"the typical group (Hodges-Lehmann over {medians.size} interleaved groups), their spread {sigma:.1%}"
    )
    low, high = math.exp(centre - half), math.exp(centre + half)
    return _row(metric, threshold, summary, math.exp(centre), low, high, confidence, method, half)


def _mean(values: Iterable[float]) -> float:
    arr = np.fromiter(values, dtype=float)
    return float(arr.mean()) if arr.size else float("nan")


def group_ok(records: Iterable[RunRecord]) -> dict[PairKey, list[RunRecord]]:
    """The records a comparison can use, grouped by :func:`pair_key`: ``ok``, not an A/A twin, and
    not run beside other work (other processes on a quarter of the cores: a slowdown the run did
    not cause; the page leaves such runs out of its ratios too)."""
    groups: dict[PairKey, list[RunRecord]] = defaultdict(list)
    for record in records:
        if record.status == "ok" and not is_twin(record) and not beside_other_work(record):
            groups[pair_key(record)].append(record)
    return dict(groups)


def compare_records(
    baseline_records: Iterable[RunRecord],
    current_records: Iterable[RunRecord],
    thresholds: Iterable[Threshold] | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
) -> list[Comparison]:
    """Every metric of every pair with ``ok`` runs on both sides, sorted by pair then metric, and
    an :data:`ALL_PAIRS` row per checked metric (last).

    A metric with thresholds gets one row per threshold (verdict applied); one without gets a row
    with no verdict. ``thresholds=None`` means :data:`harness.compare.thresholds.DEFAULT_SPECS`.
    """
    chosen = parse_thresholds(None) if thresholds is None else list(thresholds)
    base, cur = group_ok(baseline_records), group_ok(current_records)
    rows = []
    for name, metric in METRICS.items():
        for threshold in [t for t in chosen if t.metric == name] or [None]:
            rows += _rows_for_metric(metric, threshold, base, cur, confidence)
    order = {name: i for i, name in enumerate(METRICS)}
    return sorted(rows, key=lambda r: (r.key == ALL_PAIRS, r.key, order[r.metric]))


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
    failed = [r for r in records if pair_key(r) == key and not is_twin(r)]
    if failed and all(r.status == "ok" for r in failed):
        share = max(others_cpu_share(r) for r in failed)
        used = f" (other processes used {share:.0%} of the cores)" if np.isfinite(share) else ""
        return f"every run of the other side ran beside other work{used}: not a measurement of the code"
    if failed:
        return f"{other}: {failed[0].status} ({failed[0].reason or 'no reason given'})"
    for other_key, group in ok_groups.items():
        if other_key[:4] == key[:4]:
            return "config differs: " + _config_diff(json.loads(key.config), group[0].config)
    return "not run"


def _config_diff(mine: Mapping[str, Any], theirs: Mapping[str, Any]) -> str:
    fields = sorted(k for k in set(mine) | set(theirs) if k != "seed" and mine.get(k) != theirs.get(k))
    return ", ".join(f"{k} {mine.get(k)!r} vs {theirs.get(k)!r}" for k in fields) or "(key order)"


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
        f"baseline ran on {'; '.join(sorted(base_machines.values()))}, "
        f"current on {'; '.join(sorted(cur_machines.values()))}"
    )


def nothing_comparable(baseline: RecordSet, current: RecordSet, unmatched: list[Unmatched]) -> str:
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
        return any(row.status == REGRESSION for row in self.rows)

    @property
    def verdict(self) -> Verdict:
        """The worst row's verdict: regression, then cannot tell, then pass."""
        return worst(row.status for row in self.rows if row.status is not None)


def check(
    baseline: RecordSet,
    current: RecordSet,
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
    baseline: RecordSet,
    current: RecordSet,
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
    busy = [u for u in result.unmatched if "beside other work" in u.reason]
    if not result.rows and not busy:
        raise CompareInputError(nothing_comparable(baseline, current, result.unmatched))
    if mismatch:
        result.warnings = [f"{mismatch}; comparing anyway (--allow-other-machine)"]
    return result
