"""``harness report``: build the HTML report from stored records."""

from __future__ import annotations

import argparse

from harness.cli import options
from harness.cli.exits import Exit
from harness.cli.paths import DEFAULT_REPORT


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="build the HTML report from stored records")
    options.add_results(p)
    p.add_argument(
        "--out",
        type=options.output_file,
        default=DEFAULT_REPORT,
        help=f"HTML file to write (default: {DEFAULT_REPORT})",
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--commit",
        help="the tables answer for this commit's records (a prefix; default: each machine's newest commit)",
    )
    which.add_argument("--run", help="the tables answer for this record file's records (its name or stem)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from harness.report.build import build_report  # matplotlib and seaborn: not for --help

    print(build_report(args.results, args.out, args.commit, args.run))
    return Exit.OK
