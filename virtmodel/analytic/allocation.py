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

from .._lazy import lazy
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
    """(names, demands, limits, weights) of the VMs in ``scenario`` under its policy.

    ProportionalShare: weight w_i per VM.  Credit: Xen's weight per active
    vCPU, w_i v_i (a VM that cannot get its demand keeps all its v_i vCPUs
    busy, hence active), with v_i = ``VM.vcpus`` or one per pCPU.
    """
    policy = scenario.policy
    if not isinstance(policy, (ProportionalShare, Credit)):
        raise InvalidParameter(
            f"scenario.policy must be ProportionalShare or Credit for long-run shares, got {policy!r}")
    c = scenario.pcpus
    names = list(scenario.names)
    demands = np.array([v.offered_load for v in scenario.vms])
    vcpus = np.array([float(v.vcpus or c) for v in scenario.vms])
    limits = np.minimum(vcpus, float(c))
    weights = np.array([policy.weight_of(n) for n in names])
    if isinstance(policy, Credit):
        weights = weights * vcpus  # csched_acct: weight summed per active vCPU
        for i, name in enumerate(names):
            cap = policy.cap_of(name)
            if cap is not None:
                limits[i] = min(limits[i], cap / 100.0)
    return names, demands, limits, weights


def long_run_shares(scenario) -> dict:
    """Long-run CPU time per VM (in pCPUs) under ProportionalShare or Credit.

    The fluid model: VM i asks for its offered load lambda_i E[S_i] and may
    use at most min(v_i, pcpus) pCPUs (also at most cap_i / 100 under
    Credit); the pCPUs are water-filled by weight (:func:`water_fill`).
    VMs whose demand is met are stable and get it; the others are saturated
    and split what is left by weight.  The weight is w_i per VM under
    ProportionalShare (GPS between VMs) and **w_i per active vCPU** under
    Credit, as Xen's ``csched_acct`` deals credit: a saturated VM keeps its
    v_i vCPUs busy, hence active, and weighs w_i v_i.  Example (Xen's own
    accounting): 4 pCPUs, VM a with 4 vCPUs and VM b with 2, both saturated,
    equal weights: 4 x 4/6 = 2.67 and 1.33 pCPUs; weights 256:512 give
    256 x 4 : 512 x 2, so 2.0 and 2.0.

    Exactness (``Prediction.exact``, for the stochastic system):

    * **ProportionalShare.**  A stable VM's long-run service equals its
      offered load (flow conservation), and saturated VMs are always
      backlogged, so they share the capacity left by the stable ones in the
      ratio of their weights *as long as no ceiling binds in some states and
      not in others*; :func:`_state_free` checks that every saturated VM is
      either held at its ceiling even when every VM competes, or below it
      even when only the saturated VMs compete.  Then the value is exact;
      otherwise it is the fluid approximation.
    * **Credit.**  Exact only when no VM is saturated: every VM then gets
      its offered load (flow conservation).  With a saturated VM the shares
      are those Xen's accounting deals out, and a VM's long-run use equals
      its long-run credit only while no vCPU's balance reaches Xen's floor
      (-one slice of credit) or halving threshold (+one slice), which is not
      proven for the scheduler's dynamics: the value is marked approximate
      (the simulation of :class:`virtmodel.sim.credit.CreditScheduler`
      matches it within its confidence interval in the tests and in
      ``virtmodel validate --area allocation``).

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

    Xen's weight per active vCPU (4 pCPUs; a has 4 vCPUs, b has 2):

    >>> sc = vm.Scenario(4, [vm.VM("a", Exponential(9.0), Exponential(1.0), vcpus=4),
    ...                      vm.VM("b", Exponential(9.0), Exponential(1.0), vcpus=2)],
    ...                  policy=vm.policies.Credit(), allow_overload=True)
    >>> {k: round(v, 4) for k, v in long_run_shares(sc).items()}
    {'a': 2.6667, 'b': 1.3333}
    """
    names, demands, limits, weights = _parameters(scenario)
    x = water_fill(scenario.pcpus, demands, limits=limits, shares=weights)
    return {n: float(v) for n, v in zip(names, x, strict=True)}


def _saturated(scenario, shares):
    """Boolean array: VMs whose long-run share is below their offered load."""
    names, demands, _, _ = _parameters(scenario)
    x = np.array([shares[n] for n in names])
    return x < demands - 1e-9 * max(1.0, scenario.pcpus)


def _state_free(scenario, shares) -> bool:
    """True when no saturated VM's ceiling binds in some states of the other VMs but not in others."""
    names, demands, limits, weights = _parameters(scenario)
    c = scenario.pcpus
    tol = 1e-9 * max(1.0, c)
    saturated = _saturated(scenario, shares)
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


