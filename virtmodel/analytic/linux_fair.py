"""Closed forms for KVM vCPU threads under Linux's fair scheduler with cgroup ``cpu.weight`` and ``cpu.max``.

* :func:`fair_shares` — long-run CPU per VM: the weighted max-min
  water-filling (:func:`~virtmodel.analytic.allocation.water_fill`) of the
  pCPUs by ``cpu.weight``, each VM capped by its vCPUs and by
  quota / period.
* :func:`throttled_response` — the response time of a job of x units of
  CPU work that arrives at phase u of a ``cpu.max`` period with the quota
  unspent, on a thread that is otherwise alone on its pCPU; its mean over
  a uniform phase (:func:`mean_throttled_response`) and its maximum
  (:func:`throttling_delay_bound`, the deterministic bound: a burst needs
  ceil(x/q) periods).  This is the "CPU limit throttling" latency: a
  container at 10 % average use with ``cpu.max = 10ms 100ms`` still waits
  90 ms whenever a request needs more than 10 ms of CPU.
* :func:`period_demand_exceeds_quota` — for Poisson arrivals, the
  probability that the work arriving in one period exceeds the quota (a
  compound-Poisson tail): the chance that a period *could* throttle if it
  started empty (approximate as a throttling probability: it ignores the
  backlog carried in and the timing inside the period).

The solver registered for :class:`~virtmodel.policies.LinuxFair` predicts
``mean_response`` exactly for isolated jobs under a quota (one VM, one
thread, gaps long enough that every job meets a full quota), and long-run
``utilization``/``throughput`` otherwise (exact when every VM is saturated).
"""

from __future__ import annotations

import math

import numpy as np

from .._lazy import lazy
from .._validation import positive
from ..dists import _GAMMA_ADDENDS, Deterministic, Distribution, Uniform
from ..errors import InvalidParameter, NoClosedForm
from ..policies import LinuxFair
from .allocation import water_fill
from .solve import Prediction, solves

pd = lazy("pandas")

__all__ = ["fair_shares", "throttled_response", "mean_throttled_response", "throttling_delay_bound",
           "period_demand_exceeds_quota"]

_SOURCE_EEVDF = ("Linux kernel/sched/fair.c (EEVDF: pick_eevdf, update_curr, place_entity; CFS bandwidth: "
                 "__refill_cfs_bandwidth_runtime, throttle_cfs_rq, sched_cfs_period_timer); Stoica & "
                 "Abdel-Wahab, 'Earliest eligible virtual deadline first', TR 95-22, Old Dominion Univ. 1995")


def _quota_period(quota, period):
    q = positive("quota", quota)
    p = positive("period", period)
    if np.any(q > p):
        raise InvalidParameter(
            f"quota must be <= period for one thread (a thread uses at most one CPU), got quota={quota!r}, "
            f"period={period!r}")
    return q, p


