"""Where a step's time goes: per implementation as written, a fixed cost per step and a rate per
FLOP fitted across the run set's networks (:mod:`harness.plan.step_model`), the epoch overhead
apart; one figure of time per step against FLOPs per step (a line per implementation, its networks
as points), and where lines cross: below a size one implementation is faster, above it another.
``python -m harness predict`` answers for a network the bench never ran from the same lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from harness.plan import step_model
from harness.record.format import fmt_seconds, is_number
from harness.record.keys import machine_id
from harness.report.data import ReportData
from harness.report.data.plot import Plot

LOW_LEVEL = ("numpy", "torch", "jax", "tensorflow")  # the loops whose crossovers a reader asks about


@dataclass
class CostView:
    """One machine and device: the lines, their figure and the crossovers in words."""

    machine_id: str
    device: str
    rows: list[dict[str, Any]]
    plot: Plot
    sentences: list[str] = field(default_factory=list)

    @property
    def uri(self) -> str:
        return self.plot.uri


def _mflop(flops: float) -> str:
    return f"{flops / 1e6:.3g} MFLOP"


def _crossovers(fits: dict[str, step_model.StepFit]) -> list[str]:
    out = []
    names = [n for n in LOW_LEVEL if n in fits and fits[n].fitted]
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            where = step_model.crossover(fits[a], fits[b])
            sizes = [p.flops_per_step for fit in (fits[a], fits[b]) for p in fit.points]
            if where is None or not min(sizes) / 10 <= where <= max(sizes) * 10:
                continue
            small = a if fits[a].dispatch_s < fits[b].dispatch_s else b
            large = b if small == a else a
            out.append(
                f"Below about {_mflop(where)} per step {small} is faster than {large}; above it, {large}."
            )
    return out


def cost_views(data: ReportData) -> list[CostView]:
    """A view per machine and device whose run set trained two network sizes or more."""
    views = []
    records = [r for r in data.run_set.records if r.mode == "default"]
    palette = sorted(data.frames.runs["label"].unique()) if not data.frames.runs.empty else []
    for (machine, device), mine in _split(records).items():
        fits = {key[0]: fit for key, fit in step_model.fit(mine).items() if fit.fitted}
        if not fits:
            continue
        rows = [
            {
                "label": impl,
                "fixed": fmt_seconds(fit.dispatch_s),
                "rate": f"{fit.rate_flops_per_s / 1e9:.3g} GFLOP/s"
                if is_number(fit.rate_flops_per_s)
                else "—",
                "overhead": fmt_seconds(fit.overhead_s),
                "fit": f"{fit.rms:.0%}",
                "networks": ", ".join(p.label for p in fit.points),
            }
            for impl, fit in sorted(fits.items(), key=lambda item: item[1].dispatch_s)
        ]
        points = pd.DataFrame([
            {"label": impl, "flops": p.flops_per_step, "step_s": p.median_s, "network": p.label}
            for impl, fit in fits.items() for p in fit.points
        ])  # fmt: skip
        lines = pd.DataFrame([
            {"label": impl, "dispatch_s": fit.dispatch_s, "flop_s": fit.flop_s} for impl, fit in fits.items()
        ])  # fmt: skip
        plot = Plot("step_model", {"points": points, "lines": lines}, palette)
        views.append(CostView(machine, device, rows, plot, _crossovers(fits)))
    return views


def _split(records: list) -> dict[tuple[str, str], list]:
    out: dict[tuple[str, str], list] = {}
    for record in records:
        out.setdefault((machine_id(record), record.device), []).append(record)
    return out


PART = "costs"  # its template: harness/report/render/templates/parts/costs.html.j2


def build(data: ReportData) -> dict[str, Any]:
    """The section's view: the names its template part reads, from the report's data."""
    return {"costs": cost_views(data)}
