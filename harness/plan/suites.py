"""Suites: TOML definitions of a benchmark matrix, expanded into a list of :class:`RunRequest`.

A suite file has top-level defaults and one or more ``[[runs]]`` tables; each table is a
product of tasks x impls x modes x devices x seeds with spec overrides (``specs``: a list of spec
tables, one more axis of the product, which a budget keeps or leaves out as one table)::

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
Every key, name and value is checked, against its type and range, before anything runs
(:data:`KEYS`, :func:`check_selection`, :mod:`harness.plan.overrides`), each error naming the file
or the option, the value and what is valid. A mode asked for by name must exist: each
implementation named beside it (in the same ``[[runs]]`` table, or with ``--impl`` for
``--mode``) has it, and otherwise some implementation does; a ``--mode`` narrows a suite's
implementations to those that have it.
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import FieldError, SpecError, SuiteError, UnknownName, check_names
from harness.plan import overrides
from harness.plan.requests import TWIN_DEFAULT, Plan, RunRequest, Tier, with_twins
from harness.plugins import registry
from harness.problem.train_spec import DEVICES, MAX_SEED, SEED_RULE, field_value, finite, typed_value
from harness.record.schema import PURPOSES, STEP_MODEL_POINT

DEFAULTS: dict[str, Any] = {
    "devices": ["cpu"],
    "seeds": [0],
    "modes": ["default"],
    "timeout_s": 900.0,
    "step_samples": 30,
    "eval_repeats": 5,
    "track_test": False,
    "epochs_per_round": 1,
    "purpose": "",
}


def _whole(low: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= low


def _seed(v: Any) -> bool:
    return typed_value(int, v) is not None and SEED_RULE.accepts(v)


def _strings(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _seconds(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and finite(v) and v > 0


# Every key a suite file may have: a test of its value, and what is valid in words.
KEYS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "description": (lambda v: isinstance(v, str), "a string"),
    "tasks": (_strings, 'a list of task names, e.g. ["iris", "digits"]'),
    "impls": (_strings, 'a list of implementation names, or ["*"] for every one'),
    "modes": (
        _strings,
        'a list of mode names, e.g. ["default"]; "*": every mode of each implementation, '
        '"-name": leave name out',
    ),  # fmt: skip
    "devices": (_strings, f"a list of devices: {', '.join(DEVICES)}"),
    "seeds": (
        lambda v: isinstance(v, list) and all(map(_seed, v)),
        f"a list of whole numbers from 0 to {MAX_SEED}",
    ),
    "spec": (lambda v: isinstance(v, dict), "a table of spec fields, e.g. { epochs = 5 }"),
    "specs": (
        lambda v: isinstance(v, list) and bool(v) and all(isinstance(s, dict) for s in v),
        "a list of spec tables, each a network of the table's runs over its spec, e.g. "
        "[{ hidden = [64] }, { hidden = [256] }] (a budget keeps or leaves out the table whole)",
    ),
    "timeout_s": (_seconds, "a number of seconds > 0"),
    "step_samples": (_whole(0), "a whole number >= 0"),
    "eval_repeats": (_whole(0), "a whole number >= 0"),
    "threads": (_whole(1), "a positive integer"),
    "track_test": (lambda v: isinstance(v, bool), "true or false"),
    "epochs_per_round": (_whole(1), "a positive integer"),
    "purpose": (
        lambda v: v in PURPOSES,
        f'"" (the runs answer their task\'s questions) or "{STEP_MODEL_POINT}" (another network measured for '
        'the step model alone: the page shows it only under "Where a step\'s time goes")',
    ),
    "twin": (lambda v: isinstance(v, str), 'an implementation name, or "" for no A/A twins'),
    "runs": (lambda v: isinstance(v, list) and all(isinstance(r, dict) for r in v), "[[runs]] tables"),
    "priority": (
        _whole(0),
        "a whole number >= 0: 0 always runs; tables of 1 and up are added, lowest first, while the "
        "budget allows",
    ),
    "budget_s": (
        _seconds,
        "a number of seconds > 0: what the whole command may take (--budget overrides it)",
    ),
}
TOP_KEYS = set(KEYS) - {"tasks", "impls", "spec", "specs", "priority"}
RUN_KEYS = set(KEYS) - {"threads", "twin", "runs", "budget_s"}  # a table's description names it


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
    if name_or_path and (candidate.suffix == ".toml" or candidate.exists()):
        if not candidate.is_file():
            what = "is not a file" if candidate.exists() else "does not exist"
            raise SuiteError(
                f"suite file {candidate} {what}; valid: {', '.join(shipped_suites())} or a .toml file"
            )
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
    """Parse and check a suite file: every key known, every value of its type and range, every
    name one the plug-ins offer; errors name the file, the table and the key (for bad TOML, the
    line). A ``spec`` table's values come back typed (:func:`overrides.spec_table`)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(f"{path}: malformed TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise SuiteError(f"{path}: not a UTF-8 text file ({exc})") from exc
    _check_table(f"{path}", data, TOP_KEYS)
    runs = data.get("runs")
    if not runs:
        raise SuiteError(f"{path}: a suite needs at least one [[runs]] table")
    if data.get("twin"):
        _check_names(f"{path}: twin", "implementation", [data["twin"]], list(registry.implementations()))
    for i, run in enumerate(runs, start=1):
        where = f"{path} [[runs]] #{i}"
        _check_table(where, run, RUN_KEYS)
        run["spec"] = overrides.spec_table(where, run.get("spec", {}))
        if "specs" in run:
            run["specs"] = [
                overrides.spec_table(f"{where} specs #{j}", s) for j, s in enumerate(run["specs"], 1)
            ]
        _check_modes(where, run.get("impls", ["*"]), run.get("modes", data.get("modes", DEFAULTS["modes"])))
    return data


