"""The page: the template rendered with every value escaped, each glossary term's first use
linked to its entry, written atomically.

The Jinja2 environment escapes every value (``autoescape=True``); nothing from a record is ever
marked safe, so a label such as ``<script>`` shows as text. Figures are PNG data URIs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jinja2

from harness.store.atomic import write_atomic


def environment() -> jinja2.Environment:
    """The templates' environment: every value escaped, an undefined name an error."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.report.render", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["truncate_at"] = lambda text, mark: str(text).split(mark)[0]
    return env


def render(context: dict[str, Any]) -> str:
    """The page's HTML from ``context`` (see ``templates/report.html.j2``), every value escaped."""
    page = environment().get_template("report.html.j2").render(**context)
    return link_terms(page, context.get("glossary", []))


SKIP = {"a", "code", "script", "style", "title", "h1", "h2", "h3", "summary", "dt"}  # no link inside these
_TAG = re.compile(r"(<[^>]+>)")


def link_terms(html: str, terms: Iterable[Any]) -> str:
    """``html`` with the first use of each term (any of its ``phrases``, whole words, outside links,
    code and headings, and before the glossary itself) made a link to its entry ``#g-<slug>``."""
    patterns = [(t.anchor, re.compile(r"(?<![\w/-])(" + "|".join(map(re.escape, t.phrases)) + r")(?![\w/-])"))
                for t in terms]  # fmt: skip
    left = dict(patterns)
    out, skipping = [], []
    for piece in _TAG.split(html):
        if piece.startswith("<"):
            out.append(piece)
            name = re.match(r"</?\s*([a-zA-Z0-9]+)", piece)
            tag = name.group(1).lower() if name else ""
            if 'id="glossary"' in piece:
                left.clear()  # the glossary itself links nothing
            if tag in SKIP:
                skipping.append(tag) if not piece.startswith("</") else skipping and skipping.pop()
            continue
        if skipping or not left or not piece.strip():
            out.append(piece)
            continue
        out.append(_link_in(piece, left))
    return "".join(out)


def _link_in(text: str, left: dict[str, re.Pattern[str]]) -> str:
    """Link the first use in ``text`` of every term still in ``left`` (and drop it from ``left``)."""
    found = [(m.start(), m.end(), anchor) for anchor, pattern in left.items() if (m := pattern.search(text))]
    found.sort()
    out, at = [], 0
    for start, end, anchor in found:
        if start < at:
            continue  # overlaps a phrase already linked: that term waits for its next use
        out.append(text[at:start] + f'<a class="term" href="#{anchor}">{text[start:end]}</a>')
        at = end
        del left[anchor]
    return "".join(out) + text[at:]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_html(text: str, out: Path) -> None:
    """Write ``text`` to ``out`` atomically (temp file in the same folder, then ``os.replace``),
    readable as the umask allows: a report is meant to be read."""
    write_atomic(Path(out), text.encode("utf-8"), mode=0o666 & ~_umask())
