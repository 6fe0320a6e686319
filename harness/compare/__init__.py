"""Statistics and decisions on stored records: the regression check against a baseline
(:mod:`.check`), its thresholds (:mod:`.thresholds`), the statistics it rests on (:mod:`.stats`),
metrics over commits (:mod:`.history`) and the terminal and Markdown tables (:mod:`.render`).
Returns results; never prints, never runs anything."""
