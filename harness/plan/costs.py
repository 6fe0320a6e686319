"""What a run costs, predicted before it runs: the rates a plan's time is built from.

A run's wall time is made of a few rates per implementation, mode and device (:class:`Rates`):

- per step, a fixed cost and a cost per training FLOP: ``step = dispatch_s + flops * flop_s``
  (Python, kernel launches and synchronisation; then the arithmetic);
- per epoch, the loop's own ``overhead_s`` (setting the epoch up before its first step), and
  outside the timer the evaluation of the training and validation splits (``eval_s`` per
  evaluation, ``eval_flop_s`` per forward FLOP) and the schedule's own ``between_s`` (warm-up,
  messages, the quiet wait);
- per run, ``once_s``: building the model and compiling (the first epoch beyond a steady one), and
  ``first_s`` more for a worker's first run (the framework's own first-use costs);
- per worker process, ``start_s``: the process, the framework's import, its setup, alone; started
  together, workers share the cores and slow each other (:data:`CONTENTION`).

What the rates leave out of a group of runs (the schedule's messages, warm-ups, memory and caches
between processes) is learnt as a whole from the groups' own wall times (``group_s``): a group
costs ``(1 + group_scale) * sum(runs) + per_run_epoch_s * run_epochs``.

:func:`fit` learns them from records of one machine; :class:`CostModel` answers for any request,
falling back (in order) to the same implementation in another mode, then to rates scaled from a
reference machine (:func:`scaled`: FLOP terms by the two machines' matmul rates, fixed terms by
their dispatch costs), then to the median of what it knows.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from harness.record import derived
from harness.record.schema import RunRecord

Key = tuple[str, str, str]  # implementation, mode, device
FORWARD_SHARE = 1 / 3  # a forward pass is about a third of a training step's FLOPs (forward + backward)
SINGLE_STEP_FACTOR = 1.5  # a single synchronised step over one inside an epoch (the sync it waits for)
CONTENTION = 1.4  # workers importing together on a 2-core machine: wall over (their solo imports / cores)
# Training's small matrices gain less from a faster machine than its 2048^2 matmul peak does: fitted
# step rates of two 2-core machines (a 70 GFLOP/s AMD EPYC, issue 28's figures; a 385 GFLOP/s Intel
# Xeon, tests/data/records_default) differ 2.3-3.1x (median 2.7x) where the peaks differ 5.5x:
# 5.5 ** 0.58 = 2.7. FLOP terms are scaled by the peaks' ratio to this power.
FLOP_SCALE_EXPONENT = 0.58
REFERENCE = Path(__file__).with_name("reference_costs.json")


@dataclass(frozen=True)
class Rates:
    """The rates of one implementation, mode and device (see the module docstring); seconds."""

    dispatch_s: float
    flop_s: float
    overhead_s: float = 0.0
    once_s: float = 0.0
    eval_s: float = 0.0
    eval_flop_s: float = 0.0
    between_s: float = 0.0
    start_s: float = 0.0
    first_s: float = 0.0

    def step_s(self, flops_per_step: float) -> float:
        """Seconds per training step of ``flops_per_step`` FLOPs."""
        return self.dispatch_s + flops_per_step * self.flop_s

    def evaluation_s(self, samples: int, forward_flops_per_sample: float) -> float:
        """Seconds to evaluate ``samples`` samples (one call)."""
        return self.eval_s + samples * forward_flops_per_sample * self.eval_flop_s


@dataclass(frozen=True)
class Shape:
    """What a request trains, as far as its cost goes."""

    flops_per_sample: float  # training FLOPs (forward and backward) of one sample
    n_train: int
    n_val: int
    n_test: int
    steps_per_epoch: int
    epochs: float

    @property
    def flops_per_step(self) -> float:
        return self.flops_per_sample * self.n_train / self.steps_per_epoch


@dataclass(frozen=True)
class RunCost:
    """A run's predicted seconds, in parts (what the progress line and the budget add up)."""

    once_s: float
    epochs_s: float
    between_s: float
    final_s: float

    @property
    def total_s(self) -> float:
        return self.once_s + self.epochs_s + self.between_s + self.final_s


def run_cost(rates: Rates, shape: Shape, eval_repeats: int, step_samples: int) -> RunCost:
    """What one run of ``shape`` costs with ``rates``: its first epoch and build, its steady
    epochs, the evaluations and schedule between them, and the closing measurements (infinite for
    counts too large to be a float)."""
    try:
        return _run_cost(rates, shape, float(eval_repeats), float(step_samples))
    except OverflowError:
        return RunCost(math.inf, 0.0, 0.0, 0.0)


