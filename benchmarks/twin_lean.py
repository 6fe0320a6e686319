"""Which way a bench's A/A twins lean, and three suspects for why, read from its records.

    python benchmarks/twin_lean.py RESULTS_DIR

Prints:

- per group, the twin's steady step over its original's, paired per round (``round_steps_s``), and
  the median over every round (identical code should read 1.00);
- the same split by whether the twin ran before or after its original in the round;
- every run's step against its own median by its place in the round, first to last (a slope that
  would favour whoever runs late);
- every run's step after another run of the same engine earlier in the round against before any
  (libraries shared between processes left warm).

Read 2026-12-03 on the clean-clone default bench (AMD EPYC, 2 cores, torch's matmul 163 GFLOP/s):
median 0.980 over 88 rounds, seven groups below 1 and five above, the twin 1.070 before its
original and 0.929 after; place x0.974 (se of the log 0.020); same engine x0.996 (0.013). On
``tests/data/records_default`` (an older default bench): 1.000 over 107 rounds, 1.013 and 0.997,
x1.003 (0.008), x0.996 (0.006).
Since twin and original take turns being first (29eb0f7), the default bench of 2026-12-03: 0.964
over 94 rounds, 0.980 before and 0.981 after; x1.007 (0.017); x1.000 (0.012).
2026-12-04 (AMD EPYC, 2 cores, calibrated 202 GFLOP/s): the clean-clone bench 0.938 over 88 rounds;
mnist1d alone, nine seeds of 60 rounds (``python -m harness run --task mnist1d --seeds 0 1 2 3 4 5 6
7 8 --device cpu --no-budget``) 0.972 over 531, seven of nine groups below 1; the same with the twin
started and built first 0.973 over 236; five implementations and the twin 1.000 over 177.
"""

from __future__ import annotations

import argparse
import collections
import math
import statistics
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from harness.record.derived import round_steps_s  # noqa: E402
from harness.record.schema import RunRecord  # noqa: E402
from harness.store.runs import load  # noqa: E402


def _rounds(group: list[RunRecord]) -> dict[int, list[RunRecord]]:
    """Each round's runs in the order they trained (their epochs' recorded start)."""
    starts = {
        r.run_id: dict(zip(r.timings.epoch_rounds, r.timings.epoch_started_at, strict=False)) for r in group
    }
    rounds = sorted(set().union(*(set(s) for s in starts.values())))
    return {
        k: sorted((r for r in group if k in starts[r.run_id]), key=lambda r: starts[r.run_id][k])
        for k in rounds
    }


def _gm(logs: list[float]) -> str:
    return f"{math.exp(statistics.mean(logs)):.3f} ({len(logs)})" if logs else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    args = parser.parse_args(argv)
    records = [
        r for r in load(args.results)[0] if r.status == "ok" and r.execution.get("schedule") == "interleaved"
    ]
    groups: dict[str, list[RunRecord]] = collections.defaultdict(list)
    for record in records:
        groups[record.execution["group"]].append(record)
    steps = {r.run_id: round_steps_s(r) for r in records}
    by_id = {r.run_id: r for r in records}
    every, before, after = [], [], []
    place_x, place_y = [], []
    same_engine: dict[bool, list[float]] = {True: [], False: []}
    for group in groups.values():
        rounds = _rounds(group)
        for twin in [r for r in group if r.execution.get("twin")]:
            original = by_id.get(twin.execution.get("twin_of", ""))
            if original is None:
                continue
            ratios = []
            for k, order in rounds.items():
                if (
                    k in steps[twin.run_id]
                    and k in steps[original.run_id]
                    and original in order
                    and twin in order
                ):
                    log = math.log(steps[twin.run_id][k] / steps[original.run_id][k])
                    ratios.append(log)
                    (before if order.index(twin) < order.index(original) else after).append(log)
            every += ratios
            if ratios:
                median = math.exp(statistics.median(ratios))
                print(
                    f"{twin.task:<8} seed {twin.seed}: twin / original {median:.3f} over {len(ratios)} rounds"
                )
        for k, order in rounds.items():
            for place, run in enumerate(order):
                if k not in steps[run.run_id]:
                    continue
                log = math.log(steps[run.run_id][k] / statistics.median(steps[run.run_id].values()))
                place_x.append(place / max(1, len(order) - 1))
                place_y.append(log)
                engine = run.execution.get("engine", run.impl)
                warm = any(p.execution.get("engine", p.impl) == engine for p in order[:place])
                same_engine[warm].append(log)
    if every:
        median = math.exp(statistics.median(every))
        print(f"all groups: twin / original median {median:.3f} over {len(every)} rounds")
        print(f"twin before its original {_gm(before)}, after it {_gm(after)} (geometric means, rounds)")
    x, y = np.asarray(place_x), np.asarray(place_y)
    if len(x) > 2:
        slope, icept = np.polyfit(x, y, 1)
        se = math.sqrt(float(np.var(y - (slope * x + icept))) / float(((x - x.mean()) ** 2).sum()))
        print(
            f"first to last place in a round: x{math.exp(slope):.3f} (se of the log {se:.3f}, {len(x)} rows)"
        )
    a, b = same_engine[True], same_engine[False]
    if len(a) > 1 and len(b) > 1:
        se = math.sqrt(statistics.variance(a) / len(a) + statistics.variance(b) / len(b))
        diff = math.exp(statistics.mean(a) - statistics.mean(b))
        print(f"after a run of the same engine in the round: x{diff:.3f} (se of the log {se:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
