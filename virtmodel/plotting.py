"""Paper-style figures: one function per figure, drawing saved data on an ``ax``.

Functions never run a simulation: they take the tidy frames that
:func:`virtmodel.compare`, :func:`virtmodel.simulate` (``conditional``) or a
sweep produced, so a figure rebuilds from stored results.  :func:`paper_style`
sets sizes for a two-column paper; :func:`save` writes PDF (vector, for the
paper) and PNG (for the README) without timestamps, so the files are
deterministic.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
import numpy as np

__all__ = ["paper_style", "save", "plot_metric_vs_load", "plot_slowdown", "plot_ccdf", "ccdf_points", "COLUMN_WIDTH",
           "CAPTION", "STYLE_FILE"]

#: width of one column of a two-column paper, inches (paper/virtmodel.tex sets \columnwidth to it)
COLUMN_WIDTH = 3.3

#: the paper style sheet, shipped inside the package (``virtmodel/styles/paper.mplstyle``)
STYLE_FILE = Path(__file__).resolve().parent / "styles" / "paper.mplstyle"


def paper_style():
    """Context manager with the paper's rcParams (:data:`STYLE_FILE`): ``with paper_style(): ...``.

    Figures are ``COLUMN_WIDTH`` inches wide (one column of a two-column
    paper, 8-pt labels) with constrained layout, so a saved figure keeps its
    size exactly and prints at scale 1 in the paper.
    """
    return mpl.rc_context(fname=str(STYLE_FILE))


#: metadata that makes the files depend on the figure only: no dates, no library versions
_PDF_METADATA = {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": "virtmodel"}
_PNG_METADATA = {"Software": None}


def save(fig, path, formats=(".pdf", ".png")) -> list[Path]:
    """Write ``path`` as .pdf (vector, for the paper) and .png (README, docs); return the paths.

    No timestamp or version goes into the files (``metadata`` without dates,
    producer or software), so the same figure gives the same bytes, run after
    run (``virtmodel reproduce`` checks it).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for suffix in formats:
        target = path.with_suffix(suffix)
        meta = _PDF_METADATA if suffix == ".pdf" else _PNG_METADATA if suffix == ".png" else None
        fig.savefig(target, metadata=meta)
        out.append(target)
    return out


#: the legend title every plotting helper uses: what lines and points are
CAPTION = "lines: analytic; points: simulated, 95 % CI"

#: axis labels of common sweep parameters (others: the name with spaces)
_X_LABELS = {"load": "load $\\rho$", "quantum": "quantum", "switch_cost": "switch cost", "pcpus": "pCPUs",
             "vms": "VMs", "n_vms": "VMs"}
_TIME_METRICS = ("wait", "response", "makespan", "delay", "time", "latency")
#: one line style per series, so that coinciding analytic lines (FCFS and PS of M/M/1) both stay visible;
#: eight before a style repeats (02's five policies: FCFS and priority coincide, solid and dash-dot-dot)
_LINESTYLES = ("-", "--", "-.", ":", (0, (6, 2, 1, 2, 1, 2)), (0, (1, 3)), (0, (10, 3)), (0, (3, 2, 3, 6)))


def _style(i: int):
    """The line style of the i-th series."""
    return _LINESTYLES[i % len(_LINESTYLES)]


def _label(name, unit=None):
    text = _X_LABELS.get(name, str(name).replace("_", " "))
    return f"{text} ({unit})" if unit else text


def _metric_label(metric, unit):
    """``mean response (time units)`` for a time metric, the bare name otherwise."""
    is_time = any(word in metric for word in _TIME_METRICS)
    return _label(metric, unit if is_time else None)


def _legend(ax, caption=CAPTION):
    """Legend titled with ``caption`` (lines analytic, points simulated with 95 % intervals)."""
    handles, _ = ax.get_legend_handles_labels()
    if handles or caption:
        ax.legend(frameon=False, title=caption or None, title_fontsize="small")


def plot_metric_vs_load(ax, table, metric="mean_response", group="all", label_col="policy",
                        load_col=None, *, x="load", x_unit=None, unit="time units", caption=CAPTION):
    """Analytic lines over simulated points with 95 % intervals, one colour per label, against ``x``.

    Parameters
    ----------
    ax : matplotlib Axes
    table : pandas.DataFrame
        Rows with columns ``label_col, x, metric, group, analytic,
        sim_mean, ci_low, ci_high`` (the output of :func:`virtmodel.compare`
        with the label and the x parameter added, or a sweep's summary).
        ``analytic`` may be NaN where no closed form exists: then only the
        points are drawn.
    x : str, default "load"
        Column on the x axis: any sweep parameter (``"quantum"``,
        ``"switch_cost"``, ``"pcpus"``...).  ``load_col`` is its older name
        and wins when given.
    x_unit : str, optional
        Unit shown on the x label, e.g. ``"s"`` for a quantum in seconds.
    unit : str, default "time units"
        Unit shown on the y label when ``metric`` is a time (wait, response,
        makespan, delay...); say ``"s"`` or ``"ms"`` when the scenario has them.
    caption : str
        Legend title; the default says lines are analytic and points
        simulated with 95 % intervals.  ``""`` for none.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt, pandas as pd
    >>> t = pd.DataFrame({"policy": "FCFS", "quantum": [0.1, 1.0], "metric": "mean_response", "group": "all",
    ...                   "analytic": [2.0, 2.0], "sim_mean": [2.1, 1.9], "ci_low": [1.9, 1.7], "ci_high": [2.3, 2.1]})
    >>> fig, ax = plt.subplots()
    >>> ax = plot_metric_vs_load(ax, t, x="quantum", x_unit="s")
    >>> ax.get_xlabel(), ax.get_ylabel(), ax.get_legend().get_title().get_text()
    ('quantum (s)', 'mean response (time units)', 'lines: analytic; points: simulated, 95 % CI')
    """
    x = load_col or x
    rows = table[(table["metric"] == metric) & (table["group"] == group)]
    for i, (label, part) in enumerate(rows.groupby(label_col, sort=False)):
        part = part.sort_values(x)
        colour = f"C{i}"
        if part["analytic"].notna().any():
            ax.plot(part[x], part["analytic"], linestyle=_style(i), color=colour, label=str(label))
        err = np.vstack([part["sim_mean"] - part["ci_low"], part["ci_high"] - part["sim_mean"]])
        ax.errorbar(part[x], part["sim_mean"], yerr=err, fmt="o", color=colour, capsize=2,
                    label=None if part["analytic"].notna().any() else str(label))
    ax.set_xlabel(_label(x, x_unit))
    ax.set_ylabel(_metric_label(metric, unit))
    _legend(ax, caption)
    return ax


