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
"""

from __future__ import annotations

import math

import numpy as np

from ..analytic.tail import PERCENTILES

__all__ = ["PERCENTILES", "required_departures", "percentiles"]


def required_departures(q: float) -> int:
    """Departures per replication (or per batch) needed to estimate the q-quantile: ceil(10 / (1 - q))."""
    return math.ceil(10.0 / (1.0 - q) - 1e-9)


def percentiles(wait, resp, batches: int | None = None):
    """Per-replication (and per-batch) percentiles of ``wait`` and ``resp`` (departure order).

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
        for name, x in zip(names, np.quantile(series, qs), strict=True):
            values[f"{name}_{metric}"] = float(x)
        if batches:
            blocks = np.asarray(series[n - batches * m:]).reshape(batches, m)
            for name, row in zip(names, np.quantile(blocks, qs, axis=1), strict=True):
                batch_values[f"{name}_{metric}"] = row
    return values, batch_values
