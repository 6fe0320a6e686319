"""``harness bisect`` end to end with real workers, in a git repository made from this checkout:
four commits after it, the third of which makes every training step of the numpy implementation
busy-wait half a millisecond (the cheapest honest slow commit: the slowdown is in the code the
commit changed, not in the environment). Bisect, run from that repository, must name that commit
and leave no worktree behind. Each step is a real A/B gate, as small as test_ab.py's."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.run.machine import REPO_ROOT
from tests.run.test_ab import FAST, LENIENT

pytestmark = pytest.mark.alone  # its verdicts rest on measured step times

GATE = [*FAST, *LENIENT]  # test_ab's small gate, on numpy
IMPL = Path("tasks/mlp/impls/numpy_by_hand.py")
STEP = '    def train_step(self, index: np.ndarray) -> float:\n        x, y = self.data["train"]\n'
SPIN = (
    "        import time\n\n"
    "        spin_until = time.perf_counter() + 0.0005\n"
    "        while time.perf_counter() < spin_until:\n"
    "            pass\n"
)
ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@t",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@t",
}


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, **ENV}
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, env=env
    ).stdout


def _commit(repo: Path, subject: str) -> str:
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", subject)
    return _git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """This checkout's files as they are now (committed or not) as commit c0, then c1..c4; c3 is
    the slow one."""
    root = tmp_path_factory.mktemp("bisect-e2e") / "repo"
    listed = _git(REPO_ROOT, "ls-files", "-co", "--exclude-standard", "-z").split("\0")
    for name in filter(None, listed):
        if (REPO_ROOT / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, root / name)
    _git(root, "init", "-q", "-b", "main")
    commits = [_commit(root, "this checkout")]
    for i in (1, 2):
        (root / f"notes-{i}.txt").write_text(f"note {i}\n")
        commits.append(_commit(root, f"notes {i}"))
    source = (root / IMPL).read_text()
    assert STEP in source, "the numpy implementation's train_step changed: update STEP"
    (root / IMPL).write_text(source.replace(STEP, STEP + SPIN))
    commits.append(_commit(root, "numpy: every step busy-waits 0.5 ms"))
    (root / "notes-4.txt").write_text("note 4\n")
    commits.append(_commit(root, "notes 4"))
    return root, commits


def _bisect(root: Path, results: Path, good: str, bad: str) -> tuple[int, str, float]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    argv = [sys.executable, "-m", "harness", "bisect", "--good", good, "--bad", bad, *GATE]
    began = time.monotonic()
    done = subprocess.run(
        [*argv, "--results", str(results)], cwd=root, env=env, capture_output=True, text=True, timeout=900
    )
    return done.returncode, done.stdout + done.stderr, time.monotonic() - began


def _worktrees(root: Path) -> list[str]:
    return [line for line in _git(root, "worktree", "list").splitlines() if "mlpbench-ab-" in line]


def test_two_commits_find_the_slow_one(repo: tuple[Path, list[str]], tmp_path: Path) -> None:
    """The faster variant: c2 (not slower) and c3 (slower) after c1; two gates."""
    root, commits = repo
    status, out, _ = _bisect(root, tmp_path / "results", commits[1], commits[3])
    assert status == 1, out[-3000:]
    assert f"step 1 (the bad end): {commits[3][:12]} numpy: every step busy-waits 0.5 ms:" in out
    assert f"step 2: {commits[2][:12]} notes 2: " in out and "] pass (digits numpy" in out
    assert f"first slow commit: {commits[3][:12]} numpy: every step busy-waits 0.5 ms" in out
    assert f"the commit before it, {commits[2][:12]} notes 2, was not" in out
    assert _worktrees(root) == []


@pytest.mark.slow
def test_four_commits_find_the_slow_one(repo: tuple[Path, list[str]], tmp_path: Path) -> None:
    root, commits = repo
    status, out, wall_s = _bisect(root, tmp_path / "results", commits[0], commits[4])
    assert status == 1, out[-3000:]
    assert "bisect: 4 commits after" in out and "at most 3 steps" in out
    steps = [line for line in out.splitlines() if line.startswith("step ") and "gating" not in line]
    assert [s.split(":")[0] for s in steps] == ["step 1 (the bad end)", "step 2", "step 3"], out[-3000:]
    assert f"first slow commit: {commits[3][:12]} numpy: every step busy-waits 0.5 ms" in out
    assert len(list((tmp_path / "results" / "ab").rglob("*.jsonl"))) == 3  # one record file a step
    assert _worktrees(root) == []
    print(f"bisect of 4 commits, 3 gates: {wall_s:.0f} s")
