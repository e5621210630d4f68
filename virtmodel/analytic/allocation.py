"""Sharing a resource: shares, reservations and limits; long-run CPU shares of VMs.

:func:`water_fill` is the weighted max-min fair allocation of a capacity with
per-entity floors (reservations) and ceilings (limits, demands), the rule
behind proportional-share schedulers (generalized processor sharing,
lottery/stride scheduling, VMware shares, Xen credit weights).
:func:`long_run_shares` applies it to a saturated or unsaturated host under
:class:`~virtmodel.policies.ProportionalShare` or
:class:`~virtmodel.policies.Credit`, and the solvers registered here turn
those shares into ``utilization`` and ``throughput`` predictions.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .._validation import _fmt, nonnegative, real_array
from ..errors import InvalidParameter
from ..policies import Credit, ProportionalShare
from .solve import Prediction, solves

__all__ = ["water_fill", "long_run_shares"]


def _vector(name, value, n, *, default, allow_inf=False, strictly_positive=False):
    """A 1-D float array of length ``n`` (a scalar is broadcast); checks the sign and finiteness."""
    if value is None:
        return np.full(n, default, dtype=float)
    if isinstance(value, (str, bytes)) or isinstance(value, bool):
        raise InvalidParameter(f"{name} must be a number or a 1-D array of numbers, got {value!r}")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise InvalidParameter(f"{name} must be a number or a 1-D array of numbers, got {value!r}") from None
    if arr.ndim > 1:
        raise InvalidParameter(f"{name} must be a number or a 1-D array, got an array of shape {arr.shape}")
    if arr.ndim == 1 and arr.size != n:
        raise InvalidParameter(f"{name} must have one entry per demand ({n}), got {arr.size}")
    arr = np.broadcast_to(arr, (n,)).astype(float)
    if np.any(np.isnan(arr)) or (np.any(np.isinf(arr)) and not allow_inf):
        rule = "finite (no NaN or infinity)" if not allow_inf else "a number or +inf (no NaN)"
        raise InvalidParameter(f"{name} must be {rule}, got {_fmt(value)}")
    if strictly_positive and not np.all(arr > 0):
        raise InvalidParameter(f"{name} must be > 0, got {_fmt(value)}")
    if not np.all(arr >= 0):
        raise InvalidParameter(f"{name} must be >= 0, got {_fmt(value)}")
    return arr


def water_fill(capacity, demands, reservations=None, limits=None, shares=None):
    r"""Weighted max-min fair allocation of ``capacity`` with reservations and limits.

    Entity i gets

    .. math:: x_i = \min\bigl(u_i, \max(f_i, t\, s_i)\bigr), \qquad
              u_i = \min(d_i, l_i),\quad f_i = \min(r_i, d_i),

    where d, r, l, s are the demands, reservations, limits and shares, and
    the water level t is the largest value with :math:`\sum_i x_i \le C`.
    If the capped demands fit (:math:`\sum_i u_i \le C`) every entity gets
    u_i; otherwise the capacity is used exactly.  This is the weighted
    max-min fair allocation (no entity can get more without taking from one
    with no more per share, or from one held at its reservation), Pareto
    efficient, and the fluid limit of generalized processor sharing,
    lottery and stride scheduling; shares, reservations and limits are
    VMware's resource controls (an entity's reservation is guaranteed when
    it demands it; capacity it reserves but does not use goes to the others).

    Parameters
    ----------
    capacity : float
        Capacity to divide, >= 0.
    demands : array_like
        What each entity would use if unconstrained, >= 0 (``inf`` allowed:
        a saturated entity).
    reservations : array_like, optional
        Guaranteed minimum of each entity (while it demands that much),
        >= 0 and <= its limit; the reservations together must fit in
        ``capacity``.  Default 0.
    limits : array_like, optional
        Most each entity may get, >= 0 (``inf``: none).  Default ``inf``.
    shares : array_like, optional
        Weights, > 0 (scaling all shares changes nothing).  Default 1.

    Returns
    -------
    numpy.ndarray
        The allocation, one entry per demand.

    Raises
    ------
    InvalidParameter
        Bad values or shapes, a reservation above its limit, or
        reservations summing above ``capacity``.

    Notes
    -----
    Algorithm: progressive filling (Bertsekas & Gallager, *Data Networks*,
    2nd ed., 1992, §6.5.2): raise the common level t and freeze an entity
    when it reaches its ceiling u_i; with reservations, an entity also sits
    at its floor f_i until t s_i reaches it.  Each round sets the level for
    the entities not yet frozen, t = (C - frozen amount) / (sum of their
    shares), and freezes either every entity above its ceiling (if their
    total excess is at least the total shortfall below the floors) or every
    entity below its floor (the variable-fixing rule of Bitran & Hax, "On
    the solution of convex knapsack problems with bounded variables", 1979;
    Kiwiel, J. Optim. Theory Appl. 136, 2008, for its exactness).  At least
    one entity is frozen per round, so the loop ends after at most n rounds
    and the result is exact up to rounding.  Without reservations each
    round is exactly Bertsekas & Gallager's: the entities whose ceilings
    are below the fair level are satisfied and the rest is shared again.

    Sources: Bertsekas & Gallager (1992), §6.5.2 (max-min fairness);
    Keshav, *An Engineering Approach to Computer Networking* (1997), §9.4
    (weighted max-min, worked examples); Waldspurger & Weihl, "Lottery
    scheduling", OSDI 1994, and Waldspurger, "Lottery and stride
    scheduling", MIT TR-667, 1995 (proportional shares); VMware, *vSphere
    Resource Management* (shares, reservations and limits).

    Examples
    --------
    Keshav's example: capacity 10, demands 2, 2.6, 4, 5.

    >>> water_fill(10, [2, 2.6, 4, 5]).round(6).tolist()
    [2.0, 2.6, 2.7, 2.7]

    Weighted (shares 2.5, 4, 0.5, 1), capacity 16, demands 4, 2, 10, 4:

    >>> water_fill(16, [4, 2, 10, 4], shares=[2.5, 4, 0.5, 1]).round(6).tolist()
    [4.0, 2.0, 6.0, 4.0]

    A reservation and a limit:

    >>> water_fill(10, [10, 10, 10], reservations=[6, 0, 0], limits=[10, 1, 10]).round(6).tolist()
    [6.0, 1.0, 3.0]
    """
    cap = real_array("capacity", capacity)
    if cap.ndim != 0:
        raise InvalidParameter(f"capacity must be a single number, got {capacity!r}")
    cap = float(nonnegative("capacity", cap))
    try:
        d = None if isinstance(demands, (str, bytes, bool)) else np.asarray(demands, dtype=float)
    except (TypeError, ValueError):
        d = None
    if d is None or d.ndim != 1 or d.size == 0:
        raise InvalidParameter(f"demands must be a non-empty 1-D array of numbers, got {demands!r}")
    n = d.size
    d = _vector("demands", d, n, default=0.0, allow_inf=True)
    r = _vector("reservations", reservations, n, default=0.0)
    lim = _vector("limits", limits, n, default=math.inf, allow_inf=True)
    s = _vector("shares", shares, n, default=1.0, strictly_positive=True)
    above = r > lim
    if np.any(above):
        i = int(np.argmax(above))
        raise InvalidParameter(f"reservations[{i}] must be <= limits[{i}] ({lim[i]!r}), got {r[i]!r}")
    if math.fsum(r) > cap:
        raise InvalidParameter(
            f"reservations must sum to at most capacity ({cap!r}), got {math.fsum(r)!r} (sum of {_fmt(r)})")
    upper = np.minimum(d, lim)
    lower = np.minimum(r, d)
    if math.fsum(upper) <= cap:
        return upper.copy()
    return _fill(cap, s, lower, upper)


def _fill(cap, s, lower, upper):
    """Variable fixing for x = clip(t s, lower, upper), sum x = cap (needs sum lower <= cap < sum upper)."""
    n = s.size
    x = np.zeros(n)
    free = np.ones(n, dtype=bool)
    left = cap
    for _ in range(n):
        total = s[free].sum()
        t = left / total
        trial = t * s
        over = free & (trial > upper)
        under = free & (trial < lower)
        excess = (trial[over] - upper[over]).sum()
        shortfall = (lower[under] - trial[under]).sum()
        if not over.any() and not under.any():
            x[free] = trial[free]
            break
        fix, value = (over, upper) if excess >= shortfall else (under, lower)
        x[fix] = value[fix]
        left -= value[fix].sum()
        free &= ~fix
        if not free.any():
            break
        left = max(left, 0.0)
    return np.minimum(np.maximum(x, lower), upper)


# --------------------------------------------------------------------------- long-run CPU shares


def _parameters(scenario):
    """(names, demands, limits, weights) of the VMs in ``scenario`` under its policy."""
    policy = scenario.policy
    if not isinstance(policy, (ProportionalShare, Credit)):
        raise InvalidParameter(
            f"scenario.policy must be ProportionalShare or Credit for long-run shares, got {policy!r}")
    c = scenario.pcpus
    names = list(scenario.names)
    demands = np.array([v.offered_load for v in scenario.vms])
    limits = np.array([float(min(v.vcpus or c, c)) for v in scenario.vms])
    if isinstance(policy, Credit):
        for i, name in enumerate(names):
            cap = policy.cap_of(name)
            if cap is not None:
                limits[i] = min(limits[i], cap / 100.0)
    weights = np.array([policy.weight_of(n) for n in names])
    return names, demands, limits, weights


def long_run_shares(scenario) -> dict:
    """Long-run CPU time per VM (in pCPUs) under ProportionalShare or Credit.

    The fluid model: VM i asks for its offered load lambda_i E[S_i] and may
    use at most min(vcpus_i, pcpus) pCPUs (also at most cap_i / 100 under
    Credit); the pCPUs are water-filled by weight
    (:func:`water_fill`).  VMs whose demand is met are stable and get it;
    the others are saturated and split what is left by weight.

    Exactness (for the stochastic system, not only the fluid one): a stable
    VM's long-run service equals its offered load (flow conservation), and
    saturated VMs are always backlogged, so they always share the capacity
    left by the stable ones in the ratio of their weights *as long as no
    ceiling binds in some states and not in others*.  :func:`_state_free`
    checks that every saturated VM is either held at its ceiling even when
    every VM competes, or below it even when only the saturated VMs compete;
    then the water-filling is exact in the long run (also for Credit, whose
    credits are handed out by the same weighted water-filling every
    accounting period and whose balances stay bounded, so long-run use
    equals long-run credit).  Otherwise the value is the fluid
    approximation.

    Returns
    -------
    dict
        VM name -> long-run share in pCPUs (between 0 and pcpus).

    Examples
    --------
    >>> import virtmodel as vm
    >>> from virtmodel.dists import Exponential
    >>> sc = vm.Scenario(1, [vm.VM("a", Exponential(1.0), Exponential(1.0), vcpus=1),
    ...                      vm.VM("b", Exponential(1.0), Exponential(1.0), vcpus=1)],
    ...                  policy=vm.policies.ProportionalShare({"a": 1.0, "b": 3.0}), allow_overload=True)
    >>> {k: round(v, 6) for k, v in long_run_shares(sc).items()}
    {'a': 0.25, 'b': 0.75}
    """
    names, demands, limits, weights = _parameters(scenario)
    x = water_fill(scenario.pcpus, demands, limits=limits, shares=weights)
    return {n: float(v) for n, v in zip(names, x, strict=True)}


def _state_free(scenario, shares) -> bool:
    """True when no saturated VM's ceiling binds in some states of the other VMs but not in others."""
    names, demands, limits, weights = _parameters(scenario)
    c = scenario.pcpus
    x = np.array([shares[n] for n in names])
    tol = 1e-9 * max(1.0, c)
    saturated = x < demands - tol
    if not saturated.any():
        return True
    everyone = water_fill(c, np.full(len(names), math.inf), limits=limits, shares=weights)
    only = water_fill(c, np.where(saturated, math.inf, 0.0), limits=limits, shares=weights)
    for i in np.flatnonzero(saturated):
        always_bound = everyone[i] >= limits[i] - tol
        never_bound = only[i] < limits[i] - tol
        if not (always_bound or never_bound):
            return False
    return True


