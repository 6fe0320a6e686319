"""pytest-benchmark JSON files (``pytest --benchmark-json``) -> one tidy DataFrame.

Each file is one session on one machine; within a file and group, every benchmark is also shown
as a ratio to the group's fastest median. A file that cannot be read is reported as skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from harness.store.runs import Skipped

BENCHMARKS_DIR = "benchmarks"
COLUMNS = ["file", "group", "name", "params", "median_s", "mean_s", "stddev_s", "rounds", "ratio_to_fastest"]


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


def _rows(name: str, document: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for bench in document["benchmarks"]:
        stats = bench["stats"]
        params = bench.get("params") or {}
        rows.append(
            {
                "file": name,
                "group": bench.get("group") or "(no group)",
                "name": bench["name"],
                "params": ", ".join(f"{k}={v}" for k, v in params.items()),
                "median_s": float(stats["median"]),
                "mean_s": float(stats["mean"]),
                "stddev_s": float(stats["stddev"]),
                "rounds": int(stats["rounds"]),
            }
        )
    return rows


def load_benchmarks(results_dir: Path) -> tuple[pd.DataFrame, list[Session], list[Skipped]]:
    """All benchmarks under ``results_dir``, one row each; the sessions; and unreadable files."""
    rows: list[dict[str, Any]] = []
    sessions: list[Session] = []
    skipped: list[Skipped] = []
    for path in benchmark_files(results_dir):
        name = str(path.relative_to(results_dir))
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            more = _rows(name, document)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            skipped.append(Skipped(path, 0, f"not a pytest-benchmark file: {type(exc).__name__}: {exc}"))
            continue
        rows += more
        info = document.get("machine_info") or {}
        sessions.append(
            Session(
                name,
                _machine(info),
                _commit(document.get("commit_info") or {}),
                str(document.get("datetime", "")),
                len(more),
            )
        )
    frame = pd.DataFrame(rows, columns=COLUMNS[:-1])
    fastest = frame.groupby(["file", "group"])["median_s"].transform("min")
    return frame.assign(ratio_to_fastest=frame["median_s"] / fastest), sessions, skipped
