"""One count of a set of records, said the same way in the terminal and on the page.

A plan's records are of four kinds: runs that finished ``ok``, runs that did not (crashed, timed
out, diverged), runs that could not happen here (``unavailable``: no GPU on the machine, a mode a
framework does not have, a framework not installed), and the A/A twins (identical repeats of one
run per group, never shown as implementations). Every place that counts records counts them
here, so the header of the page, its Environment section and the CLI's last lines agree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from harness.record.derived import is_twin
from harness.record.keys import run_label
from harness.record.schema import RunRecord


@dataclass(frozen=True)
class Unavailable:
    """Records that could not run here, for one reason: on one whole device, or one run label."""

    what: str  # "gpu" (a device where nothing could run) or a run label such as "keras-torch [fast]"
    reason: str
    count: int


@dataclass(frozen=True)
class Tally:
    """How many records of each kind (see the module docstring)."""

    records: int
    ok: int
    twins: int
    not_finished: dict[str, int] = field(default_factory=dict)  # status -> count, twins excluded
    unavailable: list[Unavailable] = field(default_factory=list)
    devices_absent: list[str] = field(default_factory=list)  # devices where no run could happen

    @property
    def n_unavailable(self) -> int:
        return sum(u.count for u in self.unavailable)

    @property
    def n_not_finished(self) -> int:
        return sum(self.not_finished.values())

    def words(self) -> str:
        """``186 records: 114 runs ok, 10 A/A twin runs; 62 could not run here (gpu: no NVIDIA driver
        ...)``; with more than one reason, each with its count (``(gpu, 60: ...; keras [fast], 2: ...)``)."""
        parts = [f"{self.ok} run{'s' if self.ok != 1 else ''} ok"]
        parts += [f"{n} {status}" for status, n in sorted(self.not_finished.items())]
        if self.twins:
            parts.append(f"{self.twins} A/A twin run{'s' if self.twins != 1 else ''}")
        text = f"{self.records} record{'s' if self.records != 1 else ''}: {', '.join(parts)}"
        if len(self.unavailable) == 1:  # its count is the total's: said once
            only = self.unavailable[0]
            text += f"; {only.count} could not run here ({only.what}: {only.reason})"
        elif self.unavailable:
            why = "; ".join(f"{u.what}, {u.count}: {u.reason}" for u in self.unavailable)
            text += f"; {self.n_unavailable} could not run here ({why})"
        return text


def short_reason(reason: str, limit: int = 70) -> str:
    """A reason's first clause, at most ``limit`` characters: enough to tell reasons apart."""
    line = (reason or "no reason given").strip().splitlines()[0]
    line = line.split("; ")[0].split(", and ")[0]
    return line if len(line) <= limit else line[: limit - 3].rstrip() + "..."


def tally(records: Iterable[RunRecord]) -> Tally:
    """Count ``records``; unavailable ones grouped by device where nothing ran on it, else by run."""
    records = list(records)
    twins = [r for r in records if is_twin(r)]
    runs = [r for r in records if not is_twin(r)]
    ran_on = {r.device for r in runs if r.status != "unavailable"}
    absent = sorted({r.device for r in runs} - ran_on)
    groups: Counter[tuple[str, str]] = Counter()
    for record in runs:
        if record.status != "unavailable":
            continue
        what = record.device if record.device in absent else run_label(record.impl, record.mode)
        groups[(what, short_reason(record.reason))] += 1
    by_what: dict[str, Counter[str]] = {}
    for (what, reason), n in groups.items():
        by_what.setdefault(what, Counter())[reason] += n
    unavailable = [  # a device with nothing to run on says its commonest reason (numpy has no GPU, say)
        Unavailable(what, reasons.most_common(1)[0][0], sum(reasons.values()))
        for what, reasons in sorted(by_what.items(), key=lambda item: (item[0] not in absent, item[0]))
    ]
    not_finished = Counter(r.status for r in runs if r.status not in ("ok", "unavailable"))
    return Tally(
        records=len(records),
        ok=sum(r.status == "ok" for r in runs),
        twins=len(twins),
        not_finished=dict(not_finished),
        unavailable=unavailable,
        devices_absent=absent,
    )
