"""Plain-language sentences generated from the statistics, placed beside each table and figure.

"Agree" and "cannot be told apart" always mean the 95% confidence intervals overlap (for a paired
ratio: its interval includes 1); a claim that one implementation is faster or more accurate is
only made when they do not. Speed ratios between runs that were interleaved are paired per round
(:mod:`harness.compare.paired`); a ratio between runs that were not is called unpaired.
"""

from __future__ import annotations

import math

import pandas as pd

from harness.compare.paired import PairedRatio, describe
from harness.record.derived import fmt_percent, fmt_pp, fmt_seconds, is_number
from harness.report.data.paired import AAFigure, PairedIndex, unpaired_mark


def _ok(stats: pd.DataFrame, column: str) -> pd.DataFrame:
    return stats[stats[column].map(lambda v: isinstance(v, float | int) and math.isfinite(v))]


def _overlap(a: pd.Series, b: pd.Series, name: str) -> bool:
    return bool(a[f"{name}_lo"] <= b[f"{name}_hi"] and b[f"{name}_lo"] <= a[f"{name}_hi"])


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _ratio(paired: PairedIndex | None, fast: pd.Series, slow: pd.Series) -> PairedRatio | None:
    return paired.ratio(fast, slow) if paired is not None else None


def _as_long(row: pd.Series, best: pd.Series, ratio: PairedRatio | None, paired: PairedIndex | None) -> str:
    if ratio is None:
        mark = unpaired_mark(paired, best, row)
        return f"{row['label']} takes {row['step_s'] / best['step_s']:.2f}× as long{mark}"
    return f"{row['label']} takes {ratio.estimate:.2f}× as long ({ratio.low:.2f}–{ratio.high:.2f})"


def speed_sentences(
    stats: pd.DataFrame, paired: PairedIndex | None = None, aa: dict[str, AAFigure] | None = None
) -> list[str]:
    """Per device: the fastest implementation per step and how many times slower the others are,
    paired per round where the runs were interleaved; with the device's A/A figure (``aa``), a
    ratio inside its band is a tie."""
    aa = aa or {}
    out = []
    for device, group in _ok(stats, "step_s").groupby("device", sort=True):
        ranked = group.sort_values("step_s")
        best = ranked.iloc[0]
        text = (
            f"On {device}, {best['label']} is fastest per step: {fmt_seconds(best['step_s'])} "
            f"(95% CI {fmt_seconds(best['step_s_lo'])} – {fmt_seconds(best['step_s_hi'])})"
        )
        rest = [(r, _ratio(paired, best, r)) for _, r in ranked.iloc[1:].iterrows()]
        others = [_as_long(r, best, ratio, paired) for r, ratio in rest]
        text += "; " + _join(others) + "." if others else "; it is the only implementation measured."
        ties = [
            r["label"] for r, ratio in rest if (not ratio.clear if ratio else _overlap(r, best, "step_s"))
        ]
        figure = aa.get(str(device))
        in_band = [
            r["label"]
            for r, ratio in rest
            if ratio is not None and r["label"] not in ties and figure and figure.tie(ratio.estimate)
        ]
        if ties:
            text += f" {_join(ties)} cannot be told apart from it (the intervals include no difference)."
        if in_band:
            text += f" {_join(in_band)} differ from it by no more than the A/A twin does: a tie."
        if any(ratio is not None for _, ratio in rest):
            text += " Ratios are paired per round of interleaved epochs, with their 95% interval."
        out.append(text)
    return out


def throughput_sentences(stats: pd.DataFrame) -> list[str]:
    """Per device: the highest and lowest steady-state training throughput."""
    out = []
    for device, group in _ok(stats, "samples_per_s").groupby("device", sort=True):
        ranked = group.sort_values("samples_per_s", ascending=False)
        top, low = ranked.iloc[0], ranked.iloc[-1]
        text = f"On {device}, {top['label']} trains {top['samples_per_s']:,.0f} samples/s"
        if len(ranked) > 1:
            text += f", {top['samples_per_s'] / low['samples_per_s']:.2f}× the {low['label']} rate"
        out.append(text + ".")
    return out


