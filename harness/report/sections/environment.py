"""Where the numbers come from: machines, devices, versions, commits, dates, run counts, every run
that did not finish ok (with its reason) and every line that could not be read."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from harness.record.schema import STATUSES
from harness.record.tally import short_reason
from harness.report.data import ReportData
from harness.store.runs import Skipped


@dataclass
class MachineSummary:
    """One machine's description and what ran on it."""

    machine_id: str
    cpu: str
    memory: str
    gpus: str
    os: str
    devices: str
    versions: list[tuple[str, str]]
    commits: list[tuple[str, int]]
    first_run: str
    last_run: str
    status_counts: list[tuple[str, int]]
    n_runs: int
    execution: list[tuple[str, str, list[tuple[str, str]]]]


def _versions(runs: pd.DataFrame) -> list[tuple[str, str]]:
    seen: dict[str, set[str]] = {}
    for versions in runs["versions"]:
        for package, version in versions.items():
            seen.setdefault(package, set()).add(str(version))
    return [(package, ", ".join(sorted(found))) for package, found in sorted(seen.items())]


def _cpu(info: dict[str, Any]) -> str:
    cores = info.get("cpu_cores_logical") or info.get("cores")
    return f"{info.get('cpu_model', 'unknown CPU')}" + (f", {cores} logical cores" if cores else "")


def _gpus(info: dict[str, Any]) -> str:
    gpus = info.get("gpus") or []
    return (
        "; ".join(
            f"{g.get('name', '?')} ({g.get('memory', '?')}, driver {g.get('driver', '?')})" for g in gpus
        )
        or "none"
    )


def _words(value: Any) -> str:
    """A setting as a person reads it: ``a=1, b=x`` for a mapping, ``yes``/``no``, ``-`` for none
    (never a Python repr)."""
    if isinstance(value, dict):
        return ", ".join(f"{k}={_words(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_words(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _distinct(values: list[Any]) -> str:
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(numbers) == len(values) and len(set(numbers)) > 1:
        return f"{min(numbers):.4g} – {max(numbers):.4g}"
    return " | ".join(dict.fromkeys(_words(v) for v in values))


def _execution(runs: pd.DataFrame) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """Per implementation label and device: each execution setting, with every value it took."""
    grouped: dict[tuple[str, str], dict[str, list[Any]]] = {}
    for _, run in runs[runs["status"] == "ok"].iterrows():
        settings = grouped.setdefault((run["label"], run["device"]), {})
        for key, value in run["execution"].items():
            settings.setdefault(key, []).append(value)
    return [
        (label, device, [(k, _distinct(v)) for k, v in sorted(settings.items())])
        for (label, device), settings in sorted(grouped.items())
    ]


def _devices(runs: pd.DataFrame) -> str:
    measured = sorted(set(runs.loc[runs["status"] == "ok", "device"]))
    others = sorted(set(runs["device"]) - set(measured))
    return (", ".join(measured) or "none") + (
        f" (also requested, no ok run: {', '.join(others)})" if others else ""
    )


def machine_summaries(runs: pd.DataFrame) -> list[MachineSummary]:
    """One summary per machine id, in order of first appearance."""
    out = []
    for machine_id, group in runs.groupby("machine_id", sort=False):
        info = group["machine"].iloc[0]
        dates = sorted(group["created_at"])
        statuses = Counter(group["status"])
        commits = Counter(c or "(no commit)" for c in group["git_commit"])
        out.append(
            MachineSummary(
                machine_id=str(machine_id),
                cpu=_cpu(info),
                memory=f"{info['memory_bytes'] / 2**30:.0f} GiB" if info.get("memory_bytes") else "?",
                gpus=_gpus(info),
                os=f"{info.get('os', '?')}, {info.get('arch', '?')}, Python {info.get('python', '?')}",
                devices=_devices(group),
                versions=_versions(group),
                commits=commits.most_common(),
                first_run=dates[0],
                last_run=dates[-1],
                status_counts=[(s, statuses[s]) for s in STATUSES if statuses[s]],
                n_runs=len(group),
                execution=_execution(group),
            )
        )
    return out


def failed_runs(runs: pd.DataFrame) -> list[dict[str, Any]]:
    """The runs whose status is not ``ok``, one row per machine, status and reason (the first
    clause of it: the same words as the page's header count), with how many and which runs."""
    if runs.empty:
        return []
    bad = runs[runs["status"] != "ok"].sort_values(["machine_id", "task", "label", "device", "seed"])
    out = []
    for (machine_id, status, reason), part in bad.groupby(
        ["machine_id", "status", bad["reason"].map(short_reason)], sort=True
    ):
        runs_named = [f"{r.task}{f' ({r.variant})' if r.variant else ''} {r.label} on {r.device}, "
                      f"seed {r.seed}" for r in part.itertuples()]  # fmt: skip
        out.append({"machine_id": machine_id, "status": status, "reason": reason, "count": len(part),
                    "runs": runs_named, "detail": sorted(set(part["reason"]))[:3]})  # fmt: skip
    return sorted(out, key=lambda f: (f["status"] == "unavailable", f["machine_id"], -f["count"]))


def skipped_lines(skipped: Sequence[Skipped], results_dir: Path) -> list[dict[str, Any]]:
    """Unreadable lines or files: path relative to the results folder, line number (0: whole file)."""
    out = []
    for item in skipped:
        path = Path(item.path)
        try:
            shown = str(path.resolve().relative_to(Path(results_dir).resolve()))
        except ValueError:
            shown = str(path)
        out.append({"file": shown, "line": item.line or "whole file", "reason": item.reason})
    return out


PART = "environment"  # its template: harness/report/render/templates/parts/environment.html.j2


def build(data: ReportData) -> dict[str, Any]:
    """The section's view: the names its template part reads, from the report's data."""
    return {
        "machines": machine_summaries(data.frames.runs) if data.n_records else [],
        "failed": failed_runs(data.frames.runs),
        "skipped": skipped_lines(data.skipped, data.results_dir),
    }
