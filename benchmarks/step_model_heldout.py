"""How well the step model (``harness/plan/step_model.py``, what ``harness predict`` prints) predicts
networks it was not fitted to, and how far apart two runs of the same network read.

    python benchmarks/step_model_heldout.py --results DIR [--run [--seeds 3] [--grid]] [--again DIR2]
        [--search]

``--run --check --seeds 3 --results DIR2`` then ``--bench DIR --results DIR2``: the check as a user
meets it. ``DIR`` is a default bench's results folder (``python -m harness run --results DIR``); the
model is fitted to it, and :data:`CHECK` (the two held-out networks and two of the bench's own,
three seeds interleaved, about 7 minutes) is measured after it: the held-out networks' error, and
the bench's own networks measured again, what the same network reads in two run sets (the check's
A/A) and the model's error on them.

``--run`` first runs :data:`POINTS` into ``DIR`` (every implementation, a few epochs each: the
default bench's eight networks, the four tasks' own and the four "cost points" of
``tasks/suites/costs.toml``; the lab's single-layer networks on iris and mnist1d; and the two
networks issue 28 holds out, MNIST 784-1024-1024-10 at batch 256 and digits 64-64-10 at batch 16;
``--seeds N`` seeds each, interleaved, about 4 minutes a seed on 2 cores). ``--grid`` adds
:data:`GRID` (width and batch on mnist1d, one hidden layer at batch 16 and 64).

It fits the model to the default bench's eight networks, then to every network but the held-out
ones, and prints per implementation each held-out network's measured step (the median of its
seeds'), the prediction with its interval and the error. Then, per ``m_half``, each fitted network
left out in turn (:func:`harness.plan.step_model.left_out_errors`): whether the fitted networks
alone choose ``m_half``. ``--search`` ranks other model forms (per layer, per parameter, per
activation terms) the same way. ``--again DIR2``: a second run set of the same suite, made after
the first; per network, the step of the second over the first, the spread an error must be read
against.

Read 2026-12-03 (AMD EPYC, 2 cores, calibrated torch 194, jax 197, numpy 200, tensorflow 209
GFLOP/s; docs/measured.md has the tables), with ``--bench`` after a fresh default bench (commit
7ab8c95): 15 of 18 held-out predictions within 20%, 16 within 25%, worst Keras +38% and
TensorFlow +34% on the wide MNIST network; the bench's own networks measured again read 0.74-1.74
of the bench's, and the model missed them by up to 36%. On the run set of ``--run --grid --seeds
3`` (432 runs, before the cost points were chosen from it), each network left out in turn, the
median error is flat from ``m_half`` 32 to 256 (18.3-18.9%) and grows beyond. Read 2026-12-04
(calibrated 202 GFLOP/s), one bench fitted with and without the fourth cost point (1024-1024 at
batch 512) against one ``--check``: 14 of 18 within 20% with it, 11 of 18 without; every wide
MNIST prediction within 20% with it (Keras +38% -> +9%, TensorFlow +21% -> +4%).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from harness.cli.main import main as harness  # noqa: E402
from harness.plan import step_model  # noqa: E402
from harness.record import derived  # noqa: E402
from harness.record.schema import RunRecord  # noqa: E402
from harness.store.runs import load  # noqa: E402

HEADER = """description = "the step model's points: the default bench's, single-layer ones, two held out"
step_samples = 20
eval_repeats = 1
twin = ""
timeout_s = 900
"""
COST_POINTS = [
    ("mnist1d", {"epochs": 4, "train_fraction": f, "hidden": h, "batch_size": b})
    for h, b, f in [([64], 64, 0.5), ([64, 64], 16, 0.5), ([1024, 1024], 128, 0.5), ([1024, 1024], 512, 1.0)]
]  # the cost points table of tasks/suites/costs.toml (and the default suite's priority 2)
# (task, spec): the four tasks' own networks, the cost points, single-layer ones, the two held out
POINTS = [
    ("iris", {"epochs": 6}),
    ("digits", {"epochs": 4}),
    ("mnist1d", {"epochs": 4}),
    ("mnist", {"epochs": 3, "train_fraction": 0.3}),
    *COST_POINTS,
    ("iris", {"epochs": 6, "hidden": []}),
    ("mnist1d", {"epochs": 4, "hidden": []}),
    ("mnist", {"epochs": 3, "train_fraction": 0.2, "hidden": [1024, 1024], "batch_size": 256}),
    ("digits", {"epochs": 4, "hidden": [64], "batch_size": 16}),
]
# --grid: width and batch on mnist1d at two hidden layers, and at one (batch 16 and 64)
GRID = [
    ("mnist1d", {"epochs": 4, "hidden": hidden, "batch_size": batch})
    for hidden, batch in [([64, 64], 128), ([256, 256], 16), ([1024, 1024], 16), ([64], 16), ([256], 16)]
]


# --check: the two held-out networks and two of the default bench's own (MNIST's, and a cost point),
# the latter the check's A/A: the same network in the bench and again beside the held-out runs
CHECK = [
    ("mnist", {"epochs": 3, "train_fraction": 0.2, "hidden": [1024, 1024], "batch_size": 256}),
    ("digits", {"epochs": 4, "hidden": [64], "batch_size": 16}),
    ("mnist", {"epochs": 3, "train_fraction": 0.3}),
    COST_POINTS[1],
]


def suite_text(points: list[tuple[str, dict]], seeds: int) -> str:
    """The suite file of ``points``, every implementation, ``seeds`` seeds interleaved."""
    text = HEADER + f"seeds = {list(range(seeds))}\n"
    for task, spec in points:
        fields = ", ".join(f"{k} = {v}" for k, v in spec.items())
        text += f'[[runs]]\ntasks = ["{task}"]\nimpls = ["*"]\nspec = {{ {fields} }}\n'
    return text


Net = tuple[str, tuple[int, ...], int]  # task, hidden layers, batch
DEFAULT_HIDDEN = {"iris": (32, 32), "digits": (256, 128), "mnist1d": (256, 256), "mnist": (512, 256)}
DEFAULT_BATCH = {"iris": 16, "digits": 64, "mnist1d": 100, "mnist": 128}
DEFAULT_BENCH = {(t, DEFAULT_HIDDEN[t], DEFAULT_BATCH[t]) for t in DEFAULT_HIDDEN} | {
    (t, tuple(s["hidden"]), s["batch_size"]) for t, s in COST_POINTS
}
HELD_OUT = {("mnist", (1024, 1024), 256), ("digits", (64,), 16)}


def network(record: RunRecord) -> Net:
    return record.task, tuple(record.config["hidden"]), int(record.config["batch_size"])


def label(net: Net) -> str:
    task, hidden, batch = net
    return f"{task} {'-'.join(map(str, hidden)) or 'no hidden layer'} b{batch}"


def held_out_steps(records: list[RunRecord]) -> dict[tuple[str, Net], tuple[step_model.Network, float]]:
    """Per implementation and held-out network: its shape and measured step (the median of its
    seeds': one run alone is too noisy a point)."""
    shapes = {(r.impl, network(r)): step_model.Network.of(r) for r in records}
    return {key: (shapes[key], step) for key, step in sorted(medians(records).items()) if key[1] in HELD_OUT}


def report(records: list[RunRecord], fitted_on: str, keep, seed0: bool = False) -> None:  # noqa: ANN001
    """Fit to the records ``keep`` accepts (``seed0``: seed 0 alone, as the default bench has the
    cost points and MNIST), predict each held-out network."""
    chosen = [r for r in records if keep(network(r)) and network(r) not in HELD_OUT]
    if seed0:
        small = {"iris", "digits", "mnist1d"}
        chosen = [
            r
            for r in chosen
            if r.seed == 0
            or network(r)[1:] == (DEFAULT_HIDDEN[r.task], DEFAULT_BATCH[r.task])
            and r.task in small
        ]
    fits = step_model.fit(chosen)
    print(f"\nfitted to {fitted_on}:")
    errors = {}
    for (impl, net), (shape, measured) in held_out_steps(records).items():
        fit = fits.get((impl, "default", "cpu"))
        if fit is None or not fit.fitted:
            print(f"  {impl:<12} {label(net):<24} cannot fit ({len(fit.points) if fit else 0} networks)")
            continue
        predicted, (low, high) = fit.step_s(shape), fit.interval(shape)
        errors[(impl, net)] = error = predicted / measured - 1
        inside = "inside" if low <= measured <= high else "OUTSIDE"
        print(
            f"  {impl:<12} {label(net):<24} measured {measured * 1e3:8.3f} ms  "
            f"predicted {predicted * 1e3:8.3f} "
            f"[{low * 1e3:.3f}, {high * 1e3:.3f}] ({inside})  {error:+.0%}"
        )
    if errors:
        worst = max(abs(e) for e in errors.values())
        within = sum(abs(e) <= 0.2 for e in errors.values())
        print(f"  worst {worst:.0%}; within 20%: {within} of {len(errors)}")


def medians(records: list[RunRecord]) -> dict[tuple[str, Net], float]:
    """Each implementation's step per network, the median of its seeds' (ok runs with a step time,
    cpu, no twins)."""
    found: dict[tuple[str, Net], list[float]] = {}
    for r in records:
        if r.status == "ok" and r.device == "cpu" and not derived.is_twin(r) and derived.step_samples_s(r):
            found.setdefault((r.impl, network(r)), []).append(derived.step_time_s(r))
    return {key: float(np.median(steps)) for key, steps in found.items()}


def check(bench: list[RunRecord], records: list[RunRecord]) -> None:
    """The model fitted to a default bench's run set against networks measured after it: the
    held-out ones (its error), and the bench's own measured again (the check's A/A: the second
    reading over the bench's, and the model's error on it)."""
    fits = step_model.fit([r for r in bench if r.device == "cpu"])
    before, after = medians(bench), medians(records)
    shapes = {(r.impl, network(r)): step_model.Network.of(r) for r in records}
    held: list[float] = []
    for net in sorted({net for _, net in after}):
        impls = sorted(i for i, n in after if n == net)
        errors = {}
        for impl in impls:
            fit = fits.get((impl, "default", "cpu"))
            if fit is not None and fit.fitted:
                errors[impl] = fit.step_s(shapes[(impl, net)]) / after[(impl, net)] - 1
        words = " ".join(f"{i} {e:+.0%}" for i, e in errors.items())
        if net in HELD_OUT:
            held += [abs(e) for e in errors.values()]
            print(f"held out, {label(net)}: the model's error: {words}")
            continue
        again = [after[(i, net)] / before[(i, net)] for i in impls if (i, net) in before]
        if again:
            spread = f"{min(again):.2f}-{max(again):.2f} of the bench's (median {np.median(again):.2f})"
            print(f"the bench's own {label(net)} measured again: {spread}; the model's error on it: {words}")
    if held:
        within = sum(e <= 0.2 for e in held)
        print(f"held out: worst {max(held):.0%}; within 20%: {within} of {len(held)}")


M_HALVES = (32, 64, 128, 256, 512, 1024)


def cross_validate(records: list[RunRecord]) -> None:
    """Whether the fitted networks alone choose ``m_half``: per value, each fitted network left out
    in turn (every implementation pooled)."""
    found = step_model.points([r for r in records if network(r) not in HELD_OUT])
    print("\neach fitted network left out in turn, the model fitted to the others (every implementation):")
    for m_half in M_HALVES:
        errors = [
            abs(e)
            for mine in found.values()
            if len(mine) > 3
            for e in step_model.left_out_errors(mine, m_half)
        ]
        if errors:
            print(
                f"  m_half {m_half:>5}: median {np.median(errors):.1%}, mean {np.mean(errors):.1%}, "
                f"90th percentile {np.quantile(errors, 0.9):.1%}"
            )


TERMS = {
    "E": "per epoch",
    "1": "fixed",
    "L": "per layer",
    "G": "products",
    "P": "per parameter",
    "A": "per activation",
}


def terms(net: step_model.Network, names: str, m_half: float) -> np.ndarray:
    """The step-time terms ``names`` (keys of :data:`TERMS`) of ``net``."""
    sizes, pairs = net.sizes, list(zip(net.sizes, net.sizes[1:], strict=False))
    found = {
        "E": lambda: 1.0 / net.steps_per_epoch,
        "1": lambda: 1.0,
        "L": lambda: float(len(pairs)),
        "G": lambda: net.products(m_half),
        "P": lambda: float(sum(a * b + b for a, b in pairs)),
        "A": lambda: float(net.batch_size * sum(sizes[1:])),
    }
    return np.array([found[n]() for n in names])


def fit_terms(rows: list[tuple[np.ndarray, float]]) -> np.ndarray:
    """Coefficients through ``rows`` (terms, measured) on relative error, none below zero."""
    from scipy.optimize import nnls

    design = np.array([x / y for x, y in rows])
    scale = design.max(axis=0)
    scale[scale == 0] = 1.0
    return nnls(design / scale, np.ones(len(rows)))[0] / scale


def search(records: list[RunRecord]) -> None:
    """Every model of two to four terms (and ``m_half`` where it has the products), ranked by its
    error on each fitted network left out in turn (the 90th percentile over networks and
    implementations), the held-out networks' worst error beside it."""
    found = step_model.points([r for r in records if network(r) not in HELD_OUT])
    held = held_out_steps(records)
    ranked = []
    for k in (2, 3, 4):
        for names in map("".join, itertools.combinations(TERMS, k)):
            for m_half in M_HALVES[1:5] if "G" in names else (0,):
                out, worst = [], 0.0
                for (impl, _, _), mine in found.items():
                    rows = [(terms(p.network, names, m_half), p.median_s) for p in mine]
                    if len(rows) <= k:
                        continue
                    for i, (x, y) in enumerate(rows):
                        out.append(abs(float(x @ fit_terms(rows[:i] + rows[i + 1 :])) / y - 1))
                    coef = fit_terms(rows)
                    for (name, _), (shape, measured) in held.items():
                        if name == impl:
                            worst = max(worst, abs(float(terms(shape, names, m_half) @ coef) / measured - 1))
                if out:
                    ranked.append((float(np.quantile(out, 0.9)), float(np.median(out)), names, m_half, worst))
    ranked.sort()
    print("\nmodel forms ranked by their error left out (each fitted network in turn), held-out beside:")
    for p90, med, names, m_half, worst in ranked[:8]:
        form = " + ".join(TERMS[n] for n in names) + (f" (m_half {m_half})" if m_half else "")
        print(f"  {form:<62} left out: 90th pct {p90:.0%}, median {med:.0%}  |  held out, worst {worst:.0%}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, required=True)
    parser.add_argument("--run", action="store_true", help="run the suite into --results first")
    parser.add_argument("--again", type=Path, help="a second run set of the same suite")
    parser.add_argument("--seeds", type=int, default=1, help="with --run: seeds per network, interleaved (1)")
    parser.add_argument("--grid", action="store_true", help="with --run: the width x batch grid too (GRID)")
    parser.add_argument("--search", action="store_true", help="rank model forms by left-out error")
    parser.add_argument(
        "--check", action="store_true", help="with --run: run CHECK (with --bench), not POINTS"
    )
    parser.add_argument(
        "--bench", type=Path, help="fit to this default bench's run set; measure against --results (--check)"
    )
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds {args.seeds}: must be 1 or more")
    if not args.run and (args.grid or args.seeds != 1 or args.check):
        parser.error("--grid, --check and --seeds shape the suite --run runs: give --run with them")
    if args.bench is not None and not (args.bench / "runs").is_dir():
        parser.error(f"--bench {args.bench}: no run records there (the results folder of a default bench)")
    if args.again is not None and not (args.again / "runs").is_dir():
        parser.error(f"--again {args.again}: no run records there (a results folder of the same suite)")
    if args.run:
        args.results.mkdir(parents=True, exist_ok=True)
        suite = args.results / "step_model_points.toml"
        points = CHECK if args.check else POINTS + (GRID if args.grid else [])
        suite.write_text(suite_text(points, args.seeds))
        if harness(["run", "--suite", str(suite), "--results", str(args.results)]) != 0:
            return 1
    if not (args.results / "runs").is_dir():
        print(f"no run records in {args.results}: run with --run", file=sys.stderr)
        return 2
    records, _ = load(args.results)
    if not records:
        print(f"no records in {args.results}: run with --run", file=sys.stderr)
        return 2
    if args.bench is not None:
        check(load(args.bench)[0], records)
        return 0
    report(records, "the default bench's eight networks, seed 0 (as the default bench has them)",
           DEFAULT_BENCH.__contains__, seed0=True)  # fmt: skip
    report(records, "the default bench's eight networks, every seed", DEFAULT_BENCH.__contains__)
    report(records, "every network but the held-out ones", lambda net: True)
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
