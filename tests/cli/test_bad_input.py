"""No bad value reaches the code as a traceback: random argument lists, built from the real
parser's subcommands and options, and random suite files are thrown at ``harness.cli.main``, which
must end with status 0 or 2 (2 with an ``error:`` line), never with an exception.

Every command parses and checks for real; what would then start work is replaced by
:class:`Reached` (the checks passed): a real run (``run`` is always ``--dry-run``), the A/B
gate's checkouts, the calibration, the noise runs and the report. Paths are temporary ones, so
nothing is read from or written into the checkout."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from harness.cli import noise as noise_cli
from harness.cli import options
from harness.cli import run as run_cli
from harness.cli.main import build_parser, main
from harness.plan import suites
from harness.plan.overrides import OWNED, SETTABLE
from harness.plugins import registry
from harness.report import build
from harness.run import ab, calibration, worker_client
from harness.run import machine as run_machine

SETTINGS = settings(
    max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


class Reached(Exception):
    """The command's checks passed and it would now start its work."""


def _reached(*args: Any, **kwargs: Any) -> None:
    raise Reached


@contextlib.contextmanager
def no_work() -> Iterator[None]:
    """Every place a command starts its work raises :class:`Reached` (a worker process too, in
    case a command gains a path to one); the machine has no GPU, so answers do not depend on it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run_cli, "run_plan", _reached)
        patch.setattr(noise_cli, "back_to_back", _reached)
        patch.setattr(ab, "resolve", _reached)
        patch.setattr(calibration, "calibrate", _reached)
        patch.setattr(build, "build_report", _reached)
        patch.setattr(worker_client.Worker, "__init__", _reached)
        patch.setattr(run_machine, "gpu_reason", lambda: "no GPU (faked)")
        yield


@pytest.fixture(scope="module")
def paths(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Temporary paths of every kind a path option may be given, while commands do no work."""
    root = tmp_path_factory.mktemp("argv")
    (root / "empty").mkdir()
    (root / "garbage.jsonl").write_text("not json\n{}\n")
    (root / "binary.toml").write_bytes(b"\xff\xfe\x00")
    (root / "suite.toml").write_text('[[runs]]\ntasks = ["iris"]\nimpls = ["numpy"]\n')
    pool = [str(root / n) for n in ("empty", "garbage.jsonl", "binary.toml", "suite.toml", "missing")]
    with no_work():
        yield pool


