"""The range bisect searches, read from a small git repository made for the test: the commits
after good up to bad, oldest first, with their subjects; and each range it must refuse."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.run.commits import linear_span


def _git(repo: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, env=env)
    return out.stdout.strip()


def history(repo: Path) -> dict[str, str]:
    """A repository: c0..c3 in a line, a side branch merged (m), then c4, c5; each name's hash."""
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    names = {}
    for i in range(4):
        (repo / "f").write_text(str(i))
        _git(repo, "add", "f")
        _git(repo, "commit", "-qm", f"commit {i}")
        names[f"c{i}"] = _git(repo, "rev-parse", "HEAD")
    _git(repo, "checkout", "-qb", "side", names["c1"])
    (repo / "g").write_text("side")
    _git(repo, "add", "g")
    _git(repo, "commit", "-qm", "on the side")
    _git(repo, "checkout", "-q", "main")
    _git(repo, "merge", "-q", "--no-edit", "side")
    names["m"] = _git(repo, "rev-parse", "HEAD")
    for i in (4, 5):
        (repo / "f").write_text(str(i))
        _git(repo, "commit", "-qam", f"commit {i}")
        names[f"c{i}"] = _git(repo, "rev-parse", "HEAD")
    return names


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("history") / "repo"
    return root, history(root)


def test_the_commits_after_good_up_to_bad_oldest_first(repo: tuple[Path, dict[str, str]]) -> None:
    root, names = repo
    span = linear_span(names["c0"], "main~3", root)
    assert span.good.sha == names["c0"] and span.good.subject == "commit 0"
    assert [c.sha for c in span.commits] == [names["c1"], names["c2"], names["c3"]]
    assert [c.subject for c in span.commits] == ["commit 1", "commit 2", "commit 3"]
    assert span.bad.short == names["c3"][:12]
    after_merge = linear_span(names["m"], "main", root)  # a merge at the good end is not in between
    assert [c.subject for c in after_merge.commits] == ["commit 4", "commit 5"]


@pytest.mark.parametrize(
    ("good", "bad", "message"),
    [
        ("nope", "c3", "--good 'nope' is not a revision of"),
        ("c0", "nope~1", "--bad 'nope~1' is not a revision of"),
        ("-p", "c3", "--good '-p' is not a git revision; valid: a commit hash, a branch, a tag"),
        ("c2", "c2", "are the same commit: nothing to bisect"),
        ("c3", "c0", "the good end is not an ancestor of the bad end"),
        ("c2", "c3", "nothing to bisect: the bad end is the good end's child"),
        ("c0", "c4", "not a straight line (1 merge(s), the newest"),
        ("c2", "m", "(the bad end is that merge)"),
    ],
)
def test_a_range_it_cannot_search_is_refused_saying_what_would_do(
    repo: tuple[Path, dict[str, str]], good: str, bad: str, message: str
) -> None:
    root, names = repo
    with pytest.raises(UsageError) as refused:
        linear_span(names.get(good, good), names.get(bad, bad), root)
    assert message in str(refused.value)
