"""The entry point: the parser with every subcommand (:data:`SUBCOMMANDS`, one module each), and
:func:`main`, which runs the one asked for and maps the errors a user can cause to exit status 2."""

from __future__ import annotations

import argparse
import sys

from harness.cli import (
    ab,
    baseline,
    bisect,
    calibrate,
    compare,
    env,
    history,
    listing,
    merge,
    noise,
    predict,
    report,
    run,
)
from harness.cli.exits import Exit
from harness.errors import UsageError
from harness.plugins import registry

SUBCOMMANDS = (
    listing,
    env,
    run,
    calibrate,
    report,
    compare,
    baseline,
    ab,
    bisect,
    noise,
    history,
    merge,
    predict,
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="python -m harness",
        description="Train the same MLP classification task in every framework, time it, and compare: "
        "run a suite, report it as HTML, compare against a baseline, gate a change A/B, bisect a slowdown, "
        "track history.",
        epilog=f"tasks: {', '.join(registry.tasks())}; implementations: "
        f"{', '.join(registry.implementations())}. 'python -m harness COMMAND --help' lists a command's "
        "options. Exit status: 0 ok; 1 a check failed (a regression, a run that did not finish); 2 unusable "
        "input; 3 a check could not tell (never a pass); 130 interrupted.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for module in SUBCOMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (UsageError, FileNotFoundError, OSError, UnicodeDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return Exit.USAGE
    except KeyboardInterrupt:
        print("interrupted; records written so far are kept", file=sys.stderr)
        return Exit.INTERRUPTED
