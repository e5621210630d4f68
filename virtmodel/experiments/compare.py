"""``compare(scenario, ...)``: closed form and simulation side by side."""

from __future__ import annotations

import numpy as np

from .._lazy import lazy
from ..analytic.solve import predict
from ..sim.run import simulate

pd = lazy("pandas")

__all__ = ["compare", "COLUMNS"]

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
