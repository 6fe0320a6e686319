"""``harness list``: tasks, implementations (availability and unrunnable modes), devices, suites."""

from __future__ import annotations

import argparse

from harness.cli.exits import Exit
from harness.plan import suites
from harness.plugins import registry
from harness.run import machine


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="tasks, implementations (with availability), devices, suites")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    print("tasks:", ", ".join(registry.tasks()))
    print("implementations:")
    for info in registry.implementations().values():
        reason = info.unavailable_reason()
        state = "available" if reason is None else f"unavailable: {reason}"
        print(f"  {info.name:<12} {info.framework:<11} {info.api:<11} modes={','.join(info.modes)}  {state}")
        for mode in info.declared_modes:
            if mode not in info.modes:
                print(f"  {'':<12} mode {mode!r} unavailable: {info.mode_reason(mode)}")
    gpu = machine.gpu_reason()
    print("devices:\n  cpu          available")
    print(f"  gpu          {'available' if gpu is None else 'unavailable: ' + gpu}")
    print("suites:", ", ".join(suites.shipped_suites()))
    return Exit.OK
