"""The run record: its schema (:mod:`.schema`), every number derived from it (:mod:`.derived`) and
the overfitting analysis of its per-epoch history (:mod:`.overfitting`)."""
