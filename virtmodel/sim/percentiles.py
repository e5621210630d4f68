"""Simulated percentiles of waiting and response times, with what their intervals need.

A percentile is estimated per replication as the sample quantile of the
departures kept in the window (``numpy.quantile``, linear interpolation,
Hyndman & Fan 1996 type 7); across R >= 2 replications the interval is the
Student-t interval over the R replication quantiles (the replication /
sectioning method: Law, Simulation Modeling and Analysis, 5th ed., 2015,
§9.4.3 on quantiles; Asmussen & Glynn, Stochastic Simulation, 2007, §III.4),
and inside one run the batch quantiles (the quantile of each of the
``batches`` consecutive batches of customers) play the same part.

The sample q-quantile of n observations is usable only when the tail above it
holds several of them: a percentile is reported for a group only when every
replication (and, with batch quantiles, every batch) has at least
``10 / (1 - q)`` departures of that group (1,000 for p99); otherwise the
metric is left out of the result and :func:`required_departures` says how
many are needed.

Long series (the numba path of :func:`virtmodel.sim.measure.measure`) take the
order statistics from :func:`virtmodel.sim._measure_numba.order_statistics`
(a radix pass instead of numpy's copy and partition) and interpolate between
them with numpy's own formula (:func:`sample_quantiles`), so the values are
those of ``numpy.quantile`` bit for bit.
"""

from __future__ import annotations

import math

import numpy as np

from ..analytic.tail import PERCENTILES

__all__ = ["PERCENTILES", "required_departures", "percentiles", "sample_quantiles"]


def required_departures(q: float) -> int:
    """Departures per replication (or per batch) needed to estimate the q-quantile: ceil(10 / (1 - q))."""
    return math.ceil(10.0 / (1.0 - q) - 1e-9)


def sample_quantiles(series, qs, kernels=None) -> np.ndarray:
    """``np.quantile(series, qs)`` (linear interpolation, type 7), the same numbers bit for bit.

    With ``kernels`` (the module :mod:`virtmodel.sim._measure_numba`) the order statistics
    x_(j) and x_(j+1) around each virtual index h = (n - 1) q come from one radix pass that
    leaves ``series`` as it is (numpy copies it and partitions the copy), and the value is
    numpy's ``_lerp``: x_(j) + (x_(j+1) - x_(j)) g, or x_(j+1) - (x_(j+1) - x_(j)) (1 - g)
    when g = h - j >= 0.5 (the form numpy uses there, for monotonicity).  Series with a NaN,
    fewer than two values or a q outside (0, 1) go to numpy.
    """
    x = np.ascontiguousarray(series, dtype=np.float64)
    q = np.asarray(qs, dtype=np.float64)
    n = x.size
    if kernels is None or n < 2 or q.ndim != 1 or not np.all((q > 0) & (q < 1)):
        return np.quantile(series, qs)
    virtual = (n - 1) * q  # numpy's virtual index for method="linear"
    below = np.floor(virtual).astype(np.intp)
    if np.any(below + 1 > n - 1):
        return np.quantile(series, qs)
    ranks = np.unique(np.concatenate((below, below + 1)))
    values = np.empty(ranks.size)
    if not kernels.order_statistics(x, ranks, values):
        return np.quantile(series, qs)
    lower = values[np.searchsorted(ranks, below)]
    upper = values[np.searchsorted(ranks, below + 1)]
    gamma = virtual - below
    diff = upper - lower
    out = lower + diff * gamma
    high = gamma >= 0.5
    out[high] = (upper - diff * (1 - gamma))[high]
    return out


def percentiles(wait, resp, batches: int | None = None, kernels=None):
    """Per-replication (and per-batch) percentiles of ``wait`` and ``resp`` (departure order).

    ``kernels``: the numba module :mod:`virtmodel.sim._measure_numba` for long series (the
    same numbers, see :func:`sample_quantiles`), or None for numpy alone.

    Returns
    -------
    values : dict
        ``{"p95_response": x, ...}`` for every percentile with enough data.
    batch_values : dict
        The same keys -> array of batch quantiles when ``batches`` is set.
    """
    values, batch_values = {}, {}
    n = resp.size
    m = n // batches if batches else 0
    names = [name for name, q in PERCENTILES.items()
             if n >= required_departures(q) and not (batches and m < required_departures(q))]
    if not names:
        return values, batch_values
    qs = [PERCENTILES[name] for name in names]
    for metric, series in (("wait", wait), ("response", resp)):
        # one partition pass per series for every percentile at once
        for name, x in zip(names, sample_quantiles(series, qs, kernels), strict=True):
            values[f"{name}_{metric}"] = float(x)
        if batches:
            blocks = np.asarray(series[n - batches * m:]).reshape(batches, m)
            for name, row in zip(names, np.quantile(blocks, qs, axis=1), strict=True):
                batch_values[f"{name}_{metric}"] = row
    return values, batch_values
