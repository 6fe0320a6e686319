"""The plan: the runs to do (:class:`RunRequest`), with the policy every worker applies, and the
one place a run's record is first made (:func:`new_record`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from harness.record.derived import run_name
from harness.record.schema import RunRecord
from harness.spec.registry import ImplInfo
from harness.spec.train_spec import TrainSpec
from tasks.mlp import spec as task_spec


@dataclass(frozen=True)
class RunRequest:
    """One run to do: what to train, where, how, and how much to measure."""

    task: str
    impl: str
    device: str = "cpu"
    mode: str = "default"
    seed: int = 0
    overrides: dict[str, Any] = field(default_factory=dict)
    suite: str = ""
    timeout_s: float = 900.0
    step_samples: int = 30
    eval_repeats: int = 5
    track_test: bool = False  # evaluate the test split after every epoch too (overfitting studies)

    def spec(self) -> TrainSpec:
        """The resolved spec: the task's defaults, the overrides, this seed."""
        return task_spec.make_spec(self.task, **{**self.overrides, "seed": self.seed})

    def label(self) -> str:
        """Short human label, e.g. ``mnist/torch[default]@cpu seed=0``."""
        return run_name(self.task, self.impl, self.mode, self.device, self.seed)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRequest:
        return cls(**data)


def new_record(request: RunRequest, info: ImplInfo | None) -> RunRecord:
    """The record of ``request`` before it runs (status ``ok`` until something says otherwise)."""
    return RunRecord(
        task=request.task,
        impl=request.impl,
        framework=info.framework if info else request.impl,
        backend=info.backend if info else "",
        api=info.api if info else "",
        device=request.device,
        mode=request.mode,
        seed=request.seed,
        suite=request.suite,
        config=request.spec().to_dict(),
    )


@dataclass
class Plan:
    """The runs to do, in order, with the policy every worker applies."""

    name: str
    requests: list[RunRequest]
    threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    calibrate: bool = True  # measure the machine (once, cached) and add efficiency to records
    schedule: str = "interleaved"  # or "sequential": see harness.run.schedule
    warm_up: bool = True  # interleaved epochs start after an untimed Trainer.warm_up()
    order_seed: int = field(default_factory=lambda: int.from_bytes(os.urandom(4), "little"))
