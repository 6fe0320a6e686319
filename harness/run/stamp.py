"""What every record gets when its run is over, wherever it ran (this machine, or a Ray node):
where it happened (machine, versions, commit) and the machine calibration it is read against."""

from __future__ import annotations

from datetime import UTC, datetime

from harness.plugins import registry
from harness.record.derived import calibration_facts
from harness.record.schema import RunRecord
from harness.run import machine
from harness.store.calibration import Entry, find_for, peak


def finish(record: RunRecord, threads: int, entries: list[Entry]) -> RunRecord:
    """Add where the run happened (machine, versions, commit) and the calibration it is read against."""
    record.machine = machine.machine_info()
    record.versions = {**machine.package_versions(), **record.execution.pop("versions", {})}
    record.git_commit = machine.git_commit()
    record.finished_at = datetime.now(UTC).isoformat(timespec="seconds")
    record.execution.setdefault("requested_threads", threads)
    if record.status == "ok" and entries:
        fingerprint = record.machine["fingerprint"]
        impls = registry.implementations()
        engine = impls[record.impl].engine if record.impl in impls else ""
        own = find_for(entries, engine, record.device, threads)
        best = peak(entries, record.device, threads, fingerprint)
        record.calibration = calibration_facts(own, best)
    return record
