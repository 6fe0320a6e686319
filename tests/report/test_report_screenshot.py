"""A headless-Chromium screenshot of the golden report: it renders, and is not blank.

Skipped when no ``chromium`` is installed (Debian: ``apt-get install -y chromium``). The image is
kept in pytest's temp folder (its path is printed) so a person can look at it.
"""

from __future__ import annotations

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
