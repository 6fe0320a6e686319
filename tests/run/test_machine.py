"""Machine facts and the GPU capability check, with the device faked."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from harness.run import machine


@pytest.fixture
def fake_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Put a fake ``nvidia-smi`` first on PATH that prints ``output``."""

    def install(output: str, status: int = 0) -> None:
        exe = tmp_path / "nvidia-smi"
        exe.write_text(f"#!/bin/sh\ncat <<'EOF'\n{output}\nEOF\nexit {status}\n")
        exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
        monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
        machine.gpus.cache_clear()

    yield install
    machine.gpus.cache_clear()


def test_gpu_found_through_nvidia_smi(fake_nvidia_smi) -> None:
    fake_nvidia_smi("NVIDIA H100 80GB HBM3, 570.86, 81559 MiB")
    assert machine.gpus() == [{"name": "NVIDIA H100 80GB HBM3", "driver": "570.86", "memory": "81559 MiB"}]
    assert machine.gpu_reason() is None


def test_driver_without_gpu(fake_nvidia_smi) -> None:
    fake_nvidia_smi("", status=0)
    assert machine.gpu_reason() == "nvidia-smi lists no GPU"


def test_failing_driver(fake_nvidia_smi) -> None:
    fake_nvidia_smi("NVIDIA-SMI has failed", status=9)
    assert machine.gpus() == [] and machine.gpu_reason() == "nvidia-smi lists no GPU"


def test_hidden_gpus(fake_nvidia_smi, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_nvidia_smi("NVIDIA H100, 570.86, 81559 MiB")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert "hidden" in machine.gpu_reason()


def test_no_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(machine.shutil, "which", lambda name: None)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert "nvidia-smi not found" in machine.gpu_reason()


def test_fingerprint_ignores_hostname_but_not_hardware() -> None:
    info = dict(machine.machine_info())
    same = machine.fingerprint({**info, "hostname": "elsewhere"})
    assert same == info["fingerprint"]
    other = machine.fingerprint({**info, "cpu_cores_logical": info["cpu_cores_logical"] + 2})
    assert other != info["fingerprint"]
    with_gpu = machine.fingerprint({**info, "gpus": [{"name": "NVIDIA H100"}]})
    assert with_gpu != info["fingerprint"]


def test_versions_and_commit() -> None:
    versions = machine.package_versions()
    assert versions["python"].startswith("3.") and "numpy" in versions
    commit = machine.git_commit()
    assert commit == "" or len(commit.split("+")[0]) == 40
