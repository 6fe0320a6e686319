"""The comparison as a terminal table (rich) and as Markdown (a CI job summary or PR comment).

One line per pair, one column per metric: ``1.31x [1.25, 1.37]`` is current/baseline with its
confidence interval; test accuracy shows the change in percentage points (pp). The words shared
with the page are :mod:`harness.report.comparison_text`.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from harness.compare.check import ALL_PAIRS, CheckResult, Comparison, Unmatched
from harness.compare.thresholds import METRICS
from harness.compare.verdicts import CANNOT_TELL, PASS, REGRESSION, worst
from harness.record.format import fmt_value
from harness.record.keys import PairKey
from harness.report.comparison_text import format_estimate, resolution_lines

_STYLE = {REGRESSION: "bold red", CANNOT_TELL: "yellow"}
_MARK = {REGRESSION: "❌", CANNOT_TELL: "⚠️"}
_HEADERS = {"test_accuracy": "Δ test accuracy"}


def _labels(keys: Iterable[PairKey]) -> dict[PairKey, str]:
    keys = list(dict.fromkeys(keys))
    counts: dict[tuple[str, ...], int] = defaultdict(int)
    for key in keys:
        counts[key[:4]] += 1
    # several configs of the same task/impl/mode/device: tell them apart by a short config hash
    return {
        k: k.label.strip()
        + (f" cfg {hashlib.sha1(k.config.encode()).hexdigest()[:6]}" if counts[k[:4]] > 1 else "")
        for k in keys
    }


def _by_pair(rows: Sequence[Comparison]) -> dict[PairKey, dict[str, list[Comparison]]]:
    out: dict[PairKey, dict[str, list[Comparison]]] = {}
    for row in rows:
        out.setdefault(row.key, defaultdict(list))[row.metric].append(row)
    return out


def _thresholds_text(rows: Iterable[Comparison]) -> str:
    specs = {row.threshold.spec: row.threshold.describe() for row in rows if row.threshold}
    return "; ".join(specs.values()) or "none"


def _detail(row: Comparison, label: str) -> str:
    metric = METRICS[row.metric]
    name = f"{metric.label} ({row.statistic})"
    values = f"{fmt_value(row.baseline_value, metric.unit)} -> {fmt_value(row.current_value, metric.unit)}, "
    values = "" if row.key == ALL_PAIRS else values
    ci = f"{row.confidence:.0%} CI" if np.isfinite(row.ci_low) else "no CI"
    return f"{label}: {name} {values}{format_estimate(row)} ({ci}; {row.method}) - {row.status}"


def details(rows: Sequence[Comparison]) -> list[str]:
    """One plain line per row that regressed or cannot tell: values, estimate, interval, method."""
    labels = _labels(row.key for row in rows)
    return [_detail(row, labels[row.key]) for row in rows if row.status in (REGRESSION, CANNOT_TELL)]


def _style(row: Comparison) -> str:
    return _STYLE.get(row.status, "green" if row.improved else "")


def _pair_status(rows: Iterable[Comparison]) -> str:
    rows = list(rows)
    checked = [r.status for r in rows if r.status is not None]
    if not checked:
        return ""
    found = worst(checked)
    return "pass (faster)" if found == PASS and any(r.improved for r in rows) else str(found)


def summary_line(rows: Sequence[Comparison]) -> str:
    """``1 regression, 2 cannot tell, 3 faster, 14 pairs compared`` style headline."""
    pairs = [r for r in rows if r.key != ALL_PAIRS]
    counts = {s: len({r.key for r in pairs if r.status == s}) for s in (REGRESSION, CANNOT_TELL)}
    parts = [f"{n} {s}" for s, n in counts.items() if n]
    faster = len({r.key for r in pairs if r.improved})
    parts += [f"{faster} faster"] if faster else []
    n_pairs = len({r.key for r in pairs})
    return ", ".join([*parts, f"{n_pairs} pair{'' if n_pairs == 1 else 's'} compared"])


def render_table(rows: Sequence[Comparison], unmatched: Sequence[Unmatched] = (), title: str = "") -> object:
    """A :class:`rich.table.Table`: one line per pair, coloured by verdict."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title or summary_line(rows), show_lines=False)
    table.add_column("pair")
    for name, metric in METRICS.items():
        table.add_column(_HEADERS.get(name, metric.label), justify="right")
    table.add_column("verdict")
    labels = _labels(row.key for row in rows)
    for key, metrics in _by_pair(rows).items():
        cells = [_rich_cell(metrics.get(name, []), Text) for name in METRICS]
        status = _pair_status(r for rs in metrics.values() for r in rs)
        table.add_row(
            labels[key], *cells, Text(status, style=_STYLE.get(status, "green" if "faster" in status else ""))
        )
    for item in unmatched:
        table.add_row(item.key.label, *([""] * len(METRICS)), Text(f"only in {item.present_in}", style="dim"))
    return table


