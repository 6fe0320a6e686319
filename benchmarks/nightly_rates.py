"""How often the nightly check (``harness history --check``) catches a slowdown, and how often it
fails a quiet history: simulated 40-night histories of the default suite's series.

    python benchmarks/nightly_rates.py [--histories 200] [--nights 40] [--records DIR]

A history has one step-time series per pair of the default bench's records (``--records``,
default ``tests/data/records_default``: its pairs and their levels), each night's point its level
times a night-wide factor (3% noise: the machine's speed that night, common to every series) times
its own 1% noise. The slowdown: every torch series 15% slower over the last ``k`` nights. A history
is caught when some torch series fails, and a false alarm when a quiet history has any series that
fails. The bars (issue 29): caught on the third slow night in at least 95% of histories and on
every night after it in at least 99%; false alarms in at most 1%.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.compare.nightly import judge  # noqa: E402
from harness.record.derived import step_time_s  # noqa: E402
from harness.record.keys import pair_key  # noqa: E402
from harness.store.runs import load  # noqa: E402

COMMON, OWN, STEP = 0.03, 0.01, 0.15
COMMITS = [f"{i:040x}" for i in range(1000)]


def series_levels(records_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """Each pair's step time in ``records_dir`` and whether it is a torch pair."""
    levels: dict = {}
    for record in load(records_dir)[0]:
        if record.status == "ok" and not record.execution.get("twin"):
            levels.setdefault(pair_key(record), step_time_s(record))
    keys = sorted(levels)
    return np.array([levels[k] for k in keys]), np.array([k.impl == "torch" for k in keys])


def history(
    rng: np.random.Generator, levels: np.ndarray, torch: np.ndarray, nights: int, slow: int
) -> np.ndarray:
    """One simulated history: series x nights."""
    common = 1 + rng.normal(0, COMMON, nights)
    values = levels[:, None] * common[None, :] * (1 + rng.normal(0, OWN, (levels.size, nights)))
    if slow:
        values[torch, -slow:] *= 1 + STEP
    return values


def caught(values: np.ndarray, rows: np.ndarray) -> bool:
    """Whether any of ``rows``' series fails the nightly check."""
    nights = values.shape[1]
    return any(judge(values[i], COMMITS[:nights]).failing for i in np.flatnonzero(rows))


def rates(histories: int, nights: int, records: Path, seed: int = 0, slow_nights=(3, 4, 5, 6, 8)) -> dict:
    """The share of caught histories per slow nights (0: the false-alarm rate of quiet ones)."""
    rng = np.random.default_rng(seed)
    levels, torch = series_levels(records)
    out = {
        0: np.mean(
            [caught(history(rng, levels, torch, nights, 0), np.ones_like(torch)) for _ in range(histories)]
        )
    }
    for k in slow_nights:
        out[k] = np.mean([caught(history(rng, levels, torch, nights, k), torch) for _ in range(histories)])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--histories", type=int, default=200)
    parser.add_argument("--nights", type=int, default=40)
    parser.add_argument(
        "--records", type=Path, default=Path(__file__).parents[1] / "tests" / "data" / "records_default"
    )
    args = parser.parse_args(argv)
    found = rates(args.histories, args.nights, args.records)
    noise = f"{COMMON:.0%} night-wide noise, {OWN:.0%} per series"
    print(f"{args.histories} histories of {args.nights} nights ({noise}):")
    print(f"  false alarms (quiet histories): {found[0]:.1%}")
    for k, share in found.items():
        if k:
            print(f"  caught with {k} slow nights: {share:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
