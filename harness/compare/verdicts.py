"""The one vocabulary of every check: the stored-baseline comparison (:mod:`.check`), the A/B
gate (:mod:`.gate`), the nightly check (:mod:`.nightly`) and bisect. A check says what it found
in these words and nothing else; the CLI maps them to exit codes (``harness.cli.exits``), the
terminal, the Markdown summary and the page print them as they are.

- **pass**: no regression beyond the limit (the evidence rules it out, or the check's rule for a
  decision says so);
- **regression**: slower (or less accurate) beyond the limit, and clear of the noise;
- **cannot tell**: the data cannot decide either way; never a pass;
- **acknowledged**: a regression a person has accepted (the nightly check's ``acknowledged.toml``);
  it does not fail the check, and it is said.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Verdict(StrEnum):
    """A check's answer, for one row or for the whole check."""

    PASS = "pass"
    REGRESSION = "regression"
    CANNOT_TELL = "cannot tell"
    ACKNOWLEDGED = "acknowledged"


PASS, REGRESSION, CANNOT_TELL, ACKNOWLEDGED = (
    Verdict.PASS,
    Verdict.REGRESSION,
    Verdict.CANNOT_TELL,
    Verdict.ACKNOWLEDGED,
)
WORST_FIRST = (REGRESSION, CANNOT_TELL, ACKNOWLEDGED, PASS)


def worst(verdicts: Iterable[Verdict], empty: Verdict = CANNOT_TELL) -> Verdict:
    """The most severe of ``verdicts`` (regression, cannot tell, acknowledged, pass); ``empty``
    when there are none (a check with nothing to judge cannot tell)."""
    found = set(verdicts)
    return next((v for v in WORST_FIRST if v in found), empty)
