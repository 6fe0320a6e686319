"""A run record's digest: the few fields and samples that the history, the nightly check and the
choice of the report's run set read. A record keeps every epoch of every phase, its machine's
facts and its execution settings (a year of nights, ~64,000 records, is over a gigabyte of Python
objects); its digest is a few hundred bytes, so that :mod:`harness.store.index` can keep one per
record beside the JSON Lines and a report reads a year of history without reading the records.

Every value is the record's own or one of :mod:`harness.record.derived`'s definitions, so the
history drawn from digests is the history drawn from the records (``tests/store/test_index.py``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from harness.errors import RecordError
from harness.record.derived import is_twin, metric_samples
from harness.record.keys import PairKey, config_key, fingerprint, machine_id
from harness.record.schema import RunRecord

METRICS = ("step_time", "throughput", "test_accuracy")  # the history's headline metrics


@dataclass(frozen=True)
class Digest:
    """What history and run-set selection need of one record."""

    run_id: str
    machine_id: str
    fingerprint: str
    cpu_model: str
    task: str
    impl: str
    mode: str
    device: str
    config_key: str
    git_commit: str
    created_at: str
    status: str
    twin: bool
    samples: dict[str, list[float]] = field(default_factory=dict)  # per metric of METRICS
    finished_at: str = ""  # "" for records that did not keep it: then created_at stands for it

    @property
    def pair_key(self) -> PairKey:
        return PairKey(self.task, self.impl, self.mode, self.device, self.config_key)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Digest:
        """Parse a stored digest; :class:`RecordError` when it is not one (an index is rebuilt then)."""
        try:
            digest = cls(**data)
        except TypeError as exc:
            raise RecordError(f"not a digest: {exc}") from exc
        if not isinstance(digest.samples, dict) or set(digest.samples) != set(METRICS):
            raise RecordError(f"a digest's samples must be {', '.join(METRICS)}")
        return digest


def digest(record: RunRecord, samples: bool = True) -> Digest:
    """The digest of ``record``; without its metric ``samples`` when they are not wanted (choosing
    runs reads none: :func:`harness.store.runs.choose_runs`), which saves deriving them."""
    return Digest(
        run_id=record.run_id,
        machine_id=machine_id(record),
        fingerprint=fingerprint(record),
        cpu_model=str((record.machine or {}).get("cpu_model", "")),
        task=record.task,
        impl=record.impl,
        mode=record.mode,
        device=record.device,
        config_key=config_key(record.config),
        git_commit=record.git_commit,
        created_at=record.created_at,
        status=record.status,
        twin=is_twin(record),
        finished_at=record.finished_at,
        samples={metric: metric_samples(record, metric) for metric in METRICS} if samples else {},
    )