_HINT_KEYS = {"run": RUN_KEYS, "top": TOP_KEYS, "spec": set(overrides.SETTABLE)}
_HINTS = {
    "run": "tasks, impls, spec and specs belong in a [[runs]] table",
    "top": "description, threads and twin are the whole suite's, at the top of the file",
    "spec": "a spec field belongs in a [[runs]] table's spec, e.g. spec = { epochs = 5 }",
}


def _check_table(where: str, table: dict[str, Any], valid: set[str]) -> None:
    """Every key of ``table`` in ``valid`` and its value as :data:`KEYS` says; names known."""
    unknown = set(table) - valid
    if unknown:
        hints = [_HINTS[k] for k in ("run", "top", "spec") if unknown & _HINT_KEYS[k] - valid]
        raise SuiteError(
            f"{where}: unknown key(s) {sorted(unknown)}; valid: {', '.join(sorted(valid))}"
            + "".join(f" ({hint})" for hint in hints)
        )
    for key, value in table.items():
        test, expected = KEYS[key]
        if not test(value):
            raise SuiteError(f"{where}: {key} = {value!r}: expected {expected}")
    known = {
        "tasks": ("task", list(registry.tasks())),
        "impls": ("implementation", ["*", *registry.implementations()]),
        "devices": ("device", list(DEVICES)),
    }
    for key, (kind, valid_names) in known.items():
        if key in table:
            _check_names(f"{where}: {key}", kind, table[key], valid_names)


def _check_names(where: str, kind: str, names: list[str], valid: list[str]) -> None:
    try:
        check_names(kind, names, valid)
    except UnknownName as exc:
        raise UnknownName(f"{where}: {exc}") from None


def _declared(impls: list[str]) -> dict[str, tuple[str, ...]]:
    """Each of ``impls`` (``"*"``: every one) with the modes it declares."""
    known = registry.implementations()
    return {name: known[name].declared_modes for name in (list(known) if "*" in impls else impls)}


