"""``harness bisect``: the first commit between a good and a bad revision that made the gated
runs slower, found by a binary search (:mod:`harness.compare.bisect`) whose every step is an A/B
gate (``harness ab``'s measurement and decision) of one commit against the good end.

Exit status: 1 the first slow commit found (named, with its ratio and interval); 0 the bad end is
not slower than the good end, so no commit in between is; 2 unusable input (nothing run); 3 a step
could not tell (no commit named: which step, and why), or the good end is the slower one.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

from harness.cli import ab as ab_cli
from harness.cli.exits import for_verdict
from harness.cli.gate_view import ratio_text
from harness.compare import bisect
from harness.compare.verdicts import CANNOT_TELL, PASS, REGRESSION
from harness.errors import UsageError
from harness.run import ab, commits


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bisect",
        help="find the first slower commit between --good and --bad, each step an A/B gate against --good",
    )
    p.add_argument(
        "--good", required=True, metavar="REV", help="a revision that is not slow: every step's baseline"
    )
    p.add_argument(
        "--bad",
        default="HEAD",
        metavar="REV",
        help="a later revision that is slow, --good in its first-parent history with no merge between "
        "(default: HEAD)",
    )
    ab_cli.add_gate_options(p, budget_of="each step")
    p.set_defaults(func=main)


def _step(fitted: ab_cli.Fitted, good: ab.Side, sha: str, results: Path) -> bisect.StepOutcome:
    """One commit gated against the good end; a commit whose workers cannot run cannot tell."""
    with contextlib.ExitStack() as stack:
        try:
            candidate = ab.resolve(ab.SideSpec("candidate", sha), stack)
            sides = {"baseline": good, "candidate": candidate}
            result, _, path = ab_cli.gate(fitted, sides, results, time.monotonic())
        except UsageError as exc:  # this commit's checkout or workers cannot run: nothing measured
            return bisect.StepOutcome(CANNOT_TELL, reason=str(exc))
    print(f"records: {path}", file=sys.stderr)
    return bisect.outcome_of(result)


def _outcome_text(outcome: bisect.StepOutcome) -> str:
    ratio = ratio_text(outcome.estimate, outcome.low, outcome.high)
    if outcome.reason:  # it names the run
        return f"{ratio} {outcome.verdict}: {outcome.reason}"
    return f"{ratio} {outcome.verdict} ({outcome.run})"


def _selection(args: argparse.Namespace) -> str:
    """The options that chose the gated runs, as typed again."""
    parts = [] if args.suite == "ab" else [f"--suite {args.suite}"]
    for name in ("task", "impl", "mode", "device"):
        if getattr(args, name):
            parts.append(f"--{name} " + " ".join(getattr(args, name)))
    return "".join(f" {p}" for p in parts)


def _summary(result: bisect.BisectResult, span: commits.Span, args: argparse.Namespace) -> str:
    subjects = {c.sha: c.subject for c in [span.good, *span.commits]}
    good, bad = span.good.short, span.bad.short
    limit = f"+{args.threshold:.0%}"
    if result.verdict == REGRESSION and result.first_slow is not None:
        slow = result.first_slow
        return (
            f"first slow commit: {slow.commit[:12]} {subjects[slow.commit]}\n"
            f"  {ratio_text(slow.outcome.estimate, slow.outcome.low, slow.outcome.high)} against {good} "
            f"({slow.outcome.run}), beyond the {limit} limit; the commit before it, "
            f"{result.last_good[:12]} {subjects[result.last_good]}, was not"
        )
    if result.verdict == PASS:
        return f"pass: the bad end {bad} is not slower than {good} beyond {limit}: no commit in between is"
    last = result.steps[-1] if result.steps else None
    at = f" at step {last.number} ({last.commit[:12]} against {good})" if last else ""
    text = f"cannot tell{at}: {result.reason}; no commit is named (exit 3, never a pass)"
    shas = [span.good.sha, *(c.sha for c in span.commits)]
    if result.bad and shas.index(result.bad) - shas.index(result.last_good) < len(span.commits):
        left = shas.index(result.bad) - shas.index(result.last_good)
        text += (
            f"\n  narrowed so far to the {left} commit(s) after {result.last_good[:12]} up to "
            f"{result.bad[:12]}; to go on from there, with this command's other options and a larger "
            "budget: python -m harness bisect --good "
            f"{result.last_good[:12]} --bad {result.bad[:12]}{_selection(args)} "
            f"--budget {2 * args.budget:.0f}"
        )
    return text


def main(args: argparse.Namespace) -> int:
    started = time.monotonic()
    margin = ab_cli.check_gate(args)
    span = commits.linear_span(args.good, args.bad)
    fitted = ab_cli.fit(args, margin, started)
    n = len(span.commits)
    print(
        f"bisect: {n} commits after {span.good.short} up to {span.bad.short}, at most "
        f"{bisect.most_steps(n)} steps, each an A/B gate of one commit against {span.good.short} "
        f"(step time, limit +{args.threshold:.0%})"
    )
    subjects = {c.sha: c.subject for c in span.commits}

    def show(step: bisect.Step) -> None:
        end = " (the bad end)" if step.number == 1 else ""
        head = f"step {step.number}{end}: {step.commit[:12]} {subjects[step.commit]}"
        print(f"{head}: {_outcome_text(step.outcome)}", flush=True)

    with contextlib.ExitStack() as stack:
        good = ab.resolve(ab.SideSpec("baseline", span.good.sha), stack)

        def judge(number: int, sha: str) -> bisect.StepOutcome:
            print(f"step {number}: gating {sha[:12]} against {span.good.short}", file=sys.stderr)
            return _step(fitted, good, sha, args.results)

        result = bisect.search(span.good.sha, [c.sha for c in span.commits], judge, show)
    print(_summary(result, span, args))
    return for_verdict(result.verdict)
