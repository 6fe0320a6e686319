"""Where a step's time goes: per implementation as written, the step model fitted to the run set's
networks (:mod:`harness.plan.step_model`: a cost per epoch spread over its steps, a fixed cost per
step, a cost per layer, the matrix products at a rate that grows with their size), the epoch setup
apart; one figure
of time per step against FLOPs per step (each implementation's model along one network widened,
the networks measured as points), and where two implementations change places along it.
``python -m harness predict`` answers for a network the bench never ran from the same fits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from harness.plan import step_model
from harness.record.format import fmt_seconds, fmt_term_s, is_number
from harness.record.keys import machine_id
from harness.report.data import ReportData
from harness.report.data.plot import Plot

LOW_LEVEL = ("numpy", "torch", "jax", "tensorflow")  # the loops whose crossovers a reader asks about
WIDTHS = np.geomspace(1 / 64, 64, 97)  # the path: the reference's hidden layers times these, within
SPAN = 2.0  # ... the FLOPs of the networks measured, this much either side


@dataclass
class CostView:
    """One machine and device: the fits, their figure, the networks, the crossovers in words."""

    machine_id: str
    device: str
    rows: list[dict[str, Any]]
    plot: Plot | None  # none when no implementation has the networks to fit
    networks: str
    path: str
    sentences: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # implementations with too few networks

    @property
    def uri(self) -> str:
        return self.plot.uri if self.plot else ""


def _mflop(flops: float) -> str:
    return f"{flops / 1e6:.3g} MFLOP"


def _shape(network: step_model.Network) -> str:
    return "-".join(map(str, network.sizes))


def _path_name(reference: step_model.Point) -> str:
    sizes = reference.network.sizes
    widened = "-".join(["w"] * (len(sizes) - 2))
    task = reference.label.split()[0]
    return f"{task} {sizes[0]}-{widened}-{sizes[-1]} at batch {reference.batch_size} (w the hidden width)"


def _crossovers(fits: dict[str, step_model.StepFit], path: list[step_model.Network], flops: list[float],
                name: str) -> list[str]:  # fmt: skip
    out = []
    names = [n for n in LOW_LEVEL if n in fits]
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            where = step_model.crossover(fits[a], fits[b], path)
            if where is None:
                continue
            small = a if fits[a].step_s(path[0]) < fits[b].step_s(path[0]) else b
            large = b if small == a else a
            width = path[where].sizes[1]
            out.append(
                f"below about {_mflop(flops[where])} per step (w ≈ {width}) {small} is faster than {large}; "
                f"above it, {large}."
            )
    return [f"Along {name}: {out[0]}", *(s[0].upper() + s[1:] for s in out[1:])] if out else []


def _row(impl: str, fit: step_model.StepFit) -> dict[str, Any]:
    rate = fit.large_rate
    return {
        "label": impl,
        "epoch": fmt_term_s(fit.epoch_s),
        "fixed": fmt_term_s(fit.dispatch_s),
        "layer": fmt_term_s(fit.layer_s),
        "rate": f"{rate / 1e9:.3g} GFLOP/s" if is_number(rate) else "—",
        "overhead": fmt_seconds(fit.overhead_s),
        "fit": f"{fit.rms:.0%}",
        "left_out": f"{float(np.median(np.abs(fit.left_out))):.0%}" if fit.left_out else "—",
    }


def _view(machine: str, device: str, mine: list, palette: list[str]) -> CostView | None:
    every = step_model.fit(mine)
    fits = {key[0]: fit for key, fit in every.items() if fit.fitted}
    missing = sorted(key[0] for key, fit in every.items() if not fit.fitted)
    if not every:
        return None
    points = [p for fit in every.values() for p in fit.points]
    deep = sorted({p.network: p for p in points if p.hidden_layers}.values(), key=lambda p: p.flops_per_step)
    reference = (deep or points)[len(deep or points) // 2]  # the middle network by FLOPs, with a hidden layer
    low, high = min(p.flops_per_step for p in points) / SPAN, max(p.flops_per_step for p in points) * SPAN
    path = [n for n in dict.fromkeys(step_model.widened(reference.network, f) for f in WIDTHS)
            if low <= n.products(0) <= high]  # fmt: skip
    flops = [n.products(0) for n in path]  # unweighted: the training FLOPs of a full batch
    name = _path_name(reference)
    rows = [_row(impl, fit) for impl, fit in sorted(fits.items(), key=lambda item: item[1].dispatch_s)]
    frame = pd.DataFrame([
        {"label": impl, "flops": p.flops_per_step, "step_s": p.median_s, "network": p.label}
        for impl, fit in fits.items() for p in fit.points
    ])  # fmt: skip
    curves = pd.DataFrame([
        {"label": impl, "flops": x, "step_s": fit.step_s(n)}
        for impl, fit in fits.items() for n, x in zip(path, flops, strict=True)
    ])  # fmt: skip
    plot = Plot("step_model", {"points": frame, "curves": curves}, palette) if fits else None
    labels = sorted({p.label for p in points}, key=lambda label: min(
        p.flops_per_step for p in points if p.label == label))  # fmt: skip
    return CostView(machine, device, rows, plot, ", ".join(labels), name,
                    _crossovers(fits, path, flops, name) if fits else [], missing)  # fmt: skip


def cost_views(data: ReportData) -> list[CostView]:
    """A view per machine and device whose run set has default-mode runs with a step time."""
    views = []
    records = [r for r in data.run_set.records if r.mode == "default"]
    palette = sorted(data.frames.runs["label"].unique()) if not data.frames.runs.empty else []
    for (machine, device), mine in _split(records).items():
        view = _view(machine, device, mine, palette)
        if view is not None:
            views.append(view)
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