def _check_modes(where: str, impls: list[str], modes: list[str]) -> None:
    """Every mode named in ``modes`` exists: each implementation named in ``impls`` has it, or,
    where ``impls`` is ``"*"``, some implementation has it (as some named one must have a mode
    that ``"-name"`` leaves out). ``"*"`` is each implementation's own modes."""
    declared = _declared(impls)
    for mode in modes:
        name = mode.removeprefix("-")
        lacking = [impl for impl, modes_of in declared.items() if name not in modes_of]
        if mode == "*" or not lacking:
            continue
        if "*" not in impls and not mode.startswith("-"):
            impl = lacking[0]
            raise SuiteError(f"{where}: {impl} has no mode {name!r}; its modes: {', '.join(declared[impl])}")
        if len(lacking) == len(declared):
            every = sorted({m for modes_of in declared.values() for m in modes_of})
            of = "" if "*" in impls else f" of {', '.join(impls)}"
            raise SuiteError(f"{where}: no implementation{of} has mode {name!r}; valid: {', '.join(every)}")


def _expand_modes(impl: str, modes: list[str]) -> list[str]:
    """The modes of ``modes`` that ``impl`` declares (one it cannot run here is kept, to be
    recorded as unavailable): ``"*"`` is every one, ``"-name"`` leaves ``name`` out, e.g.
    ``["*", "-default"]`` is every fast path; a mode asked for by name that ``impl`` does not
    have narrows it out (where it was named for ``impl``, it was refused before)."""
    declared = registry.get(impl).declared_modes
    chosen = [m for name in modes if not name.startswith("-") for m in (declared if name == "*" else [name])]
    excluded = {name[1:] for name in modes if name.startswith("-")}
    return [m for m in dict.fromkeys(chosen) if m in declared and m not in excluded]


def _narrow(values: list[Any], selection: list[Any] | None) -> list[Any]:
    return values if selection is None else [v for v in values if v in selection]


def check_selection(selection: Selection) -> None:
    """Every value of ``selection`` (what a command line asked for) of its type and range and
    every name known, each error naming its option, the value and what is valid."""
    for option, kind, names, valid in (
        ("--task", "task", selection.tasks, list(registry.tasks())),
        ("--impl", "implementation", selection.impls, list(registry.implementations())),
        ("--device", "device", selection.devices, list(DEVICES)),
    ):
        if names is not None:
            _check_names(f"{option} {' '.join(names)}", kind, names, valid)
    if selection.modes is not None:
        impls = selection.impls if selection.impls is not None else ["*"]
        _check_modes(f"--mode {' '.join(selection.modes)}", impls, selection.modes)
    _check_number("--epochs", "epochs", selection.epochs)
    for seed in selection.seeds or []:
        if not _seed(seed):
            raise SuiteError(f"--seeds {seed}: seeds must be >= 0 and <= {MAX_SEED} (whole numbers)")
    if selection.timeout_s is not None and not _seconds(selection.timeout_s):
        raise SuiteError(f"--timeout {selection.timeout_s}: the timeout must be a number of seconds > 0")
    if selection.epochs_per_round is not None and not _whole(1)(selection.epochs_per_round):
        raise SuiteError(f"--epochs-per-round {selection.epochs_per_round}: must be a positive integer")
    if selection.threads is not None and not _whole(1)(selection.threads):
        raise SuiteError(f"--threads {selection.threads}: threads must be >= 1 (a whole number)")
    if selection.twin:
        _check_names(
            f"--twin {selection.twin}", "implementation", [selection.twin], list(registry.implementations())
        )


def _check_number(option: str, name: str, value: Any) -> None:
    if value is None:
        return
    try:
        field_value(name, value)
    except FieldError as exc:
        raise SuiteError(f"{option} {value}: {overrides.why(exc)}") from exc


def expand(name: str, data: dict[str, Any], selection: Selection) -> list[RunRequest]:
    """Every run of the suite ``data`` as narrowed and overridden by ``selection``."""
    return [request for tier in expand_tiers(name, data, selection) for request in tier.requests]


