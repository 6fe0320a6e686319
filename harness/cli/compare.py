"""``harness compare``: current records against a baseline; exit 1 on a regression."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from harness.cli import compare_view, options
from harness.cli.exits import for_verdict
from harness.compare.check import CheckResult, run_check
from harness.compare.thresholds import Threshold, parse_thresholds
from harness.run import machine
from harness.store import noise
from harness.store.atomic import write_atomic
from harness.store.baselines import find_baseline
from harness.store.runs import select_records


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="compare current records against a baseline")
    p.add_argument("--baseline", type=Path, help="record file or directory (default: saved baseline)")
    p.add_argument("--current", type=Path, help="record file or directory (default: the runs/ of --results)")
    p.add_argument(
        "--fail",
        action=options.Several,
        nargs="+",
        default=None,
        metavar="SPEC",
        help="e.g. step_time:median:10%%",
    )
    options.add_results(p, "its runs/ are the current records and its baselines/ the saved baseline")
    p.add_argument("--allow-other-machine", action="store_true", help="compare across machines")
    p.add_argument("--markdown", type=options.output_file, help="also write a Markdown summary here")
    p.set_defaults(func=main)


def print_result(result: CheckResult) -> None:
    """The sources, the table, the thresholds, the flagged rows and the unmatched pairs."""
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=180)
    before, after = compare_view.terminal_lines(result)
    for line in before:
        console.print(line, soft_wrap=True)
    console.print(compare_view.render_table(result.rows, result.unmatched))
    for line in after:
        console.print(line, soft_wrap=True)


def noise_warnings(floor: noise.NoiseFloor | None, thresholds: list[Threshold]) -> list[str]:
    """A warning for every timing limit below the machine's noise floor."""
    if floor is None:
        return []
    return [
        f"{t.spec} is below this machine's noise floor, {floor.describe()}: a same-code run can cross it"
        for t in thresholds
        if t.metric != "test_accuracy" and t.limit < floor.floor
    ]


def main(args: argparse.Namespace) -> int:
    thresholds = parse_thresholds(args.fail)
    info = machine.machine_info()
    baseline = args.baseline or find_baseline(args.results, info["machine_id"], info["fingerprint"])
    result = run_check(
        select_records(baseline, info["machine_id"]),
        select_records(args.current or args.results / "runs", info["machine_id"]),
        thresholds,
        args.allow_other_machine,
    )
    floor = noise.load(args.results, info["machine_id"])
    result.warnings += noise_warnings(floor, thresholds)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print_result(result)
    print(f"noise floor of this machine: {floor.describe() if floor else 'not measured (run harness noise)'}")
    print(compare_view.verdict_line(result))
    if args.markdown is not None:
        markdown = compare_view.render_markdown(result.rows, result.unmatched, result.sources)
        write_atomic(args.markdown, markdown.encode("utf-8"))
    return for_verdict(result.verdict)
