"""Closed-form queueing models: M/M/1, M/M/c, M/M/c/c, M/M/c/K, M/M/1/K, M/G/1, M/D/1, G/G/c.

Every model is a frozen dataclass whose numeric parameters broadcast like numpy
arrays; its results are properties that return a Python ``float`` for scalar
parameters and an array otherwise.  Metric names follow DESIGN.md:
``utilization``, ``throughput``, ``mean_wait`` (queueing delay before service),
``mean_response`` (arrival to departure), ``mean_number`` (in system),
``mean_queue_length`` and, for finite systems, ``blocking_probability``.

Infinite-buffer models take ``unstable="raise"`` (default: a utilization >= 1
raises :class:`~virtmodel.errors.UnstableSystem` at construction) or
``unstable="inf"`` (construction succeeds; delays and numbers are ``inf`` where
the utilization is >= 1, the utilization itself is still reported and the
throughput is the saturated ``servers * service_rate``).  Finite models (M/M/c/c,
M/M/c/K, M/M/1/K) are never unstable; they accept the field for uniformity.

Erlang B is computed by the stable recursion
``B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1))``, started a few ``sqrt(a)`` below
``min(servers, a)`` where the neglected terms are below ``1e-19`` relative, so
that ``servers = 10_000`` takes well under a millisecond and never overflows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from .._lazy import lazy
from .._validation import as_output, integer_array, positive
from ..errors import InvalidParameter, UnstableSystem

special = lazy("scipy.special")

__all__ = [
    "erlang_b",
    "erlang_c",
    "MM1",
    "MMc",
    "MMcc",
    "MMcK",
    "MM1K",
    "MG1",
    "MD1",
    "GGc",
]

_UNSTABLE_CHOICES = ("raise", "inf")
# exp(-_TRUNCATION) bounds the relative size of the Erlang B terms the recursion skips.
_TRUNCATION = 45.0
# log of a bound below which Erlang B is certainly 0 in double precision (min subnormal ~ e^-744).
_LOG_UNDERFLOW = -800.0


def _fmt(arr, where=None) -> str:
    """Format a value for a message; with ``where``, only the offending entries of an array."""
    arr = np.asarray(arr)
    if arr.ndim == 0:
        return repr(arr.item())
    if where is not None:
        arr = arr[np.broadcast_to(where, arr.shape)]
    return np.array2string(arr, threshold=8, precision=6)


# --------------------------------------------------------------------------- Erlang B and C


def _erlang_b_scalar(c: int, a: float) -> float:
    if c >= a + 1 and special.xlogy(c, a) - a - special.gammaln(c + 1) < _LOG_UNDERFLOW:
        return 0.0
    top = min(c, math.floor(a))
    k0 = max(top - (math.ceil(math.sqrt(2 * _TRUNCATION * a)) + 1), 0)
    b = 1.0
    for k in range(k0 + 1, c + 1):
        ab = a * b
        b = ab / (k + ab)
    return b


def _erlang_b_array(c: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Erlang B for validated, broadcastable ``c`` (int64 >= 0) and ``a`` (> 0)."""
    c, a = np.broadcast_arrays(c, a)
    shape = c.shape
    c = c.ravel()
    a = a.ravel()
    if c.size == 1:
        return np.full(shape, _erlang_b_scalar(int(c[0]), float(a[0])))
    out = np.zeros(c.size)
    # B <= 2 pmf(c; a) when c >= a + 1 (then P(X <= c) >= 1/2 for X ~ Poisson(a)): such B are 0.
    zero = (c >= a + 1) & (special.xlogy(c, a) - a - special.gammaln(c + 1) < _LOG_UNDERFLOW)
    todo = np.flatnonzero(~zero)
    if todo.size:
        cc, aa = c[todo], a[todo]
        # Start the recursion at k0 with B(k0) := 1: this drops the terms j < k0 of
        # 1/B(c) = sum_j c!/(j! a^(c-j)), which are < exp(-_TRUNCATION) of the largest one.
        top = np.minimum(cc, np.floor(aa))  # in floats: a may exceed the int64 range
        k0 = np.maximum(top - (np.ceil(np.sqrt(2 * _TRUNCATION * aa)) + 1), 0).astype(np.int64)
        steps = cc - k0
        # Sort by number of steps, longest first, so the elements still running form a prefix.
        order = np.argsort(-steps, kind="stable")
        steps, k0, aa = steps[order], k0[order].astype(float), aa[order]
        nmax = int(steps[0])
        active = np.searchsorted(-steps, -np.arange(nmax + 1), side="right")
        b = np.ones(todo.size)
        for s in range(1, nmax + 1):
            m = active[s]
            ab = aa[:m] * b[:m]
            b[:m] = ab / (k0[:m] + s + ab)
        out[todo[order]] = b
    return out.reshape(shape)