def sync_sentences(stats: pd.DataFrame) -> list[str]:
    """How much longer a single synchronised step takes than a steady-state step, per device."""
    out = []
    for device, group in _ok(_ok(stats, "step_s"), "single_step_s").groupby("device", sort=True):
        ratio = (group["single_step_s"] / group["step_s"]).rename("ratio")
        most, least = group.loc[ratio.idxmax()], group.loc[ratio.idxmin()]
        text = (
            f"On {device}, a single synchronised step takes {ratio.max():.2f}× the steady-state step time "
            f"in {most['label']} and {ratio.min():.2f}× in {least['label']}"
        )
        if ratio.min() >= 1:
            text += ": the cost of waiting for the device after every step, which an epoch amortises"
        else:
            text += "; below 1×, an epoch does work that single steps skip, or the machine was noisy"
        out.append(text + ".")
    return out


MIN_SEEDS = 2  # below this an accuracy difference between implementations is never claimed


def _accuracy_ranking(stats: pd.DataFrame) -> tuple[pd.Series | None, list[str]]:
    """The row with the highest mean test accuracy, and the rows whose interval lies below it
    (only rows of at least :data:`MIN_SEEDS` seeds are ever called lower)."""
    group = _ok(stats, "test_accuracy").sort_values("test_accuracy", ascending=False)
    if group.empty:
        return None, []
    best = group.iloc[0]
    lower = [
        f"{r['label']} on {r['device']}"
        for _, r in group.iloc[1:].iterrows()
        if _seeds(r) >= MIN_SEEDS and _seeds(best) >= MIN_SEEDS and not _overlap(r, best, "test_accuracy")
    ]
    return best, lower


def _seeds(row: pd.Series) -> int:
    n = pd.to_numeric(row.get("test_accuracy_n"), errors="coerce")
    return int(n) if is_number(float(n)) else 0


def accuracies_agree(stats: pd.DataFrame) -> bool:
    """True when more than one implementation has a test accuracy and every interval overlaps
    the best one's."""
    best, lower = _accuracy_ranking(stats)
    timed = _ok(stats, "test_accuracy")
    enough = len(timed) > 1 and all(_seeds(r) >= MIN_SEEDS for _, r in timed.iterrows())
    return best is not None and enough and not lower


def accuracy_sentences(stats: pd.DataFrame) -> list[str]:
    """Which implementation has the highest mean test accuracy and which agree with it."""
    best, lower = _accuracy_ranking(stats)
    if best is None:
        return []
    text = (
        f"Test accuracy is highest for {best['label']} on {best['device']} "
        f"({fmt_percent(best['test_accuracy'])}, "
        + (f"mean of {_seeds(best)} seeds)" if _seeds(best) >= MIN_SEEDS else "one seed)")
    )
    if len(_ok(stats, "test_accuracy")) == 1:
        return [text + "."]
    if _seeds(best) < MIN_SEEDS:
        return [text + "; one seed: the implementations' accuracies are not compared (that needs 2+ seeds)."]
    if not lower:
        return [text + "; all implementations agree within their 95% confidence intervals."]
    return [
        text + f"; {_join(lower)} {'is' if len(lower) == 1 else 'are'} lower (the intervals do not overlap)."
    ]


def headline_sentence(
    stats: pd.DataFrame, paired: PairedIndex | None = None, aa: dict[str, AAFigure] | None = None
) -> str:
    """One line: fastest vs slowest per step on the first device (with its A/A figure), and
    whether accuracies agree."""
    timed = _ok(stats, "step_s")
    if timed.empty:
        return "No run of this task finished, so there is nothing to compare."
    device = sorted(timed["device"].unique())[0]
    ranked = timed[timed["device"] == device].sort_values("step_s")
    fast, slow = ranked.iloc[0], ranked.iloc[-1]
    text = f"{fast['label']} is fastest per step on {device}"
    if len(ranked) > 1:
        ratio = _ratio(paired, fast, slow)
        factor = ratio.estimate if ratio is not None else slow["step_s"] / fast["step_s"]
        how = " (paired per round)" if ratio is not None else unpaired_mark(paired, fast, slow)
        text += f", {factor:.1f}× faster than {slow['label']}{how}"
    figure = (aa or {}).get(str(device))
    if figure is not None:
        text += f" (A/A {describe(figure.ratio)})" if figure.ratio else " (A/A figure unavailable)"
    agree = accuracies_agree(stats)
    return text + ("; test accuracies agree within their confidence intervals." if agree else ".")


