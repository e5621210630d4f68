r"""Closed forms for shared virtual I/O devices (disks, storage arrays, NICs) as queueing stations.

A device serves the I/O requests of several VMs.  A request of size X
occupies the device for

.. math:: S = a + X / B + \sum_{i=1}^{N} C_i,

the device's per-request overhead a (command setup, seek, DMA set-up), the
transfer at bandwidth B, and the exits N of the I/O path, each costing C
(emulated device: every register access traps; virtio: one notification per
batch; pass-through: none), :func:`request_time`.  Reads and writes may
differ in a and B.  With Poisson request streams the results below are
exact; each function says where they are not.

* **FCFS, work-conserving** (:func:`fcfs_response`): the VMs' reads and
  writes are Poisson classes of one M/G/1 queue, so the mean wait is
  Pollaczek-Khinchine with the mixture of the classes' laws,
  :math:`W_q = \sum_c \lambda_c E[S_c^2] / (2(1 - \rho))`, the same for every
  class by PASTA, and VM i's mean response is :math:`W_q + E[S_i]`
  (Kleinrock, Queueing Systems I, 1975, §5.5; Gross et al., Fundamentals of
  Queueing Theory, 4th ed., 2008, §5.1).  Exact.
* **Static partition** (:func:`partition_response`): VM i owns a fixed share
  phi_i of the device, so its requests see an M/G/1 queue with service
  S_i / phi_i: :math:`W_i = \lambda_i E[S_i^2] / (2\phi_i^2 (1 - \lambda_i E[S_i]/\phi_i))`.  Exact.
* **Fair queueing (GPS) and hybrid floors** (:func:`instantaneous_shares`,
  :func:`guaranteed_shares`, :func:`long_run_shares`): the VMs with requests
  at the device share it at rates ``water_fill(1, inf, reservations,
  weights)`` over the backlogged VMs (generalized processor sharing, Parekh
  & Gallager, IEEE/ACM ToN 1(3), 1993, when there are no reservations).
  Exact: the long-run shares when every VM is backlogged, and, without
  reservations, when some VMs demand less (the backlogged ones always are, so
  they split what the others leave in proportion to their weights, which is
  the water-filling allocation of the demands); the mean response of the one
  VM that is not backlogged while all the others are, an M/G/1 queue at its
  constant rate.  Otherwise the mean response of VM i is bounded above by
  an M/G/1 queue at its guaranteed rate g_i (its rate when every VM is
  backlogged: Parekh & Gallager 1993, the guarantee of GPS), which
  :func:`virtmodel.IOScenario.predict` reports with ``exact=False``.
* **Token bucket** (:func:`token_bucket_delay`): a bucket of depth b tokens
  filled at rate r, each request taking one token, released FIFO as soon as
  its token is there.  Request n is released at
  :math:`A_n + (V_n - (b - 1)/r)^+` where V_n is the wait of customer n in
  the M/D/1 queue with service 1/r (Lindley's recursion on the token
  deficit; Cruz, IEEE Trans. Inf. Theory 37(1), 1991, for the (sigma, rho)
  regulator; Le Boudec & Thiran, Network Calculus, 2001, §1.7), so with
  Poisson requests the mean throttle delay is
  :math:`E[(W_{M/D/1} - (b-1)/r)^+]`, exact, from Erlang's M/D/1
  waiting-time distribution (:func:`virtmodel.analytic.tail.md1_wait_cdf`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._lazy import lazy
from .._validation import nonnegative, positive, positive_int, scalar
from ..dists import (
    Compound,
    Deterministic,
    Distribution,
    Empirical,
    Erlang,
    Exponential,
    Gamma,
    HyperExponential,
    LogNormal,
    Uniform,
)
from ..errors import InvalidParameter, UnstableSystem
from .allocation import water_fill

integrate = lazy("scipy.integrate")

__all__ = [
    "scaled",
    "request_time",
    "notifications",
    "ClassResponse",
    "fcfs_response",
    "partition_response",
    "instantaneous_shares",
    "guaranteed_shares",
    "long_run_shares",
    "token_bucket_delay",
    "SOURCE_PK",
    "SOURCE_GPS",
    "SOURCE_TOKEN_BUCKET",
]

SOURCE_PK = ("Pollaczek-Khinchine with the mixture of the classes' laws: Kleinrock, Queueing Systems I (1975), "
             "§5.5; Gross, Shortle, Thompson & Harris, Fundamentals of Queueing Theory, 4th ed. (2008), §5.1")
SOURCE_GPS = ("generalized processor sharing: Parekh & Gallager, IEEE/ACM Trans. Networking 1(3) (1993); "
              "water filling: Bertsekas & Gallager, Data Networks, 2nd ed. (1992), §6.5.2")
SOURCE_TOKEN_BUCKET = ("token bucket as a virtual M/D/1 queue: Cruz, IEEE Trans. Inf. Theory 37(1) (1991); "
                       "Le Boudec & Thiran, Network Calculus (2001), §1.7; Erlang's M/D/1 waiting-time "
                       "distribution (Franx, Oper. Res. Letters 29 (2001))")


def scaled(dist: Distribution, factor: float) -> Distribution:
    """The law of ``factor * X`` for X ~ ``dist``, in the same family (e.g. a size law over a bandwidth).

    Supported: Exponential, Erlang, Gamma, HyperExponential, Deterministic,
    Uniform, LogNormal, Empirical and Compound (base and addend scaled).

    Examples
    --------
    >>> from virtmodel.dists import Exponential
    >>> scaled(Exponential(rate=0.25), 0.5).mean     # sizes of mean 4 at bandwidth 2
    2.0
    """
    c = scalar(positive, "factor", factor)
    if isinstance(dist, Exponential):
        return Exponential(dist.rate / c)
    if isinstance(dist, Erlang):
        return Erlang(dist.k, phase_rate=dist.phase_rate / c)
    if isinstance(dist, Gamma):
        return Gamma(dist.shape, rate_parameter=dist.rate_parameter / c)
    if isinstance(dist, HyperExponential):
        return HyperExponential(tuple(dist.probs), tuple(r / c for r in dist.rates))
    if isinstance(dist, Deterministic):
        return Deterministic(dist.value * c)
    if isinstance(dist, Uniform):
        return Uniform(dist.low * c, dist.high * c)
    if isinstance(dist, LogNormal):
        return LogNormal(dist.mean * c, dist.scv)
    if isinstance(dist, Empirical):
        return Empirical(tuple(x * c for x in dist.samples))
    if isinstance(dist, Compound):
        return Compound(scaled(dist.base, c), dist.count, scaled(dist.addend, c))
    raise InvalidParameter(f"size law must be one of Exponential, Erlang, Gamma, HyperExponential, Deterministic, "
                           f"Uniform, LogNormal, Empirical or Compound (a law that scales within its family), "
                           f"got {dist!r}")


def notifications(batch: int) -> Distribution:
    """Exits per request of a path that notifies once per ``batch`` requests: Bernoulli(1/batch) as an Empirical.

    Examples
    --------
    >>> notifications(4).mean
    0.25
    """
    b = positive_int("batch", batch)
    return Empirical((1.0,) + (0.0,) * (b - 1))


def request_time(size: Distribution, bandwidth: float, overhead: float = 0.0, exits: Distribution | None = None,
                 exit_cost: Distribution | None = None) -> Distribution:
    r"""Device time of one request, :math:`S = a + X/B + \sum_{i=1}^{N} C_i`, as a Distribution.

    Parameters
    ----------
    size : Distribution
        X, the request size (size units, e.g. KiB).
    bandwidth : float
        B, size units per time unit, > 0.
    overhead : float
        a, fixed time per request, >= 0.
    exits, exit_cost : Distribution or None
        N (integer-valued, independent of X) and C (i.i.d.), the exits of the
        I/O path; None: no exits.

    Returns
    -------
    Distribution
        X/B in its own family when a = 0 and there are no exits (so that the
        waiting-time inversion of :mod:`virtmodel.analytic.tail` applies);
        otherwise :class:`~virtmodel.dists.Compound` laws with exact moments,
        transform and sampling: :math:`E[S] = a + E[X]/B + E[N]E[C]`.

    Examples
    --------
    >>> from virtmodel.dists import Deterministic, Exponential
    >>> s = request_time(Exponential(rate=1 / 64), bandwidth=128.0, overhead=0.1)
    >>> round(s.mean, 12), round(s.moment(2), 12)       # 0.1 + 0.5; 0.01 + 2 (0.1)(0.5) + 2 (0.5)^2
    (0.6, 0.61)
    """
    if not isinstance(size, Distribution):
        raise InvalidParameter(f"size must be a virtmodel.dists Distribution, got {size!r}")
    bw = scalar(positive, "bandwidth", bandwidth)
    a = scalar(nonnegative, "overhead", overhead)
    law = scaled(size, 1.0 / bw)
    if a > 0:
        law = Compound(law, Deterministic(1.0), Deterministic(a))
    if exits is not None and exit_cost is not None and exits.mean > 0:
        law = Compound(law, exits, exit_cost)
    return law


@dataclass(frozen=True)
class ClassResponse:
    """Mean times of one VM at a device: ``mean_response`` (arrival to completion) and its parts.

    Attributes
    ----------
    mean_wait : float
        Queueing delay before service (FCFS, static partition).
    mean_service : float
        Mean time in service (device time at the VM's rate).
    utilization : float
        Share of the device's time the VM's requests occupy.
    """

    mean_wait: float
    mean_service: float
    utilization: float

    @property
    def mean_response(self) -> float:
        return self.mean_wait + self.mean_service


def _stable(rho, what):
    if rho >= 1:
        raise UnstableSystem(f"utilization of {what} must be < 1, got {rho:.6g}", rho)


def fcfs_response(arrival_rates, services) -> list[ClassResponse]:
    r"""FCFS on one device: Poisson classes with their own laws (M/G/1, Pollaczek-Khinchine).

    .. math:: \rho = \sum_c \lambda_c E[S_c], \qquad
              W_q = \frac{\sum_c \lambda_c E[S_c^2]}{2(1-\rho)}, \qquad T_c = W_q + E[S_c].

    Exact for Poisson arrivals (the merged stream is Poisson and its service
    the mixture with weights lambda_c / lambda; PASTA gives every class the
    same W_q).  Source: :data:`SOURCE_PK`.

    Parameters
    ----------
    arrival_rates : sequence of float
        lambda_c > 0.
    services : sequence of Distribution
        S_c, device time of a class-c request.

    Raises
    ------
    UnstableSystem
        When rho >= 1.

    Examples
    --------
    >>> from virtmodel.dists import Exponential
    >>> [round(r.mean_response, 12) for r in fcfs_response([0.25, 0.25], [Exponential(1.0)] * 2)]   # M/M/1 rho 0.5
    [2.0, 2.0]
    """
    lam = [float(scalar(positive, "arrival_rate", x)) for x in arrival_rates]
    if len(lam) != len(services) or not lam:
        raise InvalidParameter(f"arrival_rates and services must have the same non-zero length, got {len(lam)} "
                               f"and {len(services)}")
    rho = math.fsum(x * s.mean for x, s in zip(lam, services, strict=True))
    _stable(rho, "the device (sum of arrival rate x mean device time)")
    wait = math.fsum(x * s.moment(2) for x, s in zip(lam, services, strict=True)) / (2.0 * (1.0 - rho))
    return [ClassResponse(wait, s.mean, x * s.mean) for x, s in zip(lam, services, strict=True)]


def partition_response(arrival_rate: float, service: Distribution, share: float) -> ClassResponse:
    r"""A VM alone on a fixed share phi of the device: M/G/1 with service S/phi.

    .. math:: W = \frac{\lambda E[S^2]}{2\phi^2 (1 - \lambda E[S]/\phi)}, \qquad T = W + E[S]/\phi.

    Exact for Poisson arrivals (Pollaczek-Khinchine with the scaled law;
    :data:`SOURCE_PK`).  ``utilization`` is the share of the *whole*
    device's time the VM uses, lambda E[S]; its partition is busy a fraction
    lambda E[S] / phi of the time.

    Examples
    --------
    >>> from virtmodel.dists import Exponential
    >>> r = partition_response(0.25, Exponential(1.0), share=0.5)     # M/M/1 at rate 1/2, rho 0.5
    >>> r.mean_response, r.utilization
    (4.0, 0.25)
    """
    lam = float(scalar(positive, "arrival_rate", arrival_rate))
    phi = float(scalar(positive, "share", share))
    if phi > 1:
        raise InvalidParameter(f"share must be in (0, 1] (a fraction of the device), got {phi}")
    s1, s2 = service.mean / phi, service.moment(2) / phi**2
    _stable(lam * s1, f"the VM's partition (share {phi:.6g})")
    return ClassResponse(lam * s2 / (2.0 * (1.0 - lam * s1)), s1, lam * service.mean)


def _weights(name, values, n):
    arr = np.asarray(positive(name, values), dtype=float).ravel()
    if arr.size != n:
        raise InvalidParameter(f"{name} must have one entry per VM ({n}), got {arr.size}")
    return arr


def instantaneous_shares(backlogged, weights, reservations=None) -> np.ndarray:
    """Rates of the VMs at the device when the VMs in ``backlogged`` (a boolean mask) have requests waiting.

    ``water_fill(1, inf for backlogged VMs and 0 for the others, reservations,
    weights)``: each backlogged VM gets at least its reservation (a fraction
    of the device) and the rest is shared in proportion to the weights; a
    reservation a VM does not use goes to the others (work-conserving).
    Without reservations this is generalized processor sharing
    (:data:`SOURCE_GPS`).

    Examples
    --------
    >>> instantaneous_shares([True, True, False], [1.0, 3.0, 4.0]).tolist()
    [0.25, 0.75, 0.0]
    """
    mask = np.asarray(backlogged, dtype=bool)
    w = _weights("weights", weights, mask.size)
    r = np.zeros(mask.size) if reservations is None else np.asarray(reservations, dtype=float)
    demand = np.where(mask, np.inf, 0.0)
    return water_fill(1.0, demand, reservations=np.where(mask, r, 0.0), shares=w)


def guaranteed_shares(weights, reservations=None) -> np.ndarray:
    """g_i, each VM's rate when every VM is backlogged: the least it gets whenever it has work (GPS guarantee).

    Examples
    --------
    >>> guaranteed_shares([1.0, 1.0], reservations=[0.6, 0.0]).tolist()    # floor 0.6, the rest to the other
    [0.6, 0.4]
    """
    n = np.asarray(weights, dtype=float).size
    return instantaneous_shares(np.ones(n, dtype=bool), weights, reservations)


def long_run_shares(demands, weights, reservations=None) -> tuple[np.ndarray, bool]:
    """Long-run share of the device's time each VM gets under fair queueing: (shares, exact).

    ``demands``: each VM's device-time demand lambda_i E[S_i] (``inf``:
    always backlogged).  The shares are ``water_fill(1, demands,
    reservations, weights)``.  ``exact`` is True when every VM is backlogged,
    when the demands fit (sum < 1: a stable work-conserving device serves
    each VM its demand), or when there are no reservations (GPS: the backlogged VMs split what the
    others leave in proportion to their weights).  With reservations and VMs
    that are idle at times, the reserved share of a backlogged VM changes
    with the others' state and the water-filling shares are an approximation.

    Examples
    --------
    >>> shares, exact = long_run_shares([0.1, np.inf, np.inf], [1.0, 1.0, 2.0])
    >>> shares.tolist(), exact                   # 0.1 used; 0.9 split 1:2
    ([0.1, 0.3, 0.6], True)
    """
    d = np.asarray(demands, dtype=float).ravel()
    if np.any(np.isnan(d)) or np.any(d < 0):
        raise InvalidParameter(f"demands must be >= 0 (inf: always backlogged), got {d.tolist()}")
    w = _weights("weights", weights, d.size)
    r = None if reservations is None else np.asarray(reservations, dtype=float)
    shares = water_fill(1.0, d, reservations=r, shares=w)
    fits = bool(np.all(np.isfinite(d))) and float(d.sum()) < 1.0  # a stable device serves every demand
    exact = fits or bool(np.all(np.isinf(d))) or r is None or not np.any(r > 0)
    return shares, exact


def token_bucket_delay(arrival_rate: float, rate: float, burst: int = 1) -> float:
    r"""Mean delay of Poisson requests in a token bucket (depth ``burst`` tokens, ``rate`` tokens per time unit).

    .. math:: E[D] = E\left[\left(W - \frac{b-1}{r}\right)^+\right]
              = E[W] - \int_0^{(b-1)/r} P(W > t)\, dt,

    W the M/D/1 wait with service 1/r and load lambda/r (b = 1:
    :math:`\rho / (2 r (1 - \rho))`).  Exact (:data:`SOURCE_TOKEN_BUCKET`;
    the integral by quadrature of Erlang's formula, relative error < 1e-9).

    Raises
    ------
    UnstableSystem
        When arrival_rate >= rate (the throttle queue grows without bound).

    Examples
    --------
    >>> round(token_bucket_delay(0.5, 1.0), 12)            # M/D/1: 0.5 / (2 x 0.5)
    0.5
    >>> token_bucket_delay(0.5, 1.0, burst=4) < 0.5        # a deeper bucket absorbs bursts
    True
    """
    from .tail import md1_wait_cdf

    lam = float(scalar(positive, "arrival_rate", arrival_rate))
    r = float(scalar(positive, "rate", rate))
    b = positive_int("burst", burst)
    rho = lam / r
    _stable(rho, "the token bucket (arrival rate / token rate)")
    mean_wait = rho / (2.0 * r * (1.0 - rho))
    c = (b - 1) / r
    if c == 0:
        return mean_wait
    # P(W > t) has kinks at multiples of 1/r: integrate piece by piece
    edges = np.arange(0, b) / r
    head = math.fsum(integrate.quad(lambda t: 1.0 - md1_wait_cdf(t, lam, 1.0 / r), lo, hi,
                                    epsabs=1e-13, epsrel=1e-11)[0] for lo, hi in zip(edges[:-1], edges[1:],
                                                                                      strict=True))
    return max(mean_wait - head, 0.0)
