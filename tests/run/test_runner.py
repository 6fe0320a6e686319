"""The runner end to end, with real workers: phases recorded, crashes and hangs cost one run,
unavailable frameworks and devices are recorded, not fatal. JAX is used (fastest import of a
framework that compiles)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli.main import main
from harness.plugins import registry
from harness.record import derived
from harness.record import execution as execution_facts
from harness.run import machine
from harness.run.faults import FAULT_ENV
from tests.real_runs import real_run

SUITE = """
step_samples = 4
eval_repeats = 2
timeout_s = 120
[[runs]]
tasks = ["iris"]
impls = ["jax"]
seeds = [0, 1]
spec = { epochs = 3 }
"""


@pytest.fixture
def suite_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(SUITE)
    return path


def _run(tmp_path: Path, *argv: str, calibrate: bool = False) -> tuple[int, list]:
    done = real_run(tmp_path, *argv, calibrate=calibrate)
    return done.status, sorted(done.records, key=lambda r: (r.impl, r.seed))


def test_ok_runs_record_every_phase(tmp_path: Path, suite_file: Path) -> None:
    status, records = _run(tmp_path, "--suite", str(suite_file))
    assert status == 0 and [r.status for r in records] == ["ok", "ok"]
    first, second = records
    t = first.timings
    assert t.import_s > 0 and t.build_s > 0 and t.first_epoch_s > 0
    assert len(t.epoch_s) == 2 and len(t.step_s) == 4 and len(t.eval_s) == 2
    assert first.timings.worker_runs_before == 0 and second.timings.worker_runs_before == 1
    assert len(first.curves.val_accuracy) == 3 and 0.5 < first.test_accuracy <= 1.0
    assert first.config["epochs"] == 3 and first.config["seed"] == 0 and second.config["seed"] == 1
    assert first.machine["fingerprint"] == machine.machine_info()["fingerprint"]
    assert first.versions["jax"] and first.git_commit is not None
    assert first.peak_rss_bytes > 50e6 and first.steps_per_epoch == 6 and first.n_train == 90
    assert first.execution["requested_threads"] >= 1 and "sync_method" in first.execution
    assert first.suite == "tiny"


def test_hard_crash_costs_one_run_each(
    tmp_path: Path, suite_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FAULT_ENV, "crash")
    status, records = _run(tmp_path, "--suite", str(suite_file))
    assert status == 1
    assert [r.status for r in records] == ["crashed", "crashed"]  # a fresh worker took the second run
    assert "exited with status 3" in records[0].reason


def test_exception_is_recorded_with_its_traceback(
    tmp_path: Path, suite_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FAULT_ENV, "raise")
    status, records = _run(tmp_path, "--suite", str(suite_file))
    assert status == 1 and [r.status for r in records] == ["crashed", "crashed"]
    assert "RuntimeError: injected failure" in records[0].reason and "Traceback" in records[0].reason


def test_hang_becomes_timeout(tmp_path: Path, suite_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FAULT_ENV, "hang")
    # the run hangs before its model is built, which takes jax well under a second here
    status, records = _run(tmp_path, "--suite", str(suite_file), "--seeds", "0", "--timeout", "5")
    assert status == 1 and [r.status for r in records] == ["timeout"]
    assert "no answer within 5 s" in records[0].reason


def test_missing_framework_is_unavailable_and_the_rest_go_on(
    tmp_path: Path, suite_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = registry.ImplInfo.unavailable_reason

    def fake(self: registry.ImplInfo) -> str | None:
        return "not installed: tensorflow" if self.name == "tensorflow" else real(self)

    monkeypatch.setattr(registry.ImplInfo, "unavailable_reason", fake)
    status, records = _run(tmp_path, "--task", "iris", "--impl", "tensorflow", "jax", "--epochs", "3")
    assert status == 0
    assert {r.impl: r.status for r in records} == {"jax": "ok", "tensorflow": "unavailable"}
    assert "not installed: tensorflow" in next(r.reason for r in records if r.impl == "tensorflow")


def test_gpu_without_gpu_is_one_unavailable_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(machine, "gpu_reason", lambda: "no NVIDIA driver (faked)")
    status, records = _run(
        tmp_path, "--task", "iris", "--impl", "jax", "--device", "gpu", "--seeds", "0", "1"
    )
    assert status == 0 and len(records) == 1
    assert records[0].status == "unavailable" and records[0].reason == "no NVIDIA driver (faked)"


def test_gpu_visible_but_framework_cannot_use_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine claims a GPU (faked); the worker's framework check decides, per framework."""
    monkeypatch.setattr(machine, "gpu_reason", lambda: None)
    status, records = _run(tmp_path, "--task", "iris", "--impl", "jax", "--device", "gpu", "--epochs", "3")
    assert status == 0 and records[0].status == "unavailable"
    assert "jax" in records[0].reason and "GPU" in records[0].reason