def warmup_sentences(stats: pd.DataFrame) -> list[str]:
    """The largest first-epoch overhead (tracing, compilation, warm-up) over a steady epoch."""
    group = _ok(_ok(stats, "first_epoch_s"), "steady_epoch_s")
    if group.empty:
        return []
    extra = (group["first_epoch_s"] - group["steady_epoch_s"]).rename("extra")
    worst, least = group.loc[extra.idxmax()], group.loc[extra.idxmin()]
    return [
        f"The first epoch costs most in {worst['label']} on {worst['device']}: "
        f"{fmt_seconds(extra.max())} more than a steady epoch ({fmt_seconds(worst['first_epoch_s'])} vs "
        f"{fmt_seconds(worst['steady_epoch_s'])}); least in {least['label']} "
        f"({fmt_seconds(extra.min())} more). This one-off cost is kept out of the step time."
    ]


def target_sentences(stats: pd.DataFrame) -> list[str]:
    """Who reaches the target validation accuracy first, and who does not reach it at all."""
    out = []
    reached = _ok(stats, "time_to_target_s").sort_values("time_to_target_s")
    if not reached.empty:
        first = reached.iloc[0]
        out.append(
            f"{first['label']} on {first['device']} reaches {fmt_percent(first['target_val_accuracy'])} "
            f"validation accuracy first, after {fmt_seconds(first['time_to_target_s'])} of training "
            "(median over the seeds that reached it)."
        )
    missed = stats[(stats["n_ok"] > 0) & (stats["n_reached"] < stats["n_ok"])]
    for _, row in missed.iterrows():
        missing = row["n_ok"] - row["n_reached"]
        out.append(f"{missing} of {row['n_ok']} {row['label']} seeds never reached the target.")
    return out


def gap_sentences(stats: pd.DataFrame) -> list[str]:
    """The largest generalization gap and whether the gaps differ."""
    group = _ok(stats, "gap").sort_values("gap", ascending=False)
    if group.empty:
        return []
    top = group.iloc[0]
    text = (
        f"The generalization gap (final train minus validation accuracy) is largest for {top['label']} "
        f"on {top['device']}: {fmt_pp(top['gap'])}"
    )
    if len(group) > 1:
        same = all(_overlap(r, top, "gap") for _, r in group.iloc[1:].iterrows())
        text += "; the gaps agree within their confidence intervals." if same else "; the gaps differ."
    return [text]


def best_epoch_sentences(history: pd.DataFrame, tolerance: float = 0.001) -> list[str]:
    """Where mean validation accuracy peaks: at the end, or earlier and more than ``tolerance``
    (0.1 pp: below that a drop is seed noise on these tasks) above the final value (overfitting)."""
    val = history[history["metric"] == "val_accuracy"]
    if val.empty:
        return []
    mean = val.groupby(["label", "device", "epoch"], as_index=False)["value"].mean()
    early = []
    for (label, device), curve in mean.groupby(["label", "device"], sort=True):
        best, last = curve.loc[curve["value"].idxmax()], curve.loc[curve["epoch"].idxmax()]
        if best["epoch"] < last["epoch"] and best["value"] - last["value"] > tolerance:
            drop = fmt_pp(last["value"] - best["value"])
            early.append(
                f"{label} on {device} at epoch {best['epoch']} of {last['epoch']} ({drop} by the end)"
            )
    if not early:
        return [
            "Mean validation accuracy is at its best (within 0.1 pp) at the last epoch for every "
            "implementation: no sign of overfitting yet."
        ]
    return [
        f"Mean validation accuracy peaks before the last epoch for {_join(early)}: a sign of overfitting."
    ]
