"""Every script under ``benchmarks/``, and the micro-benchmarks under ``tests/benchmarks/``, still
import: nothing runs them in the default test run, and a module they name can move (``bare_loop.py``
read ``tasks.mlp.problem`` for a day after it became ``tasks.mlp.common``, and ``tox -e overhead``
failed at its first line; ``tests/benchmarks/test_micro.py`` read it for longer)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "benchmarks").glob("*.py"))
MICRO = sorted((ROOT / "tests" / "benchmarks").glob("test_*.py"))


def _import(path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The module's top level only: each script runs under ``__main__``."""
    spec = importlib.util.spec_from_file_location(f"benchmarks_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # a dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


def test_there_are_scripts() -> None:
    assert len(SCRIPTS) >= 5 and MICRO


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_script_imports(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = _import(path, monkeypatch)
    assert callable(getattr(module, "main", None)), f"{path.name}: no main()"


@pytest.mark.parametrize("path", MICRO, ids=[p.stem for p in MICRO])
def test_micro_benchmarks_import(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = _import(path, monkeypatch)
    assert any(name.startswith("test_") for name in vars(module)), f"{path.name}: no tests"


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--grid"], "give --run with them"),
        (["--check"], "give --run with them"),
        (["--bench", "/nonexistent"], "--bench /nonexistent: no run records there"),
        (["--seeds", "3"], "give --run with them"),
        (["--run", "--seeds", "0"], "--seeds 0: must be 1 or more"),
    ],
)
def test_the_step_model_benchmark_refuses_what_it_would_ignore_or_misread(
    argv: list[str], said: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """Before anything runs: exit 2 saying what is valid (``--grid`` without ``--run`` used to be
    dropped without a word, the analysis reading a run set that never had the grid)."""
    module = _import(ROOT / "benchmarks" / "step_model_heldout.py", monkeypatch)
    with pytest.raises(SystemExit) as exited:
        module.main(["--results", str(tmp_path), *argv])
    assert exited.value.code == 2 and said in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()
