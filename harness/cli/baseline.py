"""``harness baseline save``: store a run as this machine's committed baseline."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli import options
from harness.cli.exits import Exit
from harness.run import machine
from harness.store.baselines import save_baseline


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("baseline", help="manage the committed baseline of this machine")
    bsub = p.add_subparsers(dest="baseline_command", required=True)
    save = bsub.add_parser("save", help="store the current records as this machine's baseline")
    options.add_results(save)
    save.add_argument("--from", dest="source", type=Path, help="records to save (default: latest run)")
    save.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    path = save_baseline(args.results, args.source, machine.machine_info()["machine_id"])
    print(f"baseline saved: {path}")
    return Exit.OK
