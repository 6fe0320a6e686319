"""The HTML report, built from the golden records in tests/data/records and tests/data/benchmarks.

Expected numbers are computed here straight from the golden JSON (numpy, not the report's code),
then read back from the page's table cells (``data-value`` holds the unrounded number).
"""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from harness.errors import UsageError
from harness.record.schema import Curves, RunRecord, Timings
from harness.report.build import build_report
from harness.report.data.frame import build_frames
from harness.report.data.summary import group_stats
from harness.report.render import figures as report_figures
from harness.report.sections import narrative
from harness.report.sections.tables import headline_table

DATA = Path(__file__).parents[1] / "data"
MACHINE_A, MACHINE_B = "ci-runner-3f9a1c2e", "lab-ws-7b1d0e44"
SCRIPT = "<script>alert(1)</script>"
BAD_FILE = f"runs/{MACHINE_A}/20250301T101000Z-20d22ba4c1e0-smoke.jsonl"


def load_make_records():
    """The golden-data generator (tests/data/records/make_records.py) as a module."""
    path = DATA / "records" / "make_records.py"
    spec = importlib.util.spec_from_file_location("make_records", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


def golden_results(root: Path) -> Path:
    """A results folder laid out as the harness writes it, holding the golden files."""
    shutil.copytree(DATA / "records" / "runs", root / "runs")
    shutil.copytree(DATA / "benchmarks", root / "benchmarks")
    return root


class _Cells(HTMLParser):
    """Collects headline-table cells: (machine, task, label, device, column) -> attributes + text."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[str, ...], dict[str, str]] = {}
        self.table: dict[str, str] = {}
        self.row: dict[str, str] = {}
        self.cell: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "table":
            self.table = attributes
        elif tag == "tr":
            self.row = attributes
        elif tag == "td" and "data-col" in attributes and "data-machine" in self.table:
            self.cell = attributes | {"text": ""}
            key = (self.table["data-machine"], self.table["data-task"], self.row["data-label"])
            self.cells[(*key, self.row["data-device"], attributes["data-col"])] = self.cell

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell["text"] += data


def table_cells(html: str) -> dict[tuple[str, ...], dict[str, str]]:
    """Every headline-table cell of the page."""
    parser = _Cells()
    parser.feed(html)
    return parser.cells


def golden_records(machine_id: str, task: str, impl: str) -> list[dict]:
    """The ok golden records of one configuration, read as plain JSON."""
    out = []
    for path in sorted((DATA / "records" / "runs" / machine_id).glob("*.jsonl")):
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if (record["task"], record["impl"], record["status"]) == (task, impl, "ok"):
                out.append(record)
    return out


def golden_step_s(machine_id: str, task: str, impl: str) -> np.ndarray:
    """Steady-state step times pooled over seeds: epoch_s / steps_per_epoch."""
    records = golden_records(machine_id, task, impl)
    return np.array([s / r["steps_per_epoch"] for r in records for s in r["timings"]["epoch_s"]])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = golden_results(tmp_path_factory.mktemp("results"))
    out = root / "deep" / "folder" / "index.html"
    summary = build_report(root, out)
    html = out.read_text(encoding="utf-8")
    return {"summary": summary, "out": out, "html": html, "cells": table_cells(html)}


def test_summary_line_counts_records_skipped_and_machines(built: dict) -> None:
    assert built["summary"].startswith(f"wrote {built['out']}: 19 records (1 skipped) from 2 machines")


def test_written_atomically_into_a_new_folder(built: dict) -> None:
    assert [p.name for p in built["out"].parent.iterdir()] == ["index.html"]  # no temp file left
    assert built["out"].stat().st_mode & 0o044  # readable by others, unlike mkstemp's default


def test_page_has_every_section(built: dict) -> None:
    html = built["html"]
    for anchor in ("answer", "method", "glossary", "microbenchmarks", "environment", "failed", "skipped"):
        assert f'id="{anchor}"' in html
    assert f'id="{MACHINE_A}-mnist"' in html and f'id="{MACHINE_B}-digits"' in html
    assert html.count('class="headline-table"') == 2


def test_torch_median_step_time_equals_golden_samples(built: dict) -> None:
    expected = float(np.median(golden_step_s(MACHINE_A, "mnist", "torch")))
    cell = built["cells"][(MACHINE_A, "mnist", "torch", "cpu", "step_s")]
    assert float(cell["data-value"]) == pytest.approx(expected, rel=1e-12)
    assert f"{expected * 1e3:.2f} ms" in cell["text"]


def test_best_cell_marked_and_others_shown_as_ratio(built: dict) -> None:
    cells = built["cells"]
    torch = cells[(MACHINE_A, "mnist", "torch", "cpu", "step_s")]
    keras = cells[(MACHINE_A, "mnist", "keras", "cpu", "step_s")]
    assert "best" in torch["class"].split() and "best" in torch["text"]
    assert "best" not in keras["class"].split()
    ratio = np.median(golden_step_s(MACHINE_A, "mnist", "keras")) / np.median(
        golden_step_s(MACHINE_A, "mnist", "torch")
    )
    assert 2.8 < ratio < 3.3  # the golden data: keras ~7 ms, torch ~2.3 ms
    assert f"{ratio:.2f}× best" in keras["text"]


def test_test_accuracy_is_mean_over_seeds_and_best_marked(built: dict) -> None:
    cells = built["cells"]
    means = {}
    for impl in ("torch", "jax", "tensorflow", "keras"):
        values = [r["test_accuracy"] for r in golden_records(MACHINE_A, "mnist", impl)]
        means[impl] = float(np.mean(values))
        cell = cells[(MACHINE_A, "mnist", impl, "cpu", "test_accuracy")]
        assert float(cell["data-value"]) == pytest.approx(means[impl], rel=1e-12)
    best = max(means, key=means.get)
    assert "best" in cells[(MACHINE_A, "mnist", best, "cpu", "test_accuracy")]["class"].split()


def test_generalization_gap_is_final_train_minus_val_accuracy(built: dict) -> None:
    records = golden_records(MACHINE_A, "mnist", "tensorflow")
    expected = np.mean([r["curves"]["train_accuracy"][-1] - r["curves"]["val_accuracy"][-1] for r in records])
    cell = built["cells"][(MACHINE_A, "mnist", "tensorflow", "cpu", "gap")]
    assert float(cell["data-value"]) == pytest.approx(expected, rel=1e-12)


def test_machines_are_never_mixed(built: dict) -> None:
    cells = built["cells"]
    assert {k[1] for k in cells if k[0] == MACHINE_B} == {"digits"}
    assert {k[2] for k in cells if k[0] == MACHINE_B} == {"torch", "jax"}
    expected = float(np.median(golden_step_s(MACHINE_B, "digits", "torch")))
    assert float(cells[(MACHINE_B, "digits", "torch", "cpu", "step_s")]["data-value"]) == pytest.approx(
        expected
    )


def test_failed_runs_shown_with_status_and_reason(built: dict) -> None:
    html = built["html"]
    failed = html[html.index('id="failed"') : html.index('id="skipped"')]
    assert "Runs that did not finish ok (2)" in failed
    assert "crashed" in failed and "RuntimeError: worker exited with signal 9" in failed
    assert "unavailable" in failed and "no NVIDIA driver on this machine" in failed
    cell = built["cells"][(MACHINE_A, "mnist", "keras-torch", "cpu", "step_s")]
    assert cell["text"].strip() == "—"


def test_skipped_line_listed_with_file_and_line(built: dict) -> None:
    html = built["html"]
    skipped = html[html.index('id="skipped"') :]
    assert "Unreadable lines skipped (1)" in skipped
    assert re.search(rf"<code>{re.escape(BAD_FILE)}</code></td><td[^>]*>3</td>", skipped)
    assert "JSONDecodeError" in skipped


def test_record_strings_are_escaped(built: dict) -> None:
    html = built["html"]
    assert SCRIPT not in html
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert (MACHINE_A, "mnist", SCRIPT, "cpu", "step_s") in built["cells"]  # the parser unescapes it


def test_figures_embedded_as_png_and_nothing_fetched(built: dict) -> None:
    html = built["html"]
    uris = re.findall(r'<img src="data:image/png;base64,([^"]+)"', html)
    assert len(uris) == 2 * 4  # 2 shown and 2 collapsed figures per section; micro-benchmarks are not drawn
    assert all(base64.b64decode(u)[:8] == b"\x89PNG\r\n\x1a\n" for u in uris)
    assert not re.search(r'(src|href)="(https?:)?//', html)


def test_sentences_generated_from_data(built: dict) -> None:
    html = built["html"]
    assert "all implementations agree within their 95% confidence intervals" in html
    assert re.search(r"torch, 2\.3\d ms <a[^>]*>per step</a>", html) or "torch, 2.3" in html
    assert "The first epoch costs most in keras on cpu" in html


def test_microbenchmark_sessions_are_listed_without_their_numbers(built: dict) -> None:
    """Every framework in one pytest process disturbs the next: no number, ratio or figure of a
    micro-benchmark is on the page; the sessions are listed and the page says why."""
    html = built["html"]
    bench = html[html.index('id="microbenchmarks"') : html.index('id="environment"')]
    assert "AMD EPYC 7763 64-Core Processor, 2 cores" in bench and "20d22ba4c1e0 (main)" in bench
    assert "every framework in one pytest" in bench and "bench-micro-compare" in bench
    assert "test_train_step[tensorflow]" not in html and "1.74×" not in bench and "4.02 ms" not in bench


def test_environment_lists_versions_commits_and_counts(built: dict) -> None:
    html = built["html"]
    env = html[html.index('id="environment"') : html.index('id="failed"')]
    assert "torch 2.5.1" in env and "tensorflow-cpu 2.18.0" in env
    assert "20d22ba4c1e0f9a7b3d2e5f60718293a4b5c6d7e</code> (15 runs)" in env
    assert "15: 13 ok, 1 crashed, 1 unavailable" in env
    assert "NVIDIA GeForce RTX 3060" in env
    assert "<b>threads</b>: 2; <b>mode</b>: default" not in env  # keys are sorted
    assert "<b>mode</b>: default; <b>schedule</b>: sequential; <b>threads</b>: 2" in env
    assert "<b>schedule</b>: interleaved; <b>threads</b>: 20" in env


def test_overfitting_block_rendered_when_present(built: dict) -> None:
    html = built["html"]
    block = html[html.index("Overfitting analysis, run by run") :]
    block = block[: block.index("</details>")]
    assert "<th>best epoch</th>" in block and "<th>onset</th>" in block  # named columns, not raw keys
    assert "None" not in block and "params." not in block and "gap_final" not in block  # never a raw frame
    assert html.index('<details class="overfitting">') < html.index("Overfitting analysis, run by run")


def _record(
    impl: str, seed: int, batch_size: int = 128, train_acc: float = 0.99, epoch_s=(1.0, 1.2)
) -> RunRecord:
    return RunRecord(
        task="mnist",
        impl=impl,
        framework=impl,
        device="cpu",
        seed=seed,
        config={"batch_size": batch_size, "seed": seed},
        machine={"machine_id": "m"},
        timings=Timings(first_epoch_s=2.0, epoch_s=list(epoch_s)),
        curves=Curves(train_accuracy=[0.9, train_acc], val_accuracy=[0.9, 0.95]),
        n_train=1000,
        steps_per_epoch=10,
        test_accuracy=0.95,
    )


def test_frames_derive_step_time_throughput_and_gap() -> None:
    frames = build_frames([_record("torch", 0)])
    assert frames.epochs["step_s"].tolist() == [0.1, 0.12]
    assert frames.epochs["samples_per_s"].tolist() == pytest.approx([1000.0, 1000 / 1.2])
    assert frames.runs["gap"].iloc[0] == pytest.approx(0.04)


def test_modes_get_their_own_rows() -> None:
    compiled = _record("torch", 0)
    compiled.mode = "compiled"
    stats = group_stats(build_frames([_record("torch", 0), compiled]))
    assert sorted(stats["label"]) == ["torch", "torch [compiled]"]


def test_different_specs_of_a_task_get_separate_sections() -> None:
    records = [_record("torch", 0), _record("torch", 1), _record("torch", 0, batch_size=512)]
    stats = group_stats(build_frames(records))
    assert sorted(stats["variant"]) == ["", "batch_size=512"]
    assert sorted(stats["n_ok"]) == [1, 2]


def test_gap_best_is_closest_to_zero() -> None:
    records = [_record("torch", 0, train_acc=0.99), _record("jax", 0, train_acc=0.945)]
    table = headline_table(group_stats(build_frames(records)))
    best = {row.label: row.cells["gap"].best for row in table.rows}
    assert best == {"torch": False, "jax": True}


def test_validation_peak_before_the_end_is_called_overfitting() -> None:
    late = _record("torch", 0)
    early = _record("jax", 0)
    early.curves.val_accuracy = [0.96, 0.95]
    frames = build_frames([late, early])
    (sentence,) = narrative.overfitting_sentences(frames.curves, frames.runs)
    # one seed, and no onset in two epochs: the drop is named, and not called overfitting
    assert (
        sentence == "Not called overfitting: jax (validation accuracy -1.00 pp from epoch 1 to 2: one seed)."
    )
    assert "torch" not in sentence


def test_dollar_in_a_label_does_not_become_mathtext() -> None:
    frames = build_frames([_record("a$b$c", 0)])
    fig = report_figures.step_time_figure(frames.epochs, report_figures.palette(["a$b$c"]))
    assert report_figures.to_data_uri(fig).startswith("data:image/png;base64,")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == [r"a\$b\$c"]


def test_an_empty_results_folder_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=f"no run records in {re.escape(str(tmp_path))}"):
        build_report(tmp_path, tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()  # no empty page


def test_missing_results_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        build_report(tmp_path / "nope", tmp_path / "r.html")


def test_unreadable_benchmark_file_is_listed(tmp_path: Path) -> None:
    shutil.copytree(DATA / "records" / "runs" / MACHINE_B, tmp_path / "runs" / MACHINE_B)
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "broken.json").write_text('{"benchmarks": [{"name": "x"}]}')
    build_report(tmp_path, tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text()
    assert "<code>benchmarks/broken.json</code>" in html and "whole file" in html


def test_golden_records_are_what_the_generator_writes(tmp_path: Path) -> None:
    load_make_records().write_golden(tmp_path)
    for path in (tmp_path / "runs").rglob("*.jsonl"):
        golden = DATA / "records" / path.relative_to(tmp_path)
        assert path.read_text() == golden.read_text(), f"{golden} is stale: rerun make_records.py"


def test_each_glossary_term_is_linked_at_its_first_use(built: dict) -> None:
    """A newcomer clicks a word they do not know: its first use links to its entry, every link
    lands on an entry, and the glossary links nothing of its own."""
    html = built["html"]
    links = re.findall(r'<a class="term" href="#(g-[a-z-]+)">([^<]+)</a>', html)
    assert len(links) >= 8, links
    targets = {a for a, _ in links}
    assert len(targets) == len(links)  # each term once
    for anchor in targets:
        assert f'<dt id="{anchor}">' in html
    glossary = html[html.index('id="glossary"') : html.index('id="microbenchmarks"')]
    assert 'class="term"' not in glossary
    text = re.sub(r"<(?!a class=\"term\")[^>]+>", "", html[html.index("<body>") :])
    first = text.index("A/A")
    assert text[:first].endswith('<a class="term" href="#g-aa">'), text[first - 60 : first + 10]
