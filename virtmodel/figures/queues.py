"""Queueing figure of the paper on real data: a bank call centre's waits against Erlang A."""

from __future__ import annotations

__all__ = ["plot_callcentre"]


def plot_callcentre(ax, table):
    """Mean wait per hour of day: measured, and Erlang A with the counted agents and with c_eff.

    Parameters
    ----------
    table : DataFrame
        :func:`virtmodel.experiments.callcentre_data.hourly_erlang_table`
        with ``hour`` as a column: ``measured_wait``, ``erlang_a_wait``,
        ``fitted_wait`` (seconds).  (Erlang C with c_eff is off this scale or
        unstable in most hours; the paper quotes it from the table.)
    """
    hours = table["hour"].to_numpy()
    ax.plot(hours, table["measured_wait"], "o", color="k", label="measured")
    ax.plot(hours, table["erlang_a_wait"], "--", color="C1", label="Erlang A, counted agents")
    ax.plot(hours, table["fitted_wait"], "-", color="C0", label="Erlang A, $c_\\mathrm{eff}$ fitted to abandonment")
    ax.set_ylim(0, 2.0 * table["measured_wait"].max())
    ax.set_xlabel("hour of day")
    ax.set_ylabel("mean wait (s)")
    ax.legend(title="bank call centre, Sun-Thu, Feb 1999")
    return ax
