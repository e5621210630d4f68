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
from collections.abc import Callable
from dataclasses import dataclass, replace

from .._lazy import lazy
from .._registry import registrar
from ..dists import Exponential
from ..errors import InvalidParameter, NoClosedForm, UnstableSystem
from ..policies import FCFS
from . import queues

__all__ = ["Prediction", "predict", "solves"]

_SOLVERS: dict[type, object] = {}


#: ``@solves(PolicyClass)`` registers ``fn(scenario) -> Prediction`` for that policy
solves = registrar(_SOLVERS)


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
    conditional : callable or None
        ``conditional(x, group)`` -> mean response time of a job of size ``x``
        (a number or array) in ``group``, where the model gives it; see
        :meth:`response_given_size`.
    """

    values: pd.DataFrame
    exact: bool
    model: str
    source: str
    conditional: Callable | None = None
    #: ``distribution(metric, group)`` -> an object with ``cdf``, ``sf``, ``quantile`` (analytic/tail.py)
    distribution: Callable | None = None

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

    def response_given_size(self, x, group: str = "all"):
        """Mean response time E[T | size x] of a job of ``group`` (a VM name or ``"all"``).

        Raises
        ------
        NoClosedForm
            When the model gives no conditional response time.
        """
        if self.conditional is None:
            raise NoClosedForm(f"{self.model} gives no mean response time conditional on the job size")
        groups = list(dict.fromkeys(self.values["group"]))
        if group not in groups:
            raise InvalidParameter(f"group must be one of {groups}, got {group!r}")
        return self.conditional(x, group)

    def _distribution(self, metric: str, group: str):
        if metric not in ("response", "wait"):
            raise InvalidParameter(
                f"metric must be 'response' or 'wait' (the times that have a distribution), got {metric!r}")
        groups = list(dict.fromkeys(self.values["group"]))
        if group not in groups:
            raise InvalidParameter(f"group must be one of {groups}, got {group!r}")
        if self.distribution is None:
            raise NoClosedForm(f"{self.model} gives mean values only, no {metric}-time distribution; "
                               "simulate the percentiles instead (p50_/p95_/p99_ metrics of simulate)")
        return self.distribution(metric, group)

    def cdf(self, metric: str, t, group: str = "all"):
        """P(X <= t) for X the ``metric`` time (``"response"`` or ``"wait"``) of ``group``; broadcasts over t.

        Raises
        ------
        NoClosedForm
            When the model has no distribution for it (the message says why).

        Examples
        --------
        >>> import virtmodel as vm
        >>> from virtmodel.dists import Exponential
        >>> p = vm.predict(vm.Scenario(1, [vm.VM("a", Exponential(0.5), Exponential(1.0))]))
        >>> round(float(p.cdf("wait", 0.0)), 6)     # M/M/1: P(W = 0) = 1 - rho
        0.5
        """
        return self._distribution(metric, group).cdf(t)

    def quantile(self, metric: str, q, group: str = "all"):
        """The q-quantile (0 < q < 1) of the ``metric`` time (``"response"`` or ``"wait"``) of ``group``.

        Examples
        --------
        >>> import math, virtmodel as vm
        >>> from virtmodel.dists import Exponential
        >>> p = vm.predict(vm.Scenario(1, [vm.VM("a", Exponential(0.5), Exponential(1.0))]))
        >>> math.isclose(p.quantile("response", 0.99), math.log(100) / 0.5)   # M/M/1: Exp(mu - lambda)
        True
        """
        from .tail import check_probability

        check_probability(q)
        return self._distribution(metric, group).quantile(q)

    def to_frame(self) -> pd.DataFrame:
        """Tidy copy: ``metric, group, value``."""
        return self.values.copy()

    def __repr__(self) -> str:
        return (f"Prediction(model={self.model!r}, exact={self.exact})\n"
                f"{self.values.to_string(index=False)}")


def predict(scenario, unstable: str = "raise") -> Prediction:
    """Closed-form prediction for ``scenario``.

    Parameters
    ----------
    scenario : Scenario (or another scenario kind with its own ``predict()``)
    unstable : {"raise", "inf"}, default "raise"
        What to do when the scenario has no steady state (a
        ``Scenario(..., allow_overload=True)`` whose utilization is >= 1):
        raise :class:`~virtmodel.errors.UnstableSystem`, or return a
        Prediction whose ``"all"`` group has ``mean_wait``, ``mean_response``,
        ``mean_number`` and ``mean_queue_length`` equal to ``inf`` (DESIGN's
        convention: inf only when asked).  Unbounded growth of the work in
        the system at utilization >= 1 holds for any work-conserving queue
        (Loynes 1962), so those rows are ``exact``; per-VM rows are not
        given (under priority a high class may stay stable).

    Raises
    ------
    NoClosedForm
        When no exact or approximate model covers the scenario; the message
        says which assumption fails.
    UnstableSystem
        When the utilization is >= 1 and ``unstable="raise"``.

    Examples
    --------
    >>> import virtmodel as vm
    >>> from virtmodel.dists import Exponential, Deterministic
    >>> sc = vm.Scenario(1, [vm.VM("a", Exponential(0.5), Deterministic(1.0))])
    >>> p = vm.predict(sc)
    >>> p.model, p.value("mean_wait")     # M/D/1: rho / (2 mu (1 - rho)) = 0.5
    ('M/G/1 (Pollaczek-Khinchine)', 0.5)
    >>> over = vm.Scenario(1, [vm.VM("a", Exponential(1.5), Exponential(1.0))], allow_overload=True)
    >>> vm.predict(over, unstable="inf").value("mean_response")
    inf
    """
    from ..scenario import Scenario

    if not isinstance(unstable, str) or unstable not in ("raise", "inf"):
        raise InvalidParameter(f"unstable must be 'raise' or 'inf', got {unstable!r}")

    if not isinstance(scenario, Scenario):
        if callable(getattr(scenario, "predict", None)) and callable(getattr(scenario, "replicate", None)):
            return scenario.predict()  # another scenario kind (e.g. a boot storm) predicts itself
        raise InvalidParameter(f"scenario must be a virtmodel.Scenario, got {scenario!r}")
    if scenario.has_patience and not isinstance(scenario.policy, FCFS):
        raise NoClosedForm(
            f"abandonment (VM.patience) has a closed form only under FCFS (Erlang-A), got {scenario.policy!r}")
    solver = _SOLVERS.get(type(scenario.policy))
    if solver is None:
        raise NoClosedForm(f"no closed form is implemented for policy {scenario.policy!r}")
    try:
        prediction = solver(scenario)
    except UnstableSystem as exc:
        if unstable == "raise":
            raise
        rows = [(m, "all", math.inf) for m in ("mean_wait", "mean_response", "mean_number", "mean_queue_length")]
        return Prediction(_frame(rows), True, f"no steady state: {exc}",
                          "Loynes (1962): at utilization >= 1 the work in system grows without bound")
    prediction = _with_conservation_law(scenario, prediction)
    if not prediction.values["value"].map(math.isfinite).all():
        # a stable system whose means diverge: E[S^2] = inf (Pollaczek-Khinchine) -- never an inf silently
        heavy = [f"{v.name!r} ({law} E[X^2] = inf)" for v in scenario.vms
                 for law, dist in (("service", v.service), ("interarrival", v.arrival)) if dist.moment(2) == math.inf]
        raise NoClosedForm(f"the mean delays of this stable scenario diverge: {', '.join(heavy) or 'a moment is inf'}; "
                           "the formulas need finite second moments (e.g. Pollaczek-Khinchine, Kleinrock I eq. 5.76); "
                           "simulate percentiles instead, or use ProcessorSharing, whose mean response needs E[S] only")
    return prediction


def _with_conservation_law(scenario, prediction):
    """Add Kleinrock's conservation law as the ``work_weighted_wait`` row for ``"all"``.

    For any non-preemptive work-conserving policy on one server with Poisson
    arrivals, E[S W] / E[S] = W0 / (1 - rho) with W0 = sum_i lambda_i
    E[S_i^2] / 2, whatever the order of service (Kleinrock, Queueing Systems
    II, 1976, §3.4; the job-level form covers size-based orders such as SJF).
    """
    policy = scenario.policy
    applies = (not policy.preemptive and policy.work_conserving and scenario.pcpus == 1
               and scenario.capacity is None and all(v.poisson and v.vcpus is None for v in scenario.vms)
               and not scenario.has_patience
               and not (prediction.values["metric"] == "work_weighted_wait").any())
    if not applies:
        return prediction
    from .scheduling import conservation_sum

    rates = [v.arrival_rate for v in scenario.vms]
    value = conservation_sum(rates, [v.service for v in scenario.vms]) / scenario.offered_load
    row = pd.DataFrame([("work_weighted_wait", "all", float(value))], columns=["metric", "group", "value"])
    return replace(prediction, values=pd.concat([prediction.values, row], ignore_index=True))


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


def _sizes_arg(x):
    from .._validation import as_output, nonnegative

    return nonnegative("x", x), as_output


def _fcfs_conditional(model):
    """E[T | x] = W_q + x: under FCFS a job's wait does not depend on its own size."""
    wait = float(model.mean_wait)

    def conditional(x, group):
        x, out = _sizes_arg(x)
        return out(wait + x)

    return conditional