def _run_cost(rates: Rates, shape: Shape, eval_repeats: float, step_samples: float) -> RunCost:
    step = rates.step_s(shape.flops_per_step)
    epoch = shape.steps_per_epoch * step + rates.overhead_s
    forward = shape.flops_per_sample * FORWARD_SHARE
    evaluate = rates.evaluation_s(shape.n_train, forward) + rates.evaluation_s(shape.n_val, forward)
    final = (1 + eval_repeats) * rates.evaluation_s(
        shape.n_test, forward
    ) + step_samples * step * SINGLE_STEP_FACTOR
    return RunCost(
        once_s=rates.once_s + epoch,
        epochs_s=max(0, shape.epochs - 1) * epoch,
        between_s=shape.epochs * (evaluate + rates.between_s),
        final_s=final,
    )


@dataclass
class CostModel:
    """Rates per (implementation, mode, device), where they came from, and how to answer for a
    key it has no rates of (:meth:`rates`)."""

    rates_by_key: dict[Key, Rates] = field(default_factory=dict)
    source: str = ""
    fallback: CostModel | None = None  # e.g. reference rates scaled to this machine
    group_scale: float = 0.0  # a group's wall over the sum of its runs' costs, less 1 (learnt)
    per_run_epoch_s: float = 0.0  # ... and beyond that, per epoch of each run (learnt)

    def group_s(self, runs_s: float, run_epochs: float) -> float:
        """A group's wall time from its runs' predicted costs and their number of epochs."""
        return (1 + self.group_scale) * runs_s + self.per_run_epoch_s * run_epochs

    def known(self, key: Key) -> bool:
        return key in self.rates_by_key

    def rates(self, key: Key) -> Rates:
        """``key``'s rates; else the same implementation's default mode here, else the fallback's
        answer, else the median of every rate known here."""
        impl, mode, device = key
        for candidate in (key, (impl, "default", device)):
            if candidate in self.rates_by_key:
                return self.rates_by_key[candidate]
        if self.fallback is not None:
            return self.fallback.rates(key)
        if not self.rates_by_key:
            raise KeyError(f"no rates for {impl} [{mode}] on {device}, and nothing to fall back on")
        known = list(self.rates_by_key.values())
        return Rates(**{name: float(np.median([getattr(r, name) for r in known])) for name in _FIELDS})

    def to_json(self) -> str:
        body = {
            "source": self.source,
            "rates": [[*k, asdict(r)] for k, r in sorted(self.rates_by_key.items())],
            "group_scale": self.group_scale,
            "per_run_epoch_s": self.per_run_epoch_s,
        }
        return json.dumps(body, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CostModel:
        data = json.loads(text)
        rates = {(i, m, d): Rates(**r) for i, m, d, r in data["rates"]}
        return cls(
            rates,
            data.get("source", ""),
            None,
            data.get("group_scale", 0.0),
            data.get("per_run_epoch_s", 0.0),
        )


_FIELDS = tuple(Rates.__dataclass_fields__)


# --- fitting ---------------------------------------------------------------------------------------


def linear_fit(points: Iterable[tuple[float, float]]) -> tuple[float, float]:
    """``y = a + b x`` with ``a, b >= 0``, least squares on relative error (every point counts
    alike, a 0.1 ms step as much as a 10 ms one); one x only: ``b = 0``."""
    pts = [(x, y) for x, y in points if math.isfinite(x) and math.isfinite(y) and y > 0]
    if not pts:
        return math.nan, math.nan
    xs, ys = np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
    if len(set(xs)) < 2:
        return float(np.median(ys)), 0.0
    design = np.stack([np.ones_like(xs), xs], axis=1) / ys[:, None]
    (a, b), *_ = np.linalg.lstsq(design, np.ones_like(ys), rcond=None)
    if a < 0:  # all the time is per FLOP
        return 0.0, float(np.median(ys / xs))
    if b < 0:  # all of it is fixed
        return float(np.median(ys)), 0.0
    return float(a), float(b)


def usable(records: Iterable[RunRecord]) -> list[RunRecord]:
    """The records a cost is learnt from: ok runs, not A/A twins, with a step time that the
    report would not leave out (not unstable, not beside other work)."""
    return [
        r for r in records
        if r.status == "ok" and not derived.is_twin(r) and derived.step_samples_s(r)
        and r.train_flops_per_sample and r.n_train
        and not derived.unstable(r) and not derived.beside_other_work(r)
    ]  # fmt: skip


def record_flops_per_step(record: RunRecord) -> float:
    """The training FLOPs of one step of ``record``'s network (its epoch's over its steps)."""
    return float(record.train_flops_per_sample * record.n_train / record.steps_per_epoch)


def fit(records: Iterable[RunRecord], source: str = "") -> CostModel:
    """Rates per (implementation, mode, device) learnt from ``records`` (:func:`usable` ones), and
    what groups cost beyond their runs, from the groups' wall times where the records keep them."""
    records = list(records)
    by_key: dict[Key, list[RunRecord]] = defaultdict(list)
    for record in usable(records):
        by_key[(record.impl, record.mode, record.device)].append(record)
    model = CostModel({key: _fit_key(runs) for key, runs in sorted(by_key.items())}, source)
    for key, start in _solo_starts(records).items():
        if key in model.rates_by_key:
            model.rates_by_key[key] = replace(model.rates_by_key[key], start_s=start)
    model.group_scale, model.per_run_epoch_s = _fit_groups(model, records)
    return model


def _solo_starts(records: list[RunRecord]) -> dict[Key, float]:
    """Each worker's start as if alone, from workers that started together (one plan): their
    starts scaled so that :data:`CONTENTION` times their sum over the cores is the slowest one's,
    the wall time of the plan's start."""
    by_plan: dict[str, dict[Key, float]] = defaultdict(dict)
    cores: dict[str, int] = {}
    for r in records:
        start = (r.execution or {}).get("worker_start_s")
        if r.status == "ok" and start and r.timings.worker_runs_before == 0 and not derived.is_twin(r):
            plan = str((r.provenance or {}).get("plan_id", ""))
            by_plan[plan][(r.impl, r.mode, r.device)] = float(start)
            cores[plan] = derived.cores(r)
    out: dict[Key, list[float]] = defaultdict(list)
    for plan, starts in by_plan.items():
        factor = max(starts.values()) * cores[plan] / (CONTENTION * sum(starts.values()))
        for key, start in starts.items():
            out[key].append(start * min(1.0, factor))
    return {key: float(np.median(values)) for key, values in out.items()}


def record_shape(record: RunRecord) -> Shape:
    """What ``record`` trained, as far as its cost goes."""
    epochs = len(record.timings.epoch_s) + 1
    n_val = record.n_val or record.n_test or 0
    return Shape(float(record.train_flops_per_sample), record.n_train, n_val, record.n_test or 0,
                 record.steps_per_epoch, float(epochs))  # fmt: skip


def _fit_groups(model: CostModel, records: list[RunRecord]) -> tuple[float, float]:
    """``group_scale`` and ``per_run_epoch_s`` from each group's wall time against the sum of its
    runs' predicted costs (least squares, neither below 0); zeros without ``group_s`` records."""
    groups: dict[str, list[RunRecord]] = defaultdict(list)
    for record in records:
        if (
            record.status == "ok"
            and (record.execution or {}).get("group_s")
            and record.train_flops_per_sample
        ):
            groups[record.execution["group"]].append(record)
    rows, walls = [], []
    for runs in groups.values():
        seen: set[Key] = set()
        total, epochs = 0.0, 0.0
        for r in runs:
            key = (r.impl, r.mode, r.device)
            rates = model.rates(key)
            cost = run_cost(rates, record_shape(r), max(0, len(r.timings.eval_s) - 1), len(r.timings.step_s))
            total += cost.total_s + (
                rates.first_s if r.timings.worker_runs_before == 0 and key not in seen else 0.0
            )
            seen.add(key)
            epochs += len(r.timings.epoch_s) + 1
        rows.append((total, epochs))
        walls.append(runs[0].execution["group_s"])
    if len(rows) < 2:
        return 0.0, 0.0
    design, wall = np.array(rows), np.array(walls)
    (scale, per_epoch), *_ = np.linalg.lstsq(design, wall, rcond=None)  # wall = a * total + b * epochs
    if per_epoch < 0:
        scale, per_epoch = float(np.sum(wall) / np.sum(design[:, 0])), 0.0
    return max(0.0, float(scale) - 1.0), max(0.0, float(per_epoch))


def _median(values: Iterable[float | None]) -> float:
    found = derived.median(values)
    return found if math.isfinite(found) else 0.0


def _fit_key(runs: list[RunRecord]) -> Rates:
    steps: dict[float, list[float]] = defaultdict(list)
    evals: dict[float, list[float]] = defaultdict(list)
    for record in runs:
        steps[record_flops_per_step(record)] += derived.step_samples_s(record)
        if record.n_test and record.timings.eval_s:
            x = record.n_test * record.train_flops_per_sample * FORWARD_SHARE
            evals[x] += [s for s in record.timings.eval_s if s and s > 0]
    dispatch, flop = linear_fit((x, derived.median(v)) for x, v in steps.items())
    eval_fixed, eval_flop = linear_fit((x, derived.median(v)) for x, v in evals.items())

    def one_off(r: RunRecord) -> float:
        return (
            (r.timings.build_s or 0.0) + r.timings.first_epoch_s - derived.median(derived.steady_epochs_s(r))
        )

    timed = [r for r in runs if r.timings.first_epoch_s is not None]
    firsts = [one_off(r) for r in timed if not r.timings.worker_runs_before]
    once = [one_off(r) for r in timed if r.timings.worker_runs_before] or firsts
    waits = [(r.execution or {}).get("quiet_wait_s", 0.0) / max(1, len(r.timings.epoch_s) + 1) for r in runs]
    starts = [(r.execution or {}).get("worker_start_s") or r.timings.import_s
              for r in runs if r.timings.worker_runs_before == 0]  # fmt: skip
    return Rates(
        dispatch_s=dispatch,
        flop_s=flop,
        overhead_s=_median(o for r in runs for o in derived.epoch_overheads_s(r)),
        once_s=max(0.0, _median(once)),
        eval_s=0.0 if math.isnan(eval_fixed) else eval_fixed,
        eval_flop_s=0.0 if math.isnan(eval_flop) else eval_flop,
        between_s=_median(waits),
        start_s=_median(starts),
        first_s=max(0.0, _median(firsts) - _median(once)),
    )


# --- from one machine to another -------------------------------------------------------------------


@dataclass(frozen=True)
class Machine:
    """What a calibration says of a machine, per engine: matmul FLOP/s, empty dispatch seconds
    and import seconds."""

    matmul_flops_per_s: Mapping[str, float]
    dispatch_s: Mapping[str, float]
    import_s: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_entries(cls, entries: Iterable[Any], device: str = "cpu") -> Machine:
        """From calibration entries (:class:`harness.store.calibration.Entry`) of ``device``."""
        mine = [e for e in entries if e.device == device]
        return cls(
            {e.engine: e.matmul_flops_per_s for e in mine},
            {e.engine: e.dispatch_median_s for e in mine},
            {e.engine: e.import_s for e in mine if e.import_s},
        )

    def to_dict(self) -> dict[str, Any]:
        return {"matmul_flops_per_s": dict(self.matmul_flops_per_s), "dispatch_s": dict(self.dispatch_s),
                "import_s": dict(self.import_s)}  # fmt: skip


def _ratio(mine: Mapping[str, float], theirs: Mapping[str, float], engine: str) -> float:
    """``mine / theirs`` for ``engine``, else the median ratio over the engines both have, else 1."""
    if engine in mine and engine in theirs and theirs[engine] > 0:
        return mine[engine] / theirs[engine]
    shared = [mine[e] / theirs[e] for e in mine if e in theirs and theirs[e] > 0]
    return float(np.median(shared)) if shared else 1.0


def scaled(model: CostModel, reference: Machine, here: Machine, engines: Mapping[str, str]) -> CostModel:
    """``model``'s rates (measured on ``reference``) as they would be ``here``: FLOP terms by the
    matmul rates' ratio (to :data:`FLOP_SCALE_EXPONENT`), fixed terms (dispatch, overheads) by the
    dispatch costs' ratio, worker starts by the engines' import times, per engine (``engines``:
    implementation -> its engine)."""
    out = {}
    for key, rates in model.rates_by_key.items():
        engine = engines.get(key[0], key[0])
        slower = _ratio(reference.matmul_flops_per_s, here.matmul_flops_per_s, engine) ** FLOP_SCALE_EXPONENT
        fixed = _ratio(here.dispatch_s, reference.dispatch_s, engine)
        start = _ratio(here.import_s, reference.import_s, engine) if here.import_s else fixed
        out[key] = Rates(
            dispatch_s=rates.dispatch_s * fixed,
            flop_s=rates.flop_s * slower,
            overhead_s=rates.overhead_s * fixed,
            once_s=rates.once_s * fixed,
            eval_s=rates.eval_s * fixed,
            eval_flop_s=rates.eval_flop_s * slower,
            between_s=rates.between_s * fixed,
            start_s=rates.start_s * start,
            first_s=rates.first_s * fixed,
        )
    found = CostModel(out, f"{model.source}, scaled to this machine's calibration")
    found.group_scale = model.group_scale
    found.per_run_epoch_s = model.per_run_epoch_s * _ratio(here.dispatch_s, reference.dispatch_s, "torch")
    return found


@dataclass(frozen=True)
class Reference:
    """Rates measured on one machine, with that machine's calibration: what a machine without
    records of its own starts from (``reference_costs.json``)."""

    model: CostModel
    machine: Machine

    @classmethod
    def load(cls, path: Path = REFERENCE) -> Reference:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(CostModel.from_json(json.dumps(data["model"])), Machine(**data["machine"]))

    def save(self, path: Path = REFERENCE) -> None:
        body = {"model": json.loads(self.model.to_json()), "machine": self.machine.to_dict()}
        path.write_text(json.dumps(body, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def with_rates(rates: Rates, **changes: float) -> Rates:
    """``rates`` with ``changes`` (a copy)."""
    return replace(rates, **changes)
