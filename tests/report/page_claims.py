"""Reads a rendered report page back and lists every sentence or cell that disagrees with the
numbers beside it: a page is checked as a reader reads it, not as the code meant it.

What it holds the page to:

- a fast path's ratio to its default (Execution modes) agrees with the two step times shown in
  its row (the mode's and its default's on the same seeds): the same direction, and within
  :data:`RATIO_SLACK` (a paired median of per-round ratios and a ratio of medians of the same
  epochs differ a little, never in direction or by a quarter);
- the cross-task answer's fastest time per step is the step-time cell of the task's table;
- the page's counts of records say the same thing in its header and in "What ran";
- a style ratio in the answer is the one quoted in the task's verdict lines.
"""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser

RATIO_SLACK = 1.25


class _Rows(HTMLParser):
    """Table rows as lists of (attributes, text) cells, by table class."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[dict[str, str], list[list[tuple[dict[str, str], str]]]]] = []
        self.cell: tuple[dict[str, str], list[str]] | None = None
        self.row: list[tuple[dict[str, str], str]] | None = None
        self.row_attrs: dict[str, str] = {}
        self.depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "table":
            self.tables.append((found, []))
        elif tag == "tr" and self.tables:
            self.row, self.row_attrs = [], found
        elif tag in ("td", "th") and self.row is not None:
            self.cell = (found, [])
        elif tag == "br" and self.cell is not None:
            self.cell[1].append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None and self.row is not None:
            self.row.append((self.cell[0], "".join(self.cell[1]).strip()))
            self.cell = None
        elif tag == "tr" and self.row is not None and self.tables:
            self.tables[-1][1].append([({"_row": "1", **self.row_attrs}, ""), *self.row])
            self.row = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell[1].append(data)


def _tables(html: str, klass: str) -> list[list[list[tuple[dict[str, str], str]]]]:
    parser = _Rows()
    parser.feed(html)
    return [rows for attrs, rows in parser.tables if klass in attrs.get("class", "").split()]


def _seconds(text: str) -> float:
    found = re.match(r"\s*([0-9.]+)\s*(s|ms|µs)", text)
    if not found:
        return math.nan
    return float(found.group(1)) * {"s": 1.0, "ms": 1e-3, "µs": 1e-6}[found.group(2)]


def _quoted_ratio(text: str) -> float:
    """``1.68× faster`` -> 1/1.68; ``1.10× slower`` -> 1.10 (mode over default)."""
    found = re.match(r"\s*([0-9.]+)× (faster|slower)", text)
    if not found:
        return math.nan
    value = float(found.group(1))
    return 1 / value if found.group(2) == "faster" else value


def modes_contradictions(html: str) -> list[str]:
    """Each Execution modes row whose ratio to its default disagrees with the step times beside it."""
    out = []
    for rows in _tables(html, "modes-table"):
        for row in rows:
            cells = {a.get("data-col"): (a, t) for a, t in row[1:] if a.get("data-col")}
            if "vs_default" not in cells or not cells["vs_default"][1]:
                continue
            quoted = _quoted_ratio(cells["vs_default"][1])
            mode_s = float(cells["step_s"][0].get("data-value", "nan"))
            default_s = float(cells["default_step"][0].get("data-value", "nan") or "nan")
            if not all(map(math.isfinite, (quoted, mode_s, default_s))):
                out.append(f"{row[1][1]} {row[2][1]}: a ratio without the step times it compares")
                continue
            shown = mode_s / default_s
            same_way = (quoted < 1) == (shown < 1) or abs(math.log(shown)) < math.log(1.03)
            if not same_way or abs(math.log(quoted / shown)) > math.log(RATIO_SLACK):
                out.append(
                    f"{row[1][1]} [{row[2][1]}]: '{cells['vs_default'][1]}' its default, but its step "
                    f"{mode_s * 1e3:.3g} ms against its default's {default_s * 1e3:.3g} ms is {shown:.2f}×"
                )
    return out


def answer_contradictions(html: str) -> list[str]:
    """The answer's fastest time per step against the task table's cell of that implementation."""
    out = []
    headline = {}
    for rows in _tables(html, "headline-table"):
        for row in rows:
            attrs = row[0][0]
            cells = {a.get("data-col"): t for a, t in row[1:] if a.get("data-col")}
            if "step_s" in cells:
                headline.setdefault(attrs.get("data-label", ""), []).append(cells["step_s"])
    for rows in _tables(html, "answer"):
        for row in rows:
            if len(row) < 3 or row[0][0].get("data-task") is None:
                continue
            fastest = row[2][1].split("\n")[0]
            found = re.match(r"(\S+(?: \[[^\]]+\])?) ([0-9.]+ (?:s|ms|µs))", fastest)
            if not found:
                continue
            label, step = found.groups()
            if not any(_seconds(cell) == _seconds(step) for cell in headline.get(label, [])):
                task = row[0][0]["data-task"]
                out.append(f"answer for {task}: {label} {step}, its table: {headline.get(label)}")
    return out


def count_contradictions(html: str) -> list[str]:
    """The record count said on the first screen must be the words of "What ran"."""
    text = re.sub(r"<[^>]+>", "", html)
    header = re.search(r'<ul class="what-ran">(.*?)</ul>', html, re.S)
    said = re.search(r"The tables answer for one run set: (.*?)\.\n", text, re.S)
    if header is None or said is None:
        return ["the page does not say how many records it holds, on its first screen and in What ran"]
    first = re.sub(r"<[^>]+>", "", header.group(1))
    return [] if said.group(1).strip() in first else [f"first screen: {first!r}; What ran: {said.group(1)!r}"]


def contradictions(html: str) -> list[str]:
    """Every contradiction :func:`modes_contradictions`, :func:`answer_contradictions` and
    :func:`count_contradictions` find."""
    return modes_contradictions(html) + answer_contradictions(html) + count_contradictions(html)
