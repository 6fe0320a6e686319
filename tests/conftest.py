"""Markers: ``slow`` runs only with ``--runslow``; ``gpu`` is skipped when no GPU is visible;
``browser`` (a check in real Chromium) is skipped without Chromium, except where ``CI`` is set: the
CI installs Chromium (``.ci/run``), so a missing one there is a failure, never a silent skip.

Every real run in the session shares one machine calibration, in a temporary folder: measured
once (by the first test that runs anything), never written into the checkout's ``results/``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.run import machine


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False, help="run tests marked slow")


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if "browser" in item.keywords and CHROMIUM is None and os.environ.get("CI"):
        pytest.fail(
            "CI is set but Chromium is not installed: .ci/run installs it (apt-get install -y chromium)"
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    gpu_reason = machine.gpu_reason()
    for item in items:
        if "browser" in item.keywords and CHROMIUM is None and not os.environ.get("CI"):
            item.add_marker(pytest.mark.skip(reason="no chromium installed (apt-get install -y chromium)"))
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
