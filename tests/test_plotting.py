"""Figures say what they show: analytic lines, simulated points with 95 % intervals, units, any x (issue 12 item 7)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from virtmodel import plotting  # noqa: E402


def _table(x="load"):
    rows = []
    for policy, offset in (("FCFS", 0.0), ("SJF", -0.2)):
        for value in (0.2, 0.5, 0.8):
            rows.append({"policy": policy, x: value, "metric": "mean_response", "group": "all",
                         "analytic": 1 / (1 - value) + offset, "sim_mean": 1 / (1 - value) + offset + 0.01,
                         "ci_low": 1 / (1 - value) + offset - 0.1, "ci_high": 1 / (1 - value) + offset + 0.1})
    return pd.DataFrame(rows)


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def test_metric_vs_any_sweep_parameter(ax):
    """x= takes any column: the quantum of a round-robin sweep is on the x axis, in the order of its values."""
    plotting.plot_metric_vs_load(ax, _table("quantum"), x="quantum", x_unit="s")
    assert ax.get_xlabel() == "quantum (s)"
    line = ax.get_lines()[0]
    np.testing.assert_allclose(line.get_xdata(), [0.2, 0.5, 0.8])
    np.testing.assert_allclose(line.get_ydata(), [1.25, 2.0, 5.0])


def test_metric_vs_load_default_and_old_keyword(ax):
    plotting.plot_metric_vs_load(ax, _table(), load_col="load")
    assert ax.get_xlabel() == "load $\\rho$"
    assert ax.get_ylabel() == "mean response (time units)"


def test_units_on_the_y_axis(ax):
    plotting.plot_metric_vs_load(ax, _table(), unit="ms")
    assert ax.get_ylabel() == "mean response (ms)"


def test_every_helper_captions_lines_and_points():
    """The legend title says lines are analytic and points simulated with 95 % intervals."""
    curves = pd.DataFrame({"label": "M/M/1", "t": [0.5, 1.0, 2.0], "sf": [0.6, 0.4, 0.2]})
    points = pd.DataFrame({"label": "M/M/1", "tail": [0.5, 0.05], "value": [0.7, 3.0],
                           "ci_low": [0.6, 2.8], "ci_high": [0.8, 3.2]})
    analytic = pd.DataFrame({"policy": "PS", "size": [0.5, 1.0, 2.0], "mean_response": [1.0, 2.0, 4.0]})
    simulated = pd.DataFrame({"policy": "PS", "mean_size": [1.0], "mean_response": [2.1],
                              "ci_low": [1.9], "ci_high": [2.3]})
    draws = [lambda ax: plotting.plot_metric_vs_load(ax, _table()),
             lambda ax: plotting.plot_ccdf(ax, curves, points),
             lambda ax: plotting.plot_slowdown(ax, analytic, simulated)]
    for draw in draws:
        fig, ax = plt.subplots()
        draw(ax)
        legend = ax.get_legend()
        assert legend.get_title().get_text() == plotting.CAPTION
        assert "analytic" in plotting.CAPTION and "95 %" in plotting.CAPTION
        assert "time units" in ax.get_xlabel() + ax.get_ylabel()
        plt.close(fig)


def test_coinciding_lines_stay_visible(ax):
    """Issue 12 item 7: no series hidden under another -- each label gets its own line style."""
    table = _table()
    table.loc[table["policy"] == "SJF", "analytic"] = table.loc[table["policy"] == "FCFS", "analytic"].to_numpy()
    plotting.plot_metric_vs_load(ax, table)
    styles = [line.get_linestyle() for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert len(styles) == 2 and len(set(styles)) == 2


def test_five_coinciding_lines_all_visible():
    """02's response against load has five policies; FCFS (C0) and priority (C4) coincide by the
    conservation law. Drawn on one line, every colour must still show in the rendered image (the
    four line styles used to repeat at the fifth series, hiding FCFS under priority)."""
    offsets = {"FCFS": 0.0, "SJF": -1.0, "SRPT": -2.0, "PS": 1.0, "priority": 0.0, "RR": 2.0}
    rows = [{"policy": p, "load": x, "metric": "mean_response", "group": "all", "analytic": 1 / (1 - x) + shift,
             "sim_mean": np.nan, "ci_low": np.nan, "ci_high": np.nan}
            for p, shift in offsets.items() for x in (0.1, 0.9)]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    plotting.plot_metric_vs_load(ax, pd.DataFrame(rows), caption="")
    ax.get_legend().remove()
    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(float)
    plt.close(fig)
    for i in range(6):
        rgb = 255 * np.array(matplotlib.colors.to_rgb(f"C{i}"))
        visible = (np.abs(image - rgb).sum(axis=-1) < 60).sum()
        assert visible > 50, f"series {i} (C{i}) is hidden: {visible} pixels of its colour"  # hidden: 0
