"""The training problem: what every implementation of a task trains, identical for all of them."""
