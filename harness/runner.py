"""Runs a plan: one worker process per (implementation, device), each run with a timeout.

Frameworks never share a process (thread pools, GPU memory, Keras' once-per-process backend),
and a crash or a hang costs one run: the worker is killed, the run recorded as ``crashed`` or
``timeout``, and a fresh worker takes the remaining runs. Runs that cannot happen here (framework
not installed, no GPU, unknown mode) are recorded as ``unavailable`` without starting a worker.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import calibration, machine, registry
from harness.measure import RunRequest
from harness.progress import Progress
from harness.records import RunRecord
from harness.store import RecordWriter

THREAD_ENV = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)
STARTUP_TIMEOUT_S = 300.0


@dataclass
class Plan:
    """The runs to do, in order, with the policy every worker applies."""

    name: str
    requests: list[RunRequest]
    threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    calibrate: bool = True  # measure the machine (once, cached) and add efficiency to records


@dataclass
class Outcome:
    """What a plan produced: the records written and where."""

    path: Path
    records: list[RunRecord]

    @property
    def all_ok_or_unavailable(self) -> bool:
        return all(r.status in ("ok", "unavailable") for r in self.records)


def worker_env(info: registry.ImplInfo, device: str, threads: int) -> dict[str, str]:
    """The environment of a worker: same thread count for all, GPUs hidden from cpu workers."""
    env = dict(os.environ)
    env.update({name: str(threads) for name in THREAD_ENV})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(machine.REPO_ROOT), env.get("PYTHONPATH")]))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if info.backend:
        env["KERAS_BACKEND"] = info.backend
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
        env["JAX_PLATFORMS"] = "cpu"
    return env


class WorkerDied(RuntimeError):
    """The worker exited or stopped answering; ``status`` is ``crashed`` or ``timeout``."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class Worker:
    """A live ``python -m harness.worker`` process and its protocol pipe."""

    def __init__(self, info: registry.ImplInfo, device: str, threads: int) -> None:
        self.log = tempfile.TemporaryFile(mode="w+b")  # noqa: SIM115 - lives as long as the worker
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "harness.worker", info.name, str(threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=worker_env(info, device, threads),
            cwd=machine.REPO_ROOT,
        )
        self.ready = self._receive(STARTUP_TIMEOUT_S)

    def _stderr_tail(self, limit: int = 1500) -> str:
        self.log.seek(0)
        text = self.log.read().decode(errors="replace")
        return text[-limit:].strip()

    def _receive(self, timeout_s: float) -> dict[str, Any]:
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout_s)
        if not ready:
            self.kill()
            raise WorkerDied("timeout", f"no answer within {timeout_s:.0f} s; worker killed")
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            raise WorkerDied("crashed", f"worker exited with status {code}: {self._stderr_tail()}")
        return json.loads(line)

    def _send(self, message: dict[str, Any]) -> None:
        self.proc.stdin.write((json.dumps(message) + "\n").encode())
        self.proc.stdin.flush()

    def calibrate(self, device: str, n: int) -> dict[str, Any]:
        """Ask the worker to time its framework's matmul and dispatch probe on ``device``."""
        self._send({"op": "calibrate", "device": device, "n": n})
        return self._receive(STARTUP_TIMEOUT_S)

    def run(self, request: RunRequest) -> dict[str, Any]:
        """Send one request, wait at most its timeout, return the record dict."""
        self._send(request.to_dict())
        return self._receive(request.timeout_s)["record"]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def _base_record(request: RunRequest, info: registry.ImplInfo | None) -> RunRecord:
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


def preflight_reason(request: RunRequest, info: registry.ImplInfo) -> str | None:
    """Why ``request`` cannot run here, found without starting a worker; ``None`` if it may."""
    if request.mode not in info.modes:
        return info.trainer_class().mode_reason(request.mode, info.backend) or f"{info.name}: no such mode"
    missing = info.unavailable_reason()
    if missing:
        return missing
    if request.device == "gpu":
        if not info.supports_gpu:
            return f"{info.name} does not support GPUs"
        return machine.gpu_reason()
    return None


def _groups(requests: list[RunRequest]) -> dict[tuple[str, str], list[RunRequest]]:
    groups: dict[tuple[str, str], list[RunRequest]] = defaultdict(list)
    for request in requests:
        groups[(request.impl, request.device)].append(request)
    return groups


def _run_group(
    info: registry.ImplInfo,
    device: str,
    requests: list[RunRequest],
    threads: int,
    on_start: Callable[[str], None],
) -> Iterator[RunRecord]:
    """Run ``requests`` in workers for ``info`` on ``device``, replacing a worker that dies."""
    worker: Worker | None = None
    try:
        for request in requests:
            on_start(request.label())
            record = _base_record(request, info)
            try:
                if worker is None:
                    worker = Worker(info, device, threads)
                if "error" in worker.ready:
                    record.status, record.reason = "unavailable", f"import failed: {worker.ready['error']}"
                else:
                    record = RunRecord.from_dict(worker.run(request))
                    record.execution.update(worker.ready["facts"])
            except WorkerDied as died:
                record.status, record.reason = died.status, str(died)
                worker = None
            yield record
    finally:
        if worker is not None:
            worker.close()


