"""How often each check is fooled on this machine: the A/B gate (interleaved) and the
stored-baseline ``compare`` (two result sets run one after the other), side by side.

    python tests/benchmarks/gate_validation.py record --out /tmp/gate.json   # ~25 min of machine time
    python tests/benchmarks/gate_validation.py evaluate /tmp/gate.json

``record`` measures one run (mnist1d, torch, default mode) three ways:

- *A/B gate series*: ``harness ab`` with this checkout on both sides, ``PAIRS`` fresh process pairs
  of ``ROUNDS`` rounds each (4 epochs per round), for a candidate with no fault (A/A) and with a
  proportional slowdown inside its timed region of 5% and of 10% (``MLPBENCH_FAULT=slow:F``);
- *stored-baseline series*: ``RUNS`` whole ``harness run --schedule sequential`` runs back to back,
  alternating blocks of three plain runs and three slowed ones (5% and 10%), as two result sets
  recorded at different times are.

``evaluate`` turns each long series into many decisions of the size the checks take by default:
a gate decision draws 4 of the pairs (without replacement) and, in each, a window of 25
consecutive rounds at a random offset, and applies the gate's rule (5% limit, 2% margin); a
compare decision takes three consecutive plain runs as the baseline and the next three runs of
the condition (plain, or slowed) recorded after them as the current side, and applies compare's
default rule (step_time:median:10%; ``regressed`` only). Decisions drawn from one series share
data, so the rates are estimates from one recording on this machine, not independent trials.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from harness.compare.check import REGRESSED, compare_records  # noqa: E402
from harness.compare.gate import REGRESSION, GateRule  # noqa: E402
from harness.compare.paired import paired_ratio  # noqa: E402
from harness.compare.thresholds import parse_thresholds  # noqa: E402
from harness.record.derived import round_steps_s  # noqa: E402
from harness.record.schema import RunRecord  # noqa: E402
from harness.store.runs import load  # noqa: E402

RUN = ["--task", "mnist1d", "--impl", "torch", "--mode", "default"]
PAIRS, ROUNDS, EPOCHS_PER_ROUND = 6, 60, 4
RUNS = 36  # per slowdown: 6 blocks of 3 plain and 3 slowed runs
SLOWDOWNS = (0.0, 0.05, 0.10)
GATE_PAIRS, GATE_ROUNDS = 4, 25


def _harness(*argv: str, env: dict[str, str] | None = None) -> None:
    import os

    subprocess.run([sys.executable, "-m", "harness", *argv], cwd=REPO, env={**os.environ, **(env or {})},
                   check=False, capture_output=True)  # fmt: skip


def record_gate(slowdown: float) -> list[dict[str, list[float]]]:
    """One long ``harness ab`` series: per pair, each side's per-round step times."""
    with tempfile.TemporaryDirectory() as folder:
        argv = [
            "ab",
            *RUN,
            "--baseline",
            ".",
            "--candidate",
            ".",
            "--pairs",
            str(PAIRS),
            "--rounds",
            str(ROUNDS),
        ]
        argv += ["--epochs-per-round", str(EPOCHS_PER_ROUND), "--results", folder]
        if slowdown:
            argv += ["--candidate-env", f"MLPBENCH_FAULT=slow:{slowdown}"]
        _harness(*argv)
        records, _ = load(Path(folder) / "ab")
    pairs: dict[int, dict[str, list[float]]] = {}
    for r in records:
        steps = round_steps_s(r)
        pairs.setdefault(r.execution["ab_pair"], {})[r.execution["side"]] = [steps[k] for k in sorted(steps)]
    return [pairs[k] for k in sorted(pairs)]


