"""Hypervisor figure of the paper: the gain of pooling pCPUs (consolidation)."""

from __future__ import annotations

import numpy as np

from ..plotting import _LINESTYLES, CAPTION

__all__ = ["plot_consolidation_gain"]


def plot_consolidation_gain(ax, analytic, simulated, *, caption=CAPTION):
    """T_dedicated / T_pooled against the load per pCPU, one colour per number of VMs N.

    Parameters
    ----------
    analytic : DataFrame
        ``n_vms, load, gain``: N x M/M/1 against M/M/N
        (:func:`virtmodel.analytic.consolidation.consolidation_gain`).
    simulated : DataFrame
        ``n_vms, load, gain, ci_low, ci_high``: the mean over replications of
        each replication's ratio, with its 95 % Student-t interval.
    """
    for i, (n, part) in enumerate(analytic.groupby("n_vms", sort=True)):
        ax.plot(part["load"], part["gain"], _LINESTYLES[i % 4], color=f"C{i}", label=f"N = {n} VMs")
        sim = simulated[simulated["n_vms"] == n]
        err = np.vstack([sim["gain"] - sim["ci_low"], sim["ci_high"] - sim["gain"]])
        ax.errorbar(sim["load"], sim["gain"], yerr=err, fmt="o", color=f"C{i}")
    ax.set_xlabel("load per pCPU $\\rho$")
    ax.set_ylabel("gain $T_\\mathrm{dedicated} / T_\\mathrm{pooled}$")
    ax.legend(title=caption)
    return ax
