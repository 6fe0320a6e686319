"""``harness history``: step changes over commits in each machine's headline series; with
``--check``, the nightly check (:mod:`harness.compare.nightly`): exit 1 while a series is slower
than its level before (from a slowdown's second night until the level returns or the slowdown is
acknowledged in ``acknowledged.toml``), 3 when some series is too short to tell: "cannot tell" is
never a pass."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli import options
from harness.cli.exits import Exit, for_verdict
from harness.errors import UsageError
from harness.store import acknowledged, index
from harness.store.runs import RUNS_DIR


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("history", help="change points in each machine's step time over commits")
    options.add_results(p)
    p.add_argument(
        "--threshold", type=options.percent, default=0.10, help="a slower level beyond this is a regression"
    )
    p.add_argument(
        "--recent",
        type=options.positive,
        default=3,
        help="listing only: a change point within this many newest points is marked (default 3)",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="the nightly check: exit 1 while a series is slower than its level before (from the second "
        "slow night until the level returns or acknowledged.toml in --results accepts it), 3 when a "
        "series has too few commits to tell",
    )
    p.set_defaults(func=main)


def _name(key: tuple) -> str:
    """A series as a reader names it: machine, task, implementation, mode, device."""
    from harness.compare.changes import SERIES

    return " ".join(str(v) for k, v in zip(SERIES, key, strict=True) if k != "config_key")


def _dropped(name: str, commits: list[str]) -> str:
    return f"  {name}: {len(commits)} point(s) dropped (not a positive step time): " + ", ".join(
        c[:12] for c in commits
    )


def _bisect_hint(key: tuple, good: str, bad: str) -> str:
    """Where a slowdown began (the newest night of the level before, the first slow night) and the
    ``harness bisect`` that finds the commit between them, on the series' machine."""
    from harness.compare.changes import SERIES

    series = dict(zip(SERIES, key, strict=True))
    good, bad = (c.removesuffix("+dirty")[:12] for c in (good, bad))
    runs = " ".join(f"--{name} {series[name]}" for name in ("task", "impl", "mode", "device"))
    return (
        f"    it began after {good} (the level before) up to {bad} (the first slow night); on "
        f"{series['machine_id']}, find the commit: python -m harness bisect --good {good} --bad {bad} "
        f"--suite default {runs}"
    )


def main(args: argparse.Namespace) -> int:
    # pandas, for the analysis only: `--help` stays fast
    from harness.compare.changes import DRIFT, SERIES, detect, dropped_points
    from harness.compare.history import history_frame
    from harness.compare.nightly import MIN_POINTS as NIGHTLY_MIN
    from harness.compare.nightly import series_verdicts
    from harness.compare.verdicts import ACKNOWLEDGED, CANNOT_TELL, REGRESSION, worst

    folder = Path(args.results) / RUNS_DIR
    if not folder.is_dir():
        raise UsageError(f"no run records under {folder}; run a suite first")
    by_file, _, _ = index.load(folder, Path(args.results))  # digests: no record is read whole
    history = history_frame((d for ds in by_file.values() for d in ds), intervals=False)  # levels only
    series = history[history["metric"] == "step_time"].dropna(subset=["value"]).groupby(SERIES)
    commits = history["git_commit"].nunique()
    if not args.check:  # the listing: change points and drifts in hindsight, over every night
        changes = detect(history, args.threshold, args.recent)
        drifts = sum(c.kind == DRIFT for c in changes)
        print(f"{len(series)} series over {commits} commits; {len(changes) - drifts} change point(s), "
              f"{drifts} drift(s)")  # fmt: skip
        for change in changes:
            print(f"  {change.describe()}")
        for key, commits_dropped in dropped_points(history):
            print(_dropped(_name(key), commits_dropped))
        return Exit.OK
    print(
        f"{len(series)} series over {commits} commits (the change points: harness history, without --check)"
    )
    acks = acknowledged.load(args.results)
    verdicts = series_verdicts(history, args.threshold, acks)
    print(f"nightly check (threshold {args.threshold:.0%}, {len(acks)} acknowledged slowdown(s)):")
    for key, verdict in verdicts:
        name = _name(key)
        if verdict.dropped:
            print(_dropped(name, verdict.dropped))
        if verdict.status in (REGRESSION, ACKNOWLEDGED):
            what = "REGRESSION" if verdict.failing else "acknowledged slowdown"
            print(
                f"  {name}: {what} {verdict.ratio - 1:+.0%} since commit {verdict.commit[:12]} "
                f"({verdict.nights} newest nights, {verdict.before * 1e3:.3g} ms -> "
                f"{verdict.after * 1e3:.3g} ms, "
                f"{verdict.z:.1f} sigma)"
            )
        if verdict.failing and verdict.previous:
            print(_bisect_hint(key, verdict.previous, verdict.commit))
    overall = worst((v.status for _, v in verdicts), empty=CANNOT_TELL)
    failing = [v for _, v in verdicts if v.failing]
    short = [v for _, v in verdicts if v.status == CANNOT_TELL]
    if failing:
        print(f"regression in {len(failing)} of {len(verdicts)} series: acknowledge one in "
              f"{Path(args.results) / acknowledged.FILE} if it is accepted")  # fmt: skip
    elif short:
        print(
            f"cannot tell: {len(short)} of {len(verdicts)} series have fewer than the {NIGHTLY_MIN} commits "
            "the check needs; no regression can be ruled out there (exit 3, never a pass)"
        )
    else:
        print(f"pass: no regression in {len(verdicts)} series")
    return for_verdict(overall)
