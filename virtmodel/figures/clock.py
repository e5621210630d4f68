"""Clock figures of the paper: NTP clock error against the poll interval; NIST offsets against delta/2."""

from __future__ import annotations

import numpy as np

from ..plotting import CAPTION

__all__ = ["plot_clock_poll", "plot_nist_bound"]


def plot_clock_poll(ax, table, *, caption=CAPTION):
    """RMS clock error of NTP-synchronised guests against the poll interval (log-log, µs).

    Parameters
    ----------
    table : DataFrame
        ``poll_s, rms_s, ci_low_s, ci_high_s`` (simulated ``clock_offset_rms``
        with its 95 % interval) and ``floor_s``: the rms error of one sample
        that the NTP clock filter picks (closed form): the discipline averages
        several at short polls (below it) and drifts between them at long ones.
    """
    t = table.sort_values("poll_s")
    grid = np.geomspace(t["poll_s"].min(), t["poll_s"].max(), 50)
    ax.plot(grid, np.full_like(grid, t["floor_s"].iloc[0] * 1e6), "-", color="C0",
            label="error of one filtered sample")
    mean = t["rms_s"] * 1e6
    ax.errorbar(t["poll_s"], mean, yerr=[mean - t["ci_low_s"] * 1e6, t["ci_high_s"] * 1e6 - mean], fmt="o",
                color="k", label="clock_offset_rms, 10 VMs")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("NTP poll interval (s)")
    ax.set_ylabel("rms clock error (µs)")
    ax.legend(title=caption)
    return ax


def plot_nist_bound(ax, nist):
    """Measured NTP offsets to NIST (local clock on GPS PPS) against the ±delta/2 bound, in ms.

    Parameters
    ----------
    nist : DataFrame
        :func:`virtmodel.experiments.clock_data.nist_delay_bound`'s columns
        ``peer_delay_s, offset_s, offset_error_s, within_raw``.
    """
    top = nist["peer_delay_s"].max() * 1.05
    d = np.linspace(0.0, top, 10)
    ax.fill_between(d * 1e3, -d / 2 * 1e3, d / 2 * 1e3, color="0.88", lw=0,
                    label=r"bound $|\hat\theta - \theta| \leq \delta/2$")
    ok, bad = nist[nist["within_raw"]], nist[~nist["within_raw"]]
    ax.plot(ok["peer_delay_s"] * 1e3, ok["offset_s"] * 1e3, ".", ms=2.5, color="k",
            label=f"measured offset ({len(ok)})")
    if len(bad):
        ax.plot(bad["peer_delay_s"] * 1e3, bad["offset_error_s"] * 1e3, "x", color="C3",
                label=f"{len(bad)} outside raw, shown corrected")
    ax.set_xlabel("round-trip delay $\\delta$ (ms)")
    ax.set_ylabel("offset error (ms)")
    ax.legend(title="chrony to NIST, measured", loc="upper left")
    return ax
