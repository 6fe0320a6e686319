"""Where records live: the one atomic writer (:mod:`.atomic`), append-only run files and the one
choice of the runs that count, for a comparison and for the page (:func:`.runs.choose_runs`), and
the committed per-machine baselines (:mod:`.baselines`)."""
