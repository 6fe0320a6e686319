"""The figures draw what their captions say: read back from the matplotlib artists, not the PNG.

The expected values are computed here from the input frames with numpy; each test fails when a
figure draws a different statistic (a median for a mean, a wrong seed's curve, a whisker off its
interval, rows out of order).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection

from harness.report.render import figures

LABELS = ("jax", "torch")
VALUES = {  # label -> seed -> val_accuracy per epoch (train metrics derived from it); skewed, so
    # that a median is not a mean
    "jax": {0: [0.80, 0.90, 0.88], 1: [0.82, 0.92, 0.90], 2: [0.60, 0.94, 0.86]},
    "torch": {0: [0.70, 0.85, 0.95], 1: [0.72, 0.83, 0.97], 2: [0.74, 0.84, 0.80]},
}
METRICS = ("train_loss", "val_loss", "train_accuracy", "val_accuracy")


def _history(devices: tuple[str, ...] = ("cpu",)) -> pd.DataFrame:
    rows = []
    for device in devices:
        for label, seeds in VALUES.items():
            for seed, values in seeds.items():
                for epoch, v in enumerate(values, start=1):
                    shift = 0.0 if device == "cpu" else 0.01
                    per_metric = {
                        "val_accuracy": v + shift,
                        "train_accuracy": min(1.0, v + 0.05),
                        "val_loss": 1 - v,
                        "train_loss": 0.9 - v,
                    }
                    rows += [
                        {
                            "label": label,
                            "device": device,
                            "seed": seed,
                            "metric": m,
                            "epoch": epoch,
                            "value": per_metric[m],
                        }  # fmt: skip
                        for m in METRICS
                    ]
    return pd.DataFrame(rows)


def _panel(fig, metric: str):
    return next(ax for ax in fig.axes if ax.get_title() == metric.replace("_", " "))


def test_curves_draw_the_mean_over_seeds_a_one_sd_band_and_a_star_at_the_best_epoch() -> None:
    fig = figures.curves_figure(_history(), figures.palette(list(LABELS)))
    ax = _panel(fig, "val_accuracy")
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert sorted(lines) == sorted(LABELS)
    for label, seeds in VALUES.items():
        values = np.array(list(seeds.values()))
        np.testing.assert_allclose(lines[label].get_ydata(), values.mean(axis=0))
        np.testing.assert_array_equal(lines[label].get_xdata(), [1, 2, 3])
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == len(LABELS)
    torch = np.array(list(VALUES["torch"].values()))
    low, high = torch.mean(axis=0) - torch.std(axis=0, ddof=1), torch.mean(axis=0) + torch.std(axis=0, ddof=1)
    band_y = np.concatenate([p.vertices[:, 1] for p in bands[1].get_paths()])
    assert band_y.min() == pytest.approx(low.min()) and band_y.max() == pytest.approx(high.max())
    (stars,) = [c for c in ax.collections if not isinstance(c, PolyCollection)]
    # jax's mean peaks at epoch 2, torch's at epoch 3
    assert sorted(map(tuple, stars.get_offsets().tolist())) == sorted(
        [(2.0, pytest.approx(0.92)), (3.0, pytest.approx((0.95 + 0.97 + 0.80) / 3))]
    )
    assert not [c for c in _panel(fig, "train_accuracy").collections if not isinstance(c, PolyCollection)]
    assert figures.to_data_uri(fig).startswith("data:image/png;base64,")


def test_curves_tell_devices_apart_by_line_style_and_name() -> None:
    fig = figures.curves_figure(_history(("cpu", "cuda")), figures.palette(list(LABELS)))
    lines = {line.get_label(): line for line in _panel(fig, "val_accuracy").get_lines()}
    assert sorted(lines) == ["jax (cpu)", "jax (cuda)", "torch (cpu)", "torch (cuda)"]
    assert lines["jax (cpu)"].get_linestyle() != lines["jax (cuda)"].get_linestyle()
    assert lines["jax (cpu)"].get_color() == lines["jax (cuda)"].get_color()
    np.testing.assert_allclose(
        lines["jax (cuda)"].get_ydata() - lines["jax (cpu)"].get_ydata(), 0.01, atol=1e-12
    )


def test_one_seed_draws_a_line_and_no_band() -> None:
    history = _history()
    fig = figures.curves_figure(history[history["seed"] == 0], figures.palette(list(LABELS)))
    ax = _panel(fig, "val_loss")
    assert len(ax.get_lines()) == 2
    assert not [c for c in ax.collections if isinstance(c, PolyCollection)]


def _stats() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "label": ["torch", "jax", "numpy"],
            "device": ["cpu"] * 3,
            "test_accuracy": [0.95, 0.97, np.nan],
            "test_accuracy_lo": [0.94, 0.96, np.nan],
            "test_accuracy_hi": [0.955, 0.99, np.nan],
            "gap": [0.02, -0.01, 0.0],
            "gap_lo": [0.01, -0.02, 0.0],
            "gap_hi": [0.05, 0.0, 0.0],
        }
    )


def _whiskers(ax) -> dict[str, tuple[float, float, float, float]]:
    """colour -> (value, y, low, high) of each dot with whiskers."""
    out = {}
    for container in ax.containers:
        dot, _caps, (bars,) = container.lines
        ((x, y),) = zip(dot.get_xdata(), dot.get_ydata(), strict=True)
        ((lo, _), (hi, _)) = bars.get_segments()[0]
        out[tuple(np.round(dot.get_color(), 6))] = (x, y, lo, hi)
    return out


def test_accuracy_whiskers_are_the_interval_in_percent_most_accurate_on_top() -> None:
    colours = figures.palette(["torch", "jax", "numpy"])
    fig = figures.accuracy_figure(_stats(), colours)
    accuracy, gap = fig.axes
    assert [t.get_text() for t in accuracy.get_yticklabels()] == ["jax", "torch"]  # numpy has none
    assert accuracy.get_ylim()[0] > accuracy.get_ylim()[1]  # row 0 drawn on top
    key = {label: tuple(np.round(colours[label], 6)) for label in ("torch", "jax")}
    drawn = _whiskers(accuracy)
    assert drawn[key["jax"]] == pytest.approx((97.0, 0, 96.0, 99.0))
    assert drawn[key["torch"]] == pytest.approx((95.0, 1, 94.0, 95.5))
    gaps = _whiskers(gap)
    assert gaps[key["jax"]] == pytest.approx((-1.0, 0, -2.0, 0.0))
    assert gaps[key["torch"]] == pytest.approx((2.0, 1, 1.0, 5.0))
    assert figures.to_data_uri(fig).startswith("data:image/png;base64,")


def test_accuracy_rows_name_the_device_when_several_are_shown() -> None:
    stats = pd.concat([_stats().iloc[:2], _stats().iloc[:2].assign(device="cuda", test_accuracy=[0.6, 0.5])])
    fig = figures.accuracy_figure(stats, figures.palette(["torch", "jax"]))
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == [
        "jax (cpu)", "torch (cpu)", "torch (cuda)", "jax (cuda)",
    ]  # fmt: skip
