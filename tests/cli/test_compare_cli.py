"""``python -m harness compare`` and ``baseline save`` end to end, on the golden files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.run import machine
from harness.store import baselines

GOLDEN = Path(__file__).parents[1] / "data" / "compare"
THIS_MACHINE = {
    "machine_id": "ci-runner-0a1b2c3d",
    "fingerprint": "0a1b2c3d4e5f6071",
    "cpu_model": "Synthetic",
}


@pytest.fixture(autouse=True)
def _this_machine(monkeypatch):
    """Pretend to be the machine the golden records ran on."""
    monkeypatch.setattr(machine, "machine_info", lambda: dict(THIS_MACHINE))


def _compare(tmp_path, current, baseline="baseline", fail=None, allow_other_machine=False, markdown_out=None):
    argv = ["compare", "--current", str(current), "--results", str(tmp_path / "results")]
    argv += [] if baseline is None else ["--baseline", str(GOLDEN / f"{baseline}.jsonl")]
    argv += ["--fail", *fail] if fail else []
    argv += ["--allow-other-machine"] if allow_other_machine else []
    argv += ["--markdown", str(markdown_out)] if markdown_out else []
    return main(argv)


def save_baseline(results: Path, source: Path | None) -> Path:
    return baselines.save_baseline(results, source, THIS_MACHINE["machine_id"])


def _golden(name):
    return GOLDEN / f"{name}.jsonl"


def test_same_distribution_exits_0_and_slower_exits_1_with_markdown(tmp_path, capsys):
    assert _compare(tmp_path, _golden("current_same")) == 0
    summary = tmp_path / "summary.md"
    assert _compare(tmp_path, _golden("current_slower"), markdown_out=summary) == 1
    out = capsys.readouterr().out
    assert "regression" in out and "digits torch default cpu" in out
    text = summary.read_text()
    assert "❌ regression" in text and "step time (median)" in text and "| digits jax default cpu |" in text


def test_accuracy_drop_exits_1(tmp_path, capsys):
    assert _compare(tmp_path, _golden("current_accuracy_drop")) == 1
    assert "test accuracy (mean)" in capsys.readouterr().out


def test_fail_specs_replace_the_defaults(tmp_path):
    assert _compare(tmp_path, _golden("current_slower"), fail=["step_time:median:40%"]) == 0
    assert _compare(tmp_path, _golden("current_slower"), fail=["throughput:median:10%"]) == 1


def test_other_machine_is_refused_unless_allowed(tmp_path, capsys):
    assert _compare(tmp_path, _golden("current_other_machine")) == 2
    err = capsys.readouterr().err
    assert "fingerprints differ" in err and "laptop-99887766" in err and "--allow-other-machine" in err
    assert _compare(tmp_path, _golden("current_other_machine"), allow_other_machine=True) in (0, 1)
    assert "comparing anyway" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("make_current", "message"),
    [
        (lambda d: d / "missing.jsonl", "does not exist"),
        (lambda d: _golden("current_other_task"), "no comparable runs"),
        (lambda d: _write(d / "junk.jsonl", b"not json\n{}\n"), "no comparable runs"),
        (lambda d: _write(d / "binary.jsonl", b"\xff\xfe\x00garbage"), "cannot read"),
        (lambda d: (d / "empty").mkdir() or d / "empty", "no *.jsonl record files"),
    ],
)
def test_unusable_input_exits_2_with_a_clear_message(tmp_path, capsys, make_current, message):
    assert _compare(tmp_path, make_current(tmp_path)) == 2
    assert message in capsys.readouterr().err


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_malformed_threshold_exits_2_and_lists_the_metrics(tmp_path, capsys):
    assert _compare(tmp_path, _golden("current_same"), fail=["step_time:fast"]) == 2
    err = capsys.readouterr().err
    assert "step_time:fast" in err and "peak_memory" in err and "test_accuracy:-" in err


def test_missing_default_baseline_says_how_to_create_one(tmp_path, capsys):
    assert _compare(tmp_path, _golden("current_same"), baseline=None) == 2
    err = capsys.readouterr().err
    assert "ci-runner-0a1b2c3d" in err and "harness baseline save" in err


def _runs_dir(results: Path, *names: str) -> Path:
    folder = results / "runs" / THIS_MACHINE["machine_id"]
    folder.mkdir(parents=True)
    for i, name in enumerate(names):  # later names sort later: newer run files
        shutil.copy(_golden(name), folder / f"2025010{i + 1}T000000Z-c0ffee-default.jsonl")
    return folder


def test_save_baseline_then_compare_the_newest_runs_by_default(tmp_path):
    results = tmp_path / "results"
    _runs_dir(results, "current_slower", "baseline")
    saved = save_baseline(results, None)
    assert saved == results / "baselines" / "ci-runner-0a1b2c3d.jsonl"
    assert [json.loads(line)["git_commit"] for line in saved.read_text().splitlines()] == ["c0ffee"] * 12
    assert _compare(tmp_path, results / "runs", baseline=None) == 0  # newest file == baseline
    shutil.copy(
        _golden("current_slower"), results / "runs" / THIS_MACHINE["machine_id"] / "20250109T0-x.jsonl"
    )
    assert _compare(tmp_path, results / "runs", baseline=None) == 1


def test_save_baseline_never_loses_the_previous_one(tmp_path):
    results = tmp_path / "results"
    _runs_dir(results, "baseline")
    first = save_baseline(results, None).read_bytes()
    assert save_baseline(results, None).read_bytes() == first  # unchanged: nothing archived
    assert len(list((results / "baselines").iterdir())) == 1
    save_baseline(results, _golden("current_slower"))
    files = sorted((results / "baselines").iterdir())
    assert len(files) == 2 and files[0].name.startswith("ci-runner-0a1b2c3d.2")
    archived = [f for f in files if f.name != "ci-runner-0a1b2c3d.jsonl"]
    assert archived[0].read_bytes() == first
    assert not list((results / "baselines").glob(".*"))  # no temp files left behind


def test_baseline_save_without_runs_exits_2_via_the_cli(tmp_path, capsys):
    assert main(["baseline", "save", "--results", str(tmp_path)]) == 2
    assert "no run files" in capsys.readouterr().err


def test_cli_compare_is_wired(tmp_path, capsys):
    argv = ["compare", "--baseline", str(_golden("baseline")), "--current", str(_golden("current_slower"))]
    assert main([*argv, "--results", str(tmp_path), "--markdown", str(tmp_path / "s.md")]) == 1
    assert (tmp_path / "s.md").read_text().startswith("### Benchmark comparison")


def test_default_baseline_falls_back_to_same_hardware_under_another_hostname(tmp_path, monkeypatch):
    results = tmp_path / "results"
    (results / "baselines").mkdir(parents=True)
    shutil.copy(_golden("baseline"), results / "baselines" / "fv-az42-0a1b2c3d.jsonl")
    assert _compare(tmp_path, _golden("current_slower"), baseline=None) == 1
    monkeypatch.setattr(machine, "machine_info", lambda: {**THIS_MACHINE, "fingerprint": "ffff0000"})
    assert _compare(tmp_path, _golden("current_slower"), baseline=None) == 2


def test_results_alone_names_both_the_current_runs_and_the_baseline(tmp_path, capsys):
    """``compare --results R`` compares R's newest runs with R's saved baseline: the current records
    are never taken from another folder (the repository's results/) behind the user's back."""
    results = tmp_path / "elsewhere"
    _runs_dir(results, "baseline")
    save_baseline(results, None)
    assert main(["compare", "--results", str(results)]) == 0
    assert str(results / "runs") in capsys.readouterr().out
    shutil.copy(
        _golden("current_slower"), results / "runs" / THIS_MACHINE["machine_id"] / "20250109T0-x.jsonl"
    )
    assert main(["compare", "--results", str(results)]) == 1
