"""``harness history``: step changes over commits in each machine's headline series; with
``--check``, exit 1 when the newest points start a regression (for a nightly job), 3 when some
series is too short to tell (fewer than MIN_POINTS commits): "cannot tell" is never a pass."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli import options
from harness.cli.exits import Exit
from harness.compare.changes import MIN_POINTS, SERIES, detect
from harness.compare.history import history_frame
from harness.errors import UsageError
from harness.store.runs import RUNS_DIR, load


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("history", help="change points in each machine's step time over commits")
    options.add_results(p)
    p.add_argument(
        "--threshold", type=options.percent, default=0.10, help="a slower level beyond this is a regression"
    )
    p.add_argument("--recent", type=options.positive, default=3, help="points counted as newest (default 3)")
    p.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when the newest points start a regression, 3 when a series has too few commits to tell",
    )
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    folder = Path(args.results) / RUNS_DIR
    if not folder.is_dir():
        raise UsageError(f"no run records under {folder}; run a suite first")
    records, _ = load(folder)
    history = history_frame(records)
    changes = detect(history, args.threshold, args.recent)
    series = history[history["metric"] == "step_time"].dropna(subset=["value"]).groupby(SERIES)
    print(
        f"{len(series)} series over {history['git_commit'].nunique()} commits; {len(changes)} change point(s)"
    )
    for change in changes:
        print(f"  {change.describe()}")
    failing = [c for c in changes if c.regression and c.recent]
    if args.check and failing:
        print(f"regression in the newest points of {len(failing)} series (threshold {args.threshold:.0%})")
        return Exit.FAILED
    judged = [key for key, points in series if len(points) >= MIN_POINTS]
    if args.check and len(judged) < len(series):
        short = len(series) - len(judged)
        print(
            f"cannot tell: {short} of {len(series)} series have fewer than the {MIN_POINTS} commits a "
            "change point needs; no regression can be ruled out there (exit 3, never a pass)"
        )
        return Exit.CANNOT_TELL
    return Exit.OK