def _commands() -> dict[tuple[str, ...], argparse.ArgumentParser]:
    """Every (sub)command of the real parser, e.g. ``("run",)``, ``("baseline", "save")``."""
    out: dict[tuple[str, ...], argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            out[path] = parser
        for sub in subs:
            for name, child in sub.choices.items():
                walk(child, (*path, name))

    walk(build_parser(), ())
    return out


COMMANDS = _commands()
NAMES = [
    *registry.tasks(),
    *registry.implementations(),
    *options.modes(),
    *suites.shipped_suites(),
    "cpu",
    "gpu",
]
WORDS = ["", " ", "*", "-default", "0", "1", "3", "-1", "64", "1.5", "1e309", "nan", "inf", "-inf", "5%",
         "150%", "%", "true", "[]", "[64,32]", "[0]", "x=y", "=", "1/2", "3/2", "0/4", "HEAD", "²", "٣",
         "turbo", "tpu", "mxnet", "nightly", "a\nb", "'sgd'", "\"\"", "{}", "1979-05-27"]  # fmt: skip
FIELDS = [*SETTABLE, *OWNED, "lr", "", " epochs"]
HUGE = 10**400  # a whole number TOML reads, and no float holds
SPEC_VALUES = ["fast", "0", "-1", "3", "2.5", "1e-3", "nan", "inf", "true", "64", "[]", "[64,32]", "[0]",
               "[64,'x']", "sgd", "'adam'", "relu", "1,2", "", "3\nx = 4", "[[1]]", "{a=1}",
               str(HUGE)]  # fmt: skip
texts = st.text(max_size=6)
words = st.one_of(st.sampled_from([*WORDS, *NAMES, str(HUGE)]), texts, st.integers(-3, 10**6).map(str))
set_items = st.one_of(st.builds("{}={}".format, st.sampled_from(FIELDS), st.sampled_from(SPEC_VALUES)), words)
# Values each option takes, so that most examples get past the parser into the checks behind it.
VALID_BY_DEST = {
    "task": list(registry.tasks()),
    "impl": list(registry.implementations()),
    "twin": list(registry.implementations()),
    "mode": [*options.modes(), "*"],
    "device": ["cpu", "gpu"],
    "suite": suites.shipped_suites(),
    "set": ["epochs=3", "learning_rate=0.01", "hidden=[]", "hidden=64", "optimizer=sgd", "dropout=0.1"],
    "seeds": ["0", "1"],
    "shard": ["1/2", "2/2"],
    "baseline": ["HEAD", "."],
    "candidate": ["HEAD", "."],
    "good": ["HEAD~3", "HEAD~1", "HEAD"],
    "bad": ["HEAD"],
    "baseline_env": ["A=1"],
    "candidate_env": ["A=1"],
    "fail": ["step_time:median:10%", "test_accuracy:-0.01"],
    "name": ["merged"],
}
VALID_BY_TYPE = {
    options.positive: ["1", "2", "3"],
    options.whole: ["0", "3", "4", "12"],
    options.seconds: ["30", "0.5"],
    options.percent: ["5%", "0.2"],
    options.unit_interval: ["0.01"],
}


def _values(action: argparse.Action, pool: list[str]) -> st.SearchStrategy[list[str]]:
    if action.nargs == 0:
        return st.just([])
    valid = list(action.choices or VALID_BY_DEST.get(action.dest) or VALID_BY_TYPE.get(action.type) or ["x"])
    bad = st.sampled_from(pool) if action.type is Path else set_items if action.dest == "set" else words
    good = st.sampled_from(pool) if action.type is Path else st.sampled_from(valid)
    one = st.sampled_from([good, good, good, bad]).flatmap(lambda strategy: strategy)
    if action.nargs in ("+", "*"):
        return st.lists(one, min_size=1, max_size=3)
    if action.nargs == "?":
        return st.lists(one, max_size=1)
    return one.map(lambda value: [value])


@st.composite
def argv(draw: st.DrawFn, pool: list[str], commands: list[tuple[str, ...]] | None = None) -> list[str]:
    """A command (of ``commands``, default all), a few of its options (real names, random
    values) and its positionals."""
    path = draw(st.sampled_from(commands or sorted(COMMANDS)))
    parser = COMMANDS[path]
    options = [a for a in parser._actions if a.option_strings and a.dest != "help"]
    out = [*path, "--results", draw(st.sampled_from(pool))]
    for action in draw(st.lists(st.sampled_from(options), max_size=6)) if options else []:
        out += [draw(st.sampled_from(action.option_strings)), *draw(_values(action, pool))]
    for action in (a for a in parser._actions if not a.option_strings):
        out += draw(_values(action, pool))
    if path == ("run",):
        out.append("--dry-run")
    if path == ("compare",):
        out += ["--current", draw(st.sampled_from(pool))]
    if draw(st.integers(0, 30)) == 17:  # not 0: hypothesis favours the smallest value
        out.append("--help")
    return out


def _event(args: list[str], status: int | str) -> None:
    """For --hypothesis-show-statistics: how far the examples got, per command."""
    event(f"{args[0]}: {'help' if '--help' in args else status}")


def _status(args: list[str]) -> tuple[int | str, str]:
    """``main(args)``'s exit status (``"reached"``: its checks passed) and its stderr."""
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            status: int | str = main(args)
        except SystemExit as stop:
            status = stop.code if isinstance(stop.code, int) else 2
        except Reached:
            status = "reached"
    return status, err.getvalue()


def _assert_clean(args: list[str], status: int | str, err: str) -> None:
    assert status in (0, 2, "reached"), (args, status, err)
    if status == 2:
        assert "error:" in err, (args, err)
    assert "Traceback" not in err, (args, err)
    for line in err.splitlines():
        if line.startswith("warning"):
            assert line.startswith("warning: "), line


@SETTINGS
@given(data=st.data())
def test_random_argument_lists_end_in_0_or_2_never_a_traceback(paths: list[str], data: st.DataObject) -> None:
    args = data.draw(argv(paths))
    status, err = _status(args)
    _event(args, status)
    _assert_clean(args, status, err)


@SETTINGS
@given(data=st.data())
def test_random_run_options_end_in_0_or_2_never_a_traceback(paths: list[str], data: st.DataObject) -> None:
    """`run`, the command with the most options, on its own."""
    args = data.draw(argv(paths, [("run",)]))
    status, err = _status(args)
    _event(args, status)
    _assert_clean(args, status, err)


def _toml(value: Any) -> str:
    """One TOML value (floats as TOML spells nan and inf)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml, value)) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


scalars = st.one_of(
    st.booleans(),
    st.integers(-2, 300),
    st.sampled_from([HUGE, -HUGE]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(NAMES + ["*", "-default", "", "fast", "sgd", "relu"]),
    texts,
)
toml_values = st.one_of(scalars, st.lists(scalars, max_size=3))
GOOD_SPEC = {
    "epochs": [3, 4, 12],
    "learning_rate": [0.01, 1],
    "hidden": [[8], [], 16],
    "optimizer": ["sgd", "adam"],
    "batch_size": [8, 16],
    "dropout": [0.1],
    "train_fraction": [0.5, 1.0],
}
good_specs = st.lists(st.sampled_from(sorted(GOOD_SPEC)), max_size=3, unique=True).flatmap(
    lambda keys: st.fixed_dictionaries({k: st.sampled_from(GOOD_SPEC[k]) for k in keys})
)
GOOD_SUITE = {
    "description": st.just("x"),
    "tasks": st.lists(st.sampled_from(registry.tasks()), min_size=1, max_size=2),
    "impls": st.lists(st.sampled_from(["*", *registry.implementations()]), min_size=1, max_size=2),
    "modes": st.sampled_from([["default"], ["*"], ["*", "-default"], ["fast"]]),
    "devices": st.sampled_from([["cpu"], ["cpu", "gpu"]]),
    "seeds": st.sampled_from([[0], [0, 1]]),
    "timeout_s": st.sampled_from([60, 0.5]),
    "step_samples": st.just(2),
    "eval_repeats": st.just(1),
    "threads": st.just(1),
    "track_test": st.booleans(),
    "epochs_per_round": st.sampled_from([1, 3]),
    "twin": st.sampled_from(["", "torch"]),
    "spec": st.one_of(good_specs, st.dictionaries(st.sampled_from(FIELDS), toml_values, max_size=3)),
}
suite_keys = sorted(suites.KEYS) + ["epochs", "impl"]


def _value(key: str) -> st.SearchStrategy[Any]:
    """Mostly a value of the key's type (so most files get past the first key), else any value."""
    good = GOOD_SUITE.get(key, toml_values)
    return st.sampled_from([good, good, good, toml_values]).flatmap(lambda strategy: strategy)


@st.composite
def _table(draw: st.DrawFn, size: int) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from(suite_keys), max_size=size, unique=True))
    return {key: draw(_value(key)) for key in keys if key != "runs"}


