"""``harness ab``: the A/B gate between two checkouts or environments, measured interleaved.

Exit status: 0 pass, 1 regression, 2 unusable input (nothing run), 3 cannot tell.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.cli import gate_view, options
from harness.cli.exits import for_verdict
from harness.cli.progress import Progress
from harness.compare.gate import GateResult, GateRule, decide
from harness.errors import UsageError
from harness.plan.budget import Estimate, Phase
from harness.plan.requests import RunRequest
from harness.plan.suites import Selection, plan_for
from harness.record.keys import RunKey, run_key
from harness.record.schema import RunRecord
from harness.run import ab, machine, planning
from harness.run.timing import quiet_wait_limit
from harness.store.atomic import write_atomic
from harness.store.runs import AB_DIR, RecordWriter


def _env(option: str, items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name or "\0" in item:
            raise UsageError(f"{option} {item!r}: expected NAME=VALUE, e.g. {option} OMP_NUM_THREADS=1")
        out[name] = value
    return out


def add_gate_options(p: argparse.ArgumentParser, budget_of: str = "the whole gate") -> None:
    """The options of one A/B decision, shared by ``ab`` and each step of ``bisect``: the gated
    runs, how much is measured (``budget_of``: what ``--budget`` bounds), the rule, the threads,
    the results folder."""
    p.add_argument("--suite", default="ab", help="the gated runs: " + options.suite_help("ab"))
    options.add_selection(p, narrow="the gated runs")
    p.add_argument(
        "--pairs",
        type=options.positive,
        default=4,
        help="fresh process pairs before the first decision (default 4)",
    )
    p.add_argument(
        "--max-pairs",
        type=options.positive,
        default=10,
        help="while a run cannot be decided, add process pairs one at a time up to this many (default 10; "
        "each added pair is another look, paid for with a stricter interval for a regression)",
    )
    p.add_argument(
        "--budget",
        type=options.seconds,
        default=600.0,
        help=f"seconds {budget_of} may take, its first pairs included (default 600): the first pairs' "
        "rounds are cut, from --rounds down to 4, to fit 70%% of it as predicted on this machine, and a pair "
        "is added while undecided only if it is predicted to end within it",
    )
    p.add_argument("--rounds", type=options.positive, default=25, help="rounds per process pair (default 25)")
    p.add_argument(
        "--epochs-per-round",
        type=options.positive,
        default=4,
        help="epochs of a run in one round (default 4)",
    )
    p.add_argument(
        "--threshold",
        type=options.percent,
        default=GateRule.threshold,
        help="step-time regression limit (default 4%%)",
    )
    p.add_argument(
        "--margin", type=options.percent, default=None, help="significance margin (default: threshold / 2.5)"
    )
    p.add_argument(
        "--accuracy-drop",
        type=options.unit_interval,
        default=0.01,
        help="test accuracy drop limit, from 0 to 1 (default 0.01)",
    )
    options.add_threads(p)
    p.add_argument("--timeout", type=options.seconds, help="seconds before a run is killed")
    options.add_results(p, "records go to ab/ there")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ab", help="A/B gate: baseline vs candidate checkout, interleaved; exit 1 on a regression"
    )
    p.add_argument("--baseline", default="HEAD", help="git revision or checkout path (default: HEAD)")
    p.add_argument(
        "--candidate", default=".", help="git revision or checkout path (default: this working tree)"
    )
    for side in ab.SIDES:
        p.add_argument(f"--{side}-python", default="", help=f"the Python of the {side} (default: this one)")
        p.add_argument(
            f"--{side}-env",
            action=options.Several,
            nargs="+",
            default=[],
            metavar="NAME=VALUE",
            help=f"{side} environment",
        )
    add_gate_options(p)
    p.add_argument(
        "--markdown",
        type=options.output_file,
        help="also write a Markdown summary here (e.g. $GITHUB_STEP_SUMMARY)",
    )
    p.set_defaults(func=main)


def _plan(args: argparse.Namespace) -> ab.GatePlan:
    selection = Selection(
        suite=args.suite,
        tasks=args.task,
        impls=args.impl,
        devices=args.device,
        modes=args.mode,
        seeds=[0],  # the pair index replaces the seed
        timeout_s=args.timeout,
        twin="",  # the gate's two sides are each other's comparison; no A/A twin
    )
    # One request per gated run (the gate decides per run): a suite that lists a run in several
    # tables or seeds (the default suite: digits torch three times) would measure it again as itself.
    unique: dict[RunKey, RunRequest] = {}
    for request in plan_for(selection).requests:
        unique.setdefault(run_key(request), request)
    requests = list(unique.values())
    threads = args.threads or os.cpu_count() or 1  # as `harness run`: every framework gets every core
    seed = int.from_bytes(os.urandom(4), "little")
    max_pairs = max(args.pairs, args.max_pairs)
    return ab.GatePlan(
        requests, args.pairs, args.rounds, args.epochs_per_round, threads, seed, max_pairs, args.budget
    )


def check_gate(args: argparse.Namespace) -> float:
    """The gate's own options (:func:`add_gate_options`) checked before anything starts; the
    significance margin."""
    quiet_wait_limit()  # a bad $MLPBENCH_QUIET_WAIT_S: exit 2 here, not in every worker
    margin = args.margin if args.margin is not None else args.threshold / 2.5
    if margin >= args.threshold:
        raise UsageError(f"--margin {margin:.1%} must be below --threshold {args.threshold:.1%}")
    if args.rounds < 2:
        raise UsageError(
            f"--rounds {args.rounds}: a paired interval needs 2 rounds or more; the smallest: --rounds 2"
        )
    if args.pairs < 2 and args.max_pairs < 2:
        raise UsageError(
            f"--pairs {args.pairs} --max-pairs {args.max_pairs}: one process pair cannot tell a side from "
            "its process start (nor accuracy, one seed a side); the smallest: --max-pairs 2"
        )
    options.check_writable(args.results)
    return margin


def check(args: argparse.Namespace) -> tuple[float, dict[str, ab.SideSpec]]:
    """Every value checked before anything starts: the significance margin and the two sides."""
    margin = check_gate(args)
    return margin, {
        side: ab.SideSpec(
            side,
            getattr(args, side),
            getattr(args, f"{side}_python"),
            _env(f"--{side}-env", getattr(args, f"{side}_env")),
        )
        for side in ab.SIDES
    }


def warnings(args: argparse.Namespace) -> list[str]:
    """Values that are valid but will not do what they say."""
    out = options.machine_warnings(args.threads, args.device, "the gated runs")
    if args.pairs > args.max_pairs:
        out.append(
            f"--pairs {args.pairs} is above --max-pairs {args.max_pairs}: the gate runs {args.pairs} pairs"
        )
    return out


@dataclass(frozen=True)
class Fitted:
    """A gate ready to measure: its plan fitted to the budget, each first pair's predicted
    seconds, and its rule."""

    plan: ab.GatePlan
    each_s: float
    rule: GateRule


def fit(args: argparse.Namespace, margin: float, started: float) -> Fitted:
    """The gate's plan fitted to ``--budget`` on this machine (said on stderr) and its rule;
    :class:`~harness.plan.budget.BudgetTooSmall` (exit 2) when it cannot fit."""
    plan = _plan(args)
    options.warn(warnings(args))
    model = planning.cost_model(args.results, planning.cached_entries(args.results, plan.threads))
    asked = (plan.pairs, plan.rounds)
    plan, each_s = ab.fit_gate(plan, model, os.cpu_count() or 1, time.monotonic() - started)
    cut = (
        f" (cut from {asked[0]} of {asked[1]} to fit the budget)"
        if (plan.pairs, plan.rounds) != asked
        else ""
    )
    print(f"gate plan: {plan.pairs} process pairs of {plan.rounds} rounds{cut}, predicted {each_s:.0f} s "
          f"each; up to {plan.most_pairs - plan.pairs} more while undecided, each only if it ends within "
          f"the {plan.budget_s:.0f} s budget (rates: {model.source})", file=sys.stderr)  # fmt: skip
    looks = 1 + plan.most_pairs - plan.pairs
    return Fitted(plan, each_s, GateRule(args.threshold, margin, args.accuracy_drop, looks=looks))


def gate(
    fitted: Fitted, sides: Mapping[str, ab.Side], results: Path, started: float
) -> tuple[GateResult, list[RunRecord], Path]:
    """One A/B decision (``ab``'s, or a ``bisect`` step's): the first process pairs of both
    sides, then one pair more while some run cannot be decided, within the budget counted from
    ``started``; every record stored under ``results`` as its pair ends. The decision, the
    records and their file."""
    plan = fitted.plan
    info = machine.machine_info()
    label = f"{sides['baseline'].commit[:8] or 'base'}-vs-{sides['candidate'].commit[:8] or 'cand'}"
    writer = RecordWriter(results, info["machine_id"], sides["candidate"].commit, label, kind=AB_DIR)
    total = plan.pairs * len(plan.requests) * 2
    estimate = Estimate([Phase(ab.pair_phase(k), fitted.each_s) for k in range(plan.pairs)])
    with Progress(total, estimate=estimate) as progress:

        def store(k: int, records: list) -> None:
            for record in records:
                writer.append(record)
                progress.done(record)

        def undecided(records: list) -> set:
            return decide(records, fitted.rule).undecided_runs

        records = ab.measure(
            plan, sides, store, progress.start, undecided, progress.grow, started, progress.phase
        )
    return decide(records, fitted.rule), records, writer.path


def main(args: argparse.Namespace) -> int:
    started = time.monotonic()
    margin, specs = check(args)
    fitted = fit(args, margin, started)
    with contextlib.ExitStack() as stack:
        sides = {name: ab.resolve(spec, stack) for name, spec in specs.items()}
        result, records, path = gate(fitted, sides, args.results, started)
    result.sides = {name: side.describe() for name, side in sides.items()}
    pairs = len({r.provenance.get("ab_pair") for r in records})
    print(gate_view.gate_text(result, pairs, fitted.plan.rounds))
    print(f"records: {path}", file=sys.stderr)
    if args.markdown is not None:
        write_atomic(
            args.markdown, gate_view.gate_markdown(result, pairs, fitted.plan.rounds).encode("utf-8")
        )
    return for_verdict(result.verdict)
