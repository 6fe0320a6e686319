"""``harness run``: a suite and/or a selection, run in workers, stored, optionally reported."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Callable

from harness.cli import options
from harness.cli.exits import Exit
from harness.cli.paths import DEFAULT_REPORT
from harness.cli.progress import Progress, duration
from harness.plan.budget import MARGIN, Fitted, WorkerSlot
from harness.plan.overrides import conflicts
from harness.plan.requests import Plan, RunRequest, Tier, parse_shard
from harness.plan.suites import Selection, plan_for
from harness.run.planning import Planned, TopUp, not_here, plan_to_budget, top_up
from harness.run.runner import EXECUTORS, run_plan
from harness.run.schedule import SCHEDULES
from harness.run.timing import quiet_wait_limit


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a suite and/or an explicit selection, storing records")
    p.add_argument("--suite", help=options.suite_help())
    options.add_selection(p)
    p.add_argument(
        "--seeds",
        action=options.Several,
        nargs="+",
        type=options.whole,
        help="seed(s) >= 0, e.g. --seeds 0 1 2",
    )
    p.add_argument("--epochs", type=options.whole, help="override the number of epochs (a positive integer)")
    p.add_argument(
        "--set", action=options.Several, nargs="+", default=[], metavar="FIELD=VALUE", help=options.SET_HELP
    )
    options.add_threads(p)
    p.add_argument("--timeout", type=options.seconds, help="seconds before a run is killed")
    options.add_results(p, "records go to runs/ there")
    p.add_argument("--dry-run", action="store_true", help="print the runs, run nothing")
    p.add_argument(
        "--report", type=options.output_file, nargs="?", const=DEFAULT_REPORT, help="then build the report"
    )
    p.add_argument(
        "--schedule",
        choices=SCHEDULES,
        default="interleaved",
        help="interleaved (default): the runs compared with each other advance one epoch per round, in a "
        "random order each round; sequential: each run from its first epoch to its last, back to back",
    )
    p.add_argument(
        "--no-warm-up",
        action="store_true",
        help="interleaved: time each epoch without the untimed warm-up that precedes it (for measuring "
        "what switching between processes costs)",
    )
    p.add_argument(
        "--epochs-per-round",
        type=options.whole,
        help="interleaved: epochs each run trains back to back per round (default: the suite's, else 1); "
        "2 or more also measures the schedule's effect (an epoch after the pause over one after an epoch)",
    )
    twins = p.add_mutually_exclusive_group()
    twins.add_argument(
        "--twin",
        metavar="IMPL",
        help="the implementation whose run is repeated, identically, in every group of two or more "
        "runs: the A/A twin whose ratio to it is the noise floor beside the group's ratios (default: "
        "the suite's, else torch; the group's first run when the group lacks it)",
    )
    twins.add_argument("--no-twin", action="store_true", help="no A/A twins")
    p.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="local",
        help="local (default): this machine; ray: each group a Ray task on a cluster node",
    )
    p.add_argument("--address", help="with --executor ray: the cluster (default: a one-node cluster here)")
    p.add_argument("--accelerator-type", help="with --executor ray: the GPU kind gpu groups ask for")
    p.add_argument(
        "--shard", help="K/N: run only the K-th of N shards of the plan (by group), for CI matrices"
    )
    p.add_argument(
        "--no-calibrate", action="store_true", help="skip the machine calibration (no efficiency in records)"
    )
    budget = p.add_mutually_exclusive_group()
    budget.add_argument(
        "--budget",
        type=options.seconds,
        metavar="SECONDS",
        help="what the whole command may take, calibration, data and report included (default: the suite's; "
        "the default suite's keeps `tox -e bench` within 10 minutes on a slow 2-core machine): the suite's "
        "tables of priority 1 and up are added, lowest first, while the plan's predicted cost fits, and "
        "again once the planned runs are done, predicted from their own records; what is left out is named, "
        "with the command that runs it",
    )
    budget.add_argument(
        "--no-budget", action="store_true", help="run every table of the suite, whatever it costs"
    )
    p.set_defaults(func=main)


def selection_of(args: argparse.Namespace) -> Selection:
    """The typed selection the library takes, from the parsed arguments."""
    return Selection(
        suite=args.suite,
        tasks=args.task,
        impls=args.impl,
        devices=args.device,
        modes=args.mode,
        seeds=args.seeds,
        epochs=args.epochs,
        overrides=list(args.set),
        threads=args.threads,
        timeout_s=args.timeout,
        epochs_per_round=args.epochs_per_round,
        twin="" if args.no_twin or args.schedule == "sequential" else args.twin,
    )


def warnings(args: argparse.Namespace) -> list[str]:
    """Options that are valid but conflict or will not do what they say, each saying what wins."""
    out = conflicts(args.set, args.epochs) + options.machine_warnings(args.threads, args.device)
    sequential, local = args.schedule == "sequential", args.executor != "ray"
    ignored = [
        (
            sequential and args.twin is not None,
            f"--twin {args.twin}",
            "--schedule sequential has no A/A twins",
        ),
        (sequential and args.no_warm_up, "--no-warm-up", "it applies to --schedule interleaved"),
        (local and args.address is not None, "--address", "it applies to --executor ray"),
        (local and args.accelerator_type is not None, "--accelerator-type", "it applies to --executor ray"),
        (args.dry_run and args.report is not None, "--report", "--dry-run runs nothing to report"),
    ]
    return out + [f"{option} is ignored: {why}" for applies, option, why in ignored if applies]


def _log(message: str) -> None:
    print(message, file=sys.stderr)


def _budget_s(args: argparse.Namespace, suite_budget_s: float | None) -> float | None:
    """The budget to fit: ``--budget``, else the suite's; none with ``--no-budget``, a shard (each
    machine of a matrix runs a part) or another executor."""
    if args.no_budget or args.shard is not None or args.executor != "local":
        return None
    return args.budget if args.budget is not None else suite_budget_s


def _say_plan(planned: Planned, suite: str, absent: int, why: list[str]) -> None:
    """The plan's predicted phases, the runs this machine cannot make (``absent``, and ``why``), and
    what the budget left out with the command that runs it."""
    fitted = planned.fitted
    total = fitted.estimate.total_s
    within = f" of the {duration(fitted.budget_s)} budget" if fitted.budget_s != float("inf") else ""
    here = len(fitted.plan.requests) - absent
    print(f"plan: {_runs(here)}, predicted {duration(total)}{within} on this machine "
          f"(rates: {planned.model.source})", file=sys.stderr)  # fmt: skip
    if absent:  # the runs the suite asks for that this machine cannot make: said before they are counted
        print(f"  not run here, one record per task and implementation says so: {'; '.join(why)}",
              file=sys.stderr)  # fmt: skip
    for phase in fitted.estimate.phases:
        print(f"  {duration(phase.seconds):>7}  {phase.name}", file=sys.stderr)
    if fitted.over_budget:
        print(f"this machine is slower than the suite's {duration(fitted.budget_s)} budget was sized for: "
              f"running only the runs it always makes (predicted {duration(total)}); --budget N sets a "
              "limit to hold", file=sys.stderr)  # fmt: skip
    for line in left_out_lines(fitted, suite):
        print(f"left out to fit the budget: {line}", file=sys.stderr)
    if fitted.left_out:
        print("  (in this order, each is run at the end if the planned runs leave the time for it)",
              file=sys.stderr)  # fmt: skip


def left_out_lines(fitted: Fitted, suite: str) -> list[str]:
    """Each table the budget left out: what it is, what it would add, and the command that runs it."""
    return [_left_out(tier, extra_s, fitted.estimate.total_s, suite) for tier, extra_s in fitted.left_out]


def _left_out(tier: Tier, extra_s: float, total_s: float, suite: str) -> str:
    """A table left out of a plan predicted at ``total_s``: it would add ``extra_s``."""
    need = (total_s + extra_s) / MARGIN
    return f"{tier.label()} (+{duration(extra_s)}): python -m harness run --suite {suite} --budget {need:.0f}"


def top_up_lines(found: TopUp, budget_s: float) -> list[str]:
    """What the time left once the planned runs were done was spent on, or why on nothing."""
    left = f"{duration(max(found.left_s, 0))} of the {duration(budget_s)} budget left after the planned runs"
    rates = "rates learnt again with this run's records"
    tables = "; ".join(f"{t.label()} (+{duration(s)})" for t, s in found.still_out)
    if found.left_s <= 0:  # the plan was short: what was left out was listed before it ran
        return [f"no time left of the {duration(budget_s)} budget after the planned runs (the page's build "
                f"kept aside; {duration(-found.left_s)} over): nothing added"]  # fmt: skip
    if not found.added:
        return [f"{left}: not enough for what was left out ({rates}): {tables}"]
    added = "; ".join(t.label() for t in found.added)
    out = [f"{left}: added {added} (predicted {duration(found.estimate.total_s)}, {rates})"]
    return out + ([f"still left out: {tables}"] if found.still_out else [])


def _more(
    planned: Planned, plan: Plan, args: argparse.Namespace, started: float, progress: Progress, suite: str
) -> Callable[[frozenset[WorkerSlot]], list[RunRequest]]:
    """What to add once the planned runs are done: the left-out tables that the rest of the budget
    holds, predicted again from this run's own records; the plan's notes then name only the rest."""

    def more(warm: frozenset[WorkerSlot]) -> list[RunRequest]:
        spent = time.monotonic() - started
        found = top_up(planned, args.results, spent, warm, report=args.report is not None)
        for line in top_up_lines(found, planned.fitted.budget_s):
            progress.log(line)
        if found.added:  # what is still left out, costed as the line above says it
            total = planned.fitted.budget_s - found.left_s + found.estimate.total_s
            plan.notes = [_left_out(tier, extra, total, suite) for tier, extra in found.still_out]
            progress.add(found.estimate, len(found.requests))
        return found.requests

    return more


def main(args: argparse.Namespace) -> int:
    started = time.monotonic()
    quiet_wait_limit()  # a bad $MLPBENCH_QUIET_WAIT_S: exit 2 here, not in every worker
    shard = parse_shard(args.shard) if args.shard is not None else None
    plan = plan_for(selection_of(args))
    # the suite as the user named it, for the commands printed: a suite file by its path, not its stem
    suite = shlex.quote(args.suite) if args.suite else plan.name
    options.warn(warnings(args))
    if shard is not None:
        plan = plan.sharded(*shard)
    if not args.dry_run:
        options.check_writable(args.results)
    plan.calibrate = not args.no_calibrate and not args.dry_run
    plan.schedule = args.schedule
    plan.warm_up = not args.no_warm_up
    plan.executor, plan.address, plan.accelerator_type = args.executor, args.address, args.accelerator_type
    budget_s = _budget_s(args, plan.budget_s)
    planned = None
    if args.executor == "local":
        asked = args.budget is not None  # the suite's own budget is a target, not the user's limit
        planned = plan_to_budget(
            plan, args.results, budget_s, lambda: time.monotonic() - started, _log, asked,
            report=args.report is not None,
        )  # fmt: skip
        plan = planned.fitted.plan
        plan.budget_s = budget_s
        plan.notes = left_out_lines(planned.fitted, suite)
    # the runs this machine cannot make, found once: said by the plan, left out of the progress count
    # (a cluster's nodes have GPUs of their own: only a local plan is checked here)
    absent, why = not_here(plan.requests) if planned is not None else (0, [])
    if planned is not None:
        _say_plan(planned, suite, absent, why)
    if args.dry_run:
        for request in plan.requests:
            print(request.label())
        print(_runs(len(plan.requests)) + (f", {absent} of which cannot run here" if absent else ""))
        return Exit.OK
    estimate = planned.fitted.estimate if planned is not None else None
    with Progress(len(plan.requests), estimate=estimate, foreseen=absent) as progress:
        more = (
            _more(planned, plan, args, started, progress, suite)
            if planned and planned.fitted.left_out
            else None
        )
        outcome = run_plan(plan, args.results, progress, more)
        progress.summary(outcome.records, outcome.path)
    if args.report:
        from harness.report.build import build_report

        print(build_report(args.results, args.report))
    return Exit.OK if outcome.all_ok_or_unavailable else Exit.FAILED


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"
