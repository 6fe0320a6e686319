"""How well the step model (``harness/plan/step_model.py``, what ``harness predict`` prints) predicts
networks it was not fitted to, and how far apart two runs of the same network read.

    python benchmarks/step_model_heldout.py --results DIR [--run [--seeds 3] [--grid]] [--again DIR2]
        [--m-half 128] [--search]

``--run`` first runs :data:`POINTS` into ``DIR`` (every implementation, seed 0, a few epochs each:
the four tasks' own networks, the lab's single-layer network on iris and mnist1d, and the two
networks issue 28 holds out, MNIST 784-1024-1024-10 at batch 256 and digits 64-64-10 at batch 16;
about 5 minutes on 2 cores). It then fits the model to every network but the held-out ones, once
on the four tasks' networks alone (what the default bench gives it) and once with the
single-layer ones, and prints per implementation each held-out network's measured step, the
prediction with its interval and the error. ``--again DIR2``: a second run set of the same suite,
made after the first; per network, the step of the second over the first, the spread that an
error must be read against.

Read 2026-12-03 (AMD EPYC, 2 cores, calibrated torch 190, jax 190, numpy 202, tensorflow 212
GFLOP/s; docs/measured.md has the tables): fitted to the four tasks, the model over-predicts
MNIST 1024-1024 at batch 256 by 5-46% and digits 64 at batch 16 by 31-289%; adding the two
single-layer networks does not bring either within 20% for every implementation. The two causes,
read from the raw steps: the FLOP rate grows with the matrices (training FLOPs over the step:
MNIST's own network 42-120 GFLOP/s, the wide one 82-151, 1.2-2.0x by implementation, more than a
fixed cost per step explains), and on the tiny networks the per-step cost is not one number (iris'
six steps an epoch cost jax 0.41 ms a step, digits 64's sixty-eight 0.11 ms).

Then a candidate (:func:`candidate`): a per-epoch cost spread over the epoch's steps, a fixed cost
per step, and the step's matrix products timed at the run's calibrated matmul rate, each slowed
by its smallest dimension ``m`` to ``m / (m + m_half)``: on the same two run sets every
implementation within 20% on the wide MNIST network (-20% to +20%) and within 33% on digits 64
(-33% to +21%), at ``m_half`` 256. Not yet a model to ship: 256 was chosen on these held-out
networks (the fitted networks alone keep improving up to 1024, where the wide network's error is
28-31%), and it is not the products' own efficiency (timed alone, numpy's products at MNIST's
shapes reach 0.73-0.90 of the 2048-square rate, where the curve says 0.33-0.50): it also carries
the memory-bound work (the optimizer's update, the activations), which wants a term of its own.
With ``--run --seeds 3`` (each network's point the median of three interleaved runs, 9 min): at
``m_half`` 128 (the default) the wide network within 11% for every implementation, digits 64
within 20% for six of nine (jax and Keras on JAX +31%, TensorFlow +23%); the line of today misses
them by up to 36% and 156%.

The last table says whether the fitted networks alone could have chosen ``m_half``: each of them
left out in turn, the candidate fitted to the rest and the one left out predicted. On the three-seed
points no value does (left out, worst 82-99% at every ``m_half``, always a network without a hidden
layer), so the candidate is not yet a model to ship. With ``--run --grid --seeds 3`` (432 runs, 22
min; width and batch varied at a fixed depth, and one hidden layer at batch 16) the left-out median
and mean choose ``m_half`` 128, and the candidate there is within 25% on both held-out networks for
every implementation, 13 of 18 within 20% (docs/measured.md).
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from harness.cli.main import main as harness  # noqa: E402
from harness.plan import step_model  # noqa: E402
from harness.plan.costs import record_flops_per_step  # noqa: E402
from harness.record import derived  # noqa: E402
from harness.record.schema import RunRecord  # noqa: E402
from harness.store.runs import load  # noqa: E402

HEADER = """description = "the step model's points: the four tasks' networks, single-layer ones, two held out"
step_samples = 20
eval_repeats = 1
twin = ""
timeout_s = 900
"""
# (task, spec): the four tasks' own networks, the lab's single-layer ones, the two held out
POINTS = [
    ("iris", {"epochs": 6}),
    ("digits", {"epochs": 4}),
    ("mnist1d", {"epochs": 4}),
    ("mnist", {"epochs": 3, "train_fraction": 0.3}),
    ("iris", {"epochs": 6, "hidden": []}),
    ("mnist1d", {"epochs": 4, "hidden": []}),
    ("mnist", {"epochs": 3, "train_fraction": 0.2, "hidden": [1024, 1024], "batch_size": 256}),
    ("digits", {"epochs": 4, "hidden": [64], "batch_size": 16}),
]
# --grid: width and batch on mnist1d at two hidden layers, and at one (batch 16 and 64)
GRID = [
    ("mnist1d", {"epochs": 4, "hidden": hidden, "batch_size": batch})
    for hidden, batch in [
        ([64, 64], 16), ([64, 64], 128), ([256, 256], 16), ([1024, 1024], 16), ([1024, 1024], 128),
        ([64], 64), ([64], 16), ([256], 16),
    ]
]  # fmt: skip


def suite_text(points: list[tuple[str, dict]], seeds: int) -> str:
    """The suite file of ``points``, every implementation, ``seeds`` seeds interleaved."""
    text = HEADER + f"seeds = {list(range(seeds))}\n"
    for task, spec in points:
        fields = ", ".join(f"{k} = {v}" for k, v in spec.items())
        text += f'[[runs]]\ntasks = ["{task}"]\nimpls = ["*"]\nspec = {{ {fields} }}\n'
    return text


DEFAULT_HIDDEN = {"iris": (32, 32), "digits": (256, 128), "mnist1d": (256, 256), "mnist": (512, 256)}
DEFAULT_BATCH = {"iris": 16, "digits": 64, "mnist1d": 100, "mnist": 128}
HELD_OUT = {("mnist", (1024, 1024), 256), ("digits", (64,), 16)}


def network(record: RunRecord) -> tuple[str, tuple[int, ...], int]:
    return record.task, tuple(record.config["hidden"]), int(record.config["batch_size"])


def label(net: tuple[str, tuple[int, ...], int]) -> str:
    task, hidden, batch = net
    return f"{task} {'-'.join(map(str, hidden)) or 'no hidden layer'} b{batch}"


def by_network(records: list[RunRecord]) -> dict[tuple, list[RunRecord]]:
    """The ok runs with a step time, per implementation and network (several: its seeds)."""
    out: dict[tuple, list[RunRecord]] = {}
    for record in records:
        if record.status == "ok" and math.isfinite(derived.step_time_s(record)):
            out.setdefault((record.impl, network(record)), []).append(record)
    return out


def median_step_s(runs: list[RunRecord]) -> float:
    """A network's measured step: the median of its seeds' (one run alone is too noisy a point)."""
    return float(np.median([derived.step_time_s(r) for r in runs]))


def print_worst(errors: dict[tuple, float]) -> None:
    """Per held-out network, the largest error of any implementation."""
    for net in sorted({net for _, net in errors}):
        print(f"  worst on {label(net)}: {max(abs(e) for (_, n), e in errors.items() if n == net):.0%}")


def report(records: list[RunRecord], fitted_on: str, keep) -> None:  # noqa: ANN001
    """Fit to the records ``keep`` accepts (none held out), predict each held-out network; what was
    measured is the median of its seeds' step times."""
    fits = step_model.fit([r for r in records if keep(network(r))])
    print(f"\nfitted to {fitted_on}:")
    found: dict[tuple, float] = {}
    for (impl, net), runs in sorted(by_network(records).items()):
        if net not in HELD_OUT:
            continue
        fit, measured = fits.get((impl, runs[0].mode, runs[0].device)), median_step_s(runs)
        if fit is None or not fit.fitted:
            print(f"  {impl:<12} {label(net):<28} cannot fit")
            continue
        flops = record_flops_per_step(runs[0])
        predicted, (low, high) = fit.step_s(flops), fit.interval(flops)
        error = found[(impl, net)] = predicted / measured - 1
        print(
            f"  {impl:<12} {label(net):<28} measured {measured * 1e3:8.3f} ms  "
            f"predicted {predicted * 1e3:8.3f} [{low * 1e3:.3f}, {high * 1e3:.3f}]  {error:+.0%}"
        )
    print_worst(found)


