"""Paired ratios between the rows of one section: which runs were interleaved together, and the
per-round ratio of their step times (:mod:`harness.compare.paired`)."""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

from harness.compare.paired import PairedRatio, paired_between
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
