"""The report's History and regression-check sections, built from tests/data/records_history.

The golden data (``make_history.py`` there): machine A ran mnist (torch, jax; 3 seeds) at two
commits a month apart, torch 30% slower at the second, and has a baseline (the first run file);
machine B has one commit and no baseline. Expected numbers are computed here from the JSON.
"""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from harness.report.build import build_report

DATA = Path(__file__).parents[1] / "data" / "records_history"
MACHINE_A, MACHINE_B = "ci-runner-3f9a1c2e", "lab-ws-7b1d0e44"
OLD_FILE = f"runs/{MACHINE_A}/20250301T101000Z-1111111aaaaa-smoke.jsonl"
NEW_FILE = f"runs/{MACHINE_A}/20250401T101000Z-2222222bbbbb-smoke.jsonl"


class _RegressionRows(HTMLParser):
    """Rows of the regression tables: (machine, pair, metric) -> data-status and data-value."""

    def __init__(self) -> None:
        super().__init__()
        self.machine = ""
        self.rows: dict[tuple[str, str, str], dict[str, str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "table" and "regression-table" in attributes.get("class", ""):
            self.machine = attributes["data-machine"]
        elif tag == "tr" and self.machine and "data-status" in attributes:
            self.rows[(self.machine, attributes["data-pair"], attributes["data-metric"])] = attributes

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.machine = ""


def _results(root: Path, with_baselines: bool = True) -> Path:
    shutil.copytree(DATA / "runs", root / "runs")
    if with_baselines:
        shutil.copytree(DATA / "baselines", root / "baselines")
    return root


def _section(html: str, anchor: str, machine_id: str) -> str:
    start = html.index(f'<h2 id="{anchor}">')
    part = html[start : html.index("<h2 ", start + 1)]
    return part[part.index(f'data-machine="{machine_id}"') :].split("</section>")[0]


def _step_ms(name: str, impl: str) -> float:
    """The pooled median time per step of every epoch of ``impl``'s runs (the history's level)."""
    records = [json.loads(line) for line in (DATA / name).read_text().splitlines()]
    steps = [s / r["steps_per_epoch"] for r in records if r["impl"] == impl for s in r["timings"]["epoch_s"]]
    return float(np.median(steps)) * 1e3


def _seed_steps_ms(name: str, impl: str) -> dict[int, float]:
    """Each seed's run: the median of its epochs' time per step."""
    records = [json.loads(line) for line in (DATA / name).read_text().splitlines()]
    return {
        r["seed"]: float(np.median([s / r["steps_per_epoch"] for s in r["timings"]["epoch_s"]])) * 1e3
        for r in records
        if r["impl"] == impl
    }


def _paired_ratio(old: str, new: str, impl: str) -> float:
    """What compare reports: the geometric mean over seeds of new / old, seed by seed."""
    before, after = _seed_steps_ms(old, impl), _seed_steps_ms(new, impl)
    return float(np.exp(np.mean([np.log(after[s] / before[s]) for s in before])))


@pytest.fixture(scope="module")
def html(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = _results(tmp_path_factory.mktemp("results"))
    build_report(root, root / "index.html")
    return (root / "index.html").read_text(encoding="utf-8")


def test_history_figure_for_a_machine_with_two_commits(html: str) -> None:
    section = _section(html, "history", MACHINE_A)
    assert 'data-commits="2"' in section
    assert re.search(
        r'<figure class="figure" data-figure="History"><img src="data:image/png;base64,', section
    )
    assert "2 commits from 2025-03-01 to 2025-04-01" in section


def test_history_sentence_numbers_equal_golden_medians(html: str) -> None:
    section = _section(html, "history", MACHINE_A)
    sentence = re.search(r"<li>(mnist: .*?)</li>", section).group(1)
    old, new = _step_ms(OLD_FILE, "torch"), _step_ms(NEW_FILE, "torch")
    assert 1.25 < new / old < 1.35  # the slowdown built into the golden data
    expected = (
        f"torch (cpu): step time moved from {old:.2f} ms to {new:.2f} ms ({(new / old - 1) * 100:+.0f}%)"
    )
    assert expected in sentence
    assert "over 2 runs" in sentence


def test_history_needs_two_commits(html: str) -> None:
    section = _section(html, "history", MACHINE_B)
    assert "History needs two or more runs" in section and "<figure" not in section


@pytest.fixture(scope="module")
def regression_rows(html: str) -> dict[tuple[str, str, str], dict[str, str]]:
    parser = _RegressionRows()
    parser.feed(html)
    return parser.rows


def test_regression_table_flags_the_built_in_slowdown(html: str, regression_rows: dict) -> None:
    torch = regression_rows[(MACHINE_A, "mnist torch default cpu", "step time")]
    assert torch["data-status"] == "regression"
    expected = _paired_ratio(OLD_FILE, NEW_FILE, "torch")
    assert float(torch["data-value"]) == pytest.approx(expected, rel=1e-9)
    verdict = _section(html, "regression", MACHINE_A)
    assert (
        "Regression beyond step_time:median:10%, test_accuracy:-0.01: mnist torch default cpu step time"
        in verdict
    )


def test_regression_table_has_pass_rows(regression_rows: dict) -> None:
    assert regression_rows[(MACHINE_A, "mnist jax default cpu", "step time")]["data-status"] == "pass"
    assert regression_rows[(MACHINE_A, "mnist torch default cpu", "test accuracy")]["data-status"] == "pass"
    assert {k[0] for k in regression_rows} == {MACHINE_A}  # machine B has no baseline, so no table


def test_machine_without_baseline_says_how_to_create_one(html: str) -> None:
    section = _section(html, "regression", MACHINE_B)
    assert "No baseline for lab-ws-7b1d0e44" in section and "python -m harness baseline save" in section


def test_no_baselines_folder_gives_one_sentence_per_machine(tmp_path: Path) -> None:
    root = _results(tmp_path, with_baselines=False)
    build_report(root, root / "index.html")
    page = (root / "index.html").read_text(encoding="utf-8")
    assert page.count('class="no-baseline"') == 2 and 'class="regression-table"' not in page
    assert "create one on\n  that machine with <code>python -m harness baseline save</code>" in page


def test_fingerprint_fallback_finds_a_baseline_saved_under_another_hostname(tmp_path: Path) -> None:
    root = _results(tmp_path, with_baselines=False)
    (root / "baselines").mkdir()
    shutil.copy(DATA / "baselines" / f"{MACHINE_A}.jsonl", root / "baselines" / "old-host-3f9a1c2e.jsonl")
    build_report(root, root / "index.html")
    section = _section((root / "index.html").read_text(encoding="utf-8"), "regression", MACHINE_A)
    assert "old-host-3f9a1c2e.jsonl" in section and 'data-status="regression"' in section


def test_history_follows_the_spec_run_at_the_most_commits() -> None:
    """A study that varies the spec (five scaling batch sizes in one commit) must not turn the
    history into a line per variant: the spec run at the most commits is drawn, the rest named."""
    import pandas as pd

    from harness.report.sections.history import tracked

    rows = [{"task": "digits", "config_key": "main", "git_commit": c, "value": 1.0} for c in ("a", "b")]
    study = {"task": "digits", "git_commit": "b", "value": 2.0}
    rows += [study | {"config_key": f"batch{b}"} for b in range(5) for _ in range(3)]
    rows += [{"task": "iris", "config_key": "only", "git_commit": "a", "value": 3.0}]
    kept, notes = tracked(pd.DataFrame(rows))
    assert set(kept["config_key"]) == {"main", "only"} and len(kept) == 3
    assert notes == [
        "digits: 5 other spec variant(s) (e.g. from the scaling or overfitting suites) are not drawn; "
        "the line follows the spec run at the most commits."
    ]
