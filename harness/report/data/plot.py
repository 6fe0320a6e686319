"""A figure the page wants, as data: which drawing (``kind``, one of
:data:`harness.report.render.figures.DRAWERS`) over which inputs, and the labels its colours are
chosen from. Sections make these and never draw; :func:`harness.report.render.figures.draw_all`
draws every one of them when the page is rendered, filling ``uri``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Plot:
    kind: str
    data: dict[str, Any] = field(default_factory=dict)  # the drawing's keyword arguments
    labels: list[str] = field(default_factory=list)  # the palette's labels (the same colour per label)
    uri: str = ""  # the PNG data URI, once drawn