# --------------------------------------------------------------------------- FCFS


def _vm_queue(vm, servers: int):
    """The queue of one VM alone on ``servers`` CPUs of its own: (model, exact, name).

    Poisson arrivals: M/G/1 when ``servers = 1`` and M/M/c for exponential
    service (exact); otherwise G/G/c (Kingman / Allen-Cunneen, approximate).
    """
    if vm.poisson and servers == 1:
        return queues.MG1(vm.arrival_rate, vm.service), True, "M/G/1"
    if vm.poisson and isinstance(vm.service, Exponential):
        return queues.MMc(vm.arrival_rate, vm.service.rate, servers), True, "M/M/c"
    return queues.GGc(vm.arrival, vm.service, servers), False, "G/G/c"


def _vcpu_rows(scenario, per_vm: dict, overall_floor: dict | None = None):
    """Rows of VMs each with its own queue: ``per_vm[name] = (wait, response)``.

    ``"all"`` is rate-weighted (waits, responses) or summed (numbers); with
    ``overall_floor`` (metric -> value) the overall wait and response are
    raised to at least those values (a second lower bound).
    """
    c = scenario.pcpus
    lam = scenario.arrival_rate
    rows, sums = [], {"wait": 0.0, "resp": 0.0}
    for v in scenario.vms:
        wait, resp = per_vm[v.name]
        sums["wait"] += v.arrival_rate * wait
        sums["resp"] += v.arrival_rate * resp
        rows += [("utilization", v.name, v.offered_load / c), ("throughput", v.name, v.arrival_rate),
                 ("mean_wait", v.name, wait), ("mean_response", v.name, resp),
                 ("mean_number", v.name, v.arrival_rate * resp), ("mean_queue_length", v.name, v.arrival_rate * wait)]
    wait, resp = sums["wait"] / lam, sums["resp"] / lam
    if overall_floor is not None:
        wait = max(wait, overall_floor["mean_wait"])
        resp = max(resp, overall_floor["mean_response"])
    overall = [("utilization", "all", scenario.utilization), ("throughput", "all", lam),
               ("mean_wait", "all", wait), ("mean_response", "all", resp),
               ("mean_number", "all", lam * resp), ("mean_queue_length", "all", lam * wait)]
    return overall + (rows if len(scenario.vms) > 1 else [])


