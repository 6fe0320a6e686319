"""The phases of one run, in the worker process: build, epochs, evaluation, single steps.

Each phase is timed on its own (never mixed): ``build_s``; ``first_epoch_s`` (includes tracing
and compilation); ``epoch_s`` for the steady-state epochs 2..E, each one ``train_epoch`` and one
device sync, as real training runs; ``eval_s`` full test-split evaluations; ``step_s`` single
training steps, each synchronised. Per-epoch evaluation on train and validation (the history)
is outside every training timer, as is the per-epoch test evaluation a ``track_test`` request
adds. Every ok run ends with the overfitting analysis of its history in ``extra["overfitting"]``.
"""

from __future__ import annotations

import math
import os
import traceback

import psutil

from harness.record import overfitting
from harness.record.schema import History, RunRecord, Timings
from harness.run.faults import inject_fault
from harness.run.timing import PeakRSS, repeat, timed
from harness.spec.contract import Engine, Trainer, Unavailable
from harness.spec.plan import RunRequest, new_record
from harness.spec.registry import ImplInfo
from harness.spec.train_spec import TrainSpec
from tasks.mlp import spec as task_spec


def _finite(*values: float) -> bool:
    return all(math.isfinite(v) for v in values)


def _train(
    trainer: Trainer, spec: TrainSpec, n_train: int, timings: Timings, history: History, track_test: bool
) -> str:
    """Run every epoch, filling ``timings`` and ``history``; return ``"ok"`` or ``"diverged"``."""
    trained_s = 0.0
    for epoch in range(spec.epochs):
        order = task_spec.batch_order(spec, epoch, n_train)
        _, seconds = timed(lambda: trainer.train_epoch(order), trainer.sync)  # noqa: B023
        trained_s += seconds
        if epoch == 0:
            timings.first_epoch_s = seconds
        else:
            timings.epoch_s.append(seconds)
        train_loss, train_acc = trainer.evaluate("train")
        val_loss, val_acc = trainer.evaluate("val")
        history.train_loss.append(train_loss)
        history.train_accuracy.append(train_acc)
        history.val_loss.append(val_loss)
        history.val_accuracy.append(val_acc)
        if track_test:
            history.test_accuracy.append(trainer.evaluate("test")[1])
        if not _finite(train_loss, val_loss):
            return "diverged"
        if timings.time_to_target_s is None and val_acc >= spec.target_val_accuracy:
            timings.time_to_target_s = trained_s
            timings.epochs_to_target = epoch + 1
    return "ok"


def _step_samples(trainer: Trainer, spec: TrainSpec, n_train: int, count: int) -> list[float]:
    """``count`` synchronised single steps on full batches of a fresh permutation."""
    order = task_spec.batch_order(spec, spec.epochs, n_train)
    batches = [b for b in task_spec.batch_slices(order, spec.batch_size) if len(b) == spec.batch_size]
    batches = batches or task_spec.batch_slices(order, spec.batch_size)  # split smaller than a batch
    samples = []
    for i in range(count):
        index = batches[i % len(batches)]
        samples.append(timed(lambda: trainer.train_step(index), trainer.sync)[1])  # noqa: B023
    return samples


def execute(info: ImplInfo, engine: type[Engine], cls: type[Trainer], request: RunRequest) -> RunRecord:
    """Do one run with ``cls`` on ``engine`` and return its record (machine and versions are added
    by the caller).

    Never raises for a failing run: an exception becomes a ``crashed`` record with its traceback,
    a device or mode the implementation cannot do becomes ``unavailable``.
    """
    spec = request.spec()
    record = new_record(request, info)
    try:
        reason = engine.device_reason(request.device)
        if reason:
            raise Unavailable(reason)
        trainer = cls(spec, request.device, request.mode, engine)
        _measure(trainer, spec, request, record)
    except Unavailable as exc:
        record.status, record.reason = "unavailable", str(exc)
    except Exception as exc:  # a failing run must cost that run only
        record.status = "crashed"
        record.reason = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=-4)}"
    return record


def _measure(trainer: Trainer, spec: TrainSpec, request: RunRequest, record: RunRecord) -> None:
    inject_fault(trainer)
    record.execution["loadavg_1m_before"] = os.getloadavg()[0]
    data = task_spec.load_data(spec)
    n_train = len(data.y_train)
    record.n_train, record.n_test = n_train, len(data.y_test)
    record.steps_per_epoch = task_spec.steps_per_epoch(spec, n_train)
    record.train_flops_per_sample = task_spec.train_flops_per_sample(spec)
    timings = record.timings
    trainer.engine.reset_memory_peak(trainer.device)
    with PeakRSS() as peak:
        _, timings.build_s = timed(lambda: trainer.build(task_spec.init_params(spec), data), trainer.sync)
        record.status = _train(trainer, spec, n_train, timings, record.history, request.track_test)
        if record.status == "ok":
            record.test_loss, record.test_accuracy = trainer.evaluate("test")
            timings.eval_s = repeat(lambda: trainer.evaluate("test"), trainer.sync, request.eval_repeats)
            timings.step_s = _step_samples(trainer, spec, n_train, request.step_samples)
            record.extra["overfitting"] = overfitting.analyse(record.history)
        else:
            record.reason = f"loss is not finite after epoch {len(record.history.train_loss)}"
    record.peak_rss_bytes = peak.bytes
    record.device_peak_bytes = trainer.device_memory_peak_bytes()
    record.execution.update(trainer.execution())
    record.execution["process_threads"] = psutil.Process().num_threads()
    record.execution["loadavg_1m_after"] = os.getloadavg()[0]
