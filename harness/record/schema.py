"""The run record: one JSON object per (task, impl, mode, device, seed) run, and its schema.

Records keep raw samples only (seconds per epoch, per step, per evaluation); statistics are
derived when reading (see :mod:`harness.record.derived`). ``results/README.md`` documents every field.

Versions: 3 (this one) keeps a run's per-epoch metrics in ``curves`` and where it came from (its
plan, shard and order seed, its budget, its A/B pair) in ``provenance``, apart from how it ran
(``execution``); the implementation's own facts are ``execution["plugin"]``, declared by its plug-in.
Version 2 called the curves ``history`` and kept every fact in ``execution``; version 1 also
stored the calibration's raw rates in ``efficiency`` beside figures derived from the run's own
step time, and the overfitting analysis in ``extra["overfitting"]``. :meth:`RunRecord.from_dict`
reads all three: an older record is migrated as it is read (version 1's derived figures dropped;
they are computed on reading, as for every newer record).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from harness.errors import RecordError
from harness.record.execution import PLUGIN, PLUGIN_PREFIX, PROVENANCE, V2_PLUGIN_FACTS

SCHEMA_VERSION = 3
# A run's purpose (RunRecord.purpose): "" answers its task's questions (a section of the page); this
# one was measured for the step model alone (harness/plan/step_model.py: another network than the
# task's own, a few epochs), and the page shows it only in "Where a step's time goes".
STEP_MODEL_POINT = "step model"
PURPOSES = ("", STEP_MODEL_POINT)
READABLE_VERSIONS = (1, 2, 3)  # what from_dict reads (older ones are migrated)
CALIBRATION_KEYS = (  # the raw calibration facts a record keeps (derived.efficiency reads them)
    "peak_flops_per_s",
    "peak_engine",
    "engine",
    "engine_matmul_flops_per_s",
    "dispatch_s",
    "calibrated_at",
)
STATUSES = ("ok", "diverged", "crashed", "timeout", "unavailable")
NOT_FINISHED = STATUSES[1:]  # a run that ended without its measurements, and says why


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


@dataclass
class Timings:
    """Every timing phase, kept apart. All values in seconds; lists are raw samples."""

    import_s: float | None = None  # framework import + setup, once per worker process
    worker_runs_before: int = 0  # runs this worker did before this one (0: import paid here)
    build_s: float | None = None  # model build + weights loaded + data placed on the device
    first_epoch_s: float | None = None  # includes tracing / compilation
    epoch_s: list[float] = field(default_factory=list)  # steady-state epochs 2..E, one sync each
    # Every epoch (the first included): the part of its time the training loop spent setting the
    # epoch up before its first step (Keras: a new data iterator); inside first_epoch_s / epoch_s.
    epoch_setup_s: list[float] = field(default_factory=list)
    # Every epoch: CPU seconds other processes used while its steps ran (all cores; /proc/stat
    # ticks less the worker's own CPU time, signed: a short epoch reads below 0 when no tick fell
    # while it ran, so that sums stay unbiased; None where unknown): the contention it ran beside.
    epoch_others_cpu_s: list[float | None] = field(default_factory=list)
    step_s: list[float] = field(default_factory=list)  # single steps, each synchronised
    eval_s: list[float] = field(default_factory=list)  # full test-split evaluations
    time_to_target_s: float | None = None  # training time until val accuracy >= target
    epochs_to_target: int | None = None
    # Every epoch (the first included): when it started (Unix seconds) and its round of the
    # schedule; runs of one interleaved group train the epochs of one round back to back.
    epoch_started_at: list[float] = field(default_factory=list)
    epoch_rounds: list[int] = field(default_factory=list)


@dataclass
class Curves:
    """Per-epoch metrics on the train and validation splits, evaluated with dropout off.

    ``test_accuracy`` is filled per epoch only when the run asked for it (``track_test``), for
    the overfitting analysis; it is empty otherwise, as in records written before it existed.
    """

    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)


@dataclass
class RunRecord:
    """One run. ``status`` is one of :data:`STATUSES`; ``reason`` says why when it is not ok."""

    task: str
    impl: str
    framework: str
    device: str
    seed: int
    mode: str = "default"
    backend: str = ""
    api: str = ""
    status: str = "ok"
    reason: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    suite: str = ""
    purpose: str = ""  # why the plan ran it: "" its task's questions; STEP_MODEL_POINT the step model alone
    machine: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, Any] = field(default_factory=dict)
    execution: dict[str, Any] = field(default_factory=dict)  # how it ran (harness/record/execution.py)
    provenance: dict[str, Any] = field(default_factory=dict)  # which plan or A/B pair it came from
    git_commit: str = ""
    timings: Timings = field(default_factory=Timings)
    curves: Curves = field(default_factory=Curves)  # per epoch ("history" in versions 1-2)
    n_train: int | None = None
    n_test: int | None = None
    n_val: int | None = None  # validation samples (None in records before it was kept)
    steps_per_epoch: int | None = None
    train_flops_per_sample: int | None = None
    test_accuracy: float | None = None
    test_loss: float | None = None
    peak_rss_bytes: int | None = None
    device_peak_bytes: int | None = None
    # The machine calibration this run is read against (empty when not calibrated): its device's
    # peak and its own engine's rates, raw (CALIBRATION_KEYS); efficiency is derived on reading.
    calibration: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    finished_at: str = ""  # when the run's record was completed ("": records before it was kept)
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the stored form); NaN and infinities become ``None``."""
        return _json_safe(asdict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunRecord:
        """Parse a stored dict; raises :class:`RecordError` naming what is missing or wrong."""
        if not isinstance(data, Mapping):
            raise RecordError(f"a record must be a JSON object, got {type(data).__name__}")
        version = data.get("schema_version")
        if version not in READABLE_VERSIONS:
            valid = ", ".join(map(str, READABLE_VERSIONS))
            raise RecordError(f"schema_version {version!r} is not supported (readable: {valid})")
        if version == 1:
            data = _migrate_v1(data)
        if version in (1, 2):
            data = _migrate_v2(data)
        missing = [k for k in ("task", "impl", "framework", "device", "seed", "status") if k not in data]
        if missing:
            raise RecordError(f"record is missing field(s): {', '.join(missing)}")
        if data["status"] not in STATUSES:
            raise RecordError(f"status {data['status']!r} is not one of {', '.join(STATUSES)}")
        known = set(cls.__dataclass_fields__)
        body = {k: v for k, v in data.items() if k in known}
        try:
            body["timings"] = Timings(**data.get("timings", {}))
            body["curves"] = Curves(**data.get("curves", {}))
            return cls(**body)
        except TypeError as exc:
            raise RecordError(f"record has a malformed field: {exc}") from exc

    def ended(self, status: str, reason: str) -> RunRecord:
        """This run did not finish: ``status`` (one of :data:`NOT_FINISHED`) and why, said once for
        every stage that ends a run (a worker that died, an import that failed, a crash)."""
        if status not in NOT_FINISHED:
            raise ValueError(f"status {status!r} is not one of {', '.join(NOT_FINISHED)}")
        if not reason:
            raise ValueError(f"a {status} run must say why")
        self.status, self.reason = status, reason
        return self

    @property
    def key(self) -> tuple[str, str, str, str]:
        """What pairs runs across result sets: task, impl, mode, device."""
        return (self.task, self.impl, self.mode, self.device)


@dataclass(frozen=True)
class RunIdentity:
    """Which run a record is of, known before it runs: what the plan asked for, and the
    implementation's plug-in names (``framework`` falls back to the implementation's name where
    its plug-in is not known)."""

    task: str
    impl: str
    framework: str
    device: str
    seed: int
    mode: str = "default"
    backend: str = ""
    api: str = ""
    suite: str = ""
    purpose: str = ""
    config: Mapping[str, Any] = field(default_factory=dict)
    twin: bool = False  # the group's A/A twin (execution.twin)


def new_record(identity: RunIdentity) -> RunRecord:
    """The record of a run before it runs (status ``ok`` until something says otherwise): the one
    place a record is first made, in the worker that measures it or in the parent for a run that
    never reached one."""
    fields = {k: getattr(identity, k) for k in RunIdentity.__dataclass_fields__ if k != "twin"}
    record = RunRecord(**{**fields, "config": dict(identity.config)})
    if identity.twin:
        record.execution["twin"] = True
    return record


def unfinished(identity: RunIdentity, status: str, reason: str) -> RunRecord:
    """The record of a run that ended before it could be measured (``unavailable``, ``crashed``,
    ``timeout``: see :meth:`RunRecord.ended`), made the one way every stage makes it."""
    return new_record(identity).ended(status, reason)


def _migrate_v1(data: Mapping[str, Any]) -> dict[str, Any]:
    """A version-1 record as version 2: the calibration's raw rates kept from ``efficiency``, the
    figures derived from the run (``achieved_flops_per_s``, ``fraction_of_peak``, ...) and
    ``extra["overfitting"]`` dropped (both are derived on reading now)."""
    out = {k: v for k, v in data.items() if k != "efficiency"}
    efficiency = data.get("efficiency") or {}
    if isinstance(efficiency, Mapping):
        out["calibration"] = {k: efficiency[k] for k in CALIBRATION_KEYS if k in efficiency}
    extra = data.get("extra")
    if isinstance(extra, Mapping):
        out["extra"] = {k: v for k, v in extra.items() if k != "overfitting"}
    out["schema_version"] = 2
    return out


def _migrate_v2(data: Mapping[str, Any]) -> dict[str, Any]:
    """A version-2 record as version 3: ``history`` is ``curves``; the plan's and the A/B gate's
    facts move from ``execution`` to ``provenance``; the implementation's own facts (those its
    plug-in declares: in version 2, the ones :data:`harness.record.execution.V2_PLUGIN_FACTS`
    names, and any ``plugin_`` key) to ``execution["plugin"]``."""
    out = {k: v for k, v in data.items() if k != "history"}
    out["curves"] = data.get("history", {})
    execution = dict(data.get("execution") or {})
    out["provenance"] = {k: execution.pop(k) for k in list(execution) if k in PROVENANCE}
    plugin = {
        k: execution.pop(k) for k in list(execution) if k in V2_PLUGIN_FACTS or k.startswith(PLUGIN_PREFIX)
    }
    if plugin:
        execution[PLUGIN] = plugin
    out["execution"] = execution
    out["schema_version"] = SCHEMA_VERSION
    return out
