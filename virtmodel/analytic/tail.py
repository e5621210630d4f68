"""Waiting- and response-time distributions: tails and percentiles.

Service-level objectives are written in percentiles ("p99 latency under
50 ms"); this module gives the distributions behind them where theory has
them.  Every object has ``cdf(t)``, ``sf(t)`` (``1 - cdf``), ``quantile(q)``
(numpy-broadcasting), ``exact`` and ``source``.

* **M/M/c FCFS** (exact, closed form).  An arrival waits with probability
  C = C(c, a) (Erlang C); given that it waits, its wait is exponential with
  rate theta = c mu - lambda, so ``P(W > t) = C e^{-theta t}`` (Kleinrock,
  Queueing Systems I, 1975, eq. (3.41); Gross, Shortle, Thompson & Harris,
  Fundamentals of Queueing Theory, 4th ed., 2008, eq. (2.39)).  The
  response T = W + S with S ~ Exp(mu) independent of W:
  ``P(T > t) = e^{-mu t} + C mu (e^{-mu t} - e^{-theta t}) / (theta - mu)``
  (theta != mu), and ``e^{-mu t} (1 + C mu t)`` when theta = mu (the
  convolution; Gross et al. 2008, eq. (2.40)).
* **M/G/1 FCFS** (exact up to a stated numerical error).  The
  Pollaczek-Khinchine transform of the wait,
  ``W*(s) = (1 - rho) s / (s - lambda (1 - B*(s)))`` (Kleinrock 1975,
  eq. (5.105)), and of a job's response, ``W*(s) B_i*(s)`` (its own service
  B_i, independent of the wait under FCFS), are inverted numerically:
  ``P(W <= t)`` is the inverse of ``W*(s)/s``, computed by the Euler
  algorithm of Abate & Whitt ("A unified framework for numerically
  inverting Laplace transforms", INFORMS J. Computing 18(4), 2006, §5).  The
  inversion error is estimated at every point as the difference between
  two orders of the algorithm (M = 15 and M = 19 terms, double precision),
  reported by ``inversion_error(t)``, and is below 1e-8 for the laws below
  (tests check M/M/1 and M/D/1 against exact results to 1e-9 and 1e-7).
  Service laws need a closed-form transform on the complex half-plane and
  no atoms: exponential, Erlang, gamma, hyperexponential, uniform and
  mixtures of them (merged Poisson streams); a law without a transform
  (log-normal) raises :class:`~virtmodel.errors.NoClosedForm`.
* **M/D/1** (exact): Erlang's formula (A. K. Erlang 1909; C. D. Crommelin,
  "Delay probability formulae when the holding times are constant", P.O.
  Elec. Engrs. J. 25, 1932; as restated by G. J. Franx, "A simple solution
  for the M/D/c waiting time distribution", Oper. Res. Letters 29, 2001)
  ``P(W <= t) = (1 - rho) sum_{k=0}^{floor(t/D)} [lambda (kD - t)]^k / k!
  e^{-lambda (kD - t)}``, summed in mpmath with enough digits for its
  alternating terms.  The Euler inversion is *not* used for laws with
  atoms (deterministic, empirical): their waiting-time distribution has
  kinks at multiples of the atoms, where the inversion is only about 1e-4
  accurate (measured on M/D/1 at t = D: error 7e-4), so a mixture with an
  atom raises ``NoClosedForm`` instead of giving a number of unknown error.

Elsewhere (priority classes, processor sharing, several pCPUs with general
service) no distribution is given: :meth:`Prediction.cdf
<virtmodel.analytic.solve.Prediction.cdf>` raises ``NoClosedForm`` naming
the model, and the simulation's percentiles (``p50_response``,
``p95_response``, ``p99_response`` and ``_wait``, with intervals) stand on
their own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._lazy import lazy
from .._validation import as_output, nonnegative, positive
from ..dists import (
    Deterministic,
    Distribution,
    Empirical,
    Erlang,
    Exponential,
    Gamma,
    HyperExponential,
    Uniform,
)
from ..errors import InvalidParameter, NoClosedForm, UnstableSystem

optimize = lazy("scipy.optimize")
special = lazy("scipy.special")

__all__ = [
    "PERCENTILES",
    "percentile_metric",
    "check_probability",
    "MMcWait",
    "MMcResponse",
    "MG1Wait",
    "MG1Response",
    "MG1PriorityWait",
    "MG1PriorityResponse",
    "Mixture",
    "euler_inversion",
    "complex_laplace",
]

#: the percentiles that ``predict`` and ``simulate`` report, as metric suffixes
PERCENTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}

_MM_SOURCE = ("Kleinrock, Queueing Systems I (1975), eq. (3.41); Gross, Shortle, Thompson & Harris, "
              "Fundamentals of Queueing Theory, 4th ed. (2008), eqs. (2.39)-(2.40)")
_MG1_SOURCE = ("Pollaczek-Khinchine transform, Kleinrock, Queueing Systems I (1975), eq. (5.105), inverted "
               "by the Euler algorithm of Abate & Whitt, INFORMS J. Computing 18(4) (2006), §5")


def percentile_metric(prefix: str, metric: str) -> str:
    """Metric name of a percentile, e.g. ``percentile_metric("p95", "response") == "p95_response"``."""
    return f"{prefix}_{metric}"


def check_probability(q):
    """``q`` as a float array, every value strictly inside (0, 1), or InvalidParameter."""
    arr = np.asarray(q, dtype=float)
    if not np.all((arr > 0) & (arr < 1)):
        raise InvalidParameter(f"q must lie strictly inside (0, 1), got {q!r}")
    return arr


class _Distribution:
    """Shared code: ``cdf`` from ``sf``, ``quantile`` by root finding on a bracket."""

    exact = True
    source = ""
    atom = 0.0  # P(X = 0)

    def sf(self, t):
        t = nonnegative("t", t)
        return as_output(self._sf(np.asarray(t, dtype=float)))

    def cdf(self, t):
        t = nonnegative("t", t)
        return as_output(1.0 - self._sf(np.asarray(t, dtype=float)))

    def quantile(self, q):
        """Smallest t with P(X <= t) >= q, for q in (0, 1)."""
        arr = check_probability(q)
        out = np.vectorize(self._quantile_one, otypes=[float])(arr)
        return as_output(out)

    def _inverted(self, t, order=15):
        """sf(t) by inverting ``self._cdf_transform()`` (t > 0); sf(0) = 1 - P(X = 0)."""
        t = np.asarray(t, dtype=float)
        flat = t.ravel()
        out = np.full_like(flat, 1.0 - self.atom)
        pos = flat > 0
        if np.any(pos):
            out[pos] = 1.0 - euler_inversion(self._cdf_transform(), flat[pos], order)
        return np.clip(out, 0.0, 1.0).reshape(t.shape)

    def inversion_error(self, t):
        """Estimated absolute error of ``cdf(t)``: ``|Euler(M=15) - Euler(M=19)|``."""
        t = positive("t", t)
        return as_output(np.abs(self._inverted(t, 15) - self._inverted(t, 19)))

    def _quantile_one(self, q: float) -> float:
        if q <= self.atom:
            return 0.0
        lo, hi = 0.0, max(self._scale(), 1e-12)
        while 1.0 - float(self._sf(np.array([hi]))[0]) < q:
            lo, hi = hi, hi * 2.0
            if hi > 1e300:
                raise NoClosedForm(f"quantile {q} could not be bracketed")
        return float(optimize.brentq(lambda x: (1.0 - float(self._sf(np.array([x]))[0])) - q, lo, hi,
                                     xtol=1e-14, rtol=1e-11, maxiter=200))


def _mmc_parameters(arrival_rate, service_rate, servers):
    lam = float(positive("arrival_rate", arrival_rate))
    mu = float(positive("service_rate", service_rate))
    if isinstance(servers, bool) or int(servers) != servers or servers < 1:
        raise InvalidParameter(f"servers must be an integer >= 1, got {servers!r}")
    c = int(servers)
    rho = lam / (c * mu)
    if rho >= 1:
        raise UnstableSystem(f"utilization lambda/(c mu) must be < 1, got {rho}", rho)
    from .queues import erlang_c

    return lam, mu, c, float(erlang_c(c, lam / mu))


@dataclass(frozen=True)
class MMcWait(_Distribution):
    """Waiting time (before service) of M/M/c FCFS: ``P(W > t) = C(c, a) e^{-(c mu - lambda) t}``.

    Exact.  Its quantile has a closed form: ``w_q = ln(C / (1 - q)) / (c mu - lambda)``
    for q > 1 - C, else 0.  Source: Kleinrock (1975), eq. (3.41); Gross et al.
    (2008), eq. (2.39).

    Examples
    --------
    >>> d = MMcWait(arrival_rate=0.8, service_rate=1.0, servers=1)   # M/M/1: C = rho
    >>> round(float(d.sf(1.0)), 6)                                   # 0.8 e^{-0.2}
    0.654985
    >>> round(float(d.quantile(0.95)), 6)                            # ln(0.8/0.05)/0.2
    13.862944
    """

    arrival_rate: float
    service_rate: float
    servers: int = 1

    def __post_init__(self):
        _mmc_parameters(self.arrival_rate, self.service_rate, self.servers)

    source = _MM_SOURCE

    @property
    def prob_wait(self) -> float:
        return _mmc_parameters(self.arrival_rate, self.service_rate, self.servers)[3]

    @property
    def decay_rate(self) -> float:
        """theta = c mu - lambda."""
        return self.servers * self.service_rate - self.arrival_rate

    @property
    def atom(self) -> float:
        return 1.0 - self.prob_wait

    def _sf(self, t):
        return np.where(t < 0, 1.0, self.prob_wait * np.exp(-self.decay_rate * t))

    def _quantile_one(self, q: float) -> float:
        if q <= self.atom:
            return 0.0
        return math.log(self.prob_wait / (1.0 - q)) / self.decay_rate

    def _scale(self):
        return 1.0 / self.decay_rate


@dataclass(frozen=True)
class MMcResponse(_Distribution):
    """Response time (wait + service) of M/M/c FCFS.

    .. math:: P(T > t) = e^{-\\mu t} + C\\,\\mu\\,\\frac{e^{-\\mu t} - e^{-\\theta t}}{\\theta - \\mu},
              \\quad \\theta = c\\mu - \\lambda \\ne \\mu,

    and :math:`e^{-\\mu t}(1 + C \\mu t)` when :math:`\\theta = \\mu`: the
    convolution of the wait (an atom 1 - C at 0 and an Exp(theta) tail of
    mass C) with the job's own Exp(mu) service, independent of it under
    FCFS.  For c = 1 this is Exp(mu - lambda).  Exact.  Source: Gross et al.
    (2008), eq. (2.40); Kleinrock (1975), §3.5.

    Examples
    --------
    >>> d = MMcResponse(arrival_rate=0.5, service_rate=1.0, servers=1)   # M/M/1: Exp(0.5)
    >>> round(float(d.quantile(0.5)), 9) == round(math.log(2) / 0.5, 9)
    True
    """

    arrival_rate: float
    service_rate: float
    servers: int = 1

    def __post_init__(self):
        _mmc_parameters(self.arrival_rate, self.service_rate, self.servers)

    source = _MM_SOURCE

    def _sf(self, t):
        _, mu, c, prob = _mmc_parameters(self.arrival_rate, self.service_rate, self.servers)
        theta = c * mu - self.arrival_rate
        t = np.maximum(t, 0.0)
        # (e^{-mu t} - e^{-theta t}) / (theta - mu) = t e^{-min(mu, theta) t} (1 - e^{-y}) / y with
        # y = |theta - mu| t, and (1 - e^{-y}) / y = exprel(-y): stable for every sign and for theta = mu
        y = abs(theta - mu) * t
        return np.exp(-mu * t) + prob * mu * t * np.exp(-min(mu, theta) * t) * special.exprel(-y)

    def _scale(self):
        return 1.0 / self.service_rate + 1.0 / (self.servers * self.service_rate - self.arrival_rate)


# --------------------------------------------------------------------------- transform inversion


def _euler_weights(order: int):
    """Nodes beta_k and weights eta_k of the Euler algorithm (Abate & Whitt 2006, eq. (5.1)-(5.3))."""
    m = order
    xi = np.zeros(2 * m + 1)
    xi[0] = 0.5
    xi[1:m + 1] = 1.0
    xi[2 * m] = 2.0 ** (-m)
    for k in range(1, m):
        xi[2 * m - k] = xi[2 * m - k + 1] + 2.0 ** (-m) * math.comb(m, k)
    k = np.arange(2 * m + 1)
    eta = (-1.0) ** k * xi
    beta = m * math.log(10.0) / 3.0 + 1j * math.pi * k
    return beta, eta * 10.0 ** (m / 3.0)


_WEIGHTS = {m: _euler_weights(m) for m in (15, 19)}


def euler_inversion(transform, t, order: int = 15):
    """Invert a Laplace transform numerically at points ``t > 0`` (Abate-Whitt Euler algorithm).

    .. math:: f(t) \\approx \\frac{10^{M/3}}{t} \\sum_{k=0}^{2M} \\eta_k\\,
              \\mathrm{Re}\\,\\hat f\\!\\left(\\frac{\\beta_k}{t}\\right),
              \\quad \\beta_k = \\frac{M \\ln 10}{3} + i\\pi k

    (Abate & Whitt, INFORMS J. Computing 18(4), 2006, §5).  In double
    precision M = 15 gives about 9 significant digits for smooth f.

    Parameters
    ----------
    transform : callable
        ``transform(s)`` for a complex numpy array ``s`` with Re s > 0.
    t : array_like
        Points, > 0.
    order : {15, 19}
        M, the number of terms (2M + 1 transform evaluations per point).
    """
    if order not in _WEIGHTS:
        raise InvalidParameter(f"order must be one of {sorted(_WEIGHTS)}, got {order!r}")
    t = np.atleast_1d(np.asarray(t, dtype=float))
    if np.any(t <= 0):
        raise InvalidParameter(f"t must be > 0 for the numerical inversion, got {t!r}")
    beta, eta = _WEIGHTS[order]
    s = beta[None, :] / t[:, None]
    values = np.real(transform(s))
    return (values @ eta) / t


def _is_deterministic(service):
    """The common value D when every part of ``service`` is Deterministic(D), else None."""
    parts = [d for _, d in service] if isinstance(service, (list, tuple)) else [service]
    values = {d.value for d in parts if isinstance(d, Deterministic)}
    if len(values) == 1 and all(isinstance(d, Deterministic) for d in parts):
        return values.pop()
    return None


def _has_atom(service) -> bool:
    parts = [d for _, d in service] if isinstance(service, (list, tuple)) else [service]
    return any(isinstance(d, (Deterministic, Empirical)) for d in parts)


def md1_wait_cdf(t, arrival_rate: float, value: float) -> float:
    """Erlang's M/D/1 waiting-time distribution P(W <= t), summed exactly in mpmath.

    .. math:: P(W \\le t) = (1-\\rho) \\sum_{k=0}^{\\lfloor t/D \\rfloor}
              \\frac{[\\lambda (kD - t)]^k}{k!}\\, e^{-\\lambda (kD - t)}

    The terms alternate and grow like e^{lambda t}; the sum is taken with
    about lambda t / ln 10 + 25 significant digits.
    """
    import mpmath

    t = float(t)
    if t < 0:
        return 0.0
    lam, d = float(arrival_rate), float(value)
    digits = int(lam * t / math.log(10.0)) + 30
    with mpmath.workdps(digits):
        x, lam_m, d_m = mpmath.mpf(t), mpmath.mpf(lam), mpmath.mpf(d)
        total = mpmath.mpf(0)
        for k in range(int(math.floor(t / d)) + 1):
            u = lam_m * (k * d_m - x)
            total += u**k / mpmath.factorial(k) * mpmath.exp(-u)
        return float(min(max((1 - lam_m * d_m) * total, 0), 1))


def complex_laplace(dist):
    """``s -> E[e^{-sX}]`` for complex ``s`` (Re s > 0), or NoClosedForm for a law without one.

    ``dist`` is a :class:`~virtmodel.dists.Distribution` or a mixture given
    as a list of (weight, Distribution) pairs (weights summing to 1).
    """
    if isinstance(dist, (list, tuple)):
        parts = [(float(w), complex_laplace(d)) for w, d in dist]
        return lambda s: sum(w * f(s) for w, f in parts)
    if isinstance(dist, Exponential):
        r = dist.rate
        return lambda s: r / (r + s)
    if isinstance(dist, Erlang):
        r, k = dist.phase_rate, dist.k
        return lambda s: (r / (r + s)) ** k
    if isinstance(dist, Gamma):
        a, b = dist.shape, dist.rate_parameter
        return lambda s: np.exp(a * (np.log(b) - np.log(b + s)))
    if isinstance(dist, Deterministic):
        v = dist.value
        return lambda s: np.exp(-s * v)
    if isinstance(dist, HyperExponential):
        probs, rates = np.asarray(dist.probs), np.asarray(dist.rates)
        return lambda s: sum(p * r / (r + s) for p, r in zip(probs, rates, strict=True))
    if isinstance(dist, Uniform):
        a, b = dist.low, dist.high
        return lambda s: (np.exp(-s * a) - np.exp(-s * b)) / (s * (b - a))
    if isinstance(dist, Empirical):
        values, counts = np.unique(dist._sorted, return_counts=True)
        w = counts / counts.sum()
        return lambda s: sum(wi * np.exp(-s * x) for wi, x in zip(w, values, strict=True))
    name = type(dist).__name__ if isinstance(dist, Distribution) else repr(dist)
    raise NoClosedForm(
        f"the service law {name} has no closed-form Laplace transform on the complex half-plane, which the "
        "M/G/1 waiting-time inversion needs (supported: Exponential, Erlang, Gamma, Deterministic, "
        "HyperExponential, Uniform, Empirical and mixtures of them)")


def _mixture_moment(service, k):
    if isinstance(service, (list, tuple)):
        return math.fsum(float(w) * d.moment(k) for w, d in service)
    return service.moment(k)


@dataclass(frozen=True, eq=False)
class MG1Wait(_Distribution):
    """Waiting time of M/G/1 FCFS by inverting the Pollaczek-Khinchine transform.

    .. math:: W^*(s) = \\frac{(1-\\rho)\\,s}{s - \\lambda\\,(1 - B^*(s))}, \\qquad
              P(W \\le t) = \\mathcal{L}^{-1}\\!\\left[\\frac{W^*(s)}{s}\\right](t)

    with an atom 1 - rho at 0 (Kleinrock 1975, eq. (5.105)), inverted by the
    Abate-Whitt Euler algorithm (:func:`euler_inversion`).  ``service`` is a
    distribution or a mixture ``[(weight, dist), ...]`` (merged Poisson
    streams: weights lambda_i / lambda).  ``inversion_error(t)`` estimates the
    numerical error as the difference of two orders of the algorithm.

    Examples
    --------
    >>> from virtmodel.dists import Exponential
    >>> d = MG1Wait(0.5, Exponential(1.0))          # M/M/1: P(W > t) = rho e^{-(mu - lambda) t}
    >>> abs(float(d.sf(2.0)) - 0.5 * math.exp(-1.0)) < 1e-9
    True
    """

    arrival_rate: float
    service: object

    def __post_init__(self):
        positive("arrival_rate", self.arrival_rate)
        rho = self.arrival_rate * _mixture_moment(self.service, 1)
        if rho >= 1:
            raise UnstableSystem(f"utilization lambda E[S] must be < 1, got {rho}", rho)
        if _is_deterministic(self.service) is None:
            complex_laplace(self.service)  # raises NoClosedForm early
            if _has_atom(self.service):
                raise NoClosedForm(
                    "the service law has atoms (Deterministic or Empirical parts mixed with others): the "
                    "waiting-time distribution then has kinks where the numerical transform inversion cannot "
                    "bound its error; only pure M/D/1 (Erlang's formula) is exact here, so simulate the "
                    "percentiles instead")

    source = _MG1_SOURCE

    @property
    def utilization(self) -> float:
        return self.arrival_rate * _mixture_moment(self.service, 1)

    @property
    def atom(self) -> float:
        return 1.0 - self.utilization

    def _wait_transform(self):
        lam, rho, b = self.arrival_rate, self.utilization, complex_laplace(self.service)
        return lambda s: (1.0 - rho) * s / (s - lam * (1.0 - b(s)))

    def _cdf_transform(self):
        w = self._wait_transform()
        return lambda s: w(s) / s

    def _sf(self, t):
        d = _is_deterministic(self.service)
        if d is not None:
            t = np.asarray(t, dtype=float)
            cdf = np.fromiter((md1_wait_cdf(x, self.arrival_rate, d) for x in t.ravel()), float, t.size)
            return 1.0 - cdf.reshape(t.shape)
        return self._inverted(t)

    def inversion_error(self, t):
        """Estimated absolute error of ``cdf(t)``: ``|Euler(M=15) - Euler(M=19)|`` (0 for Erlang's M/D/1 formula)."""
        t = positive("t", t)
        if _is_deterministic(self.service) is not None:
            return as_output(np.zeros_like(np.asarray(t, dtype=float)))
        return as_output(np.abs(self._inverted(t, 15) - self._inverted(t, 19)))

    def _scale(self):
        lam = self.arrival_rate
        return max(lam * _mixture_moment(self.service, 2) / (2 * (1 - self.utilization)),
                   _mixture_moment(self.service, 1))


@dataclass(frozen=True, eq=False)
class MG1Response(MG1Wait):
    """Response time of a job in M/G/1 FCFS: its wait plus its own service, independent under FCFS.

    .. math:: T^*(s) = W^*(s)\\, B_{own}^*(s)

    ``own_service`` is the job's service law (a VM's own law in merged
    Poisson streams); None means the merged law itself.  Same inversion and
    error estimate as :class:`MG1Wait`.

    Examples
    --------
    >>> from virtmodel.dists import Exponential
    >>> d = MG1Response(0.5, Exponential(1.0))      # M/M/1: Exp(mu - lambda)
    >>> abs(float(d.quantile(0.5)) - math.log(2) / 0.5) < 1e-7
    True
    """

    own_service: object = None

    def __post_init__(self):
        super().__post_init__()
        own = self.own_service
        if own is not None and _is_deterministic(self.service) is None:
            complex_laplace(own)
            if _has_atom(own):
                raise NoClosedForm("the job's own service law has an atom mixed with a non-deterministic "
                                   "merged law: no inversion with a bounded error; simulate the percentiles")
        if own is not None and _is_deterministic(self.service) is not None and not isinstance(own, Deterministic):
            raise NoClosedForm("M/D/1 response needs the job's own service deterministic too")

    def _sf(self, t):
        d = _is_deterministic(self.service)
        if d is not None:  # T = W + D
            t = np.asarray(t, dtype=float)
            return np.where(t < d, 1.0, MG1Wait._sf(self, np.maximum(t - d, 0.0)))
        return self._inverted(t)

    @property
    def atom(self) -> float:
        return 0.0

    def _cdf_transform(self):
        w = self._wait_transform()
        b = complex_laplace(self.own_service if self.own_service is not None else self.service)
        return lambda s: w(s) * b(s) / s

    def _scale(self):
        own = self.own_service if self.own_service is not None else self.service
        return super()._scale() + _mixture_moment(own, 1)


# --------------------------------------------------------------------------- priority classes


def _smooth_law(service, what):
    """Complex transform of ``service``, refusing laws with atoms (see the module docstring)."""
    f = complex_laplace(service)
    if _has_atom(service):
        raise NoClosedForm(f"{what}: the service law has atoms (Deterministic or Empirical), where the numerical "
                           "transform inversion cannot bound its error; simulate the percentiles instead")
    return f


@dataclass(frozen=True, eq=False)
class MG1PriorityWait(_Distribution):
    """Waiting time of class ``k`` (0 = highest) in M/G/1 with non-preemptive priorities, FCFS in a class.

    .. math:: W_k^*(s) = \\frac{(1-\\rho)\\,\\psi_k(s) + \\sum_{i>k} \\lambda_i (1 - B_i^*(\\psi_k(s)))}
                               {s - \\lambda_k + \\lambda_k B_k^*(\\psi_k(s))}, \\qquad
              \\psi_k(s) = s + \\sigma_k (1 - G_k(s)),

    where sigma_k = sum_{i<k} lambda_i and G_k is the transform of a busy
    period of the higher classes, the root of G = B_H^*(s + sigma_k (1 - G))
    (B_H the higher classes' service mixture), found by fixed-point
    iteration (a contraction with rate rho_H < 1).  One class gives the
    Pollaczek-Khinchine transform.  Source: Takagi, Queueing Analysis Vol. 1
    (1991), §3.5; Kleinrock, Queueing Systems II (1976), §3.6 (delay-cycle
    analysis).  Inverted like :class:`MG1Wait`.

    Parameters
    ----------
    arrival_rates : sequence of float
        lambda_i per class, highest priority first.
    services : sequence
        Service law per class (a distribution or a mixture [(weight, law), ...]).
    k : int
        The class.
    """

    arrival_rates: tuple
    services: tuple
    k: int

    def __post_init__(self):
        rates = tuple(float(positive("arrival_rates", r)) for r in self.arrival_rates)
        object.__setattr__(self, "arrival_rates", rates)
        object.__setattr__(self, "services", tuple(self.services))
        if len(self.services) != len(rates):
            raise InvalidParameter(f"services must have one law per class ({len(rates)}), got {len(self.services)}")
        if not 0 <= self.k < len(rates):
            raise InvalidParameter(f"k must be a class index in [0, {len(rates)}), got {self.k!r}")
        rho = self.utilization
        if rho >= 1:
            raise UnstableSystem(f"utilization sum lambda_i E[S_i] must be < 1, got {rho}", rho)
        for i, law in enumerate(self.services):
            _smooth_law(law, f"class {i}")

    source = "Takagi, Queueing Analysis Vol. 1 (1991), §3.5; Kleinrock, Queueing Systems II (1976), §3.6"

    @property
    def utilization(self) -> float:
        return math.fsum(r * _mixture_moment(s, 1) for r, s in zip(self.arrival_rates, self.services, strict=True))

    @property
    def atom(self) -> float:
        """P(W = 0) = 1 - rho: under non-preemptive priority an arrival waits whenever the server is busy."""
        return 1.0 - self.utilization

    def _psi(self, s):
        k, rates = self.k, self.arrival_rates
        sigma = math.fsum(rates[:k])
        if k == 0:
            return s
        higher = [(r / sigma, law) for r, law in zip(rates[:k], self.services[:k], strict=True)]
        b_high = complex_laplace(higher)
        g = np.zeros_like(s)
        rho_high = math.fsum(r * _mixture_moment(law, 1) for r, law in zip(rates[:k], self.services[:k], strict=True))
        steps = int(math.log(1e-16) / math.log(max(rho_high, 1e-3))) + 20
        for _ in range(min(steps, 20_000)):
            g = b_high(s + sigma * (1.0 - g))
        return s + sigma * (1.0 - g)

    def _wait_transform(self):
        k, rates = self.k, self.arrival_rates
        laws = [complex_laplace(law) for law in self.services]
        rho = self.utilization

        def transform(s):
            psi = self._psi(s)
            lower = sum(rates[i] * (1.0 - laws[i](psi)) for i in range(k + 1, len(rates)))
            return ((1.0 - rho) * psi + lower) / (s - rates[k] + rates[k] * laws[k](psi))

        return transform

    def _cdf_transform(self):
        w = self._wait_transform()
        return lambda s: w(s) / s

    def _sf(self, t):
        return self._inverted(t)

    def _scale(self):
        return max(_mixture_moment(s, 1) for s in self.services)


@dataclass(frozen=True, eq=False)
class MG1PriorityResponse(MG1PriorityWait):
    """Response of a job of class ``k`` with service law ``own_service`` (default: the class's law):
    its wait (:class:`MG1PriorityWait`) plus its own service, independent of the wait."""

    own_service: object = None

    def __post_init__(self):
        super().__post_init__()
        if self.own_service is not None:
            _smooth_law(self.own_service, "the job's own service")

    @property
    def atom(self) -> float:
        return 0.0

    def _cdf_transform(self):
        w = self._wait_transform()
        b = complex_laplace(self.own_service if self.own_service is not None else self.services[self.k])
        return lambda s: w(s) * b(s) / s


class Mixture(_Distribution):
    """The law of a time drawn from ``parts`` with probabilities ``weights`` (e.g. the "all" group over
    VMs: weights lambda_i / lambda).  cdf and sf are the weighted sums; exact when the parts are."""

    def __init__(self, weights, parts):
        self.weights = np.asarray(weights, dtype=float) / math.fsum(weights)
        self.parts = list(parts)
        self.source = "; ".join(dict.fromkeys(p.source for p in self.parts))

    @property
    def atom(self) -> float:
        return float(sum(w * p.atom for w, p in zip(self.weights, self.parts, strict=True)))

    def _sf(self, t):
        return sum(w * p._sf(t) for w, p in zip(self.weights, self.parts, strict=True))

    def _scale(self):
        return max(p._scale() for p in self.parts)