def _shares_prediction(scenario, model, extra, exact=None, reason=None) -> Prediction:
    shares = long_run_shares(scenario)
    if exact is None:
        exact = _state_free(scenario, shares)
        reason = "fluid approximation: a ceiling binds in some states only"
    c = scenario.pcpus
    rows = [("utilization", "all", math.fsum(shares.values()) / c),
            ("throughput", "all", math.fsum(shares[v.name] / v.service.mean for v in scenario.vms))]
    if len(scenario.vms) > 1:
        for v in scenario.vms:
            rows += [("utilization", v.name, shares[v.name] / c),
                     ("throughput", v.name, shares[v.name] / v.service.mean)]
    name = model + ("" if exact else f" ({reason})")
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
    """Long-run utilization and throughput per VM under Xen's credit scheduler.

    Credit is dealt by weight per active vCPU (with caps and vCPUs as
    ceilings), so the long-run shares are the water-filling of
    :func:`long_run_shares` with weights w_i v_i.  Exact only when no VM is
    saturated (flow conservation); otherwise approximate, see
    :func:`long_run_shares`.  Delays depend on time slices, ticks, BOOST and
    the rate limit and are not predicted.
    """
    shares = long_run_shares(scenario)
    exact = not _saturated(scenario, shares).any()
    return _shares_prediction(
        scenario, "Xen credit1: long-run shares by water-filling, weight per active vCPU",
        "Xen xen/common/sched/credit.c (csched_acct: weight and credit per active vCPU); Cherkasova, Gupta & "
        "Vahdat, 'Comparison of the three CPU schedulers in Xen', SIGMETRICS PER 35(2), 2007",
        exact=exact,
        reason="approximate: a saturated VM's use equals its credit only while no vCPU balance reaches Xen's "
               "floor or halving threshold, not proven")

# =========================================================================== issue 10: allocation to VMs
# Multi-resource fairness (DRF), loss models (Erlang B, Kaufman-Roberts), bin packing, the idle
# memory tax, and the minimum / maximum / dynamic allocation strategies on one host.

from .._validation import as_output, positive, positive_int  # noqa: E402

pd = lazy("pandas")

__all__ += [  # noqa: PLE0604
    "drf", "kaufman_roberts", "kaufman_roberts_occupancy", "first_fit", "first_fit_decreasing", "best_fit",
    "best_fit_decreasing", "bin_packing_lower_bound", "ffd_bound", "affine_water_fill", "idle_memory_tax",
    "host_strategies",
]


def _named_vectors(name, value, width=None):
    """``{key: 1-D float array}`` from a mapping of vectors; all of one length, finite, >= 0."""
    if not isinstance(value, dict) or not value:
        raise InvalidParameter(f"{name} must be a non-empty dict {{name: per-task vector}}, got {value!r}")
    out = {}
    for key, vec in value.items():
        try:
            arr = np.asarray(vec, dtype=float)
        except (TypeError, ValueError):
            raise InvalidParameter(f"{name}[{key!r}] must be a 1-D array of numbers, got {vec!r}") from None
        if arr.ndim != 1 or arr.size == 0:
            raise InvalidParameter(f"{name}[{key!r}] must be a non-empty 1-D array, got {vec!r}")
        if width is not None and arr.size != width:
            raise InvalidParameter(f"{name}[{key!r}] must have one entry per resource ({width}), got {arr.size}")
        if not np.all(np.isfinite(arr)):
            raise InvalidParameter(f"{name}[{key!r}] must be finite, got {_fmt(arr)}")
        if np.any(arr < 0):
            raise InvalidParameter(f"{name}[{key!r}] must be >= 0 (no negative demand), got {_fmt(arr)}")
        if not np.any(arr > 0):
            raise InvalidParameter(f"{name}[{key!r}] must demand some resource (an entry > 0), got {_fmt(arr)}")
        out[key] = arr
    return out


def _capacity_vector(capacity):
    try:
        cap = np.atleast_1d(np.asarray(capacity, dtype=float))
    except (TypeError, ValueError):
        raise InvalidParameter(f"capacity must be a 1-D array of numbers, got {capacity!r}") from None
    if cap.ndim != 1 or not np.all(np.isfinite(cap)) or not np.all(cap > 0):
        raise InvalidParameter(f"capacity must be a 1-D array of finite numbers > 0, got {_fmt(capacity)}")
    return cap