def throttled_response(size, quota, period, phase):
    r"""Response time of a job of ``size`` CPU work arriving at ``phase`` of a ``cpu.max`` period.

    One thread, alone on its pCPU, with the whole ``quota`` of the current
    period unspent at the arrival.  In its first period the job can run
    :math:`b_0 = \min(q, p - u)`; if :math:`x \le b_0` it is never throttled;
    otherwise it waits to the period's end, then needs
    :math:`k = \lceil (x - b_0)/q \rceil` more periods, each throttled
    :math:`p - q` after using q:

    .. math:: T(x, u) = x + \mathbb{1}[x > b_0]\,\bigl((p - u - b_0) + (k - 1)(p - q)\bigr).

    Follows from the ``cpu.max`` rule (runtime refilled to q at each period
    boundary, the cgroup throttled when it is spent: Linux
    ``kernel/sched/fair.c``, ``__refill_cfs_bandwidth_runtime`` and
    ``throttle_cfs_rq``); exact for the simulator
    (:class:`~virtmodel.sim.linux_fair.LinuxFairScheduler`), which throttles
    the moment the pool is empty (Linux notices at the next tick).

    Parameters
    ----------
    size : array_like
        x > 0, CPU work of the job.
    quota, period : array_like
        q and p, 0 < q <= p.
    phase : array_like
        u in [0, p): arrival time since the period began.

    Examples
    --------
    A 25 ms request under ``cpu.max = "10000 100000"`` (10 ms per 100 ms), arriving at a period start:

    >>> round(float(throttled_response(0.025, 0.010, 0.100, 0.0)), 12)    # 25 ms + 2 x 90 ms
    0.205
    """
    x = positive("size", size)
    q, p = _quota_period(quota, period)
    u = np.asarray(phase, dtype=float)
    if np.any(u < 0) or np.any(u >= p):
        raise InvalidParameter(f"phase must lie in [0, period), got {phase!r}")
    b0 = np.minimum(q, p - u)
    over = x > b0
    k = np.ceil(np.maximum(x - b0, 0.0) / q - 1e-12)
    extra = np.where(over, (p - u - b0) + (k - 1) * (p - q), 0.0)
    out = x + extra
    return float(out) if np.ndim(out) == 0 else out


def mean_throttled_response(size, quota, period):
    r"""Mean of :func:`throttled_response` over a phase uniform on [0, p) (closed form).

    With :math:`y = x/q = n + \varphi` (n an integer, :math:`0 \le \varphi < 1`):
    arrivals with :math:`u \le p - q` (:math:`b_0 = q`) add
    :math:`(p - q - u) + (k_A - 1)(p - q)` when x > q, with
    :math:`k_A = \lceil y \rceil - 1`; arrivals in the period's last q
    (:math:`s = p - u < q` left) add :math:`(\lceil (x - s)/q \rceil - 1)(p - q)`,
    which is n(p - q) for :math:`s < \varphi q` and (n - 1)(p - q) after.
    Integrating,

    .. math:: E[T] = x + \frac{1}{p}\Bigl[\mathbb{1}[x > q]\,(p - q)^2 (k_A - \tfrac12)
              + (p - q)\, q\,\bigl(\varphi n + (1 - \varphi)\max(n - 1, 0)\bigr)\Bigr].

    A phase is uniform for a job whose arrival epochs are a non-lattice
    renewal process independent of the period grid (the phase chain
    u_{n+1} = u_n + A_n mod p has the uniform law as its limit).

    Examples
    --------
    >>> round(mean_throttled_response(0.005, 0.010, 0.100), 12)   # fits in a quota: no throttling
    0.005
    >>> round(mean_throttled_response(0.025, 0.010, 0.100), 6)
    0.16
    """
    x = float(positive("size", size))
    q, p = (float(v) for v in _quota_period(quota, period))
    y = x / q
    n = math.floor(y)
    phi = y - n
    if phi < 1e-12 or 1.0 - phi < 1e-12:  # x a whole number of quotas (up to rounding)
        n, phi = round(y), 0.0
    k_a = n if phi > 0 else n - 1       # ceil(y) - 1
    region_a = (p - q) ** 2 * (k_a - 0.5) if (n >= 2 or (n == 1 and phi > 0)) else 0.0
    region_b = (p - q) * q * (phi * n + (1 - phi) * max(n - 1, 0)) if n >= 1 else 0.0
    return x + (region_a + region_b) / p


def throttling_delay_bound(size, quota, period):
    r"""Largest throttling delay of a job of ``size`` under ``cpu.max = quota/period``: (ceil(x/q) - 1)(p - q).

    The supremum over the arrival phase of :math:`T(x, u) - x`
    (:func:`throttled_response`), reached by a job that arrives just as
    a period begins (or that gets only a sliver before its end): the job
    spans :math:`\lceil x/q \rceil` periods and sits out :math:`p - q` in
    each but the last.  A bound on the throttling latency of any isolated
    job, whatever the average CPU use.

    Examples
    --------
    >>> round(throttling_delay_bound(0.025, 0.010, 0.100), 12)
    0.18
    """
    x = float(positive("size", size))
    q, p = (float(v) for v in _quota_period(quota, period))
    return (math.ceil(x / q - 1e-12) - 1) * (p - q)


