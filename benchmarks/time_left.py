"""How true a run's "time left" was: reads the plain progress lines of a ``harness run`` log (as a
CI log shows them) and, knowing when the run really ended, scores every line after the first
minute: within 25% of the real time left, or within 30 s of it (the issue's bar: 90% of lines).

    python benchmarks/time_left.py LOG --total SECONDS [--after 60]

``--total``: the seconds from the progress clock's start to the end of the command (e.g. from
``/usr/bin/time``, less what came before the first progress line), or ``--end-line`` to take the
last progress line's elapsed time plus ``--tail`` seconds.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

LINE = re.compile(
    r"^\[(\d+)/(\d+) runs\] (?P<elapsed>\S+) elapsed, (?:about (?P<left>\S+) left|time left unknown)"
)


def seconds(text: str) -> float:
    """``1h02m``, ``3m05s``, ``42s`` -> seconds."""
    found = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text)
    if not found:
        raise ValueError(text)
    h, m, s = (int(g) if g else 0 for g in found.groups())
    return 3600 * h + 60 * m + s


def score(lines: list[str], total_s: float, after_s: float = 60.0) -> tuple[int, int, list[str]]:
    """(good lines, lines scored, the bad ones in words)."""
    good, scored, bad = 0, 0, []
    for line in lines:
        found = LINE.match(line)
        if not found:
            continue
        elapsed = seconds(found["elapsed"])
        if elapsed < after_s:
            continue
        scored += 1
        real = total_s - elapsed
        said = seconds(found["left"]) if found["left"] else float("inf")
        if abs(said - real) <= max(0.25 * real, 30.0):
            good += 1
        else:
            bad.append(f"at {elapsed:.0f} s: said {said:.0f} s left, really {real:.0f} s")
    return good, scored, bad


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", type=Path)
    parser.add_argument(
        "--total", type=float, required=True, help="seconds from the progress start to the end"
    )
    parser.add_argument("--after", type=float, default=60.0)
    args = parser.parse_args(argv)
    good, scored, bad = score(args.log.read_text().splitlines(), args.total, args.after)
    print(
        f"{good} of {scored} progress lines after {args.after:.0f} s within 25% or 30 s of the real time "
        f"left ({good / max(1, scored):.0%})"
    )
    for line in bad:
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