def drf(capacity, demands, weights=None, max_tasks=None, whole_tasks=False) -> dict:
    r"""Dominant Resource Fairness: tasks per user, by progressive filling.

    User i needs the vector :math:`d_i` per task; its *dominant share* per
    task is :math:`g_i = \max_r d_{ir}/C_r`.  DRF equalises the weighted
    dominant shares :math:`x_i g_i / w_i` (x_i tasks): progressive filling
    raises a common level t, giving user i :math:`x_i = t\,w_i/g_i` tasks,
    until a resource saturates; every user that needs the saturated
    resource (or reached ``max_tasks``) is frozen, and the others go on
    (Ghodsi et al., NSDI 2011, §4 and §5.1, with weights §4.3).  Tasks are
    divisible (the paper's fluid model, under which it proves sharing
    incentive, envy-freeness, Pareto efficiency and strategy-proofness);
    ``whole_tasks=True`` runs the paper's Algorithm 1 instead (one whole
    task at a time to the user with the lowest weighted dominant share whose
    next task still fits).

    Parameters
    ----------
    capacity : array_like
        Capacity of each resource, > 0.
    demands : dict
        ``{user: per-task demand vector}``, each >= 0 with one positive entry.
    weights : dict, optional
        ``{user: weight > 0}`` (default 1 each).
    max_tasks : dict, optional
        ``{user: most tasks it has}`` (default unbounded).
    whole_tasks : bool, default False
        Integral tasks (Algorithm 1) instead of the fluid allocation.

    Returns
    -------
    dict
        ``{user: tasks}`` (floats; integers when ``whole_tasks``).

    Examples
    --------
    The paper's example (§4, Fig. 3): 9 CPUs and 18 GB; A needs <1 CPU, 4 GB>,
    B <3 CPU, 1 GB> per task.

    >>> drf([9, 18], {"A": [1, 4], "B": [3, 1]})
    {'A': 3.0, 'B': 2.0}
    >>> drf([9, 18], {"A": [1, 4], "B": [3, 1]}, whole_tasks=True)
    {'A': 3, 'B': 2}
    """
    cap = _capacity_vector(capacity)
    d = _named_vectors("demands", demands, cap.size)
    names = list(d)
    w = np.ones(len(names))
    if weights is not None:
        if not isinstance(weights, dict) or set(weights) - set(names):
            raise InvalidParameter(f"weights must be a dict over the users {names}, got {weights!r}")
        w = np.array([float(weights.get(n, 1.0)) for n in names])
        if not np.all(np.isfinite(w) & (w > 0)):
            raise InvalidParameter(f"weights must be finite and > 0, got {weights!r}")
    top = np.full(len(names), math.inf)
    if max_tasks is not None:
        if not isinstance(max_tasks, dict) or set(max_tasks) - set(names):
            raise InvalidParameter(f"max_tasks must be a dict over the users {names}, got {max_tasks!r}")
        top = np.array([float(max_tasks.get(n, math.inf)) for n in names])
        if np.any(np.isnan(top) | (top < 0)):
            raise InvalidParameter(f"max_tasks must be >= 0, got {max_tasks!r}")
    D = np.array([d[n] for n in names])          # users x resources
    g = (D / cap).max(axis=1)                   # dominant share of one task
    if whole_tasks:
        return _drf_whole(names, cap, D, g, w, top)
    x = np.zeros(len(names))
    active = top > 0
    used = np.zeros_like(cap)
    for _ in range(len(names) + cap.size):
        if not active.any():
            break
        rate = np.where(active, w / g, 0.0)      # tasks per unit of level
        draw = rate @ D                          # resource use per unit of level
        with np.errstate(divide="ignore", invalid="ignore"):
            room = np.where(draw > 0, (cap - used) / draw, math.inf)
            until_top = np.where(active, (top - x) / np.where(rate > 0, rate, 1.0), math.inf)
        step = min(room.min(), until_top.min())
        step = max(step, 0.0)
        x = x + step * rate
        used = x @ D
        full = used >= cap * (1 - 1e-12)
        done = active & ((D[:, full] > 0).any(axis=1) | (x >= top * (1 - 1e-12)))
        if not done.any():  # guard against rounding: freeze the user(s) of the tightest resource
            r = int(np.argmin(room))
            done = active & (D[:, r] > 0)
        active &= ~done
    x = np.minimum(x, top)
    return {n: float(v) for n, v in zip(names, x, strict=True)}


def _drf_whole(names, cap, D, g, w, top):
    """Ghodsi et al. (2011), Algorithm 1: whole tasks to the lowest weighted dominant share that fits."""
    tasks = np.zeros(len(names), dtype=int)
    used = np.zeros_like(cap)
    blocked = np.zeros(len(names), dtype=bool)
    while not blocked.all():
        share = np.where(blocked, math.inf, tasks * g / w)
        i = int(np.argmin(share))
        if tasks[i] + 1 > top[i] or np.any(used + D[i] > cap * (1 + 1e-12)):
            blocked[i] = True
            continue
        tasks[i] += 1
        used += D[i]
    return {n: int(v) for n, v in zip(names, tasks, strict=True)}


# --------------------------------------------------------------------------- loss models


def _kr_check(capacity, offered_loads, sizes):
    if isinstance(capacity, bool) or not isinstance(capacity, (int, np.integer)) or capacity < 1:
        raise InvalidParameter(f"capacity must be an integer >= 1 (resource units), got {capacity!r}")
    a = np.atleast_1d(np.asarray(offered_loads, dtype=float))
    b = np.atleast_1d(np.asarray(sizes))
    if a.ndim != 1 or a.size == 0 or not np.all(np.isfinite(a)) or np.any(a < 0):
        raise InvalidParameter(f"offered_loads must be a 1-D array of finite numbers >= 0, got {_fmt(offered_loads)}")
    if b.shape != a.shape:
        raise InvalidParameter(f"sizes must have one entry per offered load ({a.size}), got {_fmt(sizes)}")
    if not np.issubdtype(b.dtype, np.integer):
        if not np.all(np.isfinite(b.astype(float))) or not np.all(b.astype(float) == np.round(b.astype(float))):
            raise InvalidParameter(f"sizes must be integers (resource units per request), got {_fmt(sizes)}")
        b = b.astype(float).astype(int)
    if np.any(b < 1):
        raise InvalidParameter(f"sizes must be >= 1, got {_fmt(sizes)}")
    if np.any(b > capacity):
        i = int(np.argmax(b > capacity))
        raise InvalidParameter(f"sizes[{i}] = {int(b[i])} must be <= capacity ({capacity}): such a request "
                               "never fits")
    return int(capacity), a, b.astype(int)


