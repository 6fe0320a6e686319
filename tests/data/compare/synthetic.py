"""Synthetic run records with realistic noise, for the compare tests and the golden files here.

Steady-state epoch seconds are lognormal: a per-run factor (run-to-run spread: CPU frequency,
thread placement) times a per-epoch factor (5% spread). Test accuracy is a
per-seed effect shared by both sides (same initial weights and batch order) plus normal noise.
``python tests/data/compare/synthetic.py`` rewrites the golden ``*.jsonl`` files beside it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.record.schema import RunRecord, Timings

HERE = Path(__file__).resolve().parent
MACHINE = {
    "machine_id": "ci-runner-0a1b2c3d",
    "fingerprint": "0a1b2c3d4e5f6071",
    "cpu_model": "Synthetic CPU 2c",
}
OTHER_MACHINE = {
    "machine_id": "laptop-99887766",
    "fingerprint": "9988776655443322",
    "cpu_model": "Other CPU 8c",
}
STEPS_PER_EPOCH, N_TRAIN = 23, 1437


@dataclass(frozen=True)
class Profile:
    """The true distribution one side is drawn from."""

    step_s: float = 2e-3
    epoch_spread: float = 0.05
    run_spread: float = 0.02
    accuracy: float = 0.95
    seed_accuracy_sd: float = 0.005  # the seed's initial weights and batch order: same on both sides
    accuracy_sd: float = 0.002  # the rest (thread scheduling, float reassociation)
    first_epoch_s: float = 0.5
    peak_rss_bytes: float = 400 * 2**20


def spec(task: str = "digits", seed: int = 0, epochs: int = 10) -> dict:
    """A spec dict as the runner stores it (``seed`` included)."""
    return {"task": task, "hidden": [256, 128], "optimizer": "adam", "learning_rate": 0.001,
            "batch_size": 64, "epochs": epochs, "seed": seed, "split_seed": 0}  # fmt: skip


def _accuracy(rng: np.random.Generator, profile: Profile, seed: int) -> float:
    seed_effect = np.random.default_rng(1000 + seed).normal(0.0, profile.seed_accuracy_sd)
    return float(profile.accuracy + seed_effect + rng.normal(0.0, profile.accuracy_sd))


def record(rng: np.random.Generator, profile: Profile, seed: int, impl: str = "torch", **fields) -> RunRecord:
    """One ok run of ``profile``: 9 steady-state epochs, one seed."""
    run_factor = rng.lognormal(0.0, profile.run_spread)
    epoch_s = profile.step_s * STEPS_PER_EPOCH * run_factor * rng.lognormal(0.0, profile.epoch_spread, 9)
    timings = Timings(
        first_epoch_s=float(profile.first_epoch_s * rng.lognormal(0.0, 0.1)),
        epoch_s=[float(e) for e in epoch_s],
        step_s=[float(e / STEPS_PER_EPOCH) for e in epoch_s],
    )
    base = dict(
        task="digits", impl=impl, framework=impl, device="cpu", seed=seed, config=spec(seed=seed),
        machine=dict(MACHINE), git_commit="c0ffee", timings=timings, steps_per_epoch=STEPS_PER_EPOCH,
        n_train=N_TRAIN, test_accuracy=_accuracy(rng, profile, seed),
        peak_rss_bytes=int(profile.peak_rss_bytes * rng.lognormal(0.0, 0.01)),
        created_at="2025-01-01T00:00:00+00:00",
    )  # fmt: skip
    base.update(fields)
    return RunRecord(**base)


def side(rng: np.random.Generator, profile: Profile = Profile(), seeds=(0, 1, 2), impl="torch", **fields):
    """One record per seed."""
    return [record(rng, profile, s, impl, **fields) for s in seeds]


IMPLS = ("torch", "jax", "keras", "tensorflow", "flax", "numpy", "lightning", "keras-jax")


def suite(rng, changed=None, profile=None, seeds=(0, 1, 2), impls=IMPLS, tasks=("digits",)):
    """One side of a small suite: a pair per implementation (and task); ``changed`` ({impl:
    Profile}) draws those pairs from another distribution."""
    profile = profile or Profile()
    return [
        r
        for task in tasks
        for impl in impls
        for r in side(rng, (changed or {}).get(impl, profile), seeds, impl, task=task, config=spec(task))
    ]


def write(path: Path, records: list[RunRecord]) -> None:
    """Records as JSON Lines."""
    path.write_text("".join(json.dumps(r.to_dict(), sort_keys=True) + "\n" for r in records))


def golden() -> dict[str, list[RunRecord]]:
    """The golden files: a baseline, and currents that are the same, slower, less accurate..."""
    rng = np.random.default_rng(20250101)
    slow, drop = Profile(step_s=2e-3 * 1.3), Profile(accuracy=0.90)
    later = {"git_commit": "deadbeef", "created_at": "2025-01-02T00:00:00+00:00"}
    six = {"seeds": tuple(range(6))}  # enough runs for "ok" to rule out a 10% limit
    return {
        "baseline": side(rng, **six) + side(rng, impl="jax", **six),
        "current_same": side(rng, **six, **later) + side(rng, impl="jax", **six, **later),
        "current_slower": side(rng, slow, **later) + side(rng, impl="jax", **later),
        "current_accuracy_drop": side(rng, **later) + side(rng, drop, impl="jax", **later),
        "current_other_machine": side(rng, machine=dict(OTHER_MACHINE), **six, **later),
        "current_other_task": side(rng, task="iris", config=spec("iris"), **later),
    }


if __name__ == "__main__":
    for name, records in golden().items():
        write(HERE / f"{name}.jsonl", records)
