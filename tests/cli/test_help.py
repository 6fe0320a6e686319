"""The help a user reads: valid names listed, defaults shown, shared options declared once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness import cli
from harness.cli.main import main
from harness.plugins import registry

CLI = Path(cli.__file__).parent


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit):
        main([*argv, "--help"])
    return " ".join(capsys.readouterr().out.split())  # unwrapped


def test_the_top_level_help_is_for_users(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(capsys)
    assert ":class:" not in text and "harness.errors" not in text
    assert "Exit status: 0 ok" in text
    assert all(task in text for task in registry.tasks())


def test_run_help_lists_every_valid_name_and_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(capsys, "run")
    for name in [*registry.tasks(), "keras-jax", "lightning", "fused", "scan", "default, full", "cpu, gpu"]:
        assert name in text, name
    assert "default: all" in text and "results folder (default:" in text


def test_shared_options_are_declared_once() -> None:
    sources = "\n".join(p.read_text() for p in CLI.glob("*.py") if p.name != "options.py")
    assert '"--results"' not in sources and '"--threads"' not in sources  # options.py's alone
    assert sources.count('"--task"') == 0  # one task: options.add_one_task; several: options.add_selection


HEAVY = (
    "torch",
    "tensorflow",
    "jax",
    "keras",
    "flax",
    "lightning",
    "pandas",
    "matplotlib",
    "seaborn",
    "scipy",
)


def _in_a_fresh_process(probe: str) -> str:
    """What ``probe`` prints in a new interpreter (what other tests imported does not count)."""
    root = Path(cli.__file__).parents[2]
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def test_building_the_parser_imports_no_framework_nor_the_analysis_stack() -> None:
    """`--help` within a second: the parser is built from the plug-ins' class constants alone; a
    framework, pandas or matplotlib is imported only by the command that runs it."""
    probe = (
        "import sys; from harness.cli.main import build_parser; build_parser(); "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))"
    )
    assert _in_a_fresh_process(probe) == "[]"


def test_the_package_imports_none_of_its_modules() -> None:
    """Its modules import the package (``from harness.cli import options``), so the package imports
    none of them: the parser and the entry point are ``harness.cli.main``."""
    probe = "import sys, harness.cli; print(sorted(m for m in sys.modules if m.startswith('harness.cli.')))"
    assert _in_a_fresh_process(probe) == "[]"
