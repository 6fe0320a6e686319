"""The worker process: one per implementation and device, running many runs one after another.

Started by :mod:`harness.runner` as ``python -m harness.worker IMPL THREADS``. It imports and
sets up the framework once (timed: the ``import_s`` phase), then answers JSON requests, one per
line on stdin, with one JSON line each on the protocol pipe. The protocol pipe is the original
stdout; fd 1 is pointed at stderr first, so whatever a framework prints cannot corrupt it.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Any, TextIO

from harness import calibration, registry
from harness.measure import RunRequest, execute
from harness.timing import timed


def _protocol_stream() -> TextIO:
    fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(fd, "w", buffering=1, encoding="utf-8")


def _send(stream: TextIO, message: dict[str, Any]) -> None:
    stream.write(json.dumps(message, allow_nan=True) + "\n")
    stream.flush()


def _setup(impl_name: str, threads: int) -> tuple[Any, dict[str, Any]]:
    info = registry.get(impl_name)
    cls = info.trainer_class()
    if info.backend:
        facts, import_s = timed(lambda: cls.setup_framework(threads, info.backend))
    else:
        facts, import_s = timed(lambda: cls.setup_framework(threads))
    facts["import_s"] = import_s
    facts["requested_threads"] = threads
    return (cls, info.backend), facts


def serve(impl_name: str, threads: int, stream: TextIO) -> int:
    """Set up, say ``ready``, then run requests until stdin closes."""
    try:
        (cls, backend), facts = _setup(impl_name, threads)
    except Exception as exc:  # an import that fails makes the implementation unavailable
        reason = f"{type(exc).__name__}: {exc}"
        _send(stream, {"op": "ready", "error": reason, "detail": traceback.format_exc(limit=-3)})
        return 0
    _send(stream, {"op": "ready", "facts": facts})
    runs_before = 0
    for line in sys.stdin:
        message = json.loads(line)
        if message.get("op") == "calibrate":
            _send(stream, _calibrate(cls, message["device"], int(message["n"])))
            continue
        record = execute(cls, backend, RunRequest.from_dict(message))
        record.timings.import_s = facts["import_s"]
        record.timings.worker_runs_before = runs_before
        runs_before += 1
        _send(stream, {"op": "record", "record": record.to_dict()})
    return 0


def _calibrate(cls: Any, device: str, n: int) -> dict[str, Any]:
    """Time the framework's matmul and dispatch probe; an unusable device is an ``error``."""
    reason = cls.device_reason(device)
    if reason:
        return {"op": "calibration", "error": reason}
    try:
        return {"op": "calibration", "result": calibration.measure(cls.probe(device, n), n)}
    except Exception as exc:  # a failing probe leaves records without efficiency, nothing worse
        return {"op": "calibration", "error": f"{type(exc).__name__}: {exc}"}


def main(argv: list[str]) -> int:
    """``python -m harness.worker IMPL THREADS``."""
    stream = _protocol_stream()
    impl_name, threads = argv[0], int(argv[1])
    return serve(impl_name, threads, stream)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
