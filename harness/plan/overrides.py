"""The spec overrides a person writes, ``--set FIELD=VALUE`` and a suite's ``spec`` table: each
value checked by its field's rule (:data:`harness.problem.train_spec.FIELDS`) and given its type
before anything runs, and the overrides that contradict each other found.

A ``--set`` value is read as TOML (``3``, ``0.1``, ``[64, 32]``, ``'sgd'``), else as the text
itself (``sgd``); ``hidden=64`` is one hidden layer of 64, ``hidden=[]`` none. The fields the
plan sets itself (the task and its shape, the seed) are refused with the option that sets them.
"""

from __future__ import annotations

import tomllib
from typing import Any

from harness.errors import FieldError, SpecError, SuiteError
from harness.problem.train_spec import FIELDS, field_value

OWNED = {
    "task": "the task is chosen with --task (in a suite: tasks)",
    "n_features": "the task sets it",
    "n_classes": "the task sets it",
    "seed": "seeds are chosen with --seeds (in a suite: seeds)",
}
SETTABLE = tuple(name for name in FIELDS if name not in OWNED)
SET_FORMS = "e.g. --set epochs=5 learning_rate=0.01 optimizer=sgd hidden=[64,32]"


def override(name: str, value: Any) -> Any:
    """``value`` checked for spec field ``name`` and given its type (``hidden`` as a list, as
    TOML and JSON write it); a :class:`SpecError` says what is valid."""
    if name in OWNED:
        raise SpecError(f"{name} cannot be overridden: {OWNED[name]}")
    if name not in FIELDS:
        raise SpecError(f"unknown spec field {name!r}; valid: {', '.join(SETTABLE)}")
    typed = field_value(name, value)
    return list(typed) if isinstance(typed, tuple) else typed


def why(exc: SpecError) -> str:
    """What was wrong with a value, for a message that has already quoted it."""
    return f"{exc.name} must be {exc.valid}" if isinstance(exc, FieldError) else str(exc)


def spec_table(where: str, table: Any) -> dict[str, Any]:
    """A suite's ``spec`` table, every value checked (``where``: the file and table, for errors)."""
    if not isinstance(table, dict):
        raise SuiteError(
            f"{where}: spec = {table!r}: expected a table of fields, e.g. spec = {{ epochs = 5 }}"
        )
    out = {}
    for name, value in table.items():
        try:
            out[name] = override(name, value)
        except SpecError as exc:
            raise SuiteError(f"{where}: spec.{name} = {value!r}: {why(exc)}") from exc
    return out


def parse_set(items: list[str]) -> dict[str, Any]:
    """``["epochs=3", "hidden=[64,64]"]`` -> the overrides, each checked; the last of a field
    given twice wins (:func:`conflicts` warns of it)."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise SuiteError(
                f"--set expects FIELD=VALUE, got {item!r} ({SET_FORMS}); fields: {', '.join(SETTABLE)}"
            )
        try:
            out[name] = override(name, _read(name, text.strip()))
        except SpecError as exc:
            raise SuiteError(f"--set {item}: {why(exc)}") from exc
    return out


def _read(name: str, text: str) -> Any:
    """``text`` as TOML reads one value, else the text itself (a bare word for a choice field)."""
    try:
        parsed = tomllib.loads(f"v = {text}")
    except tomllib.TOMLDecodeError:
        return text
    if set(parsed) != {"v"}:  # the text held more than one value (a newline and another key)
        return text
    rule = FIELDS.get(name)
    return text if rule is not None and rule.kind is str and not isinstance(parsed["v"], str) else parsed["v"]


def conflicts(items: list[str], epochs: int | None) -> list[str]:
    """One line for each field given more than once, saying which value wins: the last ``--set``
    of a field, and ``--epochs`` over ``--set epochs``."""
    given: dict[str, list[str]] = {}
    for item in items:
        name, _, text = item.partition("=")
        given.setdefault(name.strip(), []).append(text.strip())
    out = [
        f"--set {name} is given {len(values)} times ({', '.join(values)}): the last, "
        f"{name}={values[-1]}, wins"
        for name, values in given.items()
        if len(values) > 1
    ]
    if epochs is not None and "epochs" in given:
        out.append(
            f"--epochs {epochs} and --set epochs={given['epochs'][-1]} both set the epochs: "
            f"--epochs {epochs} wins"
        )
    return out
