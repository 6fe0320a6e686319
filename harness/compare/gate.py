"""The A/B gate's decision: baseline against candidate, measured interleaved (:mod:`harness.run.ab`).

Per gated run (task, implementation, mode, device):

*Step time* is the paired ratio candidate/baseline (:mod:`harness.compare.paired`): the median of
the per-round log ratios over every steady round of every pair of processes, with a 95% interval
that resamples pairs, then rounds. With limit ``T`` and margin ``M < T`` (the factor-and-
significance rule of asv and pyperf):

- **regression** when the estimate is beyond ``1 + T`` *and* the lower end of a strict interval
  is beyond ``1 + M``: slower by more than the limit, and clearly slower. The strict interval has
  confidence ``1 - 2 * alpha / looks``: the gate may decide up to ``looks`` times (it adds process
  pairs while it cannot tell), so each look spends ``alpha / looks`` of the false-alarm chance
  and same code is called a regression at most ``alpha`` of the time (1%), however many looks;
- **pass** when the 95% interval's upper end is below ``1 + T``: a regression beyond the limit is
  ruled out (a clear improvement is a pass too);
- **cannot tell** otherwise: the data cannot tell, and that is said, never passed.

*Test accuracy* is candidate minus baseline per pair (the same seed on both sides), with a paired t
interval: regression when the mean drops by more than ``D`` and the interval's upper end is
below ``-D/2``; pass when the lower end is above ``-D``; cannot tell otherwise.

A run that did not end ``ok`` on a side makes its rows "cannot tell", with the reason. The gate's
verdict is the worst of its rows: regression, then cannot tell, then pass. Exit codes: 0 pass,
1 regression, 3 cannot tell (2 is unusable input, raised before anything runs).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from harness.compare.paired import PairedRatio, paired_between
from harness.compare.stats import difference_interval
from harness.compare.verdicts import CANNOT_TELL, PASS, REGRESSION, Verdict, worst
from harness.record.derived import interleaved_group, round_steps_s
from harness.record.keys import RunKey, run_key
from harness.record.schema import RunRecord


@dataclass(frozen=True)
class GateRule:
    """The limits: step time ``threshold`` and ``margin`` (fractions), accuracy ``accuracy_drop``."""

    # 4%: measured on this project's 2-core machine (benchmarks/gate_validation.py), the
    # lowest limit at which same-code decisions never said regression, quiet or loaded, while a 5%
    # slowdown is caught in 89% of quiet-machine decisions (28% at a 5% limit: it sits on it)
    threshold: float = 0.04
    margin: float = 0.016
    accuracy_drop: float = 0.01
    alpha: float = 0.01  # the chance, over every look, that same code is called a regression
    looks: int = 1  # how many times the gate may decide (1 + the process pairs it may add)

    @property
    def strict_confidence(self) -> float:
        """The confidence of the interval a regression must clear at each look."""
        return 1.0 - 2.0 * self.alpha / max(1, self.looks)

    def step_verdict(self, ratio: PairedRatio, strict: PairedRatio | None = None) -> Verdict:
        """``ratio`` the 95% paired ratio, ``strict`` the same at :attr:`strict_confidence`."""
        if ratio.estimate > 1 + self.threshold and (strict or ratio).low > 1 + self.margin:
            return REGRESSION
        if ratio.high < 1 + self.threshold:
            return PASS
        return CANNOT_TELL

    def accuracy_verdict(self, estimate: float, low: float, high: float) -> Verdict:
        if estimate < -self.accuracy_drop and high < -self.accuracy_drop / 2:
            return REGRESSION
        if low > -self.accuracy_drop:
            return PASS
        return CANNOT_TELL

    def describe(self) -> str:
        return (
            f"step time: regression beyond +{self.threshold:.0%} with the lower end of a "
            f"{self.strict_confidence:.2%} interval beyond +{self.margin:.1%} (false alarms at most "
            f"{self.alpha:.0%} over up to {self.looks} look(s)); pass when the 95% interval's upper end "
            f"is below +{self.threshold:.0%}. "
            f"Test accuracy: regression when it drops by more than {self.accuracy_drop:g}"
        )


@dataclass
class GateRow:
    """One gated run and metric: the estimate, its interval, the verdict and why."""

    run: str
    metric: str
    estimate: float
    low: float
    high: float
    verdict: Verdict
    detail: str
    key: RunKey = ("", "", "", "")


@dataclass
class GateResult:
    """Every row, the overall verdict, and the sides compared."""

    rows: list[GateRow]
    rule: GateRule
    sides: dict[str, str] = field(default_factory=dict)

    @property
    def undecided_runs(self) -> set[RunKey]:
        """The gated runs whose step-time row cannot tell from its data (not from a failed
        run): more process pairs could decide them."""
        return {
            r.key
            for r in self.rows
            if r.metric == "step_time" and r.verdict == CANNOT_TELL and "paired over" in r.detail
        }

    @property
    def verdict(self) -> Verdict:
        return worst(row.verdict for row in self.rows)


def _failed(records: list[RunRecord]) -> str:
    bad = [r for r in records if r.status != "ok"]
    if not bad:
        return ""
    first = bad[0]
    reason = (first.reason or "no reason given").splitlines()[0]
    return f"{first.execution.get('side', '?')} {first.status} in {len(bad)} run(s): {reason}"


def _step_row(name: str, base: list[RunRecord], cand: list[RunRecord], rule: GateRule) -> GateRow:
    by_base = {interleaved_group(r): round_steps_s(r) for r in base}
    by_cand = {interleaved_group(r): round_steps_s(r) for r in cand}
    ratio = paired_between(by_base, by_cand)
    if ratio is None:
        return GateRow(name, "step_time", math.nan, math.nan, math.nan, CANNOT_TELL, "no paired rounds")
    strict = paired_between(by_base, by_cand, rule.strict_confidence)
    detail = (
        f"paired over {ratio.n_rounds} rounds of {ratio.n_groups} process pair(s); "
        f"{rule.strict_confidence:.2%} interval [{strict.low:.3f}, {strict.high:.3f}] for a regression"
        if strict
        else f"paired over {ratio.n_rounds} rounds of {ratio.n_groups} process pair(s)"
    )
    verdict = rule.step_verdict(ratio, strict)
    return GateRow(name, "step_time", ratio.estimate, ratio.low, ratio.high, verdict, detail)


def _accuracy_row(name: str, base: list[RunRecord], cand: list[RunRecord], rule: GateRule) -> GateRow:
    by_seed_base = {r.seed: r.test_accuracy for r in base if r.test_accuracy is not None}
    by_seed_cand = {r.seed: r.test_accuracy for r in cand if r.test_accuracy is not None}
    estimate, low, high, method = difference_interval(by_seed_base, by_seed_cand)
    if not all(math.isfinite(v) for v in (estimate, low, high)):
        return GateRow(name, "test_accuracy", estimate, low, high, CANNOT_TELL, method)
    return GateRow(
        name, "test_accuracy", estimate, low, high, rule.accuracy_verdict(estimate, low, high), method
    )


def decide(records: Iterable[RunRecord], rule: GateRule = GateRule()) -> GateResult:
    """The gate's rows and verdict from the records of both sides (``execution.side``)."""
    runs: dict[RunKey, dict[str, list[RunRecord]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        runs[run_key(record)][record.execution.get("side", "")].append(record)
    rows = []
    for key, by_side in sorted(runs.items()):
        name = " ".join(key)
        base, cand = by_side.get("baseline", []), by_side.get("candidate", [])
        failed = _failed(base + cand) or ("" if base and cand else "a side has no runs")
        if failed:
            found = [
                GateRow(name, m, math.nan, math.nan, math.nan, CANNOT_TELL, failed)
                for m in ("step_time", "test_accuracy")
            ]
        else:
            found = [_step_row(name, base, cand, rule), _accuracy_row(name, base, cand, rule)]
        rows += [replace(row, key=key) for row in found]
    return GateResult(rows, rule)