def record_compare(slowdown: float) -> list[dict]:
    """``RUNS`` back-to-back whole runs, alternating three plain and three slowed; each stored."""
    out = []
    for i in range(RUNS):
        slowed = slowdown > 0 and (i // 3) % 2 == 1
        with tempfile.TemporaryDirectory() as folder:
            env = {"MLPBENCH_FAULT": f"slow:{slowdown}"} if slowed else {}
            _harness("run", *RUN, "--seeds", str(i % 3), "--epochs", "12", "--schedule", "sequential",
                     "--no-calibrate", "--results", folder, env=env)  # fmt: skip
            records, _ = load(Path(folder))
        out += [{"slowed": slowed, "record": r.to_dict()} for r in records if r.status == "ok"]
    return out


def gate_verdicts(series: list[dict[str, list[float]]], decisions: int, rng: random.Random) -> Counter[str]:
    """How many of ``decisions`` resampled gate decisions end in each verdict."""
    rule, verdicts = GateRule(), Counter()
    for _ in range(decisions):
        groups = []
        for pair in rng.sample(series, GATE_PAIRS):
            base, cand = np.array(pair["baseline"]), np.array(pair["candidate"])
            start = rng.randrange(0, len(base) - GATE_ROUNDS + 1)
            groups.append(np.log(cand[start : start + GATE_ROUNDS] / base[start : start + GATE_ROUNDS]))
        ratio = paired_ratio(groups, resamples=500, seed=rng.randrange(2**31))
        verdicts[rule.step_verdict(ratio) if ratio is not None else "no ratio"] += 1
    return verdicts


def compare_rate(runs: list[dict]) -> tuple[float, int]:
    """Share of (three plain runs, the next three of the condition) decisions that say regressed."""
    records = [(item["slowed"], RunRecord.from_dict(item["record"])) for item in runs]
    thresholds = parse_thresholds(None)
    decisions = flagged = 0
    plain = [i for i, (slowed, _) in enumerate(records) if not slowed]
    slowdown = any(slowed for slowed, _ in records)
    for i in range(len(plain) - 2):
        base_idx = plain[i : i + 3]
        if base_idx[-1] - base_idx[0] != 2:
            continue  # three consecutive plain runs
        later = [j for j in range(base_idx[-1] + 1, len(records)) if records[j][0] == slowdown]
        if len(later) < 3:
            continue
        base = [records[j][1] for j in base_idx]
        cur = [records[j][1] for j in later[:3]]
        for r in cur:
            r.run_id += "-current"
        rows = compare_records(base, cur, thresholds)
        decisions += 1
        flagged += any(row.metric == "step_time" and row.status == REGRESSED for row in rows)
    return (flagged / decisions if decisions else float("nan")), decisions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("--out", type=Path, required=True)
    rec.add_argument("--gate-only", action="store_true", help="skip the stored-compare series (~15 min)")
    ev = sub.add_parser("evaluate")
    ev.add_argument("data", type=Path)
    ev.add_argument("--decisions", type=int, default=2000)
    args = parser.parse_args()
    if args.command == "record":
        data = {"gate": {}, "compare": {}}
        for slowdown in SLOWDOWNS:
            data["gate"][str(slowdown)] = record_gate(slowdown)
            print(f"gate series {slowdown:.0%}: done", file=sys.stderr)
            if not args.gate_only:
                data["compare"][str(slowdown)] = record_compare(slowdown)
                print(f"compare series {slowdown:.0%}: done", file=sys.stderr)
            args.out.write_text(json.dumps(data))
        return
    data = json.loads(args.data.read_text())
    rng = random.Random(0)
    print(f"{'true slowdown':<14} {'A/B gate (regression)':<24} {'stored compare (regressed)':<28}")
    for slowdown in SLOWDOWNS:
        verdicts = gate_verdicts(data["gate"][str(slowdown)], args.decisions, rng)
        gate = verdicts[REGRESSION] / args.decisions
        outcome = ", ".join(f"{k} {v / args.decisions:.1%}" for k, v in sorted(verdicts.items()))
        if str(slowdown) in data["compare"]:
            rate, n = compare_rate(data["compare"][str(slowdown)])
            compared = f"{rate:.1%} of {n} decisions"
        else:
            compared = "not recorded (--gate-only)"
        print(f"{slowdown:<14.0%} {gate:<24.1%} {compared:<28} gate outcomes: {outcome}")


if __name__ == "__main__":
    main()
