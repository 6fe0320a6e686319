"""The headline table of one section: formatted cells, the best per column marked, ratios to it.

The best cell is chosen per device (a GPU row is not the baseline of a CPU row). Times,
throughputs and memory are shown as a ratio to the best (``1.42x``); accuracy and the
generalization gap, which are already fractions, as a difference in percentage points. Step time
and throughput ratios are paired where the two runs were interleaved (the per-round ratio,
:mod:`harness.compare.paired`), with their interval; elsewhere a ratio of medians, marked unpaired.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from harness.compare.paired import PairedRatio
from harness.record.format import fmt_bytes, fmt_fraction, fmt_percent, fmt_pp, fmt_seconds, is_number
from harness.report.data.paired import PairedIndex, unpaired_mark


@dataclass(frozen=True)
class Column:
    """One headline column: which statistic, how to show it, and which direction is better."""

    name: str
    header: str
    unit: str
    better: str  # "higher", "lower" or "zero" (closest to zero)
    fmt: Callable[[float], str]
    relative: str = "ratio"  # "ratio" (value / best) or "pp" (difference in percentage points)
    has_ci: bool = False


@dataclass
class Cell:
    """A formatted value; ``value`` is the raw number (for tests and data attributes)."""

    text: str
    value: float | None = None
    note: str = ""
    versus_best: str = ""
    best: bool = False
    tie: bool = False
    title: str = ""


@dataclass
class Row:
    """One implementation x mode x device."""

    label: str
    impl: str
    mode: str
    device: str
    runs: str
    cells: dict[str, Cell] = field(default_factory=dict)


@dataclass(frozen=True)
class UnavailableDevice:
    """A device on which no run of the section could run, said once instead of a row per run."""

    device: str
    reason: str
    count: int


@dataclass
class Table:
    """The columns shown and one row per implementation x mode x device, grouped by device; devices
    where nothing could run are listed apart, with the reason."""

    columns: list[Column]
    rows: list[Row]
    unavailable: list[UnavailableDevice] = field(default_factory=list)


COLUMNS = [
    Column("step_s", "Time per step", "median [95% CI]", "lower", fmt_seconds, has_ci=True),
    Column("epoch_overhead_s", "Epoch overhead", "per epoch, usual; of a whole epoch", "lower", fmt_seconds),
    Column("fraction_of_peak", "Of matmul peak", "achieved FLOP/s ÷ calibrated peak", "higher", fmt_fraction),
    Column("first_epoch_s", "First epoch", "incl. compile; vs steady", "lower", fmt_seconds),
    Column("time_to_target_s", "Time to target", "median; seeds reaching the target", "lower", fmt_seconds),
    Column("test_accuracy", "Test accuracy", "mean ± 95% CI", "higher", fmt_percent, "pp", True),
    Column("gap", "Generalization gap", "train − val acc., mean ± CI", "zero", fmt_pp, "pp", True),
    Column("peak_rss_bytes", "Peak RSS", "max over seeds", "lower", fmt_bytes),
    Column("device_peak_bytes", "Device peak", "max over seeds", "lower", fmt_bytes),
]


def _best_value(values: pd.Series, better: str) -> float | None:
    clean = values[values.map(is_number)]
    if clean.empty:
        return None
    if better == "zero":
        return float(clean.loc[clean.abs().idxmin()])
    return float(clean.max() if better == "higher" else clean.min())


def _versus(column: Column, value: float, best: float) -> str:
    if column.relative == "pp":
        return fmt_pp(value - best).replace("pp", "pp vs best")
    return f"{value / best:.2f}× best" if best else ""


def _overlaps(row: pd.Series, best_row: pd.Series, name: str) -> bool:
    if min(row.get(f"{name}_n", 0), best_row.get(f"{name}_n", 0)) < 2:
        return False
    low, high = row.get(f"{name}_lo"), row.get(f"{name}_hi")
    best_low, best_high = best_row.get(f"{name}_lo"), best_row.get(f"{name}_hi")
    if not all(is_number(v) for v in (low, high, best_low, best_high)):
        return False
    return bool(low <= best_high and best_low <= high)


def _note(column: Column, row: pd.Series) -> str:
    name = column.name
    if column.has_ci and row[f"{name}_n"] < 2:
        return f"n={row[f'{name}_n']}: no CI"
    if column.has_ci and column.relative == "pp":
        return f"± {100 * (row[f'{name}_hi'] - row[f'{name}_lo']) / 2:.2f} pp (n={row[f'{name}_n']})"
    if column.has_ci:
        return f"[{column.fmt(row[f'{name}_lo'])} – {column.fmt(row[f'{name}_hi'])}]"
    if name == "epoch_overhead_s" and is_number(row.get("steady_epoch_s")) and row["steady_epoch_s"] > 0:
        return f"{row[name] / row['steady_epoch_s']:.0%} of {fmt_seconds(row['steady_epoch_s'])}"
    if name == "first_epoch_s":
        return f"steady {fmt_seconds(row['steady_epoch_s'])}"
    if name == "fraction_of_peak" and is_number(row.get("achieved_flops_per_s")):
        return f"{row['achieved_flops_per_s'] / 1e9:.3g} GFLOP/s"
    if name == "time_to_target_s":
        return f"{row['n_reached']}/{row['n_ok']} reach {100 * row['target_val_accuracy']:g}%"
    return ""


PAIRED = {"step_s": False}  # column -> whether its ratio is the inverse (paired per round)


def _paired_versus(column: Column, ratio: PairedRatio, cell: Cell) -> None:
    """A step-time or throughput ratio to the best from per-round pairs, with its interval."""
    shown = ratio.inverse() if PAIRED[column.name] else ratio
    cell.versus_best = f"{shown.estimate:.2f}× best [{shown.low:.2f}–{shown.high:.2f}]"
    cell.tie = not ratio.clear
    cell.title = f"paired: {ratio.n_rounds} rounds of {ratio.n_groups} interleaved group(s); " + (
        "the interval includes 1: not clearly different" if cell.tie else "clearly different"
    )


def _cell(
    column: Column,
    row: pd.Series,
    best: float | None,
    best_row: pd.Series | None,
    paired: PairedIndex | None,
) -> Cell:
    value = row.get(column.name)
    if column.name == "time_to_target_s" and row["n_ok"] and not is_number(value):
        return Cell("not reached", note=_note(column, row))
    if not is_number(value):
        return Cell("—")
    cell = Cell(column.fmt(value), float(value), _note(column, row))
    cell.best = best is not None and value == best
    if best is None or cell.best or best_row is None:
        return cell
    ratio = paired.ratio(best_row, row) if paired is not None and column.name in PAIRED else None
    if ratio is not None:
        _paired_versus(column, ratio, cell)
        return cell
    mark = unpaired_mark(paired, best_row, row) if column.name in PAIRED else ""
    cell.versus_best = _versus(column, value, best) + mark
    cell.tie = column.has_ci and _overlaps(row, best_row, column.name)
    if cell.tie:
        cell.title = "95% CI overlaps the best one's: not clearly different"
    return cell


def _runs_text(row: pd.Series) -> str:
    text = f"{row['n_ok']}/{row['n_runs']} ok"
    others = {k: v for k, v in row["statuses"].items() if k != "ok"}
    return text + (" (" + ", ".join(f"{v} {k}" for k, v in sorted(others.items())) + ")" if others else "")


def _order(stats: pd.DataFrame) -> pd.DataFrame:
    return (
        stats.assign(_none=stats["n_ok"] == 0)
        .sort_values(["device", "_none", "step_s", "label"])
        .drop(columns="_none")
    )


def _device_rows(stats: pd.DataFrame, columns: list[Column], paired: PairedIndex | None) -> list[Row]:
    bests = {c.name: _best_value(stats[c.name], c.better) for c in columns}
    best_rows = {
        name: stats[stats[name] == value].iloc[0] if value is not None else None
        for name, value in bests.items()
    }
    rows = []
    for _, stat in stats.iterrows():
        row = Row(stat["label"], stat["impl"], stat["mode"], stat["device"], _runs_text(stat))
        row.cells = {c.name: _cell(c, stat, bests[c.name], best_rows[c.name], paired) for c in columns}
        rows.append(row)
    return rows


def headline_table(stats: pd.DataFrame, paired: PairedIndex | None = None) -> Table:
    """The table of one section (one machine, task and variant); ``stats`` from ``group_stats``,
    ``paired`` the per-round step times that make ratios paired where runs were interleaved."""
    columns = [c for c in COLUMNS if stats[c.name].map(is_number).any() or c.name == "step_s"]
    rows, unavailable = [], []
    for device, part in _order(stats).groupby("device", sort=True):
        nothing_ran = (part["n_ok"] == 0).all() and all(set(s) == {"unavailable"} for s in part["statuses"])
        if nothing_ran:
            reasons = sorted({r for found in part["reasons"] for r in found})
            unavailable.append(
                UnavailableDevice(str(device), "; ".join(reasons) or "no reason given", len(part))
            )
        else:
            rows += _device_rows(part, columns, paired)
    return Table(columns, rows, unavailable)
