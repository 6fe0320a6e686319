"""The JAX engine: precision policy, device check, calibration probe, ``block_until_ready``, memory."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.plugins.contract import Engine, LazyModule, Probe

jax: Any = LazyModule("jax")
jnp: Any = LazyModule("jax.numpy")


def device_of(device: str) -> Any:
    """The first ``jax.Device`` of a harness device name."""
    return jax.devices("gpu" if device == "gpu" else "cpu")[0]


def limit_cores(threads: int) -> int:
    """Let this process run on ``threads`` of its schedulable cores (the first ones), before XLA's
    CPU client starts; returns how many it may run on now, read back from the kernel."""
    allowed = sorted(os.sched_getaffinity(0))
    if 0 < threads < len(allowed):
        os.sched_setaffinity(0, allowed[:threads])
    return len(os.sched_getaffinity(0))


class JaxEngine(Engine):
    """XLA through JAX; a timed region ends with ``jax.block_until_ready`` on what it updated."""

    NAME = "jax"
    MODULES = ("jax",)
    VERSION_PACKAGES = ("jaxlib", "jax")
    SYNC_METHOD = "jax.block_until_ready on the parameters"

    @classmethod
    def worker_env(cls, device: str) -> dict[str, str]:
        return super().worker_env(device) | ({"JAX_PLATFORMS": "cpu"} if device == "cpu" else {})

    @classmethod
    def setup(cls, threads: int) -> dict[str, Any]:
        cores = limit_cores(threads)
        jax.config.update("jax_default_matmul_precision", "highest")  # no TF32 on GPU
        import jaxlib

        return {
            "versions": {"jax": jax.__version__, "jaxlib": jaxlib.__version__},
            # XLA's CPU client has no thread setting: it sizes its Eigen pool from the cores the
            # process may run on, so the thread count is set as the process's CPU affinity.
            "intra_op_threads": cores,
            "inter_op_threads": None,
            "threads_set_by": "CPU affinity (XLA sizes its CPU thread pool from the schedulable cores)",
            "matmul_precision": str(jax.config.jax_default_matmul_precision),
            "tf32": False,
        }

    @classmethod
    def device_reason(cls, device: str) -> str | None:
        if device == "gpu":
            try:
                jax.devices("gpu")
            except RuntimeError as exc:
                return f"jax {jax.__version__} has no GPU backend: {str(exc).splitlines()[0]}"
        return None

    @classmethod
    def probe(cls, device: str, n: int) -> Probe:
        dev = device_of(device)
        rng = np.random.default_rng(0)
        a, b = (jax.device_put(rng.standard_normal((n, n), dtype=np.float32), dev) for _ in "ab")
        matmul, increment = jax.jit(jnp.matmul), jax.jit(lambda x: x + 1)
        state = {"product": matmul(a, b), "tiny": jax.device_put(np.zeros(1, np.float32), dev)}

        def run_matmul() -> None:
            state["product"] = matmul(a, b)

        def run_dispatch() -> None:
            state["tiny"] = increment(state["tiny"])

        return Probe(
            matmul=run_matmul,
            dispatch=run_dispatch,
            sync=lambda: cls.sync(device, list(state.values())),
            dispatch_kind="call of a jitted x + 1 on a 1-element array",
        )

    @classmethod
    def to_device(cls, device: str, array: np.ndarray) -> Any:
        return jax.device_put(array, device_of(device))

    @classmethod
    def sync(cls, device: str, values: Sequence[Any]) -> None:
        jax.block_until_ready(list(values))

    @classmethod
    def memory_peak_bytes(cls, device: str) -> int | None:
        if device != "gpu":
            return None
        return (device_of(device).memory_stats() or {}).get("peak_bytes_in_use")
