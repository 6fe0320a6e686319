"""The A/B gate's verdict as plain lines for a terminal and as Markdown (a CI job summary or a
pull-request comment), and a step-time ratio as the gate and a bisect step print it."""

from __future__ import annotations

import numpy as np

from harness.compare.gate import GateResult, GateRow
from harness.compare.verdicts import CANNOT_TELL, PASS, REGRESSION

_GATE_MARK = {PASS: "✅", REGRESSION: "❌", CANNOT_TELL: "⚠️"}


def ratio_text(estimate: float, low: float, high: float) -> str:
    """A step-time ratio of the gate (and of a bisect step): ``1.312x [1.250, 1.371]``; ``-``
    when there is none."""
    if not np.isfinite(estimate):
        return "-"
    return f"{estimate:.3f}x [{low:.3f}, {high:.3f}]"


def _gate_estimate(row: GateRow) -> str:
    if np.isfinite(row.estimate) and row.metric == "test_accuracy":
        return f"{row.estimate * 100:+.2f} pp [{row.low * 100:+.2f}, {row.high * 100:+.2f}]"
    return ratio_text(row.estimate, row.low, row.high)


def gate_text(result: GateResult, pairs: int, rounds: int) -> str:
    """The gate's verdict, sides, rule and rows as plain lines for a terminal."""
    lines = [f"A/B gate: {result.verdict.upper()} ({pairs} process pairs x {rounds} rounds, interleaved)"]
    lines += [f"  {side}: {text}" for side, text in result.sides.items()]
    lines += [f"  rule: {result.rule.describe()}", ""]
    width = max((len(row.run) for row in result.rows), default=10)
    for row in result.rows:
        estimate = _gate_estimate(row)
        cells = (f"{row.run:<{width}}", f"{row.metric:<13}", f"{estimate:<32}", f"{row.verdict:<12}")
        lines.append("  " + "  ".join(cells) + f"  {row.detail}")
    return "\n".join(lines)


def gate_markdown(result: GateResult, pairs: int, rounds: int) -> str:
    """The gate as Markdown for a CI job summary or a pull-request comment."""
    mark = _GATE_MARK[result.verdict]
    lines = [f"### A/B benchmark gate: {mark} {result.verdict}", ""]
    lines += [f"- **{side}**: `{text}`" for side, text in result.sides.items()]
    lines += [
        f"- **design**: {pairs} fresh process pairs x {rounds} rounds, both sides interleaved per round"
    ]
    lines += [f"- **rule**: {result.rule.describe()}", ""]
    lines += ["| run | metric | candidate vs baseline [95% CI] | verdict | detail |", "|---|---|---|---|---|"]
    for row in result.rows:
        verdict = f"{_GATE_MARK[row.verdict]} {row.verdict}"
        lines.append(f"| {row.run} | {row.metric} | {_gate_estimate(row)} | {verdict} | {row.detail} |")
    lines += [
        "",
        "<sub>Step time: candidate/baseline, the median of per-round ratios (both sides trained the same "
        "round back to back), with a bootstrap interval over process pairs, then rounds. Exit codes: 0 pass, "
        "1 regression, 2 unusable input, 3 cannot tell.</sub>",
    ]
    return "\n".join(lines) + "\n"