def kaufman_roberts_occupancy(capacity, offered_loads, sizes):
    r"""Stationary distribution of occupied units, q(j), j = 0..C, of the multi-rate loss system.

    The Kaufman–Roberts recursion
    :math:`j\,q(j) = \sum_k a_k b_k\, q(j - b_k)` (q(j) = 0 for j < 0),
    normalised to sum 1; it is computed with rescaling (every value is
    divided by the running maximum whenever it grows past 1e200), so
    capacities of 10^5 units do not overflow.

    Examples
    --------
    >>> kaufman_roberts_occupancy(2, [1.0], [1]).round(6).tolist()   # Erlang: 1, a, a^2/2 normalised
    [0.4, 0.4, 0.2]
    """
    C, a, b = _kr_check(capacity, offered_loads, sizes)
    q = np.zeros(C + 1)
    q[0] = 1.0
    ab = a * b
    # group flavours by size: the recursion needs sum over sizes of (sum of a_k b_k) q(j - b)
    uniq = np.unique(b)
    weight = np.array([ab[b == s].sum() for s in uniq])
    for j in range(1, C + 1):
        lo = j - uniq
        ok = lo >= 0
        v = float(weight[ok] @ q[lo[ok]]) / j
        q[j] = v
        if v > 1e200:
            q[: j + 1] /= v
    return q / q.sum()


def kaufman_roberts(capacity, offered_loads, sizes):
    r"""Blocking probability of each flavour on one pooled resource (Kaufman–Roberts).

    Requests of flavour k arrive as a Poisson stream, hold :math:`b_k` units
    of a pool of C units for a generally distributed time, and are blocked
    (lost) when fewer than b_k units are free; the offered load
    :math:`a_k = \lambda_k / \mu_k` is in Erlangs.  The occupancy is product
    form (insensitive to the holding-time distribution beyond its mean), and

    .. math:: j\,q(j) = \sum_k a_k b_k\,q(j-b_k),\qquad
              B_k = \sum_{j=C-b_k+1}^{C} q(j) \Big/ \sum_{j=0}^{C} q(j).

    With one flavour of size 1 this is Erlang's B(C, a)
    (:func:`virtmodel.analytic.erlang_b`).

    Sources: Kaufman, "Blocking in a shared resource environment", IEEE
    Trans. Commun. 29(10), 1981, eq. (8); Roberts, "A service system with
    heterogeneous user requirements", Performance of Data Communication
    Systems, 1981; Ross, *Multiservice Loss Models for Broadband
    Telecommunication Networks* (Springer 1995), §2.3.

    Parameters
    ----------
    capacity : int
        Units in the pool (e.g. vCPU slots of a host or a cluster), >= 1.
    offered_loads : array_like
        Offered load of each flavour in Erlangs, >= 0.
    sizes : array_like of int
        Units one request of each flavour holds, 1 <= b_k <= capacity.

    Returns
    -------
    numpy.ndarray
        Blocking probability of each flavour (time congestion = call
        congestion by PASTA).

    Examples
    --------
    >>> round(float(kaufman_roberts(10, [5.0], [1])[0]), 6)      # Erlang B(10, 5)
    0.018385

    By hand, q = 1, 1, 1, 2/3, 5/12, so B = (5/12)/(49/12) = 5/49 and 13/49:

    >>> kaufman_roberts(4, [1.0, 0.5], [1, 2]).round(6).tolist()
    [0.102041, 0.265306]
    """
    C, a, b = _kr_check(capacity, offered_loads, sizes)
    q = kaufman_roberts_occupancy(C, a, b)
    tail = np.cumsum(q[::-1])                    # tail[m] = P(occupancy >= C - m)
    return tail[b - 1].copy()


# --------------------------------------------------------------------------- bin packing


def _items(sizes, capacity):
    cap = real_array("capacity", capacity)
    if cap.ndim != 0 or not np.isfinite(cap) or cap <= 0:
        raise InvalidParameter(f"capacity must be a single finite number > 0, got {capacity!r}")
    try:
        s = np.asarray(sizes, dtype=float)
    except (TypeError, ValueError):
        raise InvalidParameter(f"sizes must be a 1-D array of numbers, got {sizes!r}") from None
    if s.ndim != 1 or not np.all(np.isfinite(s)) or np.any(s < 0):
        raise InvalidParameter(f"sizes must be a 1-D array of finite numbers >= 0, got {_fmt(sizes)}")
    if np.any(s > cap):
        i = int(np.argmax(s > cap))
        raise InvalidParameter(f"sizes[{i}] = {s[i]!r} must be <= capacity ({float(cap)!r}): it fits in no bin")
    return s, float(cap)


def _pack(s, cap, order, best):
    """Any-fit packing of items in ``order``: the first bin with room (first fit) or the fullest (best fit)."""
    tol = 1e-12 * cap
    free = np.empty(max(s.size, 1))
    bins: list[list[int]] = []
    for i in order:
        size = s[i]
        room = free[: len(bins)]
        fits = np.flatnonzero(room >= size - tol)
        if fits.size == 0:
            bins.append([int(i)])
            free[len(bins) - 1] = cap - size
            continue
        k = int(fits[np.argmin(room[fits])]) if best else int(fits[0])
        bins[k].append(int(i))
        free[k] -= size
    return bins


def first_fit(sizes, capacity) -> list:
    """First fit: each item, in the given order, into the lowest-numbered bin with room.

    Returns the bins as lists of item indices.  FF uses at most
    ⌊1.7 OPT⌋ bins (Dósa & Sgall, STACS 2013).

    >>> first_fit([0.5, 0.7, 0.5, 0.2, 0.4, 0.2, 0.5, 0.1], 1.0)
    [[0, 2], [1, 3, 7], [4, 5], [6]]
    """
    s, cap = _items(sizes, capacity)
    return _pack(s, cap, range(s.size), best=False)


