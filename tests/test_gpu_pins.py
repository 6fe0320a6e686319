"""The GPU lock stays in step with the CPU one: every package both pin has the same version (the
GPU file is resolved with constraints.txt as its constraint), and it holds the CUDA builds."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pins(name: str) -> dict[str, str]:
    out = {}
    for line in (ROOT / name).read_text().splitlines():
        if line and not line.startswith("#"):
            package, version = line.split("==")
            out[re.sub(r"[-_.]+", "-", package).lower()] = version.split("+")[0]
    return out


def test_the_gpu_lock_agrees_with_the_cpu_lock_and_has_the_cuda_builds() -> None:
    cpu, gpu = _pins("constraints.txt"), _pins("constraints-gpu.txt")
    differ = {k: (cpu[k], gpu[k]) for k in cpu.keys() & gpu.keys() if cpu[k] != gpu[k]}
    assert not differ, f"constraints-gpu.txt disagrees with constraints.txt: {differ}; regenerate it"
    assert "tensorflow-cpu" not in gpu and gpu["tensorflow"] == cpu["tensorflow-cpu"]
    assert gpu["jax-cuda12-plugin"] == gpu["jaxlib"] == cpu["jaxlib"]
    assert gpu["torch"] == cpu["torch"] and any(k.startswith("nvidia-cudnn") for k in gpu)
    tox = (ROOT / "tox.ini").read_text()
    assert "[testenv:gpu]" in tox and "-c constraints-gpu.txt" in tox
