"""Bisect's search with a fake decision: which commit it judges next and what it concludes,
when the slowdown is at the first, a middle or the last commit, when nothing is slower, when a
step cannot tell (first or mid-way), when the good end is the slow one, and when a step is flaky;
and a step's outcome read from a real gate decision."""

from __future__ import annotations

import math

import pytest

from harness.compare import bisect
from harness.compare.gate import GateResult, GateRow, GateRule
from harness.compare.verdicts import CANNOT_TELL, PASS, REGRESSION, Verdict

GOOD = "g0"
COMMITS = [f"c{i}" for i in range(1, 9)]  # eight commits after the good end; c8 is the bad end


def _slow_from(first: int, commits: list[str] = COMMITS) -> dict[str, Verdict]:
    """Every commit from ``commits[first]`` on is slower."""
    return {c: REGRESSION if i >= first else PASS for i, c in enumerate(commits)}


class Fake:
    """A decision function from fixed verdicts; it records what it was asked, in order."""

    def __init__(self, verdicts: dict[str, Verdict], faster: frozenset[str] = frozenset()) -> None:
        self.verdicts, self.faster, self.asked = verdicts, faster, []

    def __call__(self, number: int, commit: str) -> bisect.StepOutcome:
        self.asked.append(commit)
        assert number == len(self.asked)
        verdict = self.verdicts[commit]
        ratio = {REGRESSION: 1.3, PASS: 0.7 if commit in self.faster else 1.0}.get(verdict, 1.05)
        reason = "mnist1d torch: its interval reaches across the +4% limit" if verdict == CANNOT_TELL else ""
        return bisect.StepOutcome(
            verdict,
            "mnist1d torch default cpu",
            ratio,
            ratio - 0.02,
            ratio + 0.02,
            reason,
            commit in self.faster,
        )


@pytest.mark.parametrize("first", range(len(COMMITS)))
def test_finds_the_first_slow_commit_wherever_it_is(first: int) -> None:
    judge = Fake(_slow_from(first))
    shown: list[bisect.Step] = []
    result = bisect.search(GOOD, COMMITS, judge, shown.append)
    assert result.verdict == REGRESSION
    assert result.first_slow is not None and result.first_slow.commit == COMMITS[first]
    assert result.last_good == (COMMITS[first - 1] if first else GOOD)
    assert result.first_slow.outcome.estimate == 1.3
    assert judge.asked[0] == COMMITS[-1]  # the bad end first
    assert len(judge.asked) == len(set(judge.asked)) <= bisect.most_steps(len(COMMITS)) == 4
    assert [s.commit for s in shown] == judge.asked and [s.number for s in shown] == [1, 2, 3, 4][
        : len(shown)
    ]


def test_a_slowdown_at_the_first_commit_names_it_with_the_good_end_before_it() -> None:
    result = bisect.search(GOOD, COMMITS[:3], Fake(_slow_from(0, COMMITS[:3])))
    assert result.verdict == REGRESSION and result.first_slow.commit == "c1" and result.last_good == GOOD


def test_a_slowdown_at_the_bad_end_takes_the_full_search() -> None:
    judge = Fake(_slow_from(7))
    result = bisect.search(GOOD, COMMITS, judge)
    assert result.first_slow.commit == "c8" and result.last_good == "c7"
    assert judge.asked == ["c8", "c4", "c6", "c7"]  # halving from the good end to the bad end


def test_no_slower_bad_end_is_a_pass_after_one_step() -> None:
    judge = Fake({c: PASS for c in COMMITS})
    result = bisect.search(GOOD, COMMITS, judge)
    assert result.verdict == PASS and result.first_slow is None and judge.asked == ["c8"]


def test_a_bad_end_that_cannot_tell_ends_it_naming_no_commit() -> None:
    result = bisect.search(GOOD, COMMITS, Fake({**_slow_from(3), "c8": CANNOT_TELL}))
    assert result.verdict == CANNOT_TELL and result.first_slow is None
    assert "interval reaches across" in result.reason and len(result.steps) == 1


