"""The default places the CLI reads and writes (a library function always takes them as arguments)."""

from __future__ import annotations

from harness.run.machine import REPO_ROOT

DEFAULT_RESULTS = REPO_ROOT / "results"
DEFAULT_REPORT = REPO_ROOT / "reports" / "index.html"
