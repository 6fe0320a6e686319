"""The plan a suite gets on a machine described by its calibration, and its predicted phases:
what `harness run` would choose for a budget there, without that machine at hand.

    python benchmarks/plan_on_machine.py [--suite default] [--budget 450] --matmul-gflops 70 \\
        [--dispatch-ratio 2.0] [--calibration-s 30] [--fetch mnist]

The machine is the reference machine of ``harness/plan/reference_costs.json`` with its matmul peak
set to ``--matmul-gflops`` (each engine in the same proportion) and its dispatch and import times
multiplied by ``--dispatch-ratio``; the rates are then scaled as :func:`harness.plan.costs.scaled`
scales them for a real calibration. ``--calibration-s`` and ``--fetch`` add the one-off steps of a
fresh clone (calibrating, and fetching data not cached yet).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.plan import budget, costs  # noqa: E402
from harness.plan.suites import Selection, plan_for  # noqa: E402
from harness.plugins import registry  # noqa: E402
from harness.run.planning import FETCH_S, _runnable  # noqa: E402


def machine(reference: costs.Machine, gflops: float, dispatch_ratio: float) -> costs.Machine:
    top = max(reference.matmul_flops_per_s.values())
    return costs.Machine(
        {e: gflops * 1e9 * v / top for e, v in reference.matmul_flops_per_s.items()},
        {e: v * dispatch_ratio for e, v in reference.dispatch_s.items()},
        {e: v * dispatch_ratio for e, v in reference.import_s.items()},
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="default")
    parser.add_argument("--budget", type=float)
    parser.add_argument("--matmul-gflops", type=float, required=True)
    parser.add_argument("--dispatch-ratio", type=float, default=1.0)
    parser.add_argument("--calibration-s", type=float, default=0.0)
    parser.add_argument("--fetch", nargs="*", default=[])
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args(argv)
    reference = costs.Reference.load()
    engines = {n: i.engine for n, i in registry.implementations().items()}
    model = costs.scaled(reference.model, reference.machine, machine(reference.machine, args.matmul_gflops,
                         args.dispatch_ratio), engines)  # fmt: skip
    plan = plan_for(Selection(suite=args.suite))
    one_off = (
        [budget.Phase("calibration and planning (done)", args.calibration_s)] if args.calibration_s else []
    )
    if args.fetch:
        one_off.append(budget.Phase(budget.fetch_phase(args.fetch), FETCH_S * len(args.fetch)))
    report_s = budget.REPORT_S * args.dispatch_ratio

    def predict(candidate):  # noqa: ANN001, ANN202
        return budget.estimate(candidate, model, args.cores, _runnable, one_off, report_s)

    limit = args.budget if args.budget is not None else plan.budget_s
    fitted = budget.fit(plan, limit, predict) if limit else budget.Fitted(plan, predict(plan), float("inf"))
    print(f"{args.suite} on a {args.matmul_gflops:.0f} GFLOP/s machine, dispatch x{args.dispatch_ratio:g}, "
          f"budget {limit} s: predicted {fitted.estimate.total_s:.0f} s")  # fmt: skip
    for phase in fitted.estimate.phases:
        print(f"  {phase.seconds:7.1f} s  {phase.name}")
    for tier, extra in fitted.left_out:
        print(f"  left out: {tier.label()} (+{extra:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
