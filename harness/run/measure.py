"""The phases of one run, in the worker process: build, epochs, evaluation, single steps.

Each phase is timed on its own (never mixed): ``build_s``; ``first_epoch_s`` (includes tracing
and compilation); ``epoch_s`` for the steady-state epochs 2..E, each timed between the training
loop's hooks (:class:`harness.plugins.contract.EpochHooks`) and ending with one device sync, as real
training runs; ``eval_s`` full test-split evaluations; ``step_s`` single training steps, each
synchronised. Per-epoch evaluation on train and validation (its curves) happens inside the end
hook but outside its timer, as does the per-epoch test evaluation a ``track_test`` request adds.
The overfitting analysis is not stored: it is derived from the curves on reading
(:func:`harness.record.derived.overfitting_of`).

When a run may go on is decided by its :class:`Control`: :class:`FreeRun` lets it run straight
through; the worker's session (:mod:`harness.run.session`) holds it at each epoch's start until the
parent's schedule says it is this run's turn, which is how runs are interleaved round by round.
"""

from __future__ import annotations

import math
import os
import traceback
from typing import Any, Protocol

import numpy as np
import psutil

from harness.plan.requests import RunRequest
from harness.plugins import registry
from harness.plugins.contract import Engine, Trainer, Unavailable
from harness.plugins.registry import ImplInfo
from harness.problem.train_spec import TrainSpec
from harness.record import execution
from harness.record.schema import RunRecord, new_record
from harness.run.faults import TWIN_MARK, Fault, inject_fault
from harness.run.timing import (
    CpuMeter,
    PeakRSS,
    Span,
    busy_wait,
    quiet_wait_limit,
    repeat,
    timed,
    wait_for_quiet,
)


class Control(Protocol):
    """Decides when a run may go on; told what each epoch took. ``warm_up``: the run's epochs
    follow other processes' (interleaved), so each starts after an untimed warm-up."""

    warm_up: bool

    def built(self) -> None:
        """The model is built; returns when the run may be scheduled."""

    def before_epoch(self, epoch: int) -> int:
        """Returns, when epoch ``epoch`` may start (its timer starts right after), the round of
        the schedule it belongs to."""

    def after_epoch(self, epoch: int, seconds: float, more: bool) -> None:
        """Epoch ``epoch`` took ``seconds``; ``more``: another epoch follows."""

    def before_finish(self) -> None:
        """Returns when the run may do its closing measurements."""


class FreeRun:
    """A :class:`Control` that never holds a run: every phase back to back."""

    warm_up = False

    def built(self) -> None:
        return None

    def before_epoch(self, epoch: int) -> int:
        return epoch

    def after_epoch(self, epoch: int, seconds: float, more: bool) -> None:
        return None

    def before_finish(self) -> None:
        return None


class LoopEnded(RuntimeError):
    """The training loop returned without calling the hooks for every epoch, or not in order."""


class EpochTimer:
    """The harness's :class:`~harness.plugins.contract.EpochHooks`: times each epoch (the loop's own
    epoch setup, then its steps, with the schedule's pause between them outside the timer), then
    (untimed) evaluates, records the curves and checks for divergence and target."""

    def __init__(self, trainer: Trainer, record: RunRecord, control: Control, fault: Fault, track_test: bool):
        self.trainer, self.record, self.control = trainer, record, control
        self.fault, self.track_test = fault, track_test
        self.setup = Span()
        self.span = Span()
        self.cpu = CpuMeter()
        self.setup_s: float | None = None
        self.round = 0
        self.begins_round = True
        self.quiet_wait_s = 0.0  # waited, untimed, for other processes to leave the CPU
        self.not_quiet = 0  # epochs that started without a quiet moment within the limit
        self.quiet_limit_s = quiet_wait_limit()
        self.trained_s = 0.0
        self.epochs_done = 0
        self.stopped = False

    def epoch_start(self, epoch: int) -> None:
        self.setup_s = None
        self.setup.start()

    def steps_start(self, epoch: int) -> None:
        busy_wait(self.fault.setup_stall_s(epoch))  # test-only: a stalled setup
        self.setup_s = self.setup.stop(self.trainer.sync)
        previous, self.round = self.round, self.control.before_epoch(epoch)
        self.begins_round = epoch == 0 or self.round != previous
        if self.control.warm_up:
            if self.begins_round:
                waited_s, quiet = wait_for_quiet(limit_s=self.quiet_limit_s)
                self.quiet_wait_s += waited_s
                self.not_quiet += not quiet
            self.trainer.warm_up()
        self.cpu.start()
        self.span.start()

    def epoch_end(self, epoch: int) -> bool:
        if self.setup_s is None:
            raise LoopEnded(f"the training loop ended epoch {epoch} without calling steps_start")
        if self.fault.kind:  # test-only: a share of the work done, so wait for asynchronous engines first
            self.trainer.sync()
            steps = self.record.steps_per_epoch or 1
            busy_wait(self.fault.extra_s(self.span.elapsed_s(), steps, self.begins_round))
        seconds = self.span.stop(self.trainer.sync) + self.setup_s
        others_s = self.cpu.stop()
        self.fault.at_epoch_end(epoch)
        timings, spec = self.record.timings, self.trainer.spec
        if epoch == 0:
            timings.first_epoch_s = seconds
        else:
            timings.epoch_s.append(seconds)
        timings.epoch_setup_s.append(self.setup_s)
        timings.epoch_others_cpu_s.append(others_s)
        timings.epoch_started_at.append(self.span.started_at)
        timings.epoch_rounds.append(self.round)
        self.trained_s += seconds
        self.epochs_done = epoch + 1
        val_loss, val_acc = self._evaluate()
        if timings.time_to_target_s is None and val_acc >= spec.target_val_accuracy:
            timings.time_to_target_s, timings.epochs_to_target = self.trained_s, epoch + 1
        self.stopped = not math.isfinite(val_loss) or not math.isfinite(self.record.curves.train_loss[-1])
        self.control.after_epoch(epoch, seconds, more=not self.stopped and epoch + 1 < spec.epochs)
        return self.stopped

    def _evaluate(self) -> tuple[float, float]:
        curves = self.record.curves
        train_loss, train_acc = self.trainer.evaluate("train")
        val_loss, val_acc = self.trainer.evaluate("val")
        curves.train_loss.append(train_loss)
        curves.train_accuracy.append(train_acc)
        curves.val_loss.append(val_loss)
        curves.val_accuracy.append(val_acc)
        if self.track_test:
            curves.test_accuracy.append(self.trainer.evaluate("test")[1])
        return val_loss, val_acc


