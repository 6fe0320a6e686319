"""The default places the CLI reads and writes (a library function always takes them as arguments)."""

from __future__ import annotations

from harness.plugins.registry import PROJECT_ROOT

DEFAULT_RESULTS = PROJECT_ROOT / "results"
DEFAULT_REPORT = PROJECT_ROOT / "reports" / "index.html"
