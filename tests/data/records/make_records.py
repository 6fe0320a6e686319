"""Writes the golden run records the report tests read, and larger synthetic sets for timing.

``python tests/data/records/make_records.py`` rewrites ``tests/data/records/runs/`` (deterministic:
same bytes every time). ``python tests/data/records/make_records.py --synthetic 1000 DIR`` writes
1,000 records under ``DIR/runs/`` for the report's build-time benchmark.

Values are realistic for a 2-core CPU: on mnist a step takes ~2.3 ms in torch, ~2.7 ms in jax,
~4 ms in tensorflow and ~7 ms in keras.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from harness.record.schema import Curves, RunRecord, Timings  # noqa: E402

HERE = Path(__file__).resolve().parent
SCRIPT_LABEL = "<script>alert(1)</script>"
BAD_LINE = '{"task": "mnist", "impl": "torch", "seed": 9, "status": "ok"'  # truncated JSON

MACHINES = {
    "ci-runner-3f9a1c2e": {
        "hostname": "ci-runner",
        "cpu_model": "AMD EPYC 7763 64-Core Processor",
        "cpu_cores_logical": 2,
        "cpu_cores_physical": 1,
        "memory_bytes": 8 * 2**30,
        "os": "Linux 6.5.0",
        "arch": "x86_64",
        "python": "3.11.2",
        "gpus": [],
        "fingerprint": "3f9a1c2e77d04b18",
        "machine_id": "ci-runner-3f9a1c2e",
    },
    "lab-ws-7b1d0e44": {
        "hostname": "lab-ws",
        "cpu_model": "Intel(R) Core(TM) i7-12700",
        "cpu_cores_logical": 20,
        "cpu_cores_physical": 12,
        "memory_bytes": 32 * 2**30,
        "os": "Linux 6.8.0",
        "arch": "x86_64",
        "python": "3.11.9",
        "gpus": [{"name": "NVIDIA GeForce RTX 3060", "driver": "550.54", "memory": "12288 MiB"}],
        "fingerprint": "7b1d0e44a9c3f215",
        "machine_id": "lab-ws-7b1d0e44",
    },
}
VERSIONS = {
    "python": "3.11.2",
    "harness": "0.1.0",
    "numpy": "2.1.3",
    "torch": "2.5.1",
    "tensorflow-cpu": "2.18.0",
    "keras": "3.6.0",
    "jax": "0.4.35",
    "jaxlib": "0.4.35",
    "optax": "0.2.4",
}
IMPLS = {  # impl: framework, backend, api, compile seconds, peak RSS MiB, accuracy offset
    "torch": ("torch", "", "low-level", 0.05, 610, 0.000),
    "jax": ("jax", "", "low-level", 0.60, 880, 0.001),
    "tensorflow": ("tensorflow", "", "low-level", 1.20, 1290, -0.001),
    "keras": ("keras", "tensorflow", "high-level", 1.80, 1520, -0.002),
    "keras-jax": ("keras", "jax", "high-level", 1.10, 1200, 0.000),
    "keras-torch": ("keras", "torch", "high-level", 0.40, 1100, -0.001),
    SCRIPT_LABEL: ("torch", "", "low-level", 0.05, 600, 0.000),
}
TASKS = {  # task: n_train, n_test, batch_size, epochs, target, hidden, final val accuracy
    "mnist": (50000, 10000, 128, 5, 0.97, [512, 256], 0.978),
    "digits": (1078, 360, 64, 8, 0.95, [256, 128], 0.972),
    "mnist1d": (3600, 1000, 100, 12, 0.6, [256, 256], 0.66),
    "iris": (90, 30, 16, 15, 0.9, [32, 32], 0.95),
}
STEP_MS = {  # per-step milliseconds on a 2-core CPU for mnist; other tasks scale by size
    "torch": 2.3,
    "jax": 2.7,
    "tensorflow": 4.0,
    "keras": 7.0,
    "keras-jax": 6.2,
    "keras-torch": 8.1,
    SCRIPT_LABEL: 2.5,
}
TASK_SCALE = {"mnist": 1.0, "digits": 0.15, "mnist1d": 0.12, "iris": 0.08}


@dataclass(frozen=True)
class Run:
    """What varies between the golden runs."""

    machine_id: str
    task: str
    impl: str
    device: str
    seed: int
    status: str = "ok"
    reason: str = ""
    mode: str = "default"


def _config(task: str, seed: int) -> dict:
    _, _, batch, epochs, target, hidden, _ = TASKS[task]
    return {
        "task": task,
        "n_features": {"mnist": 784, "digits": 64, "mnist1d": 40, "iris": 4}[task],
        "n_classes": 3 if task == "iris" else 10,
        "hidden": hidden,
        "activation": "relu",
        "init": "glorot_uniform",
        "loss": "cross_entropy",
        "optimizer": "adam",
        "learning_rate": 1e-3,
        "momentum": 0.0,
        "batch_size": batch,
        "epochs": epochs,
        "weight_decay": 0.0,
        "dropout": 0.0,
        "seed": seed,
        "split_seed": 0,
        "train_fraction": 1.0,
        "label_noise": 0.0,
        "dtype": "float32",
        "target_val_accuracy": target,
    }


def _curves(rng: np.random.Generator, run: Run, epochs: int) -> Curves:
    offset = IMPLS[run.impl][5]
    final_val = TASKS[run.task][6] + offset + rng.normal(0, 0.0015)
    t = np.arange(1, epochs + 1) / epochs
    val_acc = final_val - 0.035 * np.exp(-4 * t) + rng.normal(0, 0.001, epochs)
    train_acc = np.minimum(0.999, final_val + 0.02 * t - 0.04 * np.exp(-4 * t))
    val_loss = 0.07 - 2 * offset + 0.12 * np.exp(-4 * t) + 0.015 * t**2 + rng.normal(0, 0.001, epochs)
    train_loss = (0.02 + 0.2 * np.exp(-4 * t)) * (1 - 20 * offset) + rng.normal(0, 0.0005, epochs)
    return Curves(
        train_loss=[round(float(v), 5) for v in train_loss],
        train_accuracy=[round(float(v), 5) for v in train_acc],
        val_loss=[round(float(v), 5) for v in val_loss],
        val_accuracy=[round(float(v), 5) for v in val_acc],
    )


def _timings(rng: np.random.Generator, run: Run, history: Curves) -> Timings:
    n_train, n_test, batch, epochs, target, _, _ = TASKS[run.task]
    steps = math.ceil(n_train / batch)
    step_s = STEP_MS[run.impl] * TASK_SCALE[run.task] / 1000 * (0.35 if run.device == "gpu" else 1.0)
    epoch_s = [round(steps * step_s * float(rng.lognormal(0, 0.02)), 6) for _ in range(epochs - 1)]
    first = round(steps * step_s + IMPLS[run.impl][3] * float(rng.lognormal(0, 0.05)), 6)
    reached = [i for i, acc in enumerate(history.val_accuracy) if acc >= target]
    to_target = round(first + sum(epoch_s[: reached[0]]), 6) if reached else None
    return Timings(
        import_s=round(float(rng.uniform(0.5, 9.0)), 3),
        build_s=round(float(rng.uniform(0.05, 0.4)), 4),
        first_epoch_s=first,
        epoch_s=epoch_s,
        step_s=[round(step_s * 1.08 * float(rng.lognormal(0, 0.06)), 7) for _ in range(15)],
        eval_s=[round(n_test / batch * step_s * 0.3 * float(rng.lognormal(0, 0.03)), 6) for _ in range(3)],
        time_to_target_s=to_target,
        epochs_to_target=reached[0] + 1 if reached else None,
    )


def make_record(run: Run, rng: np.random.Generator) -> RunRecord:
    """One realistic record for ``run``; non-ok runs carry no timings or history."""
    framework, backend, api, _, rss_mib, _ = IMPLS[run.impl]
    n_train, n_test, batch, epochs, _, _, _ = TASKS[run.task]
    record = RunRecord(
        task=run.task,
        impl=run.impl,
        framework=framework,
        backend=backend,
        api=api,
        mode=run.mode,
        device=run.device,
        seed=run.seed,
        status=run.status,
        reason=run.reason,
        config=_config(run.task, run.seed),
        suite="smoke",
        machine=MACHINES[run.machine_id],
        versions=VERSIONS | {"python": MACHINES[run.machine_id]["python"]},
        execution={"threads": MACHINES[run.machine_id]["cpu_cores_logical"], "mode": run.mode},
        git_commit="20d22ba4c1e0f9a7b3d2e5f60718293a4b5c6d7e",
        run_id=f"{int(rng.integers(0, 2**63)):016x}",
        created_at=f"2025-03-0{1 + run.seed % 9}T10:{10 + run.seed % 50:02d}:00+00:00",
    )
    if run.status != "ok":
        return record
    record.curves = _curves(rng, run, epochs)
    record.timings = _timings(rng, run, record.curves)
    _schedule(record, run, epochs)
    record.n_train, record.n_test = n_train, n_test
    record.steps_per_epoch = math.ceil(n_train / batch)
    record.train_flops_per_sample = 1_868_800
    record.test_accuracy = round(record.curves.val_accuracy[-1] + float(rng.normal(0, 0.001)), 5)
    record.test_loss = round(record.curves.val_loss[-1] * 1.02, 5)
    record.peak_rss_bytes = int(rss_mib * 2**20 * float(rng.lognormal(0, 0.01)))
    if run.device == "gpu":
        record.device_peak_bytes = int(300 * 2**20)
    return record


INTERLEAVED = "lab-ws-7b1d0e44"  # its runs were interleaved per seed; the other machine's back to back


def _schedule(record: RunRecord, run: Run, epochs: int) -> None:
    """Rounds and start times of every epoch; one group per seed on the interleaved machine."""
    interleaved = run.machine_id == INTERLEAVED
    record.timings.epoch_rounds = list(range(epochs))
    start = 1_740_823_800.0 + 3600 * run.seed + (0.0 if interleaved else 60.0 * list(IMPLS).index(run.impl))
    record.timings.epoch_started_at = [
        round(start + 2.0 * e + (0.5 if run.impl == "jax" else 0.0), 3) for e in range(epochs)
    ]
    record.execution["schedule"] = "interleaved" if interleaved else "sequential"
    record.execution["group"] = f"golden-{run.machine_id}-{run.task}-{run.seed}"


def golden_runs() -> dict[str, list[Run]]:
    """File name -> runs: two machines, 3 seeds, one crashed and one unavailable run."""
    a, b = "ci-runner-3f9a1c2e", "lab-ws-7b1d0e44"
    first = [Run(a, "mnist", impl, "cpu", seed) for impl in ("torch", "jax") for seed in range(3)]
    second = [Run(a, "mnist", impl, "cpu", seed) for impl in ("tensorflow", "keras") for seed in range(3)]
    second += [
        Run(a, "mnist", "keras-torch", "cpu", 0, "crashed", "RuntimeError: worker exited with signal 9"),
        Run(a, "mnist", "keras-jax", "gpu", 0, "unavailable", "no NVIDIA driver on this machine"),
        Run(a, "mnist", SCRIPT_LABEL, "cpu", 0),
    ]
    other = [Run(b, "digits", impl, "cpu", seed) for impl in ("torch", "jax") for seed in range(2)]
    return {
        f"{a}/20250301T101000Z-20d22ba4c1e0-smoke.jsonl": first,
        f"{a}/20250302T101000Z-20d22ba4c1e0-smoke.jsonl": second,
        f"{b}/20250301T120000Z-20d22ba4c1e0-smoke.jsonl": other,
    }


def _line(record: RunRecord) -> str:
    return json.dumps(record.to_dict(), allow_nan=False, separators=(",", ":"))


def write_golden(root: Path = HERE) -> None:
    """Rewrite ``root/runs``: the golden files, with a truncated JSON line as line 3 of the first."""
    rng = np.random.default_rng(20250301)
    for name, runs in golden_runs().items():
        lines = [_line(make_record(run, rng)) for run in runs]
        if name.endswith("20250301T101000Z-20d22ba4c1e0-smoke.jsonl") and "ci-runner" in name:
            lines.insert(2, BAD_LINE)
        if "lab-ws" in name:
            record = json.loads(lines[0])
            record["extra"] = {"overfitting": {"best_epoch": 6, "gap": 0.021, "onset": 7}}
            lines[0] = json.dumps(record, separators=(",", ":"))
        path = root / "runs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_synthetic(root: Path, count: int) -> None:
    """``count`` ok records over 4 tasks, 6 implementations, cpu and gpu, as many seeds as needed."""
    rng = np.random.default_rng(0)
    impls = [name for name in IMPLS if name != SCRIPT_LABEL]
    combos = itertools.cycle(itertools.product(TASKS, impls, ("cpu", "gpu")))
    seeds: dict[tuple, int] = {}
    folder = root / "runs" / "ci-runner-3f9a1c2e"
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for _ in range(count):
        key = next(combos)
        seeds[key] = seeds.get(key, -1) + 1
        run = Run("ci-runner-3f9a1c2e", key[0], key[1], key[2], seeds[key])
        lines.append(_line(make_record(run, rng)))
    (folder / "20250301T000000Z-synthetic.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, help="write this many synthetic records instead")
    parser.add_argument("out", nargs="?", type=Path, default=HERE)
    args = parser.parse_args()
    if args.synthetic:
        write_synthetic(args.out, args.synthetic)
    else:
        write_golden(args.out)
