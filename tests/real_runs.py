"""What tests share to make real runs: one factory for a tiny real ``harness run`` (the
``real_run`` fixture in ``tests/conftest.py``), and the parameters of a test over every plug-in,
the unavailable ones skipped where pytest shows it, with the reason (as are the implementations
without an optional method a test needs)."""

from __future__ import annotations

import signal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.cli.main import main
from harness.plugins.contract import Trainer
from harness.record.schema import RunRecord
from harness.store import runs as store


@dataclass
class RealRun:
    """A finished ``harness run``: its exit status, the records it left, where."""

    status: int
    records: list[RunRecord]
    results: Path


def real_run(
    folder: Path, *argv: str, suite: str | None = None, name: str = "results", calibrate: bool = False
) -> RealRun:
    """``python -m harness run`` into ``folder / name`` (the suite's TOML text written beside it,
    if given); every record file it leaves must read back whole."""
    results = folder / name
    args = ["run", "--results", str(results)]
    if suite is not None:
        path = folder / f"{name}.toml"
        path.write_text(suite)
        args += ["--suite", str(path)]
    if not calibrate:
        args.append("--no-calibrate")
    status = main([*args, *argv])
    records, skipped = store.load(results) if results.exists() else ([], [])
    assert skipped == [], skipped
    return RealRun(status, records, results)


def each_available(plugins: Mapping[str, Any], values: Iterable[str] | None = None) -> list[Any]:
    """``pytest.param`` per plug-in name (or per value of ``values``, named ``name`` or
    ``name:...``): the unavailable ones skipped with their reason, never silently dropped."""
    out = []
    for value in values if values is not None else plugins:
        reason = plugins[value.split(":")[0]].unavailable_reason()
        marks = [pytest.mark.skip(reason=f"unavailable here: {reason}")] if reason else []
        out.append(pytest.param(value, marks=marks, id=value))
    return out


def skip_without(trainer: type[Trainer], method: str) -> None:
    """Skip the calling test, with :meth:`Trainer.lacks`'s reason, when ``trainer`` does not implement
    the optional ``method`` it needs."""
    reason = trainer.lacks(method)
    if reason:
        pytest.skip(reason)


def interruptible() -> None:
    """``preexec_fn`` for a child a test will Ctrl-C: SIGINT back to its default before ``exec``.
    A process started with SIGINT ignored (a shell's background job, some CI runners) passes the
    ignoring on, and Python then never raises ``KeyboardInterrupt``: the run the test interrupts
    would finish instead (seen 2026-12-03: both Ctrl-C tests failed in a backgrounded ``.ci/run``)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
