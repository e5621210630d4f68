"""``compare(scenario, ...)``: closed form and simulation side by side."""

from __future__ import annotations

import numpy as np

from .._lazy import lazy
from ..analytic.solve import predict
from ..errors import InvalidParameter
from ..sim.run import simulate
from ..sim.stats import _level

pd = lazy("pandas")
_sps = lazy("scipy.stats")

__all__ = ["compare", "COLUMNS", "family_wise", "agreement_summary"]

#: the contract's columns (``exact`` and ``model`` are added after them)
COLUMNS = ["metric", "group", "analytic", "sim_mean", "ci_low", "ci_high", "rel_error", "agrees"]


def compare(scenario, prediction=None, **simulate_kwargs) -> pd.DataFrame:
    """Predict and simulate ``scenario`` and put the two side by side.

    Parameters
    ----------
    scenario : virtmodel.Scenario
    prediction : Prediction, optional
        Reuse an existing prediction instead of calling :func:`predict`.
    **simulate_kwargs
        Passed to :func:`virtmodel.simulate` (``customers``/``horizon``,
        ``replications``, ``seed``, ``warmup``, ``workers``, ...).

    Returns
    -------
    pandas.DataFrame
        ``metric, group, analytic, sim_mean, ci_low, ci_high, rel_error,
        agrees, exact, model, n, engine``: ``rel_error`` = ``|sim_mean - analytic| /
        |analytic|`` and ``agrees`` is True when the analytic value lies inside
        the 95 % interval; ``n`` is the number of replications (or batches)
        behind the interval; ``engine`` the simulator that ran (``SimResult.engine``).
        Rows cover the metrics both sides report.

    Raises
    ------
    NoClosedForm
        If the scenario has no closed form (simulate it on its own instead).

    See Also
    --------
    family_wise : the same table with intervals that hold jointly over its
        exact rows (per-row 95 % intervals miss one row in twenty by chance).

    Examples
    --------
    >>> import virtmodel as vm
    >>> from virtmodel.dists import Exponential
    >>> sc = vm.Scenario(1, [vm.VM("a", Exponential(0.5), Exponential(1.0))])
    >>> tab = vm.compare(sc, customers=20_000, replications=5, seed=3)
    >>> bool(tab.loc[tab.metric == "mean_response", "agrees"].item())
    True
    """
    pred = prediction if prediction is not None else predict(scenario)
    res = simulate(scenario, **simulate_kwargs)
    tab = pred.values.rename(columns={"value": "analytic"}).merge(
        res.summary.rename(columns={"mean": "sim_mean"}), on=["metric", "group"], how="inner"
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.abs(tab["sim_mean"] - tab["analytic"]) / np.abs(tab["analytic"])
    tab["rel_error"] = np.where(tab["analytic"] == 0, np.abs(tab["sim_mean"]), rel)
    tab["agrees"] = (tab["ci_low"] <= tab["analytic"]) & (tab["analytic"] <= tab["ci_high"])
    tab["exact"] = pred.exact
    tab["model"] = pred.model
    tab["engine"] = res.engine
    return tab[COLUMNS + ["exact", "model", "n", "engine"]]


#: the columns :func:`family_wise` reads
FAMILY_COLUMNS = ["analytic", "ci_low", "ci_high", "n", "exact"]


def family_wise(table: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    r"""A comparison table whose intervals and ``agrees`` hold family-wise over its exact rows.

    Each row's 95 % interval is a Student-t interval over its ``n``
    replication (or batch) means, centred on the simulated mean, so its
    half-width is :math:`t_{n-1,\,0.975}\,S/\sqrt n`.  With ``m`` exact rows
    in the table, every interval is rescaled to the Bonferroni level
    :math:`1 - (1 - \ell)/m` (Bonferroni 1936; Law 2015, sec. 9.7):

    .. math::

        h_m = h_{95} \, \frac{t_{n-1,\,1 - (1-\ell)/(2m)}}{t_{n-1,\,0.975}},

    which is what :meth:`virtmodel.sim.results.SimResult.ci` gives at that level from
    the same means.  If the simulator and every exact closed form are right,
    the probability that *any* exact row of the table lies outside its
    interval is at most :math:`1 - \ell`; so "every exact row agrees" is a
    claim the table supports at any run length, where the per-row 95 %
    intervals would miss about one row in twenty by chance.  The rows of
    approximate models get the same level (their ``agrees`` informs, it
    tests nothing).

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`compare`, or several concatenated (the family is
        then all their exact rows), or any table with the columns
        ``analytic, ci_low, ci_high, n, exact`` whose intervals are 95 %
        Student-t intervals over ``n`` means (``SimResult.summary``,
        ``SimResult.conditional``).
    level : float, default 0.95
        Family-wise confidence level, in (0, 1).

    Returns
    -------
    pandas.DataFrame
        A copy with ``ci_low``, ``ci_high`` and ``agrees`` at the family
        level and a column ``level`` (the per-row level
        :math:`1 - (1 - \ell)/m`); the table's ``attrs`` carry
        ``family_level`` and ``exact_rows``.

    Raises
    ------
    InvalidParameter
        If a column is missing, ``n < 2`` in some row, or ``level`` is not in (0, 1).

    Examples
    --------
    >>> import pandas as pd
    >>> tab = pd.DataFrame({"analytic": [1.0, 2.0], "ci_low": [0.9, 1.9], "ci_high": [1.1, 2.1],
    ...                     "n": [5, 5], "exact": [True, True]})
    >>> wide = family_wise(tab)  # 2 exact rows: each at 97.5 %, t(0.9875, 4) / t(0.975, 4) = 1.259
    >>> round(float(wide.ci_high[0] - wide.ci_low[0]) / 0.2, 3), float(wide.level[0])
    (1.259, 0.975)
    """
    missing = [c for c in FAMILY_COLUMNS if c not in table.columns]
    if missing:
        raise InvalidParameter(f"table must have the columns {FAMILY_COLUMNS}, got {list(table.columns)} "
                               f"(missing {missing})")
    family = _level(level)
    n = table["n"].to_numpy(dtype=float)
    if np.any(~(n >= 2)):
        raise InvalidParameter(f"table column n must be >= 2 in every row (a Student-t interval needs 2 means), "
                               f"got {sorted(set(n[~(n >= 2)].tolist()))}")
    exact = table["exact"].to_numpy(dtype=bool)
    m = max(int(exact.sum()), 1)
    row_level = 1.0 - (1.0 - family) / m
    ratio = _sps.t.ppf(0.5 + row_level / 2.0, n - 1) / _sps.t.ppf(0.975, n - 1)
    low, high = table["ci_low"].to_numpy(dtype=float), table["ci_high"].to_numpy(dtype=float)
    centre, half = (low + high) / 2.0, (high - low) / 2.0 * ratio
    out = table.copy()
    out["ci_low"], out["ci_high"] = centre - half, centre + half
    analytic = out["analytic"].to_numpy(dtype=float)
    out["agrees"] = (out["ci_low"].to_numpy() <= analytic) & (analytic <= out["ci_high"].to_numpy())
    out["level"] = row_level
    out.attrs.update(family_level=family, exact_rows=int(exact.sum()))
    return out


def agreement_summary(table: pd.DataFrame, name: str = "table") -> str:
    """One line saying how many exact rows of a :func:`family_wise` table agree.

    ``"<name>: K of M exact rows inside their family-wise 95 % intervals
    (Bonferroni, each row at level L)"``: readable in a notebook, and the
    notebook tests parse it (``K of M exact rows``) and require K = M.

    Examples
    --------
    >>> import pandas as pd
    >>> tab = family_wise(pd.DataFrame({"analytic": [1.0, 3.0], "ci_low": [0.9, 1.9], "ci_high": [1.1, 2.1],
    ...                                 "n": [5, 5], "exact": [True, False]}))
    >>> agreement_summary(tab, "demo")
    'demo: 1 of 1 exact rows inside their family-wise 95 % intervals (Bonferroni, each row at level 0.95)'
    """
    if "level" not in table.columns or "exact" not in table.columns:
        raise InvalidParameter("table must come from family_wise (columns level and exact), got columns "
                               f"{list(table.columns)}")
    exact = table["exact"].to_numpy(dtype=bool)
    agree = int(table["agrees"].to_numpy(dtype=bool)[exact].sum())
    level = float(table["level"].iloc[0]) if len(table) else 0.95
    family = 1.0 - (1.0 - level) * max(int(exact.sum()), 1)
    return (f"{name}: {agree} of {int(exact.sum())} exact rows inside their family-wise "
            f"{100 * family:.3g} % intervals (Bonferroni, each row at level {level:.4g})")
