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
from scipy import integrate, special

from .._validation import as_output, integer_array, positive_int
from ..dists import Deterministic, Distribution, Empirical, Exponential, Uniform
from ..errors import InvalidParameter, NoClosedForm

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
