"""Every number derived from a run record, defined once, computed when reading.

Records keep raw samples; everything a table, a comparison, a progress line or the efficiency
block shows is computed here, so two places can never disagree on a definition:

- the steady epochs of a run: its ``epoch_s`` samples that are positive (epochs 2..E), in a block
  schedule only those that followed an epoch of the same run (not the schedule's pause);
- **epoch overhead**: the part of a steady epoch its training loop spends setting the epoch up
  before the first step (``timings.epoch_setup_s``: Keras makes its data iterator, Lightning runs
  its loop's epoch start; a plain loop next to nothing), reported apart;
- **step time**: each steady epoch's seconds less its epoch overhead, divided by the run's
  ``steps_per_epoch``; the headline of a run or of a group of runs is the :func:`median` of those
  samples, pooled over the runs (the mean of the two middle values when their number is even).
  A whole epoch is ``steps_per_epoch`` steps plus one epoch overhead;
- **throughput**: ``n_train`` over the same steps' seconds, per steady epoch, in samples per second;
- **achieved FLOP/s**: ``train_flops_per_sample * n_train / (step_s * steps_per_epoch)`` for a
  step time ``step_s`` (so it follows whichever median step time is shown beside it), and
  **fraction of peak**: that over the calibrated peak kept in the record's ``calibration``.

Which run a record is and how it is named: :mod:`harness.record.keys`; how a number is written:
:mod:`harness.record.format`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import numpy as np

from harness.record import overfitting
from harness.record.schema import RunRecord

STATISTICS: dict[str, Callable[[np.ndarray], Any]] = {
    "median": np.median,
    "mean": np.mean,
    "min": np.min,
    "max": np.max,
}


# --- statistics of raw samples -------------------------------------------------------------------


def finite(values: Iterable[float | None]) -> np.ndarray:
    """The finite values among ``values`` as a float array (``None`` and NaN dropped)."""
    arr = np.asarray([v for v in values if v is not None], dtype=float)
    return arr[np.isfinite(arr)]


def statistic(values: Iterable[float | None], name: str = "median") -> float:
    """``median``, ``mean``, ``min`` or ``max`` of the finite ``values``; NaN when there are none."""
    arr = finite(values)
    return float(STATISTICS[name](arr)) if arr.size else math.nan


def median(values: Iterable[float | None]) -> float:
    """The median of the finite ``values`` (mean of the middle two when even); NaN if none."""
    return statistic(values, "median")


def pooled(runs: Iterable[Sequence[float]], name: str = "median") -> float:
    """``name`` of every sample of every run pooled together: a group's headline."""
    return statistic((v for run in runs for v in run), name)


# --- per-run samples -----------------------------------------------------------------------------


def _in_blocks(record: RunRecord) -> bool:
    execution = record.execution or {}
    rounds = record.timings.epoch_rounds
    return (
        execution.get("schedule") == "interleaved"
        and int(execution.get("epochs_per_round") or 1) >= 2
        and len(rounds) == len(record.timings.epoch_s) + 1
    )


def follows_an_epoch(record: RunRecord) -> list[bool]:
    """Per steady epoch: whether it followed an epoch of the same run directly (the same round of
    a block), rather than the schedule's pause; every epoch outside block schedules counts."""
    rounds = record.timings.epoch_rounds
    if not _in_blocks(record):
        return [True] * len(record.timings.epoch_s)
    return [rounds[i + 1] == rounds[i] for i in range(len(record.timings.epoch_s))]


def _steady(record: RunRecord) -> list[tuple[float, float]]:
    """Per steady epoch kept (see :func:`steady_epochs_s`): its seconds and its epoch overhead
    (``0.0`` where the record has none: records before it was kept)."""
    timings = record.timings
    setups = timings.epoch_setup_s[1:] if len(timings.epoch_setup_s) == len(timings.epoch_s) + 1 else []
    kept = []
    for i, (e, follows) in enumerate(zip(timings.epoch_s, follows_an_epoch(record), strict=True)):
        if follows and e is not None and e > 0:
            setup = setups[i] if setups and setups[i] is not None and 0 <= setups[i] < e else 0.0
            kept.append((float(e), float(setup)))
    return kept


def steady_epochs_s(record: RunRecord) -> list[float]:
    """The run's steady-state epoch times (epochs 2..E), positive samples only, each whole (its
    epoch overhead included). In a block schedule (several epochs per round) only the epochs that
    followed an epoch of the same run: the first of each block followed the pause while other runs
    trained, which it measures (:func:`pause_ratios`) and the headline must not carry."""
    return [e for e, _ in _steady(record)]