def _rich_cell(rows: list[Comparison], text_type: type) -> object:
    cell = text_type()
    for i, row in enumerate(rows):
        cell.append(("\n" if i else "") + format_estimate(row), style=_style(row))
    return cell


def verdict_line(result: CheckResult) -> str:
    """The check's answer in one line, in the one vocabulary."""
    pairs = [r for r in result.rows if r.key != ALL_PAIRS]
    n = len({r.key for r in pairs})
    if result.verdict == REGRESSION:
        found = sorted({r.label for r in result.rows if r.status == REGRESSION})
        if found == [ALL_PAIRS.label.strip()]:
            whole = next(r for r in result.rows if r.key == ALL_PAIRS and r.status == REGRESSION)
            return (
                f"regression: the whole run, {format_estimate(whole)}, every pair alike (none stands out): "
                "the machine slower than when the baseline ran, or a change common to every framework; "
                "the A/B gate (harness ab), which interleaves both sides, tells them apart"
            )
        return f"regression: {', '.join(found)}"
    if not pairs:
        return "cannot tell: no pair has runs on both sides that did not run beside other work (never a pass)"
    if result.verdict == CANNOT_TELL:
        unknown = len({r.key for r in pairs if r.status == CANNOT_TELL})
        return f"cannot tell: {unknown} of {n} pairs (never a pass)"
    return f"pass: no regression shown in {n} pairs"


def terminal_lines(result: CheckResult) -> tuple[list[str], list[str]]:
    """The plain lines printed around the table: sources and warnings before it; thresholds,
    flagged rows and unmatched pairs after it."""
    before = [f"{side}: {text}" for side, text in result.sources.items()]
    before += [f"warning: {w}" for w in result.warnings]
    after = [
        f"fail when: {_thresholds_text(result.rows)}",
        *resolution_lines(result.rows),
        *details(result.rows),
    ]
    after += [f"only in {u.present_in}: {u.key.label} - {u.reason}" for u in result.unmatched]
    return before, after


def _md_cell(rows: list[Comparison]) -> str:
    marks = [_MARK.get(r.status, "🟢" if r.improved else "") for r in rows]
    return "<br>".join(f"{format_estimate(r)} {m}".strip() for r, m in zip(rows, marks, strict=True)) or "-"


def render_markdown(
    rows: Sequence[Comparison], unmatched: Sequence[Unmatched] = (), sources: Mapping[str, str] | None = None
) -> str:
    """A Markdown summary: headline verdict, sources, the table, flagged details, unmatched pairs."""
    found = worst((r.status for r in rows if r.status is not None), empty=CANNOT_TELL)
    verdict = {REGRESSION: "❌ regression", CANNOT_TELL: "⚠️ cannot tell"}.get(
        found, "✅ pass: no regression shown"
    )
    lines = [f"### Benchmark comparison: {verdict}", ""]
    lines += [f"- **{side}**: `{text}`" for side, text in (sources or {}).items()]
    lines += [f"- **fail when**: {_thresholds_text(rows)}", f"- {summary_line(rows)}"]
    lines += [f"- {line}" for line in resolution_lines(rows)] + [""]
    headers = ["pair", *(_HEADERS.get(n, m.label) for n, m in METRICS.items()), "verdict"]
    lines += ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    labels = _labels(row.key for row in rows)
    for key, metrics in _by_pair(rows).items():
        status = _pair_status(r for rs in metrics.values() for r in rs)
        cells = [_md_cell(metrics.get(name, [])) for name in METRICS]
        verdict = f"{_MARK.get(status, '')} {status}".strip()
        lines.append(f"| {labels[key]} | " + " | ".join(cells) + f" | {verdict} |")
    flagged = details(rows)
    if flagged:
        lines += ["", "**Flagged**", ""] + [f"- {line}" for line in flagged]
    if unmatched:
        lines += ["", "**Not compared**", ""]
        lines += [f"- {u.key.label}: only in {u.present_in} ({u.reason})" for u in unmatched]
    lines += ["", _footnote(rows[0].confidence if rows else 0.95)]
    return "\n".join(lines) + "\n"


def _footnote(confidence: float) -> str:
    return (
        f"<sub>Ratios are current/baseline, paired by seed, with a {confidence:.0%} interval whose noise is "
        "the spread of every pair's ratio in this comparison; accuracy is the change in mean test accuracy, "
        "its noise a seed's. A row is a regression only when its whole interval is beyond the limit, and a "
        "pass otherwise (no regression shown; the lines above say how large a change would have shown); "
        "the all-pairs row is the typical pair, what moved everything. ⚠️ cannot tell = too few pairs "
        "to know the noise.</sub>"
    )