def period_demand_exceeds_quota(arrival_rate, service, quota, period):
    r"""P(work arriving in one ``cpu.max`` period > quota) for Poisson arrivals (compound-Poisson tail).

    With N ~ Poisson(lambda p) jobs of i.i.d. sizes S in a period,
    :math:`P(\sum_{i \le N} S_i > q) = \sum_n e^{-\lambda p}(\lambda p)^n/n!\; P(S_1 + \dots + S_n > q)`
    (Feller vol. 1, §XII.1); the n-fold sum is n x for a
    :class:`~virtmodel.dists.Deterministic` size and a gamma law for the
    gamma family (Exponential, Erlang, Gamma).  As a throttling probability
    it is an approximation (exact=False in spirit): it assumes the period
    starts with no backlog and that all its arrivals could be served within
    it.

    Examples
    --------
    >>> from virtmodel.dists import Deterministic
    >>> round(period_demand_exceeds_quota(20.0, Deterministic(0.004), 0.010, 0.100), 6)   # P(Poisson(2) >= 3)
    0.323324
    """
    from scipy import stats

    lam = float(positive("arrival_rate", arrival_rate))
    q, p = (float(v) for v in (positive("quota", quota), positive("period", period)))
    if not isinstance(service, Distribution):
        raise InvalidParameter(f"service must be a virtmodel.dists Distribution, got {service!r}")
    mean_count = lam * p
    n_max = int(mean_count + 40 * math.sqrt(mean_count) + 40)
    n = np.arange(1, n_max + 1)
    weights = stats.poisson.pmf(n, mean_count)
    if isinstance(service, Deterministic):
        tail = (n * service.value > q).astype(float)
    elif isinstance(service, _GAMMA_ADDENDS):
        tail = stats.gamma.sf(q, n * service._shape, scale=1.0 / service._phase_rate)
    else:
        raise NoClosedForm(
            f"period_demand_exceeds_quota needs a Deterministic or gamma-family service, got {service!r}")
    return float(weights @ tail)


# --------------------------------------------------------------------------- long-run shares


def _ceilings(scenario):
    policy = scenario.policy
    c = scenario.pcpus
    names = list(scenario.names)
    limits = np.array([min(float(v.vcpus or c), float(c), policy.limit_of(v.name)) for v in scenario.vms])
    weights = np.array([policy.weight_of(n) for n in names])
    demands = np.array([v.offered_load for v in scenario.vms])
    return names, demands, limits, weights


def fair_shares(scenario) -> dict:
    """Long-run CPU per VM (in pCPUs) under :class:`~virtmodel.policies.LinuxFair`.

    The pCPUs are water-filled by ``cpu.weight`` (:func:`water_fill`); VM i
    asks for its offered load and may use at most min(vcpus_i, pcpus,
    quota_i / period_i).  Saturated VMs (demand above their allocation)
    always have a runnable thread, so EEVDF keeps their lags bounded and
    they split what the others leave in proportion to their weights, each
    capped by its ceiling; a ``cpu.max``-limited saturated VM uses exactly
    its quota every period when its weighted share would exceed it.  With
    every VM saturated this is the exact long run of the simulator; with
    light VMs it is the fluid approximation.

    Examples
    --------
    >>> import virtmodel as vm
    >>> from virtmodel.dists import Exponential
    >>> vms = [vm.VM(n, Exponential(1.0), Exponential(0.5), vcpus=1) for n in ("a", "b")]
    >>> sc = vm.Scenario(1, vms, policy=vm.policies.LinuxFair(quota={"a": 0.02}, period=0.1), allow_overload=True)
    >>> {k: round(v, 6) for k, v in fair_shares(sc).items()}
    {'a': 0.2, 'b': 0.8}
    """
    if not isinstance(scenario.policy, LinuxFair):
        raise InvalidParameter(f"scenario.policy must be LinuxFair, got {scenario.policy!r}")
    names, demands, limits, weights = _ceilings(scenario)
    x = water_fill(scenario.pcpus, demands, limits=limits, shares=weights)
    return {n: float(v) for n, v in zip(names, x, strict=True)}


