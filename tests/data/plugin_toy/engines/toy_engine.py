"""A throwaway engine for the plug-in test: numpy on the CPU, discovered from this folder alone."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.plugins.contract import Engine, Probe


class ToyEngine(Engine):
    NAME = "toy"
    MODULES = ("numpy",)
    VERSION_PACKAGES = ("numpy",)
    SUPPORTS_GPU = False
    SYNC_METHOD = "none: numpy returns when the work is done"

    @classmethod
    def setup(cls, threads: int) -> dict[str, Any]:
        return {
            "versions": {"numpy": np.__version__},
            "intra_op_threads": threads,
            "inter_op_threads": None,
            "matmul_precision": "float32",
            "tf32": False,
        }

    @classmethod
    def device_reason(cls, device: str) -> str | None:
        return "the toy engine has no GPU" if device == "gpu" else None

    @classmethod
    def probe(cls, device: str, n: int) -> Probe:
        a = np.ones((n, n), np.float32)
        tiny = np.zeros(1, np.float32)
        return Probe(lambda: a @ a, lambda: np.add(tiny, 1, out=tiny), lambda: None, "numpy add")

    @classmethod
    def sync(cls, device: str, values: Sequence[Any]) -> None:
        return None
