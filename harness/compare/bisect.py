"""Bisect's search: which commit of a linear range first made the gated runs slower.

Pure: it is given the range's commits (oldest first, after the good end, up to the bad end) and a
function that judges one commit against the good end (in ``harness bisect``, an A/B gate,
:mod:`harness.compare.gate`, measured by :mod:`harness.run.ab`); it chooses which commit to judge
next and says what the verdicts add up to, in the one vocabulary (:mod:`.verdicts`):

- step 1 judges the bad end: **pass** there means no commit of the range is slower beyond the limit
  (against the good end), and the search ends; so does **cannot tell**; and so does a bad end
  *faster* than the good end beyond the limit (cannot tell: the good end is the slow one, and a
  speed-up in the range could hide a slowdown);
- then a binary search between the newest commit judged pass (or the good end) and the oldest
  judged regression: the commit halfway is judged, against the good end every time (one fixed
  reference: two slowdowns of half the limit each add up to one found where the sum crosses it);
- **regression**: the first slow commit is the one judged regression whose predecessor was judged
  pass (or is the good end); **cannot tell** at any step ends the search without naming a commit
  (what was narrowed so far is said, as a range).

No commit is judged twice, so a flaky verdict cannot contradict itself: the commit named is one a
step found slower, right after one a step found not slower. A step judges step time only: bisect
looks for a slow commit (the gate's accuracy rows are the gate's).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from harness.compare.gate import GateResult, GateRow, GateRule
from harness.compare.verdicts import CANNOT_TELL, PASS, REGRESSION, Verdict, worst


@dataclass(frozen=True)
class StepOutcome:
    """One commit judged against the good end: its step-time verdict, the gated run that shows it
    (the slowest regression, the run that could not tell, or the run nearest the limit), that run's
    ratio candidate/good with its 95% interval, and why it cannot tell. ``faster``: some run is
    faster than the good end beyond the limit."""

    verdict: Verdict
    run: str = ""
    estimate: float = math.nan
    low: float = math.nan
    high: float = math.nan
    reason: str = ""
    faster: bool = False


def _faster(row: GateRow, rule: GateRule) -> bool:
    """The mirror of the gate's regression rule: faster by more than the limit, and clearly."""
    return row.estimate < 1 / (1 + rule.threshold) and row.high < 1 / (1 + rule.margin)


def outcome_of(result: GateResult) -> StepOutcome:
    """A step's outcome from its gate decision: the worst of the step-time rows."""
    rows = [r for r in result.rows if r.metric == "step_time"]
    if not rows:
        return StepOutcome(CANNOT_TELL, reason="no gated run was measured")
    verdict = worst(r.verdict for r in rows)
    mine = [r for r in rows if r.verdict == verdict]
    faster = [r for r in rows if _faster(r, result.rule)]
    if verdict == REGRESSION:
        row = max(mine, key=lambda r: r.estimate)
    elif verdict == CANNOT_TELL:
        row = mine[0]
    else:
        row = min(faster, key=lambda r: r.high) if faster else max(mine, key=lambda r: r.high)
    reason = ""
    if verdict == CANNOT_TELL:
        limit = f"+{result.rule.threshold:.0%}"
        reason = (
            f"{row.run}: its interval reaches across the {limit} limit ({row.detail})"
            if "paired over" in row.detail
            else f"{row.run}: {row.detail}"
        )
    return StepOutcome(verdict, row.run, row.estimate, row.low, row.high, reason, bool(faster))


@dataclass(frozen=True)
class Step:
    """A step of the search: its number (1 judges the bad end), the commit's index in the range,
    the commit, and its outcome."""

    number: int
    index: int
    commit: str
    outcome: StepOutcome


@dataclass
class BisectResult:
    """What the steps add up to. ``verdict``: regression (``first_slow`` is the step that found the
    first slow commit, ``last_good`` the commit before it), pass (no commit slower), or cannot
    tell (``reason``; the first slow commit, if any, is after ``last_good`` up to ``bad``)."""

    verdict: Verdict
    steps: list[Step] = field(default_factory=list)
    first_slow: Step | None = None
    last_good: str = ""
    bad: str = ""  # the oldest commit known slower (the bad end until a step finds an older one)
    reason: str = ""


def most_steps(commits: int) -> int:
    """The most steps a range of ``commits`` commits takes: the bad end, then a binary search
    over the others."""
    return 1 + math.ceil(math.log2(commits)) if commits > 0 else 0


Judge = Callable[[int, str], StepOutcome]  # (step number, commit) -> the commit against the good end


def search(
    good: str, commits: Sequence[str], judge: Judge, on_step: Callable[[Step], None] = lambda step: None
) -> BisectResult:
    """Bisect ``commits`` (oldest first: the commits after ``good`` up to the bad end, the last),
    each judged at most once by ``judge``; ``on_step`` is told each step as it is decided."""
    result = BisectResult(CANNOT_TELL, last_good=good)
    if not commits:
        result.reason = "the range holds no commit"
        return result
    lo, hi = -1, len(commits) - 1

    def step(index: int) -> Step:
        number = len(result.steps) + 1
        done = Step(number, index, commits[index], judge(number, commits[index]))
        result.steps.append(done)
        on_step(done)
        return done

    first = step(hi)
    result.bad = commits[hi]
    verdict = first.outcome.verdict
    if verdict == PASS and first.outcome.faster:
        result.reason = (
            f"the good end is the slower one: the bad end is faster beyond the limit ({first.outcome.run}); "
            "a speed-up in the range could hide a slowdown"
        )
        return result
    if verdict != REGRESSION:
        result.verdict = verdict
        result.reason = first.outcome.reason
        return result
    result.first_slow = first
    while hi - lo > 1:
        mid = step((lo + hi) // 2)
        if mid.outcome.verdict == REGRESSION:
            hi, result.first_slow, result.bad = mid.index, mid, mid.commit
        elif mid.outcome.verdict == PASS:
            lo, result.last_good = mid.index, mid.commit
        else:
            result.first_slow, result.reason = None, mid.outcome.reason
            return result
    result.verdict = REGRESSION
    return result
