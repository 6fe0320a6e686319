"""The answers a reader decides from, per task and device: each a fact with its numbers (what the
page's cross-task table shows, :mod:`.answer`) and the sentence that says it beside the task's table.

The questions: which implementation is fastest as its users write it (mode ``default``), and, where
a fast path beats it, which is fastest at its best (any mode); what each high-level style costs
over the low-level loop on the same engine, per step and per epoch; whether they reach the same
accuracy; who reaches the task's target first. Every speed ratio is the paired per-round ratio the
tables print (:class:`PairedIndex`), and a ratio inside the section's A/A band, or whose interval
holds 1, is a tie: "cannot be told apart". Step times exclude each epoch's own setup (the epoch
overhead, :func:`harness.record.derived.epoch_overheads_s`), which is stated apart where it matters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from harness.compare.paired import PairedRatio, describe
from harness.record.format import fmt_percent, fmt_seconds, is_number
from harness.report.data import ReportData
from harness.report.data.paired import AAFigure, PairedIndex, SectionDevice
from harness.report.data.summary import section_anchor, sections
from harness.report.sections.narrative import accuracies_agree

LOW, HIGH = "low-level", "high-level"
OVERHEAD_SHARE = 0.1  # an epoch overhead this share of a whole epoch (or more) is said beside a ratio


@dataclass
class Verdict:
    """One line: the question, its answer in words, and the ratio it quotes (tests read it)."""

    question: str
    answer: str
    ratio: PairedRatio | None = None
    tie: bool = False


@dataclass(frozen=True)
class Fastest:
    """The fastest row of a set and how the next one compares."""

    label: str
    step_s: float
    next_label: str = ""
    ratio: PairedRatio | None = None  # next over fastest, paired
    unpaired: float = math.nan  # next over fastest, a ratio of medians (when never interleaved)
    tie: bool = False


@dataclass(frozen=True)
class StyleCost:
    """A high-level implementation's step time over its engine's low-level loop, and the epoch
    overheads of both (what a whole epoch adds beyond its steps)."""

    high: str
    low: str
    ratio: PairedRatio
    tie: bool
    high_overhead_s: float
    low_overhead_s: float
    high_epoch_s: float

    @property
    def extra_overhead_s(self) -> float:
        """The high-level style's epoch overhead beyond the loop's (NaN when not measured)."""
        low = self.low_overhead_s if is_number(self.low_overhead_s) else 0.0
        return self.high_overhead_s - low if is_number(self.high_overhead_s) else math.nan

    @property
    def overhead_matters(self) -> bool:
        """Whether the extra epoch overhead is at least :data:`OVERHEAD_SHARE` of a whole epoch."""
        extra, epoch = self.extra_overhead_s, self.high_epoch_s
        return is_number(extra) and is_number(epoch) and epoch > 0 and extra >= OVERHEAD_SHARE * epoch


@dataclass(frozen=True)
class Accuracy:
    """The span of mean test accuracies of the default-mode runs and whether they agree
    (``None``: one seed somewhere, so not compared)."""

    low: float
    high: float
    seeds: int
    agree: bool | None
    best_label: str


@dataclass(frozen=True)
class Target:
    """Who reached the task's validation target first and last (median over the seeds that did)."""

    goal: float
    first_label: str = ""
    first_s: float = math.nan
    last_label: str = ""
    last_s: float = math.nan
    missed: tuple[str, ...] = ()


@dataclass
class VerdictView:
    """The answers for one machine, task, variant and device."""

    machine_id: str
    task: str
    variant: str
    device: str
    anchor: str
    verdicts: list[Verdict] = field(default_factory=list)
    trust: str = ""
    fastest: Fastest | None = None
    best_any: Fastest | None = None  # fastest in any mode, when that is a fast path
    styles: list[StyleCost] = field(default_factory=list)
    accuracy: Accuracy | None = None
    target: Target | None = None
    aa: AAFigure | None = None
    seeds: int = 0

    @property
    def rows(self) -> list[tuple[str, list[Verdict]]]:
        """The verdicts by question: a line without a question continues the one before it."""
        out: list[tuple[str, list[Verdict]]] = []
        for verdict in self.verdicts:
            if verdict.question or not out:
                out.append((verdict.question, [verdict]))
            else:
                out[-1][1].append(verdict)
        return out


