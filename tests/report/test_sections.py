"""One section interface: every section module the report builds from takes the report's data and
gives the names its template part reads (``build``), names that part (``PART``), and the page
includes every part; no two sections give the same name."""

from __future__ import annotations

from pathlib import Path

from harness.report import build
from harness.report.data import gather
from tests.report.test_report import golden_results

TEMPLATES = Path(build.__file__).parent / "render" / "templates"


def test_every_section_has_a_part_the_page_includes() -> None:
    page = (TEMPLATES / "report.html.j2").read_text()
    for section in build.SECTIONS:
        assert (TEMPLATES / "parts" / f"{section.PART}.html.j2").is_file(), section.__name__
        assert f'{{% include "parts/{section.PART}.html.j2" %}}' in page, section.PART


def test_sections_build_from_the_data_alone_and_never_share_a_name(tmp_path: Path) -> None:
    data = gather(golden_results(tmp_path / "results"))
    seen: dict[str, str] = {}
    for section in build.SECTIONS:
        names = section.build(data)
        assert isinstance(names, dict) and names, section.__name__
        for name in names:
            assert name not in seen, f"{name} given by {seen.get(name)} and {section.__name__}"
            seen[name] = section.__name__
