"""Does a worker process have a speed of its own? K identical runs (same implementation, task, seed
and spec), each in a worker process of its own, interleaved as the harness interleaves a group (a
fresh random order every round), so that every round holds one epoch of each in the same minute;
then again with K fresh processes, ``--groups`` times.

If processes were interchangeable, each process's paired ratio to the group's median would differ
from 1 only by round-to-round noise; a spread of the processes' ratios beyond that noise is a speed
each process keeps for its life (where its buffers landed, its pages, its threads' cores). The A/A
twin is one such pair of processes for a whole bench, so it would carry that difference into every
group it serves.

    python benchmarks/process_effect.py [--impl torch] [--task mnist1d] [--processes 4]
        [--groups 3] [--epochs 20]

Prints per group and process the median paired log ratio to the group (as a ratio) with its
standard error over rounds, and a one-way split: the variance between processes against what the
rounds' noise alone would give (an F ratio with its p-value).

Measured 2026-12-03 (AMD EPYC, 2 cores, torch's calibrated matmul 163 GFLOP/s), mnist1d, four fresh
processes a group: torch, 60 epochs, three groups: every process within 1.00 +- 0.031 of its group,
F 0.1, 1.3, 2.2 (p 0.94, 0.27, 0.087); tensorflow, 40 epochs, two groups: within 0.98-1.02, F 0.5,
0.6. No speed a process keeps for its life shows at this resolution (a standard error of 1.4-2.5%
per process): identical code in processes interleaved in the same minutes reads 1.00. numpy
(same machine, 2026-12-03, torch 186 GFLOP/s): digits, 30 epochs, three groups: within 0.98-1.04,
F 8.5 (p 4e-05: the widest 2%), 0.8, 1.0; MNIST, 12 epochs, two groups: within 0.98-1.05, F 1.6,
0.6, although identical numpy processes run one after the other read up to 1.8x apart that day.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from harness.plan.requests import RunRequest  # noqa: E402
from harness.record.derived import round_steps_s  # noqa: E402
from harness.run.schedule import Group, Pool  # noqa: E402
from harness.run.worker_client import Checkout  # noqa: E402


def one_group(
    impl: str, task: str, processes: int, epochs: int, threads: int, seed: int
) -> list[dict[int, float]]:
    """``processes`` identical runs, each in a fresh worker, interleaved; each run's seconds per
    step by round."""
    sides = [f"p{i}" for i in range(processes)]
    pool = Pool(threads, {side: Checkout() for side in sides})
    request = RunRequest(task=task, impl=impl, overrides={"epochs": epochs}, step_samples=0, eval_repeats=1)
    try:
        group = Group([(side, request) for side in sides], pool, "interleaved", random.Random(seed))
        with contextlib.redirect_stdout(io.StringIO()):
            records = group.run()
    finally:
        pool.close()
    bad = [r for r in records if r.status != "ok"]
    if bad:
        raise SystemExit(f"{impl} on {task}: a run ended {bad[0].status}: {bad[0].reason}")
    return [round_steps_s(r) for r in records]


def analyse(runs: list[dict[int, float]]) -> tuple[list[tuple[float, float]], float, float]:
    """Per process: the mean log ratio to the round's median over processes, and its standard error;
    the F ratio of between-process to within (round) variance of those log ratios, and its p."""
    from scipy import stats

    rounds = sorted(set.intersection(*(set(r) for r in runs)))
    logs = np.log(np.array([[r[k] for k in rounds] for r in runs]))  # process x round
    centred = logs - np.median(logs, axis=0)
    means = centred.mean(axis=1)
    within = centred - means[:, None]
    n_p, n_r = centred.shape
    ms_within = (within**2).sum() / (n_p * (n_r - 1))
    ms_between = n_r * ((means - means.mean()) ** 2).sum() / (n_p - 1)
    f = ms_between / ms_within
    p = float(stats.f.sf(f, n_p - 1, n_p * (n_r - 1)))
    se = np.sqrt(ms_within / n_r)
    return [(float(np.exp(m)), float(se)) for m in means], float(f), p


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", default="torch")
    parser.add_argument("--task", default="mnist1d")
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--groups", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    for g in range(args.groups):
        runs = one_group(args.impl, args.task, args.processes, args.epochs, args.threads, seed=g)
        per_process, f, p = analyse(runs)
        words = ", ".join(f"{ratio:.3f} (se {se:.3f})" for ratio, se in per_process)
        print(
            f"group {g + 1} ({args.processes} fresh processes): each over the group: {words}; "
            f"F {f:.1f}, p {p:.2g}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