def _vcpu_conditional(waits: dict):
    def conditional(x, group):
        if group == "all":
            raise InvalidParameter(
                "group must be a VM name with vCPU limits: E[T | x] = W_i + x depends on the VM, got 'all'")
        x, out = _sizes_arg(x)
        return out(waits[group] + x)

    return conditional


_VCPU_SOURCE = ("each VM alone on its vCPUs: Kleinrock, Queueing Systems I (1975), eq. (5.76) (M/G/1) and "
                "eq. (3.39)-(3.40) (M/M/c); Gross et al. (2008), §2.3, §5.1")


def _fcfs_vcpus(scenario) -> Prediction | None:
    """FCFS with per-VM vCPU limits, or None when the limits never bind (plain FCFS applies).

    * **Dedicated** vCPUs (every VM has ``vcpus`` and their sum is <= pcpus):
      a VM's jobs never compete with another VM's, so each VM is its own
      queue on ``vcpus`` servers (:func:`_vm_queue`): M/G/1 per VM when
      vcpus = 1, M/M/v per VM for exponential service; exact (G/G/v,
      approximate, otherwise).  ``"all"``: waits and responses weighted by
      arrival rate, numbers summed.
    * **Overcommitted** vCPUs (sum > pcpus, or some VM unlimited): no closed
      form.  Two lower bounds, ``exact=False``: each VM can have at most
      min(vcpus, pcpus) jobs running, so its own queue on that many dedicated
      servers is a lower bound on its wait and response; and, for exponential
      service of one common rate, vCPU limits only make the pooled M/M/c less
      work-conserving (the departure rate min(n, c) mu is the largest
      possible), so M/M/c on all pCPUs bounds the overall mean number and
      response from below.  The prediction reports the larger of the two for
      ``"all"``.  Throughput and utilization are exact.
    """
    c = scenario.pcpus
    limits = [None if v.vcpus is None else min(v.vcpus, c) for v in scenario.vms]
    if all(lim is None or lim == c for lim in limits):
        return None  # no VM is held below the pCPUs: the ordinary FCFS models apply
    if scenario.capacity is not None:
        raise NoClosedForm(
            f"FCFS with vCPU limits is implemented for unlimited capacity only, got capacity={scenario.capacity}")
    dedicated = all(lim is not None for lim in limits) and sum(limits) <= c
    per_vm, waits, exact, kinds = {}, {}, True, set()
    for v, lim in zip(scenario.vms, limits, strict=True):
        model, ok, kind = _vm_queue(v, c if lim is None else lim)
        per_vm[v.name] = (float(model.mean_wait), float(model.mean_response))
        waits[v.name] = per_vm[v.name][0]
        exact = exact and ok
        kinds.add(kind)
    if dedicated:
        name = "dedicated vCPUs: each VM its own " + "/".join(sorted(kinds)) + " queue"
        return Prediction(_frame(_vcpu_rows(scenario, per_vm)), exact, name, _VCPU_SOURCE,
                          _vcpu_conditional(waits))
    floor = None
    mu = _common_exponential_rate(scenario)
    if mu is not None and all(v.poisson for v in scenario.vms):
        pooled = queues.MMc(scenario.arrival_rate, mu, c)
        floor = {"mean_wait": float(pooled.mean_wait), "mean_response": float(pooled.mean_response)}
    name = ("overcommitted vCPUs: lower bound (each VM alone on its vCPUs"
            + ("; pooled M/M/c for 'all'" if floor else "") + ")")
    return Prediction(_frame(_vcpu_rows(scenario, per_vm, floor)), False, name,
                      "lower bounds: " + _VCPU_SOURCE + "; pooled M/M/c: Gross et al. (2008), §2.3")


