"""MLP benchmark harness: spec -> run -> record -> store -> compare -> report."""

__version__ = "0.1.0"