def gemm_s(record: RunRecord, m_half: float) -> float:
    """The seconds a step's matrix products would take at the engine's calibrated matmul rate, each
    slowed by its smallest dimension ``m`` to ``m / (m + m_half)`` of it (small products run far below
    the 2048-square rate): forward, weight gradient and input gradient of every layer."""
    cfg = record.config
    sizes = [cfg["n_features"], *cfg["hidden"], cfg["n_classes"]]
    batch, rate = cfg["batch_size"], record.calibration["engine_matmul_flops_per_s"]
    total = 0.0
    for fan_in, fan_out in zip(sizes, sizes[1:], strict=False):
        for dims in ((batch, fan_in, fan_out), (fan_in, batch, fan_out), (batch, fan_out, fan_in)):
            m = min(dims)
            total += 2.0 * math.prod(dims) / (rate * m / (m + m_half))
    return total


Row = tuple[tuple, list[float], float]  # a network, its terms, its measured step

TERMS = {
    "E": "per epoch",
    "1": "fixed",
    "L": "per layer",
    "G": "products",
    "P": "per parameter",
    "A": "per activation",
}


def terms(record: RunRecord, names: str, m_half: float) -> list[float]:
    """The step-time terms ``names`` (keys of :data:`TERMS`) of ``record``'s network."""
    cfg = record.config
    sizes = [cfg["n_features"], *cfg["hidden"], cfg["n_classes"]]
    found = {
        "E": 1.0 / record.steps_per_epoch,
        "1": 1.0,
        "L": float(len(sizes) - 1),
        "G": gemm_s(record, m_half) if "G" in names else 0.0,
        "P": float(sum(a * b + b for a, b in zip(sizes, sizes[1:], strict=False))),
        "A": float(cfg["batch_size"] * sum(sizes[1:])),
    }
    return [found[n] for n in names]


