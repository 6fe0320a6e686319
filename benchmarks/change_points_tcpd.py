"""The History listing's change points (:mod:`harness.compare.changes`) on public series whose
change points people labelled: the Turing Change Point Dataset (van den Burg and Williams, 2020),
its univariate series with every value present, scored as its benchmark scores methods (F1 with a
margin of 5 points: precision against every annotator's points together, recall the mean over
annotators; the series' first point counts as a change point for every method and annotator).

    git clone https://github.com/alan-turing-institute/TCPD
    python benchmarks/change_points_tcpd.py --tcpd TCPD

Methods: ``harness`` (the listing as shipped, on log values, with its 5% floor; strictly positive
series only), ``harness, any scale`` (the same segmentation on values divided by their noise, no
floor: every series), the former listing (PELT with ruptures' l1 cost and the same penalty, when
ruptures is installed) and ``zero`` (no change point: the benchmark's floor). A drift reported as
a drift lists no change point.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.compare.changes import MIN_CHANGE, MIN_SIZE, PENALTY, noise_sigma, segments_of  # noqa: E402

MARGIN = 5


def matched(truth: set[int], found: set[int], margin: int = MARGIN) -> int:
    """How many of ``truth`` have a point of ``found`` within ``margin``, each used once."""
    left = set(found)
    hits = 0
    for tau in sorted(truth):
        near = sorted((abs(tau - x), x) for x in left if abs(tau - x) <= margin)
        if near:
            left.discard(near[0][1])
            hits += 1
    return hits


def scores(annotations: dict[str, list[int]], found: list[int]) -> tuple[float, float]:
    """Precision and recall as the TCPD benchmark defines them."""
    predicted = set(found) | {0}
    per_user = [set(points) | {0} for points in annotations.values()]
    union = set().union(*per_user)
    precision = matched(union, predicted) / len(predicted)
    recall = float(np.mean([matched(points, predicted) / len(points) for points in per_user]))
    return precision, recall


def f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _scaled(values: np.ndarray) -> np.ndarray:
    sigma = noise_sigma(values / (np.abs(values).max() or 1.0)) * (np.abs(values).max() or 1.0)
    return values / sigma if sigma > 0 else values


def method_harness(values: np.ndarray) -> list[int] | None:
    if not np.all(values > 0):
        return None
    return segments_of(np.log(values), math.log1p(MIN_CHANGE))[0]


def method_any_scale(values: np.ndarray) -> list[int]:
    return segments_of(_scaled(values), 0.0)[0]


def method_pelt(values: np.ndarray) -> list[int] | None:
    try:
        import ruptures
    except ImportError:
        return None
    x = _scaled(values)
    penalty = PENALTY * noise_sigma(x) * math.log(x.size)
    ends = ruptures.Pelt(model="l1", min_size=MIN_SIZE, jump=1).fit(x.reshape(-1, 1)).predict(pen=penalty)
    return [int(e) for e in ends[:-1]]


METHODS = {
    "harness (log values, 5% floor; positive series)": method_harness,
    "harness, any scale (no floor)": method_any_scale,
    "PELT l1 (ruptures), the former listing": method_pelt,
    "zero (no change point)": lambda values: [],
}


def load(tcpd: Path) -> list[tuple[str, np.ndarray, dict[str, list[int]]]]:
    annotations = json.loads((tcpd / "annotations.json").read_text())
    out = []
    for path in sorted((tcpd / "datasets").glob("*/*.json")):
        data = json.loads(path.read_text())
        name = data.get("name", path.stem)
        if data.get("n_dim") != 1 or name not in annotations:
            continue
        raw = data["series"][0]["raw"]
        if any(v is None for v in raw):
            continue
        out.append((name, np.asarray(raw, dtype=float), annotations[name]))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tcpd", type=Path, required=True, help="a checkout of alan-turing-institute/TCPD")
    parser.add_argument("--per-series", action="store_true")
    args = parser.parse_args()
    series = load(args.tcpd)
    print(f"{len(series)} univariate TCPD series with every value present")
    print("| method | series | precision | recall | F1 |\n|---|---|---|---|---|")
    for name, method in METHODS.items():
        rows = []
        for label, values, labelled in series:
            found = method(values)
            if found is None:
                continue
            precision, recall = scores(labelled, found)
            rows.append((precision, recall, f1(precision, recall)))
            if args.per_series:
                print(f"  {name[:12]} {label}: {found} P {precision:.2f} R {recall:.2f}")
        if rows:
            p, r, f = np.mean(rows, axis=0)
            print(f"| {name} | {len(rows)} | {p:.3f} | {r:.3f} | {f:.3f} |")
        else:
            print(f"| {name} | 0 | - | - | - (not installed) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
