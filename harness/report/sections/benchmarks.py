"""The micro-benchmarks section: a sentence per group and the formatted table rows."""

from __future__ import annotations

from typing import Any

import pandas as pd

from harness.record.derived import fmt_seconds


def benchmark_sentences(frame: pd.DataFrame) -> list[str]:
    """Per group: the fastest benchmark and how many times slower the others are."""
    out = []
    for (_, group), data in frame.groupby(["file", "group"], sort=False):
        ranked = data.sort_values("median_s")
        best = ranked.iloc[0]
        others = [f"{r['name']} {r['ratio_to_fastest']:.2f}×" for _, r in ranked.iloc[1:].iterrows()]
        text = f"In {group}, {best['name']} is fastest ({fmt_seconds(best['median_s'])} median)"
        out.append(text + ("; " + ", ".join(others) + " as long." if others else "."))
    return out


def benchmark_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The table rows, with times formatted (``2.31 ms``, ``512 µs``)."""
    rows = frame.to_dict("records")
    for row in rows:
        row["median"] = fmt_seconds(row["median_s"])
        row["mean_stddev"] = f"{fmt_seconds(row['mean_s'])} ± {fmt_seconds(row['stddev_s'])}"
    return rows