def epoch_overheads_s(record: RunRecord) -> list[float]:
    """Per steady epoch, the seconds its training loop spent setting the epoch up before the first
    step (empty for records that did not keep it)."""
    if len(record.timings.epoch_setup_s) != len(record.timings.epoch_s) + 1:
        return []
    return [setup for _, setup in _steady(record)]


STALL_FACTOR = 2.0  # an epoch setup beyond this many times the run's median setup ...
STALL_MARGIN_S = 0.02  # ... plus this many seconds is a stall


def usual_setup_s(setups: Sequence[float]) -> float:
    """A run's usual epoch setup: the median of three or more; of two, the smaller. A median of two
    is their mean, and one stall of seconds beside a setup of milliseconds (Keras on MNIST, whose
    default run has two steady epochs: 20 ms and 2.36 s) would make the usual setup half the stall
    and hide the stall from :func:`setup_stalls`."""
    found = [s for s in setups if s is not None and math.isfinite(s)]
    return min(found) if len(found) == 2 else median(found)


def setup_stalls(record: RunRecord) -> list[int]:
    """The steady epochs (0-based, within ``epoch_s``) whose own setup took more than
    :data:`STALL_FACTOR` times the run's usual setup (:func:`usual_setup_s`) plus
    :data:`STALL_MARGIN_S`: a loop that waited before its first step (Keras joining a data
    iterator's thread, say)."""
    setups = epoch_overheads_s(record)
    if len(setups) < 2:
        return []
    limit = STALL_FACTOR * usual_setup_s(setups) + STALL_MARGIN_S
    kept = [i for i, (e, f) in enumerate(zip(record.timings.epoch_s, follows_an_epoch(record), strict=True))
            if f and e is not None and e > 0]  # fmt: skip
    return [i for i, s in zip(kept, setups, strict=True) if s > limit]


def epoch_overhead_s(record: RunRecord) -> float:
    """The run's usual :func:`epoch_overheads_s` (:func:`usual_setup_s`; NaN when not kept)."""
    return usual_setup_s(epoch_overheads_s(record))


def step_samples_s(record: RunRecord) -> list[float]:
    """Seconds per training step, one sample per steady epoch: the epoch less its overhead, over
    its steps; empty without ``steps_per_epoch``."""
    steps = record.steps_per_epoch
    return [(e - setup) / steps for e, setup in _steady(record)] if steps else []


def round_steps_s(record: RunRecord) -> dict[int, float]:
    """Seconds per step in each round of the schedule: the steady epochs a run trained in that
    round (one, or a block of several: those that followed an epoch) pooled, their time less their
    epoch overheads over their steps. The first epoch (with compilation) is never counted; empty
    for records without rounds."""
    steps = record.steps_per_epoch
    timings = record.timings
    rounds = timings.epoch_rounds[1:]  # epoch_s holds epochs 2..E; rounds lists every epoch
    if not steps or len(rounds) != len(timings.epoch_s):
        return {}
    kept = iter(_steady(record))
    total: dict[int, list[float]] = {}
    for r, e, follows in zip(rounds, timings.epoch_s, follows_an_epoch(record), strict=True):
        if follows and e and e > 0:
            whole, setup = next(kept)
            total.setdefault(r, []).append(whole - setup)
    return {r: sum(times) / (steps * len(times)) for r, times in total.items()}


def pause_ratios(record: RunRecord) -> dict[int, float]:
    """Per round of a block schedule (several epochs per round): the block's first epoch, which
    followed the schedule's pause while other runs trained, over the median of its other epochs,
    which each followed an epoch of the same run directly (back to back). Paired within the round,
    so the machine's drift cancels: what the schedule itself does to the run's speed. The round of
    the first epoch (compilation) and single-epoch rounds give none."""
    timings = record.timings
    if len(timings.epoch_rounds) != len(timings.epoch_s) + 1:
        return {}
    blocks: dict[int, list[float]] = {}
    for r, e in zip(timings.epoch_rounds[1:], timings.epoch_s, strict=True):
        if r != timings.epoch_rounds[0] and e and e > 0:
            blocks.setdefault(r, []).append(e)
    return {r: times[0] / median(times[1:]) for r, times in blocks.items() if len(times) >= 2}


UNSTABLE_SPREAD = 2.5  # median steady epoch over the fastest: beyond it a run's epochs disagree
BUSY_SHARE = 0.25  # other processes used at least this share of the machine's cores meanwhile
BUSY_MIN_EPOCH_S = 0.2  # shorter epochs' /proc/stat readings (10 ms ticks) are too rough to mark
BUSY_MIN_TOTAL_S = 1.0  # a run's share needs this much timed epoch (100 ticks a core) to be read


