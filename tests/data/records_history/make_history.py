"""Writes the golden records of the report's History and regression-check tests.

``python tests/data/records_history/make_history.py`` rewrites ``runs/`` and ``baselines/`` beside it
(deterministic: same bytes every time), reusing ``tests/data/records/make_records.py``:

- machine ``ci-runner-3f9a1c2e``, task mnist, torch and jax on cpu, 3 seeds each, in two run files:
  commit ``1111111a...`` on 2025-03-01 and commit ``2222222b...`` on 2025-04-01, where every torch
  epoch is 30% slower (a built-in regression) and jax is unchanged;
- ``baselines/ci-runner-3f9a1c2e.jsonl``: the ok records of the first run file, as
  ``python -m harness baseline save`` writes them (sorted keys);
- machine ``lab-ws-7b1d0e44``: one run file (one commit) and no baseline.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "records"))

from make_records import Run, make_record  # noqa: E402

MACHINE_A, MACHINE_B = "ci-runner-3f9a1c2e", "lab-ws-7b1d0e44"
OLD_COMMIT = "1111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
NEW_COMMIT = "2222222bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
SLOWDOWN = {"torch": 1.3}  # impl -> factor on every steady epoch of the newer commit


def _records(machine_id: str, task: str, commit: str, day: str, slowdown: dict[str, float], rng) -> list:
    out = []
    for impl in ("torch", "jax"):
        for seed in range(3):
            record = make_record(Run(machine_id, task, impl, "cpu", seed), rng)
            record.git_commit = commit
            record.created_at = f"{day}T10:{10 + seed:02d}:00+00:00"
            factor = slowdown.get(impl, 1.0)
            record.timings.epoch_s = [round(e * factor, 6) for e in record.timings.epoch_s]
            out.append(record)
    return out


def golden() -> dict[str, list]:
    """Relative path -> records."""
    rng = np.random.default_rng(20250401)
    old = _records(MACHINE_A, "mnist", OLD_COMMIT, "2025-03-01", {}, rng)
    new = _records(MACHINE_A, "mnist", NEW_COMMIT, "2025-04-01", SLOWDOWN, rng)
    other = _records(MACHINE_B, "digits", OLD_COMMIT, "2025-03-02", {}, rng)
    return {
        f"runs/{MACHINE_A}/20250301T101000Z-1111111aaaaa-smoke.jsonl": old,
        f"runs/{MACHINE_A}/20250401T101000Z-2222222bbbbb-smoke.jsonl": new,
        f"runs/{MACHINE_B}/20250302T101000Z-1111111aaaaa-smoke.jsonl": other,
        f"baselines/{MACHINE_A}.jsonl": old,
    }


def write(root: Path = HERE) -> None:
    """Rewrite the golden files under ``root``."""
    for name, records in golden().items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sort = name.startswith("baselines/")
        lines = [json.dumps(r.to_dict(), sort_keys=sort, allow_nan=False) for r in records]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write()
