"""Writes the golden records of a small overfitting study (suite ``overfitting``) for the report tests.

``python tests/data/records_overfitting/make_records.py`` rewrites ``runs/`` here (deterministic).
Two implementations x two seeds x four specs of mnist1d: the reference (a quarter of the training
set), training-set fractions 0.05 and 1.0, and dropout 0.5 on the reference. The curves are
synthetic with known gaps (:data:`GAPS`); torch is made to overfit more at fraction 0.05 so the
report must flag that the frameworks disagree there. The committed files are schema version 1
(written before the overfitting analysis moved from ``extra["overfitting"]`` to reading): the
report tests read them through the version-1 migration, as a user's old results folder is read.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from harness.record.schema import Curves, RunRecord, Timings  # noqa: E402
from tasks.mlp.common import make_spec  # noqa: E402

HERE = Path(__file__).resolve().parent
MACHINE = {"machine_id": "study-box-0a1b2c3d", "hostname": "study-box", "cpu_model": "Test CPU"}
EPOCHS = 20
SPECS = {  # name -> spec overrides
    "reference": {"train_fraction": 0.25},
    "small": {"train_fraction": 0.05},
    "full": {"train_fraction": 1.0},
    "dropout": {"train_fraction": 0.25, "dropout": 0.5},
}
GAPS = {"reference": 0.50, "small": 0.70, "full": 0.30, "dropout": 0.35}  # final train - val accuracy
TORCH_EXTRA_GAP = {"small": 0.10}  # torch disagrees here, by far more than the seed spread
SEED_JITTER = (-0.01, 0.01)  # seed 0 and seed 1 gaps differ by 2 pp
IMPLS = ("jax", "torch")


def _history(name: str, impl: str, seed: int) -> Curves:
    epochs = np.arange(1, EPOCHS + 1)
    gap = GAPS[name] + TORCH_EXTRA_GAP.get(name, 0.0) * (impl == "torch") + SEED_JITTER[seed]
    val_final = 0.45
    train_acc = val_final + gap * (1 - np.exp(-epochs / 3)) / (1 - np.exp(-EPOCHS / 3))
    val_acc = np.full(EPOCHS, val_final) - 0.1 * np.exp(-epochs / 3)
    train_loss = 2.0 * np.exp(-epochs / 4)
    rising = 1.5 * (1 + 0.04 * np.abs(epochs - 8))  # minimum at epoch 8, then 4% more per epoch
    falling = 1.5 + 0.5 * np.exp(-epochs / 6)  # still improving at the end: no onset
    val_loss = falling if name == "dropout" else rising
    history = Curves(
        train_loss=train_loss.round(5).tolist(),
        train_accuracy=train_acc.round(5).tolist(),
        val_loss=val_loss.round(5).tolist(),
        val_accuracy=val_acc.round(5).tolist(),
    )
    history.test_accuracy = (val_acc - 0.01).round(5).tolist()
    return history


def make_record(name: str, impl: str, seed: int, index: int) -> RunRecord:
    """One ok run of spec ``name`` with its analysis in ``extra``; ids and dates are fixed."""
    history = _history(name, impl, seed)
    return RunRecord(
        task="mnist1d",
        impl=impl,
        framework=impl,
        device="cpu",
        seed=seed,
        api="low-level",
        suite="overfitting",
        config=make_spec("mnist1d", epochs=EPOCHS, seed=seed, **SPECS[name]).to_dict(),
        machine=MACHINE,
        git_commit="0123456789abcdef0123456789abcdef01234567",
        timings=Timings(import_s=0.5, build_s=0.1, first_epoch_s=0.2, epoch_s=[0.05] * (EPOCHS - 1)),
        curves=history,
        n_train=875,
        n_test=1000,
        steps_per_epoch=9,
        test_accuracy=history.test_accuracy[-1],
        test_loss=1.9,
        run_id=f"{index:016x}",
        created_at=f"2025-04-01T10:{index:02d}:00+00:00",
    )


def write_golden(root: Path = HERE) -> Path:
    """Write every golden record to one JSONL file under ``root/runs/<machine>/``; return it."""
    out = root / "runs" / MACHINE["machine_id"] / "20250401T100000Z-0123456789ab-overfitting.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    records = [
        make_record(name, impl, seed, i)
        for i, (name, impl, seed) in enumerate((n, m, s) for n in SPECS for m in IMPLS for s in (0, 1))
    ]
    out.write_text("".join(json.dumps(r.to_dict(), sort_keys=True) + "\n" for r in records))
    return out


if __name__ == "__main__":
    print(write_golden())
