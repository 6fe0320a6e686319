"""The machine calibration: what it measures (with a fake probe and for real), the efficiency
block derived from it, and a cache that is reused while it matches and never half-written."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.errors import CalibrationError
from harness.plugins import registry
from harness.plugins.contract import Probe
from harness.record.derived import calibration_facts, efficiency
from harness.record.schema import RunRecord, Timings
from harness.run import calibration, machine
from harness.run import probe as probe_timing
from harness.store import calibration as cache
from harness.store.calibration import Entry


def _entry(engine: str = "torch", matmul_s: float = 0.1, dispatch_s: float = 1e-5, **kw: object) -> Entry:
    fields = {
        "engine": engine,
        "device": "cpu",
        "threads": 2,
        "fingerprint": "f" * 16,
        "version": "1.0",
        "n": calibration.MATMUL_N["cpu"],
        "matmul_s": [matmul_s * 1.5, matmul_s, matmul_s * 1.2],
        "dispatch_s": [dispatch_s * 2, dispatch_s, dispatch_s * 0.5],
        "dispatch_kind": "fake",
        **kw,
    }
    return Entry(**fields)  # type: ignore[arg-type]


def test_rates_are_the_best_matmul_round_and_the_median_dispatch() -> None:
    entry = _entry(matmul_s=0.1, dispatch_s=1e-5)
    assert entry.matmul_flops_per_s == pytest.approx(2 * 2048**3 / 0.1)
    assert entry.dispatch_median_s == pytest.approx(1e-5)


def test_measure_times_the_probe_per_matmul_and_per_dispatch() -> None:
    calls = {"matmul": 0, "dispatch": 0, "sync": 0}

    def matmul() -> None:
        calls["matmul"] += 1
        time.sleep(0.01)

    def dispatch() -> None:
        calls["dispatch"] += 1

    probe = Probe(
        matmul=matmul,
        dispatch=dispatch,
        sync=lambda: calls.__setitem__("sync", calls["sync"] + 1),
        dispatch_kind="fake",
    )
    out = probe_timing.measure(probe, 64)
    assert out["n"] == 64 and out["dispatch_kind"] == "fake"
    assert len(out["matmul_s"]) == probe_timing.MATMUL_ROUNDS
    assert all(0.009 < s < 0.05 for s in out["matmul_s"])  # each sample is one 10 ms product
    assert len(out["dispatch_s"]) == probe_timing.DISPATCH_ROUNDS and max(out["dispatch_s"]) < 1e-3
    assert calls["dispatch"] >= probe_timing.DISPATCH_ROUNDS * probe_timing.DISPATCHES_PER_ROUND
    assert calls["sync"] >= probe_timing.MATMUL_ROUNDS + probe_timing.DISPATCH_ROUNDS


def test_efficiency_by_hand() -> None:
    # 100 samples, 1e6 FLOPs each, median steady epoch 0.5 s -> 2e8 FLOP/s; 10 steps -> 50 ms/step
    record = RunRecord(task="iris", impl="jax", framework="jax", device="cpu", seed=0)
    record.timings, record.n_train, record.train_flops_per_sample, record.steps_per_epoch = (
        Timings(epoch_s=[0.4, 0.5, 0.9]),
        100,
        1_000_000,
        10,
    )
    own = _entry("jax", matmul_s=2 * 2048**3 / 1e9, dispatch_s=1e-4)  # 1 GFLOP/s, 100 us
    best = _entry("torch", matmul_s=2 * 2048**3 / 4e9)  # 4 GFLOP/s
    record.calibration = calibration_facts(own, best)
    out = efficiency(record)
    assert out["achieved_flops_per_s"] == pytest.approx(2e8)
    assert out["peak_flops_per_s"] == pytest.approx(4e9) and out["peak_engine"] == "torch"
    assert out["fraction_of_peak"] == pytest.approx(0.05)
    assert out["engine"] == "jax" and out["engine_matmul_flops_per_s"] == pytest.approx(1e9)
    assert out["step_s"] == pytest.approx(0.05) and out["step_in_dispatches"] == pytest.approx(500)
    record.timings = Timings()
    assert efficiency(record) == {}


def test_peak_is_the_best_engine_on_that_device_and_thread_count() -> None:
    entries = [
        _entry("torch", matmul_s=0.2),
        _entry("jax", matmul_s=0.1),
        _entry("tensorflow", matmul_s=0.01, threads=16),  # another thread count: not comparable
    ]
    assert cache.peak(entries, "cpu", 2, "f" * 16).engine == "jax"
    assert cache.peak(entries, "gpu", 2, "f" * 16) is None


def test_cache_round_trip_upsert_and_matching(tmp_path: Path) -> None:
    path = tmp_path / "calibration" / "box.json"
    assert cache.load(path) == []
    entries = cache.upsert([_entry("torch"), _entry("jax")], _entry("torch", matmul_s=0.05))
    cache.save(path, entries)
    loaded = cache.load(path)
    assert [e.engine for e in loaded] == ["jax", "torch"] and loaded[1].matmul_s == entries[1].matmul_s
    assert cache.find(loaded, "torch", "cpu", 2, "f" * 16, "1.0", 2048) is not None
    assert cache.find(loaded, "torch", "cpu", 2, "f" * 16, "2.0", 2048) is None  # framework upgraded
    assert cache.find(loaded, "torch", "cpu", 2, "0" * 16, "1.0", 2048) is None  # other machine
    assert cache.find(loaded, "torch", "cpu", 1, "f" * 16, "1.0", 2048) is None  # other threads
    assert list(path.parent.iterdir()) == [path]  # no temp file left behind


def test_a_corrupt_cache_is_an_error_that_names_the_file_and_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "box.json"
    path.write_text("{not json")
    with pytest.raises(CalibrationError, match="box.json is not a readable calibration cache"):
        cache.load(path)
    assert path.read_text() == "{not json"


def test_runner_measures_only_what_the_cache_lacks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    measured: list[str] = []
    fingerprint = machine.machine_info()["fingerprint"]

    def fake_measure(engine, device, threads, fp, version, log):  # noqa: ANN001, ANN202
        measured.append(engine)
        return _entry(engine, threads=threads, fingerprint=fp, version=version)

    monkeypatch.setattr(calibration, "_measure_engine", fake_measure)
    path = tmp_path / "box.json"
    engines = sorted(registry.engines())
    assert {"jax", "numpy", "tensorflow", "torch"} <= set(engines)
    first = calibration.calibrate(["cpu"], 2, path, log=lambda _: None)
    assert sorted(measured) == engines and len(first) == len(engines)
    assert all(e.fingerprint == fingerprint for e in first)
    measured.clear()
    calibration.calibrate(["cpu"], 2, path, log=lambda _: None)
    assert measured == []  # cached
    calibration.calibrate(["cpu"], 1, path, log=lambda _: None)
    assert sorted(measured) == engines  # another thread count is measured
    assert len(cache.load(path)) == 2 * len(engines)
    measured.clear()
    calibration.calibrate(["cpu"], 2, path, force=True, log=lambda _: None)
    assert sorted(measured) == engines and len(cache.load(path)) == 2 * len(engines)


@pytest.mark.alone
def test_real_calibration_is_plausible_and_cached(capsys: pytest.CaptureFixture[str]) -> None:
    """The real probes on this CPU; the session's calibration folder (conftest) keeps it for the
    other tests. Bounds are physical sanity, not speed targets: any CPU does a 2048^2 float32
    matmul at 1 GFLOP/s to 100 TFLOP/s, and no framework dispatches faster than 100 ns. One
    thread: the calibrated runs of ``test_runner`` run at one thread and reuse it."""
    assert main(["calibrate", "--device", "cpu", "--threads", "1"]) == 0
    path = calibration.cache_file(Path("unused"))
    entries = cache.load(path)
    engines = {e.engine for e in entries}
    assert {"torch", "jax", "tensorflow"} <= engines
    for entry in entries:
        assert 1e9 < entry.matmul_flops_per_s < 1e14, entry
        assert 1e-7 < entry.dispatch_median_s < 1e-2, entry
    assert {e.threads for e in entries} == {1}
    before = json.loads(path.read_text())
    assert main(["calibrate", "--device", "cpu", "--threads", "1"]) == 0
    assert json.loads(path.read_text()) == before  # reused, not measured again
    assert "matmul GFLOP/s" in capsys.readouterr().out


def test_calibrate_rejects_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calibrate", "--device", "tpu"]) == 2
    with pytest.raises(SystemExit) as exited:  # the shared --threads option: argparse says it, status 2
        main(["calibrate", "--threads", "0"])
    assert exited.value.code == 2 and "'0' must be a positive whole number" in capsys.readouterr().err


def test_plan_calibrates_the_gpu_only_where_one_is_visible(monkeypatch: pytest.MonkeyPatch) -> None:
    """The device choice with the GPU faked: a plan with gpu runs calibrates the gpu only when
    ``machine.gpu_reason`` says a GPU is there; an engine that cannot use it is left out."""
    from harness.plan.requests import Plan, RunRequest
    from harness.run.runner import _runnable_devices

    plan = Plan("p", [RunRequest(task="iris", impl="jax", device=d) for d in ("cpu", "gpu")])
    monkeypatch.setattr(machine, "gpu_reason", lambda: "no NVIDIA driver")
    assert _runnable_devices(plan) == ["cpu"]
    monkeypatch.setattr(machine, "gpu_reason", lambda: None)
    assert _runnable_devices(plan) == ["cpu", "gpu"]
    assert _runnable_devices(Plan("p", [RunRequest(task="iris", impl="jax", device="cpu")])) == ["cpu"]

    def fake_measure(engine, device, threads, fp, version, log):  # noqa: ANN001, ANN202
        if device == "gpu" and engine == "tensorflow":
            return None  # e.g. tensorflow-cpu: the worker said the device is unavailable
        return _entry(engine, device=device, threads=threads, fingerprint=fp, version=version,
                      n=calibration.MATMUL_N[device])  # fmt: skip

    monkeypatch.setattr(calibration, "_measure_engine", fake_measure)
    entries = calibration.calibrate(
        ["cpu", "gpu"], 2, Path(tempfile.mkdtemp()) / "c.json", log=lambda _: None
    )
    # numpy's engine has no GPU path: it is never calibrated there
    assert sorted((e.engine, e.device) for e in entries) == sorted(
        [(e, "cpu") for e in registry.engines()] + [("torch", "gpu"), ("jax", "gpu")]
    )
    assert {e.n for e in entries if e.device == "gpu"} == {calibration.MATMUL_N["gpu"]}


def test_a_corrupt_cache_stops_the_command_with_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MLPBENCH_CALIBRATION_DIR", str(tmp_path))
    path = calibration.cache_file(tmp_path)
    path.write_text('{"schema_version": 1, "entries": [{"engine": "torch"}]}')
    assert main(["calibrate"]) == 2
    assert "is not a readable calibration cache" in capsys.readouterr().err
    assert path.read_text() == '{"schema_version": 1, "entries": [{"engine": "torch"}]}'
