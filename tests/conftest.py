"""Markers: ``slow`` runs only with ``--runslow``; ``gpu`` is skipped when no GPU is visible;
``browser`` (a check in real Chromium) is skipped without Chromium, except where ``CI`` is set: the
CI installs Chromium (``.ci/run``), so a missing one there is a failure, never a silent skip.
``alone`` (the outcome rests on time measured on a quiet machine): ``tox -e test`` runs the rest over
every core (pytest-xdist, ``-m "not alone"``), then these one after the other (``-m alone``); in a
parallel worker an ``alone`` test is skipped, saying so, never run beside another, and a pass that
selects none of its tests (``tox -e test -- tests/run/test_ab.py``: the first pass) is no failure.

Every real run in the session shares one machine calibration, in a temporary folder: measured
once (by the first test that runs anything), never written into the checkout's ``results/``.

In the parallel pass another test always runs beside each one, so a real run's rounds never find
the quiet machine they wait up to 0.5 s for: there ``$MLPBENCH_QUIET_WAIT_S`` is 0 (unless set),
and nothing they do is judged on time. The ``alone`` pass waits as a benchmark does.

Each pass compiles a JAX computation once: JAX's persistent compilation cache is on for the pass, in
a temporary folder made empty at its start and removed at its end (never the user's, and never in a
benchmark: there a worker's first epoch compiles as a user's would). The same small networks are
compiled by the parity probes, the accuracy runs and the schedule's runs, each in a fresh process;
the cache makes no number differ (XLA's executable is the one it compiled), only the tests' time.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.run import machine
from harness.run.timing import QUIET_WAIT_ENV


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False, help="run tests marked slow")


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

# The longest test files, longest first (each file's tests summed, the parallel pass in the checkout,
# 2-core AMD EPYC, 2026-12-04): a parallel worker starts on these, so that no long file starts last
# and leaves the other core idle at the end. Every other file follows in its collected order.
LONGEST_FIRST = (
    "tests/tasks/test_parity.py",  # 126 s: every implementation's probe, two at a time
    "tests/tasks/test_accuracy.py",  # 95 s: nine frameworks' workers on iris, three seeds
    "tests/run/test_cluster.py",  # 55 s: a Ray cluster's start
    "tests/run/test_schedule.py",  # 51 s
    "tests/run/test_runner.py",  # 31 s
    "tests/tasks/test_overfitting_real.py",  # 20 s
    "tests/report/test_report_screenshot.py",  # 19 s: Chromium
    "tests/report/test_report_history.py",  # 17 s
)


# Set before any worker starts (xdist's and the harness's inherit it). Every computation is kept
# (JAX keeps only those that took a second by default); a size limit turns on the cache's file lock,
# which parallel workers writing to one folder need.
JAX_CACHE = {
    "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
    "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "-1",
    "JAX_COMPILATION_CACHE_MAX_SIZE": str(2**30),
}


def pytest_configure(config: pytest.Config) -> None:
    if "JAX_COMPILATION_CACHE_DIR" in os.environ:  # the pass's controller set it, or the user did
        return
    folder = tempfile.mkdtemp(prefix="mlpbench-tests-jax-cache-")
    config.stash[_JAX_CACHE_KEY] = folder
    os.environ.update(JAX_CACHE, JAX_COMPILATION_CACHE_DIR=folder)


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(_JAX_CACHE_KEY, None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
        for name in [*JAX_CACHE, "JAX_COMPILATION_CACHE_DIR"]:
            os.environ.pop(name, None)


_JAX_CACHE_KEY = pytest.StashKey[str]()


def pytest_runtest_setup(item: pytest.Item) -> None:
    if "browser" in item.keywords and CHROMIUM is None and os.environ.get("CI"):
        pytest.fail(
            "CI is set but Chromium is not installed: .ci/run installs it (apt-get install -y chromium)"
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    gpu_reason = machine.gpu_reason()
    parallel = os.environ.get("PYTEST_XDIST_WORKER") is not None
    if parallel:  # every worker sorts alike: xdist requires one order
        rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
        items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
    for item in items:
        if "alone" in item.keywords and parallel:
            reason = "alone: not beside other tests (run it with -m alone, no -n)"
            item.add_marker(pytest.mark.skip(reason=reason))
        if "browser" in item.keywords and CHROMIUM is None and not os.environ.get("CI"):
            item.add_marker(pytest.mark.skip(reason="no chromium installed (apt-get install -y chromium)"))
        if "slow" in item.keywords and not config.getoption("--runslow"):
            item.add_marker(pytest.mark.skip(reason="slow: run with --runslow"))
        if "gpu" in item.keywords and gpu_reason is not None:
            item.add_marker(pytest.mark.skip(reason=f"no GPU: {gpu_reason}"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A pass of ``tox -e test`` whose marker expression leaves none of the chosen tests (``-m alone``
    over a file without one) ran nothing it was asked to: no failure."""
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED and "alone" in (session.config.option.markexpr or ""):
        session.exitstatus = pytest.ExitCode.OK


@pytest.fixture(autouse=True, scope="session")
def _no_quiet_wait_beside_other_tests() -> Iterator[None]:
    if os.environ.get("PYTEST_XDIST_WORKER") is None or QUIET_WAIT_ENV in os.environ:
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(QUIET_WAIT_ENV, "0")
        yield


@pytest.fixture(autouse=True, scope="session")
def _session_calibration_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("calibration")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLPBENCH_CALIBRATION_DIR", str(folder))
        yield folder
