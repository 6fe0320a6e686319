"""What the machine can do, measured once and cached: each framework engine's dense float32
matmul rate and the cost of its smallest dispatch, per device and thread count.

A record's efficiency is read against it: the achieved FLOP/s of training (FLOPs from the spec,
forward and backward of every layer) as a fraction of the device's peak, where the peak is the
best matmul rate any framework reached on that device with the same threads. The dispatch cost
says how many empty launches one training step is worth, i.e. how overhead-bound it is.

The cache is ``results/calibration/<machine_id>.json`` (:mod:`harness.store.calibration` reads and
writes it); an entry that no longer matches is measured again (``harness calibrate --force``
re-measures on purpose). This module starts a calibration worker per engine and device; the
timing inside it is :mod:`harness.run.probe`'s.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from harness.plugins import registry
from harness.run import machine
from harness.run.worker_client import Worker, WorkerDied
from harness.store.calibration import Entry, find, load, save, upsert

MATMUL_N = {"cpu": 2048, "gpu": 8192}


def cache_file(results_dir: Path) -> Path:
    """Where this machine's calibration is cached (``$MLPBENCH_CALIBRATION_DIR`` moves it)."""
    folder = os.environ.get("MLPBENCH_CALIBRATION_DIR")
    base = Path(folder) if folder else Path(results_dir) / "calibration"
    return base / f"{machine.machine_info()['machine_id']}.json"


def calibrate(
    devices: list[str],
    threads: int,
    path: Path,
    force: bool = False,
    log: Callable[[str], None] = lambda message: None,
) -> list[Entry]:
    """Every installed engine's entry on each of ``devices``, measured where the cache at
    ``path`` has none that still matches (or all of them with ``force``); returns the usable ones."""
    entries = load(path)
    fingerprint = machine.machine_info()["fingerprint"]
    usable = []
    for device in devices:
        for info in registry.engines().values():
            if info.unavailable_reason() or (device == "gpu" and not info.supports_gpu):
                continue
            version = info.version()
            found = (
                None
                if force
                else find(entries, info.name, device, threads, fingerprint, version, MATMUL_N[device])
            )
            if found is None:
                found = _measure_engine(info.name, device, threads, fingerprint, version, log)
                if found is None:
                    continue
                entries = upsert(entries, found)
                save(path, entries)
            usable.append(found)
    return usable


def _measure_engine(
    engine: str, device: str, threads: int, fingerprint: str, version: str, log: Callable[[str], None]
) -> Entry | None:
    n = MATMUL_N[device]
    log(f"calibrating {engine} on {device} ({threads} threads): {n}x{n} float32 matmul, empty dispatch")
    import_s = None
    try:
        worker = Worker(engine, None, device, threads)
        import_s = (worker.ready.facts or {}).get("import_s")
        try:
            answer = worker.calibrate(device, n) if worker.ready.error is None else None
            error = worker.ready.error if answer is None else answer.error
        finally:
            worker.close()
    except WorkerDied as died:
        answer, error = None, str(died)
    if answer is None or answer.result is None:
        log(f"  {engine} on {device} not calibrated: {error}")
        return None
    return Entry(
        engine=engine,
        device=device,
        threads=threads,
        fingerprint=fingerprint,
        version=version,
        import_s=import_s,
        **answer.result,
    )