def _timed(part: pd.DataFrame) -> pd.DataFrame:
    return part.loc[part["step_s"].map(is_number).astype(bool)].sort_values("step_s")


def tie(ratio: PairedRatio | None, figure: AAFigure | None) -> bool:
    """A ratio whose interval holds 1, or that lies inside the A/A band, is a tie."""
    if ratio is None:
        return False
    return (ratio.low <= 1.0 <= ratio.high) or bool(figure and figure.tie(ratio.estimate))


def _fastest(part: pd.DataFrame, paired: PairedIndex, figure: AAFigure | None) -> Fastest | None:
    ranked = _timed(part)
    if ranked.empty:
        return None
    best = ranked.iloc[0]
    if len(ranked) == 1:
        return Fastest(str(best["label"]), float(best["step_s"]))
    other = ranked.iloc[1]
    ratio = paired.ratio(best, other)
    unpaired = math.nan if ratio is not None else float(other["step_s"] / best["step_s"])
    return Fastest(str(best["label"]), float(best["step_s"]), str(other["label"]), ratio, unpaired,
                   tie(ratio, figure))  # fmt: skip


def _fastest_words(found: Fastest) -> str:
    head = f"{found.label}, {fmt_seconds(found.step_s)} per step"
    if not found.next_label:
        return head + " (the only one measured)"
    if found.ratio is None:
        return f"{head}; {found.next_label} unpaired ({found.unpaired:.2f}×): no interval"
    if found.tie:
        return f"{head}; {found.label} and {found.next_label} cannot be told apart ({describe(found.ratio)})"
    return f"{head}; the next, {found.next_label}, takes {describe(found.ratio)} as long"


def _style_costs(part: pd.DataFrame, paired: PairedIndex, figure: AAFigure | None) -> list[StyleCost]:
    out = []
    default = _timed(part[part["mode"] == "default"])
    for _, group in default.groupby("engine", sort=True):
        lows, highs = group[group["api"] == LOW], group[group["api"] == HIGH]
        if lows.empty or highs.empty:
            continue
        low = lows.iloc[0]
        for _, high in highs.sort_values("label").iterrows():
            ratio = paired.ratio(low, high)
            if ratio is None:
                continue
            out.append(StyleCost(str(high["label"]), str(low["label"]), ratio, tie(ratio, figure),
                                 float(high.get("epoch_overhead_s", math.nan)),
                                 float(low.get("epoch_overhead_s", math.nan)),
                                 float(high.get("steady_epoch_s", math.nan))))  # fmt: skip
    return out


def style_words(cost: StyleCost) -> str:
    """``keras over tensorflow: 2.91× [2.61, 7.33] per step, and 12.1 ms more per epoch ...``."""
    words = "no cost per step that can be told from noise" if cost.tie else f"{describe(cost.ratio)} per step"
    if cost.overhead_matters:
        words += (
            f", and {fmt_seconds(cost.extra_overhead_s)} more per epoch to set the epoch up "
            f"({fmt_seconds(cost.high_overhead_s)} of its {fmt_seconds(cost.high_epoch_s)} epoch)"
        )
    return f"{cost.high} over {cost.low}: {words}"


def _accuracy(part: pd.DataFrame) -> Accuracy | None:
    default = part.loc[(part["mode"] == "default") & part["test_accuracy"].map(is_number).astype(bool)]
    if default.empty:
        return None
    seeds = int(default["n_ok"].min())
    agree = None if seeds < 2 else accuracies_agree(default)
    best = default.sort_values("test_accuracy").iloc[-1]
    return Accuracy(float(default["test_accuracy"].min()), float(default["test_accuracy"].max()), seeds,
                    agree, str(best["label"]))  # fmt: skip


def _accuracy_words(found: Accuracy) -> str:
    span = f"{fmt_percent(found.low)}–{fmt_percent(found.high)} test accuracy"
    if found.agree is None:
        return f"{span}; one seed: cannot tell (no interval over seeds)"
    if found.agree:
        return f"yes: {span}, every 95% interval over seeds overlaps"
    return f"no: {span}; {found.best_label} is highest and some intervals do not overlap"


