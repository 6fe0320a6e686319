"""The exit status of every subcommand, mapped here and nowhere else. The library says what it
found in one vocabulary (:class:`harness.compare.verdicts.Verdict`: pass, regression, cannot tell,
acknowledged); the CLI turns it into a status."""

from __future__ import annotations

from enum import IntEnum

from harness.compare.verdicts import Verdict


class Exit(IntEnum):
    OK = 0  # success, a check passed
    FAILED = 1  # a check failed: a regression, a run that did not finish
    USAGE = 2  # unusable input (harness.errors.UsageError, a missing file)
    CANNOT_TELL = 3  # a check could not tell (the A/B gate, the comparison, history): never a pass
    INTERRUPTED = 130  # Ctrl-C; the records written so far are kept


VERDICTS = {
    Verdict.PASS: Exit.OK,
    Verdict.ACKNOWLEDGED: Exit.OK,  # accepted by a person: said, and not failing
    Verdict.REGRESSION: Exit.FAILED,
    Verdict.CANNOT_TELL: Exit.CANNOT_TELL,
}


def for_verdict(verdict: Verdict) -> Exit:
    """The status of a check's verdict (:data:`VERDICTS`)."""
    return VERDICTS[Verdict(verdict)]
