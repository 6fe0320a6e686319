"""Where records live: the one atomic writer (:mod:`.atomic`), append-only run files and the
selection of what a comparison reads (:mod:`.runs`), and the committed per-machine baselines
(:mod:`.baselines`)."""
