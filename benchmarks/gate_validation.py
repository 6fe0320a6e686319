"""How often each check is fooled on this machine: the A/B gate (interleaved) and the
stored-baseline ``compare`` (two result sets run one after the other), side by side.

    python benchmarks/gate_validation.py record --gate-only --out /tmp/gate.json  # ~20 min here
    python benchmarks/gate_validation.py evaluate /tmp/gate.json

``record`` measures one run (mnist1d, torch, default mode) three ways:

- *A/B gate series*: ``harness ab`` with this checkout on both sides, ``PAIRS`` fresh process pairs
  of ``ROUNDS`` rounds each (4 epochs per round), for a candidate with no fault (A/A), for A/A with
  the sides' paths exchanged (the baseline a second checkout of the same commit: a bias that
  follows the side, not the path, is the harness's), for A/A beside two busy processes (a loaded
  machine), and with a proportional slowdown inside its timed region of 5% and of 10%
  (``MLPBENCH_FAULT=slow:F``);
- *stored-baseline series*: ``RUNS`` whole ``harness run --schedule sequential`` runs back to back,
  alternating blocks of three plain runs and three slowed ones (5% and 10%), as two result sets
  recorded at different times are.

``evaluate`` turns each series into many decisions of the size the checks take by default: a
gate decision draws 4 of the pairs (without replacement) and applies the gate's rule; the
sequential gate then adds pairs drawn from the rest, one at a time, while it cannot tell, up to
10 (each look's regression interval at ``1 - 2 * 1% / 7``), as ``harness ab`` does; a
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.compare.check import compare_records  # noqa: E402
from harness.compare.gate import GateRule  # noqa: E402
from harness.compare.paired import describe, paired_ratio  # noqa: E402
from harness.compare.thresholds import parse_thresholds  # noqa: E402
from harness.compare.verdicts import CANNOT_TELL, PASS, REGRESSION  # noqa: E402
from harness.record.derived import round_steps_s  # noqa: E402
from harness.record.schema import RunRecord  # noqa: E402
from harness.run.ab import SIDES  # noqa: E402
from harness.store.runs import load as load_records  # noqa: E402

RUN = ["--task", "mnist1d", "--impl", "torch", "--mode", "default"]
PAIRS, ROUNDS, EPOCHS_PER_ROUND = 14, 25, 4
RUNS = 36  # per slowdown: 6 blocks of 3 plain and 3 slowed runs
SLOWDOWNS = (0.0, 0.05, 0.10)
GATE_PAIRS, GATE_ROUNDS, GATE_MAX_PAIRS = 4, 25, 10
CONDITIONS = {  # name: (slowdown, swapped paths, busy processes beside the gate)
    "A/A": (0.0, False, 0),
    "A/A, paths exchanged": (0.0, True, 0),
    "A/A, loaded (2 busy processes)": (0.0, False, 2),
    "5% slower": (0.05, False, 0),
    "10% slower": (0.10, False, 0),
}


def _harness(*argv: str, env: dict[str, str] | None = None) -> None:
    import os

    subprocess.run([sys.executable, "-m", "harness", *argv], cwd=REPO, env={**os.environ, **(env or {})},
                   check=False, capture_output=True)  # fmt: skip


def _busy(n: int) -> list[subprocess.Popen]:
    code = "while True: pass"
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(n)]


def record_gate(slowdown: float, swapped: bool = False, busy: int = 0) -> list[dict[str, list[float]]]:
    """One long ``harness ab`` series: per pair, each side's per-round step times."""
    with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryDirectory() as other:
        baseline = "."
        if swapped:  # a second checkout of the same commit as the baseline, this one the candidate
            subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", other, "HEAD"],
                           check=True, capture_output=True)  # fmt: skip
            baseline = other
        argv = ["ab", *RUN, "--baseline", baseline, "--candidate", ".", "--pairs", str(PAIRS)]
        argv += ["--max-pairs", str(PAIRS), "--rounds", str(ROUNDS), "--budget", "100000"]
        argv += ["--epochs-per-round", str(EPOCHS_PER_ROUND), "--results", folder]
        if slowdown:
            argv += ["--candidate-env", f"MLPBENCH_FAULT=slow:{slowdown}"]
        load = _busy(busy)
        try:
            _harness(*argv)
        finally:
            for process in load:
                process.kill()
            if swapped:
                subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", other],
                               capture_output=True)  # fmt: skip
        records, _ = load_records(Path(folder) / "ab")
    pairs: dict[int, dict[str, list[float]]] = {}
    for r in records:
        steps = round_steps_s(r)
        pairs.setdefault(r.provenance["ab_pair"], {})[r.execution["side"]] = [steps[k] for k in sorted(steps)]
        pairs[r.provenance["ab_pair"]]["first"] = r.provenance.get("ab_first_side", "")
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
            records, _ = load_records(Path(folder))
        out += [{"slowed": slowed, "record": r.to_dict()} for r in records if r.status == "ok"]
    return out


