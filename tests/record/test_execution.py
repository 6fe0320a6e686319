"""The declared ``execution`` facts: the README documents each one, and the check finds what a
record has that is not declared or not of its type (real runs' records are checked against it in
``tests/run/test_runner.py`` and ``tests/run/test_twins.py``)."""

from __future__ import annotations

import re
from pathlib import Path

from harness.record import execution

README = Path(__file__).resolve().parents[2] / "results" / "README.md"


def test_the_results_readme_documents_every_declared_fact() -> None:
    row = next(line for line in README.read_text().splitlines() if line.startswith("| `execution` |"))
    documented = set(re.findall(r"`([a-z_0-9]+)`", row))
    missing = sorted(set(execution.FACTS) - documented)
    assert not missing, f"results/README.md's execution row does not name {missing}"


def test_an_undeclared_or_mistyped_fact_is_named() -> None:
    good = {"mode": "default", "intra_op_threads": None, "import_s": 1, "twin": True, "plugin_x": [1]}
    assert execution.problems(good) == []
    found = execution.problems({"mdoe": "default", "group_size": "3", "twin": 1, "tf32": 0})
    assert len(found) == 4, found
    assert "'mdoe' is not a declared execution fact" in found[0]
    assert "'group_size' is str, declared int (written by schedule)" in found[1]
    assert "'twin' is int, declared bool" in found[2] and "'tf32' is int, declared bool" in found[3]
    assert execution.problems({"jit_compile": True, "group_size": True}) == [
        "'group_size' is bool, declared int (written by schedule)"
    ]
