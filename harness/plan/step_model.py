"""Where a step's time goes, and a network the bench never ran predicted: per implementation, mode
and device, fitted from a run set's records, with intervals::

    time per step = epoch_s / steps_per_epoch + dispatch_s + layer_s * layers + product_s * products(network)

- ``epoch_s``: what an epoch costs inside its steps' time beyond its measured setup (the loop's
  own per-epoch work, spread over the epoch's steps; the setup before the first step is apart,
  ``overhead_s``);
- ``dispatch_s``: a fixed cost per step (Python, the optimizer's call, synchronisation);
- ``layer_s``: a cost per layer per step (its operations' launches: forward, backward, update);
- ``products(network)``: the step's matrix products (forward, weight gradient, and input gradient
  but the first layer's, as :meth:`train_flops_per_sample` counts them), each of ``2*m*n*k``
  FLOPs weighted by ``(d + m_half) / d`` for its smallest dimension ``d``: a product of small
  matrices runs far below a large one's rate (``m_half`` is where it reaches half), and the work
  that grows with the layers but is not a product (the optimizer's update, the activations)
  rides along with them. ``product_s`` is seconds per such FLOP: ``1 / product_s`` is the rate
  the products reach when large (an effective rate, fitted: not a hardware figure).

A straight line in FLOPs per step (the model before this one) over-predicted networks it was not
fitted to by up to 2.6x: the FLOP rate grows with the matrices, and the per-step cost of a tiny
network is not one number. Without ``layer_s``, fitted to networks all of two hidden layers, a
held-out one of one hidden layer was numpy's worst miss in two run sets (+44%, +59%); with it and a
one-layer network among the fitted ones, -6% (docs/measured.md). This form came out of a search
over several (per parameter, per activation terms; ``benchmarks/step_model_heldout.py --search``), ranked on
networks each left out in turn; ``m_half`` too (:data:`M_HALF`). Four terms need networks that
vary in width, batch and depth, not only the four tasks' own (all of two hidden layers): the
default suite's "cost points" table adds four (``tasks/suites/costs.toml`` runs it alone).

Each network a run set trained is a :class:`Point`: its shape and the median of its runs' step
samples (pooled over seeds). The terms are fitted on relative error, none below zero. The
interval is a bootstrap (each point's samples resampled, the model refitted) widened by the fit's
root-mean-square relative error at its own points.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from harness.plan.costs import Key, record_flops_per_step, usable
from harness.record import derived
from harness.record.schema import RunRecord

RESAMPLES = 400
CONFIDENCE = 0.95
# Where a product reaches half its large rate, in elements of its smallest dimension. Measured on
# CPU (2-core AMD EPYC; docs/measured.md): on a run set of 14 networks x 9 implementations x 3 seeds,
# each network left out in turn, the left-out errors' median is flat from 32 to 256 (18.3-18.9%)
# and grows beyond (21% at 512 and 1024); 128 is inside the flat part. Chosen per run set instead,
# the default bench's seven networks cannot tell the values apart from noise, so it is a constant.
# A GPU's is likely larger and is not yet measured (no GPU was lent).
M_HALF = 128.0
MIN_NETWORKS = 6  # four terms, and two networks to say how well they fit


@dataclass(frozen=True)
class Network:
    """What the model reads of a network: its layer widths (input to classes), batch, and steps
    per epoch."""

    sizes: tuple[int, ...]
    batch_size: int
    steps_per_epoch: int

    @property
    def hidden_layers(self) -> int:
        return len(self.sizes) - 2

    def products(self, m_half: float) -> float:
        """The step's matrix-product FLOPs, each weighted by ``(d + m_half) / d`` (module docstring)."""
        batch, total = self.batch_size, 0.0
        for i, (fan_in, fan_out) in enumerate(zip(self.sizes, self.sizes[1:], strict=False)):
            shapes = [(batch, fan_in, fan_out), (fan_in, batch, fan_out)]  # forward, weight gradient
            if i:
                shapes.append((batch, fan_out, fan_in))  # the input's gradient: none for the data
            for dims in shapes:
                d = min(dims)
                total += 2.0 * math.prod(dims) * (d + m_half) / d
        return total

    def terms(self, m_half: float) -> np.ndarray:
        """The model's four terms: per epoch (over its steps), per step, per layer, per weighted FLOP."""
        return np.array([1.0 / self.steps_per_epoch, 1.0, float(len(self.sizes) - 1), self.products(m_half)])

    @classmethod
    def of(cls, record: RunRecord) -> Network | None:
        """``record``'s network (``None``: its config does not say its layers)."""
        config = record.config or {}
        try:
            sizes = (int(config["n_features"]), *map(int, config["hidden"]), int(config["n_classes"]))
            return cls(sizes, int(config["batch_size"]), int(record.steps_per_epoch))
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class Point:
    """One network a run set trained: its shape, FLOPs per step, step samples, and a label."""

    network: Network
    flops_per_step: float
    steps_s: tuple[float, ...]
    label: str  # the task and its sizes, for the page

    @property
    def median_s(self) -> float:
        return float(np.median(self.steps_s))

    @property
    def hidden_layers(self) -> int:
        return self.network.hidden_layers

    @property
    def batch_size(self) -> int:
        return self.network.batch_size


