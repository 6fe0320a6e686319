"""The comparison as the CLI shows it: the verdict line, the terminal table and the Markdown
summary, on synthetic noisy records (:mod:`harness.cli.compare_view`)."""

from __future__ import annotations

import re

import numpy as np

from harness.cli.compare_view import render_markdown, render_table, verdict_line
from harness.compare.check import CheckResult, compare_records
from tests.compare.test_compare import syn


def test_a_whole_run_slowed_15_percent_is_said_as_every_pair_alike():
    """The rows of ``tests/compare/test_compare.py``'s whole-run slowdown, in one line."""
    rng = np.random.default_rng(9)
    slow = syn.Profile(step_s=2e-3 * 1.15)
    four = ("digits", "iris", "mnist1d", "mnist")  # four interleaved groups of one seed
    rows = compare_records(
        syn.suite(rng, seeds=(0,), tasks=four), syn.suite(rng, profile=slow, seeds=(0,), tasks=four)
    )
    line = verdict_line(CheckResult(rows, [], {}))
    assert line.startswith("regression: the whole run") and "every pair alike" in line, line


def test_markdown_and_table_show_the_verdicts_and_how_large_a_change_would_show():
    rng = np.random.default_rng(6)
    rows = compare_records(syn.suite(rng), syn.suite(rng, {"torch": syn.Profile(step_s=2.6e-3)}))
    text = render_markdown(rows, sources={"baseline": "b.jsonl", "current": "c.jsonl"})
    assert "❌ regression" in text and "| digits torch default cpu |" in text
    assert re.search(r"step time \(median\) [\d.]+ ms -> [\d.]+ ms, 1\.\d\dx \[", text)
    assert re.search(r"step time: a change is shown once it clears the limit and the noise: the whole run's "
                     r"beyond \+1\d%, one pair's beyond \+\d+%", text)  # fmt: skip
    assert render_table(rows).row_count == len(syn.IMPLS) + 1  # and the all-pairs row
    clean = render_markdown(compare_records(syn.suite(rng), syn.suite(rng)))
    assert "✅ pass: no regression shown" in clean and "Flagged" not in clean
    one = {"impls": ("torch",), "seeds": (0,)}
    few = render_markdown(compare_records(syn.suite(rng, **one), syn.suite(rng, **one)))
    assert "⚠️ cannot tell" in few and "too few pairs" in few
