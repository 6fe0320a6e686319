"""The plug-in contract is closed: engines and implementations are discovered from files, and a
framework added as files in a folder of its own runs through the whole harness untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli.main import main
from harness.errors import SpecError, UnknownName
from harness.plugins import registry
from harness.store import runs as store


def test_builtin_engines_and_implementations_are_found_from_their_files() -> None:
    assert set(registry.engines()) >= {"torch", "tensorflow", "jax"}
    impls = registry.implementations()
    assert {"torch", "tensorflow", "jax", "keras", "keras-jax", "keras-torch"} <= set(impls)
    assert impls["keras-jax"].engine == "jax" and impls["keras-jax"].backend == "jax"
    assert impls["keras"].backend == "tensorflow" and impls["torch"].backend == ""
    assert impls["jax"].path.parent.name == "impls" and impls["jax"].trainer_class().ENGINES == ("jax",)


def test_a_new_framework_is_files_in_a_folder_and_runs_end_to_end(toy_plugin: Path, tmp_path: Path) -> None:
    info = registry.get("toy")
    assert info.engine == "toy" and info.path.parent.parent == toy_plugin and not info.supports_gpu
    results = tmp_path / "results"
    argv = ["run", "--task", "iris", "--impl", "toy", "--device", "cpu", "gpu", "--seeds", "0", "1"]
    argv += ["--epochs", "15", "--set", "hidden=[]", "optimizer='sgd'", "learning_rate=0.2"]
    assert main([*argv, "--results", str(results), "--no-calibrate"]) == 0
    records, skipped = store.load(results)
    assert skipped == []
    ok = [r for r in records if r.status == "ok"]
    assert len(ok) == 2 and all(r.test_accuracy > 0.8 for r in ok), [r.test_accuracy for r in ok]
    assert ok[0].framework == "toy" and ok[0].versions["numpy"] and ok[0].execution["import_s"] >= 0
    (gpu,) = [r for r in records if r.device == "gpu"]
    assert gpu.status == "unavailable" and "does not support GPUs" in gpu.reason


def test_an_unknown_engine_is_named_with_the_valid_ones(
    toy_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "impls").mkdir()
    toy = (toy_folder / "impls" / "toy_softmax.py").read_text()
    (tmp_path / "impls" / "orphan.py").write_text(toy.replace('ENGINES = ("toy",)', 'ENGINES = ("tpu",)'))
    monkeypatch.setenv(registry.PLUGINS_ENV, str(tmp_path))
    registry.clear()
    try:
        with pytest.raises(UnknownName, match="engine 'tpu' is not defined; engines: .*torch"):
            registry.implementations()
    finally:
        monkeypatch.delenv(registry.PLUGINS_ENV)
        registry.clear()


def test_a_new_task_is_a_file_in_a_folder_and_runs_end_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The harness knows tasks only through the contract: a throwaway family in a temporary folder
    (``task.py`` alone) is listed, validated, trained by a shipped implementation and recorded."""
    folder = tmp_path / "blob_plugin"
    folder.mkdir()
    (folder / "task.py").write_text(
        (Path(__file__).parents[1] / "data" / "plugin_blobs" / "task.py").read_text()
    )
    monkeypatch.setenv(registry.PLUGINS_ENV, str(folder))
    registry.clear()
    try:
        assert registry.tasks()[-1] == "blobs" and registry.family("blobs").__name__ == "BlobTasks"
        results = tmp_path / "results"
        argv = ["run", "--task", "blobs", "--impl", "numpy", "--seeds", "0", "--epochs", "8"]
        assert main([*argv, "--results", str(results), "--no-calibrate"]) == 0
        (record,) = store.load(results)[0]
        assert record.status == "ok" and record.task == "blobs" and record.test_accuracy > 0.9
        assert record.steps_per_epoch == 10 and record.train_flops_per_sample == 6 * (2 * 16 + 16 * 3)
        with pytest.raises(SpecError, match="unknown task 'cifar'; valid: iris, .*blobs"):
            registry.family("cifar")
        assert main(["run", "--task", "blobs", "--set", "batch_size=1000", "--dry-run"]) == 2
    finally:
        monkeypatch.delenv(registry.PLUGINS_ENV)
        registry.clear()