def test_unknown_mode_is_refused_before_anything_runs(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    results = tmp_path / "results"
    status = main(["run", "--results", str(results), "--task", "iris", "--impl", "jax", "--mode", "turbo"])
    assert status == 2 and not results.exists()
    assert "--mode turbo: jax has no mode 'turbo'; its modes: default, scan" in capsys.readouterr().err


def test_mode_a_backend_cannot_do_is_unavailable(tmp_path: Path) -> None:
    status, records = _run(tmp_path, "--task", "iris", "--impl", "keras-torch", "--mode", "fast")
    assert status == 0 and records[0].status == "unavailable"
    assert "steps_per_execution=1" in records[0].reason


@pytest.mark.alone
def test_execution_block_is_read_back_and_efficiency_is_against_the_calibration(tmp_path: Path) -> None:
    """Threads are set through each framework and read back: with --threads 1 the record says 1
    (torch and tensorflow through their APIs, jax through the process's CPU affinity). Every ok
    record carries its efficiency against the (session's shared) machine calibration: at one thread,
    as ``test_calibration`` measures it, so that the session calibrates once. (The other runs here
    are not calibrated: what they test does not read it.)"""
    status, records = _run(
        tmp_path, "--task", "iris", "--impl", "torch", "tensorflow", "jax", "--epochs", "3", "--threads", "1",
        calibrate=True,
    )  # fmt: skip
    assert status == 0 and {r.impl for r in records} == {"torch", "tensorflow", "jax"}
    by_impl = {r.impl: r for r in records}
    for impl in ("torch", "tensorflow", "jax"):
        execution = by_impl[impl].execution
        assert execution["requested_threads"] == 1 and execution["intra_op_threads"] == 1, execution
        assert execution["tf32"] is False
    assert by_impl["jax"].execution["threads_set_by"].startswith("CPU affinity")
    assert by_impl["jax"].execution["matmul_precision"] == "highest"
    for record in records:
        assert execution_facts.problems(record.execution) == [], record.impl
        assert execution_facts.problems(record.provenance, execution_facts.PROVENANCE) == [], record.impl
        eff = derived.efficiency(record)
        assert eff["engine"] == record.impl and 0 < eff["fraction_of_peak"] < 1, eff
        fastest = min(derived.step_samples_s(record)) * record.steps_per_epoch  # its steps, overhead aside
        flops = record.train_flops_per_sample * record.n_train / fastest
        assert eff["achieved_flops_per_s"] <= flops * 1.0001  # the median epoch, never faster than the best
        assert eff["peak_flops_per_s"] >= eff["engine_matmul_flops_per_s"] > 1e9
        assert eff["step_in_dispatches"] > 1


@pytest.mark.alone
def test_a_stalled_epoch_setup_is_found_and_a_plain_loop_has_none(tmp_path: Path, monkeypatch) -> None:
    """Item 3 of issue 28's check, on real runs: every third epoch's setup made 100 ms longer
    (``MLPBENCH_FAULT=stall:0.1``) is found in every such epoch, and torch's loop without it has
    no stall at all (its setup is the hooks' own)."""
    status, clean = _run(
        tmp_path / "clean", "--task", "iris", "--impl", "torch", "--epochs", "9", "--no-twin"
    )
    assert status == 0 and derived.setup_stalls(clean[0]) == []
    monkeypatch.setenv("MLPBENCH_FAULT", "stall:0.1")
    status, stalled = _run(
        tmp_path / "stalled", "--task", "iris", "--impl", "torch", "--epochs", "9", "--no-twin"
    )
    (record,) = stalled
    # epochs 3, 6 and 9 (epoch_s holds epochs 2..9: indices 1, 4, 7) waited before their first step
    assert status == 0 and derived.setup_stalls(record) == [1, 4, 7], record.timings.epoch_setup_s
    assert derived.step_time_s(record) < 0.01  # the headline leaves the setup out


def test_a_diverging_run_ends_diverged_in_its_own_loop_and_in_keras_and_lightning_fit(tmp_path: Path) -> None:
    """An epoch's loss is checked with its evaluation, at its end: the end hook stops the training
    loop (an own loop, Keras' ``fit`` through ``stop_training``, Lightning's through
    ``should_stop``), and the record says ``diverged``, with the epoch, and keeps no epoch more."""
    argv = ["--task", "iris", "--impl", "numpy", "keras", "lightning", "--epochs", "6", "--seeds", "0"]
    status, records = _run(tmp_path, *argv, "--set", "learning_rate=1e8", "optimizer=sgd", "--no-twin")
    assert status == 1 and sorted(r.impl for r in records) == ["keras", "lightning", "numpy"]
    for record in records:
        assert record.status == "diverged", (record.impl, record.reason)
        assert record.reason == "loss is not finite after epoch 1", record.impl
        assert len(record.curves.val_loss) == 1 and len(record.timings.epoch_setup_s) == 1, record.impl
