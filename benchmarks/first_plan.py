"""How well a first plan (no records of this machine yet: the reference machine's rates scaled by
this machine's calibration) predicts a bench that ran, with each of several calibrations of the
same machine, and with fixed costs carried by each engine's own dispatch ratio (the planner's) or
by the engines' median (tried in 880008f and reverted: it did no better, docs/measured.md).

    python benchmarks/first_plan.py --results R [--calibration FILE ...]

``R`` is a ``tox -e bench`` results folder (its records and ``calibration/``); each ``--calibration``
is another calibration file of the same machine (``python -m harness calibrate --force --results
DIR`` writes ``DIR/calibration/<machine>.json``). The plan checked is the one the bench ran (the
default suite fitted with R's own calibration); each line gives a calibration's dispatch ratios to
the reference, then per method the groups' predicted seconds against those the bench took, and how
many runs a first plan made with that calibration would keep."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from harness.cli.main import build_parser
from harness.cli.run import selection_of
from harness.plan import budget, costs
from harness.plan.suites import plan_for
from harness.plugins import registry
from harness.run.planning import _fetch, _fixed_scale, _runnable
from harness.store import calibration as calibration_store
from harness.store import runs as store

DONE_S = 12.0  # calibration and planning, as the bench of 880008f printed it


def median_scaled(
    model: costs.CostModel, reference: costs.Machine, here: costs.Machine, engines: dict[str, str]
) -> costs.CostModel:
    """:func:`harness.plan.costs.scaled` with every engine's dispatch set to the reference's times the
    median over the engines of their ratio: fixed costs carried by one machine-wide figure."""
    both = [e for e in here.dispatch_s if reference.dispatch_s.get(e, 0) > 0]
    ratio = float(np.median([here.dispatch_s[e] / reference.dispatch_s[e] for e in both]))
    pooled = costs.Machine(
        here.matmul_flops_per_s, {e: reference.dispatch_s[e] * ratio for e in both}, here.import_s
    )
    return costs.scaled(model, reference, pooled, engines)


def _machine(path: Path) -> costs.Machine:
    entries = [e for e in calibration_store.load(path) if e.device == "cpu"]
    threads = max(e.threads for e in entries)
    return costs.Machine.from_entries([e for e in entries if e.threads == threads])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--results", type=Path, required=True, help="a tox -e bench results folder")
    parser.add_argument("--calibration", type=Path, nargs="*", default=[], help="more calibration files")
    args = parser.parse_args(argv)
    if not args.results.is_dir():
        print(f"--results {args.results}: no such folder", file=sys.stderr)
        return 2
    records, _ = store.load(args.results)
    taken = {}
    for record in records:
        if record.status == "ok" and record.execution.get("group_s"):
            taken[record.execution["group"]] = record.execution["group_s"]
    own = sorted((args.results / "calibration").glob("*.json"))
    missing = [str(p) for p in args.calibration if not p.is_file()]
    if not taken or not own or missing:
        print(f"{args.results}: no run records or no calibration/ there" if not missing
              else f"no such calibration file: {', '.join(missing)}", file=sys.stderr)  # fmt: skip
        return 2
    reference = costs.Reference.load()
    engines = {name: info.engine for name, info in registry.implementations().items()}
    plan = plan_for(selection_of(build_parser().parse_args(["run"])))

    def predictor(model: costs.CostModel):  # noqa: ANN202
        report_s = budget.REPORT_S * _fixed_scale(model)
        done = [budget.Phase("calibration and planning (done)", DONE_S)]
        return lambda c: budget.estimate(c, model, 2, _runnable, done + _fetch(c), report_s)

    # the plan the bench ran: the one either method fits with the bench's own calibration that has as
    # many runs as the bench recorded (880008f's planner, which ran it, took the median)
    here = _machine(own[0])
    n_ran = sum(1 for r in records if r.status == "ok")
    fits = []
    for scale in (costs.scaled, median_scaled):
        model = scale(reference.model, reference.machine, here, engines)
        fits.append(budget.fit(plan, plan.budget_s, predictor(model), strict=False).plan)
    sizes = [sum(map(_runnable, f.requests)) for f in fits]
    ran = next((f for f, size in zip(fits, sizes, strict=True) if size == n_ran), None)
    if ran is None:
        print(f"the bench ran {n_ran} runs; neither method's plan with its calibration has as many "
              f"({', '.join(map(str, sizes))})", file=sys.stderr)  # fmt: skip
        return 3
    took = sum(taken.values())
    print(f"the bench: {len(taken)} groups, {took:.0f} s in them; its plan {n_ran} runs")
    for path in [own[0], *args.calibration]:
        here = _machine(path)
        ratios = " ".join(f"{e} {here.dispatch_s[e] / reference.machine.dispatch_s[e]:.2f}"
                          for e in sorted(here.dispatch_s) if e in reference.machine.dispatch_s)  # fmt: skip
        said = []
        for name, model in (
            ("each engine's own", costs.scaled(reference.model, reference.machine, here, engines)),
            ("median", median_scaled(reference.model, reference.machine, here, engines)),
        ):
            predict = predictor(model)
            groups = sum(p.seconds for p in predict(ran).phases if " on cpu " in p.name)
            keeps = len(budget.fit(plan, plan.budget_s, predict, strict=False).plan.requests)
            said.append(f"{name}: {groups:.0f} s ({groups / took - 1:+.0%}), a first plan keeps {keeps}")
        print(f"{path}: {ratios} | {' | '.join(said)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
