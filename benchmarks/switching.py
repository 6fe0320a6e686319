"""What the interleaved schedule costs: per task and implementation, the step time measured
interleaved (with and without the untimed warm-up before each epoch) against the same runs back to
back, the three conditions alternated in a random order per repetition so the machine's drift
falls on all of them alike.

    python benchmarks/switching.py --task digits mnist1d --repeats 3

Prints, per task and implementation, the median over repetitions of interleaved/sequential step
time (and its range): the switching cost the schedule adds, which the warm-up should remove.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.record.derived import step_time_s  # noqa: E402
from harness.store.runs import load  # noqa: E402

CONDITIONS = {
    "sequential": ["--schedule", "sequential"],
    "interleaved": ["--schedule", "interleaved"],
    "interleaved, no warm-up": ["--schedule", "interleaved", "--no-warm-up"],
}


def run_once(task: str, impls: list[str], epochs: int, flags: list[str]) -> dict[str, float]:
    """One harness run of the group; the step time of each implementation."""
    with tempfile.TemporaryDirectory() as folder:
        cmd = [sys.executable, "-m", "harness", "run", "--task", task, "--impl", *impls, "--mode", "default"]
        cmd += ["--seeds", "0", "--epochs", str(epochs), "--no-calibrate", "--results", folder, *flags]
        subprocess.run(cmd, cwd=REPO, check=True, capture_output=True)
        records, _ = load(Path(folder))
        return {r.impl: step_time_s(r) for r in records if r.status == "ok"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", nargs="+", default=["digits", "mnist1d"])
    parser.add_argument("--impl", nargs="+", default=["torch", "jax", "tensorflow", "keras"])
    parser.add_argument("--epochs", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the raw step times here")
    args = parser.parse_args()
    raw: dict[str, dict[str, list[dict[str, float]]]] = {t: {c: [] for c in CONDITIONS} for t in args.task}
    for repeat in range(args.repeats):
        for task in args.task:
            order = list(CONDITIONS)
            random.shuffle(order)
            for condition in order:
                raw[task][condition].append(run_once(task, args.impl, args.epochs, CONDITIONS[condition]))
                print(f"repeat {repeat} {task} {condition}: done", file=sys.stderr)
    for task in args.task:
        print(f"\n{task}: step time against the same runs back to back (median [min, max] of {args.repeats})")
        for impl in args.impl:
            cells = []
            for condition in ("interleaved", "interleaved, no warm-up"):
                ratios = [
                    run[impl] / seq[impl]
                    for run, seq in zip(raw[task][condition], raw[task]["sequential"], strict=True)
                    if impl in run and impl in seq
                ]
                if ratios:
                    cells.append(
                        f"{condition}: {statistics.median(ratios):.2f} [{min(ratios):.2f}, {max(ratios):.2f}]"
                    )
            seq_ms = statistics.median(r[impl] for r in raw[task]["sequential"] if impl in r) * 1e3
            print(f"  {impl:<11} sequential {seq_ms:.3f} ms/step; " + "; ".join(cells))
    if args.json:
        args.json.write_text(json.dumps(raw, indent=1))


if __name__ == "__main__":
    main()