def _finish(record: RunRecord, threads: int, entries: list[calibration.Entry]) -> RunRecord:
    record.machine = machine.machine_info()
    record.versions = {**machine.package_versions(), **record.execution.pop("versions", {})}
    record.git_commit = machine.git_commit()
    record.execution.setdefault("requested_threads", threads)
    if record.status == "ok" and entries:
        fingerprint = record.machine["fingerprint"]
        engine = registry.get(record.impl).engine if record.impl in registry.implementations() else ""
        own = next(
            (e for e in entries if (e.engine, e.device, e.threads) == (engine, record.device, threads)), None
        )
        best = calibration.peak(entries, record.device, threads, fingerprint)
        record.efficiency = calibration.efficiency(
            record.timings, record.n_train, record.train_flops_per_sample, record.steps_per_epoch, own, best
        )
    return record


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def calibration_file(results_dir: Path) -> Path:
    """Where this machine's calibration is cached (``$MLPBENCH_CALIBRATION_DIR`` moves it)."""
    folder = os.environ.get("MLPBENCH_CALIBRATION_DIR")
    base = Path(folder) if folder else results_dir / "calibration"
    return base / f"{machine.machine_info()['machine_id']}.json"


def _engine_version(engine: str) -> str:
    versions = machine.package_versions()
    names = {"tensorflow": ("tensorflow", "tensorflow-cpu"), "jax": ("jaxlib",)}.get(engine, (engine,))
    return next((versions[n] for n in names if n in versions), "")


def calibrate(
    devices: list[str], threads: int, path: Path, force: bool = False, log: Callable[[str], None] = _log
) -> list[calibration.Entry]:
    """Every installed engine's entry on each of ``devices``, measured where the cache at
    ``path`` has none that still matches (or all of them with ``force``); returns the usable ones."""
    entries = calibration.load(path)
    fingerprint = machine.machine_info()["fingerprint"]
    usable = []
    for device in devices:
        for engine in ("torch", "tensorflow", "jax"):
            info = registry.implementations().get(engine)
            if info is None or info.unavailable_reason():
                continue
            version = _engine_version(engine)
            found = (
                None if force else calibration.find(entries, engine, device, threads, fingerprint, version)
            )
            if found is None:
                found = _measure_engine(info, device, threads, fingerprint, version, log)
                if found is None:
                    continue
                entries = calibration.upsert(entries, found)
                calibration.save(path, entries)
            usable.append(found)
    return usable


def _measure_engine(
    info: registry.ImplInfo,
    device: str,
    threads: int,
    fingerprint: str,
    version: str,
    log: Callable[[str], None],
) -> calibration.Entry | None:
    n = calibration.MATMUL_N[device]
    log(f"calibrating {info.engine} on {device} ({threads} threads): {n}x{n} float32 matmul, empty dispatch")
    try:
        worker = Worker(info, device, threads)
        try:
            answer = worker.calibrate(device, n) if "error" not in worker.ready else worker.ready
        finally:
            worker.close()
    except WorkerDied as died:
        answer = {"error": str(died)}
    if "error" in answer:
        log(f"  {info.engine} on {device} not calibrated: {answer['error']}")
        return None
    result = answer["result"]
    return calibration.Entry(
        engine=info.engine, device=device, threads=threads, fingerprint=fingerprint, version=version, **result
    )


def _runnable_devices(plan: Plan) -> list[str]:
    devices = {r.device for r in plan.requests}
    return [d for d in ("cpu", "gpu") if d in devices and (d == "cpu" or machine.gpu_reason() is None)]


def run_plan(plan: Plan, results_dir: Path) -> Outcome:
    """Run every request of ``plan``; append each record to a new file under ``results_dir``."""
    entries: list[calibration.Entry] = []
    if plan.calibrate:
        entries = calibrate(_runnable_devices(plan), plan.threads, calibration_file(results_dir))
    writer = RecordWriter(results_dir, machine.machine_info()["machine_id"], machine.git_commit(), plan.name)
    records: list[RunRecord] = []
    with Progress(len(plan.requests), writer.path) as progress:
        for (impl, device), requests in _groups(plan.requests).items():
            info = registry.get(impl)
            runnable, reported = [], set()
            for request in requests:
                reason = preflight_reason(request, info)
                if reason is None:
                    runnable.append(request)
                    continue
                if (request.task, request.mode, reason) in reported:
                    progress.skip()  # one unavailable record per task and mode says it; not per seed
                    continue
                reported.add((request.task, request.mode, reason))
                record = _base_record(request, info)
                record.status, record.reason = "unavailable", reason
                records.append(_store(writer, _finish(record, plan.threads, entries), progress))
            for record in _run_group(info, device, runnable, plan.threads, progress.start):
                records.append(_store(writer, _finish(record, plan.threads, entries), progress))
        progress.summary(records)
    return Outcome(writer.path, records)


def _store(writer: RecordWriter, record: RunRecord, progress: Progress) -> RunRecord:
    writer.append(record)
    progress.done(record)
    return record
