"""The report in headless Chromium: it renders and is not blank; on the records of a real default
bench (tests/data/records_default) the first screen (1300 x 900 px) holds the cross-task answer and
its sentence on trust, and the page is at most 15,000 px tall at 1300 px wide (both measured by the
browser's own layout, and shown failing on a page where they do not hold).

Marked ``browser``: skipped where no ``chromium`` is installed (Debian: ``apt-get install -y
chromium``), a failure in CI. The image is kept in pytest's temp folder (its path is printed) so a
person can look at it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harness.report.build import build_report
from tests.report.test_report import golden_results

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTH, HEIGHT = 1400, 4000
DEFAULT_BENCH = Path(__file__).parents[1] / "data" / "records_default"
MAX_HEIGHT = 15_000  # px at 1300 px wide, for the default bench
pytestmark = pytest.mark.browser


def screenshot(page: Path, png: Path, profile: Path) -> None:
    """Render ``page`` to ``png`` with headless Chromium, with no network and a throwaway profile."""
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        f"--screenshot={png}",
        f"--window-size={WIDTH},{HEIGHT}",
    ]
    subprocess.run([CHROMIUM, *flags, page.resolve().as_uri()], capture_output=True, timeout=120, check=True)


def test_report_screenshot_renders(tmp_path: Path) -> None:
    out = tmp_path / "report" / "index.html"
    build_report(golden_results(tmp_path / "results"), out)
    png = tmp_path / "report.png"
    screenshot(out, png, tmp_path / "profile")
    print(f"screenshot: {png}")
    image = np.asarray(Image.open(png).convert("L"), dtype=float)
    assert image.shape == (HEIGHT, WIDTH)
    rows_with_ink = (image < 200).any(axis=1).mean()
    assert rows_with_ink > 0.5, "most of the first 4000 px should hold text, tables or figures"
    margin = image[:, WIDTH - 36 : WIDTH - 16]  # between the page and the scrollbar
    assert margin.min() > 200, "nothing should spill into the right margin"


FIRST_SCREEN = (1300, 900)
_PROBE = """<script>addEventListener('load', () => {
  const b = document.body.dataset, h = document.querySelector('#answer');
  const rows = document.querySelectorAll('table.answer tbody tr'), trust = document.querySelector('p.trust');
  b.answerTop = h ? Math.round(h.getBoundingClientRect().top) : -1;
  b.answerRows = rows.length;
  b.lastRowBottom = rows.length ? Math.round(rows[rows.length - 1].getBoundingClientRect().bottom) : -1;
  b.trustBottom = trust ? Math.round(trust.getBoundingClientRect().bottom) : -1;
  b.pageHeight = document.documentElement.scrollHeight;
});</script></body>"""


def layout(page: Path, profile: Path) -> dict[str, int]:
    """Where the browser lays the answer out on a first screen of :data:`FIRST_SCREEN`, and the
    page's height: a copy of ``page`` with a probe that writes them into the DOM, which Chromium
    then dumps."""
    probed = page.with_name("probed.html")
    probed.write_text(page.read_text().replace("</body>", _PROBE))
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", f"--user-data-dir={profile}",
             f"--window-size={FIRST_SCREEN[0]},{FIRST_SCREEN[1]}", "--virtual-time-budget=10000",
             "--dump-dom"]  # fmt: skip
    done = subprocess.run([CHROMIUM, *flags, probed.resolve().as_uri()], capture_output=True, text=True,
                          timeout=120, check=True)  # fmt: skip
    body = re.search(r"<body([^>]*)>", done.stdout)
    assert body is not None, done.stdout[:500]
    found = dict(re.findall(r'data-([a-z-]+)="(-?\d+)"', body.group(1)))
    return {k: int(v) for k, v in found.items()}


@pytest.fixture(scope="module")
def default_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("default")
    shutil.copytree(DEFAULT_BENCH / "runs", root / "results" / "runs")
    out = root / "report" / "index.html"
    build_report(root / "results", out)
    return out


def test_the_first_screen_holds_the_answer_across_tasks_and_its_trust(
    default_page: Path, tmp_path: Path
) -> None:
    found = layout(default_page, tmp_path / "profile")
    print(f"layout at {FIRST_SCREEN}: {found}")
    assert found["answer-rows"] == 4, found  # iris, digits, mnist1d, mnist
    assert found["answer-top"] >= 0 and 0 < found["last-row-bottom"] <= FIRST_SCREEN[1], found
    assert 0 < found["trust-bottom"] <= FIRST_SCREEN[1], found
    # The check fails where it should: a tall block before the answer pushes it off the screen.
    pushed = default_page.with_name("pushed.html")
    pushed.write_text(
        default_page.read_text().replace(
            '<h2 id="answer">', '<div style="height:600px"></div><h2 id="answer">'
        )
    )
    assert layout(pushed, tmp_path / "profile2")["trust-bottom"] > FIRST_SCREEN[1]


def test_the_default_bench_page_is_at_most_15000_px_tall(default_page: Path, tmp_path: Path) -> None:
    found = layout(default_page, tmp_path / "profile")
    print(f"page height at {FIRST_SCREEN[0]} px wide: {found['page-height']} px")
    assert found["page-height"] <= MAX_HEIGHT, found
    # and fails where it should: every collapsed block opened (as the page was before) passes it
    opened = default_page.with_name("opened.html")
    opened.write_text(default_page.read_text().replace("<details", "<details open"))
    assert layout(opened, tmp_path / "profile2")["page-height"] > MAX_HEIGHT
