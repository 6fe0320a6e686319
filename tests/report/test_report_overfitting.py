"""The report's "Overfitting study" section, built from tests/data/records_overfitting.

Expected numbers are computed here straight from the golden JSON, not with the report's code.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from harness.report.build import build_report
from harness.report.data.frame import build_frames
from harness.report.data.study import study_frame
from harness.report.sections import study
from harness.store import runs as store

DATA = Path(__file__).parents[1] / "data"
GOLDEN = DATA / "records_overfitting" / "runs"


def _golden_dicts() -> list[dict]:
    return [json.loads(line) for path in sorted(GOLDEN.rglob("*.jsonl")) for line in path.open()]


def _mean_gap(train_fraction: float) -> float:
    gaps = [
        d["extra"]["overfitting"]["gap_final"]["accuracy_gap"]
        for d in _golden_dicts()
        if d["config"]["train_fraction"] == train_fraction and d["config"]["dropout"] == 0.0
    ]
    return float(np.mean(gaps))


@pytest.fixture(scope="module")
def html(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("study")
    shutil.copytree(GOLDEN, root / "runs")
    build_report(root, root / "report.html")
    return (root / "report.html").read_text(encoding="utf-8")


def _study(html: str) -> str:
    return html[html.index('id="overfitting-study"') : html.index('id="microbenchmarks"')]


def test_study_section_has_figure_and_is_linked(html: str) -> None:
    section = _study(html)
    assert 'href="#overfitting-study"' in html
    assert 'data-figure="Overfitting study"><img src="data:image/png;base64,' in section
    assert "16 runs; jax, torch" in section


def test_trend_sentence_uses_the_golden_gaps(html: str) -> None:
    small, full = _mean_gap(0.05), _mean_gap(1.0)
    expected = (
        "As the training-set fraction goes from 0.05 to 1, the mean gap shrinks steadily "
        f"from {small:.2f} to {full:.2f}"
    )
    assert expected in _study(html)


def test_disagreement_is_flagged_only_where_torch_overfits_more(html: str) -> None:
    rows = dict(re.findall(r'data-level="([^"]+)" data-agree="(True|False)"', _study(html)))
    assert rows.pop("0.05") == "False"
    assert set(rows.values()) == {"True"} and "dropout 0.5" in rows and "early stopping" in rows
    assert "the frameworks do not agree at 0.05 (means jax 0.70, torch 0.80" in _study(html)


def test_cure_sentence_and_onset_count(html: str) -> None:
    section = _study(html)
    assert "Without a cure the mean gap is 0.50; with dropout 0.5 0.35, early stopping" in section
    onsets = sum(d["extra"]["overfitting"]["onset_epoch"] is not None for d in _golden_dicts())
    assert onsets == 12 and "An overfitting onset is detected in 12 of 16 runs" in section
    assert (
        "Early stopping on validation loss keeps weights with a mean validation accuracy of 0.443" in section
    )


def test_sections_whose_runs_overfit_say_so_with_their_onsets(html: str) -> None:
    """Two seeds each, every run's validation loss turning up at epoch 8: called overfitting,
    with the onsets it rests on; the sections whose runs have no onset say no sign of it."""
    text = re.sub(r"<[^>]+>", "", html)
    claim = ("Overfitting, validation loss rising while training loss falls: jax (an onset in 2 of 2 runs, "
             "median epoch 8) and torch (an onset in 2 of 2 runs, median epoch 8).")  # fmt: skip
    assert text.count(claim) == 3 and text.count("No sign of overfitting") == 1


def test_no_study_without_runs_of_the_suite() -> None:
    records, _ = store.load(DATA / "records" / "runs")
    assert records and study.study_view(study_frame(build_frames(records).runs)) is None
