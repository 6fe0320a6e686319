"""Every engine sets its thread count and reads it back; JAX, which has no setting, through the
process's CPU affinity (XLA sizes its CPU pool from the schedulable cores)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from harness.plugins import registry
from harness.run.machine import REPO_ROOT
from tests.real_runs import each_available

ENGINES = each_available(registry.engines())
CODE = (
    "from harness.run.worker import prepare; "
    "print(prepare('engine:{engine}', {threads})[1]['intra_op_threads'])"
)


@pytest.mark.parametrize("engine", ENGINES)
def test_the_thread_count_is_set_and_read_back(engine: str) -> None:
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two cores to tell 1 thread from all")
    env = os.environ | {"JAX_PLATFORMS": "cpu", "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(REPO_ROOT)}
    code = CODE.format(engine=engine, threads=1)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "1", out.stderr[-2000:]
