"""Which records the page's tables answer for: one run set, not every night pooled.

A run set is, for each machine, the records of one commit: by default its newest (the commit of
its newest record), or the commit named with ``--commit``, or the one record file named with
``--run``. Over nights of history the tables, sentences, ratios and best cells are then about code
that exists, and say which; history, change points and the regression check read every night.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import UsageError
from harness.record.derived import machine_id
from harness.record.schema import RunRecord


@dataclass
class RunSet:
    """The records the tables answer for, and the words that say which."""

    records: list[RunRecord]
    lines: list[str] = field(default_factory=list)  # one per machine: its commit, files, records, when
    left_out: int = 0  # records of other commits or files: in history only
    left_out_commits: int = 0


def _span(records: list[RunRecord]) -> str:
    times = sorted(r.created_at for r in records)
    first, last = times[0][:16].replace("T", " "), times[-1][:16].replace("T", " ")
    return first if first == last else f"{first} to {last}"


def select(by_file: dict[Path, list[RunRecord]], commit: str | None = None, run: str | None = None) -> RunSet:
    """The run set of ``by_file`` (records per file): each machine's newest commit, or ``commit``
    (a prefix), or the file ``run`` (its name or stem)."""
    everything = [r for rs in by_file.values() for r in rs]
    if run:
        files = [f for f in by_file if run in (f.name, f.stem, str(f))]
        if not files:
            names = ", ".join(sorted(f.stem for f in by_file)[-5:])
            raise UsageError(f"no record file named {run!r}; the newest are: {names}")
        chosen = [r for f in files for r in by_file[f]]
        where = f"the records of {files[0].name}"
        lines = [f"{where}: {len(chosen)} records, {_span(chosen)}"]
    else:
        per_machine: dict[str, list[RunRecord]] = defaultdict(list)
        for record in everything:
            per_machine[machine_id(record)].append(record)
        chosen, lines = [], []
        for machine, records in sorted(per_machine.items()):
            if commit:
                wanted = {r.git_commit for r in records if r.git_commit.startswith(commit)}
                if not wanted:
                    continue
                pick = max(wanted, key=lambda c: max(r.created_at for r in records if r.git_commit == c))
            else:
                pick = max(records, key=lambda r: r.created_at).git_commit
            mine = [r for r in records if r.git_commit == pick]
            chosen.extend(mine)
            older = {r.git_commit for r in records} - {pick}
            tail = f"; {len(older)} other commit(s) in History only" if older else ""
            label = pick[:12] or "no commit recorded"
            lines.append(f"{machine}: commit {label}, {len(mine)} records, {_span(mine)}{tail}")
        if commit and not chosen:
            known = sorted({r.git_commit[:12] for r in everything})[-5:]
            raise UsageError(
                f"no records of a commit starting {commit!r}; commits here include: {', '.join(known)}"
            )
    ids = {id(r) for r in chosen}
    others = [r for r in everything if id(r) not in ids]
    return RunSet(chosen, lines, len(others), len({r.git_commit for r in others}))