def _target(part: pd.DataFrame) -> Target | None:
    default = part[part["mode"] == "default"]
    if default.empty:
        return None
    reached = default.loc[default["time_to_target_s"].map(is_number).astype(bool)]
    reached = reached.sort_values("time_to_target_s")
    goals = default["target_val_accuracy"].dropna()
    missed = tuple(f"{r['label']} ({int(r['n_ok'] - r['n_reached'])} of {int(r['n_ok'])})"
                   for _, r in default.iterrows() if r["n_ok"] > r["n_reached"])  # fmt: skip
    goal = float(goals.iloc[0]) if len(goals) else math.nan
    if reached.empty:
        return Target(goal, missed=missed)
    first, last = reached.iloc[0], reached.iloc[-1]
    return Target(goal, str(first["label"]), float(first["time_to_target_s"]), str(last["label"]),
                  float(last["time_to_target_s"]), missed)  # fmt: skip


def _target_words(found: Target) -> str:
    goal = fmt_percent(found.goal) if is_number(found.goal) else "the target"
    if not found.first_label:
        return f"no run reached {goal} validation accuracy"
    text = (
        f"{found.first_label} first: {fmt_seconds(found.first_s)} of training to {goal} validation accuracy"
    )
    if found.last_label != found.first_label:
        text += f" (the last, {found.last_label}: {fmt_seconds(found.last_s)})"
    return text + (
        f"; not reached by {', '.join(found.missed)}" if found.missed else "; every run reached it"
    )


def trust_words(figure: AAFigure | None, device: str, seeds: int) -> str:
    """How far to trust a task's ratios, in one sentence."""
    seed_words = f"{seeds} seed{'s' if seeds != 1 else ''} per implementation"
    if figure is None or figure.ratio is None:
        why = figure.reason if figure is not None else "no A/A twin ran here"
        return f"Trust: no A/A figure on {device} ({why}); ratios have their intervals only. {seed_words}."
    low, high = figure.band or (math.nan, math.nan)
    return (
        f"Trust: identical code differed from itself by {describe(figure.ratio)} on {device} (A/A, "
        f"{figure.ratio.n_rounds} paired rounds): a ratio inside {low:.2f}×–{high:.2f}× is a tie. "
        f"Up to {seed_words}."
    )


def _view(key: tuple[str, str, str], device: str, mine: pd.DataFrame, paired: PairedIndex,
          figure: AAFigure | None) -> VerdictView:  # fmt: skip
    machine_id, task, variant = key
    view = VerdictView(
        machine_id, task, variant, device, section_anchor(machine_id, task, variant), aa=figure
    )
    view.seeds = int(mine["n_ok"].max()) if len(mine) else 0
    view.fastest = _fastest(mine[mine["mode"] == "default"], paired, figure)
    if view.fastest is not None:
        view.verdicts.append(Verdict("Fastest as users write it", _fastest_words(view.fastest),
                                     view.fastest.ratio, view.fastest.tie))  # fmt: skip
    best = _fastest(mine, paired, figure)
    if best is not None and view.fastest is not None and best.label != view.fastest.label:
        view.best_any = best
        view.verdicts.append(Verdict("Fastest with a fast path", _fastest_words(best), best.ratio, best.tie))
    view.styles = _style_costs(mine, paired, figure)
    for i, cost in enumerate(view.styles):
        question = "What the high-level style costs" if i == 0 else ""
        view.verdicts.append(Verdict(question, style_words(cost), cost.ratio, cost.tie))
    view.accuracy = _accuracy(mine)
    if view.accuracy is not None:
        view.verdicts.append(
            Verdict("Same accuracy?", _accuracy_words(view.accuracy), tie=bool(view.accuracy.agree))
        )
    view.target = _target(mine)
    if view.target is not None:
        view.verdicts.append(Verdict("Time to target", _target_words(view.target)))
    view.trust = trust_words(figure, device, view.seeds)
    return view


def verdict_views(
    stats: pd.DataFrame, paired: PairedIndex, aa: dict[SectionDevice, AAFigure] | None = None
) -> list[VerdictView]:
    """One view per (machine, task, variant, device) with a timed run, in page order."""
    aa = aa or {}
    views = []
    for key, part in sections(stats):
        for device, mine in part.groupby("device", sort=True):
            if _timed(mine).empty:
                continue
            views.append(_view(key, str(device), mine, paired, aa.get((*key, str(device)))))
    return views


PART = "verdicts"  # shown per task: harness/report/render/templates/parts/tasks.html.j2


def build(data: ReportData) -> dict[str, Any]:
    """The section's view: the names the page reads, from the report's data."""
    return {"verdicts": verdict_views(data.stats, data.paired, data.aa)}
