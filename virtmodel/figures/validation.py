"""Validation figure of the paper: every exact row's simulation error in units of its interval."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_validation_errors", "standardised_errors"]

#: ``|error|`` beyond this many half-widths is drawn at the edge (as a triangle)
CLIP = 3.0


def standardised_errors(table):
    """(sim_mean - analytic) / half-width of the 95 % interval, for exact rows with a non-zero interval."""
    exact = table[table["exact"].astype(bool)]
    half = (exact["ci_high"] - exact["ci_low"]) / 2
    keep = half > 0
    out = exact[keep].copy()
    out["z"] = (out["sim_mean"] - out["analytic"]) / half[keep]
    return out


def plot_validation_errors(ax, table, area_of):
    """One row of points per area: each exact row's error in half-widths; inside ±1 = inside its 95 % CI.

    Parameters
    ----------
    table : DataFrame
        The battery table (``check, exact, analytic, sim_mean, ci_low,
        ci_high``), as ``virtmodel validate`` writes it.
    area_of : dict
        ``{check label: area}``.
    """
    z = standardised_errors(table)
    z["area"] = z["check"].map(area_of).fillna("other")
    areas = list(dict.fromkeys(area_of.values()))
    areas = [a for a in areas if (z["area"] == a).any()]
    rng = np.random.default_rng(0)  # jitter only: fixed, so the figure is the same every run
    ax.axvspan(-1, 1, color="0.9", lw=0, label="inside the 95 % interval")
    for i, area in enumerate(areas):
        v = z.loc[z["area"] == area, "z"].to_numpy()
        y = i + rng.uniform(-0.25, 0.25, v.size)
        inside = np.abs(v) <= CLIP
        ax.plot(v[inside], y[inside], ".", ms=1.8, color="C0", alpha=0.6)
        for side, marker in ((1, ">"), (-1, "<")):
            out = ~inside & (np.sign(v) == side)
            ax.plot(np.full(out.sum(), side * CLIP), y[out], marker, ms=2.5, color="C3")
    ax.set_yticks(range(len(areas)), [f"{a} ({int((z['area'] == a).sum())})" for a in areas])
    ax.invert_yaxis()
    ax.set_xlim(-CLIP - 0.3, CLIP + 0.3)
    ax.set_xlabel("(simulated $-$ exact) / 95 % half-width")
    ax.legend(title=f"exact rows; beyond ±{CLIP:g} drawn at the edge (triangles)", loc="lower right",
              bbox_to_anchor=(1.0, 1.0))
    return ax
