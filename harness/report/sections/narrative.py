"""Plain-language sentences generated from the statistics, placed beside each table and figure.

"Agree" and "cannot be told apart" always mean the 95% confidence intervals overlap (for a paired
ratio: its interval includes 1); a claim that one implementation is faster or more accurate is
only made when they do not. Speed ratios between runs that were interleaved are paired per round
(:mod:`harness.compare.paired`); a ratio between runs that were not is called unpaired.
"""

from __future__ import annotations

import math

import pandas as pd

from harness.record.derived import median
from harness.record.format import fmt_percent, fmt_pp, fmt_seconds, is_number


def _ok(stats: pd.DataFrame, column: str) -> pd.DataFrame:
    return stats[stats[column].map(lambda v: isinstance(v, float | int) and math.isfinite(v))]


def _overlap(a: pd.Series, b: pd.Series, name: str) -> bool:
    return bool(a[f"{name}_lo"] <= b[f"{name}_hi"] and b[f"{name}_lo"] <= a[f"{name}_hi"])


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


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


def _onsets(runs: pd.DataFrame) -> dict[tuple[str, str], list[int | None]]:
    """Per (label, device): each analysed run's overfitting onset epoch (``None``: none found)."""
    out: dict[tuple[str, str], list[int | None]] = {}
    if runs.empty or "overfitting" not in runs:
        return out
    for (label, device), part in runs.groupby(["label", "device"]):
        found = [o for o in part["overfitting"] if isinstance(o, dict) and "onset_epoch" in o]
        out[(str(label), str(device))] = [o["onset_epoch"] for o in found]
    return out


def _one_sample(runs: pd.DataFrame, label: str, device: str) -> float:
    """The smallest change of validation accuracy: one validation sample of the label's runs."""
    if runs.empty or "n_val" not in runs:
        return math.nan
    sizes = runs.loc[(runs["label"] == label) & (runs["device"] == device), "n_val"].dropna()
    return 1.0 / float(sizes.median()) if len(sizes) and sizes.median() > 0 else math.nan


def overfitting_sentences(curves: pd.DataFrame, runs: pd.DataFrame) -> list[str]:
    """Which implementations overfit, and which only look as if they might.

    Overfitting is the lesson's: validation loss stops falling and rises while training loss still
    falls, found per run as its onset (:mod:`harness.record.overfitting`). It is claimed for an
    implementation only with :data:`MIN_SEEDS` seeds or more and an onset in at least half its runs;
    its validation accuracy's fall from the best epoch to the last is quoted where it is at least
    one validation sample (less is a single prediction flipping). A fall or an onset that misses
    these is named with the reason it is not a claim."""
    val = curves[curves["metric"] == "val_accuracy"]
    if val.empty:
        return []
    onsets = _onsets(runs)
    seeds = val.groupby(["label", "device"])["seed"].nunique()
    mean = val.groupby(["label", "device", "epoch"], as_index=False)["value"].mean()
    shown, weak = [], []
    for (label, device), curve in mean.groupby(["label", "device"], sort=True):
        best, last = curve.loc[curve["value"].idxmax()], curve.loc[curve["epoch"].idxmax()]
        drop = best["value"] - last["value"] if best["epoch"] < last["epoch"] else 0.0
        sample = _one_sample(runs, str(label), str(device))
        found = [e for e in onsets.get((str(label), str(device)), [])]
        hits = [e for e in found if e is not None]
        fell = drop > 0 and (not is_number(sample) or drop >= sample)
        fall = f"validation accuracy {fmt_pp(-drop)} from epoch {best['epoch']} to {last['epoch']}"
        if seeds[(label, device)] >= MIN_SEEDS and found and 2 * len(hits) >= len(found):
            text = f"{label} (an onset in {len(hits)} of {len(found)} runs, median epoch {median(hits):.0f}"
            shown.append(text + (f"; {fall})" if fell else ")"))
            continue
        why = []
        if seeds[(label, device)] < MIN_SEEDS and (hits or drop > 0):
            why.append("one seed")
        if drop > 0 and not fell:
            why.append(f"a fall of less than one validation sample ({fmt_pp(sample).lstrip('+')})")
        if found and (hits or drop > 0) and 2 * len(hits) < len(found):
            why.append(f"an onset in {len(hits)} of {len(found)} runs")
        if why:
            what = fall if drop > 0 else f"an onset in {len(hits)} of {len(found)} runs"
            weak.append(f"{label} ({what}: {', '.join(why)})")
    out = []
    if shown:
        out.append(f"Overfitting, validation loss rising while training loss falls: {_join(shown)}.")
    if weak:
        out.append(f"Not called overfitting: {_join(weak)}.")
    if not out:
        out.append("No sign of overfitting: no run's validation loss turned up while its training loss fell, "
                   "and validation accuracy ends at its best.")  # fmt: skip
    return out
