"""Two ``harness run`` writing into one results folder at once, and reports built while they
write: every record of both is there afterwards, every line whole, no report saw half a line, and
the index the reports kept is consistent afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from harness.record.schema import RunRecord
from harness.report.data import gather
from harness.run.machine import REPO_ROOT
from harness.store import index
from harness.store.runs import RecordWriter, record_files


def test_two_runs_and_a_report_at_once(tmp_path: Path) -> None:
    results = tmp_path / "results"
    argv = [sys.executable, "-m", "harness", "run", "--task", "iris", "--impl", "numpy", "--seeds", "0", "1",
            "--epochs", "3", "--no-calibrate", "--no-twin", "--results", str(results)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    runs = [subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            for _ in range(2)]  # fmt: skip
    reads = 0
    while any(p.poll() is None for p in runs):
        if (results / "runs").is_dir():
            data = gather(results)  # what a report reads while the runs write
            assert not data.skipped, data.skipped  # never half a line
            reads += 1
        time.sleep(0.05)
    assert [p.wait() for p in runs] == [0, 0], [p.stderr.read().decode()[-2000:] for p in runs if p.stderr]
    files = record_files(results / "runs")
    assert len(files) == 2  # one file each: never a shared one
    lines = [json.loads(line) for f in files for line in f.read_text().splitlines()]
    assert len(lines) == 4 and {(d["impl"], d["seed"]) for d in lines} == {("numpy", 0), ("numpy", 1)}
    assert len({d["run_id"] for d in lines}) == 4
    assert gather(results).n_records == 4 and reads > 0
    # The index the reports built while the runs wrote is consistent afterwards: every file is
    # indexed fresh, with every record, and says what the records say.
    by_file, _, stats = index.load(results / "runs", results)
    assert stats.fresh == 2 and stats.rebuilt == [], stats
    assert sorted(d.run_id for ds in by_file.values() for d in ds) == sorted(d["run_id"] for d in lines)


def test_writers_made_at_the_same_instant_claim_different_files(tmp_path: Path) -> None:
    writers = [RecordWriter(tmp_path, "box", "abc", "suite") for _ in range(50)]
    for writer in writers:
        writer.path = writers[0].path  # the same name for all: as if made in one microsecond
    assert not list(tmp_path.rglob("*.jsonl"))  # nothing written yet, nothing left
    for i, writer in enumerate(writers):
        writer.append(RunRecord(task="iris", impl="numpy", framework="numpy", device="cpu", seed=i))
    files = list(tmp_path.rglob("*.jsonl"))
    assert len(files) == 50 and all(len(f.read_text().splitlines()) == 1 for f in files)