def _step_samples(trainer: Trainer, order: np.ndarray, count: int) -> list[float]:
    """``count`` synchronised single steps on full batches of ``order`` (a fresh permutation)."""
    spec = trainer.spec
    cuts = [order[i : i + spec.batch_size] for i in range(0, len(order), spec.batch_size)]
    batches = [b for b in cuts if len(b) == spec.batch_size] or cuts  # a split smaller than a batch
    samples = []
    for i in range(count):
        index = batches[i % len(batches)]
        samples.append(timed(lambda: trainer.train_step(index), trainer.sync)[1])  # noqa: B023
    return samples


def execute(
    info: ImplInfo,
    engine: type[Engine],
    cls: type[Trainer],
    request: RunRequest,
    control: Control | None = None,
) -> RunRecord:
    """Do one run with ``cls`` on ``engine`` and return its record (machine and versions are added
    by the caller); ``control`` (default: none) decides when each phase may go on.

    Never raises for a failing run: an exception becomes a ``crashed`` record with its traceback,
    a device or mode the implementation cannot do becomes ``unavailable``.
    """
    spec = request.spec
    record = new_record(request.identity(info))
    try:
        reason = engine.device_reason(request.device)
        if reason:
            raise Unavailable(reason)
        trainer = cls(spec, request.device, request.mode, engine)
        _measure(trainer, spec, request, record, control or FreeRun())
    except Unavailable as exc:
        record.ended("unavailable", str(exc))
    except Exception as exc:  # a failing run must cost that run only
        record.ended("crashed", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=-4)}")
    return record


def _measure(
    trainer: Trainer, spec: TrainSpec, request: RunRequest, record: RunRecord, control: Control
) -> None:
    fault = inject_fault(trainer, f"{request.impl}{TWIN_MARK if request.twin else ''}")
    record.execution["loadavg_1m_before"] = os.getloadavg()[0]
    family = registry.family(spec.task)
    data = family.load_data(spec)
    n_train = len(data.y_train)
    record.n_train, record.n_val, record.n_test = n_train, len(data.y_val), len(data.y_test)
    record.steps_per_epoch = family.steps_per_epoch(spec, n_train)
    record.train_flops_per_sample = family.train_flops_per_sample(spec)
    orders = [family.batch_order(spec, epoch, n_train) for epoch in range(spec.epochs)]
    timings = record.timings
    trainer.engine.reset_memory_peak(trainer.device)
    with PeakRSS() as peak:
        _, timings.build_s = timed(lambda: trainer.build(family.init_params(spec), data), trainer.sync)
        control.built()
        timer = EpochTimer(trainer, record, control, fault, request.track_test)
        trainer.fit(orders.__getitem__, timer)
        if not timer.stopped and timer.epochs_done < spec.epochs:
            raise LoopEnded(f"the training loop ended after {timer.epochs_done} of {spec.epochs} epochs")
        control.before_finish()
        if timer.stopped:
            record.ended("diverged", f"loss is not finite after epoch {timer.epochs_done}")
        else:
            record.test_loss, record.test_accuracy = trainer.evaluate("test")
            timings.eval_s = repeat(lambda: trainer.evaluate("test"), trainer.sync, request.eval_repeats)
            fresh = family.batch_order(spec, spec.epochs, n_train)
            timings.step_s = _step_samples(trainer, fresh, request.step_samples)
    record.peak_rss_bytes = peak.bytes
    record.device_peak_bytes = trainer.device_memory_peak_bytes()
    record.execution.update(_facts_of(trainer))
    if control.warm_up:
        record.execution["warm_up"] = "untimed Trainer.warm_up() before every epoch (interleaved)"
        record.execution["quiet_wait_s"] = round(timer.quiet_wait_s, 4)
        record.execution["epochs_not_quiet"] = timer.not_quiet
    record.execution["process_threads"] = psutil.Process().num_threads()
    record.execution["loadavg_1m_after"] = os.getloadavg()[0]


def _facts_of(trainer: Trainer) -> dict[str, Any]:
    """What ``trainer`` says of how it ran: the facts the contract has every implementation say,
    and its own under ``execution["plugin"]``, each of which its class declares (``Trainer.FACTS``)."""
    facts = trainer.execution()
    own = {k: facts.pop(k) for k in list(facts) if k not in execution.FACTS}
    wrong = execution.typed(own, type(trainer).FACTS)
    if wrong:
        raise TypeError(f"{type(trainer).__name__}.execution(): {'; '.join(wrong)}")
    return {**facts, execution.PLUGIN: own} if own else facts
