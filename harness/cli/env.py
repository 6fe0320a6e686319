"""``harness env``: the machine, versions and commit a record would carry."""

from __future__ import annotations

import argparse
import json

from harness.cli.exits import Exit
from harness.run import machine


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("env", help="the machine, versions and commit a record would carry")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    info = {
        "machine": machine.machine_info(),
        "versions": machine.package_versions(),
        "git_commit": machine.git_commit(),
    }
    print(json.dumps(info, indent=2))
    return Exit.OK
