"""Suites: TOML definitions of a benchmark matrix, expanded into a list of :class:`RunRequest`.

A suite file has top-level defaults and one or more ``[[runs]]`` tables; each table is a
product of tasks x impls x modes x devices x seeds with spec overrides::

    description = "what this suite is for"
    devices = ["cpu", "gpu"]
    seeds = [0, 1, 2]
    timeout_s = 900
    track_test = false         # true: evaluate the test split after every epoch too
    epochs_per_round = 1       # interleaved: epochs per run per round; also per [[runs]] (see plan.py)
    twin = "torch"             # the implementation each group's A/A twin copies ("": no twins)
    [[runs]]
    tasks = ["iris", "digits"]
    impls = ["*"]              # every implementation
    modes = ["*", "-default"]  # "*": every mode each implementation declares; "-x": leave x out
    spec = { epochs = 20 }

Command-line selections narrow a suite (``--task``, ``--impl``, ``--device``, ``--mode``),
replace its seeds (``--seeds``) or override the spec (``--epochs``, ``--set field=value``).
Every name and value is checked before anything runs.
"""

from __future__ import annotations

import itertools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import SpecError, SuiteError, UnknownName, check_names
from harness.plan.requests import TWIN_DEFAULT, Plan, RunRequest, with_twins
from harness.plugins import registry
from harness.problem.train_spec import DEVICES

TOP_KEYS = {
    "description",
    "devices",
    "seeds",
    "modes",
    "timeout_s",
    "step_samples",
    "eval_repeats",
    "threads",
    "track_test",
    "epochs_per_round",
    "twin",
    "runs",
}
RUN_KEYS = {
    "tasks",
    "impls",
    "modes",
    "devices",
    "seeds",
    "spec",
    "timeout_s",
    "step_samples",
    "eval_repeats",
    "track_test",
    "epochs_per_round",
}
DEFAULTS: dict[str, Any] = {
    "devices": ["cpu"],
    "seeds": [0],
    "modes": ["default"],
    "timeout_s": 900.0,
    "step_samples": 30,
    "eval_repeats": 5,
    "track_test": False,
    "epochs_per_round": 1,
}


@dataclass(frozen=True)
class Selection:
    """What ``harness run`` was asked for: a suite and the selections that narrow or override it
    (``None``: as the suite says)."""

    suite: str | None = None
    tasks: list[str] | None = None
    impls: list[str] | None = None
    devices: list[str] | None = None
    modes: list[str] | None = None
    seeds: list[int] | None = None
    epochs: int | None = None
    overrides: list[str] = field(default_factory=list)  # FIELD=VALUE
    threads: int | None = None
    timeout_s: float | None = None
    epochs_per_round: int | None = None
    twin: str | None = None  # None: as the suite says (default torch); "": no A/A twins


def shipped_suites() -> list[str]:
    """Names of the suites the task families ship (this project's: ``tasks/suites``)."""
    return sorted({p.stem for folder in registry.suite_folders() for p in folder.glob("*.toml")})


def suite_path(name_or_path: str) -> Path:
    """A shipped suite's file, or ``name_or_path`` itself if it is a file."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        if not candidate.is_file():
            raise SuiteError(f"suite file {candidate} does not exist")
        return candidate
    if name_or_path not in shipped_suites():
        raise UnknownName(
            f"unknown suite {name_or_path!r}; valid: {', '.join(shipped_suites())} "
            "(or a path to a .toml file)"
        )
    return next(
        f / f"{name_or_path}.toml" for f in registry.suite_folders() if (f / f"{name_or_path}.toml").is_file()
    )


def load_suite(path: Path) -> dict[str, Any]:
    """Parse and check a suite file; errors name the file and, for bad TOML, the line."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(f"{path}: malformed TOML: {exc}") from exc
    _check_keys(f"{path}", data, TOP_KEYS)
    runs = data.get("runs")
    if not isinstance(runs, list) or not runs:
        raise SuiteError(f"{path}: a suite needs at least one [[runs]] table")
    for i, run in enumerate(runs, start=1):
        _check_keys(f"{path} [[runs]] #{i}", run, RUN_KEYS)
    return data


def _check_keys(where: str, table: dict[str, Any], valid: set[str]) -> None:
    unknown = set(table) - valid
    if unknown:
        raise SuiteError(f"{where}: unknown key(s) {sorted(unknown)}; valid: {', '.join(sorted(valid))}")


def _expand_impls(names: list[str]) -> list[str]:
    impls = list(registry.implementations())
    if "*" in names:
        return impls
    check_names("implementation", names, impls)
    return names


def _expand_modes(impl: str, modes: list[str]) -> list[str]:
    """``"*"`` is every mode ``impl`` declares (one it cannot run here is recorded as unavailable);
    ``"-name"`` leaves ``name`` out, e.g. ``["*", "-default"]`` is every fast path."""
    declared = registry.get(impl).declared_modes
    chosen = [m for name in modes if not name.startswith("-") for m in (declared if name == "*" else [name])]
    excluded = {name[1:] for name in modes if name.startswith("-")}
    return [m for m in dict.fromkeys(chosen) if m not in excluded]


def _parse_set(items: list[str]) -> dict[str, Any]:
    """``["epochs=3", "hidden=[64,64]"]`` -> overrides, values parsed as TOML."""
    out: dict[str, Any] = {}
    for item in items:
        field, sep, value = item.partition("=")
        if not sep or not field:
            raise SuiteError(f"--set expects FIELD=VALUE, got {item!r}")
        try:
            out[field.strip()] = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            out[field.strip()] = value
    return out