def solve(points: Sequence[Point], m_half: float, medians: Sequence[float] | None = None) -> np.ndarray:
    """The four coefficients through ``points`` (their medians, or ``medians``), on relative
    error, none below zero."""
    from scipy.optimize import nnls  # the analysis stack, loaded when a model is fitted

    ys = np.array([p.median_s for p in points] if medians is None else medians)
    design = np.array([p.network.terms(m_half) for p in points]) / ys[:, None]
    scale = design.max(axis=0)
    scale[scale == 0] = 1.0
    coef, _ = nnls(design / scale, np.ones(len(points)))
    return coef / scale


def left_out_errors(points: Sequence[Point], m_half: float) -> list[float]:
    """Each point left out in turn, the model fitted to the others: its relative error."""
    out = []
    for i, point in enumerate(points):
        coef = solve([*points[:i], *points[i + 1 :]], m_half)
        out.append(float(point.network.terms(m_half) @ coef) / point.median_s - 1)
    return out


@dataclass
class StepFit:
    """One implementation's model through its points, with what is needed for intervals."""

    key: Key
    m_half: float
    coef: np.ndarray  # epoch_s, dispatch_s, layer_s, product_s
    overhead_s: float
    points: list[Point] = field(default_factory=list)
    draws: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))  # bootstrap coefficients
    rms: float = 0.0  # root-mean-square relative error of the model at its points
    left_out: list[float] = field(default_factory=list)  # each point left out in turn: its error

    @property
    def fitted(self) -> bool:
        return len(self.points) >= MIN_NETWORKS and bool(np.any(self.coef))

    @property
    def epoch_s(self) -> float:
        return float(self.coef[0])

    @property
    def dispatch_s(self) -> float:
        return float(self.coef[1])

    @property
    def layer_s(self) -> float:
        return float(self.coef[2])

    @property
    def product_s(self) -> float:
        return float(self.coef[3])

    @property
    def large_rate(self) -> float:
        """FLOP/s the products reach when large (``inf``: the fit gave them no cost)."""
        return 1.0 / self.product_s if self.product_s > 0 else math.inf

    def step_s(self, network: Network) -> float:
        return float(network.terms(self.m_half) @ self.coef)

    def interval(self, network: Network) -> tuple[float, float]:
        """The prediction's interval at ``network`` (see the module docstring)."""
        if not len(self.draws):
            return (math.nan, math.nan)
        predictions = self.draws @ network.terms(self.m_half)
        alpha = (1 - CONFIDENCE) / 2
        low, high = np.quantile(predictions, [alpha, 1 - alpha])
        return float(low * (1 - self.rms)), float(high * (1 + self.rms))


def _label(record: RunRecord, network: Network) -> str:
    hidden = "-".join(map(str, network.sizes[1:-1])) or "no hidden layer"
    return f"{record.task} {hidden} b{network.batch_size}"


def points(records: Iterable[RunRecord]) -> dict[Key, list[Point]]:
    """Each implementation's points: one per network its usable records trained (seeds pooled)."""
    pooled: dict[Key, dict[Network, list[float]]] = defaultdict(lambda: defaultdict(list))
    about: dict[tuple[Key, Network], tuple[float, str]] = {}
    for record in usable(records):
        network = Network.of(record)
        if network is None:
            continue
        key = (record.impl, record.mode, record.device)
        pooled[key][network] += derived.step_samples_s(record)
        about[(key, network)] = (record_flops_per_step(record), _label(record, network))
    return {
        key: sorted(
            (Point(net, about[(key, net)][0], tuple(s), about[(key, net)][1]) for net, s in found.items()),
            key=lambda p: p.flops_per_step,
        )
        for key, found in pooled.items()
    }


def _overheads(records: Iterable[RunRecord]) -> dict[Key, float]:
    found: dict[Key, list[float]] = defaultdict(list)
    for record in usable(records):
        found[(record.impl, record.mode, record.device)] += derived.epoch_overheads_s(record)
    return {key: derived.median(values) for key, values in found.items()}


def fit(records: Iterable[RunRecord], resamples: int = RESAMPLES, seed: int = 0) -> dict[Key, StepFit]:
    """Every implementation's :class:`StepFit` from ``records`` (one machine's run set)."""
    records = list(records)
    rng = np.random.default_rng(seed)
    overheads, found = _overheads(records), points(records)
    out = {}
    for key, mine in found.items():
        m_half = M_HALF
        coef = solve(mine, m_half) if mine else np.zeros(4)
        model = StepFit(key, m_half, coef, overheads.get(key, math.nan), mine)
        if model.fitted:
            residuals = [model.step_s(p.network) / p.median_s - 1 for p in mine]
            model.rms = float(np.sqrt(np.mean(np.square(residuals))))
            model.left_out = left_out_errors(mine, m_half)
            model.draws = np.array([
                solve(mine, m_half, [float(np.median(rng.choice(p.steps_s, len(p.steps_s)))) for p in mine])
                for _ in range(resamples)
            ])  # fmt: skip
        out[key] = model
    return out


def widened(reference: Network, factor: float) -> Network:
    """``reference`` with every hidden layer ``factor`` times as wide (at least one unit)."""
    sizes = reference.sizes
    hidden = tuple(max(1, round(w * factor)) for w in sizes[1:-1])
    return Network((sizes[0], *hidden, sizes[-1]), reference.batch_size, reference.steps_per_epoch)


def crossover(a: StepFit, b: StepFit, path: Sequence[Network]) -> int | None:
    """Along ``path`` (networks in growing size), the index of the first network where ``a`` and
    ``b`` change places (``None``: one is faster along all of it)."""
    signs = [np.sign(a.step_s(n) - b.step_s(n)) for n in path]
    for i in range(1, len(signs)):
        if signs[i] != signs[i - 1] and signs[i] != 0:
            return i
    return None
