"""The table ``run`` prints when it ends: a row per task (and variant), implementation, mode and
device, as the page reads them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from rich.console import Console

from harness.cli.progress import summary_table
from harness.record.schema import STEP_MODEL_POINT
from harness.store.runs import load


def test_the_summary_names_each_variant_and_keeps_the_step_models_runs_out() -> None:
    """A run set with networks other than a task's own: each variant's rows marked and named under
    the table (they read as repeats of one row before), the step model's runs one line there."""
    records, _ = load(Path(__file__).parents[1] / "data" / "records_step_model")
    points = {((64,), 64), ((1024, 1024), 128), ((64, 64), 16)}
    records = [
        replace(r, purpose=STEP_MODEL_POINT)
        if (tuple(r.config["hidden"]), r.config["batch_size"]) in points
        else r
        for r in records
    ]
    console = Console(width=80, record=True)
    console.print(summary_table(records))
    text = console.export_text()
    assert "mnist [1]" in text and "digits [2]" in text and "mnist1d [" not in text
    # the held-out networks have three seeds, the tasks' own one: the commonest is the held-out one
    assert "[1] batch_size=128, hidden=[512, 256], train_fraction=0.3" in text
    assert "[2] batch_size=64, hidden=[256, 128]" in text
    assert "not in the table: 27 runs of 3 networks for the step model alone" in text
    assert max(map(len, text.splitlines())) <= 80
