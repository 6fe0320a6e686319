"""Which run a record is, and how it is named: the keys that pair runs and the names a page and a
terminal print.

- the **config key**: the spec as canonical JSON without ``seed`` (runs that differ only by seed
  share it), the **pair key** (task, impl, mode, device, config key) that pairs runs, and the
  **run key** (task, impl, mode, device) the A/B gate decides on;
- the **machine id**: ``machine.machine_id``, else the fingerprint, else ``unknown machine``;
- the **run label** ``torch [fused]`` and the **run name** ``mnist/torch[fused]@cpu seed=0``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol

from harness.record.schema import RunRecord

UNKNOWN_MACHINE = "unknown machine"


class PairKey(NamedTuple):
    """What pairs runs across result sets: the run's identity minus its seed."""

    task: str
    impl: str
    mode: str
    device: str
    config: str

    @property
    def label(self) -> str:
        return f"{self.task} {self.impl} {self.mode} {self.device}"


def config_key(config: Mapping[str, Any]) -> str:
    """The spec as canonical JSON without ``seed``: equal for runs that differ only by seed."""
    return json.dumps({k: v for k, v in config.items() if k != "seed"}, sort_keys=True, default=str)


def pair_key(record: RunRecord) -> PairKey:
    """The :class:`PairKey` of one record."""
    return PairKey(record.task, record.impl, record.mode, record.device, config_key(record.config))


RunKey = tuple[str, str, str, str]  # task, implementation, mode, device


class _Run(Protocol):
    task: str
    impl: str
    mode: str
    device: str


def run_key(run: _Run) -> RunKey:
    """Which run of a plan a record (or a request: the same four fields) is, seeds aside: what
    the A/B gate decides on, one verdict each."""
    return (run.task, run.impl, run.mode, run.device)


def machine_id(record: RunRecord) -> str:
    """Where the run happened: its ``machine_id``, else its fingerprint, else ``unknown machine``."""
    info = record.machine or {}
    return str(info.get("machine_id") or info.get("fingerprint") or UNKNOWN_MACHINE)


def fingerprint(record: RunRecord) -> str:
    """The hardware fingerprint of the run's machine (``""`` when unknown)."""
    return str((record.machine or {}).get("fingerprint") or "")


def engine(record: RunRecord) -> str:
    """The framework whose kernels ran: the recorded engine, else Keras' backend, else the framework."""
    return str((record.execution or {}).get("engine") or record.backend or record.framework)


def run_label(impl: str, mode: str) -> str:
    """How an implementation and mode are named on a page: ``torch``, ``torch [fused]``."""
    return impl if mode in ("", "default") else f"{impl} [{mode}]"


def run_name(task: str, impl: str, mode: str, device: str, seed: int) -> str:
    """One run in words: ``mnist/torch[default]@cpu seed=0``."""
    return f"{task}/{impl}[{mode}]@{device} seed={seed}"


def record_name(record: RunRecord) -> str:
    """:func:`run_name` of a record."""
    return run_name(record.task, record.impl, record.mode, record.device, record.seed)
