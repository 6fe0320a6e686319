"""The first screen's answer across tasks: a row per task and device (a GPU row only where GPU
runs exist), its numbers the verdicts' numbers, and a first line that says when the page holds one
task only or no run that finished."""

from __future__ import annotations

import re
from pathlib import Path

from harness.record.schema import Curves, RunRecord, Timings
from harness.report.build import build_report
from harness.store.runs import RecordWriter


def _record(task: str, impl: str, device: str, seed: int, step_ms: float, status: str = "ok") -> RunRecord:
    record = RunRecord(
        task=task, impl=impl, framework=impl, device=device, seed=seed, status=status,
        reason="" if status == "ok" else "no NVIDIA driver on this machine (nvidia-smi not found)",
        api="low-level", config={"batch_size": 64, "epochs": 4, "n_features": 64, "n_classes": 10,
                                 "hidden": [256]},
        machine={"machine_id": "box", "cpu_model": "Synthetic CPU", "cpu_cores_logical": 2},
        steps_per_epoch=20, n_train=1280, test_accuracy=0.9 + seed / 1000,
        timings=Timings(first_epoch_s=1.0, epoch_s=[step_ms * 20e-3 * (1 + 0.01 * i) for i in range(3)]),
        curves=Curves(val_accuracy=[0.8, 0.85, 0.9, 0.91], train_accuracy=[0.8, 0.86, 0.92, 0.93]),
    )  # fmt: skip
    return record if status == "ok" else RunRecord(**{**record.__dict__, "timings": Timings()})


def _page(tmp_path: Path, records: list[RunRecord]) -> str:
    writer = RecordWriter(tmp_path / "results", "box", "abc", "unit")
    for record in records:
        writer.append(record)
    build_report(tmp_path / "results", tmp_path / "r.html")
    return (tmp_path / "r.html").read_text()


def _rows(page: str) -> list[tuple[str, str]]:
    table = page[page.index('<table class="answer">') : page.index("</table>", page.index('class="answer"'))]
    return re.findall(r'<tr data-task="([^"]+)" data-device="([^"]+)"', table)


def test_gpu_runs_give_the_task_a_gpu_row_and_none_give_none(tmp_path: Path) -> None:
    impls, devices = (("torch", 1.0), ("jax", 0.8)), ("cpu", "gpu")
    both = [_record("digits", impl, device, seed, ms * (0.2 if device == "gpu" else 1))
            for impl, ms in impls for device in devices for seed in (0, 1)]  # fmt: skip
    page = _page(tmp_path / "both", both)
    assert _rows(page) == [("digits", "cpu"), ("digits", "gpu")]
    assert "on cpu and gpu of box" in page
    cpu_only = [r for r in both if r.device == "cpu"] + [
        _record("digits", "torch", "gpu", 0, 1.0, "unavailable")
    ]
    page = _page(tmp_path / "cpu", cpu_only)
    assert _rows(page) == [("digits", "cpu")]
    table = page[page.index('<table class="answer">') :]
    assert " on gpu" not in table[: table.index("</table>")]


def test_the_first_line_says_one_task_only_or_no_run_that_finished(tmp_path: Path) -> None:
    one = [
        _record("digits", impl, "cpu", seed, ms)
        for impl, ms in (("torch", 1.0), ("jax", 0.8))
        for seed in (0, 1)
    ]
    page = _page(tmp_path / "one", one)
    assert re.search(r'<p class="first-line">One task only, digits: 2 implementations', page)
    none = [_record("digits", "torch", "gpu", 0, 1.0, "unavailable")]
    page = _page(tmp_path / "none", none)
    first = re.search(r'<p class="first-line">([^<]*)</p>', page).group(1)
    assert first.startswith("No run finished ok on box: 1 record: 0 runs ok; 1 could not run here (gpu:"), (
        first
    )