def best_fit(sizes, capacity) -> list:
    """Best fit: each item, in the given order, into the fullest bin with room (ties: lowest index).

    >>> best_fit([0.5, 0.7, 0.5, 0.2, 0.4, 0.2, 0.5, 0.1], 1.0)
    [[0, 2], [1, 3, 7], [4, 5], [6]]
    """
    s, cap = _items(sizes, capacity)
    return _pack(s, cap, range(s.size), best=True)


def first_fit_decreasing(sizes, capacity) -> list:
    """First fit on the items sorted by decreasing size (stable).

    FFD uses at most 11/9 OPT + 6/9 bins, and this bound is tight (Dósa,
    "The tight bound of first fit decreasing bin-packing algorithm is
    FFD(I) <= 11/9 OPT(I) + 6/9", ESCAPE 2007, LNCS 4614); see
    :func:`ffd_bound`.

    >>> first_fit_decreasing([0.5, 0.7, 0.5, 0.2, 0.4, 0.2, 0.5, 0.1], 1.0)
    [[1, 3, 7], [0, 2], [6, 4], [5]]
    """
    s, cap = _items(sizes, capacity)
    return _pack(s, cap, np.argsort(-s, kind="stable"), best=False)


def best_fit_decreasing(sizes, capacity) -> list:
    """Best fit on the items sorted by decreasing size (same worst-case bound as FFD)."""
    s, cap = _items(sizes, capacity)
    return _pack(s, cap, np.argsort(-s, kind="stable"), best=True)


def bin_packing_lower_bound(sizes, capacity) -> int:
    """⌈Σ sizes / capacity⌉: no packing uses fewer bins (the L1 bound of Martello & Toth 1990, §8.3).

    >>> bin_packing_lower_bound([0.5, 0.7, 0.5, 0.2, 0.4, 0.2, 0.5, 0.1], 1.0)
    4
    """
    s, cap = _items(sizes, capacity)
    ratio = math.fsum(s) / cap
    return int(math.ceil(ratio - 1e-12 * max(1.0, ratio)))


def ffd_bound(optimum):
    """Dósa's tight worst case of first fit decreasing, 11/9 OPT + 6/9 (ESCAPE 2007).

    Since OPT >= :func:`bin_packing_lower_bound`, FFD never uses more than
    ``floor(ffd_bound(OPT))`` bins; with the lower bound in place of OPT it
    is not a bound (a test compares against the true OPT of small instances).

    >>> ffd_bound(9)
    11.666666666666666
    """
    opt = real_array("optimum", optimum)
    if np.any(opt < 0):
        raise InvalidParameter(f"optimum must be >= 0, got {_fmt(optimum)}")
    return as_output(11.0 / 9.0 * opt + 6.0 / 9.0)


# --------------------------------------------------------------------------- memory: the idle memory tax


def affine_water_fill(total, offsets, slopes, lower, upper):
    r"""The level t with :math:`\sum_i \mathrm{clip}(a_i + t\,b_i, \ell_i, u_i) = T`, and the allocation.

    Exact: the sum is piecewise linear and non-decreasing in t with
    breakpoints :math:`(\ell_i - a_i)/b_i` and :math:`(u_i - a_i)/b_i`; the
    breakpoints are sorted and the linear piece that crosses T is solved.
    :func:`water_fill` is the case a = 0.  Needs
    :math:`\sum \ell_i \le T \le \sum u_i` and slopes > 0.

    Returns
    -------
    (float, numpy.ndarray)
        The level t and the allocation.

    Examples
    --------
    >>> t, x = affine_water_fill(10, [0, 0, 0], [1, 1, 1], [0, 0, 0], [2, 10, 10])
    >>> t, x.tolist()
    (4.0, [2.0, 4.0, 4.0])
    """
    a = np.asarray(offsets, dtype=float)
    b = np.asarray(slopes, dtype=float)
    lo = np.asarray(lower, dtype=float)
    hi = np.asarray(upper, dtype=float)
    if not (a.shape == b.shape == lo.shape == hi.shape) or a.ndim != 1:
        raise InvalidParameter("offsets, slopes, lower and upper must be 1-D arrays of one length")
    if np.any(b <= 0) or np.any(lo > hi):
        raise InvalidParameter(f"slopes must be > 0 and lower <= upper, got slopes {_fmt(b)}")
    if not (math.fsum(lo) <= total * (1 + 1e-12) + 1e-300 and total <= math.fsum(hi) * (1 + 1e-12)):
        raise InvalidParameter(f"total must lie between sum(lower) = {math.fsum(lo)!r} and sum(upper) = "
                               f"{math.fsum(hi)!r}, got {total!r}")
    knots = np.unique(np.concatenate([(lo - a) / b, (hi - a) / b]))
    knots = knots[np.isfinite(knots)]           # an infinite ceiling is never reached

    def amount(t):
        return np.clip(a + t * b, lo, hi)

    sums = np.array([amount(t).sum() for t in knots])
    k = int(np.searchsorted(sums, total))
    # the linear piece that crosses the total: anchor knot and a probe point inside the piece
    if k < knots.size and sums[k] == total:
        return float(knots[k]), amount(float(knots[k]))
    if k == 0:
        anchor, probe = knots[0], knots[0] - 1.0
    elif k >= knots.size:
        anchor, probe = knots[-1], knots[-1] + 1.0
    else:
        anchor, probe = knots[k - 1], 0.5 * (knots[k - 1] + knots[k])
    inside = a + probe * b
    slope = b[(inside > lo) & (inside < hi)].sum()
    t = float(anchor + (total - amount(anchor).sum()) / slope) if slope > 0 else float(anchor)
    return t, amount(t)


