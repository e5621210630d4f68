"""SimResult: what :func:`virtmodel.simulate` returns."""

from __future__ import annotations

from dataclasses import dataclass

from .._lazy import lazy
from ..errors import InvalidParameter
from . import stats

pd = lazy("pandas")

__all__ = ["SimResult"]


@dataclass(frozen=True, eq=False)
class SimResult:
    """Simulated metrics with 95 % confidence intervals.

    Attributes
    ----------
    summary : pandas.DataFrame
        Columns ``metric, group, mean, ci_low, ci_high, n`` (``n`` is the
        number of replications, or of batches when ``replications == 1``).
    per_replication : pandas.DataFrame
        Columns ``replication, metric, group, value``: each replication's
        point estimate.
    batches : pandas.DataFrame
        With one replication, columns ``batch, metric, group, value``: the
        batch means behind the interval (empty otherwise).
    conditional : pandas.DataFrame
        With ``size_bins``: ``group, size_low, size_high, mean_size,
        mean_response, ci_low, ci_high, n, jobs`` — the conditional mean
        response E[T | size in bin] (interval over the ``n`` replications
        that saw the bin; bins seen by fewer than 2 are left out).
    diagnostics : pandas.DataFrame
        Per replication and group: ``littles_law_gap`` ((L - X W) / L),
        ``warmup_removed`` (departures dropped), ``window_start``,
        ``window_end``, ``departures`` (kept in the window).
    customers, horizon : int or float or None
        The run length asked for (departures kept per replication, or
        simulated time).
    replications : int
    seed : int
        Entropy of the root ``SeedSequence``; rerunning with it reproduces
        the result exactly.
    warmup : str or float
        ``"mser5"`` or the fraction removed.
    method : str
        ``"replications"`` (Student-t over replication means, R - 1 degrees
        of freedom) or ``"batch means"`` (one run, Student-t over batches);
        ``"batch means (trace replay: one sample path)"`` when a VM replays a
        measured trace (:meth:`virtmodel.VM.from_trace`).
    engine : str
        ``"simpy"`` (the reference model), ``"compiled"`` (the numba kernels,
        job-for-job equal to simpy) or ``"fast"`` (vectorised Lindley): the
        engine that ran (``engine="auto"`` resolves to compiled or simpy);
        for a scenario kind (``BootStorm``, ``ClockScenario``, ``Cluster``,
        ``IOScenario``, ``NetworkScenario``, ...) its own simulator,
        ``"<Kind>.replicate"``, whose module docstring says whether it is a
        simpy, numpy or numba model.
    """

    summary: pd.DataFrame
    per_replication: pd.DataFrame
    batches: pd.DataFrame
    diagnostics: pd.DataFrame
    customers: int | None
    horizon: float | None
    replications: int
    seed: int
    warmup: str | float
    method: str
    engine: str
    conditional: pd.DataFrame = None

    def _row(self, metric: str, group: str):
        s = self.summary
        hit = s[(s["metric"] == metric) & (s["group"] == group)]
        if hit.empty:
            metrics = sorted(s["metric"].unique())
            groups = list(dict.fromkeys(s["group"]))
            if metric not in metrics:
                raise InvalidParameter(f"metric must be one of {metrics}, got {metric!r}")
            if group in groups:  # the group exists, but this metric was not estimated for it
                having = list(s.loc[s["metric"] == metric, "group"])
                raise InvalidParameter(f"group must be one of {having} for metric {metric!r} (this run did not "
                                       f"estimate it for {group!r}), got {group!r}")
            raise InvalidParameter(f"group must be one of {groups}, got {group!r}")
        return hit.iloc[0]

    def mean(self, metric: str, group: str = "all") -> float:
        """Point estimate of ``metric`` for ``group`` (a VM name or ``"all"``)."""
        return float(self._row(metric, group)["mean"])

    def ci(self, metric: str, group: str = "all", level: float = 0.95) -> tuple[float, float]:
        """Confidence interval ``(low, high)`` of ``metric`` for ``group``.

        At the default 95 % it is the stored interval; another ``level``
        (e.g. a Bonferroni-adjusted one for a family of checks) is computed
        from the same replication means or batch means.
        """
        row = self._row(metric, group)
        if level == 0.95:
            return float(row["ci_low"]), float(row["ci_high"])
        src = self.per_replication if self.replications >= 2 else self.batches
        values = src.loc[(src["metric"] == metric) & (src["group"] == group), "value"].to_numpy()
        iv = stats.student_t_interval(values, level=level)
        return float(iv.low), float(iv.high)

    def to_frame(self) -> pd.DataFrame:
        """Tidy copy of the summary: ``metric, group, mean, ci_low, ci_high, n``."""
        return self.summary.copy()

    @property
    def littles_law_gap(self) -> float:
        """Largest ``|(L - X W) / L|`` over replications and groups (a sanity diagnostic)."""
        return float(self.diagnostics["littles_law_gap"].abs().max())

    def equals(self, other: SimResult) -> bool:
        """Same numbers (summary, per-replication and batch estimates, diagnostics)."""
        return (
            isinstance(other, SimResult)
            and self.summary.equals(other.summary)
            and self.per_replication.equals(other.per_replication)
            and self.batches.equals(other.batches)
            and self.diagnostics.equals(other.diagnostics)
            and (self.conditional is None) == (other.conditional is None)
            and (self.conditional is None or self.conditional.equals(other.conditional))
        )

    def __repr__(self) -> str:
        size = f"customers={self.customers}" if self.customers is not None else f"horizon={self.horizon}"
        return (
            f"SimResult({size}, replications={self.replications}, seed={self.seed}, "
            f"method={self.method!r}, engine={self.engine!r})\n{self.summary.to_string(index=False)}"
        )
