"""``python -m harness``: one module per subcommand; each parses, calls the library, prints. The
parser and the entry point are :mod:`harness.cli.main`; this package imports none of its modules.

Exit status (mapped once, in :mod:`harness.cli.exits`): 0 success; 1 a check failed (a
regression, a run that did not finish); 2 unusable input (a wrong name or value, a missing file);
3 a check could not tell (the A/B gate, a bisect step, the comparison or the history check said
"cannot tell": never a pass); 130 interrupted. Every check speaks one vocabulary: pass,
regression, cannot tell (and acknowledged), :mod:`harness.compare.verdicts`.
"""