def idle_memory_tax(memory, shares, working_sets, tax_rate=0.75, reservations=None, limits=None):
    r"""Memory of each VM under ESX's share-based reclamation with the idle memory tax.

    Waldspurger ("Memory resource management in VMware ESX Server", OSDI
    2002, §5.2) reclaims from the VM with the lowest adjusted
    shares-per-page ratio

    .. math:: \rho = \frac{S}{P\,(f + k\,(1 - f))},\qquad k = \frac{1}{1 - \tau},

    S its shares, P its pages, f the fraction of them active and τ the tax
    rate (idle pages cost k times as much as active ones; default τ = 75 %).
    Reclaiming until no VM can gain pages from one with a lower ratio
    equalises ρ among the VMs not held at a reservation or a limit.  With
    the active memory W = f P taken as the VM's working set (fixed while
    memory is re-divided), :math:`P(f + k(1-f)) = W + k(P - W)`, and
    :math:`\rho = 1/\theta` for all unconstrained VMs gives

    .. math:: P_i = \tau\,W_i + (1-\tau)\,\theta\,S_i,

    clipped to [reservation, limit]; θ is set by :math:`\sum P_i = M`
    (:func:`affine_water_fill`).  τ = 0 is a pure proportional share of
    memory; τ → 1 gives each VM its working set.  ``symbolic`` derives this
    (``derive("allocation.idle_memory_tax")``).

    Modelled: the reclamation target, shares, tax, min/max sizes. Not
    modelled: the sampling that estimates f (ESX samples 100 random pages
    per 30 s with three moving averages), the reclamation mechanisms
    (ballooning, swapping; see :mod:`virtmodel.sim.memory` if present),
    page sharing.

    Parameters
    ----------
    memory : float
        Machine memory to divide, > 0.
    shares : array_like
        Memory shares S_i, > 0.
    working_sets : array_like
        Active memory W_i of each VM, >= 0.
    tax_rate : float, default 0.75
        τ in [0, 1).
    reservations : array_like, optional
        Minimum memory of each VM (ESX "min size"), default 0; their sum
        must fit in ``memory``.
    limits : array_like, optional
        Configured memory size (ESX "max size"), default ``inf``; a limit
        below its reservation is rejected.

    Returns
    -------
    numpy.ndarray
        Pages (memory) of each VM.  If the limits together fit, each VM gets
        its limit (nothing is reclaimed).

    Examples
    --------
    Two VMs with equal shares, one idle (W = 0) and one busy (W = 400), on
    1,000 MB with τ = 0.75: the idle VM is taxed.

    >>> idle_memory_tax(1000, [1, 1], [0, 400], 0.75, limits=[1000, 1000]).round(6).tolist()
    [350.0, 650.0]
    """
    mem = float(positive("memory", real_array("memory", memory)))
    tau = float(real_array("tax_rate", tax_rate))
    if not (0.0 <= tau < 1.0):
        raise InvalidParameter(f"tax_rate must be in [0, 1), got {tax_rate!r}")
    s = np.atleast_1d(np.asarray(shares, dtype=float))
    if s.ndim != 1 or s.size == 0:
        raise InvalidParameter(f"shares must be a non-empty 1-D array, got {shares!r}")
    n = s.size
    s = _vector("shares", s, n, default=1.0, strictly_positive=True)
    w = _vector("working_sets", working_sets, n, default=0.0)
    r = _vector("reservations", reservations, n, default=0.0)
    lim = _vector("limits", limits, n, default=math.inf, allow_inf=True)
    if np.any(r > lim):
        i = int(np.argmax(r > lim))
        raise InvalidParameter(f"limits[{i}] = {lim[i]!r} must be >= reservations[{i}] ({r[i]!r})")
    if math.fsum(r) > mem:
        raise InvalidParameter(f"reservations must sum to at most memory ({mem!r}), got {math.fsum(r)!r}")
    if math.fsum(lim) <= mem:
        return lim.copy()
    _, x = affine_water_fill(mem, tau * w, (1 - tau) * s, r, lim)
    return x


# --------------------------------------------------------------------------- one host: minimum / maximum / dynamic


def _int_vector(name, value, n, minimum):
    arr = np.atleast_1d(np.asarray(value))
    if arr.shape != (n,) or not np.all(np.isfinite(arr.astype(float))) or \
            not np.all(arr.astype(float) == np.round(arr.astype(float))) or np.any(arr.astype(float) < minimum):
        raise InvalidParameter(f"{name} must be {n} integers >= {minimum}, got {_fmt(value)}")
    return arr.astype(float).astype(int)


