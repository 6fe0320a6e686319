"""Every module path and module name the docs, the page's template and the code's docstrings name
exists (a page that prints a stale path, ``harness/overfitting.py``, sends a reader nowhere), every
page under ``docs/`` is linked from the README, and every relative Markdown link leads to a file."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md"))
SOURCES = [
    ROOT / "README.md",
    ROOT / "results" / "README.md",
    *DOCS,
    *sorted((ROOT / "harness" / "report" / "render" / "templates").rglob("*.j2")),
    *sorted((ROOT / "harness").rglob("*.py")),
    *sorted((ROOT / "tasks").rglob("*.py")),
]
PATH = re.compile(r"\b((?:harness|tasks|tests)/[\w/]+\.(?:py|toml|j2))\b")
MODULE = re.compile(r":(?:mod|func|class|data|meth):`~?((?:harness|tasks)(?:\.\w+)+)`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")  # [text](target)


def _module_exists(dotted: str) -> bool:
    """``a.b.c`` names a module, or an attribute of one (a function, a class, a constant)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            spec = importlib.util.find_spec(".".join(parts[:cut]))
        except ModuleNotFoundError:  # a module's attribute asked for as a submodule
            continue
        if spec is not None:
            return cut == len(parts) or _has(".".join(parts[:cut]), parts[cut:])
    return False


def _has(module: str, attributes: list[str]) -> bool:
    value: object = importlib.import_module(module)
    for name in attributes:
        if not hasattr(value, name):
            return False
        value = getattr(value, name)
    return True


def test_every_named_path_and_module_exists() -> None:
    missing = []
    for source in SOURCES:
        text = source.read_text(encoding="utf-8")
        for path in set(PATH.findall(text)):
            if not (ROOT / path).exists() and "<" not in path:
                missing.append(f"{source.relative_to(ROOT)} names {path}")
        for dotted in set(MODULE.findall(text)):
            if not _module_exists(dotted):
                missing.append(f"{source.relative_to(ROOT)} names {dotted}")
    assert not missing, "\n".join(sorted(missing))


def _relative_links(page: Path) -> list[str]:
    """The targets of ``page``'s Markdown links that are neither a URL nor an anchor on the page."""
    targets = LINK.findall(page.read_text(encoding="utf-8"))
    return [t for t in targets if not re.match(r"[a-z][a-z0-9+.-]*:|#", t)]


def _target(page: Path, link: str) -> Path:
    return (page.parent / link.split("#", 1)[0]).resolve()


def test_every_docs_page_is_linked_from_the_readme_and_every_link_leads_to_a_file() -> None:
    assert DOCS, "no docs/*.md found"
    readme = ROOT / "README.md"
    linked = {_target(readme, link) for link in _relative_links(readme)}
    problems = [f"README.md does not link {page.relative_to(ROOT)}" for page in DOCS if page not in linked]
    for page in [readme, *DOCS]:
        for link in _relative_links(page):
            if not _target(page, link).exists():
                problems.append(f"{page.relative_to(ROOT)} links {link}, which does not exist")
    assert not problems, "\n".join(sorted(problems))


def test_the_longest_test_files_named_first_for_the_parallel_pass_exist() -> None:
    """``tests/conftest.py`` starts the parallel workers on these: a renamed one would silently lose
    its place, and the pass would end on a long file with one core idle."""
    from tests.conftest import LONGEST_FIRST

    missing = [path for path in LONGEST_FIRST if not (ROOT / path).is_file()]
    assert missing == [], f"LONGEST_FIRST names files that are not there: {missing}"
