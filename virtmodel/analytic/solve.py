"""``predict(scenario)``: the closed form that fits a scenario, as a Prediction.

Dispatch is on the policy's class (:func:`solves` registers a solver); each
solver decides which model applies and says so in ``Prediction.model``, or
raises :class:`~virtmodel.errors.NoClosedForm` naming the assumption that
fails.

FCFS (the foundation):

* Poisson arrivals, one pCPU, no capacity limit: the VMs' Poisson streams
  merge into one of rate lambda = sum lambda_i whose service time is the
  mixture of the VMs' services (weights lambda_i / lambda), so M/G/1 with
  Pollaczek–Khinchine is exact.  By PASTA every VM sees the same mean wait
  W_q; VM i's mean response is W_q + E[S_i] (Kleinrock 1975, §5.5; Gross et
  al. 2008, §5.1).
* Poisson arrivals, c pCPUs, exponential service with one common rate: M/M/c
  (exact).  With a capacity K: M/M/c/K (M/M/1/K, Erlang loss when K = c),
  blocking the same for every VM by PASTA.
* Otherwise, no capacity limit: G/G/c by Kingman (c = 1) or Allen–Cunneen,
  with the merged arrival process's variability from the superposition
  approximation c_a^2 = sum (lambda_i/lambda) c_{a,i}^2 (Whitt 1983, QNA,
  eq. 38 with w = 1); exact=False.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from ..dists import Exponential
from ..errors import InvalidParameter, NoClosedForm
from ..policies import FCFS
from . import queues

__all__ = ["Prediction", "predict", "solves"]

_SOLVERS: dict[type, object] = {}


def solves(policy_cls):
    """Decorator registering ``fn(scenario) -> Prediction`` for ``policy_cls``."""

    def deco(fn):
        _SOLVERS[policy_cls] = fn
        return fn

    return deco


@dataclass(frozen=True, eq=False)
class Prediction:
    """Closed-form metrics of a scenario.

    Attributes
    ----------
    values : pandas.DataFrame
        Columns ``metric, group, value``; ``group`` is a VM name or ``"all"``.
    exact : bool
        True when the model is exact under the scenario's assumptions.
    model : str
        Which model produced the numbers (e.g. ``"M/G/1 (Pollaczek-Khinchine)"``).
    source : str
        Book or paper and equation.
    """

    values: pd.DataFrame
    exact: bool
    model: str
    source: str

    def value(self, metric: str, group: str = "all") -> float:
        """The predicted ``metric`` for ``group``."""
        v = self.values
        hit = v[(v["metric"] == metric) & (v["group"] == group)]
        if hit.empty:
            metrics = sorted(v["metric"].unique())
            if metric not in metrics:
                raise InvalidParameter(f"metric must be one of {metrics}, got {metric!r}")
            raise InvalidParameter(f"group must be one of {list(dict.fromkeys(v['group']))}, got {group!r}")
        return float(hit["value"].iloc[0])

    def to_frame(self) -> pd.DataFrame:
        """Tidy copy: ``metric, group, value``."""
        return self.values.copy()

    def __repr__(self) -> str:
        return (f"Prediction(model={self.model!r}, exact={self.exact})\n"
                f"{self.values.to_string(index=False)}")


def predict(scenario) -> Prediction:
    """Closed-form prediction for ``scenario``.

    Raises
    ------
    NoClosedForm
        When no exact or approximate model covers the scenario; the message
        says which assumption fails.

    Examples
    --------
    >>> import virtmodel as vm
    >>> from virtmodel.dists import Exponential, Deterministic
    >>> sc = vm.Scenario(1, [vm.VM("a", Exponential(0.5), Deterministic(1.0))])
    >>> p = vm.predict(sc)
    >>> p.model, p.value("mean_wait")     # M/D/1: rho / (2 mu (1 - rho)) = 0.5
    ('M/G/1 (Pollaczek-Khinchine)', 0.5)
    """
    from ..scenario import Scenario

    if not isinstance(scenario, Scenario):
        raise InvalidParameter(f"scenario must be a virtmodel.Scenario, got {scenario!r}")
    solver = _SOLVERS.get(type(scenario.policy))
    if solver is None:
        raise NoClosedForm(f"no closed form is implemented for policy {scenario.policy!r}")
    return solver(scenario)


# --------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class _Moments:
    """Duck-typed distribution given by its raw moments (mean, E[X^2], E[X^3])."""

    moments: tuple

    @property
    def mean(self):
        return self.moments[0]

    @property
    def scv(self):
        m1, m2 = self.moments[0], self.moments[1]
        return m2 / m1**2 - 1 if math.isfinite(m2) else math.inf

    def moment(self, k):
        return 1.0 if k == 0 else self.moments[k - 1]


def _merged_service(scenario) -> _Moments:
    """Service time of a job picked from the merged stream: mixture weighted by arrival rate."""
    lam = scenario.arrival_rate
    return _Moments(tuple(
        math.fsum(v.arrival_rate / lam * v.service.moment(k) for v in scenario.vms) for k in (1, 2, 3)
    ))


def _merged_arrival(scenario) -> _Moments:
    """Superposition approximation: rate sum lambda_i, scv = sum (lambda_i/lambda) scv_i (Whitt 1983)."""
    lam = scenario.arrival_rate
    scv = math.fsum(v.arrival_rate / lam * v.arrival.scv for v in scenario.vms)
    mean = 1.0 / lam
    return _Moments((mean, (scv + 1) * mean**2, math.nan))


def _frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["metric", "group", "value"])


def _shared_queue_rows(scenario, model, blocking=None):
    """Rows for FCFS: every VM sees the same mean wait; VM i adds its own service time.

    ``model`` is a fitted queue object for the merged stream; with
    ``blocking`` the per-VM accepted rate is lambda_i (1 - blocking).
    """
    wait = float(model.mean_wait)
    c = scenario.pcpus
    rows = []
    groups = [("all", None)] + ([(v.name, v) for v in scenario.vms] if len(scenario.vms) > 1 else [])
    for name, vm in groups:
        if vm is None:
            thr, util = float(model.throughput), float(model.utilization)
            resp, number, qlen = float(model.mean_response), float(model.mean_number), float(
                model.mean_queue_length)
        else:
            thr = vm.arrival_rate * (1 - blocking) if blocking is not None else vm.arrival_rate
            util = thr * vm.service.mean / c
            resp = wait + vm.service.mean
            number, qlen = thr * resp, thr * wait
        rows += [("utilization", name, util), ("throughput", name, thr), ("mean_wait", name, wait),
                 ("mean_response", name, resp), ("mean_number", name, number),
                 ("mean_queue_length", name, qlen)]
        if blocking is not None:
            rows.append(("blocking_probability", name, blocking))
    return rows


def _common_exponential_rate(scenario):
    rates = {v.service.rate for v in scenario.vms if isinstance(v.service, Exponential)}
    if len(rates) == 1 and all(isinstance(v.service, Exponential) for v in scenario.vms):
        return rates.pop()
    return None


# --------------------------------------------------------------------------- FCFS


@solves(FCFS)
def _fcfs(scenario) -> Prediction:
    c, lam = scenario.pcpus, scenario.arrival_rate
    poisson = all(v.poisson for v in scenario.vms)
    mu = _common_exponential_rate(scenario)
    if scenario.capacity is not None:
        if not (poisson and mu is not None):
            raise NoClosedForm(
                "a finite capacity needs Poisson arrivals and exponential service with one common "
                "rate (M/M/c/K); this scenario has "
                + ("non-Poisson arrivals" if not poisson else "non-exponential or unequal service")
            )
        K = scenario.capacity
        if c == 1:
            model, name = queues.MM1K(lam, mu, K), "M/M/1/K"
        elif K == c:
            model, name = queues.MMcc(lam, mu, c), "M/M/c/c (Erlang B)"
        else:
            model, name = queues.MMcK(lam, mu, c, K), "M/M/c/K"
        rows = _shared_queue_rows(scenario, model, blocking=float(model.blocking_probability))
        return Prediction(_frame(rows), True, name,
                          "Gross, Shortle, Thompson & Harris, Fundamentals of Queueing Theory, 4th ed. "
                          "(2008), §2.5-2.6; Kleinrock, Queueing Systems I (1975), §3.5-3.7")
    if poisson and c == 1:
        model = queues.MG1(lam, _merged_service(scenario))
        return Prediction(_frame(_shared_queue_rows(scenario, model)), True,
                          "M/G/1 (Pollaczek-Khinchine)",
                          "Kleinrock, Queueing Systems I (1975), eq. (5.76); Gross et al. (2008), §5.1.1")
    if poisson and mu is not None:
        model = queues.MMc(lam, mu, c)
        return Prediction(_frame(_shared_queue_rows(scenario, model)), True, "M/M/c (Erlang C)",
                          "Kleinrock, Queueing Systems I (1975), eq. (3.39)-(3.40); "
                          "Gross et al. (2008), §2.3")
    model = queues.GGc(_merged_arrival(scenario), _merged_service(scenario), c)
    name = "G/G/1 (Kingman)" if c == 1 else "G/G/c (Allen-Cunneen)"
    if len(scenario.vms) > 1 and not poisson:
        name += " with superposed arrivals (QNA)"
    return Prediction(_frame(_shared_queue_rows(scenario, model)), False, name,
                      "Kingman (1961); Allen (1990), §6; Whitt, 'The queueing network analyzer', "
                      "Bell Syst. Tech. J. 62 (1983), eq. (38)")
