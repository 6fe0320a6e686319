"""The help a user reads: valid names listed, defaults shown, shared options declared once."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import cli
from harness.plugins import registry

CLI = Path(cli.__file__).parent


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit):
        cli.main([*argv, "--help"])
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
    assert sources.count('"--task"') == 1  # noise's single task; run and ab share options.add_selection