def rows(records: list[RunRecord], names: str, m_half: float) -> dict[str, list[Row]]:
    """Per implementation, each network's terms ``names`` and its measured step (the median of its
    seeds), from the records with a calibration (the products' term needs its rate)."""
    out: dict[str, list[Row]] = {}
    for (impl, net), runs in sorted(by_network([r for r in records if r.calibration]).items()):
        out.setdefault(impl, []).append((net, terms(runs[0], names, m_half), median_step_s(runs)))
    return out


def candidate_fit(rows: list[Row]) -> np.ndarray:
    """The candidate's coefficients through ``rows``, on relative error, none below zero."""
    from scipy.optimize import nnls

    design = np.array([x for _, x, _ in rows]) / np.array([y for _, _, y in rows])[:, None]
    coef, _ = nnls(design, np.ones(len(rows)))
    return coef


def errors(rows_: list[Row], coef: np.ndarray) -> dict[tuple, float]:
    """Each row's relative error at ``coef``, by network."""
    return {net: float(np.dot(x, coef)) / y - 1 for net, x, y in rows_}


def left_out(train: list[Row]) -> list[tuple[float, tuple]]:
    """Each row of ``train`` left out in turn, the model fitted to the others: its absolute
    relative error, and its network."""
    out = []
    for i, row in enumerate(train):
        (error,) = errors([row], candidate_fit(train[:i] + train[i + 1 :])).values()
        out.append((abs(error), row[0]))
    return out


def split(rows_: list[Row]) -> tuple[list[Row], list[Row]]:
    """The fitted rows and the held-out ones."""
    return [r for r in rows_ if r[0] not in HELD_OUT], [r for r in rows_ if r[0] in HELD_OUT]


def candidate(records: list[RunRecord], m_half: float) -> None:
    """The candidate model, per implementation: ``step = epoch_s / steps + fixed + k * gemm_s``
    (a per-epoch cost spread over the epoch's steps, a fixed cost per step, the products' time at
    the calibrated rate scaled by ``k``), fitted on relative error, no term below zero, to every
    network but the held-out ones (the single-layer ones included)."""
    what = "epoch cost / steps + fixed + k x products at the calibrated rate"
    print(f"\ncandidate: {what} (m_half {m_half:g}):")
    found: dict[tuple, float] = {}
    for impl, mine in rows(records, "E1G", m_half).items():
        train, held = split(mine)
        if len(train) < 3:
            print(f"  {impl:<12} cannot fit (no calibration in its records: run without --no-calibrate)")
            continue
        for net, error in errors(held, candidate_fit(train)).items():
            found[(impl, net)] = error
            print(f"  {impl:<12} {label(net):<28} {error:+.0%}")
    print_worst(found)


M_HALVES = (16, 32, 64, 128, 256, 512, 1024, 2048)


def cross_validate(records: list[RunRecord]) -> None:
    """Whether the fitted networks alone can choose ``m_half``: per value, each fitted network left
    out in turn, the candidate fitted to the others and the one left out predicted (every
    implementation); beside it the held-out networks' worst error, which must not choose it."""
    print("\ncandidate, m_half chosen without the held-out networks: each fitted network left out in turn")
    for m_half in M_HALVES:
        out, held = [], []
        for mine in rows(records, "E1G", m_half).values():
            train, held_rows = split(mine)
            if len(train) < 4:
                continue
            out += left_out(train)
            held += [abs(e) for e in errors(held_rows, candidate_fit(train)).values()]
        if out:
            found = [e for e, _ in out]
            worst, where = max(out)
            print(
                f"  m_half {m_half:>5}: left out, median {np.median(found):.0%}, "
                f"mean {np.mean(found):.0%}, worst {worst:.0%} ({label(where)})  |  "
                f"held out, worst {max(held, default=math.nan):.0%}"
            )


