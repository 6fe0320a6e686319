"""The PyTorch engine: threads and precision policy, device check, calibration probe, sync, memory."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.plugins.contract import Engine, LazyModule, Probe

torch: Any = LazyModule("torch")


def device_of(device: str) -> Any:
    """The ``torch.device`` of a harness device name."""
    return torch.device("cuda" if device == "gpu" else "cpu")


class TorchEngine(Engine):
    """Eager PyTorch; on CUDA every timed region ends with ``torch.cuda.synchronize``."""

    NAME = "torch"
    MODULES = ("torch",)
    VERSION_PACKAGES = ("torch",)
    SYNC_METHOD = "torch.cuda.synchronize (gpu); none needed on cpu, eager ops are synchronous"

    @classmethod
    def setup(cls, threads: int) -> dict[str, Any]:
        torch.set_num_threads(threads)
        # Settable once per process; if already set, the read-back below says what holds.
        with contextlib.suppress(RuntimeError):
            torch.set_num_interop_threads(threads)
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.set_float32_matmul_precision("highest")
        return {
            "versions": {"torch": torch.__version__},
            "intra_op_threads": torch.get_num_threads(),
            "inter_op_threads": torch.get_num_interop_threads(),
            "matmul_precision": torch.get_float32_matmul_precision(),
            "tf32": bool(torch.backends.cuda.matmul.allow_tf32),
        }

    @classmethod
    def device_reason(cls, device: str) -> str | None:
        if device == "gpu" and not torch.cuda.is_available():
            return f"torch {torch.__version__} sees no CUDA device (torch.cuda.is_available() is False)"
        return None

    @classmethod
    def probe(cls, device: str, n: int) -> Probe:
        dev = device_of(device)
        rng = np.random.default_rng(0)
        a, b = (torch.as_tensor(rng.standard_normal((n, n), dtype=np.float32), device=dev) for _ in "ab")
        out = torch.empty((n, n), device=dev)
        tiny = torch.zeros(1, device=dev)
        return Probe(
            matmul=lambda: torch.matmul(a, b, out=out),
            dispatch=lambda: tiny.add_(1.0),
            sync=lambda: cls.sync(device, ()),
            dispatch_kind="eager in-place add on a 1-element tensor",
        )

    @classmethod
    def to_device(cls, device: str, array: np.ndarray) -> Any:
        return torch.as_tensor(array, device=device_of(device))

    @classmethod
    def sync(cls, device: str, values: Sequence[Any]) -> None:
        if device == "gpu":
            torch.cuda.synchronize(device_of(device))

    @classmethod
    def reset_memory_peak(cls, device: str) -> None:
        if device == "gpu":
            torch.cuda.reset_peak_memory_stats(device_of(device))

    @classmethod
    def memory_peak_bytes(cls, device: str) -> int | None:
        return int(torch.cuda.max_memory_allocated(device_of(device))) if device == "gpu" else None