def host_strategies(pcpus, arrival_rates, service, reservations, limits, shares=None) -> pd.DataFrame:
    r"""Utilization, latency and scalability of VMs on one host under three allocation strategies.

    N VMs with Poisson arrivals of rates :math:`\lambda_i` and i.i.d. jobs
    (``service``: a rate, meaning exponential jobs, or any
    :class:`~virtmodel.dists.Distribution`) run FCFS on a host of c pCPUs.
    VM i reserves :math:`r_i` pCPUs and may use at most :math:`l_i` (its
    vCPUs):

    * **minimum**: each VM gets exactly its reservation, a static partition
      (separate queues): M/G/1 (r_i = 1) or M/M/r_i per VM, exact; G/G/r_i
      (Allen–Cunneen, approximate) for r_i > 1 and non-exponential jobs.
      Needs Σ r_i <= c.
    * **maximum**: each VM gets exactly its limit (provisioned for its
      peak): the same queues on l_i pCPUs; the host must hold Σ l_i pCPUs,
      so ``pcpus_needed`` may exceed c.
    * **dynamic**: the c pCPUs are pooled and shared work-conservingly;
      without binding ceilings (every l_i >= c) it is one M/G/c queue of
      the merged stream (M/M/c exact; otherwise Allen–Cunneen), with
      ceilings :func:`virtmodel.predict` on the equivalent Scenario (vCPU
      limits: bounds, ``exact=False``).  Latency under FCFS does not depend
      on the shares; they set the long-run split when every VM is saturated.

    ``utilization`` = offered work Σ λ_i E[S] over the pCPUs the strategy
    sets aside (Σ r_i, Σ l_i, c).  ``scalability`` of a VM is
    :math:`R_{max}/R_{min}`: the most pCPUs it can be given (when it is the
    only busy VM) over the pCPUs it is guaranteed when every VM is
    saturated (weighted water-filling by ``shares`` between reservations and
    limits, :func:`water_fill`): 1 for the static strategies,
    :math:`\min(l_i, c)/R_{min,i}` for dynamic.  It measures how far a VM's
    capacity (and so its peak throughput) can grow with its demand without
    re-provisioning.

    Returns
    -------
    pandas.DataFrame
        Columns ``strategy, group, metric, value, exact``; groups are the VM
        indices as strings (``"vm0"``...) and ``"all"``; metrics
        ``utilization``, ``mean_response``, ``scalability`` and (group
        ``"all"``) ``pcpus_needed``.

    Raises
    ------
    InvalidParameter
        Reservations above capacity, a limit below its reservation, or a
        reservation of 0 (the minimum strategy would give the VM nothing).
    UnstableSystem
        A VM's load does not fit its allocation under some strategy.

    Examples
    --------
    >>> t = host_strategies(4, [1.0, 1.0], 1.0, reservations=[2, 2], limits=[4, 4])
    >>> t[(t.metric == "mean_response") & (t.group == "all")].set_index("strategy").value.round(4).to_dict()
    {'minimum': 1.3333, 'maximum': 1.0068, 'dynamic': 1.087}
    """
    from ..dists import Distribution, Exponential
    from ..scenario import VM, Scenario
    from .solve import predict

    c = positive_int("pcpus", pcpus)
    lam = np.atleast_1d(np.asarray(arrival_rates, dtype=float))
    if lam.ndim != 1 or lam.size == 0 or not np.all(np.isfinite(lam)) or np.any(lam <= 0):
        raise InvalidParameter(f"arrival_rates must be a 1-D array of finite numbers > 0, got {_fmt(arrival_rates)}")
    n = lam.size
    if not isinstance(service, Distribution):
        service = Exponential(float(positive("service", real_array("service", service))))
    mean_service = float(service.mean)
    r = _int_vector("reservations", reservations, n, 1)
    lim = _int_vector("limits", limits, n, 1)
    if np.any(lim < r):
        i = int(np.argmax(lim < r))
        raise InvalidParameter(f"limits[{i}] = {lim[i]} must be >= reservations[{i}] ({r[i]})")
    if r.sum() > c:
        raise InvalidParameter(f"reservations must sum to at most pcpus ({c}), got {int(r.sum())}")
    s = _vector("shares", shares, n, default=1.0, strictly_positive=True)
    names = [f"vm{i}" for i in range(n)]
    offered = float(lam.sum() * mean_service)
    rows = []
    for strategy, servers in (("minimum", r), ("maximum", lim)):
        preds = [predict(Scenario(int(servers[i]), [VM(names[i], Exponential(lam[i]), service)])) for i in range(n)]
        resp = np.array([p.value("mean_response") for p in preds])
        exact = [bool(p.exact) for p in preds]
        rows += [(strategy, names[i], "mean_response", resp[i], exact[i]) for i in range(n)]
        rows += [(strategy, names[i], "utilization", lam[i] * mean_service / servers[i], True) for i in range(n)]
        rows += [(strategy, names[i], "scalability", 1.0, True) for i in range(n)]
        rows += [(strategy, "all", "mean_response", float(lam @ resp / lam.sum()), all(exact)),
                 (strategy, "all", "utilization", offered / servers.sum(), True),
                 (strategy, "all", "pcpus_needed", float(servers.sum()), True)]
    ceiling = np.minimum(lim, c).astype(float)
    guaranteed = water_fill(c, np.full(n, math.inf), reservations=r.astype(float), limits=ceiling, shares=s)
    vms = [VM(names[i], Exponential(lam[i]), service, vcpus=None if lim[i] >= c else int(lim[i]))
           for i in range(n)]
    pred = predict(Scenario(c, vms))
    for i in range(n):
        rows += [("dynamic", names[i], "mean_response", pred.value("mean_response", names[i]), pred.exact),
                 ("dynamic", names[i], "utilization", lam[i] * mean_service / c, True),
                 ("dynamic", names[i], "scalability", float(ceiling[i] / guaranteed[i]), True)]
    rows += [("dynamic", "all", "mean_response", pred.value("mean_response"), pred.exact),
             ("dynamic", "all", "utilization", offered / c, True),
             ("dynamic", "all", "pcpus_needed", float(c), True)]
    return pd.DataFrame(rows, columns=["strategy", "group", "metric", "value", "exact"])


