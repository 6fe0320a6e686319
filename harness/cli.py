"""``python -m harness``: subcommands only. Each parses, calls the library, prints.

Exit status: 0 success, 1 a check failed (regression, failed runs), 2 unusable input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from harness import machine

DEFAULT_RESULTS = machine.REPO_ROOT / "results"
DEFAULT_REPORT = machine.REPO_ROOT / "reports" / "index.html"


class UsageError(Exception):
    """Bad input from the user: printed as ``error: ...`` with exit status 2."""


def _add_list(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="tasks, implementations (with availability), devices, suites")
    p.set_defaults(func=_cmd_list)


def _cmd_list(args: argparse.Namespace) -> int:
    from harness import registry, suites
    from tasks.mlp.spec import TASKS

    print("tasks:", ", ".join(TASKS))
    print("implementations:")
    for info in registry.implementations().values():
        reason = info.unavailable_reason()
        state = "available" if reason is None else f"unavailable: {reason}"
        print(f"  {info.name:<12} {info.framework:<11} {info.api:<11} modes={','.join(info.modes)}  {state}")
        for mode in info.declared_modes:
            if mode not in info.modes:
                reason = info.trainer_class().mode_reason(mode, info.backend)
                print(f"  {'':<12} mode {mode!r} unavailable: {reason}")
    gpu = machine.gpu_reason()
    print("devices:\n  cpu          available")
    print(f"  gpu          {'available' if gpu is None else 'unavailable: ' + gpu}")
    print("suites:", ", ".join(suites.shipped_suites()))
    return 0


def _add_env(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("env", help="the machine, versions and commit a record would carry")
    p.set_defaults(func=_cmd_env)


def _cmd_env(args: argparse.Namespace) -> int:
    info = {
        "machine": machine.machine_info(),
        "versions": machine.package_versions(),
        "git_commit": machine.git_commit(),
    }
    print(json.dumps(info, indent=2))
    return 0


def _add_run(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a suite and/or an explicit selection, storing records")
    p.add_argument("--suite", help="a shipped suite name or a path to a suite TOML file")
    p.add_argument("--task", nargs="+", help="task name(s)")
    p.add_argument("--impl", nargs="+", help="implementation name(s)")
    p.add_argument("--device", nargs="+", help="device(s): cpu, gpu")
    p.add_argument("--mode", nargs="+", help="execution mode(s)")
    p.add_argument("--seeds", nargs="+", type=int, help="seed(s), e.g. --seeds 0 1 2")
    p.add_argument("--epochs", type=int, help="override the number of epochs")
    p.add_argument("--set", nargs="+", default=[], metavar="FIELD=VALUE", help="spec overrides")
    p.add_argument("--threads", type=int, help="threads for every framework (default: all cores)")
    p.add_argument("--timeout", type=float, help="seconds before a run is killed")
    p.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="results directory")
    p.add_argument("--dry-run", action="store_true", help="print the runs, run nothing")
    p.add_argument("--report", type=Path, nargs="?", const=DEFAULT_REPORT, help="then build the report")
    p.add_argument(
        "--no-calibrate", action="store_true", help="skip the machine calibration (no efficiency in records)"
    )
    p.set_defaults(func=_cmd_run)


def _cmd_run(args: argparse.Namespace) -> int:
    from harness import runner, suites

    plan = suites.plan_from_args(args)
    if args.dry_run:
        for request in plan.requests:
            print(request.label())
        print(f"{len(plan.requests)} runs")
        return 0
    plan.calibrate = not args.no_calibrate
    outcome = runner.run_plan(plan, args.results)
    if args.report:
        from harness.report import build_report

        print(build_report(args.results, args.report))
    return 0 if outcome.all_ok_or_unavailable else 1


def _add_calibrate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibrate", help="measure (or show the cached) matmul peak and dispatch cost")
    p.add_argument("--device", nargs="+", default=["cpu"], help="device(s): cpu, gpu")
    p.add_argument("--threads", type=int, help="threads for every framework (default: all cores)")
    p.add_argument("--force", action="store_true", help="measure again even if the cache matches")
    p.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="results directory")
    p.set_defaults(func=_cmd_calibrate)


def _cmd_calibrate(args: argparse.Namespace) -> int:
    import os

    from harness import registry, runner
    from harness.interface import DEVICES

    registry.check_names("device", args.device, DEVICES)
    threads = args.threads if args.threads is not None else os.cpu_count() or 1
    if threads < 1:
        raise UsageError(f"threads must be >= 1, got {threads}")
    path = runner.calibration_file(args.results)
    entries = runner.calibrate(args.device, threads, path, force=args.force)
    print(f"{'engine':<11} {'device':<6} {'threads':>7} {'matmul GFLOP/s':>15} {'dispatch us':>12}  measured")
    for e in entries:
        print(
            f"{e.engine:<11} {e.device:<6} {e.threads:>7} {e.matmul_flops_per_s / 1e9:>15.1f} "
            f"{e.dispatch_median_s * 1e6:>12.1f}  {e.measured_at}"
        )
    print(f"cache: {path}")
    return 0 if entries else 1


def _add_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="build the HTML report from stored records")
    p.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="results directory")
    p.add_argument("--out", type=Path, default=DEFAULT_REPORT, help="HTML file to write")
    p.set_defaults(func=_cmd_report)


def _cmd_report(args: argparse.Namespace) -> int:
    from harness.report import build_report

    summary = build_report(args.results, args.out)
    print(summary)
    return 0


def _add_compare(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="compare current records against a baseline")
    p.add_argument("--baseline", type=Path, help="record file or directory (default: saved baseline)")
    p.add_argument("--current", type=Path, default=DEFAULT_RESULTS / "runs", help="record file or directory")
    p.add_argument("--fail", nargs="+", default=None, metavar="SPEC", help="e.g. step_time:median:10%%")
    p.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="results directory")
    p.add_argument("--allow-other-machine", action="store_true", help="compare across machines")
    p.add_argument("--markdown", type=Path, help="also write a Markdown summary here")
    p.set_defaults(func=_cmd_compare)


def _cmd_compare(args: argparse.Namespace) -> int:
    from harness import compare

    return compare.main(
        baseline=args.baseline,
        current=args.current,
        fail=args.fail,
        results_dir=args.results,
        allow_other_machine=args.allow_other_machine,
        markdown_out=args.markdown,
    )


def _add_baseline(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("baseline", help="manage the committed baseline of this machine")
    bsub = p.add_subparsers(dest="baseline_command", required=True)
    save = bsub.add_parser("save", help="store the current records as this machine's baseline")
    save.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="results directory")
    save.add_argument("--from", dest="source", type=Path, help="records to save (default: latest run)")
    save.set_defaults(func=_cmd_baseline_save)


def _cmd_baseline_save(args: argparse.Namespace) -> int:
    from harness import compare

    path = compare.save_baseline(args.results, args.source)
    print(f"baseline saved: {path}")
    return 0


SUBCOMMANDS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (
    _add_list,
    _add_env,
    _add_run,
    _add_calibrate,
    _add_report,
    _add_compare,
    _add_baseline,
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="python -m harness", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    from harness.calibration import CalibrationError
    from harness.interface import SpecError
    from harness.registry import UnknownName

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (UsageError, UnknownName, SpecError, FileNotFoundError, CalibrationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; records written so far are kept", file=sys.stderr)
        return 130
