"""Pure functions from tidy DataFrames to matplotlib figures (seaborn, Agg), and PNG data URIs.

Every figure of the page is drawn here, from the :class:`~harness.report.data.plot.Plot` requests
the sections make (:func:`draw_all`); sections never draw. Figures are built as
:class:`matplotlib.figure.Figure` objects, never through pyplot, so no global
figure state is kept and nothing needs a display. Confidence intervals are computed by
:mod:`harness.report.data.summary`; figures drawn with matplotlib take them as whiskers
(:func:`_whiskers`), and for seaborn's bars each bar is given three values (low, estimate, high)
with ``estimator="median"`` and ``errorbar=("pi", 100)``.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import inspect
import io
from collections.abc import Callable
from typing import Any, ParamSpec

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from harness.report.data.plot import Plot  # noqa: E402

P = ParamSpec("P")
DPI = 96
STYLE = {"axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 9}
TEXT_COLUMNS = ("label", "device", "row", "name", "group")
PANELS = (("train_loss", "val_loss"), ("train_accuracy", "val_accuracy"))
MODE_MARKERS = ("s", "^", "D", "v", "P", "X")  # scaling: one marker per non-default mode


def plain(text: str) -> str:
    """``text`` as matplotlib shows it literally: a ``$`` would otherwise start mathtext."""
    return str(text).replace("$", r"\$")


def _plain_frame(value: object) -> object:
    if isinstance(value, pd.DataFrame):
        columns = [c for c in TEXT_COLUMNS if c in value.columns]
        return value.assign(**{c: value[c].map(plain) for c in columns}) if columns else value
    return value


def _styled(draw: Callable[P, Figure]) -> Callable[P, Figure]:
    """Draw inside the report's style, with the text columns of every DataFrame argument made plain."""

    @functools.wraps(draw)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Figure:
        args = tuple(_plain_frame(a) for a in args)
        with matplotlib.rc_context(STYLE), sns.axes_style("whitegrid"):
            return draw(*args, **kwargs)

    return wrapper


def palette(labels: list[str]) -> dict[str, tuple[float, float, float]]:
    """One colour per implementation label (made :func:`plain`), the same in every figure."""
    colours = sns.color_palette("tab10" if len(labels) <= 10 else "tab20", max(len(labels), 1))
    return {plain(label): colours[i % len(colours)] for i, label in enumerate(sorted(labels))}


def to_data_uri(fig: Figure) -> str:
    """The figure as a ``data:image/png;base64,...`` URI, for embedding in the HTML."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)  # constrained layout already fits the labels
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _height(n_rows: int, per_row: float = 0.45, minimum: float = 2.2) -> float:
    return max(minimum, 0.9 + per_row * n_rows)


def _row_label(frame: pd.DataFrame) -> pd.Series:
    """``label`` alone when one device is shown, else ``label (device)``."""
    if frame["device"].nunique() <= 1:
        return frame["label"]
    return frame["label"] + " (" + frame["device"] + ")"


def _interval_long(stats: pd.DataFrame, name: str, scale: float = 1.0) -> pd.DataFrame:
    """Three rows per configuration (low, estimate, high) so seaborn's 100% interval is the CI."""
    parts = [stats.assign(value=stats[column] * scale) for column in (f"{name}_lo", name, f"{name}_hi")]
    return pd.concat(parts, ignore_index=True)


@_styled
def step_time_figure(epochs: pd.DataFrame, colours: dict) -> Figure:
    """Box plots of the time per step of each implementation and device: one sample per steady
    epoch (its steps over their number, the epoch overhead left out), the fastest on top."""
    n_rows = epochs.groupby(["label", "device"]).ngroups
    fig = Figure(figsize=(7.0, _height(n_rows, 0.36)), layout="constrained")
    ax = fig.subplots()
    order = epochs.groupby("label")["step_s"].median().sort_values().index.tolist()
    data = epochs.assign(step_ms=epochs["step_s"] * 1e3)
    sns.boxplot(data=data, x="step_ms", y="label", hue="device", order=order, ax=ax, fliersize=2,
                linewidth=0.8, legend=data["device"].nunique() > 1)  # fmt: skip
    ax.set(xlabel="time per step (ms), one sample per steady epoch", ylabel="")
    _log_if_wide(ax, data["step_ms"])
    return fig


