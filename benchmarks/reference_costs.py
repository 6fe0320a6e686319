"""Writes ``harness/plan/reference_costs.json``: the rates a machine without records of its own
starts its plans from (:mod:`harness.plan.costs`), learnt from one results folder of a full default
bench and that machine's calibration, which the rates are scaled from on other machines.

    python benchmarks/reference_costs.py --results DIR [--calibration FILE] [--out FILE]

``DIR`` holds ``runs/<machine>/*.jsonl`` of one machine (a default bench: every implementation and
mode on several tasks); ``--calibration`` defaults to ``DIR/calibration/<machine>.json``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.plan import costs  # noqa: E402
from harness.record.keys import machine_id  # noqa: E402
from harness.store import calibration, runs  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, required=True)
    parser.add_argument("--calibration", type=Path)
    parser.add_argument("--out", type=Path, default=costs.REFERENCE)
    args = parser.parse_args(argv)
    records, _ = runs.load(args.results / runs.RUNS_DIR)
    machines = {machine_id(r) for r in records}
    if len(machines) != 1:
        parser.error(f"--results must hold one machine's records; it holds {sorted(machines)}")
    (machine,) = machines
    cpu_model = next(iter({str(r.machine.get("cpu_model", "")) for r in records}))
    entries = calibration.load(args.calibration or args.results / "calibration" / f"{machine}.json")
    model = costs.fit(records, f"reference rates of {machine} ({cpu_model}, {len(records)} records)")
    costs.Reference(model, costs.Machine.from_entries(entries)).save(args.out)
    print(f"wrote {args.out}: {len(model.rates_by_key)} implementation/mode/device rates from {machine}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
