"""``harness merge``: the result trees of a plan's shards into one results folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli import options
from harness.cli.exits import Exit
from harness.store.merge import merge


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("merge", help="merge the results of a plan's shards (one file per machine)")
    p.add_argument("sources", nargs="+", type=Path, help="shard result folders or files")
    options.add_results(p, "where the merged records are written (runs/ below it)")
    p.add_argument(
        "--name",
        type=options.file_word,
        default="merged",
        help="the merged run files' suffix: letters, digits, '.', '_' or '-' (default: merged)",
    )
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    for path in merge(args.sources, args.results, args.name):
        print(f"merged: {path}")
    return Exit.OK
