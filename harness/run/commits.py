"""The commits ``harness bisect`` searches: a straight stretch of history, from a good revision
(excluded) up to a bad one, oldest first (``git rev-list --ancestry-path good..bad``).

Everything that makes it unusable is a :class:`~harness.errors.UsageError` (exit 2) said before
anything runs, with what would do: a revision that does not exist, a good end that is not an
ancestor of the bad end, merges on the way (the commits between would not be one line), and a
range of a single commit (nothing to search: the A/B gate answers it). Each commit is checked out
for its step by :func:`harness.run.ab.resolve`, like any side of the gate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.errors import UsageError
from harness.run import machine
from harness.run.ab import git


@dataclass(frozen=True)
class Commit:
    """A commit: its full hash and its subject line."""

    sha: str
    subject: str

    @property
    def short(self) -> str:
        return self.sha[:12]


@dataclass(frozen=True)
class Span:
    """The good end and the commits after it up to the bad end (the last), oldest first."""

    good: Commit
    commits: list[Commit]

    @property
    def bad(self) -> Commit:
        return self.commits[-1]


def _commit(option: str, revision: str, repo: Path) -> Commit:
    valid = "a commit hash, a branch, a tag, or an expression such as HEAD~5"
    if not revision.strip() or revision.startswith("-") or "\0" in revision:
        raise UsageError(f"{option} {revision!r} is not a git revision; valid: {valid}")
    found = git(repo, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    if found.returncode != 0:
        raise UsageError(f"{option} {revision!r} is not a revision of {repo}; valid: {valid}")
    sha = found.stdout.strip()
    return Commit(sha, git(repo, "log", "-1", "--format=%s", sha).stdout.strip())


def linear_span(good: str, bad: str, repo: Path = machine.REPO_ROOT) -> Span:
    """The commits after ``good`` up to ``bad`` in ``repo``, oldest first; a
    :class:`UsageError` for anything that is not a straight line of two commits or more."""
    first, last = _commit("--good", good, repo), _commit("--bad", bad, repo)
    named = f"--good {good} ({first.short}) and --bad {bad} ({last.short})"
    if first.sha == last.sha:
        raise UsageError(f"{named} are the same commit: nothing to bisect; --good must be an older commit")
    if git(repo, "merge-base", "--is-ancestor", first.sha, last.sha).returncode != 0:
        raise UsageError(
            f"{named}: the good end is not an ancestor of the bad end; --good must be an older commit of "
            f"the bad end's history (`git log --oneline {last.short}` lists them)"
        )
    span = f"{first.sha}..{last.sha}"
    merges = git(repo, "rev-list", "--ancestry-path", "--min-parents=2", span).stdout.split()
    if merges:
        newest = merges[0][:12]
        hint = (
            f"--bad {newest}^1 (the bad end is that merge)" if merges[0] == last.sha else f"--good {newest}"
        )
        raise UsageError(
            f"{named}: the commits between are not a straight line ({len(merges)} merge(s), the newest "
            f"{newest}); bisect a stretch without merges, e.g. {hint}"
        )
    lines = git(repo, "log", "--ancestry-path", "--reverse", "--format=%H %s", span).stdout.splitlines()
    commits = [Commit(*(line.split(" ", 1) + [""])[:2]) for line in lines]
    if len(commits) == 1:
        raise UsageError(
            f"{named}: nothing to bisect: the bad end is the good end's child, so it is the only commit "
            f"that can be slower; gate it: python -m harness ab --baseline {first.short} "
            f"--candidate {last.short}"
        )
    return Span(first, commits)
