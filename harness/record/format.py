"""How a number is written: seconds in s/ms/µs with three significant digits, rates,
percentages, percentage points, bytes. A leaf: it computes nothing and imports nothing of ours."""

from __future__ import annotations

import math


def _sig3(number: float) -> str:
    digits = max(0, 2 - int(math.floor(math.log10(abs(number))))) if number else 2
    return f"{number:.{digits}f}"


def is_number(value: object) -> bool:
    """A finite int or float (not a bool, None or NaN): a value a table can show."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def fmt_seconds(value: float | None) -> str:
    """Three significant digits in s, ms or µs: ``2.30 ms``; ``—`` when not a number."""
    if not is_number(value):
        return "—"
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if abs(value) >= scale or unit == "µs":
            return f"{_sig3(value / scale)} {unit}"
    return f"{value} s"


def fmt_term_s(value: float) -> str:
    """A fitted term in seconds: ``0`` where the fit gave it none, else :func:`fmt_seconds`."""
    return "0" if value == 0 else fmt_seconds(value)


def fmt_rate(value: float) -> str:
    """Samples per second with thousands separators: ``55,539/s``."""
    return f"{value:,.0f}/s" if value >= 100 else f"{value:.3g}/s"


def fmt_percent(value: float) -> str:
    """A fraction as a percentage with two decimals: ``97.73%``."""
    return f"{100 * value:.2f}%"


def fmt_pp(value: float) -> str:
    """A fraction as signed percentage points: ``+2.01 pp``."""
    return f"{100 * value:+.2f} pp"


def fmt_fraction(value: float) -> str:
    """A small fraction as a percentage with three significant digits: ``0.512%``, ``12.3%``."""
    return f"{_sig3(100 * value)}%"


def fmt_bytes(value: float) -> str:
    """Bytes in MiB or GiB: ``613 MiB``."""
    return f"{value / 2**30:.2f} GiB" if value >= 2**30 else f"{value / 2**20:.0f} MiB"


def fmt_value(value: float, unit: str) -> str:
    """A value in its unit (``s``, ``bytes``, ``samples/s``, or a bare number); ``-`` when absent."""
    if not is_number(value):
        return "-"
    if unit == "s":
        return fmt_seconds(value)
    if unit == "bytes":
        return fmt_bytes(value)
    if unit == "samples/s":
        return f"{value:,.0f} samples/s"
    return f"{value:.4f}"