def _erlang_c_array(c: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Erlang C; 1 where ``a >= c`` (the limit as the load reaches capacity)."""
    b = _erlang_b_array(c, a)
    c, a = np.broadcast_arrays(c, a)
    stable = a < c
    denom = np.where(stable, c - a * (1.0 - b), 1.0)
    return np.where(stable, c * b / denom, 1.0)


def erlang_b(servers, offered_load):
    """Erlang's loss formula B(c, a): blocking probability of the M/M/c/c queue.

    .. math:: B(c, a) = \\frac{a^c / c!}{\\sum_{k=0}^{c} a^k / k!}

    evaluated by the recursion ``B(0) = 1``, ``B(k) = a B(k-1) / (k + a B(k-1))``
    (Gross et al. 2008, Sec. 2.6; Kleinrock 1975, Sec. 3.7), which never
    overflows.  The recursion starts ``ceil(sqrt(90 a)) + 1`` steps below
    ``min(c, a)`` with ``B = 1``; the terms this neglects are below ``1e-19`` of
    the sum, so the result agrees with the full recursion to rounding.  Results
    below the smallest double are returned as 0.

    Parameters
    ----------
    servers : int or array_like of int
        Number of servers ``c >= 1``.
    offered_load : float or array_like
        Offered load ``a = arrival_rate / service_rate > 0`` in Erlangs.
        Broadcasts with ``servers``.

    Returns
    -------
    float or numpy.ndarray
        Blocking probability; a float for scalar inputs.

    References
    ----------
    Gross, Shortle, Thompson & Harris, *Fundamentals of Queueing Theory*, 4th ed.
    (Wiley, 2008), Sec. 2.6 (Erlang's loss formula).
    Kleinrock, *Queueing Systems, Vol. 1: Theory* (Wiley, 1975), Sec. 3.7.

    Examples
    --------
    >>> erlang_b(2, 1.0)
    0.2
    >>> round(erlang_b(10_000, 9_000.0), 12)
    0.0
    """
    c = integer_array("servers", servers, minimum=1)
    a = positive("offered_load", offered_load)
    return as_output(_erlang_b_array(c, a))


def erlang_c(servers, offered_load):
    """Erlang's delay formula C(c, a): probability that an M/M/c arrival waits.

    .. math:: C(c, a) = \\frac{c\\,B(c, a)}{c - a\\,(1 - B(c, a))}

    with ``B`` from :func:`erlang_b`; requires ``a < c`` (Gross et al. 2008,
    Sec. 2.3; Kleinrock 1975, Sec. 3.5, Erlang's C formula).

    Parameters
    ----------
    servers : int or array_like of int
        Number of servers ``c >= 1``.
    offered_load : float or array_like
        Offered load ``a = arrival_rate / service_rate``, ``0 < a < c``.

    Returns
    -------
    float or numpy.ndarray
        Probability of waiting; a float for scalar inputs.

    Raises
    ------
    UnstableSystem
        If ``offered_load >= servers`` anywhere (utilization ``a / c >= 1``).

    References
    ----------
    Gross, Shortle, Thompson & Harris, *Fundamentals of Queueing Theory*, 4th ed.
    (Wiley, 2008), Sec. 2.3.  Kleinrock, *Queueing Systems, Vol. 1* (1975), Sec. 3.5.

    Examples
    --------
    >>> round(erlang_c(2, 1.0), 12)
    0.333333333333
    """
    c = integer_array("servers", servers, minimum=1)
    a = positive("offered_load", offered_load)
    c_b, a_b = np.broadcast_arrays(c, a)
    bad = a_b >= c_b
    if np.any(bad):
        raise UnstableSystem(
            f"erlang_c needs offered_load < servers (utilization < 1), got offered_load="
            f"{_fmt(a_b, bad)} with servers={_fmt(c_b, bad)}",
            utilization=as_output(a_b / c_b),
        )
    return as_output(_erlang_c_array(c, a))


# --------------------------------------------------------------------------- shared plumbing


def _check_unstable_choice(unstable) -> None:
    if not isinstance(unstable, str) or unstable not in _UNSTABLE_CHOICES:
        raise InvalidParameter(f"unstable must be 'raise' or 'inf', got {unstable!r}")


def _stability(model: str, utilization: np.ndarray, unstable: str) -> np.ndarray:
    """Return the mask of unstable entries; raise UnstableSystem when ``unstable == 'raise'``."""
    bad = utilization >= 1
    if unstable == "raise" and np.any(bad):
        raise UnstableSystem(
            f"{model} has no steady state: utilization must be < 1, got utilization={_fmt(utilization, bad)}"
            " (pass unstable='inf' to get inf delays instead)",
            utilization=as_output(utilization),
        )
    return bad


def _inf_where(bad: np.ndarray, compute) -> np.ndarray:
    """Evaluate ``compute()`` silently and put ``inf`` where ``bad``."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        value = np.asarray(compute(), dtype=float)
    return np.where(bad, np.inf, value)


def _distribution_moments(name: str, dist, orders=(1, 2)) -> list[np.ndarray]:
    """Mean and raw moments of a duck-typed distribution (``.mean``, ``.moment(k)``)."""
    if not (hasattr(dist, "mean") and callable(getattr(dist, "moment", None))):
        raise InvalidParameter(f"{name} must be a distribution with .mean and .moment(k), got {dist!r}")
    out = [positive(f"{name}.mean", dist.mean)]
    for k in orders[1:]:
        m = np.asarray(dist.moment(k), dtype=float)
        if np.any(np.isnan(m)) or np.any(m <= 0):
            raise InvalidParameter(f"{name}.moment({k}) must be > 0 or inf, got {_fmt(m)}")
        out.append(m)
    return out


@dataclass(frozen=True, eq=False)
class _QueueModel:
    """Base of the queue models: the ``unstable`` field and Little's-law plumbing.

    A subclass's ``__post_init__`` validates its parameters and calls
    :meth:`_set_core` with the throughput, the mean wait, the mean service time
    and the utilization; every other mean follows from Little's law
    ``L = throughput * W`` and ``Lq = throughput * Wq``.
    """

    unstable: str = field(default="raise", kw_only=True)
    exact: ClassVar[bool] = True

    def _set(self, **values) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def _set_core(self, *, throughput, mean_wait, mean_service, utilization) -> None:
        self._set(
            _throughput=np.asarray(throughput, dtype=float),
            _mean_wait=np.asarray(mean_wait, dtype=float),
            _mean_service=np.asarray(mean_service, dtype=float),
            _utilization=np.asarray(utilization, dtype=float),
        )

    def _broadcast(self, value) -> np.ndarray:
        shape = np.broadcast_shapes(
            self._throughput.shape, self._mean_wait.shape, self._mean_service.shape, self._utilization.shape
        )
        return np.broadcast_to(value, shape)

    @property
    def utilization(self):
        """Fraction of time a server is busy (offered load per server when unstable)."""
        return as_output(self._broadcast(self._utilization))

    @property
    def throughput(self):
        """Completions per unit time."""
        return as_output(self._broadcast(self._throughput))

    @property
    def mean_wait(self):
        """Mean queueing delay before service starts, ``Wq``."""
        return as_output(self._broadcast(self._mean_wait))

    @property
    def mean_response(self):
        """Mean time from arrival to departure, ``W = Wq + E[S]``."""
        return as_output(self._broadcast(self._mean_wait + self._mean_service))

    @property
    def mean_number(self):
        """Mean number in the system, ``L = throughput * W`` (Little's law)."""
        return as_output(self._broadcast(self._throughput * (self._mean_wait + self._mean_service)))

    @property
    def mean_queue_length(self):
        """Mean number waiting, ``Lq = throughput * Wq`` (Little's law)."""
        return as_output(self._broadcast(self._throughput * self._mean_wait))


# --------------------------------------------------------------------------- Markovian queues


@dataclass(frozen=True, eq=False)
class MM1(_QueueModel):
    """The M/M/1 queue: Poisson arrivals, exponential service, one server, FCFS.

    With ``rho = arrival_rate / service_rate < 1`` the number in system is
    geometric, ``p_n = (1 - rho) rho^n``, and

    .. math:: W_q = \\frac{\\rho}{\\mu - \\lambda}, \\quad W = \\frac{1}{\\mu - \\lambda},
              \\quad L = \\frac{\\rho}{1 - \\rho}, \\quad L_q = \\frac{\\rho^2}{1 - \\rho}.

    Exact (``exact = True``).  Source: Gross et al. (2008), Sec. 2.2, and
    Kleinrock (1975), Sec. 3.2.

    Parameters
    ----------
    arrival_rate, service_rate : float or array_like
        Poisson arrival rate ``lambda > 0`` and exponential service rate
        ``mu > 0``; they broadcast.
    unstable : {"raise", "inf"}
        What a utilization >= 1 does: raise :class:`UnstableSystem`, or give
        ``inf`` delays and numbers there.

    References
    ----------
    Gross, Shortle, Thompson & Harris, *Fundamentals of Queueing Theory*, 4th ed.
    (Wiley, 2008), Sec. 2.2.  Kleinrock, *Queueing Systems, Vol. 1* (1975), Sec. 3.2.

    Examples
    --------
    >>> q = MM1(arrival_rate=0.5, service_rate=1.0)
    >>> q.utilization, q.mean_number, q.mean_response, q.mean_wait
    (0.5, 1.0, 2.0, 1.0)
    >>> q.prob_n(0)
    0.5
    """

    arrival_rate: object
    service_rate: object

    def __post_init__(self):
        _check_unstable_choice(self.unstable)
        lam = positive("arrival_rate", self.arrival_rate)
        mu = positive("service_rate", self.service_rate)
        self._set(arrival_rate=lam, service_rate=mu)
        rho = lam / mu
        bad = _stability("MM1", rho, self.unstable)
        self._set(_rho=rho, _bad=bad)
        self._set_core(
            throughput=np.where(bad, mu, lam),
            mean_wait=_inf_where(bad, lambda: rho / (mu - lam)),
            mean_service=1.0 / mu,
            utilization=rho,
        )

    def prob_n(self, n):
        """Stationary probability of ``n`` in system, ``(1 - rho) rho^n`` (0 where unstable)."""
        n = integer_array("n", n, minimum=0)
        rho, bad = self._rho, self._bad
        return as_output(np.where(bad, 0.0, (1.0 - np.minimum(rho, 1.0)) * np.minimum(rho, 1.0) ** n))


@dataclass(frozen=True, eq=False)
class MMc(_QueueModel):
    """The M/M/c queue: Poisson arrivals, exponential service, ``c`` servers, FCFS.

    With offered load ``a = lambda / mu`` and utilization ``rho = a / c < 1``,

    .. math:: P(\\text{wait}) = C(c, a), \\quad W_q = \\frac{C(c, a)}{c\\mu - \\lambda},
              \\quad W = W_q + 1/\\mu,

    where ``C`` is Erlang's C formula (:func:`erlang_c`).  Exact.  Source: Gross
    et al. (2008), Sec. 2.3; Kleinrock (1975), Sec. 3.5.

    Parameters
    ----------
    arrival_rate, service_rate : float or array_like
        ``lambda > 0`` and ``mu > 0`` (per server).
    servers : int or array_like of int
        ``c >= 1``.  All three broadcast.
    unstable : {"raise", "inf"}
        What a utilization >= 1 does (see :class:`MM1`).

    References
    ----------
    Gross, Shortle, Thompson & Harris, *Fundamentals of Queueing Theory*, 4th ed.
    (Wiley, 2008), Sec. 2.3.  Kleinrock, *Queueing Systems, Vol. 1* (1975), Sec. 3.5.

    Examples
    --------
    >>> q = MMc(arrival_rate=1.0, service_rate=1.0, servers=2)
    >>> round(q.prob_wait, 12), round(q.mean_number, 12)
    (0.333333333333, 1.333333333333)
    """

    arrival_rate: object
    service_rate: object
    servers: object

    def __post_init__(self):
        _check_unstable_choice(self.unstable)
        lam = positive("arrival_rate", self.arrival_rate)
        mu = positive("service_rate", self.service_rate)
        c = integer_array("servers", self.servers, minimum=1)
        self._set(arrival_rate=lam, service_rate=mu, servers=c)
        rho = lam / (c * mu)
        bad = _stability("MMc", rho, self.unstable)
        prob_wait = _erlang_c_array(c, lam / mu)
        self._set(_bad=bad, _prob_wait=prob_wait)
        self._set_core(
            throughput=np.where(bad, c * mu, lam),
            mean_wait=_inf_where(bad, lambda: prob_wait / (c * mu - lam)),
            mean_service=1.0 / mu,
            utilization=rho,
        )

    @property
    def prob_wait(self):
        """Probability that an arrival waits, Erlang C ``C(c, a)`` (1 where unstable)."""
        return as_output(self._broadcast(self._prob_wait))

    def prob_n(self, n):
        """Stationary probability of ``n`` in system (0 where unstable).

        ``p_n = pmf(n; a) / (P(X <= c-1) + pmf(c; a) / (1 - rho))`` for ``n <= c``
        with ``X ~ Poisson(a)``, and ``p_n = p_c rho^(n-c)`` for ``n > c``
        (Gross et al. 2008, Sec. 2.3), evaluated in log space.
        """
        from scipy.stats import poisson

        n = integer_array("n", n, minimum=0)
        lam, mu, c, bad = self.arrival_rate, self.service_rate, self.servers, self._bad
        a = lam / mu
        rho = np.where(bad, 0.5, a / c)  # placeholder where unstable, masked below
        log_norm = np.log(poisson.cdf(c - 1, a) + poisson.pmf(c, a) / (1.0 - rho))
        log_p = poisson.logpmf(np.minimum(n, c), a) + np.maximum(n - c, 0) * np.log(rho) - log_norm
        return as_output(np.where(bad, 0.0, np.exp(log_p)))


@dataclass(frozen=True, eq=False)
class MMcc(_QueueModel):
    """The M/M/c/c Erlang loss system: ``c`` servers, no waiting room.

    An arrival that finds all servers busy is lost, with probability
    ``B(c, a)`` (Erlang B, :func:`erlang_b`), ``a = lambda / mu``.  Then

    .. math:: \\text{throughput} = \\lambda (1 - B), \\quad
              \\text{utilization} = \\frac{\\lambda (1 - B)}{c \\mu}, \\quad
              W_q = 0, \\quad W = 1/\\mu, \\quad L = \\lambda(1 - B)/\\mu.

    Exact, never unstable (``unstable`` is accepted and ignored).  The formula
    holds for any service distribution with mean ``1/mu`` (insensitivity).
    Source: Gross et al. (2008), Sec. 2.6; Kleinrock (1975), Sec. 3.7.

    Parameters
    ----------
    arrival_rate, service_rate : float or array_like
        ``lambda > 0``, ``mu > 0``.
    servers : int or array_like of int
        ``c >= 1``.  All three broadcast.

    References
    ----------
    Gross, Shortle, Thompson & Harris, *Fundamentals of Queueing Theory*, 4th ed.
    (Wiley, 2008), Sec. 2.6.  Kleinrock, *Queueing Systems, Vol. 1* (1975), Sec. 3.7.

    Examples
    --------
    >>> q = MMcc(arrival_rate=1.0, service_rate=1.0, servers=2)
    >>> q.blocking_probability, q.throughput, q.mean_wait
    (0.2, 0.8, 0.0)
    """

    arrival_rate: object
    service_rate: object
    servers: object

    def __post_init__(self):
        _check_unstable_choice(self.unstable)
        lam = positive("arrival_rate", self.arrival_rate)
        mu = positive("service_rate", self.service_rate)
        c = integer_array("servers", self.servers, minimum=1)
        self._set(arrival_rate=lam, service_rate=mu, servers=c)
        blocking = _erlang_b_array(c, lam / mu)
        throughput = lam * (1.0 - blocking)
        self._set(_blocking=blocking)
        self._set_core(
            throughput=throughput,
            mean_wait=np.zeros_like(throughput),
            mean_service=1.0 / mu,
            utilization=throughput / (c * mu),
        )

    @property
    def blocking_probability(self):
        """Probability that an arrival is lost, Erlang B ``B(c, a)``."""
        return as_output(self._broadcast(self._blocking))

    def prob_n(self, n):
        """Stationary probability of ``n`` busy servers: truncated Poisson ``pmf(n; a) / P(X <= c)``."""
        from scipy.stats import poisson

        n = integer_array("n", n, minimum=0)
        a = self.arrival_rate / self.service_rate
        log_p = poisson.logpmf(n, a) - poisson.logcdf(self.servers, a)
        return as_output(np.where(n <= self.servers, np.exp(log_p), 0.0))


def _check_capacity(servers: np.ndarray, capacity: np.ndarray) -> None:
    s, k = np.broadcast_arrays(servers, capacity)
    bad = k < s
    if np.any(bad):
        raise InvalidParameter(
            f"capacity must be >= servers (it counts those in service), got capacity={_fmt(k, bad)}"
            f" with servers={_fmt(s, bad)}"
        )


@dataclass(frozen=True, eq=False)
class MMcK(_QueueModel):
    """The M/M/c/K queue: ``c`` servers, at most ``K >= c`` customers in the system.

    A birth-death process on ``0..K`` with birth rate ``lambda`` and death rate
    ``min(n, c) mu``, so with ``a = lambda/mu`` and ``rho = a/c``

    .. math:: p_n \\propto a^n / n! \\ (n \\le c), \\qquad
              p_n \\propto \\frac{a^c}{c!} \\rho^{\\,n-c} \\ (c < n \\le K).

    Arrivals that find ``K`` present are lost: ``blocking_probability = p_K``,
    ``throughput = lambda (1 - p_K)``; ``L = sum n p_n``,
    ``Lq = sum (n - c)^+ p_n``, ``W = L / throughput`` and
    ``Wq = Lq / throughput`` (Little's law with the effective arrival rate);
    ``utilization = throughput / (c mu)``.  The weights are summed in log space
    (no overflow for large ``c`` or ``K``; memory grows with ``max(K)`` times
    the broadcast size).  ``rho = 1`` needs no special case.  Exact, never
    unstable.  Source: Gross et al. (2008), Sec. 2.5; Kleinrock (1975), Ch. 3.

    Parameters
    ----------
    arrival_rate, service_rate : float or array_like
        ``lambda > 0``, ``mu > 0``.
    servers : int or array_like of int
        ``c >= 1``.
    capacity : int or array_like of int
        ``K >= c``, the most customers in the system (in service plus waiting).

    References
    ----------
    Gross, Shortle, Thompson & Harris, *Fundamentals of Queueing Theory*, 4th ed.
    (Wiley, 2008), Sec. 2.5 (queues with truncation).

    Examples
    --------
    >>> q = MMcK(arrival_rate=1.0, service_rate=2.0, servers=1, capacity=3)
    >>> round(q.blocking_probability * 15, 12), round(q.mean_number * 15, 12)
    (1.0, 11.0)
    """

    arrival_rate: object
    service_rate: object
    servers: object
    capacity: object

    def __post_init__(self):
        _check_unstable_choice(self.unstable)
        lam = positive("arrival_rate", self.arrival_rate)
        mu = positive("service_rate", self.service_rate)
        c = integer_array("servers", self.servers, minimum=1)
        cap = integer_array("capacity", self.capacity, minimum=1)
        _check_capacity(c, cap)
        self._set(arrival_rate=lam, service_rate=mu, servers=c, capacity=cap)
        lam, mu, c, cap = np.broadcast_arrays(lam, mu, c, cap)
        n = np.arange(int(cap.max()) + 1 if cap.size else 1)
        log_w = self._log_weight(n, lam[..., None], mu[..., None], c[..., None], cap[..., None])
        log_z = special.logsumexp(log_w, axis=-1)
        p = np.exp(log_w - log_z[..., None])
        blocking = np.exp(self._log_weight(cap, lam, mu, c, cap) - log_z)
        queue_length = np.sum(np.maximum(n - c[..., None], 0) * p, axis=-1)
        # throughput = lambda (1 - p_K) = mu E[min(N, c)]; the second form avoids 1 - p_K when p_K ~ 1
        busy = c - np.sum(np.maximum(c[..., None] - n, 0) * p, axis=-1)  # E[min(N, c)] <= c
        throughput = np.where(lam <= c * mu, lam * (1.0 - blocking), mu * busy)
        self._set(_blocking=blocking, _log_z=log_z)
        self._set_core(
            throughput=throughput,
            mean_wait=queue_length / throughput,
            mean_service=1.0 / mu,
            utilization=throughput / (c * mu),
        )

    @staticmethod
    def _log_weight(n, lam, mu, c, cap):
        """Unnormalised log p_n of the birth-death chain (-inf outside 0..K)."""
        log_a = np.log(lam / mu)
        m = np.minimum(n, c)
        log_w = m * log_a - special.gammaln(m + 1) + np.maximum(n - c, 0) * (log_a - np.log(c))
        return np.where(n <= cap, log_w, -np.inf)

    @property
    def blocking_probability(self):
        """Probability that an arrival finds the system full, ``p_K``."""
        return as_output(self._broadcast(self._blocking))

    def prob_n(self, n):
        """Stationary probability of ``n`` in system (0 for ``n > K``)."""
        n = integer_array("n", n, minimum=0)
        log_w = self._log_weight(n, self.arrival_rate, self.service_rate, self.servers, self.capacity)
        return as_output(np.exp(log_w - self._log_z))


def _log_h(x: np.ndarray) -> np.ndarray:
    """``log((e^x - 1) / x)`` without overflow or cancellation (0 at ``x = 0``)."""
    ax = np.abs(x)
    safe = np.where(ax > 0, ax, 1.0)
    ratio = np.where(ax > 0, np.expm1(-safe) / -safe, 1.0)
    return np.maximum(x, 0.0) + np.log(ratio)


def _tilted_mean(eps: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Mean of ``N`` with ``P(N = n) ∝ e^(eps n)``, ``n = 0..m-1`` (M/M/1/K with ``m = K + 1``).

    ``L = [f(m eps) - f(eps)] / eps`` with ``f(x) = x / (1 - e^-x)``; for
    ``|m eps| < 1e-2`` the Bernoulli series of ``f`` avoids the cancellation.
    """
    x = m * eps
    small = np.abs(x) < 1e-2
    safe_eps = np.where(small, 1.0, eps)

    def f(y):
        ay = np.abs(y)
        return ay / -np.expm1(-ay) + np.minimum(y, 0.0)

    closed = (f(np.where(small, 1.0, x)) - f(safe_eps)) / safe_eps
    series = (m - 1) / 2 + (m**2 - 1) * eps / 12 - (m**4 - 1) * eps**3 / 720 + (m**6 - 1) * eps**5 / 30240
    return np.where(small, series, closed)


@dataclass(frozen=True, eq=False)
class MM1K(_QueueModel):
    """The M/M/1/K queue: one server, at most ``K`` customers in the system.

    With ``rho = lambda / mu`` (any positive value) the closed form is

    .. math:: p_n = \\frac{(1 - \\rho)\\rho^n}{1 - \\rho^{K+1}}, \\quad
              L = \\frac{\\rho}{1 - \\rho} - \\frac{(K + 1)\\rho^{K+1}}{1 - \\rho^{K+1}}
              \\qquad (\\rho \\ne 1),

    and ``p_n = 1/(K+1)``, ``L = K/2`` at ``rho = 1``.  Blocking probability
    ``p_K``, ``throughput = lambda (1 - p_K)``, ``Lq = L - (1 - p_0)``, and
    ``W``, ``Wq`` by Little's law with the throughput (computed as
    ``Wq = L_{K-1} / mu``, ``L_{K-1}`` the same ``L`` with ``K - 1``, which
    avoids the cancellation in ``L - (1 - p_0)`` at light load).  It is evaluated with
    ``rho^n = e^(n log rho)``, ``expm1`` and, within ``|(K+1) log rho| < 0.01``,
    a series, so it is accurate near and at ``rho = 1`` and never overflows.
    Equal to ``MMcK(servers=1)``.  Exact, never unstable.

    Parameters
    ----------
    arrival_rate, service_rate : float or array_like
        ``lambda > 0``, ``mu > 0``.
    capacity : int or array_like of int
        ``K >= 1``.  All three broadcast.

    References
    ----------
    Gross, Shortle, Thompson & Harris, *Fundamentals of Queueing Theory*, 4th ed.
    (Wiley, 2008), Sec. 2.5.1 (M/M/1/K).  Kleinrock, *Queueing Systems, Vol. 1*
    (1975), Sec. 3.6.

    Examples
    --------
    >>> q = MM1K(arrival_rate=1.0, service_rate=2.0, capacity=3)
    >>> round(q.blocking_probability * 15, 12), round(q.mean_number * 15, 12)
    (1.0, 11.0)
    >>> round(MM1K(arrival_rate=1.0, service_rate=1.0, capacity=4).mean_number, 12)
    2.0
    """

    arrival_rate: object
    service_rate: object
    capacity: object

    def __post_init__(self):
        _check_unstable_choice(self.unstable)
        lam = positive("arrival_rate", self.arrival_rate)
        mu = positive("service_rate", self.service_rate)
        cap = integer_array("capacity", self.capacity, minimum=1)
        self._set(arrival_rate=lam, service_rate=mu, capacity=cap)
        eps = np.log(lam / mu)  # log rho
        # log Z(eps) = log sum_{n=0}^{K} e^(n eps) = log(K + 1) + log h((K + 1) eps) - log h(eps);
        # p_n(eps) = p_{K-n}(-eps), so p_K = 1 / Z(-eps) and each side uses the small-magnitude form.
        m = cap + 1.0
        log_z = np.log(m) + _log_h(m * eps) - _log_h(eps)
        log_z_rev = np.log(m) + _log_h(-m * eps) - _log_h(-eps)
        blocking = np.exp(-log_z_rev)
        # throughput = lambda (1 - p_K) = mu (1 - p_0), whichever is not a difference of near-equals
        throughput = np.where(eps <= 0, -lam * np.expm1(-log_z_rev), -mu * np.expm1(-log_z))
        # Lq = sum_{n>=1} (n-1) p_n = rho (1 - p_K) L_{K-1}, where L_{K-1} is the mean of the
        # same truncated geometric law on 0..K-1; so Wq = Lq / throughput = L_{K-1} / mu.
        self._set(_log_z=log_z, _log_z_rev=log_z_rev, _eps=eps, _blocking=blocking)
        self._set_core(
            throughput=throughput,
            mean_wait=_tilted_mean(eps, cap.astype(float)) / mu,
            mean_service=1.0 / mu,
            utilization=throughput / mu,
        )

    @property
    def blocking_probability(self):
        """Probability that an arrival finds the system full, ``p_K``."""
        return as_output(self._broadcast(self._blocking))

    def prob_n(self, n):
        """Stationary probability of ``n`` in system, ``rho^n p_0`` (0 for ``n > K``)."""
        n = integer_array("n", n, minimum=0)
        eps, cap = self._eps, self.capacity
        forward = n * eps - self._log_z
        backward = (n - cap) * eps - self._log_z_rev  # p_n = rho^(n-K) p_K, better when rho > 1
        return as_output(np.where(n <= cap, np.exp(np.where(eps > 0, backward, forward)), 0.0))


# --------------------------------------------------------------------------- M/G/1 family


@dataclass(frozen=True, eq=False)
class _MG1Formulas(_QueueModel):
    """Pollaczek–Khinchine mean and Takács second moment from the service moments."""

    def _set_mg1(self, lam, s1, s2, s3) -> None:
        rho = lam * s1
        bad = _stability(type(self).__name__, rho, self.unstable)
        wait = _inf_where(bad, lambda: lam * s2 / (2.0 * (1.0 - rho)))
        # Takács: E[Wq^2] = 2 E[Wq]^2 + lambda E[S^3] / (3 (1 - rho)), so Var = E[Wq]^2 + ...
        wait_var = _inf_where(bad, lambda: wait**2 + lam * s3 / (3.0 * (1.0 - rho)))
        service_var = np.where(np.isinf(s2), np.inf, s2 - s1**2)
        self._set(_wait_var=wait_var, _service_var=service_var)
        throughput = np.where(bad, 1.0 / s1, lam)
        self._set_core(throughput=throughput, mean_wait=wait, mean_service=s1, utilization=rho)

    @property
    def wait_variance(self):
        """Variance of the FCFS waiting time, ``E[Wq]^2 + lambda E[S^3] / (3 (1 - rho))`` (Takács)."""
        return as_output(self._broadcast(self._wait_var))

    @property
    def response_variance(self):
        """Variance of the FCFS response time, ``Var Wq + Var S`` (wait and own service independent)."""
        return as_output(self._broadcast(self._wait_var + self._service_var))


@dataclass(frozen=True, eq=False)
class MG1(_MG1Formulas):
    """The M/G/1 FCFS queue: Poisson arrivals, general i.i.d. service, one server.

    With ``rho = lambda E[S] < 1`` the Pollaczek–Khinchine mean-value formula
    gives

    .. math:: W_q = \\frac{\\lambda E[S^2]}{2 (1 - \\rho)}, \\quad W = W_q + E[S],

    and ``L``, ``Lq`` by Little's law.  Takács' recurrence gives the second
    moment ``E[W_q^2] = 2 W_q^2 + lambda E[S^3] / (3 (1 - rho))``
    (:attr:`wait_variance`, :attr:`response_variance`).  A service time with
    ``E[S^2] = inf`` (e.g. a heavy tail) gives ``mean_wait = inf`` even though
    the queue is stable; likewise ``E[S^3] = inf`` gives infinite variances.
    Exact.

    Parameters
    ----------
    arrival_rate : float or array_like
        Poisson arrival rate ``lambda > 0``; the results broadcast over it.
    service : Distribution
        Service-time distribution; only ``.mean`` and ``.moment(2)``,
        ``.moment(3)`` are used (``math.inf`` where divergent).
    unstable : {"raise", "inf"}
        What a utilization >= 1 does (see :class:`MM1`).

    References
    ----------
    Kleinrock, *Queueing Systems, Vol. 1: Theory* (Wiley, 1975), Sec. 5.5
    (P-K mean-value formula) and Sec. 5.7 (Takács recurrence).
    Gross, Shortle, Thompson & Harris, *Fundamentals of Queueing Theory*, 4th ed.
    (2008), Sec. 5.1.  Takács, *Introduction to the Theory of Queues* (Oxford
    University Press, 1962).

    Examples
    --------
    >>> from virtmodel.dists import Exponential
    >>> q = MG1(arrival_rate=0.5, service=Exponential(rate=1.0))
    >>> q.mean_wait, q.mean_number
    (1.0, 1.0)
    """

    arrival_rate: object
    service: object

    def __post_init__(self):
        _check_unstable_choice(self.unstable)
        lam = positive("arrival_rate", self.arrival_rate)
        s1, s2, s3 = _distribution_moments("service", self.service, orders=(1, 2, 3))
        self._set(arrival_rate=lam)
        self._set_mg1(lam, s1, s2, s3)


@dataclass(frozen=True, eq=False)
class MD1(_MG1Formulas):
    """The M/D/1 queue: Poisson arrivals, constant service time ``D``, one server.

    The Pollaczek–Khinchine formula with ``E[S^2] = D^2``, ``rho = lambda D < 1``:

    .. math:: W_q = \\frac{\\rho D}{2 (1 - \\rho)}, \\quad
              L_q = \\frac{\\rho^2}{2 (1 - \\rho)}, \\quad W = W_q + D,

    equal to :class:`MG1` with deterministic service; ``wait_variance`` from
    Takács with ``E[S^3] = D^3``.  Exact.

    Parameters
    ----------
    arrival_rate : float or array_like
        ``lambda > 0``.
    service_time : float or array_like
        ``D > 0``.  Broadcasts with ``arrival_rate``.
    unstable : {"raise", "inf"}
        What a utilization >= 1 does (see :class:`MM1`).

    References
    ----------
    Gross, Shortle, Thompson & Harris, *Fundamentals of Queueing Theory*, 4th ed.
    (2008), Sec. 5.1 (M/D/1 as a special case of P-K).  Kleinrock, *Queueing
    Systems, Vol. 1* (1975), Sec. 5.5.

    Examples
    --------
    >>> q = MD1(arrival_rate=0.5, service_time=1.0)
    >>> q.mean_queue_length, q.mean_wait, q.mean_response
    (0.25, 0.5, 1.5)
    """

    arrival_rate: object
    service_time: object

    def __post_init__(self):
        _check_unstable_choice(self.unstable)
        lam = positive("arrival_rate", self.arrival_rate)
        d = positive("service_time", self.service_time)
        self._set(arrival_rate=lam, service_time=d)
        self._set_mg1(lam, d, d**2, d**3)


# --------------------------------------------------------------------------- G/G/c approximation


@dataclass(frozen=True, eq=False)
class GGc(_QueueModel):
    """The G/G/c queue by the Kingman / Allen–Cunneen approximation.

    Interarrival times with mean ``1/lambda`` and squared coefficient of
    variation ``ca^2``, service with mean ``1/mu`` and ``cs^2``, ``c``
    servers, ``rho = lambda / (c mu) < 1``.  The mean wait is approximated by

    .. math:: W_q \\approx \\frac{C(c, a)}{c\\mu - \\lambda} \\cdot \\frac{c_a^2 + c_s^2}{2},

    the M/M/c wait scaled by the variability factor (Allen–Cunneen), with ``C``
    Erlang's C formula and ``a = lambda/mu``.  For ``c = 1``, ``C = rho`` and
    this is Kingman's heavy-traffic formula
    ``Wq ≈ rho/(1 - rho) (ca^2 + cs^2)/2 E[S]``.  Exact for M/M/c
    (``ca^2 = cs^2 = 1``) and asymptotically exact as ``rho -> 1`` for
    ``c = 1``; an approximation otherwise, so ``exact = False``.

    Parameters
    ----------
    arrival : Distribution
        Interarrival-time distribution (``.mean`` and ``.scv`` are used).
    service : Distribution
        Service-time distribution (``.mean`` and ``.scv``).
    servers : int or array_like of int
        ``c >= 1``; results broadcast over it.
    unstable : {"raise", "inf"}
        What a utilization >= 1 does (see :class:`MM1`).

    References
    ----------
    Kingman, "The single server queue in heavy traffic", *Proc. Cambridge
    Philos. Soc.* 57 (1961) 902–904.  Allen, *Probability, Statistics, and
    Queueing Theory*, 2nd ed. (Academic Press, 1990), Sec. 6 (Allen–Cunneen
    approximation).  Whitt, "Approximations for the GI/G/m queue", *Production
    and Operations Management* 2 (1993) 114–161.

    Examples
    --------
    >>> from virtmodel.dists import Exponential
    >>> q = GGc(Exponential(rate=0.5), Exponential(rate=1.0), servers=1)
    >>> q.mean_wait, q.exact
    (1.0, False)
    """

    arrival: object
    service: object
    servers: object = 1
    exact: ClassVar[bool] = False

    def __post_init__(self):
        _check_unstable_choice(self.unstable)
        (arrival_mean,) = _distribution_moments("arrival", self.arrival, orders=(1,))
        (service_mean,) = _distribution_moments("service", self.service, orders=(1,))
        ca2 = self._scv("arrival", self.arrival)
        cs2 = self._scv("service", self.service)
        c = integer_array("servers", self.servers, minimum=1)
        self._set(servers=c)
        lam, mu = 1.0 / arrival_mean, 1.0 / service_mean
        rho = lam / (c * mu)
        bad = _stability("GGc", rho, self.unstable)
        prob_wait = _erlang_c_array(c, lam / mu)
        self._set_core(
            throughput=np.where(bad, c * mu, lam),
            mean_wait=_inf_where(bad, lambda: prob_wait / (c * mu - lam) * (ca2 + cs2) / 2.0),
            mean_service=service_mean,
            utilization=rho,
        )

    @staticmethod
    def _scv(name, dist) -> np.ndarray:
        scv = getattr(dist, "scv", None)
        if scv is None:
            raise InvalidParameter(f"{name} must be a distribution with .scv, got {dist!r}")
        scv = np.asarray(scv, dtype=float)
        if np.any(np.isnan(scv)) or np.any(scv < 0):
            raise InvalidParameter(f"{name}.scv must be >= 0 or inf, got {_fmt(scv)}")
        return scv