def _fcfs_patience(scenario) -> Prediction:
    """FCFS with abandonment: Erlang-A (M/M/c+M), exact.

    Needs Poisson arrivals, exponential service of one common rate,
    exponential patience of one common rate, no capacity limit and no vCPU
    limits.  The VMs' streams merge into one of rate lambda = sum lambda_i; by
    PASTA and because patience does not depend on the VM, every VM sees the
    same waits and abandonment probability; VM i is served at
    lambda_i (1 - P(Ab)).  Garnett, Mandelbaum & Reiman (2002); see
    :mod:`virtmodel.analytic.abandonment`.
    """
    from ..dists import Exponential as _Exp
    from .abandonment import MMcM

    mu = _common_exponential_rate(scenario)
    thetas = {v.patience.rate for v in scenario.vms if isinstance(v.patience, _Exp)}
    fails = []
    if not all(v.poisson for v in scenario.vms):
        fails.append("non-Poisson arrivals")
    if mu is None:
        fails.append("non-exponential or unequal service")
    if len(thetas) != 1 or not all(isinstance(v.patience, _Exp) for v in scenario.vms):
        fails.append("patience not exponential of one common rate for every VM")
    if scenario.capacity is not None:
        fails.append(f"capacity={scenario.capacity}")
    if any(v.vcpus is not None for v in scenario.vms):
        fails.append("vCPU limits")
    if fails:
        raise NoClosedForm("FCFS with patience has a closed form for Erlang-A (M/M/c+M) only; this scenario has "
                           + ", ".join(fails))
    c, lam = scenario.pcpus, scenario.arrival_rate
    model = MMcM(lam, mu, c, thetas.pop())
    p_ab = float(model.abandonment_probability)
    shared = {m: float(getattr(model, m)) for m in ("mean_wait", "mean_response", "abandonment_probability",
                                                    "mean_wait_served", "mean_wait_abandoned")}
    rows = []
    groups = [("all", lam)] + ([(v.name, v.arrival_rate) for v in scenario.vms] if len(scenario.vms) > 1 else [])
    for name, rate in groups:
        served = rate * (1.0 - p_ab)
        rows += [("utilization", name, served / (c * mu)), ("throughput", name, served),
                 ("mean_number", name, rate * shared["mean_response"]),
                 ("mean_queue_length", name, rate * shared["mean_wait"])]
        rows += [(m, name, value) for m, value in shared.items()]
    return Prediction(_frame(rows), True, "M/M/c+M (Erlang-A)",
                      "Garnett, Mandelbaum & Reiman, MSOM 4(3) (2002), sec. 3; Mandelbaum & Zeltyn, "
                      "'The M/M/n+G queue: summary of performance measures' (2007), M/M/n+M")


@solves(FCFS)
def _fcfs(scenario) -> Prediction:
    if scenario.has_patience:
        return _fcfs_patience(scenario)
    c, lam = scenario.pcpus, scenario.arrival_rate
    vcpu_prediction = _fcfs_vcpus(scenario)
    if vcpu_prediction is not None:
        return vcpu_prediction
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
                          "(2008), §2.5-2.6; Kleinrock, Queueing Systems I (1975), §3.5-3.7",
                          _fcfs_conditional(model))
    if poisson and c == 1:
        model = queues.MG1(lam, _merged_service(scenario))
        return _with_percentiles(scenario, Prediction(
            _frame(_shared_queue_rows(scenario, model)), True, "M/G/1 (Pollaczek-Khinchine)",
            "Kleinrock, Queueing Systems I (1975), eq. (5.76); Gross et al. (2008), §5.1.1",
            _fcfs_conditional(model)))
    if poisson and mu is not None:
        model = queues.MMc(lam, mu, c)
        return _with_percentiles(scenario, Prediction(
            _frame(_shared_queue_rows(scenario, model)), True, "M/M/c (Erlang C)",
            "Kleinrock, Queueing Systems I (1975), eq. (3.39)-(3.40); Gross et al. (2008), §2.3",
            _fcfs_conditional(model)))
    model = queues.GGc(_merged_arrival(scenario), _merged_service(scenario), c)
    name = "G/G/1 (Kingman)" if c == 1 else "G/G/c (Allen-Cunneen)"
    if len(scenario.vms) > 1 and not poisson:
        name += " with superposed arrivals (QNA)"
    return Prediction(_frame(_shared_queue_rows(scenario, model)), False, name,
                      "Kingman (1961); Allen (1990), §6; Whitt, 'The queueing network analyzer', "
                      "Bell Syst. Tech. J. 62 (1983), eq. (38)", _fcfs_conditional(model))


