"""Scheduling figure of the paper: slowdown against job size."""

from __future__ import annotations

from ..plotting import CAPTION, plot_slowdown

__all__ = ["plot_paper_slowdown"]


def plot_paper_slowdown(ax, analytic, simulated, *, caption=CAPTION):
    """Mean slowdown E[T | x]/x against job size x per policy, on log axes.

    Parameters
    ----------
    analytic : DataFrame
        ``policy, size, mean_response``: the closed form E[T | x] on a grid.
    simulated : DataFrame
        ``policy, mean_size, mean_response, ci_low, ci_high``: E[T | x in bin]
        per size bin with its 95 % interval over replications.
    """
    plot_slowdown(ax, analytic, simulated, label_col="policy", caption=caption)
    ax.set_yscale("log")
    return ax