def plot_slowdown(ax, analytic, simulated, label_col="policy", *, unit="time units", caption=CAPTION):
    """Mean slowdown E[T | x] / x against job size x: analytic curves, simulated bins.

    Parameters
    ----------
    analytic : pandas.DataFrame
        Columns ``label_col, size, mean_response`` (E[T | x] on a grid of x).
    simulated : pandas.DataFrame
        ``SimResult.conditional`` frames with a ``label_col`` column added:
        ``mean_size, mean_response, ci_low, ci_high``.
    """
    for i, (label, part) in enumerate(analytic.groupby(label_col, sort=False)):
        ax.plot(part["size"], part["mean_response"] / part["size"], linestyle=_style(i), color=f"C{i}",
                label=str(label))
        sim = simulated[simulated[label_col] == label]
        if len(sim):
            x = sim["mean_size"].to_numpy()
            mean = sim["mean_response"].to_numpy()
            err = np.vstack([mean - sim["ci_low"].to_numpy(), sim["ci_high"].to_numpy() - mean]) / x
            ax.errorbar(x, sim["mean_response"] / x, yerr=err, fmt="o", color=f"C{i}", capsize=2)
    ax.set_xscale("log")
    ax.set_xlabel(f"job size $x$ ({unit})" if unit else "job size $x$")
    ax.set_ylabel("mean slowdown $E[T\\mid x]/x$")
    _legend(ax, caption)
    return ax


def ccdf_points(summary, metric="response", group="all"):
    """The simulated percentiles of ``metric`` (``"response"`` or ``"wait"``) as CCDF points.

    ``summary`` is ``SimResult.summary`` (or ``to_frame()``); returns a
    DataFrame with ``q, tail`` (= 1 - q), ``value, ci_low, ci_high`` for each
    ``pNN_metric`` row of ``group``, sorted by q.
    """
    import pandas as pd

    from .analytic.tail import PERCENTILES

    rows = []
    for name, q in PERCENTILES.items():
        hit = summary[(summary["metric"] == f"{name}_{metric}") & (summary["group"] == group)]
        if len(hit):
            r = hit.iloc[0]
            rows.append((q, 1 - q, r["mean"], r["ci_low"], r["ci_high"]))
    return pd.DataFrame(rows, columns=["q", "tail", "value", "ci_low", "ci_high"]).sort_values("q")


def plot_ccdf(ax, curves=None, points=None, label_col="label", *, unit="time units", caption=CAPTION):
    """Complementary CDF P(X > t) on log axes: analytic lines, simulated percentiles as points.

    Parameters
    ----------
    curves : pandas.DataFrame, optional
        Columns ``label_col, t, sf`` (e.g. ``prediction.cdf`` evaluated on a
        grid, ``sf = 1 - cdf``); one line per label.
    points : pandas.DataFrame, optional
        Columns ``label_col, tail, value, ci_low, ci_high`` (from
        :func:`ccdf_points` with a label added): each simulated percentile
        at height 1 - q with its 95 % interval as a horizontal bar.
    """
    labels = list(dict.fromkeys(([] if curves is None else list(curves[label_col]))
                                + ([] if points is None else list(points[label_col]))))
    for i, label in enumerate(labels):
        colour = f"C{i}"
        drawn = False
        if curves is not None:
            part = curves[curves[label_col] == label]
            part = part[part["sf"] > 0]
            if len(part):
                ax.plot(part["t"], part["sf"], linestyle=_style(i), color=colour, label=str(label))
                drawn = True
        if points is not None:
            part = points[points[label_col] == label]
            if len(part):
                err = np.vstack([part["value"] - part["ci_low"], part["ci_high"] - part["value"]])
                ax.errorbar(part["value"], part["tail"], xerr=err, fmt="o", color=colour, capsize=2,
                            label=None if drawn else str(label))
    ax.set_yscale("log")
    ax.set_xlabel(f"time $t$ ({unit})" if unit else "time $t$")
    ax.set_ylabel("$P(X > t)$")
    _legend(ax, caption)
    return ax
