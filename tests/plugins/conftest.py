"""The throwaway plug-in the plug-in tests discover: a framework (engine and implementation, both
``toy``) as files in a folder of its own, with only what a run needs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.plugins import registry


@pytest.fixture
def toy_folder() -> Path:
    """``tests/data/plugin_toy``, not registered."""
    return Path(__file__).parents[1] / "data" / "plugin_toy"


@pytest.fixture
def toy_plugin(toy_folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The registry with the toy folder added, for the test's duration."""
    monkeypatch.setenv(registry.PLUGINS_ENV, str(toy_folder))
    registry.clear()
    yield toy_folder
    monkeypatch.delenv(registry.PLUGINS_ENV)
    registry.clear()
