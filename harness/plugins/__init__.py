"""The plug-in contract (what a task family, an engine and an implementation provide) and the
discovery that finds them; the engine never imports a plug-in by name."""
