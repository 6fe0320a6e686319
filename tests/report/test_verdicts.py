"""The first screen's verdicts, built from golden records and from synthetic rounds: every ratio a
verdict quotes is the paired ratio the tables read, a tie is called a tie exactly when its interval
holds 1 or it lies inside the A/A band, every step time, accuracy and time to target a verdict
quotes is its table's cell, and the page opens with them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from harness.compare.paired import describe
from harness.report.build import build_report
from harness.report.data import gather
from harness.report.data.paired import PairedIndex
from harness.report.sections.tasks import build_sections
from harness.report.sections.verdicts import verdict_views
from tests.report.test_report import golden_results

DATA = Path(__file__).parents[1] / "data"


def test_every_quoted_ratio_is_the_tables_paired_ratio() -> None:
    data = gather(DATA / "records")
    views = verdict_views(data.stats, data.paired, data.aa)
    assert views, "the golden records have timed runs"
    fresh = PairedIndex(data.frames.rounds)  # what the tables read, built again from the frames
    quoted = 0
    for view in views:
        questions = [v.question for v in view.verdicts if v.question]
        assert questions[0] in ("Fastest as users write it", "Fastest at its best (any mode)")
        assert view.trust.startswith("Trust: ")
        part = data.stats[(data.stats["task"] == view.task) & (data.stats["device"] == view.device)
                          & (data.stats["machine_id"] == view.machine_id)]  # fmt: skip
        for verdict in view.verdicts:
            if verdict.ratio is None:
                continue
            quoted += 1
            assert describe(verdict.ratio) in verdict.answer
            pairs = [(a, b) for _, a in part.iterrows() for _, b in part.iterrows()
                     if a["label"] != b["label"] and fresh.ratio(a, b) == verdict.ratio]  # fmt: skip
            assert pairs, f"{verdict.answer}: no pair of table rows has this paired ratio"
            holds_one = verdict.ratio.low <= 1 <= verdict.ratio.high
            figure = data.aa.get((view.machine_id, view.task, view.variant, view.device))
            inside_aa = figure is not None and figure.tie(verdict.ratio.estimate)
            assert verdict.tie == (holds_one or inside_aa), verdict
            says_tie = "cannot be told apart" in verdict.answer or "no cost" in verdict.answer
            assert says_tie == verdict.tie, verdict.answer  # the words and the flag agree
    assert quoted > 0


def _rounds(step_a: float, step_b: float, rounds: int = 8) -> pd.DataFrame:
    rows = []
    for label, step in (("torch", step_a), ("jax", step_b)):
        for r in range(rounds):
            wobble = 1 + 0.01 * ((r * 7 + len(label)) % 5 - 2) / 2  # each its own noise
            rows.append({"machine_id": "m", "task": "t", "variant": "", "label": label, "impl": label,
                         "mode": "default", "device": "cpu", "group": "g0", "round": r,
                         "step_s": step * wobble})  # fmt: skip
    return pd.DataFrame(rows)


def _stats(step_a: float, step_b: float) -> pd.DataFrame:
    base = {"machine_id": "m", "task": "t", "variant": "", "mode": "default", "device": "cpu", "n_ok": 3,
            "n_reached": 3, "api": "low-level", "test_accuracy": 0.9, "test_accuracy_lo": 0.89,
            "test_accuracy_hi": 0.91, "time_to_target_s": 1.0, "target_val_accuracy": 0.9}  # fmt: skip
    return pd.DataFrame([
        base | {"label": "torch", "impl": "torch", "engine": "torch", "step_s": step_a},
        base | {"label": "jax", "impl": "jax", "engine": "jax", "step_s": step_b},
    ])  # fmt: skip


def test_a_clear_difference_is_stated_and_a_small_one_is_a_tie() -> None:
    (clear,) = verdict_views(_stats(1e-3, 1.5e-3), PairedIndex(_rounds(1e-3, 1.5e-3)))
    fastest = clear.verdicts[0]
    assert fastest.question == "Fastest as users write it" and not fastest.tie
    assert (
        fastest.answer == f"torch, 1.00 ms per step; the next, jax, takes {describe(fastest.ratio)} as long"
    )
    assert 1.45 < fastest.ratio.low <= fastest.ratio.estimate <= fastest.ratio.high < 1.55
    (close,) = verdict_views(_stats(1e-3, 1.002e-3), PairedIndex(_rounds(1e-3, 1.002e-3)))
    assert close.verdicts[0].tie and "cannot be told apart" in close.verdicts[0].answer
    assert "Trust: no A/A figure" in close.trust


def test_the_page_opens_with_the_answer_and_each_task_with_its_verdicts(tmp_path: Path) -> None:
    out = tmp_path / "index.html"
    build_report(golden_results(tmp_path / "results"), out)
    page = out.read_text()
    assert page.index('id="answer"') < page.index('class="verdicts"') < page.index('class="headline-table"')
    assert "Fastest as users write it" in page and "Trust: " in page


def test_every_step_time_accuracy_and_time_a_verdict_quotes_is_a_table_cell() -> None:
    """Beyond the ratios: the fastest's step time, the accuracy span and the time to target that
    the verdicts quote are the cells of the section's table (the same golden records)."""
    data = gather(DATA / "records")
    views = verdict_views(data.stats, data.paired, data.aa)
    tables = {(s.machine_id, s.task, s.variant): s.table for s in build_sections(
        data.frames, data.stats, data.paired, data.aa)}  # fmt: skip
    checked = 0
    for view in views:
        table = tables[(view.machine_id, view.task, view.variant)]
        rows = [r for r in table.rows if r.device == view.device]
        cells = {c: {r.label: r.cells[c].text for r in rows if c in r.cells} for c in
                 ("step_s", "test_accuracy", "time_to_target_s")}  # fmt: skip
        for verdict in view.verdicts:
            if verdict.question.startswith("Fastest") and " per step" in verdict.answer:
                label, step = verdict.answer.split(" per step")[0].rsplit(", ", 1)
                assert cells["step_s"][label].startswith(step), (verdict.answer, cells["step_s"][label])
                checked += 1
            elif verdict.question == "Same accuracy?":
                span = verdict.answer.split(" test accuracy")[0].split(": ")[-1]
                low, high = span.split("–")
                shown = {t.split(" ")[0] for t in cells["test_accuracy"].values()}
                assert {low, high} <= shown, (verdict.answer, shown)
                checked += 1
            elif verdict.question == "Time to target" and " first: " in verdict.answer:
                label, rest = verdict.answer.split(" first: ")
                took = rest.split(" of training")[0]
                assert cells["time_to_target_s"][label].startswith(took), (verdict.answer, cells)
                checked += 1
    assert checked >= 3, checked


def test_a_ratio_printed_inside_the_printed_aa_band_is_a_tie() -> None:
    """The band and the ratio are judged at the two decimals the page prints: mnist1d's keras-jax
    over jax read "1.09× [1.02, 1.16]" beside an A/A band of "0.92×-1.09×" and was not a tie
    (1.0903 against 1.0894)."""
    from harness.compare.paired import PairedRatio
    from harness.report.data.paired import AAFigure
    from harness.report.sections.verdicts import tie

    figure = AAFigure("torch", PairedRatio(1.04, 0.918, 1.0894, 3, 57), 3)
    assert f"{figure.band[1]:.2f}" == "1.09"
    assert figure.tie(1.0903) and tie(PairedRatio(1.0903, 1.02, 1.16, 3, 60), figure)
    assert not figure.tie(1.0951) and not tie(PairedRatio(1.0951, 1.02, 1.16, 3, 60), figure)
    assert figure.tie(0.9151) and not figure.tie(0.9149)  # the low end alike: 1 / 1.0894 = 0.918
