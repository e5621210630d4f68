"""What ``virtmodel validate`` prints: one line per area, then the failing rows.

The full comparison table (every check, metric and group) goes to the CSV
file; ``virtmodel validate --verbose`` prints it too.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["area_of_checks", "area_summary", "failing_rows", "DELAYS"]

#: the mean-delay metrics whose detectable error the summary reports on its own
DELAYS = ("mean_wait", "mean_response")


def area_of_checks(areas=None) -> dict[str, str]:
    """``{check label: area}`` for the battery's checks in ``areas`` (default: all; building scenarios only)."""
    from .validation import AREAS, battery

    out = {}
    for area in AREAS if areas is None else areas:
        for check in battery((area,)):
            out.setdefault(check.label, area)
    return out


def area_summary(table: pd.DataFrame, area_of: dict[str, str]) -> pd.DataFrame:
    """One row per area of a :func:`~virtmodel.experiments.validation.run_battery` table.

    Columns: ``area``, ``checks``, ``rows``, ``exact`` (rows from exact
    closed forms), ``outside`` (exact rows outside their 95 % interval),
    ``expected`` (0.05 x exact: how many fall outside by chance), ``FAIL``
    (exact rows outside the family-wise interval), ``worst_exact`` and
    ``worst_approx`` (largest relative error of exact and of approximate
    rows, as text), ``approx`` (rows from approximate models, never failed),
    and, where the table has the ``detectable_error`` column,
    ``detects_delays`` and ``detects_all``: the largest detectable relative
    error (family-wise relative half-width) over the exact mean-delay rows
    (``mean_wait``, ``mean_response``) and over all exact rows -- the
    smallest error the area catches in every one of its rows (as text; "-"
    where there is none).
    """
    area = table["check"].map(area_of).fillna("other")
    rows = []
    for name in dict.fromkeys(list(area_of.values()) + list(area)):
        part = table[area == name]
        if part.empty:
            continue
        exact = part[part["exact"].astype(bool)]
        approx = part[~part["exact"].astype(bool)]
        rows.append(dict(
            area=name, checks=part["check"].nunique(), rows=len(part), exact=len(exact),
            outside=int((~exact["agrees"].astype(bool)).sum()), expected=f"{0.05 * len(exact):.1f}",
            FAIL=int((~exact["passes"].astype(bool)).sum()),
            worst_exact=f"{exact['rel_error'].max():.2%}" if len(exact) else "",
            approx=len(approx),
            worst_approx=f"{approx['rel_error'].max():.2%}" if len(approx) else "",
        ))
        if "detectable_error" in part:
            delays = exact[exact["metric"].isin(DELAYS)]["detectable_error"].dropna()
            every = exact["detectable_error"].dropna()
            rows[-1]["detects_delays"] = f"{delays.max():.2%}" if len(delays) else "-"
            rows[-1]["detects_all"] = f"{every.max():.2%}" if len(every) else "-"
    return pd.DataFrame(rows)


def failing_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The exact rows outside their family-wise interval (``passes`` False), compact columns."""
    bad = table[table["exact"].astype(bool) & ~table["passes"].astype(bool)]
    return bad[["check", "metric", "group", "analytic", "sim_mean", "ci_low", "ci_high", "rel_error"]]
