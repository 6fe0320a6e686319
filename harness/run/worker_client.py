"""The parent's side of a worker process: its environment, its start, and the JSON-lines pipe.

A worker (:mod:`harness.run.worker`) serves one engine on one device, with or without an
implementation: ``python -m harness.run.worker UNIT THREADS``, where ``UNIT`` is an implementation
name (``keras-jax``) or ``engine:NAME`` for a calibration-only worker. A worker that exits or stops
answering raises :class:`WorkerDied`, with ``crashed`` or ``timeout`` and the tail of its stderr.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from harness.plugins import registry
from harness.run import machine
from harness.run.messages import ANSWERS, Calibrate, Calibration, Message, ProtocolError, Ready, decode

THREAD_ENV = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)
STARTUP_TIMEOUT_S = 300.0
ENGINE_UNIT = "engine:"
PROTOCOL = 2  # said in ``ready``; a checkout that speaks another cannot be driven by this one


def unit_of(impl: str | None, engine: str) -> str:
    """The worker's ``UNIT`` argument: the implementation, or ``engine:NAME`` without one."""
    return impl if impl else f"{ENGINE_UNIT}{engine}"


@dataclass(frozen=True)
class Checkout:
    """Which code a worker runs: a checkout of this project and the Python that runs it (the A/B
    gate starts workers of two), with environment variables of its own."""

    root: Path = machine.REPO_ROOT
    python: str = sys.executable
    env: Mapping[str, str] = field(default_factory=dict)


HERE = Checkout()


def worker_env(
    engine: str, impl: str | None, device: str, threads: int, checkout: Checkout = HERE
) -> dict[str, str]:
    """The environment of a worker: the same thread count for all, what the engine needs on
    ``device`` (GPUs hidden from cpu workers) and what the implementation needs (Keras' backend)."""
    env = dict(os.environ)
    env.update({name: str(threads) for name in THREAD_ENV})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(checkout.root), env.get("PYTHONPATH")]))
    env.update(registry.engine(engine).engine_class().worker_env(device))
    if impl:
        env.update(registry.get(impl).trainer_class().worker_env(engine))
    env.update(checkout.env)
    return env


class WorkerDied(RuntimeError):
    """The worker exited or stopped answering; ``status`` is ``crashed`` or ``timeout``."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class Worker:
    """A live worker process and its protocol pipe; ``ready`` is its first message (the engine's
    facts, or the ``error`` that makes the implementation unavailable)."""

    def __init__(
        self,
        engine: str,
        impl: str | None,
        device: str,
        threads: int,
        checkout: Checkout = HERE,
        wait: bool = True,
    ) -> None:
        """Start the worker and, with ``wait``, wait for its ``ready`` (without: the first use of
        :attr:`ready` waits, so that several workers can import their frameworks at once)."""
        self.log = tempfile.TemporaryFile(mode="w+b")  # noqa: SIM115 - lives as long as the worker
        self.proc = subprocess.Popen(
            [checkout.python, "-m", "harness.run.worker", unit_of(impl, engine), str(threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=worker_env(engine, impl, device, threads, checkout),
            cwd=checkout.root,
        )
        self._ready: Ready | None = None
        if wait:
            _ = self.ready

    @property
    def ready(self) -> Ready:
        """The worker's first message, waited for the first time it is asked; a worker that never
        sends it is killed and raises :class:`WorkerDied`."""
        if self._ready is None:
            try:
                ready = self.receive(STARTUP_TIMEOUT_S)
                if not isinstance(ready, Ready):
                    raise WorkerDied("crashed", f"the worker's first message was {ready.OP!r}, not 'ready'")
                self._ready = ready
            except BaseException:
                self.kill()
                self.log.close()
                raise
        return self._ready

    def _stderr_tail(self, limit: int = 1500) -> str:
        self.log.seek(0)
        text = self.log.read().decode(errors="replace")
        return text[-limit:].strip()

    def receive(self, timeout_s: float) -> Message:
        """The next message, waiting at most ``timeout_s``; :class:`WorkerDied` otherwise."""
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout_s)
        if not ready:
            self.kill()
            raise WorkerDied("timeout", f"no answer within {timeout_s:.0f} s; worker killed")
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            raise WorkerDied("crashed", f"worker exited with status {code}: {self._stderr_tail()}")
        try:
            return decode(line, ANSWERS)
        except ProtocolError as exc:
            self.kill()
            raise WorkerDied("crashed", f"the worker broke the protocol: {exc}") from exc

    def send(self, message: Message) -> None:
        """Send one request; a worker that has died raises :class:`WorkerDied`."""
        try:
            self.proc.stdin.write(message.to_line().encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            code = self.proc.wait()
            raise WorkerDied("crashed", f"worker exited with status {code}: {self._stderr_tail()}") from exc

    def calibrate(self, device: str, n: int) -> Calibration:
        """Ask the worker to time its engine's matmul and dispatch probe on ``device``."""
        self.send(Calibrate(device, n))
        answer = self.receive(STARTUP_TIMEOUT_S)
        if not isinstance(answer, Calibration):
            raise WorkerDied("crashed", f"the worker answered {answer.OP!r} to calibrate")
        return answer

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def shut(self) -> None:
        """Tell the worker to exit (end of its input) without waiting for it."""
        if self.proc.poll() is None and not self.proc.stdin.closed:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()

    def close(self) -> None:
        """Tell the worker to exit and wait for it (a minute at most, then it is killed)."""
        if self.proc.poll() is None:
            self.shut()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()
