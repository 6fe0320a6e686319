"""The TensorFlow engine: threads and precision policy, device check, calibration probe, a read-back
as the sync, memory."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.plugins.contract import Engine, LazyModule, Probe

tf: Any = LazyModule("tensorflow")


def device_of(device: str) -> str:
    """The ``tf.device`` string of a harness device name."""
    return "/GPU:0" if device == "gpu" else "/CPU:0"


class TensorflowEngine(Engine):
    """TensorFlow 2; a timed region ends by reading the last-updated value back to the host."""

    NAME = "tensorflow"
    MODULES = ("tensorflow",)
    VERSION_PACKAGES = ("tensorflow", "tensorflow-cpu")
    SYNC_METHOD = "read the last-updated variable back to the host (.numpy())"

    @classmethod
    def worker_env(cls, device: str) -> dict[str, str]:
        return super().worker_env(device) | {"TF_CPP_MIN_LOG_LEVEL": "2"}

    @classmethod
    def setup(cls, threads: int) -> dict[str, Any]:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        tf.config.experimental.enable_tensor_float_32_execution(False)
        return {
            "versions": {"tensorflow": tf.__version__},
            "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
            "matmul_precision": "float32",
            "tf32": bool(tf.config.experimental.tensor_float_32_execution_enabled()),
        }

    @classmethod
    def device_reason(cls, device: str) -> str | None:
        if device == "gpu" and not tf.config.list_physical_devices("GPU"):
            return f"tensorflow {tf.__version__} sees no GPU (tensorflow-cpu build or no CUDA device)"
        return None

    @classmethod
    def probe(cls, device: str, n: int) -> Probe:
        where = device_of(device)
        rng = np.random.default_rng(0)
        with tf.device(where):
            a, b = (tf.constant(rng.standard_normal((n, n), dtype=np.float32)) for _ in "ab")
            state = {"product": tf.matmul(a, b), "tiny": tf.zeros(1)}
        increment = tf.function(lambda x: x + 1)

        def run_matmul() -> None:
            with tf.device(where):
                state["product"] = tf.matmul(a, b)

        def run_dispatch() -> None:
            with tf.device(where):
                state["tiny"] = increment(state["tiny"])

        def sync() -> None:  # a read-back waits for the kernels before it; a 1x1 slice copies little
            state["product"][:1, :1].numpy()
            state["tiny"].numpy()

        return Probe(
            matmul=run_matmul,
            dispatch=run_dispatch,
            sync=sync,
            dispatch_kind="call of a tf.function x + 1 on a 1-element tensor",
        )

    @classmethod
    def to_device(cls, device: str, array: np.ndarray) -> Any:
        with tf.device(device_of(device)):
            return tf.constant(array)

    @classmethod
    def sync(cls, device: str, values: Sequence[Any]) -> None:
        # The last value is updated last; reading it back waits for every queued kernel.
        if values:
            values[-1].numpy()

    @classmethod
    def reset_memory_peak(cls, device: str) -> None:
        if device == "gpu":
            tf.config.experimental.reset_memory_stats("GPU:0")

    @classmethod
    def memory_peak_bytes(cls, device: str) -> int | None:
        return int(tf.config.experimental.get_memory_info("GPU:0")["peak"]) if device == "gpu" else None
