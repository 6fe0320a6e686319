"""Paired ratios between the rows of one section: which runs were interleaved together, the
per-round ratio of their step times (:mod:`harness.compare.paired`), and the A/A figure of each
section and device (an identical twin's ratio to the run it repeats)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import pandas as pd

from harness.compare.paired import PairedRatio, describe, paired_between
from harness.report.data.frame import KEY

Key = tuple[str, ...]


class PairedIndex:
    """Per row key (:data:`~harness.report.data.frame.KEY`): group -> round -> seconds per step."""

    def __init__(self, rounds: pd.DataFrame) -> None:
        self._steps: dict[Key, dict[str, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
        for row in rounds.itertuples(index=False):
            values = row._asdict()
            key = tuple(str(values[k]) for k in KEY)
            self._steps[key][values["group"]][int(values["round"])] = float(values["step_s"])
        self._cache: dict[tuple[Key, Key], PairedRatio | None] = {}

    @staticmethod
    def key(row: pd.Series) -> Key:
        return tuple(str(row[k]) for k in KEY)

    def ratio(self, row_a: pd.Series, row_b: pd.Series) -> PairedRatio | None:
        """Step time of ``row_b`` over ``row_a``, paired per round; ``None`` if never interleaved."""
        a, b = self.key(row_a), self.key(row_b)
        if (a, b) not in self._cache:
            found_a, found_b = self._steps.get(a), self._steps.get(b)
            self._cache[(a, b)] = paired_between(found_a, found_b) if found_a and found_b else None
        return self._cache[(a, b)]

    def steps(self, key: Key) -> dict[str, dict[int, float]]:
        """Group -> round -> seconds per step of the rows with ``key`` (empty when none)."""
        return self._steps.get(key, {})

    def interleaved(self, row_a: pd.Series, row_b: pd.Series) -> bool:
        """Whether the two rows' runs were interleaved together in some group."""
        found_a, found_b = self._steps.get(self.key(row_a)), self._steps.get(self.key(row_b))
        return bool(found_a and found_b and any(g for g in set(found_a) & set(found_b)))


def unpaired_mark(paired: PairedIndex | None, base: pd.Series, row: pd.Series) -> str:
    """How a ratio without a paired interval reads: runs interleaved for a single steady round
    (e.g. two-epoch runs) give that round's ratio, too few rounds for an interval; runs never
    interleaved together give a ratio of medians taken at different times."""
    if paired is not None and paired.interleaved(base, row):
        return " (one round, no interval)"
    return " (unpaired)"


def step_ratio(
    paired: PairedIndex | None, base: pd.Series, row: pd.Series
) -> tuple[float, PairedRatio | None]:
    """Step time of ``row`` over ``base``: the paired ratio where the two were interleaved (and it),
    else the ratio of their medians (and ``None``: unpaired)."""
    found = paired.ratio(base, row) if paired is not None else None
    return (found.estimate, found) if found is not None else (row["step_s"] / base["step_s"], None)


SectionDevice = tuple[str, str, str, str]  # machine_id, task, variant, device


@dataclass(frozen=True)
class AAFigure:
    """One section and device's A/A figure: its twin's step time over the identical run it
    repeats, paired per round, pooled over the groups (seeds); ``reason`` says why there is none."""

    label: str
    ratio: PairedRatio | None
    n_twins: int
    reason: str = ""

    @property
    def band(self) -> tuple[float, float] | None:
        """The A/A band: the twin's interval made symmetric (``x`` and ``1/x``) around 1."""
        if self.ratio is None:
            return None
        return (min(self.ratio.low, 1 / self.ratio.high), max(self.ratio.high, 1 / self.ratio.low))

    def tie(self, estimate: float) -> bool:
        """A ratio inside the A/A band: no larger than identical code differs from itself. Judged
        at the two decimals the page prints both with: a 1.0903x beside a band printed
        0.92x-1.09x (1.0894) read as a claim the page's own numbers contradicted (mnist1d's
        keras-jax over jax, clean-clone bench of 2026-12-03)."""
        band = self.band
        return band is not None and round(band[0], 2) <= round(estimate, 2) <= round(band[1], 2)

    def sentence(self, device: str) -> str:
        """How the page states it."""
        if self.ratio is None:
            return f"A/A figure on {device} unavailable: {self.reason}"
        low, high = self.band or (1.0, 1.0)
        return (
            f"A/A on {device}: {self.label} against its identical twin {describe(self.ratio)} over "
            f"{self.ratio.n_rounds} paired rounds of {self.ratio.n_groups} group(s); a ratio between "
            f"{low:.2f}× and {high:.2f}× is within what identical code differs from itself: a tie."
        )


def aa_figures(rounds: pd.DataFrame, twins: pd.DataFrame) -> dict[SectionDevice, AAFigure]:
    """The A/A figure of every (machine, task, variant, device) that has twins."""
    out: dict[SectionDevice, AAFigure] = {}
    if twins.empty:
        return out
    originals = PairedIndex(rounds)
    for (machine, task, variant, device), part in twins.groupby(["machine_id", "task", "variant", "device"]):
        ok = part[part["step_s"].notna()]
        by_label = ok.groupby("label") if not ok.empty else []
        figure = None
        for label, runs in by_label:
            mine: dict[str, dict[int, float]] = defaultdict(dict)
            for row in runs.itertuples(index=False):
                mine[row.group][int(row.round)] = float(row.step_s)
            theirs = originals.steps(PairedIndex.key(runs.iloc[0]))
            ratio = paired_between(theirs, mine) if theirs else None
            figure = AAFigure(str(label), ratio, len(mine), "" if ratio else "too few paired rounds")
        failed = part[part["step_s"].isna()]
        if figure is None or figure.ratio is None:
            why = "; ".join(sorted({f"{r.status}: {r.reason}" for r in failed.itertuples()})) or "no rounds"
            label = str(part["label"].iloc[0])
            figure = AAFigure(label, None, len(part), f"its twin of {label} did not finish ({why})")
        out[(str(machine), str(task), str(variant), str(device))] = figure
    return out
