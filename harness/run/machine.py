"""What a record says about where it ran: the machine, its fingerprint, the git commit, versions.

Nothing here imports a framework: versions come from installed package metadata, and GPUs
are found with ``nvidia-smi`` (the frameworks' own view is checked later, in the worker).
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

import harness
from harness.plugins import registry

REPO_ROOT = Path(__file__).resolve().parents[2]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _nvidia_smi(*query: str) -> list[str]:
    exe = shutil.which("nvidia-smi")
    if not exe:
        return []
    try:
        done = subprocess.run([exe, *query], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in done.stdout.splitlines() if line.strip()] if done.returncode == 0 else []


@lru_cache(maxsize=1)
def gpus() -> list[dict[str, str]]:
    """NVIDIA GPUs visible to this process: name, driver and memory, from ``nvidia-smi``."""
    rows = _nvidia_smi("--query-gpu=name,driver_version,memory.total", "--format=csv,noheader")
    out = []
    for row in rows:
        parts = [p.strip() for p in row.split(",")]
        if len(parts) == 3:
            out.append({"name": parts[0], "driver": parts[1], "memory": parts[2]})
    return out


def gpu_reason() -> str | None:
    """``None`` when an NVIDIA GPU is visible, else why the ``gpu`` device is unavailable."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) == "":
        return "CUDA_VISIBLE_DEVICES is empty: GPUs are hidden from this process"
    if not shutil.which("nvidia-smi"):
        return "no NVIDIA driver on this machine (nvidia-smi not found)"
    if not gpus():
        return "nvidia-smi lists no GPU"
    return None


@lru_cache(maxsize=1)
def machine_info() -> dict[str, Any]:
    """CPU model, cores, memory, OS and GPUs, plus a stable ``fingerprint``."""
    info: dict[str, Any] = {
        "hostname": platform.node(),
        "cpu_model": _cpu_model(),
        "cpu_cores_logical": psutil.cpu_count(logical=True),
        "cpu_cores_physical": psutil.cpu_count(logical=False),
        "memory_bytes": psutil.virtual_memory().total,
        "os": f"{platform.system()} {platform.release()}",
        "arch": platform.machine(),
        "python": platform.python_version(),
        "gpus": gpus(),
    }
    info["fingerprint"] = fingerprint(info)
    info["machine_id"] = f"{_slug(info['hostname'])}-{info['fingerprint'][:8]}"
    return info


def fingerprint(info: dict[str, Any]) -> str:
    """A hash of what makes timings comparable: CPU model, core count, memory (GiB), arch, GPUs.

    The hostname is left out so a CI runner that is recreated with the same hardware matches.
    """
    parts = [
        info["cpu_model"],
        str(info["cpu_cores_logical"]),
        str(round(info["memory_bytes"] / 2**30)),
        info["arch"],
        ";".join(g["name"] for g in info["gpus"]),
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower())[:24].strip("-") or "machine"


@lru_cache(maxsize=1)
def git_commit() -> str:
    """The checkout's commit, with ``+dirty`` when the working tree has changes; ``""`` outside git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10
        )
        if head.returncode != 0:
            return ""
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.TimeoutExpired):
        return ""


def package_versions() -> dict[str, str]:
    """Installed versions of python, the harness, numpy and every package an engine or
    implementation names (absent ones left out)."""
    out = {"python": platform.python_version(), "harness": harness.__version__}
    for name in ("numpy", *registry.version_packages()):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out