def epoch_spread(record: RunRecord) -> float:
    """The median steady epoch's steps over the fastest one's (the seconds the headline step time
    rests on, overhead aside; NaN with fewer than three steady epochs)."""
    epochs = [e - setup for e, setup in _steady(record)]
    return median(epochs) / min(epochs) if len(epochs) >= 3 else math.nan


def unstable(record: RunRecord) -> bool:
    """Its steady epochs are far apart (:func:`epoch_spread` above :data:`UNSTABLE_SPREAD`): the
    run's headline step time would rest on epochs that disagree with each other by more than any
    two implementations here do. Derived when reading; the record keeps every sample."""
    return epoch_spread(record) > UNSTABLE_SPREAD


def cores(record: RunRecord) -> int:
    """The machine's logical cores (1 when the record does not say)."""
    return int((record.machine or {}).get("cpu_cores_logical") or 1)


def others_cpu_share(record: RunRecord) -> float:
    """The share of the machine's CPU that other processes used while the run's steady epochs
    ran: their CPU seconds over (epoch seconds x cores); NaN when not measured, or when the epochs
    last less than :data:`BUSY_MIN_TOTAL_S` in all (too few 10 ms ticks to tell)."""
    timings = record.timings
    readings = timings.epoch_others_cpu_s[1:]
    pairs = [(e, o) for e, o in zip(timings.epoch_s, readings, strict=False) if o is not None and e]
    total_s = sum(e for e, _ in pairs)
    if total_s < BUSY_MIN_TOTAL_S:
        return math.nan
    return max(0.0, sum(o for _, o in pairs)) / (total_s * cores(record))


def busy_epochs(record: RunRecord) -> list[int]:
    """The steady epochs (0-based, within ``epoch_s``) that ran beside other work: at least
    :data:`BUSY_MIN_EPOCH_S` long, other processes using :data:`BUSY_SHARE` of the cores meanwhile."""
    readings = record.timings.epoch_others_cpu_s[1:]
    n = cores(record)
    return [
        i
        for i, (e, o) in enumerate(zip(record.timings.epoch_s, readings, strict=False))
        if o is not None and e >= BUSY_MIN_EPOCH_S and o / (e * n) >= BUSY_SHARE
    ]


def beside_other_work(record: RunRecord) -> bool:
    """The run as a whole ran beside other work: other processes used :data:`BUSY_SHARE` of the
    cores over its steady epochs (summed, so short epochs count too), or some epoch was marked."""
    share = others_cpu_share(record)
    return (math.isfinite(share) and share >= BUSY_SHARE) or bool(busy_epochs(record))


def is_twin(record: RunRecord) -> bool:
    """Whether the run is its group's A/A twin (an identical repeat of another run of the group):
    its ratio to that run is the group's noise floor; it is never shown or compared as a run."""
    return bool((record.execution or {}).get("twin"))


def interleaved_group(record: RunRecord) -> str:
    """The id of the interleaved group the run was measured in (``""``: not interleaved)."""
    execution = record.execution or {}
    return str(execution.get("group") or "") if execution.get("schedule") == "interleaved" else ""


def throughput_samples(record: RunRecord) -> list[float]:
    """Training samples per second of each steady epoch's steps (its overhead aside: the same
    seconds as :func:`step_samples_s`); empty without ``n_train``."""
    n_train = record.n_train
    return [n_train / (e - setup) for e, setup in _steady(record)] if n_train else []


def step_time_s(record: RunRecord) -> float:
    """The run's headline step time: the median of :func:`step_samples_s` (NaN when none)."""
    return median(step_samples_s(record))


def single_steps_s(record: RunRecord) -> list[float]:
    """Single synchronised steps, positive samples only."""
    return [s for s in record.timings.step_s if s is not None and s > 0]


def eval_throughput_samples(record: RunRecord) -> list[float]:
    """Test samples per second of each full test-split evaluation."""
    n_test = record.n_test
    return [n_test / s for s in record.timings.eval_s if s and s > 0] if n_test else []


def import_s(record: RunRecord) -> float | None:
    """Framework import and setup, counted only for the run that paid it (its worker's first)."""
    return record.timings.import_s if record.timings.worker_runs_before == 0 else None