@st.composite
def suite_text(draw: st.DrawFn) -> str:
    """A suite file: random top-level keys and [[runs]] tables, every key a real one or a near
    miss, most values of their key's type."""
    lines = [f"{key} = {_toml(value)}" for key, value in draw(_table(3)).items()]
    for _ in range(draw(st.integers(0, 2))):
        lines += ["[[runs]]", *(f"{key} = {_toml(value)}" for key, value in draw(_table(4)).items())]
    return "\n".join(lines) + "\n"


@SETTINGS
@given(
    items=st.lists(
        st.builds(
            "{}={}".format,
            st.sampled_from(FIELDS),
            st.one_of(st.sampled_from(SPEC_VALUES), texts, toml_values.map(lambda v: _toml(v))),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_random_set_values_end_in_0_or_2_never_a_traceback(paths: list[str], items: list[str]) -> None:
    args = ["run", "--dry-run", "--task", "iris", "--impl", "numpy", "--set", *items]
    status, err = _status(args)
    event(f"set: {status}")
    _assert_clean(args, status, err)


@SETTINGS
@given(
    text=suite_text(), extra=st.lists(st.sampled_from([["--seeds", "0"], ["--mode", "*"], ["--epochs", "3"]]))
)
def test_random_suite_files_end_in_0_or_2_never_a_traceback(
    paths: list[str], tmp_path_factory: pytest.TempPathFactory, text: str, extra: list[list[str]]
) -> None:
    suite = tmp_path_factory.mktemp("suite") / "random.toml"
    suite.write_text(text)
    args = ["run", "--dry-run", "--suite", str(suite), *(a for pair in extra for a in pair)]
    status, err = _status(args)
    event(f"suite: {status}")
    _assert_clean([*args, text], status, err)


BAD_VALUES = [
    (["run", "--mode", "turbo"], "error: --mode turbo: no implementation has mode 'turbo'; valid: "),
    (
        ["run", "--impl", "keras", "--mode", "scan"],
        "error: --mode scan: keras has no mode 'scan'; its modes: ",
    ),
    (
        ["run", "--set", "learning_rate=fast"],
        "error: --set learning_rate=fast: learning_rate must be a number > 0",
    ),
    (
        ["run", "--set", "hidden=[64,x]"],
        "error: --set hidden=[64,x]: hidden must be a list of positive integers",
    ),
    (["run", "--timeout", "nan"], "argument --timeout: 'nan' must be a number of seconds > 0"),
    (["run", "--epochs", "x"], "argument --epochs: 'x' is not a whole number"),
    (["report", "--results", "1" * 400], "is not a usable path: File name too long"),  # hypothesis found it
    (["predict", "--task", "iris", "--set", "hidden=[64,x]"], "hidden must be a list of positive integers"),
    (["noise", "--mode", "turbo"], "error: --mode turbo: torch has no mode 'turbo'; its modes: "),
    (
        ["noise", "--impl", "keras-torch", "--mode", "fast"],
        "error: --impl keras-torch --mode fast cannot run here",
    ),
    (["noise", "--runs", "2"], "error: --runs 2: must be at least 3"),
    (["ab", "--budget", "-5"], "argument --budget: '-5' must be a number of seconds > 0"),
    (["ab", "--accuracy-drop", "2"], "argument --accuracy-drop: '2' must be a number from 0 to 1"),
    (["ab", "--candidate-env", "X"], "error: --candidate-env 'X': expected NAME=VALUE"),
    (["calibrate", "--device", "tpu"], "error: --device tpu: unknown device 'tpu'; valid: cpu, gpu"),
    (["merge", "x", "--name", "a/b"], "argument --name: 'a/b' must be letters, digits"),
]


@pytest.mark.parametrize(("args", "message"), BAD_VALUES)
def test_bad_values_name_the_option_the_value_and_what_is_valid(
    paths: list[str], args: list[str], message: str
) -> None:
    status, err = _status([*args, "--results", paths[0]] + (["--dry-run"] if args[0] == "run" else []))
    assert status == 2 and message in err, err


WARNINGS = [
    (["--threads", "4096"], "warning: --threads 4096 is more than this machine's "),
    (["--device", "gpu"], "warning: --device gpu: this machine has no usable GPU: no GPU (faked); "),
    (
        ["--set", "epochs=5", "--epochs", "7"],
        "warning: --epochs 7 and --set epochs=5 both set the epochs: --epochs 7",
    ),
    (["--schedule", "sequential", "--twin", "jax"], "warning: --twin jax is ignored: --schedule sequential"),
]


@pytest.mark.parametrize(("args", "warning"), WARNINGS)
def test_valid_but_doubtful_values_warn_and_run(paths: list[str], args: list[str], warning: str) -> None:
    status, err = _status(["run", "--dry-run", "--task", "iris", "--impl", "numpy", "torch", *args])
    assert status == 0 and warning in err, err


def test_a_place_nothing_can_be_written_is_refused_before_any_work(paths: list[str]) -> None:
    """A results folder that is a file, an output file that is a folder or under a file: refused
    when parsed, not when the work is done and its results are to be written."""
    folder, a_file = paths[0], paths[1]
    for args, message in [
        (
            ["run", "--dry-run", "--results", a_file],
            f"argument --results: '{a_file}' is a file, not a folder",
        ),
        (
            ["report", "--results", folder, "--out", folder],
            f"argument --out: '{folder}' is a folder, not a file",
        ),
        (
            ["ab", "--results", folder, "--markdown", f"{a_file}/m.md"],
            f"cannot be written: {a_file} is a file",
        ),
    ]:
        status, err = _status(args)
        assert status == 2 and message in err, err


def _list_options() -> list[tuple[str, argparse.Action]]:
    """Every optional argument of every subcommand that takes several values."""
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return [
        (name, action)
        for name, parser in sub.choices.items()
        for action in parser._actions
        if action.option_strings and action.nargs in ("+", "*")
    ]


def test_an_option_given_twice_keeps_both_lists() -> None:
    """``--set a=1 --set b=2`` (or ``--impl torch --impl jax``) keeps every value: a repeated list
    option that replaced the first list would drop a user's setting without a word and run, or
    predict, another network than the one asked for."""
    found = _list_options()
    assert {"--set", "--impl", "--task", "--seeds"} <= {o for _, a in found for o in a.option_strings}
    for name, action in found:
        assert isinstance(action, options.Several), f"{name} {action.option_strings[0]} replaces the list"
        assert not action.default, f"{name} {action.option_strings[0]}: a default list would be extended"
    argv = [
        "run",
        "--set",
        "epochs=3",
        "--set",
        "hidden=[8]",
        "batch_size=4",
        "--impl",
        "torch",
        "--impl",
        "jax",
    ]
    args = build_parser().parse_args(argv)
    assert args.set == ["epochs=3", "hidden=[8]", "batch_size=4"] and args.impl == ["torch", "jax"]
    assert build_parser().parse_args(["calibrate"]).device is None  # cpu, filled in by the command


def test_a_value_given_twice_plans_its_run_once_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    argv = [
        "run",
        "--task",
        "iris",
        "--task",
        "iris",
        "--impl",
        "torch",
        "torch",
        "--seeds",
        "0",
        "0",
        "--no-twin",
        "--dry-run",
    ]
    assert main([*argv, "--results", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert out.count("iris/torch[default]@cpu seed=0") == 1, out
    for said in ("--task iris", "--impl torch", "--seeds 0"):
        assert f"warning: {said} is given twice: kept once" in err