def _fcfs_distributions(scenario):
    """``distribution(metric, group)`` for FCFS on Poisson streams: M/M/c, or M/G/1 by transform inversion.

    Under FCFS every VM sees the same wait (PASTA); a job's response is its
    wait plus its own service, independent of the wait.  Raises NoClosedForm
    (at call time) where analytic/tail.py has no exact distribution.
    """
    from . import tail

    c, lam = scenario.pcpus, scenario.arrival_rate
    mu = _common_exponential_rate(scenario)
    by_name = {v.name: v for v in scenario.vms}

    def distribution(metric, group):
        if mu is not None:
            cls = tail.MMcWait if metric == "wait" else tail.MMcResponse
            return cls(lam, mu, c)
        if c != 1:
            raise NoClosedForm("the waiting-time distribution on several pCPUs is exact for exponential service "
                               "of one common rate only (M/M/c)")
        mix = [(v.arrival_rate / lam, v.service) for v in scenario.vms]
        service = mix[0][1] if len(mix) == 1 else mix
        if metric == "wait":
            return tail.MG1Wait(lam, service)
        own = None if group == "all" else by_name[group].service
        return tail.MG1Response(lam, service, own)

    return distribution


def _with_percentiles(scenario, prediction, distribution=None):
    """Attach the distributions and add the p50/p95/p99 rows of wait and response where they are exact."""
    from .tail import PERCENTILES

    distribution = distribution or _fcfs_distributions(scenario)
    groups = list(dict.fromkeys(prediction.values["group"]))
    rows = []
    try:
        for group in groups:
            for metric in ("wait", "response"):
                d = distribution(metric, group)
                quantiles = d.quantile(list(PERCENTILES.values()))
                atom = float(getattr(d, "atom", 0.0))  # P(X = 0)
                # a level equal to the atom at 0 (P(W = 0) = 1 - rho = 0.5 at load 0.5) falls on a jump of
                # the quantile function: the sample quantile is 0 about half the time and above 0 otherwise
                # (biased up by O(n^-1/2), no normal limit), so no interval can test it: left out
                rows += [(f"{name}_{metric}", group, float(x))
                         for (name, level), x in zip(PERCENTILES.items(), quantiles, strict=True)
                         if abs(level - atom) > 1e-9]
    except NoClosedForm:
        return replace(prediction, distribution=distribution)
    values = pd.concat([prediction.values, _frame(rows)], ignore_index=True)
    return replace(prediction, values=values, distribution=distribution)


# --------------------------------------------------------------------------- other policies
#
# One pCPU: each VM is a Poisson class of an M/G/1 model from analytic/scheduling.py
# (VMs of equal VM.priority form one FCFS class under Priority).  Several pCPUs:
# only the exponential, one-common-rate cases below have closed forms.

from ..policies import (  # noqa: E402 - the FCFS part above stays as it was
    PSJF,
    SJF,
    SRPT,
    DelayDependentPriority,
    Priority,
    ProcessorSharing,
    RoundRobin,
)
from . import scheduling  # noqa: E402

pd = lazy("pandas")

_SCHEDULING_SOURCE = {
    "SJF": "Kleinrock, Queueing Systems II (1976), §3.6 (Cobham's formula per job size); "
           "Harchol-Balter, Performance Modeling and Design of Computer Systems (2013), ch. 31",
    "SRPT": "Schrage & Miller, Oper. Res. 14 (1966) 670-684; Wierman & Harchol-Balter, "
            "SIGMETRICS 2003, §2; Harchol-Balter (2013), ch. 33",
    "PSJF": "Wierman & Harchol-Balter, SIGMETRICS 2003, §2; Harchol-Balter (2013), ch. 32",
    "PS": "Kleinrock, Queueing Systems II (1976), §4.4 (M/G/1-PS, E[T|x] = x/(1-rho))",
}


def _require_poisson(scenario, what: str) -> None:
    bad = [v.name for v in scenario.vms if not v.poisson]
    if bad:
        raise NoClosedForm(f"{what} needs Poisson arrivals, but the arrivals of VM(s) {bad} are not Poisson")
    if scenario.capacity is not None:
        raise NoClosedForm(
            f"{what} is implemented for unlimited capacity only, got capacity={scenario.capacity}"
        )


def _one_pcpu(scenario, what: str) -> None:
    if scenario.pcpus != 1:
        raise NoClosedForm(
            f"{what} has a closed form for one pCPU only (M/G/1), got pcpus={scenario.pcpus}"
        )