def search(records: list[RunRecord]) -> None:
    """Every model of two to four terms (and ``m_half`` where it has the products), ranked by its
    error on each fitted network left out in turn (the 90th percentile over networks and
    implementations): what the fitted networks alone choose; then the held-out networks' worst
    error beside it, and the chosen model's held-out errors per implementation."""
    ranked = []
    for k in (2, 3, 4):
        for names in map("".join, itertools.combinations(TERMS, k)):
            for m_half in M_HALVES[2:6] if "G" in names else (0,):
                out, held, per_impl = [], [], {}
                for impl, mine in rows(records, names, m_half).items():
                    train, held_rows = split(mine)
                    if len(train) <= k:
                        continue
                    out += [e for e, _ in left_out(train)]
                    per_impl[impl] = errors(held_rows, candidate_fit(train))
                    held += [abs(e) for e in per_impl[impl].values()]
                if out:
                    p90, med = float(np.quantile(out, 0.9)), float(np.median(out))
                    ranked.append((p90, med, names, m_half, max(held, default=math.nan), per_impl))
    ranked.sort(key=lambda r: r[:2])
    print("\nmodels ranked by their left-out error (each fitted network left out in turn), held-out beside:")
    for p90, med, names, m_half, held, _ in ranked[:8]:
        form = " + ".join(TERMS[n] for n in names) + (f" (m_half {m_half})" if m_half else "")
        print(f"  {form:<62} left out: 90th pct {p90:.0%}, median {med:.0%}  |  held out, worst {held:.0%}")
    if ranked:
        *_, per_impl = ranked[0]
        print("the first one's held-out errors:")
        for impl, found in per_impl.items():
            print(f"  {impl:<12} " + "  ".join(f"{label(net)} {e:+.0%}" for net, e in sorted(found.items())))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, required=True)
    parser.add_argument("--run", action="store_true", help="run the suite into --results first")
    parser.add_argument("--again", type=Path, help="a second run set of the same suite")
    parser.add_argument("--m-half", type=float, default=128.0, help="the candidate model's m_half (128)")
    parser.add_argument("--seeds", type=int, default=1, help="with --run: seeds per network, interleaved (1)")
    parser.add_argument("--grid", action="store_true", help="with --run: the width x batch grid too (GRID)")
    parser.add_argument("--search", action="store_true", help="rank model forms by left-out error")
    args = parser.parse_args(argv)
    if not (math.isfinite(args.m_half) and args.m_half > 0):
        parser.error(f"--m-half {args.m_half:g}: must be a number of elements > 0, e.g. 128")
    if args.seeds < 1:
        parser.error(f"--seeds {args.seeds}: must be 1 or more")
    if not args.run and (args.grid or args.seeds != 1):
        parser.error("--grid and --seeds shape the suite --run runs: give --run with them")
    if args.again is not None and not (args.again / "runs").is_dir():
        parser.error(f"--again {args.again}: no run records there (a results folder of the same suite)")
    if args.run:
        args.results.mkdir(parents=True, exist_ok=True)
        suite = args.results / "step_model_points.toml"
        suite.write_text(suite_text(POINTS + (GRID if args.grid else []), args.seeds))
        if harness(["run", "--suite", str(suite), "--results", str(args.results)]) != 0:
            return 1
    if not (args.results / "runs").is_dir():
        print(f"no run records in {args.results}: run with --run", file=sys.stderr)
        return 2
    records, _ = load(args.results)
    if not records:
        print(f"no records in {args.results}: run with --run", file=sys.stderr)
        return 2
    report(
        records,
        "the four tasks' own networks",
        lambda net: (net[1], net[2]) == (DEFAULT_HIDDEN[net[0]], DEFAULT_BATCH[net[0]]),
    )
    report(records, "those and the single-layer ones", lambda net: net not in HELD_OUT)
    candidate(records, args.m_half)
    cross_validate(records)
    if args.search:
        search(records)
    if args.again:
        again, _ = load(args.again)
        first = {(r.impl, network(r)): derived.step_time_s(r) for r in records if r.status == "ok"}
        print(f"\nrun to run, {args.again} over {args.results}: the second's step over the first's")
        ratios: dict[str, list[float]] = {}
        for record in again:
            before = first.get((record.impl, network(record)))
            if record.status == "ok" and before:
                ratios.setdefault(label(network(record)), []).append(derived.step_time_s(record) / before)
        for name, values in sorted(ratios.items()):
            print(f"  {name:<28} median {np.median(values):.2f}  range {min(values):.2f}-{max(values):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
