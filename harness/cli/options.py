"""The options several subcommands share, declared once: where results live, how many threads,
which runs (with the valid names listed in the help, read from the plug-ins), the argument
types that check a value and say what is valid, and the warnings about values that are valid
but probably not meant (one line each on stderr, starting ``warning:``)."""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from pathlib import Path

from harness.cli.paths import DEFAULT_RESULTS
from harness.errors import UsageError
from harness.plan.overrides import SETTABLE
from harness.plan.suites import shipped_suites
from harness.plugins import registry
from harness.problem.train_spec import DEVICES


def percent(text: str) -> float:
    """``5%`` or ``0.05``: a fraction strictly between 0 and 1."""
    try:
        value = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a fraction or a percentage (e.g. 5%)") from exc
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 0 and 100%")
    return value


def positive(text: str) -> int:
    """A whole number of at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive whole number")
    return int(text)


def whole(text: str) -> int:
    """Any whole number (its range is checked with the rest of the plan, which says what is valid)."""
    try:
        return int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from exc


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    return value


def seconds(text: str) -> float:
    """A number of seconds above 0."""
    value = _number(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} must be a number of seconds > 0")
    return value


def unit_interval(text: str) -> float:
    """A number from 0 to 1 (an accuracy, a fraction)."""
    value = _number(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a number from 0 to 1")
    return value


def file_word(text: str) -> str:
    """A word that becomes part of a file name: letters, digits, ``.``, ``_`` and ``-``."""
    if not re.fullmatch(r"[A-Za-z0-9._-]+", text) or text.strip(".") == "":
        raise argparse.ArgumentTypeError(
            f"{text!r} must be letters, digits, '.', '_' or '-' (part of a file name)"
        )
    return text


def _unwritable(path: Path, folder: bool) -> str | None:
    """Why nothing could be written at ``path`` (a ``folder``, or a file), or ``None``."""
    if path.exists() and path.is_dir() != folder:
        return "is a folder, not a file" if path.is_dir() else "is a file, not a folder"
    ancestor = next(p for p in [path, *path.parents] if p.exists() or p == p.parent)
    if not ancestor.is_dir():
        return f"cannot be written: {ancestor} is a file"
    if not os.access(ancestor, os.W_OK):
        return f"cannot be written: this user cannot write in {ancestor}"
    return None


def output_file(text: str) -> Path:
    """A file the command writes when it ends: not a folder, under one that can be written."""
    try:
        problem = _unwritable(Path(text), folder=False)
    except OSError as exc:  # a name the file system refuses (too long, ...)
        raise argparse.ArgumentTypeError(f"{text[:60]!r} is not a usable path: {exc.strerror}") from exc
    if problem:
        raise argparse.ArgumentTypeError(f"{text!r} {problem}")
    return Path(text)


def folder(text: str) -> Path:
    """A folder (or a path where one can be made), not a file."""
    path = Path(text)
    try:
        is_file = path.exists() and not path.is_dir()
    except OSError as exc:  # a name the file system refuses (too long, ...)
        raise argparse.ArgumentTypeError(f"{text[:60]!r} is not a usable path: {exc.strerror}") from exc
    if is_file:
        raise argparse.ArgumentTypeError(f"{text!r} is a file, not a folder")
    return path


def check_writable(path: Path, option: str = "--results") -> None:
    """Refuse, before any work, a folder (``--results``) the command could not write into."""
    problem = _unwritable(path, folder=True)
    if problem:
        raise UsageError(f"{option} {path} {problem}")


class Several(argparse.Action):
    """An option that takes several values (``nargs="+"``), after it or after it again: ``--set a=1
    --set b=2`` keeps both (argparse's plain list option would keep only the last list and drop the
    first without a word). A value given twice is kept once, with a warning: ``--seeds 0 0`` or
    ``--task iris --task iris`` would otherwise plan the same run twice."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        kept = list(getattr(namespace, self.dest, None) or [])
        for value in values if isinstance(values, list) else [values]:
            if value in kept:
                warn([f"{option_string} {value} is given twice: kept once"])
            else:
                kept.append(value)
        setattr(namespace, self.dest, kept)


