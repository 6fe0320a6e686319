"""The page's "Where a step's time goes": from a run set with the networks the step model needs, a
table row per implementation, a figure, and where the low-level loops change places along one
network widened; from one with the four tasks' networks alone, no fit and the command that adds
the others."""

from __future__ import annotations

from pathlib import Path

from harness.report.data import gather
from harness.report.render.page import environment
from harness.report.sections import costs

DATA = Path(__file__).parents[1] / "data"


def test_the_section_fits_every_implementation_and_says_where_two_change_places() -> None:
    (view,) = costs.cost_views(gather(DATA / "records_step_model"))
    assert view.device == "cpu" and not view.missing
    assert len(view.rows) == 9 and {r["label"] for r in view.rows} >= {"numpy", "torch", "keras", "lightning"}
    assert all(r["rate"].endswith("GFLOP/s") and r["fit"].endswith("%") for r in view.rows)
    assert view.path == "digits 64-w-w-10 at batch 64 (w the hidden width)"  # the middle network by FLOPs
    assert view.plot is not None and set(view.plot.data["curves"]["label"]) == {r["label"] for r in view.rows}
    first, *others = view.sentences  # numpy's per-step cost is the smallest, jax's products the fastest
    assert first.startswith("Along digits 64-w-w-10 at batch 64 (w the hidden width): below about ")
    assert first.endswith(" numpy is faster than jax; above it, jax.")
    assert all(s.startswith("Below about ") for s in others)
    # the note on how far to trust a prediction quotes the latest held-out check (docs/measured.md)
    assert "Fitted to a default bench's eight networks" in _part([view])


def _part(views: list[costs.CostView]) -> str:
    return environment().get_template("parts/costs.html.j2").render(costs=views)


def test_four_networks_are_too_few_and_the_section_says_what_to_run() -> None:
    views = costs.cost_views(gather(DATA / "records_default"))
    assert views and all(not v.rows and v.plot is None and len(v.missing) == 9 for v in views)
    text = " ".join(_part(views).split())
    networks = "iris 32-32 b16, digits 256-128 b64, mnist1d 256-256 b100, mnist 512-256 b128"
    assert f"Too few networks to fit ({networks})" in text
    assert "<code>python -m harness run --suite costs</code>" in text and "<table" not in text
    assert "Fitted to a default bench's eight networks" not in text  # the note on a table not shown
