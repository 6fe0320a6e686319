"""The one stamp every record gets when its run is over, wherever it ran (this machine, or a Ray
node): where and when it ran (machine, versions, commit, when it finished), which plan or A/B pair
it came from (``provenance``), and the machine calibration it is read against. How it ran is
``execution``, written by the stages that ran it; the stamp adds only the threads it was given."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from harness.plugins import registry
from harness.record.derived import calibration_facts
from harness.record.schema import RunRecord
from harness.run import machine
from harness.store.calibration import Entry, find_for, peak


def finish(
    record: RunRecord,
    threads: int,
    entries: list[Entry],
    provenance: Mapping[str, Any],
    commit: str | None = None,
) -> RunRecord:
    """Stamp ``record``: where and when it ran, ``provenance`` (its plan's or its A/B pair's facts:
    :data:`harness.record.execution.PROVENANCE`), the calibration it is read against; ``commit``
    the code it ran (default: this checkout's)."""
    record.machine = machine.machine_info()
    record.versions = {**machine.package_versions(), **record.execution.pop("versions", {})}
    record.git_commit = machine.git_commit() if commit is None else commit
    record.finished_at = datetime.now(UTC).isoformat(timespec="seconds")
    record.provenance = {**record.provenance, **provenance}
    record.execution.setdefault("requested_threads", threads)
    if record.status == "ok" and entries:
        fingerprint = record.machine["fingerprint"]
        impls = registry.implementations()
        engine = impls[record.impl].engine if record.impl in impls else ""
        own = find_for(entries, engine, record.device, threads)
        best = peak(entries, record.device, threads, fingerprint)
        record.calibration = calibration_facts(own, best)
    return record
