"""The one choice of the runs that count (:func:`harness.store.runs.choose_runs`): the newest run
per pair, as a comparison reads it, or each machine's newest commit, as the page's tables show it;
narrowed to a machine, a commit or a file; A/A twins only when asked for."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.record.digest import Digest
from harness.record.schema import RunRecord
from harness.store.runs import RecordWriter, choose_runs, records_at, select_records

A, B = "box-a", "box-b"
OLD = Path("runs/box-a/20250301T100000Z-aaaaaaaaaaaa-smoke.jsonl")
NEW = Path("runs/box-a/20250302T100000Z-bbbbbbbbbbbb-smoke.jsonl")
OTHER = Path("runs/box-b/20250301T120000Z-aaaaaaaaaaaa-smoke.jsonl")


def _run(impl: str, status: str = "ok", *, machine: str = A, commit: str = "a" * 40, day: int = 1,
         twin: bool = False) -> Digest:  # fmt: skip
    return Digest(
        run_id=f"{impl}-{day}", machine_id=machine, fingerprint=machine, cpu_model="", task="digits",
        impl=impl, mode="default", device="cpu", config_key="{}", git_commit=commit,
        created_at=f"2025-03-{day:02d}T10:00:00+00:00", status=status, twin=twin,
    )  # fmt: skip


@pytest.fixture
def by_file() -> dict[Path, list[Digest]]:
    """Box A ran torch, jax, keras (crashed) and torch's A/A twin on day 1, and on day 2 (another
    commit) torch again, jax and keras crashing. Box B ran torch on day 1."""
    return {
        OLD: [_run("torch"), _run("jax"), _run("keras", "crashed"), _run("torch", twin=True)],
        NEW: [_run("torch", commit="b" * 40, day=2), _run("jax", "crashed", commit="b" * 40, day=2),
              _run("keras", "crashed", commit="b" * 40, day=2)],
        OTHER: [_run("torch", machine=B)],
    }  # fmt: skip


def test_each_pair_is_read_from_the_newest_file_with_an_ok_run_of_it(by_file: dict) -> None:
    chosen = choose_runs(by_file)
    # torch: day 2 (the newest), box B's file being older by name; jax: day 1, its day-2 crash left
    # out; keras never ran ok: every run of it; the twin is not a run
    assert chosen == [(OLD, 1), (OLD, 2), (NEW, 0), (NEW, 2)]


def test_a_machine_narrows_the_candidates(by_file: dict) -> None:
    assert choose_runs(by_file, machine=B) == [(OTHER, 0)]
    assert choose_runs(by_file, machine="nowhere") == []


def test_twins_are_candidates_only_when_asked_for(by_file: dict) -> None:
    assert (OLD, 3) not in choose_runs(by_file, None)
    assert (OLD, 3) in choose_runs(by_file, None, twins=True)


def test_each_machine_answers_with_its_newest_commit(by_file: dict) -> None:
    chosen = choose_runs(by_file, "commit per machine", twins=True)
    assert chosen == [(NEW, 0), (NEW, 1), (NEW, 2), (OTHER, 0)]  # failed runs of that commit too
    # newest by when the run was made, not by the file's name
    late = {OLD: [_run("torch", day=9)], NEW: [_run("torch", commit="b" * 40, day=2)]}
    assert choose_runs(late, "commit per machine") == [(OLD, 0)]


def test_a_commit_prefix_picks_each_machines_runs_of_it(by_file: dict) -> None:
    chosen = choose_runs(by_file, "commit per machine", commit="aaaa", twins=True)
    assert chosen == [(OLD, 0), (OLD, 1), (OLD, 2), (OLD, 3), (OTHER, 0)]
    assert choose_runs(by_file, "commit per machine", commit="bbbb") == [(NEW, 0), (NEW, 1), (NEW, 2)]
    with pytest.raises(UsageError, match="no records of a commit starting 'ffff'; commits here include: "
                                         "aaaaaaaaaaaa, bbbbbbbbbbbb"):  # fmt: skip
        choose_runs(by_file, "commit per machine", commit="ffff")


def test_a_file_is_named_by_its_name_stem_or_path(by_file: dict) -> None:
    for name in (NEW.name, NEW.stem, str(NEW)):
        assert choose_runs(by_file, None, file=name) == [(NEW, 0), (NEW, 1), (NEW, 2)]
    with pytest.raises(UsageError, match=f"no record file named 'nope'; the newest are: .*{NEW.stem}"):
        choose_runs(by_file, None, file="nope")


def test_an_unknown_policy_is_refused_naming_the_valid_ones(by_file: dict) -> None:
    with pytest.raises(ValueError, match="'run per pair', 'commit per machine', None"):
        choose_runs(by_file, "newest")


def test_records_are_taken_at_the_chosen_places_and_a_place_past_the_end_is_left_out() -> None:
    records = {OLD: ["r0", "r1"], NEW: ["s0"]}
    assert records_at([(OLD, 1), (NEW, 0), (NEW, 1), (OTHER, 0)], records) == ["r1", "s0"]


def test_a_comparison_reads_a_folder_as_it_is_chosen(tmp_path: Path) -> None:
    """``select_records`` (what ``harness compare`` and ``baseline save`` read) is that choice."""
    for day, jax_status in ((1, "ok"), (2, "crashed")):
        writer = RecordWriter(tmp_path, A, f"{day}" * 12, "smoke")
        for impl, status in (("torch", "ok"), ("jax", jax_status)):
            record = RunRecord(task="digits", impl=impl, framework=impl, device="cpu", seed=0, status=status)
            record.machine, record.git_commit = {"machine_id": A}, f"{day}" * 12
            record.reason = "" if status == "ok" else "segfault"
            writer.append(record)
    side = select_records(tmp_path / "runs")
    found = [(r.impl, r.git_commit[0], r.status) for r in side.records]
    assert found == [("jax", "1", "ok"), ("torch", "2", "ok")]  # each pair from its newest ok file
    assert len(side.files) == 2 and "(2 files, newest per pair)" in side.describe()
