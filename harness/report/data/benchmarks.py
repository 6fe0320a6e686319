"""pytest-benchmark JSON files (``pytest --benchmark-json``): the sessions, listed, not their numbers.

Each file is one session on one machine, every framework in one process, where they disturb each
other; the report lists the sessions and says why their numbers are not on the page. A file that
cannot be read is reported as skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.store.runs import Skipped

BENCHMARKS_DIR = "benchmarks"


@dataclass
class Session:
    """Where and when one pytest-benchmark file was recorded."""

    file: str
    machine: str
    commit: str
    datetime: str
    count: int


def benchmark_files(results_dir: Path) -> list[Path]:
    """Every ``*.json`` under ``<results>/benchmarks``, sorted; none when the folder is absent."""
    folder = Path(results_dir) / BENCHMARKS_DIR
    return sorted(folder.rglob("*.json")) if folder.is_dir() else []


def _machine(info: dict[str, Any]) -> str:
    cpu = info.get("cpu") or {}
    brand = cpu.get("brand_raw") or info.get("processor") or "unknown CPU"
    cores = f", {cpu['count']} cores" if cpu.get("count") else ""
    return f"{info.get('node', '?')}: {brand}{cores}, Python {info.get('python_version', '?')}"


def _commit(info: dict[str, Any]) -> str:
    if not info.get("id"):
        return ""
    return str(info["id"])[:12] + ("+dirty" if info.get("dirty") else "") + f" ({info.get('branch', '?')})"


def load_benchmarks(results_dir: Path) -> tuple[list[Session], list[Skipped]]:
    """The pytest-benchmark sessions under ``results_dir`` (where, when, how many benchmarks:
    their numbers are not shown, see the report's section) and the unreadable files."""
    sessions: list[Session] = []
    skipped: list[Skipped] = []
    for path in benchmark_files(results_dir):
        name = str(path.relative_to(results_dir))
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            count = sum(1 for bench in document["benchmarks"] if bench["stats"]["median"] is not None)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            skipped.append(Skipped(path, 0, f"not a pytest-benchmark file: {type(exc).__name__}: {exc}"))
            continue
        info = document.get("machine_info") or {}
        sessions.append(
            Session(
                name,
                _machine(info),
                _commit(document.get("commit_info") or {}),
                str(document.get("datetime", "")),
                count,
            )
        )
    return sessions, skipped