def warn(lines: list[str]) -> None:
    """Print each of ``lines`` on stderr as ``warning: ...``."""
    for line in lines:
        print(f"warning: {line}", file=sys.stderr)


def machine_warnings(threads: int | None, devices: list[str] | None, what: str = "the runs") -> list[str]:
    """A warning for ``--threads`` above this machine's cores and for a ``--device`` it lacks
    (``what``: what gets the threads or the device)."""
    out = []
    cores = os.cpu_count() or 1
    if threads is not None and threads > cores:
        out.append(
            f"--threads {threads} is more than this machine's {cores} cores: {what} will share them, and "
            "their times measure the sharing"
        )
    if devices and "gpu" in devices:
        from harness.run import machine  # nvidia-smi, only when a gpu is asked for

        reason = machine.gpu_reason()
        if reason is not None:
            out.append(
                f"--device gpu: this machine has no usable GPU: {reason}; {what} on gpu will be unavailable"
            )
    return out


SET_HELP = (
    "spec overrides, each checked by its field's type and range: "
    f"{', '.join(SETTABLE)}; e.g. --set epochs=5 learning_rate=0.01 optimizer=sgd hidden=[64,32] "
    "(hidden=[] no hidden layer, hidden=64 one of 64). Where --epochs is given too, it wins"
)


def add_results(parser: argparse.ArgumentParser, what: str = "") -> None:
    """``--results DIR``: the results folder (``what``: what this command reads or writes there)."""
    extra = f"; {what}" if what else ""
    parser.add_argument(
        "--results",
        type=folder,
        default=DEFAULT_RESULTS,
        metavar="DIR",
        help=f"results folder (default: {DEFAULT_RESULTS}){extra}",
    )


def add_threads(parser: argparse.ArgumentParser) -> None:
    """``--threads N``: the same intra-op thread count for every framework's worker."""
    parser.add_argument(
        "--threads",
        type=positive,
        default=None,
        metavar="N",
        help=f"threads per worker, the same for every framework (default: all {os.cpu_count() or 1} cores)",
    )


def _names(values: object) -> str:
    return ", ".join(map(str, values))


def modes() -> list[str]:
    """Every mode some implementation has."""
    return sorted({m for info in registry.implementations().values() for m in info.modes})


def add_selection(parser: argparse.ArgumentParser, narrow: str = "") -> None:
    """``--task``, ``--impl``, ``--mode``, ``--device``: which runs, each help listing the valid
    names (``narrow``: what the selection narrows, e.g. "the gated runs")."""
    verb = f"narrow {narrow} to these " if narrow else ""
    parser.add_argument(
        "--task",
        action=Several,
        nargs="+",
        metavar="TASK",
        help=f"{verb}task(s): {_names(registry.tasks())}",
    )
    parser.add_argument(
        "--impl",
        action=Several,
        nargs="+",
        metavar="IMPL",
        help=f"{verb}implementation(s): {_names(registry.implementations())} (`python -m harness list` says "
        "what each is)",
    )
    parser.add_argument(
        "--mode",
        action=Several,
        nargs="+",
        metavar="MODE",
        help=f"{verb}execution mode(s): {_names(modes())}; each implementation named with --impl must "
        "have it, else it narrows to the implementations that do ('*': each one's every mode)",
    )
    parser.add_argument(
        "--device", action=Several, nargs="+", metavar="DEVICE", help=f"{verb}device(s): {_names(DEVICES)}"
    )


def add_one_task(parser: argparse.ArgumentParser, default: str | None = None, what: str = "task") -> None:
    """``--task TASK``: one task (``default``: required when ``None``), the valid ones in its help."""
    tail = f" (default {default})" if default else ""
    parser.add_argument(
        "--task", default=default, required=default is None, help=f"{what}{tail}: {_names(registry.tasks())}"
    )


def suite_help(default: str = "") -> str:
    """The ``--suite`` help: the shipped suites, and the default."""
    tail = f" (default: {default})" if default else ""
    return f"a shipped suite ({_names(shipped_suites())}) or the path of a suite TOML file{tail}"
