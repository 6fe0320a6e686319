"""Every script under ``benchmarks/`` still imports: nothing runs them in the default test run, and a
module they name can move (``bare_loop.py`` read ``tasks.mlp.problem`` for a day after it became
``tasks.mlp.common``, and ``tox -e overhead`` failed at its first line)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPTS = sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("*.py"))


def test_there_are_scripts() -> None:
    assert len(SCRIPTS) >= 5


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_script_imports(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location(f"benchmarks_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # a dataclass looks its module up there
    spec.loader.exec_module(module)  # the module's top level only: each runs under __main__
    assert callable(getattr(module, "main", None)), f"{path.name}: no main()"
