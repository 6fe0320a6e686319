"""Measuring a machine's noise floor: the same run, back to back, each in a fresh worker process,
as two stored result sets compared a while apart see it (:mod:`harness.store.noise`)."""

from __future__ import annotations

import random
from collections.abc import Callable

from harness.plan.requests import RunRequest
from harness.record.derived import step_time_s
from harness.record.schema import RunRecord
from harness.run.schedule import Group, Pool


def back_to_back(
    request: RunRequest, runs: int, threads: int, on_run: Callable[[str], None]
) -> list[RunRecord]:
    """``runs`` runs of ``request``, one after another, each with a fresh worker."""
    records = []
    for i in range(runs):
        on_run(f"{request.label()} ({i + 1} of {runs})")
        pool = Pool(threads)
        try:
            records += Group([request], pool, "sequential", random.Random(i)).run()
        finally:
            pool.close(kill=True)
    return records


def floor_of(step_s: list[float]) -> float:
    """The largest relative change of step time between consecutive runs."""
    return max(abs(b / a - 1.0) for a, b in zip(step_s, step_s[1:], strict=False))


def step_times(records: list[RunRecord]) -> list[float]:
    """The headline step time of each ok run."""
    return [step_time_s(r) for r in records if r.status == "ok"]
