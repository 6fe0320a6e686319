"""``harness noise``: measure this machine's noise floor (same code, back-to-back runs) and store it."""

from __future__ import annotations

import argparse
import os

from harness.cli import options
from harness.cli.exits import Exit
from harness.cli.progress import Progress
from harness.errors import UsageError
from harness.plan.requests import RunRequest
from harness.plugins import registry
from harness.plugins.registry import ImplInfo
from harness.run import machine
from harness.run.noise import back_to_back, floor_of, step_times
from harness.store.noise import NoiseFloor, save

MIN_COUNT = 3  # runs, and epochs per run: fewer give no spread between runs of steady epochs


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("noise", help="measure this machine's noise floor between back-to-back runs")
    options.add_one_task(p, "mnist1d")
    p.add_argument(
        "--impl",
        default="torch",
        help=f"implementation (default torch): {', '.join(registry.implementations())}",
    )
    p.add_argument(
        "--mode", default="default", help=f"mode (default 'default'): {', '.join(options.modes())}"
    )
    p.add_argument(
        "--epochs", type=options.whole, default=10, help=f"epochs per run (default 10, at least {MIN_COUNT})"
    )
    p.add_argument(
        "--runs", type=options.whole, default=6, help=f"back-to-back runs (default 6, at least {MIN_COUNT})"
    )
    options.add_results(p, "the floor is stored in noise/ there")
    p.set_defaults(func=main)


def check(args: argparse.Namespace) -> ImplInfo:
    """Every value checked before anything runs; the implementation, which can run the mode here."""
    if args.task not in registry.tasks():
        raise UsageError(
            f"--task {args.task}: unknown task {args.task!r}; valid: {', '.join(registry.tasks())}"
        )
    if args.impl not in registry.implementations():
        valid = ", ".join(registry.implementations())
        raise UsageError(f"--impl {args.impl}: unknown implementation {args.impl!r}; valid: {valid}")
    info = registry.get(args.impl)
    if args.mode not in info.declared_modes:
        raise UsageError(f"--mode {args.mode}: {info.name} has no mode {args.mode!r}; its modes: "
                         f"{', '.join(info.declared_modes)}")  # fmt: skip
    for option, value in (("--runs", args.runs), ("--epochs", args.epochs)):
        if value < MIN_COUNT:
            raise UsageError(f"{option} {value}: must be at least {MIN_COUNT}")
    options.check_writable(args.results)
    reason = info.unavailable_reason() or info.mode_reason(args.mode)
    if reason is not None:
        raise UsageError(f"--impl {info.name} --mode {args.mode} cannot run here: {reason}")
    return info


def main(args: argparse.Namespace) -> int:
    info = check(args)
    request = RunRequest(
        args.task, info.name, mode=args.mode, overrides={"epochs": args.epochs}, step_samples=0
    )
    threads = os.cpu_count() or 1
    with Progress(args.runs) as progress:
        records = back_to_back(request, args.runs, threads, progress.start)
    steps = step_times(records)
    if len(steps) < len(records):
        bad = next(r for r in records if r.status != "ok")
        print(f"a run ended {bad.status}: {bad.reason.splitlines()[0] if bad.reason else ''}")
        return Exit.FAILED
    floor = NoiseFloor(
        machine.machine_info()["machine_id"],
        args.task,
        info.name,
        args.mode,
        args.epochs,
        steps,
        floor_of(steps),
    )
    path = save(args.results, floor)
    print("step times: " + ", ".join(f"{s * 1e3:.3f} ms" for s in steps))
    print(f"noise floor: {floor.describe()}\nstored: {path}")
    return Exit.OK