_SOURCE = ("weighted max-min fair water-filling (virtmodel.analytic.allocation.water_fill): Bertsekas & "
           "Gallager, Data Networks (1992), §6.5.2; Parekh & Gallager, IEEE/ACM ToN 1 (1993) (GPS); "
           "{extra}")


def _shares_prediction(scenario, model, extra) -> Prediction:
    shares = long_run_shares(scenario)
    exact = _state_free(scenario, shares)
    c = scenario.pcpus
    rows = [("utilization", "all", math.fsum(shares.values()) / c),
            ("throughput", "all", math.fsum(shares[v.name] / v.service.mean for v in scenario.vms))]
    if len(scenario.vms) > 1:
        for v in scenario.vms:
            rows += [("utilization", v.name, shares[v.name] / c),
                     ("throughput", v.name, shares[v.name] / v.service.mean)]
    name = model + ("" if exact else " (fluid approximation: a ceiling binds in some states only)")
    return Prediction(pd.DataFrame(rows, columns=["metric", "group", "value"]), exact, name,
                      _SOURCE.format(extra=extra))


@solves(ProportionalShare)
def _proportional_share(scenario) -> Prediction:
    """Long-run utilization and throughput per VM under weighted GPS.

    Only long-run CPU shares are predicted: delays (mean_wait,
    mean_response, mean_number) of GPS with several classes have no closed
    form in general and are omitted.
    """
    return _shares_prediction(scenario, "proportional share (GPS): long-run shares by water-filling",
                              "Waldspurger, MIT TR-667 (1995)")


@solves(Credit)
def _credit(scenario) -> Prediction:
    """Long-run utilization and throughput per VM under the credit scheduler.

    Credits are handed out by weight (with caps and vCPUs as ceilings) and
    every VM's long-run use equals its long-run credit, so the long-run
    shares are the water-filling of :func:`long_run_shares`.  Delays depend
    on time slices, ticks and boosting and are not predicted.
    """
    return _shares_prediction(scenario, "Xen-style credit scheduler: long-run shares by water-filling",
                              "Cherkasova, Gupta & Vahdat, 'Comparison of the three CPU schedulers in Xen', "
                              "SIGMETRICS PER 35(2), 2007; Xen sched_credit.c (csched_acct)")
