"""The worker process: one per engine, implementation and device, running many runs one after
another.

Started by :class:`harness.run.worker_client.Worker` as ``python -m harness.run.worker UNIT
THREADS``. It imports and sets up the engine and the implementation once (timed: the ``import_s``
phase), says ``ready`` with :data:`PROTOCOL`, then answers requests, one JSON line each on stdin
(:mod:`harness.run.messages`), with one line each on the protocol pipe: ``calibrate``, and the
``start``/``epoch``/``finish`` commands of its runs (:mod:`harness.run.session`), each tagged with
the run's id. The protocol
pipe is the original stdout; fd 1 is pointed at stderr first, so whatever a framework prints
cannot corrupt it.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any, TextIO

import psutil

from harness.plan.requests import RunRequest
from harness.plugins import registry
from harness.plugins.contract import Engine, Trainer
from harness.run import probe
from harness.run.messages import (
    REQUESTS,
    Calibrate,
    Calibration,
    Epochs,
    Finish,
    Finished,
    Message,
    Ready,
    Start,
    decode,
)
from harness.run.session import Session
from harness.run.timing import timed
from harness.run.worker_client import ENGINE_UNIT, PROTOCOL


def _protocol_stream() -> TextIO:
    fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(fd, "w", buffering=1, encoding="utf-8")


def _send(stream: TextIO, message: Message) -> None:
    stream.write(message.to_line())
    stream.flush()


@dataclass
class Unit:
    """What this worker serves: an engine, and the implementation on it (none to calibrate)."""

    engine: type[Engine]
    info: registry.ImplInfo | None
    trainer: type[Trainer] | None


def _unit(name: str) -> Unit:
    if name.startswith(ENGINE_UNIT):
        return Unit(registry.engine(name[len(ENGINE_UNIT) :]).engine_class(), None, None)
    info = registry.get(name)
    return Unit(info.engine_info().engine_class(), info, info.trainer_class())


def prepare(unit_name: str, threads: int) -> tuple[Unit, dict[str, Any]]:
    """Import and set up ``unit_name`` (an implementation, or ``engine:NAME``) in this process,
    timed; returns the unit and the facts read back (versions, threads, precision, ``import_s``)."""
    unit = _unit(unit_name)

    def both() -> dict[str, Any]:
        facts = unit.engine.setup(threads)
        if unit.trainer is not None:
            extra = unit.trainer.prepare(unit.engine.NAME)
            facts["versions"] = {**facts.get("versions", {}), **extra.get("versions", {})}
        return facts

    facts, import_s = timed(both)
    facts |= {"import_s": import_s, "requested_threads": threads, "engine": unit.engine.NAME}
    # the process's start to here: the interpreter, the harness, the framework (what a plan pays)
    facts["worker_start_s"] = max(import_s, time.time() - psutil.Process().create_time())
    if unit.info is not None:
        facts["code_lines"] = unit.info.code_lines()
    return unit, facts


def serve(unit_name: str, threads: int, stream: TextIO) -> int:
    """Set up, say ``ready``, then answer requests until stdin closes."""
    try:
        unit, facts = prepare(unit_name, threads)
    except Exception as exc:  # an import that fails makes the implementation unavailable
        reason = f"{type(exc).__name__}: {exc}"
        detail = traceback.format_exc(limit=-3)
        _send(stream, Ready(PROTOCOL, error=reason, detail=detail))
        return 0
    _send(stream, Ready(PROTOCOL, facts=facts))
    sessions: dict[str, Session] = {}
    started: dict[str, int] = {}  # run id -> runs this worker started before it
    for line in sys.stdin:
        message = decode(line, REQUESTS)
        if isinstance(message, Calibrate):
            _send(stream, _calibrate(unit.engine, message.device, int(message.n)))
            continue
        assert isinstance(message, Start | Epochs | Finish)
        run = message.run
        if isinstance(message, Start):
            assert unit.info is not None and unit.trainer is not None, "a calibration worker runs nothing"
            request = RunRequest.from_dict(message.request)
            started[run] = len(started)
            sessions[run] = Session(unit.info, unit.engine, unit.trainer, request, bool(message.warm_up))
            answer = sessions[run].first_answer()
        else:
            answer = sessions[run].command(message)
        if isinstance(answer, Finished):
            del sessions[run]
            timings = {"import_s": facts["import_s"], "worker_runs_before": started[run]}
            answer.record["timings"] |= timings
        answer.run = run
        _send(stream, answer)
    return 0


def _calibrate(engine: type[Engine], device: str, n: int) -> Calibration:
    """Time the engine's matmul and dispatch probe; an unusable device is an ``error``."""
    reason = engine.device_reason(device)
    if reason:
        return Calibration(error=reason)
    try:
        return Calibration(result=probe.measure(engine.probe(device, n), n))
    except Exception as exc:  # a failing probe leaves records without efficiency, nothing worse
        return Calibration(error=f"{type(exc).__name__}: {exc}")


def main(argv: list[str]) -> int:
    """``python -m harness.run.worker UNIT THREADS``."""
    stream = _protocol_stream()
    return serve(argv[0], int(argv[1]), stream)


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stderr.flush()  # every answer was flushed as it was sent
    # Skip the interpreter's teardown, as multiprocessing's children do: with a framework loaded it
    # took about a second a worker (TensorFlow, JAX), and nothing in it serves the parent.
    os._exit(code)