def generalization_gap(record: RunRecord) -> float | None:
    """Final train minus validation accuracy; ``None`` without both."""
    train, val = record.curves.train_accuracy, record.curves.val_accuracy
    if not train or not val or train[-1] is None or val[-1] is None:
        return None
    return float(train[-1] - val[-1])


METRIC_SAMPLES: dict[str, Callable[[RunRecord], list[float]]] = {
    "step_time": step_samples_s,
    "throughput": throughput_samples,
    "first_epoch": lambda r: [] if r.timings.first_epoch_s is None else [float(r.timings.first_epoch_s)],
    "peak_memory": lambda r: [] if r.peak_rss_bytes is None else [float(r.peak_rss_bytes)],
    "test_accuracy": lambda r: [] if r.test_accuracy is None else [float(r.test_accuracy)],
}


def metric_samples(record: RunRecord, metric: str) -> list[float]:
    """The raw samples one run contributes to a compared ``metric`` (see ``compare.thresholds``)."""
    return METRIC_SAMPLES[metric](record)


# --- efficiency ------------------------------------------------------------------------------------


def achieved_flops_per_s(
    train_flops_per_sample: int | None, n_train: int | None, steps_per_epoch: int | None, step_s: float
) -> float:
    """Training FLOP/s of an epoch of ``n_train`` samples in ``steps_per_epoch`` steps of ``step_s``."""
    if not train_flops_per_sample or not n_train or not steps_per_epoch or not math.isfinite(step_s):
        return math.nan
    return train_flops_per_sample * n_train / (step_s * steps_per_epoch)


def record_flops_per_s(record: RunRecord, step_s: float | None = None) -> float:
    """Achieved FLOP/s of ``record`` at ``step_s`` (default: its own headline step time)."""
    step = step_time_s(record) if step_s is None else step_s
    return achieved_flops_per_s(record.train_flops_per_sample, record.n_train, record.steps_per_epoch, step)


def peak_flops_per_s(record: RunRecord) -> float:
    """The calibrated matmul peak of the record's device (NaN when the run was not calibrated)."""
    value = (record.calibration or {}).get("peak_flops_per_s")
    return float(value) if isinstance(value, int | float) and value > 0 else math.nan


def fraction_of_peak(record: RunRecord, step_s: float | None = None) -> float:
    """:func:`record_flops_per_s` over :func:`peak_flops_per_s` (NaN when either is missing)."""
    return record_flops_per_s(record, step_s) / peak_flops_per_s(record)


class EngineRate(Protocol):
    """What the efficiency block needs of a calibration entry."""

    engine: str
    measured_at: str

    @property
    def matmul_flops_per_s(self) -> float: ...

    @property
    def dispatch_median_s(self) -> float: ...


def calibration_facts(own: EngineRate | None, best: EngineRate | None) -> dict[str, Any]:
    """What a record keeps of the machine calibration (its ``calibration``): the device's peak
    (``best``: the best matmul rate of any engine) and its own engine's rates, raw."""
    out: dict[str, Any] = {}
    if best is not None:
        out |= {"peak_flops_per_s": best.matmul_flops_per_s, "peak_engine": best.engine}
    if own is not None:
        out |= {"engine": own.engine, "engine_matmul_flops_per_s": own.matmul_flops_per_s}
        out |= {"dispatch_s": own.dispatch_median_s, "calibrated_at": own.measured_at}
    return out


def efficiency(record: RunRecord) -> dict[str, Any]:
    """The run's efficiency, derived on reading from its step time and its ``calibration``:
    ``achieved_flops_per_s``, ``step_s``, ``fraction_of_peak`` and ``step_in_dispatches`` beside
    the calibration's raw rates; empty when the run has no step time."""
    step = step_time_s(record)
    flops = record_flops_per_s(record, step)
    if not math.isfinite(flops):
        return {}
    facts = dict(record.calibration or {})
    out: dict[str, Any] = {"achieved_flops_per_s": flops, "step_s": step, **facts}
    if isinstance(facts.get("peak_flops_per_s"), int | float) and facts["peak_flops_per_s"] > 0:
        out["fraction_of_peak"] = flops / facts["peak_flops_per_s"]
    if isinstance(facts.get("dispatch_s"), int | float) and facts["dispatch_s"] > 0:
        out["step_in_dispatches"] = step / facts["dispatch_s"]
    return out


def overfitting_of(record: RunRecord) -> dict[str, Any] | None:
    """The overfitting analysis of an ok run's curves (:func:`harness.record.overfitting.analyse`,
    default parameters), computed on reading; ``None`` for a run that did not finish."""
    if record.status != "ok":
        return None
    return overfitting.analyse(record.curves)