def _isolated_jobs(scenario):
    """(size law, quota, period) when the scenario is one thread meeting a full quota at every job, else None."""
    if len(scenario.vms) != 1:
        return None
    v = scenario.vms[0]
    policy = scenario.policy
    q = policy.quota_of(v.name)
    threads = v.vcpus or scenario.pcpus
    if q is None or threads != 1:
        return None
    p = policy.period_of(v.name)
    if q > p or not isinstance(v.arrival, Uniform) or not isinstance(v.service, (Deterministic, Uniform)):
        return None
    largest = v.service.value if isinstance(v.service, Deterministic) else v.service.high
    if v.arrival.low < largest + throttling_delay_bound(largest, q, p) + p:
        return None  # a job could still run, or have spent quota, when the next one comes
    return v.service, q, p


def _throttling_prediction(scenario, service, q, p) -> Prediction:
    from scipy import integrate

    if isinstance(service, Deterministic):
        mean_t = mean_throttled_response(service.value, q, p)
    else:
        lo, hi = service.low, service.high
        # the integrand is piecewise smooth with kinks where x crosses multiples of q
        kinks = [k * q for k in range(1, int(hi / q) + 2) if lo < k * q < hi]
        mean_t = integrate.quad(lambda x: mean_throttled_response(x, q, p), lo, hi, points=kinks or None,
                                epsabs=1e-13, epsrel=1e-11, limit=400)[0] / (hi - lo)
    vm = scenario.vms[0]
    lam = 1.0 / vm.arrival.mean
    rows = [("mean_response", "all", mean_t), ("mean_wait", "all", 0.0),
            ("throughput", "all", lam), ("mean_number", "all", lam * mean_t),
            ("utilization", "all", lam * service.mean / scenario.pcpus)]
    return Prediction(pd.DataFrame(rows, columns=["metric", "group", "value"]), True,
                      "cpu.max throttling of isolated jobs (uniform phase)",
                      "virtmodel.analytic.linux_fair.mean_throttled_response; " + _SOURCE_EEVDF)


@solves(LinuxFair)
def _linux_fair(scenario) -> Prediction:
    """Isolated jobs under a quota: exact mean response; otherwise long-run shares by water-filling."""
    isolated = _isolated_jobs(scenario)
    if isolated is not None:
        return _throttling_prediction(scenario, *isolated)
    shares = fair_shares(scenario)
    names, demands, limits, _ = _ceilings(scenario)
    tol = 1e-9 * max(1.0, scenario.pcpus)
    saturated = all(shares[n] < d - tol for n, d in zip(names, demands, strict=True))
    c = scenario.pcpus
    rows = [("utilization", "all", math.fsum(shares.values()) / c),
            ("throughput", "all", math.fsum(shares[v.name] / v.service.mean for v in scenario.vms))]
    if len(scenario.vms) > 1:
        for v in scenario.vms:
            rows += [("utilization", v.name, shares[v.name] / c),
                     ("throughput", v.name, shares[v.name] / v.service.mean)]
    model = "Linux EEVDF + cpu.max: long-run shares by water-filling" + (
        "" if saturated else " (fluid approximation: some VM is not saturated)")
    return Prediction(pd.DataFrame(rows, columns=["metric", "group", "value"]), saturated, model,
                      "weighted max-min water-filling (Bertsekas & Gallager 1992, §6.5.2); " + _SOURCE_EEVDF)