def test_cannot_tell_mid_way_names_no_commit_and_keeps_what_was_narrowed() -> None:
    judge = Fake({**_slow_from(5), "c6": CANNOT_TELL})  # c8 slow, c4 pass, then c6 cannot tell
    result = bisect.search(GOOD, COMMITS, judge)
    assert judge.asked == ["c8", "c4", "c6"]
    assert result.verdict == CANNOT_TELL and result.first_slow is None
    assert (result.last_good, result.bad) == ("c4", "c8") and result.steps[-1].commit == "c6"
    assert result.reason


def test_a_good_end_slower_than_the_bad_end_cannot_tell() -> None:
    judge = Fake({c: PASS for c in COMMITS}, faster=frozenset({"c8"}))
    result = bisect.search(GOOD, COMMITS, judge)
    assert result.verdict == CANNOT_TELL and "good end is the slower one" in result.reason
    assert judge.asked == ["c8"]


def test_a_faster_commit_mid_way_is_a_pass_like_any_other() -> None:
    judge = Fake(_slow_from(6), faster=frozenset({"c4"}))
    assert bisect.search(GOOD, COMMITS, judge).first_slow.commit == "c7"


def test_a_flaky_step_is_asked_once_and_the_answer_agrees_with_the_steps() -> None:
    """Verdicts that are not monotone (c4 slow, c5 and c6 not, c7 slow), as noise could give: the
    search asks each commit once, and names a commit a step found slower right after one a step
    found not slower (or the good end)."""
    verdicts = {**_slow_from(6), "c4": REGRESSION}
    judge = Fake(verdicts)
    result = bisect.search(GOOD, COMMITS, judge)
    assert judge.asked == ["c8", "c4", "c2", "c3"] and len(judge.asked) == len(set(judge.asked))
    assert result.verdict == REGRESSION and result.first_slow.commit == "c4" and result.last_good == "c3"
    steps = {s.commit: s.outcome.verdict for s in result.steps}
    assert steps[result.first_slow.commit] == REGRESSION and steps[result.last_good] == PASS


def test_most_steps() -> None:
    assert [bisect.most_steps(n) for n in (1, 2, 3, 4, 8, 9)] == [1, 2, 3, 3, 4, 5]


def _row(run: str, estimate: float, verdict: Verdict, detail: str = "paired over 40 rounds") -> GateRow:
    return GateRow(run, "step_time", estimate, estimate - 0.02, estimate + 0.02, verdict, detail)


def _accuracy(verdict: Verdict) -> GateRow:
    return GateRow("a", "test_accuracy", -0.05, -0.06, -0.04, verdict, "paired t")


def test_a_step_judges_step_time_and_shows_the_slowest_regression() -> None:
    result = GateResult([_row("a", 1.1, REGRESSION), _row("b", 1.3, REGRESSION), _accuracy(PASS)], GateRule())
    outcome = bisect.outcome_of(result)
    assert (outcome.verdict, outcome.run, outcome.estimate) == (REGRESSION, "b", 1.3)
    # an accuracy drop alone is the gate's business, not a slow commit's
    assert (
        bisect.outcome_of(GateResult([_row("a", 1.0, PASS), _accuracy(REGRESSION)], GateRule())).verdict
        == PASS
    )


def test_a_step_whose_worker_died_cannot_tell_and_says_why() -> None:
    died = "candidate crashed in 1 run(s): worker exited with status 3"
    result = GateResult([_row("a", 1.3, REGRESSION), _row("b", math.nan, CANNOT_TELL, died)], GateRule())
    outcome = bisect.outcome_of(result)  # a regression elsewhere still names the slow run
    assert outcome.verdict == REGRESSION
    only = bisect.outcome_of(GateResult([_row("b", math.nan, CANNOT_TELL, died)], GateRule()))
    assert only.verdict == CANNOT_TELL and only.reason == f"b: {died}"
    noisy = bisect.outcome_of(GateResult([_row("a", 1.04, CANNOT_TELL)], GateRule()))
    assert "reaches across the +4% limit" in noisy.reason
    assert bisect.outcome_of(GateResult([], GateRule())).verdict == CANNOT_TELL


def test_a_run_faster_beyond_the_limit_is_flagged() -> None:
    outcome = bisect.outcome_of(GateResult([_row("a", 1.0, PASS), _row("b", 0.7, PASS)], GateRule()))
    assert outcome.verdict == PASS and outcome.faster and outcome.run == "b"
    assert not bisect.outcome_of(GateResult([_row("a", 0.98, PASS)], GateRule())).faster
