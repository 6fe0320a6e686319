"""Which records the page's tables answer for: one run set, not every night pooled.

A run set is, for each machine, the records of one commit: by default its newest (the commit of
its newest record), or the commit named with ``--commit``, or the one record file named with
``--run``. Over nights of history the tables, sentences, ratios and best cells are then about code
that exists, and say which; history, change points and the regression check read every night.
The choice itself is :func:`harness.store.runs.choose_runs`, the one ``harness compare`` reads by.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path

from harness.plan.suites import Selection, plan_for, shipped_suites
from harness.record.digest import Digest
from harness.record.keys import config_key
from harness.record.schema import RunRecord
from harness.store.runs import choose_runs, records_at


@dataclass
class RunSet:
    """The records the tables answer for, and the words that say which."""

    records: list[RunRecord]
    lines: list[str] = field(default_factory=list)  # one per machine: its commit, files, records, when
    left_out: int = 0  # records of other commits or files: in history only
    left_out_commits: int = 0
    not_run: list[str] = field(default_factory=list)  # what the full suite runs that this set does not
    budget_s: float | None = None  # the budget the run's plan was fitted to, if any
    budget_left_out: list[str] = field(default_factory=list)  # what that budget left out, with its command


def span(records: list[Digest]) -> tuple[str, str]:
    """From the first run's start to the last run's end (UTC, to the minute)."""
    first = min(r.created_at for r in records)
    last = max(r.finished_at or r.created_at for r in records)
    return first[:16].replace("T", " "), last[:16].replace("T", " ")


def _span(records: list[Digest]) -> str:
    first, last = span(records)
    return first if first == last else f"{first} to {last} UTC"


def select(
    by_file: dict[Path, list[Digest]],
    load: Callable[[list[Path]], dict[Path, list[RunRecord]]],
    commit: str | None = None,
    run: str | None = None,
) -> RunSet:
    """The run set of ``by_file`` (each record file's digests, in file order): each machine's
    newest commit, or ``commit`` (a prefix), or the file ``run`` (its name or stem), A/A twins
    included (:func:`~harness.store.runs.choose_runs`). Chosen on the digests; then ``load`` reads
    the records of just the files that hold the chosen ones."""
    if run:
        chosen = choose_runs(by_file, None, file=run, twins=True)
        lines = [f"the records of {chosen[0][0].name}: {len(chosen)} records, {_span(_at(by_file, chosen))}"]
    else:
        chosen = choose_runs(by_file, "commit per machine", commit=commit, twins=True)
        chosen.sort(key=lambda c: by_file[c[0]][c[1]].machine_id)  # machine by machine, each in file order
        by_machine = groupby(_at(by_file, chosen), key=lambda d: d.machine_id)
        lines = [_machine_line(machine, list(mine), by_file) for machine, mine in by_machine]
    records = records_at(chosen, load(sorted({f for f, _ in chosen})))
    picked = set(chosen)
    others = {d.git_commit for f, ds in by_file.items() for i, d in enumerate(ds) if (f, i) not in picked}
    left_out = sum(map(len, by_file.values())) - len(chosen)
    found = RunSet(records, lines, left_out, len(others), not_run(records))
    budgets = [r.provenance["budget_s"] for r in records if (r.provenance or {}).get("budget_s")]
    found.budget_s = max(budgets) if budgets else None
    found.budget_left_out = budget_left_out(records)
    return found


def budget_left_out(records: list[RunRecord]) -> list[str]:
    """What the budgets of the records' plans left out, each table in words with its command. A
    plan's records each say what was left out when they were written; once its planned runs are
    done, a plan adds what the rest of its budget holds (:func:`harness.run.planning.top_up`) and
    costs the rest again, so each plan's last record (``records`` in the order they were written)
    says what it left out in the end."""
    last: dict[str, list[str]] = {}
    for record in records:
        provenance = record.provenance or {}
        if "left_out" in provenance:
            last[str(provenance.get("plan_id", ""))] = list(provenance["left_out"])
    return list(dict.fromkeys(line for notes in last.values() for line in notes))


def _at(by_file: dict[Path, list[Digest]], chosen: list[tuple[Path, int]]) -> list[Digest]:
    return [by_file[f][i] for f, i in chosen]


def _machine_line(machine: str, mine: list[Digest], by_file: dict[Path, list[Digest]]) -> str:
    """One machine's run set: its commit, records and span, and how many commits History alone shows."""
    pick = mine[0].git_commit
    older = {d.git_commit for ds in by_file.values() for d in ds if d.machine_id == machine} - {pick}
    tail = f"; {len(older)} other commit(s) in History only" if older else ""
    return f"{machine}: commit {pick[:12] or 'no commit recorded'}, {len(mine)} records, {_span(mine)}{tail}"


def _as_set(overrides: dict) -> str:
    """``{"hidden": []}`` -> ``hidden=[]``: the spec fields as ``--set`` takes them (TOML values)."""
    return ", ".join(f"{field}={json.dumps(value)}" for field, value in sorted(overrides.items()))


def not_run(records: list[RunRecord], reference: str = "full") -> list[str]:
    """What the ``reference`` suite runs that this run set does not, one line per task (empty when
    the run set is that suite, or there is none): the page says what was cut and how to run it."""
    suites = {r.suite for r in records if r.suite}
    if not suites or reference in suites or reference not in shipped_suites():
        return []
    plan = plan_for(Selection(suite=reference))
    here = {(r.task, r.impl, r.mode, r.device, r.seed, config_key(r.config)) for r in records}
    devices = {r.device for r in records if r.status == "ok"}  # a device that ran here
    epochs_here: dict[str, set[int]] = defaultdict(set)
    for record in records:
        epochs_here[record.task].add(int(record.config.get("epochs", 0)))
    lines = []
    for task in dict.fromkeys(q.task for q in plan.requests):
        wanted = [q for q in plan.requests if q.task == task and not q.twin and q.device in devices]
        specs = {id(q): q.spec.to_dict() for q in wanted}
        keys = {id(q): (q.task, q.impl, q.mode, q.device, q.seed, config_key(specs[id(q)])) for q in wanted}
        missing = [q for q in wanted if keys[id(q)] not in here]
        if not missing:
            continue
        seeds = sorted({q.seed for q in missing})
        epochs = sorted({int(specs[id(q)].get("epochs", 0)) for q in missing})
        variants = sorted({_as_set(q.overrides) for q in missing if q.overrides})
        parts = [f"seeds {', '.join(map(str, seeds))}", f"{'/'.join(map(str, epochs))} epochs"]
        if epochs_here.get(task):
            parts[-1] += f" (here {'/'.join(map(str, sorted(epochs_here[task])))})"
        if variants:
            parts.append("variants " + "; ".join(variants))
        lines.append(f"{task}: {len(missing)} of {len(wanted)} runs ({', '.join(parts)})")
    return lines
