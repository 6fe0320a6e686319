"""Every sentence true to its table, read off the rendered page (:mod:`tests.report.page_claims`):
on the golden records, on a real default bench (tests/data/records_default), and shown failing on
the contradiction the page used to print: a fast path's ratio to its default paired on its one
seed, beside a default step time pooled over three seeds whose seed 0 had stalled."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.record.derived import median
from harness.record.schema import Curves, RunRecord, Timings
from harness.report.build import build_report
from harness.report.sections import modes
from tests.report.page_claims import contradictions, modes_contradictions
from tests.report.test_report import golden_results

DATA = Path(__file__).parents[1] / "data"


def _page(results: Path, out: Path) -> str:
    build_report(results, out)
    return out.read_text(encoding="utf-8")


def test_the_golden_page_contradicts_nothing(tmp_path: Path) -> None:
    assert contradictions(_page(golden_results(tmp_path / "results"), tmp_path / "r.html")) == []


def test_a_real_default_bench_page_contradicts_nothing(tmp_path: Path) -> None:
    shutil.copytree(DATA / "records_default" / "runs", tmp_path / "results" / "runs")
    page = _page(tmp_path / "results", tmp_path / "r.html")
    assert 'data-col="vs_default"' in page  # it has fast paths to check
    assert contradictions(page) == []


def _keras(mode: str, seed: int, epoch_ms: float, order: int) -> RunRecord:
    """Keras on mnist1d, 35 steps an epoch, 8 steady epochs of ``epoch_ms`` per step, in group ``g{seed}``."""
    rounds = list(range(9))
    record = RunRecord(task="mnist1d", impl="keras", framework="keras", device="cpu", seed=seed, mode=mode,
                       config={"batch_size": 100, "epochs": 9}, machine={"machine_id": "box"},
                       steps_per_epoch=35, n_train=3500, test_accuracy=0.62, api="high-level",
                       execution={"schedule": "interleaved", "group": f"g{seed}", "order": order},
                       timings=Timings(first_epoch_s=1.0, epoch_rounds=rounds,
                                       epoch_s=[epoch_ms * 35e-3 * (1 + 0.01 * (r % 3)) for r in rounds[1:]]),
                       curves=Curves(val_accuracy=[0.6] * 9, train_accuracy=[0.6] * 9))  # fmt: skip
    return record


def _the_issues_keras_fast(tmp_path: Path) -> Path:
    """Default: seed 0 stalled at 14 ms a step, seeds 1 and 2 at 7.5 ms; fast (seed 0 only): 8.34 ms."""
    from harness.store.runs import RecordWriter

    writer = RecordWriter(tmp_path / "results", "box", "abc", "default")
    for record in (_keras("default", 0, 14.0, 0), _keras("default", 1, 7.5, 0), _keras("default", 2, 7.5, 0),
                   _keras("fast", 0, 8.34, 1)):  # fmt: skip
        writer.append(record)
    return tmp_path / "results"


def test_a_fast_path_quoted_against_its_default_on_other_seeds_is_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = _the_issues_keras_fast(tmp_path)
    page = _page(results, tmp_path / "r.html")
    assert modes_contradictions(page) == []  # like with like: the default's seed 0, 14 ms, beside 1.68x
    assert "14.1 ms (seed 0)" in page and "1.68× faster" in page

    def pooled(epochs, default, seeds):  # the page before: the default's median over every seed
        mine = epochs[(epochs["impl"] == default["impl"]) & (epochs["mode"] == default["mode"])]
        return median(mine["step_s"].tolist())

    monkeypatch.setattr(modes, "same_seeds_step_s", pooled)
    (found,) = modes_contradictions(_page(results, tmp_path / "old.html"))
    assert found.startswith("keras [fast]: '1.68× faster' its default") and found.endswith("is 1.10×"), found