def _log_ratios(pair: dict) -> np.ndarray:
    base, cand = np.array(pair["baseline"]), np.array(pair["candidate"])
    n = min(len(base), len(cand), GATE_ROUNDS)
    return np.log(cand[:n] / base[:n])


def _verdict(groups: list[np.ndarray], rule: GateRule, rng: random.Random) -> str:
    seed = rng.randrange(2**31)
    ratio = paired_ratio(groups, resamples=500, seed=seed)
    if ratio is None:
        return "no ratio"
    strict = paired_ratio(groups, rule.strict_confidence, resamples=500, seed=seed)
    return rule.step_verdict(ratio, strict)


def gate_verdicts(
    series: list[dict], decisions: int, rng: random.Random, sequential: bool
) -> tuple[Counter[str], float]:
    """How many of ``decisions`` resampled gate decisions end in each verdict, and the mean number
    of process pairs they used: the fixed gate (4 pairs, one look) or the sequential one."""
    most = min(GATE_MAX_PAIRS, len(series)) if sequential else GATE_PAIRS
    rule = GateRule(looks=1 + most - GATE_PAIRS)
    verdicts, used = Counter(), 0
    for _ in range(decisions):
        order = rng.sample(series, len(series))
        n = GATE_PAIRS
        verdict = _verdict([_log_ratios(p) for p in order[:n]], rule, rng)
        while verdict == CANNOT_TELL and n < most:
            n += 1
            verdict = _verdict([_log_ratios(p) for p in order[:n]], rule, rng)
        verdicts[verdict] += 1
        used += n
    return verdicts, used / decisions


def side_bias(series: list[dict]) -> str:
    """The pooled candidate/baseline ratio, and split by which side's workers started first."""
    pooled = paired_ratio([_log_ratios(p) for p in series])
    parts = [f"pooled {describe(pooled)}"]
    for first in SIDES:
        mine = [_log_ratios(p) for p in series if p.get("first") == first]
        if len(mine) >= 2:
            parts.append(f"{first} first ({len(mine)} pairs) {describe(paired_ratio(mine))}")
    return "; ".join(parts)


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
        flagged += any(row.metric == "step_time" and row.status == REGRESSION for row in rows)
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
    ev.add_argument(
        "--rounds", type=int, default=GATE_ROUNDS, help="rounds of each pair used (at most recorded)"
    )
    ev.add_argument("--pairs", type=int, default=GATE_PAIRS, help="process pairs before the first decision")
    ev.add_argument("--max-pairs", type=int, default=GATE_MAX_PAIRS, help="the sequential gate's most pairs")
    args = parser.parse_args()
    if args.command == "record":
        data = {"gate": {}, "compare": {}}
        for name, (slowdown, swapped, busy) in CONDITIONS.items():
            data["gate"][name] = record_gate(slowdown, swapped, busy)
            print(f"gate series {name}: done", file=sys.stderr)
            if not args.gate_only and not swapped and not busy:
                data["compare"][str(slowdown)] = record_compare(slowdown)
                print(f"compare series {slowdown:.0%}: done", file=sys.stderr)
            args.out.write_text(json.dumps(data))
        return
    globals().update(GATE_ROUNDS=args.rounds, GATE_PAIRS=args.pairs, GATE_MAX_PAIRS=args.max_pairs)
    print(f"gate: {args.pairs} pairs of {args.rounds} rounds, sequential up to {args.max_pairs}")
    data = json.loads(args.data.read_text())
    rng = random.Random(0)
    for name, series in data["gate"].items():
        print(f"\n{name} ({len(series)} process pairs recorded): {side_bias(series)}")
        for sequential in (False, True):
            verdicts, pairs = gate_verdicts(series, args.decisions, rng, sequential)
            shares = {v: verdicts[v] / args.decisions for v in (PASS, CANNOT_TELL, REGRESSION)}
            how = (
                f"sequential ({GATE_PAIRS} to {GATE_MAX_PAIRS} pairs)"
                if sequential
                else f"fixed ({GATE_PAIRS} pairs)"
            )
            print(
                f"  {how:<26} pass {shares[PASS]:6.1%}  cannot tell {shares[CANNOT_TELL]:6.1%}  "
                f"regression {shares[REGRESSION]:6.1%}  mean pairs {pairs:.1f}"
            )
        slowdown = str(CONDITIONS.get(name, (None,))[0])
        if slowdown in data["compare"] and not name.startswith("A/A,"):
            rate, n = compare_rate(data["compare"][slowdown])
            print(f"  stored compare: regressed in {rate:.1%} of {n} decisions")


if __name__ == "__main__":
    main()