# --------------------------------------------------------------------------- several resources: the stochastic knapsack

__all__ += ["multi_resource_loss"]  # noqa: PLE0604


def multi_resource_loss(capacities, offered_loads, demands, max_states=5_000_000):
    r"""Blocking per flavour when each request holds a vector of integer units of several resources.

    Complete sharing of two resources (e.g. vCPU slots and memory units of
    one host): flavour k arrives Poisson with offered load :math:`a_k`
    (Erlangs), holds :math:`d_k = (d_{k1}, d_{k2})` units and is lost when
    it does not fit.  The state space :math:`\{n : \sum_k n_k d_k \le C\}`
    is coordinate-convex, so the chain is reversible with the product form
    :math:`\pi(n) \propto \prod_k a_k^{n_k}/n_k!`, insensitive to the
    holding-time distribution (Ross, *Multiservice Loss Models for
    Broadband Telecommunication Networks*, Springer 1995, ch. 1 and §2.1,
    the stochastic knapsack).  The distribution of occupied units
    :math:`q(j_1, j_2)` is computed by convolving the flavours' Poisson
    terms on the grid of occupancies (the convolution algorithm; Iversen,
    *Teletraffic Engineering and Network Planning*, ch. 10), each flavour's
    coefficients normalised in log space so large loads do not overflow.
    Flavour k is blocked in the states where :math:`j + d_k \not\le C`:

    .. math:: B_k = 1 - \sum_{j \le C - d_k} q(j).

    With one resource this is :func:`kaufman_roberts`.

    Parameters
    ----------
    capacities : (int, int)
        Units of each resource, >= 1.
    offered_loads : array_like
        Offered load of each flavour, >= 0.
    demands : array_like of int, shape (flavours, 2)
        Units of each resource one request holds, >= 0, at most the capacity.
    max_states : int
        Largest grid (C_1 + 1)(C_2 + 1) accepted.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Blocking of each flavour, and the occupancy distribution q
        (shape (C_1 + 1, C_2 + 1)).

    Examples
    --------
    Memory that never binds gives Kaufman–Roberts:

    >>> b, _ = multi_resource_loss((4, 100), [1.0, 0.5], [[1, 1], [2, 1]])
    >>> b.round(6).tolist()
    [0.102041, 0.265306]
    """
    from scipy.special import gammaln

    try:
        cap = np.asarray(capacities)
        d = np.asarray(demands)
    except (TypeError, ValueError):
        raise InvalidParameter("capacities and demands must be arrays of integers") from None
    a = np.atleast_1d(np.asarray(offered_loads, dtype=float))
    if cap.shape != (2,) or not np.all(cap == np.round(cap)) or np.any(cap < 1):
        raise InvalidParameter(f"capacities must be two integers >= 1, got {capacities!r}")
    if a.ndim != 1 or a.size == 0 or not np.all(np.isfinite(a)) or np.any(a < 0):
        raise InvalidParameter(f"offered_loads must be a 1-D array of finite numbers >= 0, got {_fmt(offered_loads)}")
    if d.shape != (a.size, 2) or not np.all(d == np.round(d)) or np.any(d < 0):
        raise InvalidParameter(f"demands must be integers >= 0 of shape ({a.size}, 2), got {_fmt(demands)}")
    cap = cap.astype(int)
    d = d.astype(int)
    if np.any(d > cap):
        i = int(np.argmax(np.any(d > cap, axis=1)))
        raise InvalidParameter(f"demands[{i}] = {d[i].tolist()} must fit in capacities {cap.tolist()}: such a "
                               "request never fits")
    if np.any(d.sum(axis=1) == 0):
        raise InvalidParameter("every flavour must hold some units (a demand of (0, 0) is never blocked)")
    if (cap[0] + 1) * (cap[1] + 1) > max_states:
        raise InvalidParameter(f"capacities {cap.tolist()} give {(cap[0] + 1) * (cap[1] + 1):,} occupancy states, "
                               f"more than max_states = {max_states:,}")
    q = np.zeros((cap[0] + 1, cap[1] + 1))
    q[0, 0] = 1.0
    for k in range(a.size):
        if a[k] == 0:
            continue
        n_max = int(min(cap[r] // d[k, r] for r in range(2) if d[k, r] > 0))
        n = np.arange(n_max + 1)
        log_c = n * math.log(a[k]) - gammaln(n + 1)
        coef = np.exp(log_c - log_c.max())
        out = np.zeros_like(q)
        for j in range(n_max + 1):
            s0, s1 = j * d[k, 0], j * d[k, 1]
            out[s0:, s1:] += coef[j] * q[: cap[0] + 1 - s0, : cap[1] + 1 - s1]
        q = out / out.max()
    q /= q.sum()
    blocking = np.array([1.0 - q[: cap[0] - d[k, 0] + 1, : cap[1] - d[k, 1] + 1].sum() for k in range(a.size)])
    return np.clip(blocking, 0.0, 1.0), q
