"""``harness calibrate``: measure (or show the cached) matmul peak and dispatch cost per engine."""

from __future__ import annotations

import argparse
import os
import sys

from harness.cli import options
from harness.cli.exits import Exit
from harness.errors import UnknownName, UsageError, check_names
from harness.problem.train_spec import DEVICES
from harness.run import calibration


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibrate", help="measure (or show the cached) matmul peak and dispatch cost")
    p.add_argument("--device", action=options.Several, nargs="+", help="device(s): cpu, gpu (default: cpu)")
    options.add_threads(p)
    p.add_argument("--force", action="store_true", help="measure again even if the cache matches")
    options.add_results(p, "the cache is calibration/<machine>.json there")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    args.device = args.device or ["cpu"]  # a default list would be extended, not replaced
    try:
        check_names("device", args.device, DEVICES)
    except UnknownName as exc:
        raise UsageError(f"--device {' '.join(args.device)}: {exc}") from None
    threads = args.threads if args.threads is not None else os.cpu_count() or 1
    options.warn(options.machine_warnings(args.threads, args.device, "the calibration"))
    path = calibration.cache_file(args.results)
    options.check_writable(path.parent, "the calibration cache's folder")
    entries = calibration.calibrate(
        args.device, threads, path, force=args.force, log=lambda m: print(m, file=sys.stderr)
    )
    print(f"{'engine':<11} {'device':<6} {'threads':>7} {'matmul GFLOP/s':>15} {'dispatch us':>12}  measured")
    for e in entries:
        print(
            f"{e.engine:<11} {e.device:<6} {e.threads:>7} {e.matmul_flops_per_s / 1e9:>15.1f} "
            f"{e.dispatch_median_s * 1e6:>12.1f}  {e.measured_at}"
        )
    print(f"cache: {path}")
    return Exit.OK if entries else Exit.FAILED