def _log_if_wide(ax: object, values: pd.Series, ratio: float = 30.0) -> None:
    positive = values[values > 0]
    if len(positive) and positive.max() / positive.min() > ratio:
        ax.set_xscale("log")


@_styled
def warmup_figure(stats: pd.DataFrame) -> Figure:
    """One-off costs (import, build, first epoch) beside a steady epoch, per implementation."""
    phases = {
        "import_s": "import",
        "build_s": "build",
        "first_epoch_s": "first epoch",
        "steady_epoch_s": "steady epoch",
    }
    data = stats[stats["first_epoch_s"].notna()].sort_values(["device", "step_s"])
    data = data.assign(row=_row_label(data))
    long = data.melt(id_vars=["row"], value_vars=list(phases), var_name="phase", value_name="seconds")
    long = long.dropna().assign(phase=lambda d: d["phase"].map(phases))
    fig = Figure(figsize=(7.5, _height(len(data), 0.75)), layout="constrained")
    ax = fig.subplots()
    sns.barplot(
        data=long,
        x="seconds",
        y="row",
        hue="phase",
        hue_order=list(phases.values()),
        ax=ax,
        errorbar=None,
        palette="mako",
    )
    ax.set_xscale("log")
    ax.set(xlabel="seconds (median over seeds, log scale)", ylabel="")
    ax.legend(loc="lower right", frameon=True)
    return fig


def _best_epochs(mean: pd.DataFrame) -> pd.DataFrame:
    """Per implementation and device, the epoch of the highest mean validation accuracy."""
    val = mean[mean["metric"] == "val_accuracy"]
    return val.loc[val.groupby(["label", "device"])["value"].idxmax(), ["label", "device", "epoch"]]


DEVICE_LINES = ("-", "--", ":", "-.")  # curves: one line style per device when several are shown


def _whiskers(value: pd.Series, low: pd.Series, high: pd.Series) -> list[pd.Series]:
    """matplotlib's ``[below, above]`` error lengths for an interval ``[low, high]`` around
    ``value``: never negative, none where a bound is missing."""
    return [(value - low).clip(lower=0).fillna(0), (high - value).clip(lower=0).fillna(0)]


def _interval_errorbars(ax: object, data: pd.DataFrame, name: str, scale: float, colours: dict) -> None:
    """One dot per row of ``data`` at ``name`` with whiskers from ``name_lo`` to ``name_hi``,
    coloured by label; row ``i`` sits at y = ``i``, the first row on top."""
    for label, part in data.groupby("label", sort=False):
        value = part[name] * scale
        xerr = _whiskers(value, part[f"{name}_lo"] * scale, part[f"{name}_hi"] * scale)
        ax.errorbar(value, part["y"], xerr=xerr, fmt="o", markersize=7, capsize=4,
                    elinewidth=2, capthick=2, color=colours.get(label))  # fmt: skip
    ax.grid(False, axis="y")


