"""The golden report in headless Chromium: it renders and is not blank, and the first screen
(1300 x 900 px) holds the verdicts (their heading and first answer, measured by the browser's own
layout), shown failing on a page where they are pushed below it.

Skipped when no ``chromium`` is installed (Debian: ``apt-get install -y chromium``). The image is
kept in pytest's temp folder (its path is printed) so a person can look at it.
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


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium installed (apt-get install -y chromium)")
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
  const b = document.body.dataset, h = document.querySelector('#verdicts');
  const row = document.querySelector('table.verdicts tr');
  b.verdictsTop = h ? Math.round(h.getBoundingClientRect().top) : -1;
  b.firstVerdictBottom = row ? Math.round(row.getBoundingClientRect().bottom) : -1;
  b.pageHeight = document.documentElement.scrollHeight;
});</script></body>"""


def layout(page: Path, profile: Path) -> dict[str, int]:
    """Where the browser lays the verdicts out on a first screen of :data:`FIRST_SCREEN`: a copy
    of ``page`` with a probe that writes the positions into the DOM, which Chromium then dumps."""
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


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium installed (apt-get install -y chromium)")
def test_the_first_screen_holds_the_verdicts(tmp_path: Path) -> None:
    out = tmp_path / "report" / "index.html"
    build_report(golden_results(tmp_path / "results"), out)
    found = layout(out, tmp_path / "profile")
    print(f"layout at {FIRST_SCREEN}: {found}")
    assert found["verdicts-top"] >= 0 and 0 < found["first-verdict-bottom"] <= FIRST_SCREEN[1], found
    # The check fails where it should: a tall block before the verdicts pushes them off the screen.
    pushed = out.with_name("pushed.html")
    pushed.write_text(
        out.read_text().replace('<h2 id="verdicts">', '<div style="height:1200px"></div><h2 id="verdicts">')
    )
    assert layout(pushed, tmp_path / "profile2")["first-verdict-bottom"] > FIRST_SCREEN[1]