def expand_tiers(name: str, data: dict[str, Any], selection: Selection) -> list[Tier]:
    """Each ``[[runs]]`` table of ``data`` as a :class:`Tier`: its priority, its words, its runs."""
    cli_spec = overrides.parse_set(selection.overrides)
    if selection.epochs is not None:
        cli_spec["epochs"] = selection.epochs
    tiers = []
    for run in data["runs"]:
        requests: list[RunRequest] = []
        merged = {**DEFAULTS, **{k: v for k, v in data.items() if k in DEFAULTS}, **run}
        tasks = _narrow(merged.get("tasks", list(registry.tasks())), selection.tasks)
        impls = _narrow(list(_declared(merged.get("impls", ["*"]))), selection.impls)
        devices = _narrow(merged["devices"], selection.devices)
        modes = merged["modes"] if selection.modes is None else selection.modes
        seeds = merged["seeds"] if selection.seeds is None else selection.seeds
        specs = [{**run.get("spec", {}), **each, **cli_spec} for each in run.get("specs", [{}])]
        combos = [(impl, mode) for impl in impls for mode in _expand_modes(impl, modes)]
        for task, spec, (impl, mode), device, seed in itertools.product(tasks, specs, combos, devices, seeds):
            requests.append(
                RunRequest(
                    task=task,
                    impl=impl,
                    device=device,
                    mode=mode,
                    seed=int(seed),
                    overrides=spec,
                    suite=name,
                    timeout_s=float(selection.timeout_s or merged["timeout_s"]),
                    step_samples=int(merged["step_samples"]),
                    eval_repeats=int(merged["eval_repeats"]),
                    track_test=bool(merged["track_test"]),
                    epochs_per_round=int(selection.epochs_per_round or merged["epochs_per_round"]),
                    purpose=str(merged["purpose"]),
                )
            )
        if requests:
            tiers.append(Tier(int(run.get("priority", 0)), str(run.get("description", "")), requests))
    return tiers


def validate(requests: list[RunRequest]) -> None:
    """Resolve every spec now, so a bad value fails before the first run, not in the middle."""
    check_names("device", sorted({r.device for r in requests}), DEVICES)
    for request in requests:
        if request.seed < 0:
            raise SuiteError(f"seeds must be >= 0, got {request.seed}")
        if request.timeout_s <= 0:
            raise SuiteError(f"timeout must be > 0 seconds, got {request.timeout_s}")
        try:
            spec = request.spec
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


def _offers(data: dict[str, Any]) -> str:
    """What a suite runs, for the error that a selection matches none of it."""
    found: dict[str, set[str]] = {"tasks": set(), "impls": set(), "devices": set(), "modes": set()}
    for run in data["runs"]:
        merged = {**DEFAULTS, **{k: v for k, v in data.items() if k in DEFAULTS}, **run}
        impls = list(_declared(merged.get("impls", ["*"])))
        found["tasks"].update(merged.get("tasks", registry.tasks()))
        found["impls"].update(impls)
        found["devices"].update(merged["devices"])
        found["modes"].update(m for impl in impls for m in _expand_modes(impl, merged["modes"]))
    return "; ".join(f"{key} {', '.join(sorted(values))}" for key, values in found.items())


def plan_for(selection: Selection) -> Plan:
    """The plan for ``harness run``: a suite (default: ``default``) narrowed by the selections,
    or, with selections and no suite, exactly the selection (all tasks/impls, cpu, seed 0).
    Every value is checked (:func:`check_selection`, :func:`load_suite`) before any is used."""
    check_selection(selection)
    selections = [selection.tasks, selection.impls, selection.devices, selection.modes, selection.seeds]
    if selection.suite is None and any(s is not None for s in selections):
        run = {
            "tasks": selection.tasks or list(registry.tasks()),
            "impls": selection.impls or ["*"],
            "devices": selection.devices or ["cpu"],
        }
        name, data = "adhoc", {"runs": [run]}
    else:
        path = suite_path("default" if selection.suite is None else selection.suite)
        name, data = path.stem, load_suite(path)
    tiers = expand_tiers(name, data, selection)
    requests = [request for tier in tiers for request in tier.requests]
    if not requests:
        raise SuiteError(f"the selection matches no run of suite {name!r}, which runs {_offers(data)}")
    validate(requests)
    twin = data.get("twin", TWIN_DEFAULT) if selection.twin is None else selection.twin
    if twin:
        requests = with_twins(requests, twin)
    threads = selection.threads if selection.threads is not None else data.get("threads")
    plan = Plan(name, requests, tiers=tiers, twin=twin, budget_s=data.get("budget_s"))
    if threads is not None:
        plan.threads = int(threads)
    return plan