@_styled
def curves_figure(curves: pd.DataFrame, colours: dict) -> Figure:
    """Loss and accuracy per epoch, train (left) and validation (right): mean over seeds with a
    ±1 standard deviation band; a star marks each implementation's best-validation epoch.

    Drawn with matplotlib directly from the per-epoch mean and standard deviation (pandas), one
    line and one band per implementation and device: seaborn's line plot took most of the
    report's time for the same picture."""
    fig = Figure(figsize=(8.0, 6.4), layout="constrained")
    axes = fig.subplots(2, 2, sharex=True)
    keys = ["label", "device", "metric", "epoch"]
    agg = curves.groupby(keys, as_index=False)["value"].agg(["mean", "std"])
    mean = agg.rename(columns={"mean": "value"})
    best = _best_epochs(mean).merge(mean, on=["label", "device", "epoch"])
    devices = sorted(curves["device"].unique())
    dashes = {d: DEVICE_LINES[i % len(DEVICE_LINES)] for i, d in enumerate(devices)}
    for row, metrics in enumerate(PANELS):
        for col, metric in enumerate(metrics):
            ax = axes[row][col]
            part = agg[agg["metric"] == metric]
            for (label, device), line in part.groupby(["label", "device"], sort=True):
                line = line.sort_values("epoch")
                colour = colours.get(label)
                name = label if len(devices) == 1 else f"{label} ({device})"
                ax.plot(line["epoch"], line["mean"], color=colour, linestyle=dashes[device],
                        linewidth=1.5, label=name)  # fmt: skip
                band = line["std"].notna()
                if band.any():
                    low = line["mean"][band] - line["std"][band]
                    high = line["mean"][band] + line["std"][band]
                    ax.fill_between(line["epoch"][band], low, high, color=colour, alpha=0.2, linewidth=0)
            marks = best[best["metric"] == metric]
            if metric.startswith("val") and not marks.empty:
                ax.scatter(
                    marks["epoch"],
                    marks["value"],
                    marker="*",
                    s=110,
                    zorder=5,
                    c=[colours[label] for label in marks["label"]],
                    edgecolors="black",
                    linewidths=0.5,
                )
            ax.set(title=metric.replace("_", " "), ylabel="", xlabel="epoch" if row == 1 else "")
            if "accuracy" in metric:
                ax.set_ylim(top=min(1.0, ax.get_ylim()[1]))  # an accuracy never passes 100%
    handles, names = axes[0][1].get_legend_handles_labels()
    if handles:  # below the panels, never over the curves
        fig.legend(handles, names, loc="outside lower center", ncol=min(5, len(names)), frameon=False)
    return fig


