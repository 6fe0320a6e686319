"""Markers: ``slow`` runs only with ``--runslow``; ``gpu`` is skipped when no GPU is visible.

Every real run in the session shares one machine calibration, in a temporary folder: measured
once (by the first test that runs anything), never written into the checkout's ``results/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.run import machine


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False, help="run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    gpu_reason = machine.gpu_reason()
    for item in items:
        if "slow" in item.keywords and not config.getoption("--runslow"):
            item.add_marker(pytest.mark.skip(reason="slow: run with --runslow"))
        if "gpu" in item.keywords and gpu_reason is not None:
            item.add_marker(pytest.mark.skip(reason=f"no GPU: {gpu_reason}"))


@pytest.fixture(autouse=True, scope="session")
def _session_calibration_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("calibration")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLPBENCH_CALIBRATION_DIR", str(folder))
        yield folder
