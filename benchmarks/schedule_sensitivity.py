"""What the interleaved schedule does to each implementation's speed, per task: every
implementation of a task in one interleaved group, each round a block of epochs per run, and per
round the block's first epoch (after the pause, while the other runs trained) over its other epochs
(each right after an epoch of the same run): :func:`harness.compare.paired.schedule_sensitivity`,
the figure the test suite holds to 1.25 on mnist1d (``tests/tasks/test_schedule_sensitivity.py``).

    python benchmarks/schedule_sensitivity.py [--task iris digits mnist1d mnist] [--rounds 8]

Prints, per task and implementation, the mean ratio with its 95% interval, the rounds it rests on,
and ``FAIL`` when its interval lies wholly above the limit; ``--json`` keeps every per-round
ratio. Exit 1 when any fails.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.compare.paired import SENSITIVITY_LIMIT, describe, schedule_sensitivity, schedule_slows  # noqa: E402
from harness.record.derived import is_twin, pause_ratios  # noqa: E402
from harness.store.runs import load  # noqa: E402

BLOCK = 3


def measure(task: str, impls: list[str], rounds: int, seeds: list[int]) -> dict[str, list[dict[int, float]]]:
    """One harness run of ``task``'s group(s); each implementation's per-round pause ratios."""
    with tempfile.TemporaryDirectory() as folder:
        epochs = (rounds + 1) * BLOCK  # the first round (its first epoch compiles) gives no ratio
        cmd = [sys.executable, "-m", "harness", "run", "--task", task, "--mode", "default"]
        cmd += ["--impl", *impls] if impls else []
        cmd += ["--seeds", *map(str, seeds), "--epochs", str(epochs), "--epochs-per-round", str(BLOCK)]
        cmd += ["--no-calibrate", "--results", folder]
        subprocess.run(cmd, cwd=REPO, check=True, capture_output=True)
        records, _ = load(Path(folder))
    out: dict[str, list[dict[int, float]]] = {}
    for record in records:
        if record.status == "ok" and not is_twin(record):
            out.setdefault(record.impl, []).append(pause_ratios(record))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", nargs="+", default=["iris", "digits", "mnist1d", "mnist"])
    parser.add_argument("--impl", nargs="+", default=[], help="default: every implementation")
    parser.add_argument("--rounds", type=int, default=8, help="steady rounds of 3-epoch blocks")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--json", type=Path, help="also write every per-round ratio here")
    args = parser.parse_args()
    failed = False
    raw: dict[str, dict[str, list[dict[int, float]]]] = {}
    for task in args.task:
        raw[task] = measure(task, args.impl, args.rounds, args.seeds)
        print(
            f"\n{task}: epoch after the pause / epoch after an epoch (mean, 95% interval, rounds;"
            f" FAIL when the interval lies above {SENSITIVITY_LIMIT})"
        )
        for impl, runs in raw[task].items():
            found = schedule_sensitivity(runs)
            bad = found is not None and schedule_slows(found)
            failed |= bad
            rounds = found.n_rounds if found else 0
            print(f"  {impl:<12} {describe(found)}  {rounds} rounds{'  FAIL' if bad else ''}")
    if args.json:
        args.json.write_text(json.dumps(raw, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
