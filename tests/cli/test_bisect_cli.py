"""``harness bisect`` as a user meets it, on a small git repository made for the test: bad input
is exit 2 with what was wrong and what is valid, before anything is checked out or run; then,
each step's gate replaced by fixed decisions, what it prints and the exit status for a slow
commit found (1), nothing slower (0), a step that cannot tell, a worker that died, a commit whose
workers cannot start and a good end slower than the bad end (3, naming no commit)."""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cli import ab as ab_cli
from harness.cli.main import main
from harness.compare.gate import GateResult, GateRow
from harness.compare.verdicts import CANNOT_TELL, PASS, REGRESSION, Verdict
from harness.errors import UsageError
from harness.run import ab, commits
from harness.run.worker_client import Checkout
from tests.run.test_commits import history

DIED = "candidate crashed in 1 run(s): worker exited with status 3"


@pytest.fixture(scope="module")
def names(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The test repository's commits (c0..c3 in a line, a merge m, c4, c5); bisect reads it."""
    root = tmp_path_factory.mktemp("bisect") / "repo"
    found = history(root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(commits, "linear_span", functools.partial(commits.linear_span, repo=root))
        yield found


class Steps:
    """Stands in for the checkouts and each step's gate: ``verdicts`` by commit name, with ratios;
    ``unstartable``: commits whose checkout cannot run. Counts what was checked out."""

    def __init__(self, names: dict[str, str], verdicts: dict[str, tuple[Verdict, float, str]]) -> None:
        self.by_sha = {names[k]: v for k, v in verdicts.items()}
        self.unstartable = {names[k] for k, v in verdicts.items() if v[0] == "unstartable"}
        self.resolved: list[str] = []

    def resolve(self, spec: ab.SideSpec, stack: object) -> ab.Side:
        self.resolved.append(spec.source)
        if spec.source in self.unstartable:
            raise UsageError(f"candidate {spec.source[:12]}: its torch worker did not start: ImportError")
        return ab.Side(spec.name, spec.source, Checkout(Path("."), "python", {}), spec.source)

    def gate(self, fitted: ab_cli.Fitted, sides: dict, results: Path, started: float) -> tuple:
        verdict, ratio, detail = self.by_sha[sides["candidate"].commit]
        row = GateRow(
            "mnist1d torch default cpu", "step_time", ratio, ratio - 0.02, ratio + 0.02, verdict, detail
        )
        return GateResult([row], fitted.rule), [], results / "ab.jsonl"


def _bisect(tmp_path: Path, names: dict[str, str], *argv: str) -> int:
    return main(["bisect", "--results", str(tmp_path / "results"), *(names.get(a, a) for a in argv)])


def _nothing_runs(patch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("bad input reached a checkout")

    patch.setattr(ab, "resolve", refuse)


BAD_INPUT = [
    (["--good", "nope"], "error: --good 'nope' is not a revision of"),
    (["--good", "c0", "--bad", "no/such"], "error: --bad 'no/such' is not a revision of"),
    (["--good", "c2", "--bad", "c2"], "are the same commit: nothing to bisect"),
    (["--good", "c3", "--bad", "c0"], "the good end is not an ancestor of the bad end"),
    (["--good", "c0", "--bad", "c5"], "not a straight line (1 merge(s)"),
    (["--good", "c2", "--bad", "c3"], "nothing to bisect: the bad end is the good end's child"),
    (["--good", "c0", "--bad", "c3", "--task", "nope"], "error: --task nope: unknown task 'nope'; valid: "),
    (["--good", "c0", "--bad", "c3", "--impl", "nope"], "unknown implementation 'nope'; valid: "),
    (["--good", "c0", "--bad", "c3", "--mode", "turbo"], "--mode turbo: "),
    (["--good", "c0", "--bad", "c3", "--rounds", "1"], "error: --rounds 1: a paired interval needs 2 rounds"),
    (
        ["--good", "c0", "--bad", "c3", "--margin", "5%"],
        "error: --margin 5.0% must be below --threshold 4.0%",
    ),
]


@pytest.mark.parametrize(("argv", "message"), BAD_INPUT)
def test_bad_input_is_exit_2_saying_what_is_valid_and_nothing_runs(
    tmp_path: Path, names: dict[str, str], capsys: pytest.CaptureFixture, argv: list[str], message: str
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        _nothing_runs(patch)
        assert _bisect(tmp_path, names, *argv) == 2
    captured = capsys.readouterr()
    assert message in captured.err and "Traceback" not in captured.err
    assert "step 1" not in captured.out
    assert not (tmp_path / "results" / "ab").exists()


def test_a_child_range_names_the_ab_command_that_answers_it(
    tmp_path: Path, names: dict[str, str], capsys: pytest.CaptureFixture
) -> None:
    assert _bisect(tmp_path, names, "--good", "c2", "--bad", "c3") == 2
    err = capsys.readouterr().err
    assert f"python -m harness ab --baseline {names['c2'][:12]} --candidate {names['c3'][:12]}" in err


def test_a_missing_good_is_an_argparse_error(tmp_path: Path, names: dict[str, str]) -> None:
    with pytest.raises(SystemExit) as stop:
        _bisect(tmp_path, names, "--bad", "c3")
    assert stop.value.code == 2


SLOW = (REGRESSION, 1.3, "paired over 40 rounds")
FINE = (PASS, 1.0, "paired over 40 rounds")
NOISY = (CANNOT_TELL, 1.04, "paired over 200 rounds of 10 process pair(s)")


def _run(
    tmp_path: Path, names: dict[str, str], verdicts: dict[str, tuple], capsys: pytest.CaptureFixture
) -> tuple[int, str, Steps]:
    steps = Steps(names, verdicts)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ab, "resolve", steps.resolve)
        patch.setattr(ab_cli, "gate", steps.gate)
        status = _bisect(tmp_path, names, "--good", "c0", "--bad", "c3")
    return status, capsys.readouterr().out, steps


def test_a_slow_commit_is_named_with_its_ratio_and_the_one_before_exit_1(
    tmp_path: Path, names: dict[str, str], capsys: pytest.CaptureFixture
) -> None:
    status, out, steps = _run(tmp_path, names, {"c1": FINE, "c2": SLOW, "c3": SLOW}, capsys)
    assert status == 1
    short = {k: v[:12] for k, v in names.items()}
    assert f"bisect: 3 commits after {short['c0']} up to {short['c3']}, at most 3 steps" in out
    assert f"step 1 (the bad end): {short['c3']} commit 3: 1.300x [1.280, 1.320] regression" in out
    assert f"step 2: {short['c1']} commit 1: 1.000x [0.980, 1.020] pass" in out
    assert f"step 3: {short['c2']} commit 2: 1.300x [1.280, 1.320] regression" in out
    assert f"first slow commit: {short['c2']} commit 2\n  1.300x [1.280, 1.320] against {short['c0']}" in out
    assert f"the commit before it, {short['c1']} commit 1, was not" in out
    assert steps.resolved == [names["c0"], names["c3"], names["c1"], names["c2"]]  # good once, each once


def test_a_bad_end_not_slower_is_a_pass_after_one_step_exit_0(
    tmp_path: Path, names: dict[str, str], capsys: pytest.CaptureFixture
) -> None:
    status, out, steps = _run(tmp_path, names, {"c3": FINE}, capsys)
    assert status == 0 and "pass: the bad end" in out and "no commit in between is" in out
    assert len(steps.resolved) == 2


def test_a_bad_end_that_cannot_tell_is_exit_3(
    tmp_path: Path, names: dict[str, str], capsys: pytest.CaptureFixture
) -> None:
    status, out, _ = _run(tmp_path, names, {"c3": NOISY}, capsys)
    assert status == 3 and "cannot tell at step 1" in out and "reaches across the +4% limit" in out
    assert "first slow commit" not in out and "narrowed" not in out


def test_cannot_tell_mid_way_is_exit_3_naming_no_commit_but_the_range_left(
    tmp_path: Path, names: dict[str, str], capsys: pytest.CaptureFixture
) -> None:
    status, out, _ = _run(tmp_path, names, {"c1": FINE, "c2": NOISY, "c3": SLOW}, capsys)
    assert status == 3 and "first slow commit" not in out
    assert f"cannot tell at step 3 ({names['c2'][:12]} against {names['c0'][:12]})" in out
    assert f"narrowed so far to the 2 commit(s) after {names['c1'][:12]} up to {names['c3'][:12]}" in out
    assert f"python -m harness bisect --good {names['c1'][:12]} --bad {names['c3'][:12]} --budget 1200" in out


def test_a_worker_that_died_makes_the_step_cannot_tell_never_a_pass(
    tmp_path: Path, names: dict[str, str], capsys: pytest.CaptureFixture
) -> None:
    died = (CANNOT_TELL, math.nan, DIED)
    status, out, _ = _run(tmp_path, names, {"c1": died, "c3": SLOW}, capsys)
    assert status == 3 and f"cannot tell at step 2 ({names['c1'][:12]}" in out and DIED in out
    assert "first slow commit" not in out


def test_a_commit_whose_workers_cannot_start_cannot_tell(
    tmp_path: Path, names: dict[str, str], capsys: pytest.CaptureFixture
) -> None:
    status, out, _ = _run(tmp_path, names, {"c1": ("unstartable", 0.0, ""), "c3": SLOW}, capsys)
    assert status == 3 and "its torch worker did not start" in out and "first slow commit" not in out


def test_a_good_end_slower_than_the_bad_end_is_exit_3_saying_so(
    tmp_path: Path, names: dict[str, str], capsys: pytest.CaptureFixture
) -> None:
    status, out, _ = _run(tmp_path, names, {"c3": (PASS, 0.7, "paired over 40 rounds")}, capsys)
    assert status == 3 and "the good end is the slower one" in out
