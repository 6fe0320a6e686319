"""The declared ``execution`` and ``provenance`` facts: the README documents each one, and the
check finds what a record has that is not declared or not of its type (real runs' records are
checked against it in ``tests/run/test_runner.py`` and ``tests/run/test_twins.py``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.record import execution

README = Path(__file__).resolve().parents[2] / "results" / "README.md"


@pytest.mark.parametrize(
    ("field", "declared"), [("execution", execution.FACTS), ("provenance", execution.PROVENANCE)]
)
def test_the_results_readme_documents_every_declared_fact(field: str, declared: dict) -> None:
    row = next(line for line in README.read_text().splitlines() if line.startswith(f"| `{field}` |"))
    documented = set(re.findall(r"`([a-z_0-9]+)`", row))
    missing = sorted(set(declared) - documented)
    assert not missing, f"results/README.md's {field} row does not name {missing}"


def test_an_undeclared_or_mistyped_fact_is_named() -> None:
    good = {"mode": "default", "intra_op_threads": None, "import_s": 1, "twin": True, "plugin": {"x": [1]}}
    assert execution.problems(good) == []
    found = execution.problems({"mdoe": "default", "group_size": "3", "twin": 1, "tf32": 0})
    assert len(found) == 4, found
    assert "'mdoe' is not a declared fact" in found[0]
    assert "'group_size' is str, declared int (written by schedule)" in found[1]
    assert "'twin' is int, declared bool" in found[2] and "'tf32' is int, declared bool" in found[3]
    # an implementation's own fact belongs under "plugin", declared by its plug-in, not here
    assert execution.problems({"jit_compile": True, "group_size": True}) == [
        "'jit_compile' is not a declared fact (harness/record/execution.py)",
        "'group_size' is bool, declared int (written by schedule)",
    ]


def test_provenance_and_a_plugins_own_facts_are_checked_against_their_declarations() -> None:
    assert execution.problems({"plan_id": "ab12", "ab_pair": 0}, execution.PROVENANCE) == []
    assert execution.problems({"plan_id": 3}, execution.PROVENANCE) == [
        "'plan_id' is int, declared str (written by plan)"
    ]
    declared = {"keras_backend": str, "steps_per_execution": int}
    assert execution.typed({"keras_backend": "jax", "steps_per_execution": 4}, declared) == []
    assert execution.typed({"keras_backend": "jax", "loop": "fit"}, declared) == [
        "'loop' is not a declared fact (its Trainer's FACTS)"
    ]