def _narrow(kind: str, values: list[Any], selection: list[Any] | None, valid: Any) -> list[Any]:
    if selection is None:
        return values
    check_names(kind, selection, valid)
    return [v for v in values if v in selection]


def expand(name: str, data: dict[str, Any], selection: Selection) -> list[RunRequest]:
    """Every run of the suite ``data`` as narrowed and overridden by ``selection``."""
    cli_spec = _parse_set(selection.overrides)
    if selection.epochs is not None:
        cli_spec["epochs"] = selection.epochs
    requests = []
    for run in data["runs"]:
        merged = {**DEFAULTS, **{k: v for k, v in data.items() if k in DEFAULTS}, **run}
        known = registry.tasks()
        tasks = _narrow("task", merged.get("tasks", list(known)), selection.tasks, known)
        impls = _narrow(
            "implementation",
            _expand_impls(merged.get("impls", ["*"])),
            selection.impls,
            list(registry.implementations()),
        )
        devices = _narrow("device", merged["devices"], selection.devices, DEVICES)
        modes = merged["modes"] if selection.modes is None else selection.modes
        seeds = merged["seeds"] if selection.seeds is None else selection.seeds
        overrides = {**run.get("spec", {}), **cli_spec}
        combos = [(impl, mode) for impl in impls for mode in _expand_modes(impl, modes)]
        for task, (impl, mode), device, seed in itertools.product(tasks, combos, devices, seeds):
            requests.append(
                RunRequest(
                    task=task,
                    impl=impl,
                    device=device,
                    mode=mode,
                    seed=int(seed),
                    overrides=overrides,
                    suite=name,
                    timeout_s=float(selection.timeout_s or merged["timeout_s"]),
                    step_samples=int(merged["step_samples"]),
                    eval_repeats=int(merged["eval_repeats"]),
                    track_test=bool(merged["track_test"]),
                    epochs_per_round=_block(
                        merged["epochs_per_round"]
                        if selection.epochs_per_round is None
                        else selection.epochs_per_round
                    ),
                )
            )
    return requests


def _block(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise SuiteError(f"epochs_per_round must be a whole number >= 1, got {value!r}")
    return value


def validate(requests: list[RunRequest]) -> None:
    """Resolve every spec now, so a bad value fails before the first run, not in the middle."""
    check_names("device", sorted({r.device for r in requests}), DEVICES)
    for request in requests:
        if request.seed < 0:
            raise SuiteError(f"seeds must be >= 0, got {request.seed}")
        if request.timeout_s <= 0:
            raise SuiteError(f"timeout must be > 0 seconds, got {request.timeout_s}")
        try:
            spec = request.spec()
            registry.family(spec.task).check_spec(spec)
        except SpecError as exc:
            raise SuiteError(f"{request.label()}: {exc}") from exc
        steady = steady_epochs(spec.epochs, request.epochs_per_round)
        if steady < MIN_STEADY_EPOCHS:
            smallest = next(
                e for e in range(1, 1000) if steady_epochs(e, request.epochs_per_round) >= MIN_STEADY_EPOCHS
            )
            raise SuiteError(
                f"{request.label()}: {spec.epochs} epoch(s) in rounds of {request.epochs_per_round} leave "
                f"{steady} steady epoch(s), and a step time needs {MIN_STEADY_EPOCHS} (the first epoch "
                f"compiles; in a block, the epoch after the pause is kept out); the smallest: "
                f"--epochs {smallest}"
            )


MIN_STEADY_EPOCHS = 2


def steady_epochs(epochs: int, epochs_per_round: int) -> int:
    """How many of a run's epochs give its step time: all but the first, and in rounds of two or
    more epochs, only those that follow an epoch of the same round (:mod:`harness.record.derived`)."""
    block = max(1, epochs_per_round)
    if block == 1:
        return max(0, epochs - 1)
    return epochs - -(-epochs // block)


def plan_for(selection: Selection) -> Plan:
    """The plan for ``harness run``: a suite (default: ``default``) narrowed by the selections,
    or, with selections and no suite, exactly the selection (all tasks/impls, cpu, seed 0)."""
    selections = [selection.tasks, selection.impls, selection.devices, selection.modes, selection.seeds]
    if selection.suite is None and any(s is not None for s in selections):
        run = {
            "tasks": selection.tasks or list(registry.tasks()),
            "impls": selection.impls or ["*"],
            "devices": selection.devices or ["cpu"],
        }
        name, data = "adhoc", {"runs": [run]}
    else:
        path = suite_path(selection.suite or "default")
        name, data = path.stem, load_suite(path)
    requests = expand(name, data, selection)
    if not requests:
        raise SuiteError(f"the selection matches no run of suite {name!r}")
    validate(requests)
    twin = data.get("twin", TWIN_DEFAULT) if selection.twin is None else selection.twin
    if twin:
        check_names("implementation", [twin], list(registry.implementations()))
        requests = with_twins(requests, twin)
    threads = selection.threads if selection.threads is not None else data.get("threads")
    if threads is not None and int(threads) < 1:
        raise SuiteError(f"threads must be >= 1, got {threads}")
    plan = Plan(name, requests)
    if threads is not None:
        plan.threads = int(threads)
    return plan
