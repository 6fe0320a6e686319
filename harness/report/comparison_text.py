"""A comparison's numbers in words, the same on the page and in the terminal: an estimate with its
interval (``1.31x [1.25, 1.37]``; test accuracy as a change in percentage points, pp), and how
large a change each checked metric would have shown. The page's regression section
(:mod:`harness.report.sections.regression`) and the CLI's tables (:mod:`harness.cli.compare_view`)
both say them with these."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness.compare.check import ALL_PAIRS, Comparison
from harness.compare.thresholds import METRICS


def format_estimate(row: Comparison) -> str:
    """``1.31x [1.25, 1.37]`` for ratios, ``-5.2 pp [-6.1, -4.3]`` for accuracy, ``-`` when absent."""
    if not np.isfinite(row.estimate):
        return "-"
    if METRICS[row.metric].kind == "difference":
        text = f"{row.estimate * 100:+.1f} pp"
        ci = f" [{row.ci_low * 100:+.1f}, {row.ci_high * 100:+.1f}]"
    else:
        text, ci = f"{row.estimate:.2f}x", f" [{row.ci_low:.2f}, {row.ci_high:.2f}]"
    return text + (ci if np.isfinite(row.ci_low) and np.isfinite(row.ci_high) else "")


def resolution_lines(rows: Sequence[Comparison]) -> list[str]:
    """How large a change each checked metric would have shown: the whole run (all pairs) and
    one pair (the median pair, and the least certain one). Smaller changes can pass unseen."""
    out = []
    for metric_name, metric in METRICS.items():
        checked = [r for r in rows if r.metric == metric_name and r.threshold and np.isfinite(r.shown_beyond)]
        if not checked:
            continue
        pairs = sorted(r.shown_beyond for r in checked if r.key != ALL_PAIRS)
        whole = [r.shown_beyond for r in checked if r.key == ALL_PAIRS]

        def size(x: float, metric=metric) -> str:
            return (
                f"{-x * 100:+.1f} pp"
                if metric.kind == "difference"
                else f"{'-' if metric.higher_is_better else '+'}{x:.0%}"
            )

        parts = [f"the whole run's beyond {size(whole[0])}"] if whole else []
        if pairs:
            parts.append(
                f"one pair's beyond {size(float(np.median(pairs)))} "
                f"(median; {size(pairs[-1])} at the least certain)"
            )
        out.append(
            f"{metric.label}: a change is shown once it clears the limit and the noise: {', '.join(parts)}"
        )
    return out
