"""The error types every layer raises: a leaf module, imported by all and importing nothing.

Everything that is the user's input being wrong derives from :class:`UsageError`; the CLI maps it
to ``error: <message>`` and exit status 2, in one place (``harness.cli.main``). Each message says
what was wrong and what is valid.
"""

from __future__ import annotations


class UsageError(Exception):
    """Bad input from the user: printed as ``error: ...`` with exit status 2."""


class UnknownName(UsageError, KeyError):
    """An unknown task, implementation, device, mode or suite; the message lists the valid ones."""

    def __str__(self) -> str:
        return str(self.args[0])


class SpecError(UsageError, ValueError):
    """A spec value is invalid; the message names the field, the value and what is valid."""


class FieldError(SpecError):
    """One value its field cannot take: names the field, the value and what is valid (``valid``,
    e.g. "a number > 0"), so a caller can say where the value came from (``--set``, a suite)."""

    def __init__(self, name: str, value: object, valid: str) -> None:
        super().__init__(f"{name} must be {valid}, got {value!r}")
        self.name, self.value, self.valid = name, value, valid

    def __reduce__(self) -> tuple[type, tuple[str, object, str]]:
        return FieldError, (self.name, self.value, self.valid)


class SuiteError(SpecError):
    """A suite that cannot be used: unknown name, malformed TOML (with its line), bad values."""


class ThresholdError(UsageError, ValueError):
    """A ``--fail`` spec could not be read; the message lists the valid metrics and forms."""


class CompareInputError(UsageError):
    """Input that cannot be compared (no baseline, no comparable runs, other machine)."""


class CalibrationError(UsageError, RuntimeError):
    """A calibration cache file that cannot be used; the message names the file and what is wrong."""


class RecordError(ValueError):
    """A dict is not a valid run record; the message says which field is wrong.

    Not a usage error: a reader skips such a line and lists it, it does not stop."""


def check_names(kind: str, names: list[str] | tuple[str, ...], valid: list[str] | tuple[str, ...]) -> None:
    """Raise :class:`UnknownName` if any of ``names`` is not in ``valid``, listing the valid ones."""
    bad = [n for n in names if n not in valid]
    if bad:
        raise UnknownName(f"unknown {kind} {', '.join(map(repr, bad))}; valid: {', '.join(valid)}")
