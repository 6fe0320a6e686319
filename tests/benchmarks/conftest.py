"""Micro-benchmark session setup: the harness's thread policy, and the machine fingerprint in
pytest-benchmark's ``machine_info`` so saved sessions can be grouped by machine like run records."""

from __future__ import annotations

import os
from typing import Any

import pytest

from harness.run import machine
from harness.run.worker_client import THREAD_ENV

# The same thread count for every framework, as harness.run.worker_client.worker_env gives its workers; set
# before any framework is imported (OpenMP and TF read these once, at import).
THREADS = os.cpu_count() or 1
for _name in THREAD_ENV:
    os.environ.setdefault(_name, str(THREADS))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict[str, Any]) -> None:
    """Add the harness's machine id and fingerprint to every saved session."""
    info = machine.machine_info()
    machine_info["mlpbench"] = {"machine_id": info["machine_id"], "fingerprint": info["fingerprint"]}
