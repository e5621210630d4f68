"""Boot storms: how long it takes to start N virtual machines.

VM i is created, configured and booted; creation and configuration run for
all VMs at once, boots take one of ``slots`` boot slots (``slots = None``:
all boot in parallel; ``slots = 1``: one after the other).  Boot times
B_1, ..., B_N are i.i.d. with distribution ``boot``; the makespan is the time
until the last VM has booted.

Closed forms (exact unless stated):

* sequential (``slots = 1``): :math:`E[M] = N E[B]` (linearity);
* parallel (``slots >= N``): :math:`E[M] = E[\\max_i B_i] = \\int_0^\\infty
  (1 - F(t)^N)\\,dt` (David & Nagaraja, *Order Statistics*, 3rd ed., Wiley
  2003, §3.1), evaluated with :func:`scipy.integrate.quad`; for exponential
  boots with rate :math:`\\mu` it is :math:`H_N/\\mu` (the memoryless
  argument: while k VMs still boot the next finishes after Exp(k mu));
  deterministic, uniform and empirical boots have exact finite forms;
* k slots, exponential boots: :math:`E[M] = (N - k)/(k\\mu) + H_k/\\mu`
  (all k slots busy for the first N - k completions, each after Exp(k mu),
  then the last k boot in parallel); deterministic boots:
  :math:`\\lceil N/k \\rceil d`.  Otherwise there is no closed form
  (:class:`~virtmodel.errors.NoClosedForm`); :func:`slots_makespan_bounds`
  gives :math:`\\max(N E[B]/k, E[\\max_i B_i]) \\le E[M] \\le N E[B]/k +
  (1 - 1/k) E[\\max_i B_i]` (Graham, "Bounds on multiprocessing timing
  anomalies", SIAM J. Appl. Math. 17 (1969): list scheduling is within
  (1 - 1/k) max B of the average load).
* create and configure stages: deterministic ones delay every VM by the same
  time d, so :math:`E[M] = d + E[M_{boot}]` exactly.  Random stages with all
  boots in parallel give the lower bound :math:`E[A] + E[\\max_i B_i]`
  (Jensen: the maximum is convex in the stage times A_i); random stages with
  limited slots have no closed form here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._lazy import lazy
from .._validation import as_output, integer_array, positive_int
from ..dists import Deterministic, Distribution, Empirical, Exponential, Uniform
from ..errors import InvalidParameter, NoClosedForm

integrate = lazy("scipy.integrate")
special = lazy("scipy.special")

__all__ = [
    "harmonic",
    "sequential_makespan",
    "parallel_makespan",
    "slots_makespan",
    "slots_makespan_bounds",
    "boot_storm_makespan",
    "Makespan",
]

_QUAD = dict(epsabs=1e-12, epsrel=1e-10, limit=400)


def _boot(boot) -> Distribution:
    if not isinstance(boot, Distribution):
        raise InvalidParameter(f"boot must be a virtmodel.dists Distribution, got {boot!r}")
    return boot


def harmonic(n):
    """H_n = 1 + 1/2 + ... + 1/n = psi(n + 1) + Euler's gamma; broadcasts over integer ``n >= 0``.

    Examples
    --------
    >>> round(harmonic(3), 12)
    1.833333333333
    """
    n = integer_array("n", n, minimum=0)
    return as_output(special.digamma(n + 1.0) + np.euler_gamma)


def sequential_makespan(n_vms, boot):
    """Mean makespan of N boots one after the other: N E[B] (exact); broadcasts over ``n_vms``."""
    n = integer_array("n_vms", n_vms, minimum=1)
    return as_output(n * _boot(boot).mean)


def _expected_max(n: int, boot: Distribution) -> float:
    """E[max of n i.i.d. copies of boot]."""
    if n == 1:
        return boot.mean
    if isinstance(boot, Exponential):
        return float(harmonic(n)) / boot.rate
    if isinstance(boot, Deterministic):
        return boot.value
    if isinstance(boot, Uniform):  # a + (b - a) n / (n + 1)
        return boot.low + (boot.high - boot.low) * n / (n + 1.0)
    if isinstance(boot, Empirical):  # sum_j x_(j) [(j/m)^n - ((j-1)/m)^n]
        x = np.sort(np.array(boot.samples))
        j = np.arange(1, x.size + 1) / x.size
        return float(x @ (j**n - (j - 1.0 / x.size) ** n))

    def survival_of_max(t):  # 1 - F(t)^n, accurate where F is near 1
        f = float(boot.cdf(t))
        return -math.expm1(n * math.log(f)) if f > 0 else 1.0

    # split at the mean to help quad find the mass of a narrow distribution
    m = boot.mean
    head = integrate.quad(survival_of_max, 0.0, m, **_QUAD)[0]
    tail = integrate.quad(survival_of_max, m, math.inf, **_QUAD)[0]
    return head + tail


def parallel_makespan(n_vms, boot):
    """Mean makespan of N boots all in parallel: E[max_i B_i] = integral of 1 - F(t)^N.

    Exact: H_N / mu for exponential boots, d for deterministic,
    a + (b - a) N/(N+1) for uniform, a finite sum for empirical, otherwise
    :func:`scipy.integrate.quad` of :math:`1 - F(t)^N` over :math:`[0, \\infty)`
    (David & Nagaraja 2003, §3.1).  Broadcasts over ``n_vms``.

    Examples
    --------
    >>> from virtmodel.dists import Exponential
    >>> parallel_makespan(2, Exponential(1.0))     # H_2 = 1.5
    1.5
    """
    n = integer_array("n_vms", n_vms, minimum=1)
    boot = _boot(boot)
    return as_output(np.vectorize(lambda k: _expected_max(int(k), boot), otypes=[float])(n))


def _slots(slots) -> int:
    return positive_int("slots", slots)


def slots_makespan(n_vms, boot, slots):
    """Mean makespan of N boots on ``slots`` boot slots (FIFO), where a closed form exists.

    ``slots >= N``: :func:`parallel_makespan`; ``slots = 1``: N E[B];
    exponential boots: (N - k)/(k mu) + H_k/mu; deterministic boots:
    ceil(N/k) d.  All exact.

    Raises
    ------
    NoClosedForm
        For 1 < k < N and boots neither exponential nor deterministic (see
        :func:`slots_makespan_bounds`).

    Examples
    --------
    >>> from virtmodel.dists import Exponential
    >>> slots_makespan(4, Exponential(1.0), 2)     # 2/2 + H_2 = 2.5
    2.5
    """
    n = int(positive_int("n_vms", n_vms))
    k = _slots(slots)
    boot = _boot(boot)
    if k >= n:
        return float(_expected_max(n, boot))
    if k == 1:
        return n * boot.mean
    if isinstance(boot, Exponential):
        return (n - k) / (k * boot.rate) + float(harmonic(k)) / boot.rate
    if isinstance(boot, Deterministic):
        return math.ceil(n / k) * boot.value
    raise NoClosedForm(
        f"the makespan of {n} boots on {k} slots has a closed form only for exponential or deterministic "
        f"boot times, got {boot!r}; slots_makespan_bounds gives bounds"
    )


def slots_makespan_bounds(n_vms, boot, slots) -> tuple[float, float]:
    """(lower, upper) bounds on the mean makespan of N boots on k slots, any boot distribution.

    Lower: max(N E[B] / k, E[max_i B_i]) (the work must fit on k slots; no VM
    is up before its own boot ends).  Upper: N E[B] / k + (1 - 1/k) E[max_i B_i]
    (Graham 1969: greedy list scheduling ends within (1 - 1/k) max_i B_i of
    sum_i B_i / k).
    """
    n = int(positive_int("n_vms", n_vms))
    k = _slots(slots)
    boot = _boot(boot)
    top = _expected_max(n, boot)
    work = n * boot.mean / min(k, n)
    if k >= n:
        return top, top
    return max(work, top), work + (1.0 - 1.0 / k) * top


@dataclass(frozen=True)
class Makespan:
    """A mean makespan with how it was obtained."""

    value: float
    exact: bool
    model: str
    source: str


def _stage_delay(stage, name):
    if stage is None:
        return 0.0, True
    if not isinstance(stage, Distribution):
        raise InvalidParameter(f"{name} must be a virtmodel.dists Distribution or None, got {stage!r}")
    return stage.mean, isinstance(stage, Deterministic)


def boot_storm_makespan(n_vms, boot, slots=None, create=None, configure=None) -> Makespan:
    """Mean makespan of a boot storm: create -> configure -> boot (on ``slots`` slots) per VM.

    Deterministic (or absent) create/configure stages shift every VM by
    d = E[create] + E[configure], so the mean makespan is d plus that of the
    boots (exact).  Random stages with all boots in parallel give the lower
    bound E[create] + E[configure] + E[max_i B_i] (Jensen), ``exact=False``.

    Raises
    ------
    NoClosedForm
        Random stages with limited slots, or a slot count without a closed form.

    Examples
    --------
    >>> from virtmodel.dists import Exponential, Deterministic
    >>> round(boot_storm_makespan(3, Exponential(1.0), create=Deterministic(0.5)).value, 12)   # 0.5 + H_3
    2.333333333333
    """
    n = int(positive_int("n_vms", n_vms))
    boot = _boot(boot)
    k = n if slots is None else min(_slots(slots), n)
    d1, fixed1 = _stage_delay(create, "create")
    d2, fixed2 = _stage_delay(configure, "configure")
    delay, fixed = d1 + d2, fixed1 and fixed2
    if not fixed and k < n:
        raise NoClosedForm(
            "a boot storm with random create/configure times and limited boot slots has no closed form "
            "(the boot order depends on the stage times); use deterministic stages or slots=None"
        )
    if k == n:
        what = "all boots in parallel: E[max of N]"
        source = ("David & Nagaraja, Order Statistics, 3rd ed. (2003), §3.1: E[max] = integral of "
                  "1 - F(t)^N; exponential: H_N/mu")
    elif k == 1:
        what = "sequential boots: N E[B]"
        source = "linearity of expectation"
    else:
        what = f"{k} boot slots"
        source = ("exponential: (N-k)/(k mu) + H_k/mu (memoryless: k slots busy until the queue empties); "
                  "deterministic: ceil(N/k) d")
    value = delay + slots_makespan(n, boot, k)
    if fixed:
        return Makespan(value, True, f"boot storm ({what})", source)
    return Makespan(value, False, f"boot storm lower bound ({what}; random stages by Jensen)",
                    source + "; random stages: E[max(A_i + B_i)] >= E[A] + E[max B_i] (Jensen)")


# ---------------------------------------------------------------------------
# OS installation over a shared image server (issue 16)
# ---------------------------------------------------------------------------
#
# N VMs start installing at time 0.  From an image server of bandwidth B, the
# transfers share the link equally (processor sharing): with n active, each
# moves at B/n, or at most ``stream_bandwidth`` c when the VM's own path
# caps it; at most ``slots`` k transfers run at once (FIFO for the rest).
# From a CD or a local ISO file each VM reads at its own disk rate r.

__all__ += [
    "expected_min",
    "expected_max_independent",
    "shared_install_makespan",
    "ps_completion_times",
    "ps_mean_completion",
    "InstallTimes",
    "install_times",
]


def expected_min(n, dist) -> float:
    """E[min of n i.i.d. copies of ``dist``] = integral of (1 - F(t))^n over [0, inf).

    Exact forms: 1/(n mu) for exponential, d for deterministic, a + (b - a)/(n + 1)
    for uniform, a finite sum for empirical (David & Nagaraja 2003, §3.1);
    otherwise :func:`scipy.integrate.quad`.

    Examples
    --------
    >>> from virtmodel.dists import Exponential
    >>> expected_min(4, Exponential(2.0))       # 1/(4 * 2)
    0.125
    """
    n = int(positive_int("n", n))
    dist = _boot(dist)
    if n == 1:
        return float(dist.mean)
    if isinstance(dist, Exponential):
        return 1.0 / (n * dist.rate)
    if isinstance(dist, Deterministic):
        return float(dist.value)
    if isinstance(dist, Uniform):
        return dist.low + (dist.high - dist.low) / (n + 1.0)
    if isinstance(dist, Empirical):  # sum_j x_(j) [((m-j+1)/m)^n - ((m-j)/m)^n]
        x = np.sort(np.array(dist.samples))
        m = x.size
        above = (m - np.arange(1, m + 1) + 1.0) / m
        return float(x @ (above**n - (above - 1.0 / m) ** n))
    m = dist.mean
    f = lambda t: (1.0 - float(dist.cdf(t))) ** n  # noqa: E731
    return integrate.quad(f, 0.0, m, **_QUAD)[0] + integrate.quad(f, m, math.inf, **_QUAD)[0]


def expected_max_independent(dists) -> float:
    """E[max_i X_i] of independent, not necessarily identical X_i: integral of 1 - prod_i F_i(t).

    Exact: the largest value when all are deterministic, :func:`parallel_makespan`
    when all are equal; otherwise :func:`scipy.integrate.quad` split at the
    deterministic values and the means (David & Nagaraja 2003, §5.2).

    Examples
    --------
    >>> from virtmodel.dists import Deterministic, Exponential
    >>> expected_max_independent([Deterministic(1.0), Deterministic(3.0)])
    3.0
    >>> round(expected_max_independent([Exponential(1.0), Exponential(1.0)]), 12)   # H_2
    1.5
    """
    dists = [_boot(d) for d in dists]
    if not dists:
        return 0.0
    if all(isinstance(d, Deterministic) for d in dists):
        return float(max(d.value for d in dists))
    if all(d == dists[0] for d in dists):
        return float(_expected_max(len(dists), dists[0]))
    floor = max((d.value for d in dists if isinstance(d, Deterministic)), default=0.0)
    randoms = [d for d in dists if not isinstance(d, Deterministic)]

    def survival(t):
        p = 1.0
        for d in randoms:
            p *= float(d.cdf(t))
        return 1.0 - p

    cuts = sorted({floor, *(d.mean for d in randoms if d.mean > floor)})
    total = floor
    for a, b in zip(cuts, cuts[1:], strict=False):
        total += integrate.quad(survival, a, b, **_QUAD)[0]
    return total + integrate.quad(survival, cuts[-1], math.inf, **_QUAD)[0]


def shared_install_makespan(n_vms, image_size, bandwidth):
    """Makespan of N equal installs of size S sharing bandwidth B from time 0: N S / B (exact).

    Under processor sharing on the link every transfer moves at B/N, so all
    finish together at N S / B; any work-conserving link (FIFO, k slots)
    ends at the same time, since the link moves B per unit time while work
    remains.  Broadcasts over all three arguments.

    Examples
    --------
    >>> shared_install_makespan(10, 4.0, 2.0)
    20.0
    """
    n = integer_array("n_vms", n_vms, minimum=1)
    s = _positive("image_size", image_size)
    b = _positive("bandwidth", bandwidth)
    return as_output(n * s / b)


def _positive(name, value):
    from .._validation import positive

    return positive(name, value)


def ps_completion_times(sizes, bandwidth) -> np.ndarray:
    """Completion times of transfers of ``sizes`` started together on a processor-sharing link.

    With sizes sorted :math:`s_{(1)} \\le \\dots \\le s_{(N)}`, the i-th smallest
    finishes at :math:`C_{(i)} = (\\sum_{j<i} s_{(j)} + (N - i + 1) s_{(i)}) / B`
    (while N - i + 1 transfers remain each gets B/(N - i + 1); Kleinrock,
    *Queueing Systems* Vol. 2 (1976), §4.4, processor sharing with
    simultaneous arrivals).  Equivalently :math:`C_i = (s_i + \\sum_{j\\ne i}
    \\min(s_i, s_j)) / B`.  Returned in the input order (exact).

    Examples
    --------
    >>> ps_completion_times([3.0, 1.0, 2.0], 1.0)     # 1*3; 1 + 2*2; 1 + 2 + 3
    array([6., 3., 5.])
    """
    s = _positive("sizes", sizes)
    if s.ndim != 1 or s.size == 0:
        raise InvalidParameter(f"sizes must be a non-empty 1-d sequence, got {sizes!r}")
    b = float(_positive("bandwidth", bandwidth))
    order = np.argsort(s, kind="stable")
    x = s[order]
    n = x.size
    done_before = np.concatenate(([0.0], np.cumsum(x)[:-1]))
    out = np.empty(n)
    out[order] = (done_before + (n - np.arange(n)) * x) / b
    return out


def ps_mean_completion(n_vms, image_size, bandwidth) -> float:
    """Mean completion time of N i.i.d. installs sharing bandwidth B (processor sharing, from time 0).

    :math:`E[C] = (E[S] + (N - 1) E[\\min(S_1, S_2)]) / B` (each other transfer
    delays a given one by the smaller of the two sizes; exact).
    Exponential sizes: :math:`(N + 1)/(2 \\mu B)`; equal sizes: N S / B.

    Examples
    --------
    >>> from virtmodel.dists import Exponential
    >>> ps_mean_completion(3, Exponential(1.0), 2.0)   # (3 + 1) / (2 * 1 * 2)
    1.0
    """
    n = int(positive_int("n_vms", n_vms))
    size = _size_dist(image_size)
    b = float(_positive("bandwidth", bandwidth))
    return (size.mean + (n - 1) * expected_min(2, size)) / b


def _size_dist(image_size) -> Distribution:
    if isinstance(image_size, Distribution):
        return image_size
    return Deterministic(float(_positive("image_size", image_size)))


@dataclass(frozen=True)
class InstallTimes:
    """Predicted installation times of N VMs installing at once.

    Attributes
    ----------
    makespan : float
        E[time until the last install ends] (the lower bound where not ``exact``).
    makespan_bounds : tuple of float
        (lower, upper) on E[makespan]; equal when ``exact``.
    exact : bool
    mean_completion : float or None
        E[completion time of a VM], where a closed form exists.
    completion : numpy.ndarray or None
        Per-VM completion times, for per-VM (deterministic) sizes.
    first_done : float
        A lower bound on E[the first install's end] (the min over VMs).
    all_together : bool
        Whether every install ends at the same instant (then later stages start together).
    model, source : str
    """

    makespan: float
    makespan_bounds: tuple
    exact: bool
    mean_completion: float | None
    completion: np.ndarray | None
    first_done: float
    all_together: bool
    model: str
    source: str


_PS_SOURCE = ("processor sharing with simultaneous starts (Kleinrock, Queueing Systems Vol. 2, 1976, §4.4): "
              "the i-th smallest of N ends at (sum_{j<i} s_(j) + (N-i+1) s_(i))/B; a work-conserving link "
              "ends all N at sum s/B")


def install_times(n_vms, install) -> InstallTimes:
    """Closed forms (or bounds) for N VMs installing at once with ``install``.

    ``install`` is a :class:`virtmodel.InstallFromServer` or
    :class:`virtmodel.InstallFromMedia`.

    * Media (CD or ISO at read rate r, not shared): C_i = S_i / r, so
      E[makespan] = E[max S]/r, E[C] = E[S]/r (exact).
    * Server of bandwidth B, no per-stream cap: the link is work conserving,
      so the makespan is sum S / B whatever the slots: N E[S]/B (exact).
      Without slots (pure PS): per-VM times by the PS order-statistics form,
      E[C] = (E[S] + (N-1) E[min(S1, S2)])/B; with k slots and exponential
      sizes completions come at rate mu B whenever one is active, so
      E[C] = (N + 1)/(2 mu B); equal sizes in FIFO batches of k: exact sum.
    * Per-stream cap c with min(k, N) c <= B: no sharing ever binds, so the
      installs are a boot storm on k slots with times S/c (the k-slot forms
      of :func:`slots_makespan`, scaled by 1/c).
    * Otherwise bounds: max(N E[S]/B, E[max S]/c) <= E[M] <= N E[S] / min(B, c)
      (the link moves at least min(B, c) while any transfer is active).
    """
    n = int(positive_int("n_vms", n_vms))
    sizes = install.sizes(n)
    if install.kind == "media":
        r = install.read_rate
        if isinstance(sizes, np.ndarray):
            c = sizes / r
            return InstallTimes(float(c.max()), (float(c.max()),) * 2, True, float(c.mean()), c, float(c.min()),
                                bool(np.all(c == c[0])), f"{install.medium} install at local read rate",
                                "independent local reads: C_i = S_i / r")
        top = _expected_max(n, sizes) / r
        return InstallTimes(top, (top, top), True, sizes.mean / r, None, expected_min(n, sizes) / r,
                            isinstance(sizes, Deterministic) or n == 1, f"{install.medium} install at local read rate",
                            "independent local reads: E[max S_i]/r (David & Nagaraja 2003, §3.1)")
    bw, k, cap = install.bandwidth, install.slots, install.stream_bandwidth
    k = n if k is None else min(k, n)
    rate_one = bw if cap is None else min(bw, cap)  # what a lone transfer gets
    if isinstance(sizes, np.ndarray):
        mean_s, max_s = float(sizes.mean()), float(sizes.max())
    else:
        mean_s, max_s = sizes.mean, _expected_max(n, sizes)
    work = n * mean_s / bw
    if cap is not None and k * cap <= bw:  # every active stream at its cap: k independent slots
        if isinstance(sizes, np.ndarray):
            c = _fifo_slots(sizes / cap, k)
            return InstallTimes(float(c.max()), (float(c.max()),) * 2, True, float(c.mean()), c, float(c.min()),
                                bool(np.all(c == c[0])), f"{k} capped streams (no sharing binds)",
                                "FIFO on k slots at the stream cap")
        low, high = slots_makespan_bounds(n, sizes, k)
        try:
            value = slots_makespan(n, sizes, k) / cap
            exact = True
        except NoClosedForm:
            value, exact = low / cap, False
        return InstallTimes(value, (value, value) if exact else (low / cap, high / cap), exact,
                            sizes.mean / cap if k >= n else None, None, expected_min(n, sizes) / cap,
                            isinstance(sizes, Deterministic) and k >= n,
                            f"{k} capped streams (no sharing binds): the boot-storm k-slot form",
                            "(N-k)/(k mu) + H_k/mu or ceil(N/k) d, times scaled by 1/c")
    if cap is None:
        if isinstance(sizes, np.ndarray):
            c = ps_completion_times(sizes, bw) if k >= n else _ps_fifo_slots(sizes, bw, k)
            return InstallTimes(float(c.max()), (float(c.max()),) * 2, True, float(c.mean()), c, float(c.min()),
                                bool(np.all(c == c[0])), "install from a shared image server (PS on the link)",
                                _PS_SOURCE)
        mean_c = None
        if k >= n:
            mean_c = ps_mean_completion(n, sizes, bw)
        elif isinstance(sizes, Exponential):
            mean_c = (n + 1) / (2.0 * sizes.rate * bw)
        elif isinstance(sizes, Deterministic):
            mean_c = float(_ps_fifo_slots(np.full(n, sizes.value), bw, k).mean())
        first = n * expected_min(n, sizes) / bw if k >= n else expected_min(n, sizes) / bw
        return InstallTimes(work, (work, work), True, mean_c, None, first,
                            isinstance(sizes, Deterministic) and k >= n,
                            "install from a shared image server (work-conserving link)", _PS_SOURCE)
    low = max(work, max_s / cap)
    high = n * mean_s / rate_one
    first = (float(sizes.min()) if isinstance(sizes, np.ndarray) else expected_min(n, sizes)) / rate_one
    return InstallTimes(low, (low, high), False, None, None, first, False,
                        "install from a shared image server with per-stream caps (bounds)",
                        "lower: the link moves at most B, a stream at most c; upper: at least min(B, c) moves "
                        "while work remains")


def _fifo_slots(durations, k) -> np.ndarray:
    """Completion times of jobs taken FIFO (in index order) by k independent slots."""
    free = np.zeros(k)
    out = np.empty(len(durations))
    for i, d in enumerate(durations):
        j = int(np.argmin(free))
        free[j] += d
        out[i] = free[j]
    return out


def _ps_fifo_slots(sizes, bandwidth, k) -> np.ndarray:
    """Completion times when at most k transfers (FIFO admission) share ``bandwidth`` equally."""
    sizes = np.asarray(sizes, float)
    n = sizes.size
    left = sizes.copy()
    out = np.full(n, np.nan)
    active = list(range(min(k, n)))
    nxt, t = len(active), 0.0
    while active:
        rate = bandwidth / len(active)
        rem = left[active]
        dt = rem.min() / rate
        t += dt
        left[active] = rem - dt * rate
        still = []
        for i in active:
            if left[i] <= 1e-12 * sizes[i]:
                out[i] = t
            else:
                still.append(i)
        while len(still) < k and nxt < n:
            still.append(nxt)
            nxt += 1
        active = still
    return out


# ---------------------------------------------------------------------------
# Host bring-up: module loading and component initialisation (issue 16)
# ---------------------------------------------------------------------------

__all__ += ["find_cycle", "dag_levels", "list_schedule", "init_makespan", "loading_delays", "BringUpTimes"]


def find_cycle(predecessors) -> list | None:
    """A dependency cycle as a list of names ``[a, b, ..., a]``, or None if the graph is a DAG.

    ``predecessors`` maps each name to the names it must wait for.

    Examples
    --------
    >>> find_cycle({"a": ["c"], "b": ["a"], "c": ["b"]})
    ['a', 'c', 'b', 'a']
    >>> find_cycle({"a": [], "b": ["a"]}) is None
    True
    """
    state = {}  # 1: on the stack, 2: done
    for root in predecessors:
        if state.get(root):
            continue
        stack, path = [(root, iter(predecessors.get(root, ())))], [root]
        state[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                stack.append((nxt, iter(predecessors.get(nxt, ()))))
                path.append(nxt)
    return None


def dag_levels(predecessors) -> list[list]:
    """Names grouped by level: level 0 has no predecessors, level l waits on some of level l - 1.

    The level of a component is the length of the longest dependency chain
    below it; names keep their order within a level.

    Examples
    --------
    >>> dag_levels({"a": [], "b": ["a"], "c": [], "d": ["b", "c"]})
    [['a', 'c'], ['b'], ['d']]
    """
    cycle = find_cycle(predecessors)
    if cycle is not None:
        raise InvalidParameter(f"components must form a DAG, got the dependency cycle {' -> '.join(cycle)}")
    level = {}

    def depth(name):
        if name not in level:
            level[name] = 1 + max((depth(p) for p in predecessors.get(name, ())), default=-1)
        return level[name]

    for name in predecessors:
        depth(name)
    out = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for name in predecessors:
        out[level[name]].append(name)
    return out


def list_schedule(durations, predecessors, cores=None) -> np.ndarray:
    """Finish times of a list schedule (Graham 1966) of a DAG of tasks on ``cores`` cores.

    Whenever a core is free, the ready task (all predecessors finished) that
    comes first in the given order starts on it; ``cores=None``: unlimited
    (every task starts when its predecessors finish, the makespan is the
    critical path).  ``predecessors[i]`` lists task indices.  Deterministic;
    the simulator applies it to sampled durations.

    Examples
    --------
    >>> list_schedule([2.0, 1.0, 1.0, 3.0], [[], [], [], [0, 1]], cores=2)
    array([2., 1., 2., 5.])
    """
    import heapq

    d = np.asarray(durations, float)
    n = d.size
    k = n if cores is None else int(cores)
    waiting = [len(set(p)) for p in predecessors]
    succ = [[] for _ in range(n)]
    for i, ps in enumerate(predecessors):
        for p in set(ps):
            succ[p].append(i)
    ready = [i for i in range(n) if waiting[i] == 0]
    heapq.heapify(ready)
    running, finish, t, free = [], np.full(n, np.nan), 0.0, k
    while ready or running:
        while ready and free:
            i = heapq.heappop(ready)
            heapq.heappush(running, (t + d[i], i))
            free -= 1
        t, i = heapq.heappop(running)
        done = [i]
        while running and running[0][0] <= t:
            done.append(heapq.heappop(running)[1])
        for i in done:
            finish[i] = t
            free += 1
            for s in succ[i]:
                waiting[s] -= 1
                if waiting[s] == 0:
                    heapq.heappush(ready, s)
    return finish


def _level_bounds(dists, cores):
    """(value, low, high, exact) for the makespan of independent tasks ``dists`` on ``cores`` cores."""
    n = len(dists)
    k = n if cores is None else min(cores, n)
    if all(isinstance(x, Deterministic) for x in dists):
        v = float(list_schedule([x.value for x in dists], [[]] * n, k).max())
        return v, v, v, True
    if k >= n:
        v = expected_max_independent(dists)
        return v, v, v, True
    if k == 1:
        v = float(sum(x.mean for x in dists))
        return v, v, v, True
    if all(x == dists[0] for x in dists):
        low, high = slots_makespan_bounds(n, dists[0], k)
        try:
            v = slots_makespan(n, dists[0], k)
            return v, v, v, True
        except NoClosedForm:
            return low, low, high, False
    work, top = sum(x.mean for x in dists) / k, expected_max_independent(dists)
    low = max(work, max(x.mean for x in dists))
    return low, low, work + (1 - 1 / k) * top, False


def init_makespan(times, predecessors, strategy="sequential", cores=None):
    """Mean initialisation makespan of components with a dependency DAG: (value, low, high, exact).

    ``times``: {name: Distribution} in declaration order; ``predecessors``:
    {name: names it waits for}.

    * ``"sequential"``: one at a time in a topological order: E = sum E[X] (exact).
    * ``"hybrid"``: level by level with a barrier between levels (DAG levels
      from :func:`dag_levels`), the components of a level in parallel on
      ``cores``: E = sum over levels of E[level makespan]; a level with
      width <= cores gives E[max] = integral of 1 - prod F (exact),
      deterministic times the list schedule (exact), otherwise the Graham
      bounds max(W/k, max E[X]) <= E <= W/k + (1 - 1/k) E[max].
    * ``"parallel"``: each component starts as soon as its predecessors are
      done and a core is free (list scheduling).  Deterministic times: the
      list schedule (exact; unlimited cores: the critical path).  Random
      times: exact only for one core (the sum), a chain, or independent
      components on enough cores; otherwise bounds
      max(critical path of the means, E[W]/k) <= E[T] (Jensen) and
      E[T] <= E[W]/k + (1 - 1/k) U (Graham, "Bounds for certain
      multiprocessing anomalies", Bell Syst. Tech. J. 45 (1966)), with
      U = the hybrid value with unlimited cores >= E[critical path];
      ``value`` is the lower bound.
    """
    if strategy not in ("sequential", "parallel", "hybrid"):
        raise InvalidParameter(f"strategy must be 'sequential', 'parallel' or 'hybrid', got {strategy!r}")
    names = list(times)
    if not names:
        return 0.0, 0.0, 0.0, True
    levels = dag_levels(predecessors)
    dists = [_boot(times[x]) for x in names]
    total = float(sum(x.mean for x in dists))
    if strategy == "sequential" or cores == 1:
        return total, total, total, True
    if strategy == "hybrid":
        parts = [_level_bounds([times[x] for x in lev], cores) for lev in levels]
        v, lo, hi = (float(sum(p[i] for p in parts)) for i in range(3))
        return v, lo, hi, all(p[3] for p in parts)
    if all(isinstance(x, Deterministic) for x in dists):
        index = {x: i for i, x in enumerate(names)}
        v = float(list_schedule([x.value for x in dists], [[index[p] for p in predecessors.get(x, ())]
                                                         for x in names], cores).max())
        return v, v, v, True
    if len(levels) == len(names) or len(levels) == 1:  # a chain, or independent components
        return _level_bounds(dists, cores) if len(levels) == 1 else (total, total, total, True)
    k = len(names) if cores is None else min(cores, len(names))
    # critical path of the means (a lower bound by Jensen: the max of path sums is convex)
    finish = {}
    for lev in levels:
        for x in lev:
            finish[x] = times[x].mean + max((finish[p] for p in predecessors.get(x, ())), default=0.0)
    low = max(max(finish.values()), total / k)
    upper_cp = sum(expected_max_independent([times[x] for x in lev]) for lev in levels)
    return low, low, total / k + (1 - 1 / k) * upper_cp, False


@dataclass(frozen=True)
class BringUpTimes:
    """Predicted host bring-up: E[host ready], E[dynamic-loading delay] per VM, with exactness and bounds."""

    host_ready: float
    host_ready_bounds: tuple
    exact: bool
    delays: dict
    last_vm_ready: float
    model: str
    source: str


def loading_delays(load_means, order_of_need, loaded_at_start):
    """Mean on-demand loading delay of each VM's first start (exact, any load-time law).

    ``load_means``: {module: E[load time + on-demand overhead]}; ``order_of_need``:
    {vm: modules it needs} in the order the VMs start; ``loaded_at_start``:
    modules loaded before the host is ready.  One loader takes the missing
    modules in order of first request, so the m-th on-demand module is ready
    after the sum of the first m load times; a VM's delay is that sum up to
    its last needed module, and by linearity its mean is the sum of the means.

    Examples
    --------
    >>> loading_delays({"a": 1.0, "b": 2.0, "c": 4.0}, {"vm0": ["b"], "vm1": ["a", "b"]}, {"c"})
    {'vm0': 2.0, 'vm1': 3.0}
    """
    order = []
    for needs in order_of_need.values():
        for m in needs:
            if m not in loaded_at_start and m not in order:
                order.append(m)
    done, acc = {}, 0.0
    for m in order:
        acc += load_means[m]
        done[m] = acc
    return {v: max((done[m] for m in needs if m in done), default=0.0) for v, needs in order_of_need.items()}
