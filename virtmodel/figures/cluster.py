"""Cluster figure of the paper: blocking of the Azure V1 requests against the number of hosts."""

from __future__ import annotations

__all__ = ["plot_azure_blocking", "AZURE_LABELS", "BLOCKING_FLOOR"]

#: legend labels of the methods in the table
AZURE_LABELS = {"first_fit": "first fit (replay)", "dot_product": "dot product (replay)",
                "kaufman_roberts_pooled": "Kaufman-Roberts, pooled slots (fitted)"}
#: blocking below this is drawn at it (a log axis has no zero)
BLOCKING_FLOOR = 1e-6


def plot_azure_blocking(ax, table, *, host_label="hosts", requests=None):
    """Blocking probability against the number of hosts, one line per method (log y axis).

    Parameters
    ----------
    table : DataFrame
        ``hosts, method, blocking_probability``; ``method`` is a key of
        :data:`AZURE_LABELS`.  A replay is one deterministic sample path of
        the measured trace, so it has no interval.
    host_label : str
        x-axis label (say the hosts' size).
    requests : int, optional
        Number of requests in the trace, for the legend title.
    """
    styles = {"first_fit": ("o-", "C0"), "dot_product": ("s--", "C1"), "kaufman_roberts_pooled": ("-.", "0.3")}
    for method, part in table.groupby("method", sort=False):
        part = part.sort_values("hosts")
        fmt, colour = styles.get(method, ("^:", "C2"))
        ax.plot(part["hosts"], part["blocking_probability"].clip(lower=BLOCKING_FLOOR), fmt, color=colour,
                label=AZURE_LABELS.get(method, method))
    ax.set_yscale("log")
    ax.set_ylim(BLOCKING_FLOOR / 2, 1.5)
    ax.set_xlabel(host_label)
    ax.set_ylabel("blocking probability")
    trace = "Azure V1 trace" + (f", {requests:,} requests" if requests else "")
    ax.legend(title=f"{trace}; blocking below {BLOCKING_FLOOR:g} drawn at {BLOCKING_FLOOR:g}",
              loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2)
    return ax