@_styled
def accuracy_figure(stats: pd.DataFrame, colours: dict) -> Figure:
    """Test accuracy and generalization gap per implementation: mean over seeds, 95% CI, as a
    dot with whiskers per implementation (and device), the most accurate on top."""
    data = stats[stats["test_accuracy"].notna()].sort_values("test_accuracy", ascending=False)
    data = data.assign(row=_row_label(data), y=range(len(data)))
    fig = Figure(figsize=(10, _height(len(data))), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, (name, title) in zip(
        axes, (("test_accuracy", "test accuracy (%)"), ("gap", "train − val accuracy (pp)")), strict=True
    ):
        _interval_errorbars(ax, data, name, 100.0, colours)
        ax.set(xlabel=title + ", mean ± 95% CI over seeds", ylabel="")
        if name == "test_accuracy":
            ax.set_xlim(right=min(100.0, ax.get_xlim()[1]))  # an interval may pass 100%; an accuracy cannot
    axes[0].set_yticks(data["y"].tolist(), data["row"].tolist())
    axes[0].set_ylim(len(data) - 0.5, -0.5)  # the first row on top, as a table reads
    axes[1].axvline(0, color="grey", linewidth=0.8)
    return fig


@_styled
def study_figure(study: pd.DataFrame, colours: dict, factors: dict[str, str]) -> Figure:
    """The overfitting study: final gap (top) and onset epoch (bottom) against each factor's levels,
    one column per factor, per implementation; mean over seeds with a 95% bootstrap CI band."""
    present = [f for f in factors if f in set(study["factor"])]
    fig = Figure(figsize=(3.6 * len(present) + 1.5, 6.0), layout="constrained")
    axes = fig.subplots(2, len(present), squeeze=False)
    for col, factor in enumerate(present):
        data = study[study["factor"] == factor].rename(columns={"label": "implementation"})
        order = data.sort_values("order")["level"].drop_duplicates().tolist()
        for row, (metric, title) in enumerate(
            (("gap", "train − val accuracy"), ("onset_epoch", "onset epoch"))
        ):
            ax = axes[row][col]
            sns.pointplot(
                data=data.dropna(subset=[metric]),
                x="level",
                y=metric,
                hue="implementation",
                order=order,
                palette=colours,
                errorbar=("ci", 95),
                dodge=0.4,
                capsize=0.1,
                linestyle="none" if factor == "cure" else "-",  # cures are categories, not a trend
                legend=(row == 0 and col == len(present) - 1),
                ax=ax,
            )
            ax.set(title=f"{title} vs {factors[factor]}", xlabel=factors[factor], ylabel="")
            ax.tick_params(axis="x", labelrotation=20)
    last = axes[0][len(present) - 1]
    if last.get_legend() is not None:
        sns.move_legend(last, "upper left", bbox_to_anchor=(1.02, 1), frameon=False)
    return fig


HISTORY_PANELS = {  # metric: (axis label, scale)
    "step_time": ("step time (ms), median, 95% CI", 1e3),
    "throughput": ("samples / s, median, 95% CI", 1.0),
    "test_accuracy": ("test accuracy (%), mean, 95% CI", 100.0),
}


@_styled
def history_figure(history: pd.DataFrame, colours: dict, marks: list | None = None) -> Figure:
    """Headline metrics over stored runs (airspeed velocity's graphs): one row per metric, one
    column per task, one line per ``label``; x is the run date (``run_at``), ticks name the commit
    (``tick``), whiskers the 95% CI (``ci_low``, ``ci_high``) where the frame has it (the
    newest commits: a year of nights is a line, not 365 whiskers). ``marks``: change points
    ``(task, run_at, label)``, drawn as dashed lines in the task's step-time panel."""
    tasks = sorted(history["task"].unique())
    metrics = [m for m in HISTORY_PANELS if m in set(history["metric"])]
    fig = Figure(figsize=(1.5 + 4.2 * len(tasks), 0.6 + 2.4 * len(metrics)), layout="constrained")
    axes = fig.subplots(len(metrics), len(tasks), squeeze=False, sharex=True)
    ticks = history.drop_duplicates("run_at").sort_values("run_at")
    ticks = ticks.iloc[:: max(1, len(ticks) // 8)]  # at most ~8 labels: a long history stays legible
    for row, metric in enumerate(metrics):
        title, scale = HISTORY_PANELS[metric]
        for col, task in enumerate(tasks):
            ax = axes[row][col]
            part = history[(history["metric"] == metric) & (history["task"] == task)]
            for label, line in part.sort_values("run_at").groupby("label", sort=True):
                value = line["value"] * scale
                colour = colours.get(label)
                ax.plot(line["run_at"], value, linewidth=1.2, color=colour, label=label)
                whiskers = line["ci_low"].notna() & line["ci_high"].notna()  # the newest commits
                if whiskers.any():
                    shown, v = line[whiskers], value[whiskers]
                    yerr = _whiskers(v, shown["ci_low"] * scale, shown["ci_high"] * scale)
                    ax.errorbar(shown["run_at"], v, yerr=yerr, fmt="o", markersize=4,
                                capsize=3, color=colour)  # fmt: skip
            for mark_task, x, label in marks or []:
                if metric == "step_time" and mark_task == task:
                    ax.axvline(x, color=colours.get(label), linestyle="--", linewidth=1.0, alpha=0.8)
            ax.set(title=f"{task}: {metric.replace('_', ' ')}", ylabel=title if col == 0 else "", xlabel="")
            ax.set_xticks(ticks["run_at"].tolist(), [plain(t) for t in ticks["tick"]])
            ax.tick_params(axis="x", labelsize=8)
    legend = {
        label: handle
        for ax in axes.flat
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True)
    }
    if legend:  # a figure legend: constrained layout gives it its own column, the axes keep theirs
        fig.legend(legend.values(), legend.keys(), loc="outside right upper", frameon=False)
    return fig


@_styled
def scaling_figure(frame: pd.DataFrame, colours: dict) -> Figure:
    """Left: step time against batch size (log-log); right: percent of the matmul peak.
    One colour per implementation, a dashed line and its own marker per non-default mode."""
    has_peak = frame["fraction_of_peak"].notna().any()
    fig = Figure(figsize=(11.5 if has_peak else 6.5, 4.4), layout="constrained")
    axes = fig.subplots(1, 2 if has_peak else 1, squeeze=False)[0]
    panels = [("step_s", 1e3, "step time (ms)", "log")]
    if has_peak:
        panels.append(("fraction_of_peak", 100, "% of the matmul peak", "linear"))
    sizes = sorted(frame["batch_size"].unique())
    others = sorted(m for m in frame["mode"].unique() if m != "default")
    markers = {m: MODE_MARKERS[i % len(MODE_MARKERS)] for i, m in enumerate(others)}
    for ax, (column, scale, ylabel, yscale) in zip(axes, panels, strict=True):
        for label, line in frame.sort_values("batch_size").groupby("label", sort=True):
            impl, mode = line["impl"].iloc[0], line["mode"].iloc[0]
            style = (
                {"linestyle": "-", "marker": "o"}
                if mode == "default"
                else {"linestyle": "--", "marker": markers[mode]}
            )
            ax.plot(line["batch_size"], line[column] * scale, markersize=5, linewidth=1.3,
                    color=colours.get(impl), label=label, **style)  # fmt: skip
        ax.set(xscale="log", yscale=yscale, xlabel="batch size", ylabel=ylabel)
        ax.set_xticks(sizes, [str(b) for b in sizes])
        if yscale == "linear":
            ax.set_ylim(bottom=0)
    axes[-1].legend(loc="upper left", bbox_to_anchor=(1.02, 1), frameon=False)
    return fig


@_styled
def step_model_figure(points: pd.DataFrame, curves: pd.DataFrame, colours: dict) -> Figure:
    """Time per step against training FLOPs per step, both logarithmic: each implementation's
    networks as points (their median step), its model along one network widened as a line."""
    fig = Figure(figsize=(6.4, 4.4), layout="constrained")
    ax = fig.subplots()
    for label, line in curves.groupby("label", sort=True):
        colour = colours.get(label)
        ax.plot(line["flops"], line["step_s"] * 1e3, color=colour, linewidth=1.3, label=label)
        mine = points[points["label"] == label]
        ax.scatter(mine["flops"], mine["step_s"] * 1e3, color=colour, s=22, zorder=3)
    ax.set(xscale="log", yscale="log", xlabel="training FLOPs per step", ylabel="time per step (ms)")
    ax.legend(loc="upper left", fontsize=8, frameon=False, ncol=2)
    return fig


DRAWERS: dict[str, Callable[..., Figure]] = {
    "step_time": step_time_figure,
    "warmup": warmup_figure,
    "curves": curves_figure,
    "accuracy": accuracy_figure,
    "study": study_figure,
    "history": history_figure,
    "scaling": scaling_figure,
    "step_model": step_model_figure,
}


def draw(plot: Plot) -> str:
    """``plot`` drawn: its data URI (set on it too); colours from its labels where it takes any."""
    if not plot.uri:
        draw_fn = DRAWERS[plot.kind]
        takes_colours = "colours" in inspect.signature(draw_fn).parameters
        extra = {"colours": palette(plot.labels)} if takes_colours else {}
        plot.uri = to_data_uri(draw_fn(**plot.data, **extra))
    return plot.uri


def draw_all(views: Any) -> int:
    """Draw every :class:`Plot` reachable from ``views`` (dataclasses, lists, dicts); how many."""
    seen = 0
    stack = [views]
    while stack:
        item = stack.pop()
        if isinstance(item, Plot):
            draw(item)
            seen += 1
        elif dataclasses.is_dataclass(item) and not isinstance(item, type):
            stack.extend(getattr(item, f.name) for f in dataclasses.fields(item))
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return seen
