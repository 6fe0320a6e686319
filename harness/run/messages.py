"""The worker protocol's messages, typed: what the parent asks a worker (:data:`REQUESTS`) and
what the worker answers (:data:`ANSWERS`), one JSON object per line with its ``op``.

The wire form is :data:`harness.run.worker_client.PROTOCOL` 2, unchanged since the messages were
plain dicts, so the A/B gate still drives an older checkout's workers. A line that is not one of
these messages raises :class:`ProtocolError`, naming what was wrong and what is valid.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar


class ProtocolError(RuntimeError):
    """A line on the protocol pipe that is not a message of the expected kind."""


@dataclass
class Message:
    OP: ClassVar[str]

    def to_line(self) -> str:
        """The message as one JSON line (fields left at ``None`` are not sent)."""
        body = {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}
        return json.dumps({"op": self.OP, **body}, allow_nan=True) + "\n"


# --- the parent's requests ---------------------------------------------------------------------


@dataclass
class Calibrate(Message):
    """Time the worker's engine on ``device`` with ``n x n`` matmuls (:mod:`harness.run.probe`)."""

    OP = "calibrate"
    device: str
    n: int


@dataclass
class Start(Message):
    """Build run ``run`` of ``request`` (a :class:`~harness.plan.requests.RunRequest` as a dict);
    ``warm_up``: every epoch follows an untimed warm-up (the interleaved schedule)."""

    OP = "start"
    run: str
    request: dict[str, Any]
    warm_up: bool = False


@dataclass
class Epochs(Message):
    """Train the next ``count`` epochs of run ``run`` back to back (one round's block)."""

    OP = "epoch"
    run: str
    count: int = 1


@dataclass
class Finish(Message):
    """Run ``run`` trained its last epoch: take the closing measurements and send the record."""

    OP = "finish"
    run: str


# --- the worker's answers ----------------------------------------------------------------------


@dataclass
class Ready(Message):
    """The worker is set up: its ``facts`` (versions, threads, ``import_s``), or the ``error`` that
    makes its implementation unavailable, with the traceback's tail in ``detail``."""

    OP = "ready"
    protocol: int = 1  # a checkout of protocol 1 did not say it
    facts: dict[str, Any] | None = None
    error: str | None = None
    detail: str | None = None


@dataclass
class Started(Message):
    """Run ``run`` is built and waits for its first epoch."""

    OP = "started"
    run: str = ""


@dataclass
class EpochsDone(Message):
    """Run ``run`` trained a block: ``seconds`` of each epoch, the last one ``epoch``; ``more``:
    epochs follow (the answer comes once the loop has set the next one up)."""

    OP = "epoch"
    run: str = ""
    epoch: int = 0
    seconds: list[float] = field(default_factory=list)
    more: bool = False


@dataclass
class Finished(Message):
    """Run ``run`` is over: its ``record`` (a :class:`~harness.record.schema.RunRecord` as a dict)."""

    OP = "record"
    record: dict[str, Any]
    run: str = ""


@dataclass
class Calibration(Message):
    """The calibration's raw samples (``result``), or why the engine could not be timed."""

    OP = "calibration"
    result: dict[str, Any] | None = None
    error: str | None = None


REQUESTS: dict[str, type[Message]] = {m.OP: m for m in (Calibrate, Start, Epochs, Finish)}
ANSWERS: dict[str, type[Message]] = {m.OP: m for m in (Ready, Started, EpochsDone, Finished, Calibration)}


def decode(line: str | bytes, kinds: dict[str, type[Message]]) -> Message:
    """Parse one protocol line as one of ``kinds`` (:data:`REQUESTS` or :data:`ANSWERS`)."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"not a JSON line on the protocol pipe ({exc}): {str(line)[:200]!r}") from exc
    op = data.get("op") if isinstance(data, dict) else None
    if op not in kinds:
        raise ProtocolError(f"unknown message op {op!r}; expected one of {', '.join(kinds)}")
    cls = kinds[op]
    names = {f.name for f in fields(cls)}
    try:
        return cls(**{k: v for k, v in data.items() if k in names})
    except TypeError as exc:
        raise ProtocolError(f"a {op!r} message is malformed: {exc}") from exc
