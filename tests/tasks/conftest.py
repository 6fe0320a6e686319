"""The session's shared real runs of the small tasks (see :mod:`tests.tasks.small_runs`)."""

from __future__ import annotations

import pytest

from harness.record.schema import RunRecord
from tests.tasks.small_runs import DIGITS, MNIST1D, SMALL, run_suite


@pytest.fixture(scope="session")
def small_tasks(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> list[RunRecord]:
    slow = [DIGITS] if request.config.getoption("--runslow") else []
    return run_suite(tmp_path_factory.mktemp("accuracy"), SMALL + slow)


@pytest.fixture(scope="session")
def interleaved_mnist1d(tmp_path_factory: pytest.TempPathFactory) -> list[RunRecord]:
    return run_suite(tmp_path_factory.mktemp("interleaved"), [MNIST1D], interleaved=True)
