"""The numpy engine: the host CPU through numpy's BLAS, its threads set with threadpoolctl."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from harness.plugins.contract import Engine, LazyModule, Probe

threadpoolctl: Any = LazyModule("threadpoolctl")


class NumpyEngine(Engine):
    """numpy computes on the host and returns when the result is there: nothing to wait for."""

    NAME = "numpy"
    MODULES = ("numpy", "threadpoolctl")
    VERSION_PACKAGES = ("numpy",)
    SUPPORTS_GPU = False
    SYNC_METHOD = "none: numpy returns when its result is computed"
    _limits: ClassVar[Any] = None  # kept alive: the thread limit holds while it exists

    @classmethod
    def setup(cls, threads: int) -> dict[str, Any]:
        cls._limits = threadpoolctl.threadpool_limits(limits=threads)
        pools = threadpoolctl.threadpool_info()
        blas = [p for p in pools if p.get("user_api") == "blas"]
        return {
            "versions": {"numpy": np.__version__},
            "intra_op_threads": blas[0]["num_threads"] if blas else None,
            "inter_op_threads": None,
            "matmul_precision": "float32",
            "tf32": False,
            "blas": ", ".join(f"{p.get('internal_api')} {p.get('version')}" for p in blas) or "unknown",
        }

    @classmethod
    def device_reason(cls, device: str) -> str | None:
        return "numpy computes on the CPU only: there is no GPU path" if device == "gpu" else None

    @classmethod
    def probe(cls, device: str, n: int) -> Probe:
        rng = np.random.default_rng(0)
        a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in "ab")
        out = np.empty((n, n), dtype=np.float32)
        tiny = np.zeros(1, dtype=np.float32)
        return Probe(
            matmul=lambda: np.matmul(a, b, out=out),
            dispatch=lambda: np.add(tiny, 1.0, out=tiny),
            sync=lambda: None,
            dispatch_kind="numpy in-place add on a 1-element array",
        )

    @classmethod
    def sync(cls, device: str, values: Sequence[Any]) -> None:
        return None