def _policy_rows(scenario, per_vm: dict, overall: dict) -> list:
    """Rows for "all" (``overall``: metric -> value) and, with > 1 VM, each VM (``per_vm[name]``)."""
    rows = [(m, "all", float(v)) for m, v in overall.items()]
    if len(scenario.vms) > 1:
        for v in scenario.vms:
            rows += [(m, v.name, float(val)) for m, val in per_vm[v.name].items()]
    return rows


def _with_queue_length(metrics: dict) -> dict:
    """Add ``mean_queue_length = mean_number - utilization`` (one pCPU, no overhead)."""
    metrics["mean_queue_length"] = metrics["mean_number"] - metrics["utilization"]
    return metrics


def _vm_groups(scenario) -> dict:
    return {v.name: i for i, v in enumerate(scenario.vms)}


def _size_based_prediction(scenario, model, name: str, source_key: str, *, queue_length=True) -> Prediction:
    lam = model.arrival_rates
    has_wait = model._wait is not None
    per_vm = {}
    for i, v in enumerate(scenario.vms):
        m = {"utilization": model.utilization[i], "throughput": lam[i],
             "mean_response": model.mean_response[i], "mean_number": model.mean_number[i]}
        if has_wait:
            m["mean_wait"] = model.mean_wait[i]
        per_vm[v.name] = _with_queue_length(m) if queue_length else m
    overall = {"utilization": model.overall_utilization, "throughput": model.overall_throughput,
               "mean_response": model.overall_mean_response, "mean_number": model.overall_mean_number}
    if has_wait:
        overall["mean_wait"] = model.overall_mean_wait
    if queue_length:
        _with_queue_length(overall)
    groups = _vm_groups(scenario)

    def conditional(x, group):
        return model.response_given_size(x, None if group == "all" else groups[group])

    return Prediction(_frame(_policy_rows(scenario, per_vm, overall)), model.exact, name,
                      _SCHEDULING_SOURCE[source_key], conditional)


def _classes(scenario):
    lam = [v.arrival_rate for v in scenario.vms]
    return lam, [v.service for v in scenario.vms]


#: size-based policies: their M/G/1 model and its name
_SIZE_BASED = {
    SJF: (scheduling.MG1SJF, "M/G/1 non-preemptive SJF"),
    SRPT: (scheduling.MG1SRPT, "M/G/1 SRPT (Schrage-Miller)"),
    PSJF: (scheduling.MG1PSJF, "M/G/1 preemptive SJF"),
}


def _size_based(scenario) -> Prediction:
    model_cls, name = _SIZE_BASED[type(scenario.policy)]
    label = type(scenario.policy).__name__
    _require_poisson(scenario, label)
    _one_pcpu(scenario, label)
    return _size_based_prediction(scenario, model_cls(*_classes(scenario)), name, label)


for _policy in _SIZE_BASED:
    solves(_policy)(_size_based)


def _mmc_size_blind(scenario, what: str, mu: float, *, wait_zero: bool) -> Prediction:
    """c pCPUs, exponential service of one rate, size-blind work-conserving order: M/M/c numbers."""
    c = scenario.pcpus
    mmc = queues.MMc(scenario.arrival_rate, mu, c)
    resp = float(mmc.mean_response)
    per_vm = {}
    for v in scenario.vms:
        m = {"utilization": v.arrival_rate / (c * mu), "throughput": v.arrival_rate,
             "mean_response": resp, "mean_number": v.arrival_rate * resp}
        if wait_zero:
            m["mean_wait"] = 0.0
        per_vm[v.name] = m
    overall = {"utilization": float(mmc.utilization), "throughput": float(mmc.throughput),
               "mean_response": resp, "mean_number": float(mmc.mean_number)}
    if wait_zero:
        overall["mean_wait"] = 0.0
    return Prediction(_frame(_policy_rows(scenario, per_vm, overall)), True, f"M/M/c ({what})",
                      "Kleinrock, Queueing Systems II (1976), §4.4; Gross et al. (2008), §2.3: with "
                      "exponential service of one rate every size-blind work-conserving order has the "
                      "M/M/c number in system")


@solves(ProcessorSharing)
def _ps(scenario) -> Prediction:
    _require_poisson(scenario, "ProcessorSharing")
    if scenario.pcpus > 1:
        mu = _common_exponential_rate(scenario)
        if mu is None:
            raise NoClosedForm(
                "ProcessorSharing on several pCPUs has a closed form here only for exponential service "
                "with one common rate (M/M/c); this scenario's services differ or are not exponential"
            )
        return _mmc_size_blind(scenario, "processor sharing", mu, wait_zero=True)
    model = scheduling.MG1PS(*_classes(scenario))
    # Every job is in service from arrival on, so no job waits: mean_wait = 0, no queue length.
    return _size_based_prediction(scenario, model, "M/G/1 processor sharing", "PS", queue_length=False)


