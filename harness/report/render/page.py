"""The page: the template rendered with every value escaped, written atomically.

The Jinja2 environment escapes every value (``autoescape=True``); nothing from a record is ever
marked safe, so a label such as ``<script>`` shows as text. Figures are PNG data URIs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jinja2

from harness.store.atomic import write_atomic


def render(context: dict[str, Any]) -> str:
    """The page's HTML from ``context`` (see ``templates/report.html.j2``), every value escaped."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.report.render", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2").render(**context)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_html(text: str, out: Path) -> None:
    """Write ``text`` to ``out`` atomically (temp file in the same folder, then ``os.replace``),
    readable as the umask allows: a report is meant to be read."""
    write_atomic(Path(out), text.encode("utf-8"), mode=0o666 & ~_umask())
