"""Build time of the report from 1,000 synthetic records (4 tasks x 6 implementations x 2 devices).

Slow (opt-in with ``--runslow``); also runnable as a script that prints the time:
``python tests/test_report_perf.py [N]``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.report.build import build_report  # noqa: E402
from tests.report.test_report import load_make_records  # noqa: E402

BUDGET_S = 30.0


def time_build(root: Path, count: int) -> tuple[float, str]:
    """Write ``count`` synthetic records under ``root`` and time one report build from them."""
    load_make_records().write_synthetic(root, count)
    start = time.perf_counter()
    summary = build_report(root, root / "report" / "index.html")
    return time.perf_counter() - start, summary


@pytest.mark.slow
@pytest.mark.alone
def test_thousand_records_build_within_budget(tmp_path: Path) -> None:
    seconds, summary = time_build(tmp_path, 1000)
    print(f"{summary} in {seconds:.1f} s")
    assert "1000 records (0 skipped)" in summary
    assert seconds < BUDGET_S


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory() as folder:
        seconds, summary = time_build(Path(folder), count)
    print(f"{summary} in {seconds:.1f} s")