@solves(RoundRobin)
def _round_robin(scenario) -> Prediction:
    policy = scenario.policy
    _require_poisson(scenario, "RoundRobin")
    if scenario.pcpus > 1:
        mu = _common_exponential_rate(scenario)
        if policy.switch_cost != 0 or mu is None:
            raise NoClosedForm(
                "RoundRobin on several pCPUs has a closed form here only with switch_cost = 0 and "
                "exponential service of one common rate (M/M/c); this scenario has "
                + ("switch_cost > 0" if policy.switch_cost != 0 else "other service distributions")
            )
        return _mmc_size_blind(scenario, "round robin", mu, wait_zero=False)
    model = scheduling.MG1RoundRobin(*_classes(scenario), quantum=policy.quantum,
                                     switch_cost=policy.switch_cost)
    lam = model.arrival_rates
    no_overhead = policy.switch_cost == 0
    per_vm = {}
    for i, v in enumerate(scenario.vms):
        m = {"utilization": model.utilization[i], "throughput": lam[i],
             "mean_response": model.mean_response[i], "mean_number": model.mean_number[i]}
        per_vm[v.name] = _with_queue_length(m) if no_overhead and model.exact else m
    overall = {"utilization": model.overall_utilization, "throughput": model.overall_throughput,
               "mean_response": model.overall_mean_response, "mean_number": model.overall_mean_number}
    if no_overhead and model.exact:
        _with_queue_length(overall)
    conditional = None
    if not model.exact:
        def conditional(x, group):
            return model.response_given_size(x)

    name = ("M/G/1 round robin (slices i.i.d.: M/G/1 with inflated service)" if model.exact
            else "M/G/1 round robin (processor sharing on inflated sizes, approximation)")
    source = ("exact for exponential service of one rate: Pollaczek-Khinchine on X' = X + ceil(X/q) s "
              "(virtmodel.analytic.scheduling.MG1RoundRobin); Kleinrock, Queueing Systems II (1976), §4.4"
              if model.exact else
              "approximation: M/G/1-PS (Kleinrock 1976, §4.4) on sizes x + ceil(x/q) s; exact method: "
              "Sakata, Noguchi & Oizumi, Oper. Res. 19 (1971) 371-385 (not implemented)")
    return Prediction(_frame(_policy_rows(scenario, per_vm, overall)), model.exact, name, source, conditional)


class _Mixture:
    """Moments of the service of a priority class: the VMs' services mixed by arrival rate."""

    def __init__(self, vms):
        lam = math.fsum(v.arrival_rate for v in vms)
        self._m = {k: math.fsum(v.arrival_rate / lam * v.service.moment(k) for v in vms) for k in (1, 2)}

    @property
    def mean(self):
        return self._m[1]

    def moment(self, k):
        return self._m[k]


@solves(Priority)
def _priority(scenario) -> Prediction:
    preemptive = scenario.policy.preemptive
    kind = "preemptive-resume" if preemptive else "non-preemptive"
    _require_poisson(scenario, "Priority")
    levels = sorted({v.priority for v in scenario.vms})
    members = [[v for v in scenario.vms if v.priority == p] for p in levels]
    cls_of = {v.name: levels.index(v.priority) for v in scenario.vms}
    rates = [math.fsum(v.arrival_rate for v in group) for group in members]
    c = scenario.pcpus
    if c > 1:
        mu = _common_exponential_rate(scenario)
        if mu is None:
            raise NoClosedForm(
                "Priority on several pCPUs has a closed form here only for exponential service with one "
                "common rate (M/M/c with priorities); this scenario's services differ or are not exponential"
            )
        model = scheduling.MMcPriority(rates, mu, c, preemptive=preemptive)
        name, source = (f"M/M/c {kind} priority",
                        "Gross, Shortle, Thompson & Harris (2008), §3.4 (M/M/c with priorities); "
                        "Cobham, Oper. Res. 2 (1954)")

        def vm_response(v, k):
            return model.mean_response[k]

        def vm_util(v):
            return v.arrival_rate / (c * mu)
    else:
        model = scheduling.MG1Priority(rates, [_Mixture(g) for g in members], preemptive=preemptive)
        name = f"M/G/1 {kind} priority"
        source = ("Cobham, Oper. Res. 2 (1954) 70-76; Kleinrock, Queueing Systems II (1976), §3.6"
                  if not preemptive else
                  "Kleinrock, Queueing Systems II (1976), §3.6; Harchol-Balter (2013), ch. 31")

        def vm_response(v, k):  # E[T | x, k] is linear in x, so E[T_i] = E[T | E[S_i], k]
            return model.response_given_size(v.service.mean, k)

        def vm_util(v):
            return v.offered_load
    has_wait = not preemptive
    per_vm = {}
    for v in scenario.vms:
        k = cls_of[v.name]
        resp = float(vm_response(v, k))
        m = {"utilization": vm_util(v), "throughput": v.arrival_rate, "mean_response": resp,
             "mean_number": v.arrival_rate * resp}
        if has_wait:
            m["mean_wait"] = float(model.mean_wait[k])
        if c == 1:
            _with_queue_length(m)
        elif has_wait:  # waiting jobs are exactly those not in service: Lq = lambda_i W_i
            m["mean_queue_length"] = v.arrival_rate * m["mean_wait"]
        per_vm[v.name] = m
    lam = scenario.arrival_rate
    number = math.fsum(m["mean_number"] for m in per_vm.values())
    overall = {"utilization": scenario.utilization, "throughput": lam,
               "mean_response": number / lam, "mean_number": number}
    if has_wait:
        overall["mean_wait"] = math.fsum(
            v.arrival_rate * per_vm[v.name]["mean_wait"] for v in scenario.vms) / lam
    if c == 1:
        _with_queue_length(overall)
    elif has_wait:
        overall["mean_queue_length"] = math.fsum(m["mean_queue_length"] for m in per_vm.values())

    conditional = None
    if c == 1 or not preemptive:
        wait = None if c == 1 else model.mean_wait

        def conditional(x, group):
            if group == "all":
                raise InvalidParameter(
                    "group must be a VM name for Priority: E[T | x] depends on the VM's class, got 'all'")
            k = cls_of[group]
            if wait is None:
                return model.response_given_size(x, k)
            sizes, out = _sizes_arg(x)
            return out(wait[k] + sizes)  # non-preemptive: the wait does not depend on the own size

    prediction = Prediction(_frame(_policy_rows(scenario, per_vm, overall)), True, name, source, conditional)
    return _with_percentiles(scenario, prediction, _priority_distributions(scenario, members, rates, cls_of))


