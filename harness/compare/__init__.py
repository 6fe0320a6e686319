"""Statistics and decisions on stored records: the regression check against a baseline
(:mod:`.check`), its thresholds (:mod:`.thresholds`), the statistics it rests on (:mod:`.stats`),
metrics over commits (:mod:`.history`), the A/B gate (:mod:`.gate`). Returns results; never prints,
never runs anything: the CLI and the page present them."""
