"""Slowdowns accepted on purpose, kept with the results: ``acknowledged.toml`` in the results
folder. The nightly check (:mod:`harness.compare.nightly`) reports an acknowledged slowdown and
does not fail on it; a further slowdown after it is new and fails.

::

    [[change]]
    commit = "3f9a1c2e"    # the first commit of the slower level (7 or more characters)
    reason = "torch 2.14: slower CPU kernels, accepted"   # required: why it is accepted
    task = "mnist"         # optional, narrowing it to some series:
    impl = "torch"         #   machine_id, task, impl, mode, device

The file is written by hand (and reviewed like code); a bad one is refused with what is wrong.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import UsageError

FILE = "acknowledged.toml"
FILTERS = ("machine_id", "task", "impl", "mode", "device")
MIN_COMMIT = 7


@dataclass(frozen=True)
class Acknowledged:
    commit: str
    reason: str
    only: dict[str, str] = field(default_factory=dict)  # series fields it is narrowed to

    def covers(self, series: dict[str, str], commit: str) -> bool:
        """Whether this acknowledgement accepts a slower level of ``series`` starting at ``commit``."""
        same = commit.startswith(self.commit) or self.commit.startswith(commit)
        return same and all(series.get(k) == v for k, v in self.only.items())


def load(results_dir: Path) -> list[Acknowledged]:
    """The acknowledgements kept in ``results_dir`` (none when there is no file)."""
    path = Path(results_dir) / FILE
    if not path.exists():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - {"change"})
    if unknown:
        raise UsageError(f"{path}: unknown table(s) {', '.join(unknown)}; valid: [[change]]")
    out = []
    for i, entry in enumerate(data.get("change", []), start=1):
        where = f"{path}: [[change]] number {i}"
        bad = sorted(set(entry) - {"commit", "reason", *FILTERS})
        if bad:
            raise UsageError(
                f"{where}: unknown key(s) {', '.join(bad)}; valid: commit, reason, {', '.join(FILTERS)}"
            )
        commit, reason = str(entry.get("commit", "")), str(entry.get("reason", "")).strip()
        if len(commit) < MIN_COMMIT:
            raise UsageError(
                f"{where}: commit {commit!r} must be at least {MIN_COMMIT} characters of a commit"
            )
        if not reason:
            raise UsageError(f"{where}: a reason is required (why this slowdown is accepted)")
        out.append(Acknowledged(commit, reason, {k: str(entry[k]) for k in FILTERS if k in entry}))
    return out