def _priority_distributions(scenario, members, rates, cls_of):
    """``distribution(metric, group)`` for one pCPU and non-preemptive priorities (analytic/tail.py);
    "all" mixes the VMs by arrival rate.  NoClosedForm elsewhere, with the reason."""
    from . import tail

    policy = scenario.policy

    def laws(group):
        return group[0].service if len(group) == 1 else [(v.arrival_rate / math.fsum(
            u.arrival_rate for u in group), v.service) for v in group]

    def one(metric, v):
        classes = tuple(laws(g) for g in members)
        k = cls_of[v.name]
        if metric == "wait":
            return tail.MG1PriorityWait(tuple(rates), classes, k)
        return tail.MG1PriorityResponse(tuple(rates), classes, k, v.service)

    def distribution(metric, group):
        if scenario.pcpus != 1 or policy.preemptive:
            raise NoClosedForm("the waiting- and response-time distributions under priorities are implemented "
                               "for one pCPU and non-preemptive priorities (Takagi 1991, §3.5); simulate the "
                               "percentiles instead")
        if group != "all":
            return one(metric, next(v for v in scenario.vms if v.name == group))
        lam = scenario.arrival_rate
        return tail.Mixture([v.arrival_rate / lam for v in scenario.vms], [one(metric, v) for v in scenario.vms])

    return distribution


@solves(DelayDependentPriority)
def _delay_dependent(scenario) -> Prediction:
    policy = scenario.policy
    _require_poisson(scenario, "DelayDependentPriority")
    nonzero = {v.name: policy.offset_of(v.name) for v in scenario.vms if policy.offset_of(v.name) != 0}
    if nonzero:
        raise NoClosedForm(
            f"DelayDependentPriority has a closed form only without offsets; offsets a_i != 0 are given "
            f"for {nonzero}"
        )
    _one_pcpu(scenario, "DelayDependentPriority")
    lam, services = _classes(scenario)
    model = scheduling.MG1DelayDependent(lam, services, [policy.slope_of(v.name) for v in scenario.vms])
    per_vm = {}
    for i, v in enumerate(scenario.vms):
        per_vm[v.name] = _with_queue_length(
            {"utilization": model.utilization[i], "throughput": lam[i], "mean_wait": model.mean_wait[i],
             "mean_response": model.mean_response[i], "mean_number": model.mean_number[i]})
    overall = _with_queue_length(
        {"utilization": model.overall_utilization, "throughput": model.overall_throughput,
         "mean_wait": model.overall_mean_wait, "mean_response": model.overall_mean_response,
         "mean_number": model.overall_mean_number})
    groups = _vm_groups(scenario)

    def conditional(x, group):
        if group == "all":
            raise InvalidParameter(
                "group must be a VM name for DelayDependentPriority: E[T | x] depends on the VM, got 'all'")
        return model.response_given_size(x, groups[group])

    return Prediction(_frame(_policy_rows(scenario, per_vm, overall)), True,
                      "M/G/1 delay-dependent priority (Kleinrock)",
                      "Kleinrock, 'A delay dependent queue discipline', Naval Res. Logist. Q. 11 (1964); "
                      "Kleinrock, Queueing Systems II (1976), §3.7", conditional)


# The Polling, ProportionalShare/Credit and LinuxFair solvers register themselves with ``solves`` where
# they are defined; ``virtmodel/areas.py`` (imported by the package) imports them, so this dispatcher
# imports none of its plug-ins and they import it without a cycle (issue 13 item 5).
