"""What ``virtmodel validate`` prints: one line per area, then the failing rows.

The full comparison table (every check, metric and group) goes to the CSV
file; ``virtmodel validate --verbose`` prints it too.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["area_of_checks", "area_summary", "failing_rows"]


def area_of_checks(areas) -> dict[str, str]:
    """``{check label: area}`` for the battery's checks in ``areas`` (building scenarios only, no runs)."""
    from .validation import battery

    out = {}
    for area in areas:
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
    rows, as text), ``approx`` (rows from approximate models, never failed).
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
    return pd.DataFrame(rows)


def failing_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The exact rows outside their family-wise interval (``passes`` False), compact columns."""
    bad = table[table["exact"].astype(bool) & ~table["passes"].astype(bool)]
    return bad[["check", "metric", "group", "analytic", "sim_mean", "ci_low", "ci_high", "rel_error"]]
