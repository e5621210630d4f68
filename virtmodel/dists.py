"""Service and interarrival time distributions: exact moments, transforms and sampling.

Every distribution is an immutable (frozen, hashable, picklable) dataclass that
checks its parameters at construction and offers the same API:

``mean``, ``variance``, ``scv`` (squared coefficient of variation,
``variance / mean**2``) and ``rate`` (``1 / mean``) as properties;
``moment(k)`` (the raw moment :math:`E[X^k]` in closed form, ``math.inf`` where
it diverges or overflows); ``cdf(x)``; ``partial_moment(k, x)``
(:math:`E[X^k; X \\le x] = \\int_0^x t^k\\,dF(t)`); ``laplace(s)`` (the
Laplace-Stieltjes transform :math:`E[e^{-sX}]`, ``s >= 0``); ``sample(rng, size)``
(a float64 array drawn only from the given :class:`numpy.random.Generator`);
and ``to_scipy()`` (the equivalent :mod:`scipy.stats` object, or ``None``).

``cdf``, ``partial_moment`` and ``laplace`` broadcast like numpy ufuncs: a scalar
argument gives a Python float, an array gives an array.

All distributions live on :math:`[0, \\infty)` and have a positive mean.  The
moment formulas are the standard ones; see e.g. N. L. Johnson, S. Kotz and
N. Balakrishnan, *Continuous Univariate Distributions*, vol. 1, 2nd ed., Wiley,
1994 (ch. 14 lognormal, ch. 17 gamma, ch. 19 exponential) and vol. 2, 1995
(ch. 26 uniform), and
H. C. Tijms, *A First Course in Stochastic Models*, Wiley, 2003 (appendix on
useful probability distributions: Erlang, hyperexponential, two-moment fits).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ._lazy import lazy
from ._validation import (
    _fmt,
    as_output,
    nonnegative,
    nonnegative_int,
    positive,
    positive_int,
    probability,
    real_array,
)
from .errors import InvalidParameter

integrate = lazy("scipy.integrate")
special = lazy("scipy.special")
stats = lazy("scipy.stats")

__all__ = [
    "Distribution",
    "Exponential",
    "Deterministic",
    "Erlang",
    "HyperExponential",
    "Gamma",
    "LogNormal",
    "Uniform",
    "Empirical",
    "Poisson",
    "Compound",
    "Sequential",
]

#: Tolerance on ``sum(probs) == 1`` for :class:`HyperExponential`.
PROBABILITY_SUM_TOL = 1e-9


# ---------------------------------------------------------------------------
# private helpers
# ---------------------------------------------------------------------------


def _scalar(check, name: str, value) -> float:
    """Apply an array check from ``_validation`` and insist on a single number."""
    arr = check(name, value)
    if arr.ndim != 0:
        raise InvalidParameter(f"{name} must be a single real number, got {_fmt(value)}")
    return float(arr)


def _vector(check, name: str, value) -> np.ndarray:
    """Apply an array check and insist on a non-empty 1-d sequence of numbers."""
    if np.asarray(value).dtype == bool:
        raise InvalidParameter(f"{name} must be real numbers, got {value!r}")
    arr = check(name, value)
    if arr.ndim != 1:
        raise InvalidParameter(f"{name} must be a 1-d sequence of numbers, got {_fmt(value)}")
    if arr.size == 0:
        raise InvalidParameter(f"{name} must contain at least 1 value, got {value!r}")
    return arr


def _points(name: str, value) -> np.ndarray:
    """Evaluation points: any real array, +-inf allowed, NaN rejected."""
    if isinstance(value, (str, bytes)) or value is None or isinstance(value, bool):
        raise InvalidParameter(f"{name} must be a real number or array of them, got {value!r}")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise InvalidParameter(f"{name} must be a real number or array of them, got {value!r}") from None
    if np.any(np.isnan(arr)):
        raise InvalidParameter(f"{name} must not contain NaN, got {_fmt(value)}")
    return arr


def _pow(base: float, k: float) -> float:
    """``base ** k`` for base >= 0 that returns ``inf`` instead of raising OverflowError."""
    try:
        return base**k
    except OverflowError:
        return math.inf


def _exp(x: float) -> float:
    """``math.exp`` that returns ``inf`` instead of raising OverflowError."""
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _gamma_moment(shape: float, rate: float, k: int) -> float:
    """E[X^k] = shape (shape+1) ... (shape+k-1) / rate^k for X ~ Gamma(shape, rate).

    Johnson, Kotz & Balakrishnan (1994), ch. 17.  Computed as a running
    product so that it is exact to a few ulps and overflows to ``inf``.
    """
    result = 1.0
    for i in range(k):
        result *= (shape + i) / rate
        if result == math.inf or result == 0.0:
            break
    return result


def _gamma_partial_moment(shape: float, rate: float, k: int, x: np.ndarray) -> np.ndarray:
    """E[X^k; X <= x] = E[X^k] P(shape + k, rate x) for X ~ Gamma(shape, rate).

    ``P`` is the regularized lower incomplete gamma function
    (:func:`scipy.special.gammainc`); the identity follows from
    t^k f(t; shape, rate) = E[X^k] f(t; shape + k, rate).  ``shape`` and ``rate``
    broadcast against ``x`` (used by the hyperexponential mixture).
    """
    shape = np.asarray(shape, dtype=float)
    rate = np.asarray(rate, dtype=float)
    moments = np.vectorize(_gamma_moment, otypes=[float])(shape, rate, k)
    p = special.gammainc(shape + k, rate * np.maximum(x, 0.0))
    with np.errstate(invalid="ignore"):  # inf * 0 where the moment overflowed
        return np.where(p > 0, moments * p, 0.0)


def _moment_order(k) -> int:
    return nonnegative_int("k", k)


def _rate_argument(rate, alias: str, alias_value) -> tuple[str, object]:
    """Pick the rate given either as ``rate`` (the documented keyword) or as its field name."""
    if alias_value is None:
        return "rate", rate  # a missing rate is reported as "rate must be a real number, got None"
    if rate is not None:
        raise InvalidParameter(
            f"give exactly one of rate or {alias}, got rate={rate!r}, {alias}={alias_value!r}"
        )
    return alias, alias_value


class _derived:
    """A read-only computed attribute, like ``property`` but a non-data descriptor.

    Unlike a property, it gives way to an instance attribute of the same name,
    so a dataclass field can provide ``rate`` (:class:`Exponential`) or
    ``mean`` and ``scv`` (:class:`LogNormal`) directly.
    """

    def __init__(self, func):
        self.func = func
        self.__doc__ = func.__doc__

    def __get__(self, obj, owner=None):
        return self if obj is None else self.func(obj)


# ---------------------------------------------------------------------------
# base class
# ---------------------------------------------------------------------------


class Distribution(ABC):
    """A nonnegative random variable with a positive mean (abstract base).

    Subclasses implement ``_raw_moment(k)`` for ``k >= 1``, ``_cdf``,
    ``_partial_moment``, ``_laplace`` and ``_sample`` on validated numpy input;
    this class does the checking, the broadcasting and the derived quantities.

    Notes
    -----
    ``variance = E[X^2] - E[X]^2`` unless a subclass has a better-conditioned
    closed form, ``scv = variance / mean**2`` and ``rate = 1 / mean``.

    Examples
    --------
    >>> from virtmodel.dists import Distribution, Exponential
    >>> isinstance(Exponential(rate=1.0), Distribution)
    True
    """

    # -- to implement -------------------------------------------------------

    @abstractmethod
    def _raw_moment(self, k: int) -> float:
        """E[X^k] for an integer k >= 1."""

    @abstractmethod
    def _cdf(self, x: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def _partial_moment(self, k: int, x: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def _laplace(self, s: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def _sample(self, rng: np.random.Generator, size) -> np.ndarray: ...

    def to_scipy(self):
        """The equivalent frozen :mod:`scipy.stats` distribution, or ``None`` if none exists."""
        return None

    # -- public API -----------------------------------------------------------

    @_derived
    def mean(self) -> float:
        """E[X]."""
        return self._raw_moment(1)

    @_derived
    def variance(self) -> float:
        """Var[X] = E[X^2] - E[X]^2."""
        m1 = self.mean
        return max(self._raw_moment(2) - m1 * m1, 0.0)

    @_derived
    def scv(self) -> float:
        """Squared coefficient of variation, Var[X] / E[X]^2."""
        m1 = self.mean
        return self.variance / m1 / m1

    @_derived
    def rate(self) -> float:
        """1 / E[X] (the long-run rate of a renewal process with these interarrival times)."""
        return 1.0 / self.mean

    def moment(self, k) -> float:
        """Raw moment E[X^k] for an integer ``k >= 0`` (``math.inf`` where it diverges)."""
        k = _moment_order(k)
        return 1.0 if k == 0 else float(self._raw_moment(k))

    def cdf(self, x):
        """P(X <= x); broadcasts over ``x`` (any real, +-inf allowed)."""
        return as_output(self._cdf(_points("x", x)))

    def partial_moment(self, k, x):
        """E[X^k; X <= x] = integral of t^k dF(t) over [0, x]; broadcasts over ``x``.

        Tends to ``moment(k)`` as ``x -> inf``; ``partial_moment(0, x) == cdf(x)``.
        """
        k = _moment_order(k)
        return as_output(self._partial_moment(k, _points("x", x)))

    def laplace(self, s):
        """Laplace-Stieltjes transform E[exp(-s X)] for ``s >= 0``; broadcasts over ``s``."""
        return as_output(self._laplace(nonnegative("s", s)))

    def sample(self, rng: np.random.Generator, size) -> np.ndarray:
        """Draw ``size`` (int or tuple of ints) values using only ``rng``; returns float64."""
        if not isinstance(rng, np.random.Generator):
            raise InvalidParameter(f"rng must be a numpy.random.Generator, got {rng!r}")
        if isinstance(size, tuple):
            size = tuple(nonnegative_int("size", n) for n in size)
        else:
            size = nonnegative_int("size", size)
        return np.asarray(self._sample(rng, size), dtype=np.float64)


# ---------------------------------------------------------------------------
# gamma family: Exponential, Erlang, Gamma
# ---------------------------------------------------------------------------


class _GammaFamily(Distribution):
    """Shared code of the gamma family, parameterised by ``_shape`` and ``_phase_rate``.

    Formulas (Johnson, Kotz & Balakrishnan 1994, ch. 17), with shape a and rate b:
    E[X^k] = a (a+1) ... (a+k-1) / b^k, Var = a / b^2,
    F(x) = P(a, b x), E[X^k; X <= x] = E[X^k] P(a + k, b x), E[e^{-sX}] = (b / (b + s))^a.
    """

    @property
    @abstractmethod
    def _shape(self) -> float: ...

    @property
    @abstractmethod
    def _phase_rate(self) -> float: ...

    @property
    def mean(self) -> float:
        return self._shape / self._phase_rate

    @property
    def variance(self) -> float:
        return (self._shape / self._phase_rate) / self._phase_rate

    @property
    def scv(self) -> float:
        return 1.0 / self._shape

    def _raw_moment(self, k):
        return _gamma_moment(self._shape, self._phase_rate, k)

    def _cdf(self, x):
        return special.gammainc(self._shape, self._phase_rate * np.maximum(x, 0.0))

    def _partial_moment(self, k, x):
        return _gamma_partial_moment(self._shape, self._phase_rate, k, x)

    def _laplace(self, s):
        return (self._phase_rate / (self._phase_rate + s)) ** self._shape

    def _sample(self, rng, size):
        return rng.gamma(self._shape, 1.0 / self._phase_rate, size)

    def to_scipy(self):
        return stats.gamma(self._shape, scale=1.0 / self._phase_rate)


@dataclass(frozen=True)
class Exponential(_GammaFamily):
    """Exponential distribution with rate ``rate`` (mean ``1 / rate``).

    Parameters
    ----------
    rate : float
        Rate, > 0.

    Notes
    -----
    With rate :math:`\\mu` (Johnson, Kotz & Balakrishnan 1994, ch. 19):
    :math:`E[X^k] = k!/\\mu^k`, :math:`\\mathrm{Var} = 1/\\mu^2`, scv = 1,
    :math:`F(x) = 1 - e^{-\\mu x}`, :math:`E[e^{-sX}] = \\mu/(\\mu + s)`,
    :math:`E[X^k; X \\le x] = (k!/\\mu^k)\\, P(k + 1, \\mu x)`.
    ``to_scipy()`` gives ``scipy.stats.expon(scale=1/rate)``.

    Examples
    --------
    >>> d = Exponential(rate=2.0)
    >>> d.mean, d.variance, d.scv, d.moment(3)
    (0.5, 0.25, 1.0, 0.75)
    """

    rate: float

    def __post_init__(self):
        object.__setattr__(self, "rate", _scalar(positive, "rate", self.rate))

    _shape = 1.0

    @property
    def _phase_rate(self):
        return self.rate

    def _cdf(self, x):
        return -np.expm1(-self.rate * np.maximum(x, 0.0))

    def _sample(self, rng, size):
        return rng.exponential(1.0 / self.rate, size)

    def to_scipy(self):
        return stats.expon(scale=1.0 / self.rate)


@dataclass(frozen=True, init=False)
class Erlang(_GammaFamily):
    """Erlang distribution: the sum of ``k`` independent exponential phases of rate ``rate``.

    Parameters
    ----------
    k : int
        Number of phases, >= 1.
    rate : float
        Rate of *each* phase, > 0; the mean is ``k / rate``.  Stored as the
        field ``phase_rate`` (also accepted as a keyword), because the
        attribute ``rate`` means ``1 / mean`` on every distribution.

    Notes
    -----
    A gamma distribution with integer shape k and phase rate :math:`\\mu`
    (Tijms 2003, appendix; Johnson, Kotz & Balakrishnan 1994, ch. 17):
    :math:`E[X^j] = k(k+1)\\cdots(k+j-1)/\\mu^j`, :math:`\\mathrm{Var} = k/\\mu^2`,
    scv = 1/k, :math:`F(x) = P(k, \\mu x)`,
    :math:`E[X^j; X \\le x] = E[X^j]\\,P(k + j, \\mu x)`,
    :math:`E[e^{-sX}] = (\\mu/(\\mu + s))^k`.  ``to_scipy()`` gives
    ``scipy.stats.erlang(k, scale=1/phase_rate)``.

    Examples
    --------
    >>> d = Erlang(k=4, rate=2.0)
    >>> d.mean, d.rate, d.scv
    (2.0, 0.5, 0.25)
    >>> Erlang.from_mean(4, 2.0) == d
    True
    """

    k: int
    phase_rate: float

    def __init__(self, k, rate=None, *, phase_rate=None):
        name, value = _rate_argument(rate, "phase_rate", phase_rate)
        object.__setattr__(self, "k", positive_int("k", k))
        object.__setattr__(self, "phase_rate", _scalar(positive, name, value))

    @classmethod
    def from_mean(cls, k, mean) -> Erlang:
        """Erlang with ``k`` phases and the given mean (each phase has rate ``k / mean``)."""
        k = positive_int("k", k)
        return cls(k, k / _scalar(positive, "mean", mean))

    @property
    def _shape(self):
        return float(self.k)

    @property
    def _phase_rate(self):
        return self.phase_rate

    def to_scipy(self):
        return stats.erlang(self.k, scale=1.0 / self.phase_rate)


@dataclass(frozen=True, init=False)
class Gamma(_GammaFamily):
    """Gamma distribution with shape ``shape`` and rate ``rate`` (mean ``shape / rate``).

    Parameters
    ----------
    shape : float
        Shape a, > 0.
    rate : float
        Rate parameter b, > 0 (scipy's ``1 / scale``).  Stored as the field
        ``rate_parameter`` (also accepted as a keyword), because the attribute
        ``rate`` means ``1 / mean = b / a`` on every distribution.

    Notes
    -----
    Johnson, Kotz & Balakrishnan (1994), ch. 17:
    :math:`E[X^k] = a(a+1)\\cdots(a+k-1)/b^k`, :math:`\\mathrm{Var} = a/b^2`,
    scv = 1/a, :math:`F(x) = P(a, bx)` (regularized lower incomplete gamma),
    :math:`E[X^k; X \\le x] = E[X^k]\\,P(a + k, bx)`,
    :math:`E[e^{-sX}] = (b/(b + s))^a`.  ``to_scipy()`` gives
    ``scipy.stats.gamma(shape, scale=1/rate_parameter)``.

    Examples
    --------
    >>> d = Gamma(shape=0.5, rate=0.25)
    >>> d.mean, d.variance, d.scv
    (2.0, 8.0, 2.0)
    """

    shape: float
    rate_parameter: float

    def __init__(self, shape, rate=None, *, rate_parameter=None):
        name, value = _rate_argument(rate, "rate_parameter", rate_parameter)
        object.__setattr__(self, "shape", _scalar(positive, "shape", shape))
        object.__setattr__(self, "rate_parameter", _scalar(positive, name, value))

    @property
    def _shape(self):
        return self.shape

    @property
    def _phase_rate(self):
        return self.rate_parameter


# ---------------------------------------------------------------------------
# the others
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Deterministic(Distribution):
    """A constant ``value`` (zero variance).

    Parameters
    ----------
    value : float
        The constant, > 0.

    Notes
    -----
    :math:`E[X^k] = c^k`, Var = 0, scv = 0, :math:`F(x) = 1\\{x \\ge c\\}`,
    :math:`E[X^k; X \\le x] = c^k\\,1\\{x \\ge c\\}`, :math:`E[e^{-sX}] = e^{-sc}`.
    ``to_scipy()`` gives a one-point ``scipy.stats.rv_discrete``
    (scipy has no continuous point mass).  ``sample`` returns copies of
    ``value`` and draws nothing from ``rng``.

    Examples
    --------
    >>> d = Deterministic(2.0)
    >>> d.mean, d.variance, d.scv, d.moment(3)
    (2.0, 0.0, 0.0, 8.0)
    """

    value: float

    def __post_init__(self):
        object.__setattr__(self, "value", _scalar(positive, "value", self.value))

    @property
    def mean(self):
        return self.value

    @property
    def variance(self):
        return 0.0

    def _raw_moment(self, k):
        return _pow(self.value, k)

    def _cdf(self, x):
        return np.where(x >= self.value, 1.0, 0.0)

    def _partial_moment(self, k, x):
        return np.where(x >= self.value, self._raw_moment(k), 0.0)

    def _laplace(self, s):
        return np.exp(-s * self.value)

    def _sample(self, rng, size):
        return np.full(size, self.value)

    def to_scipy(self):
        return stats.rv_discrete(values=([self.value], [1.0]))


@dataclass(frozen=True)
class HyperExponential(Distribution):
    """Mixture of exponentials: with probability ``probs[i]`` an exponential of rate ``rates[i]``.

    Parameters
    ----------
    probs : sequence of float
        Mixing probabilities in [0, 1], summing to 1 within 1e-9.
    rates : sequence of float
        Phase rates, > 0, as many as ``probs``.

    Notes
    -----
    Tijms (2003), appendix; with :math:`p_i, \\mu_i`:
    :math:`E[X^k] = k! \\sum_i p_i / \\mu_i^k`, so scv >= 1;
    :math:`F(x) = 1 - \\sum_i p_i e^{-\\mu_i x}`,
    :math:`E[X^k; X \\le x] = \\sum_i p_i (k!/\\mu_i^k) P(k + 1, \\mu_i x)`,
    :math:`E[e^{-sX}] = \\sum_i p_i \\mu_i / (\\mu_i + s)`.
    ``to_scipy()`` returns ``None``: scipy.stats has no frozen mixture.

    Examples
    --------
    >>> d = HyperExponential(probs=(0.5, 0.5), rates=(1.0, 0.5))
    >>> d.mean, d.moment(2)
    (1.5, 5.0)
    >>> h = HyperExponential.balanced(mean=2.0, scv=4.0)
    >>> round(h.mean, 12), round(h.scv, 12)
    (2.0, 4.0)
    """

    probs: tuple[float, ...]
    rates: tuple[float, ...]

    def __post_init__(self):
        probs = _vector(probability, "probs", self.probs)
        rates = _vector(positive, "rates", self.rates)
        if abs(probs.sum() - 1.0) > PROBABILITY_SUM_TOL:
            raise InvalidParameter(
                f"probs must sum to 1 (within {PROBABILITY_SUM_TOL:g}), "
                f"got {_fmt(probs)} (sum {probs.sum()!r})"
            )
        if rates.size != probs.size:
            raise InvalidParameter(
                f"rates must have as many entries as probs ({probs.size}), got {rates.size}: {_fmt(rates)}"
            )
        object.__setattr__(self, "probs", tuple(float(p) for p in probs))
        object.__setattr__(self, "rates", tuple(float(r) for r in rates))

    @classmethod
    def balanced(cls, mean, scv) -> HyperExponential:
        """Two-phase hyperexponential (H2) with balanced means and the given mean and scv.

        Balanced means: :math:`p_1/\\mu_1 = p_2/\\mu_2`.  Then (Tijms 2003,
        appendix, two-moment fit of an H2 with balanced means; also
        Whitt 1982, "Approximating a point process by a renewal process, I")

        .. math:: p_1 = \\tfrac12\\bigl(1 + \\sqrt{(c^2 - 1)/(c^2 + 1)}\\bigr),\\quad
                  p_2 = 1 - p_1,\\quad \\mu_i = 2 p_i / m,

        which requires :math:`c^2 \\ge 1`; :math:`c^2 = 1` gives two equal
        phases, i.e. an exponential.  ``p_2`` is computed as
        :math:`1/(2(c^2+1)p_1)` (the same number) to avoid cancellation.
        """
        mean = _scalar(positive, "mean", mean)
        scv = _scalar(real_array, "scv", scv)
        if not scv >= 1.0:
            raise InvalidParameter(f"scv must be >= 1 for a hyperexponential, got {scv!r}")
        p1 = 0.5 * (1.0 + math.sqrt((scv - 1.0) / (scv + 1.0)))
        p2 = 1.0 / (2.0 * (scv + 1.0) * p1)
        return cls((p1, p2), (2.0 * p1 / mean, 2.0 * p2 / mean))

    @cached_property
    def _p(self) -> np.ndarray:
        return np.array(self.probs)

    @cached_property
    def _mu(self) -> np.ndarray:
        return np.array(self.rates)

    def _raw_moment(self, k):
        return math.fsum(p * _gamma_moment(1.0, mu, k) for p, mu in zip(self.probs, self.rates, strict=True))

    def _cdf(self, x):
        x = np.maximum(x, 0.0)[..., None]
        return np.sum(self._p * -np.expm1(-self._mu * x), axis=-1)

    def _partial_moment(self, k, x):
        return np.sum(self._p * _gamma_partial_moment(1.0, self._mu, k, x[..., None]), axis=-1)

    def _laplace(self, s):
        return np.sum(self._p * self._mu / (self._mu + s[..., None]), axis=-1)

    @cached_property
    def _cumulative(self) -> np.ndarray:
        return np.cumsum(self._p)

    def _sample(self, rng, size):
        u = rng.random(size)
        if self._p.size == 2:
            # two phases: phase 1 exactly where the general line's binary search gives >= 1, i.e. where
            # u >= p1; the same numbers about 2x faster (the H2 services of the validation battery)
            rate = np.where(u >= self._cumulative[0], self._mu[1], self._mu[0])
        else:
            phase = np.searchsorted(self._cumulative, u, side="right")
            rate = self._mu[np.minimum(phase, self._p.size - 1)]  # guards against sum(probs) < 1 by rounding
        return rng.standard_exponential(size) / rate


@dataclass(frozen=True)
class LogNormal(Distribution):
    """Lognormal distribution with the given ``mean`` and squared coefficient of variation ``scv``.

    Parameters
    ----------
    mean : float
        E[X], > 0.
    scv : float
        Var[X] / E[X]^2, > 0.

    Notes
    -----
    :math:`\\ln X \\sim N(\\mu, \\sigma^2)` with :math:`\\sigma^2 = \\ln(1 + c^2)` and
    :math:`\\mu = \\ln m - \\sigma^2/2` (Johnson, Kotz & Balakrishnan 1994, ch. 14):
    :math:`E[X^k] = e^{k\\mu + k^2\\sigma^2/2} = m^k (1 + c^2)^{k(k-1)/2}`,
    :math:`F(x) = \\Phi((\\ln x - \\mu)/\\sigma)`,
    :math:`E[X^k; X \\le x] = E[X^k]\\,\\Phi((\\ln x - \\mu - k\\sigma^2)/\\sigma)`.
    The Laplace transform has no closed form; it is computed by adaptive
    quadrature (:func:`scipy.integrate.quad`) over :math:`z = (\\ln x - \\mu)/\\sigma`,
    one call per value of ``s`` (slow for large arrays).
    ``to_scipy()`` gives ``scipy.stats.lognorm(sigma, scale=exp(mu))``.

    Examples
    --------
    >>> d = LogNormal(mean=2.0, scv=3.0)
    >>> d.variance, d.moment(2), round(d.sigma**2, 6)  # sigma^2 = ln 4
    (12.0, 16.0, 1.386294)
    """

    mean: float
    scv: float

    def __post_init__(self):
        object.__setattr__(self, "mean", _scalar(positive, "mean", self.mean))
        object.__setattr__(self, "scv", _scalar(positive, "scv", self.scv))

    @property
    def sigma(self) -> float:
        """Standard deviation of ln X, sqrt(ln(1 + scv))."""
        return math.sqrt(math.log1p(self.scv))

    @property
    def mu(self) -> float:
        """Mean of ln X, ln(mean) - sigma^2 / 2."""
        return math.log(self.mean) - 0.5 * math.log1p(self.scv)

    @property
    def variance(self):
        return self.mean * self.mean * self.scv

    def _raw_moment(self, k):
        direct = _pow(self.mean, k) * _pow(1.0 + self.scv, k * (k - 1) / 2)
        if 0.0 < direct < math.inf:
            return direct
        return _exp(k * math.log(self.mean) + 0.5 * k * (k - 1) * math.log1p(self.scv))

    def _standardised_log(self, x, shift=0.0):
        with np.errstate(divide="ignore"):
            return (np.log(np.maximum(x, 0.0)) - self.mu - shift) / self.sigma

    def _cdf(self, x):
        return special.ndtr(self._standardised_log(x))

    def _partial_moment(self, k, x):
        p = special.ndtr(self._standardised_log(x, shift=k * self.sigma**2))
        return np.where(p > 0, self._raw_moment(k) * p, 0.0)

    def _laplace_one(self, s: float) -> float:
        # E[exp(-s X)] = integral of exp(-s e^{mu + sigma z}) phi(z) dz; the standard
        # normal density phi is below 1e-300 outside |z| < 37, and the cutoff
        # factor drops from 1 to 0 around z0 = (-ln s - mu) / sigma.
        if s == 0.0:
            return 1.0
        mu, sigma = self.mu, self.sigma

        def integrand(z):
            with np.errstate(over="ignore"):
                return np.exp(-s * np.exp(mu + sigma * z) - 0.5 * z * z)

        z0 = min(max((-math.log(s) - mu) / sigma, -36.0), 36.0)
        value = math.fsum(
            # relative accuracy only: an absolute 1e-16 stopped quad early on values ~1e-38
            # (36 % off at s = 1e6; tests/test_dists.py::test_lognormal_laplace_deep_tail)
            integrate.quad(integrand, lo, hi, epsabs=0.0, epsrel=1e-13, limit=200)[0]
            for lo, hi in ((-37.0, z0), (z0, 37.0))
        )
        return value / math.sqrt(2.0 * math.pi)

    def _laplace(self, s):
        return np.vectorize(self._laplace_one, otypes=[float])(s)

    def _sample(self, rng, size):
        return rng.lognormal(self.mu, self.sigma, size)

    def to_scipy(self):
        return stats.lognorm(self.sigma, scale=math.exp(self.mu))


@dataclass(frozen=True)
class Uniform(Distribution):
    """Continuous uniform distribution on ``[low, high]``.

    Parameters
    ----------
    low : float
        Lower end, >= 0.
    high : float
        Upper end, > low.

    Notes
    -----
    With :math:`a` = low, :math:`b` = high (Johnson, Kotz & Balakrishnan 1995,
    vol. 2, ch. 26): :math:`E[X^k] = (b^{k+1} - a^{k+1})/((k+1)(b-a))`,
    :math:`\\mathrm{Var} = (b-a)^2/12`, :math:`F(x) = (x-a)/(b-a)` on [a, b],
    :math:`E[X^k; X \\le x] = (y^{k+1} - a^{k+1})/((k+1)(b-a))` with
    :math:`y = \\min(\\max(x, a), b)`,
    :math:`E[e^{-sX}] = (e^{-sa} - e^{-sb})/(s(b-a))`.  Differences are
    evaluated with ``log1p``/``expm1`` so that narrow intervals keep full
    precision.  ``to_scipy()`` gives ``scipy.stats.uniform(low, high - low)``.

    Examples
    --------
    >>> d = Uniform(1.0, 3.0)
    >>> d.mean, d.variance, d.moment(2), d.cdf(2.5)
    (2.0, 0.3333333333333333, 4.333333333333333, 0.75)
    """

    low: float
    high: float

    def __post_init__(self):
        low = _scalar(nonnegative, "low", self.low)
        high = _scalar(real_array, "high", self.high)
        if not high > low:
            raise InvalidParameter(f"high must be > low ({low!r}), got {high!r}")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    @property
    def mean(self):
        return 0.5 * (self.low + self.high)

    @property
    def variance(self):
        width = self.high - self.low
        return width * width / 12.0

    def _raw_moment(self, k):
        # (b^{k+1} - a^{k+1}) / ((k+1)(b-a)) = b^k (1 - r^{k+1}) / ((k+1)(1-r)), r = a/b
        a, b = self.low, self.high
        one_minus_r = (b - a) / b  # accurate even when a is close to b
        if a < 0.5 * b:  # no cancellation in the textbook formula unless it overflows
            direct = (_pow(b, k + 1) - _pow(a, k + 1)) / ((k + 1) * (b - a))
            if direct < math.inf:
                return direct
            one_minus_rk1 = 1.0 - _pow(a / b, k + 1)
        else:
            one_minus_rk1 = -math.expm1((k + 1) * math.log1p(-one_minus_r))
        return _pow(b, k) * one_minus_rk1 / ((k + 1) * one_minus_r)

    def _cdf(self, x):
        return np.clip((x - self.low) / (self.high - self.low), 0.0, 1.0)

    def _partial_moment(self, k, x):
        a, b = self.low, self.high
        y = np.clip(x, a, b)
        return (y ** (k + 1) - a ** (k + 1)) / ((k + 1) * (b - a))

    def _laplace(self, s):
        width = self.high - self.low
        sw = s * width
        safe = np.where(sw > 0, sw, 1.0)
        return np.exp(-s * self.low) * np.where(sw > 0, -np.expm1(-sw) / safe, 1.0)

    def _sample(self, rng, size):
        return rng.uniform(self.low, self.high, size)

    def to_scipy(self):
        return stats.uniform(self.low, self.high - self.low)


@dataclass(frozen=True)
class Empirical(Distribution):
    """The empirical distribution of observed values (each with weight 1/n).

    Parameters
    ----------
    samples : sequence of float
        At least one finite value >= 0, not all zero.  Stored as a tuple of
        floats in the given order, so equal samples give equal (and equally
        hashed) distributions.

    Notes
    -----
    With observations :math:`x_1, \\dots, x_n` (population moments, ddof = 0):
    :math:`E[X^k] = \\frac1n \\sum_i x_i^k`, :math:`\\mathrm{Var} = \\frac1n \\sum_i (x_i - \\bar x)^2`,
    :math:`F(x) = \\#\\{i: x_i \\le x\\}/n` (the ECDF),
    :math:`E[X^k; X \\le x] = \\frac1n \\sum_{x_i \\le x} x_i^k`,
    :math:`E[e^{-sX}] = \\frac1n \\sum_i e^{-s x_i}`.  ``sample`` resamples with
    replacement (bootstrap).  ``to_scipy()`` gives a ``scipy.stats.rv_discrete``
    on the distinct values.

    Examples
    --------
    >>> d = Empirical([1.0, 2.0, 3.0, 6.0])
    >>> d.mean, d.variance, d.cdf(2.5), d.partial_moment(1, 2.5)
    (3.0, 3.5, 0.5, 0.75)
    """

    samples: tuple[float, ...]

    def __post_init__(self):
        arr = _vector(nonnegative, "samples", self.samples)
        if not arr.any():
            raise InvalidParameter(f"samples must not all be zero (mean must be > 0), got {_fmt(arr)}")
        object.__setattr__(self, "samples", tuple(arr.tolist()))

    @cached_property
    def _sorted(self) -> np.ndarray:
        arr = np.sort(np.array(self.samples))
        arr.flags.writeable = False
        return arr

    @property
    def mean(self):
        return float(np.mean(self._sorted))

    @property
    def variance(self):
        return float(np.var(self._sorted))

    def _raw_moment(self, k):
        with np.errstate(over="ignore"):
            return float(np.mean(self._sorted**k))

    def _cdf(self, x):
        return np.searchsorted(self._sorted, x, side="right") / self._sorted.size

    def _partial_moment(self, k, x):
        with np.errstate(over="ignore"):
            cumulative = np.concatenate(([0.0], np.cumsum(self._sorted**k)))
        return cumulative[np.searchsorted(self._sorted, x, side="right")] / self._sorted.size

    def _laplace(self, s):
        return np.mean(np.exp(-np.multiply.outer(s, self._sorted)), axis=-1)

    def _sample(self, rng, size):
        return rng.choice(self._sorted, size=size, replace=True)

    def to_scipy(self):
        values, counts = np.unique(self._sorted, return_counts=True)
        return stats.rv_discrete(values=(values, counts / self._sorted.size))


# ---------------------------------------------------------------------------
# trace replay
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Sequential(Distribution):
    """Measured values replayed in their order (trace-driven simulation), like Ciw's ``Sequential``.

    In the simulator a VM whose ``arrival`` (interarrival times) or
    ``service`` is ``Sequential`` gets exactly these values, one per job, in
    this order: the trace is one sample path.  As a distribution it is the
    empirical law of the values (moments, ``cdf``, ``laplace`` as
    :class:`Empirical`), so predictions and offered loads see the trace's
    moments.

    Parameters
    ----------
    values : sequence of float
        Nonnegative values (at least one, not all zero), in replay order.
    cycle : bool, default False
        What happens after the last value.  False (the default): the replay
        **ends** — an arrival stream simply has no more arrivals (the trace is
        over), while running out of service times, or ``sample`` asked for
        more values than there are, raises :class:`~virtmodel.errors.InvalidParameter`
        saying how many there are.  Nothing is invented past the end of a
        measurement unless asked.  True: start again from the first value
        (Ciw's behaviour), for a short pattern repeated for ever.

    Notes
    -----
    ``sample(rng, size)`` returns the *first* ``size`` values in order (it
    does not use ``rng``; a replay has no randomness), cycling if
    ``cycle=True``.  The simulator replays the whole sequence with
    :meth:`replay`.  Moments are population moments of the values:
    :math:`E[X^k] = \\frac1n \\sum_i x_i^k`.

    Examples
    --------
    >>> d = Sequential([3.0, 1.0, 2.0])
    >>> d.mean, d.variance
    (2.0, 0.6666666666666666)
    >>> import numpy as np
    >>> d.sample(np.random.default_rng(0), 2).tolist()
    [3.0, 1.0]
    >>> Sequential([3.0, 1.0], cycle=True).sample(np.random.default_rng(0), 5).tolist()
    [3.0, 1.0, 3.0, 1.0, 3.0]
    >>> list(d.replay())
    [3.0, 1.0, 2.0]
    """

    values: tuple[float, ...]
    cycle: bool = False

    def __post_init__(self):
        arr = _vector(nonnegative, "values", self.values)
        if not arr.any():
            raise InvalidParameter(f"values must not all be zero (mean must be > 0), got {_fmt(arr)}")
        if not isinstance(self.cycle, bool):
            raise InvalidParameter(f"cycle must be True or False, got {self.cycle!r}")
        object.__setattr__(self, "values", tuple(arr.tolist()))

    def __len__(self) -> int:
        return len(self.values)

    @cached_property
    def _law(self) -> Empirical:
        return Empirical(self.values)

    @property
    def mean(self):
        return self._law.mean

    @property
    def variance(self):
        return self._law.variance

    def _raw_moment(self, k):
        return self._law._raw_moment(k)

    def _cdf(self, x):
        return self._law._cdf(x)

    def _partial_moment(self, k, x):
        return self._law._partial_moment(k, x)

    def _laplace(self, s):
        return self._law._laplace(s)

    def replay(self):
        """Iterator over the values in order (endless when ``cycle`` is True)."""
        if self.cycle:
            while True:
                yield from self.values
        else:
            yield from self.values

    def _sample(self, rng, size):
        shape = size if isinstance(size, tuple) else (size,)
        total = int(np.prod(shape, dtype=np.int64))
        n = len(self.values)
        if total > n and not self.cycle:
            raise InvalidParameter(
                f"size must be <= {n} (the number of values of this Sequential), got {total}; "
                "pass cycle=True to repeat the values")
        out = np.resize(np.array(self.values, dtype=np.float64), total)
        return out.reshape(shape) if isinstance(size, tuple) else out

    def to_scipy(self):
        return self._law.to_scipy()


# ---------------------------------------------------------------------------
# counts and compound sums (virtualization overhead)
# ---------------------------------------------------------------------------


def _stirling2(k: int, j: int) -> int:
    """Stirling number of the second kind S(k, j) (set partitions of k items into j blocks)."""
    row = [1]  # S(0, 0) = 1
    for n in range(1, k + 1):
        row = [0] + [
            (i * row[i] if i < len(row) else 0) + row[i - 1] for i in range(1, n + 1)
        ]
    return row[j] if j < len(row) else 0


def _stirling1(j: int, i: int) -> int:
    """Signed Stirling number of the first kind s(j, i): (n)_j = sum_i s(j, i) n^i."""
    row = [1]  # s(0, 0) = 1
    for n in range(1, j + 1):
        row = [0] + [
            row[m - 1] - (n - 1) * (row[m] if m < len(row) else 0) for m in range(1, n + 1)
        ]
    return row[i] if i < len(row) else 0


def _partial_bell(k: int, j: int, x: list) -> float:
    """Partial (exponential) Bell polynomial B_{k,j}(x_1, ..., x_{k-j+1}); ``x[i-1]`` is x_i.

    Recurrence B_{k,j} = sum_{i=1}^{k-j+1} C(k-1, i-1) x_i B_{k-i, j-1}, B_{0,0} = 1
    (Comtet, *Advanced Combinatorics*, Reidel 1974, §3.3).
    """
    table = {(0, 0): 1.0}

    def b(n, m):
        if (n, m) in table:
            return table[n, m]
        if m == 0 or n < m:
            return 0.0
        total = 0.0
        for i in range(1, n - m + 2):
            inner = b(n - i, m - 1)
            if inner != 0.0:
                total += math.comb(n - 1, i - 1) * x[i - 1] * inner
        table[n, m] = total
        return total

    return b(k, j)


def _is_count(dist) -> bool:
    """True when ``dist`` takes only nonnegative integer values."""
    if isinstance(dist, Poisson) or getattr(dist, "integer_valued", False):
        return True
    if isinstance(dist, Deterministic):
        return float(dist.value).is_integer()
    if isinstance(dist, Empirical):
        return all(float(v).is_integer() for v in dist.samples)
    return False


def _factorial_moment(count, j: int) -> float:
    """E[(N)_j] = E[N (N-1) ... (N-j+1)] of a count distribution (exact)."""
    if j == 0:
        return 1.0
    if isinstance(count, Poisson):
        return _pow(count.mean, j)
    if isinstance(count, Deterministic):
        n = int(count.value)
        return float(math.perm(n, j)) if j <= n else 0.0
    if isinstance(count, Empirical):
        return math.fsum(float(math.perm(int(v), j)) if j <= v else 0.0 for v in count.samples) / len(
            count.samples)
    terms = [_stirling1(j, i) * count.moment(i) for i in range(1, j + 1)]
    return max(math.fsum(terms), 0.0) if all(math.isfinite(t) for t in terms) else math.inf


@dataclass(frozen=True)
class Poisson(Distribution):
    """Poisson count with mean ``mean``: P(N = n) = e^{-m} m^n / n!, n = 0, 1, 2, ...

    An integer-valued distribution (zero allowed), used as the number of VM
    exits per job in :class:`Compound` and of I/O exits in :class:`virtmodel.Virtualization`.

    Parameters
    ----------
    mean : float
        m = E[N] = Var[N], > 0.

    Notes
    -----
    Johnson, Kemp & Kotz, *Univariate Discrete Distributions*, 3rd ed., Wiley
    2005, ch. 4: factorial moments :math:`E[(N)_j] = m^j`, so the raw moments
    are the Touchard polynomials :math:`E[N^k] = \\sum_j S(k, j) m^j` (Stirling
    numbers of the second kind); :math:`E[N^k; N \\le x] = \\sum_j S(k, j) m^j
    P(N \\le x - j)`; :math:`E[e^{-sN}] = \\exp(m (e^{-s} - 1))`.
    ``to_scipy()`` gives ``scipy.stats.poisson(mean)``.

    Examples
    --------
    >>> d = Poisson(2.0)
    >>> d.mean, d.variance, d.moment(2), d.moment(3)
    (2.0, 2.0, 6.0, 22.0)
    >>> round(d.cdf(0), 12) == round(math.exp(-2.0), 12)
    True
    """

    mean: float
    integer_valued = True

    def __post_init__(self):
        object.__setattr__(self, "mean", _scalar(positive, "mean", self.mean))

    @property
    def variance(self):
        return self.mean

    def _raw_moment(self, k):
        return math.fsum(_stirling2(k, j) * _pow(self.mean, j) for j in range(1, k + 1))

    def _cdf(self, x):
        return stats.poisson.cdf(np.floor(np.maximum(x, -1.0)), self.mean)

    def _partial_moment(self, k, x):
        if k == 0:
            return self._cdf(x)
        return sum(_stirling2(k, j) * _pow(self.mean, j) * self._cdf(x - j) for j in range(1, k + 1))

    def _laplace(self, s):
        return np.exp(self.mean * np.expm1(-s))

    def _sample(self, rng, size):
        return rng.poisson(self.mean, size).astype(np.float64)

    def to_scipy(self):
        return stats.poisson(self.mean)


_GAMMA_ADDENDS = (Exponential, Erlang, Gamma)


@dataclass(frozen=True)
class Compound(Distribution):
    """S' = S + C_1 + ... + C_N: a ``base`` time plus a random number of random addends.

    The service of a job in a VM that takes N exits to the hypervisor, each
    costing C_i, when N does not depend on the job's length (exits that come
    per unit of guest work are :class:`virtmodel.overhead.ExitInflated`,
    what :class:`virtmodel.Virtualization` uses).  S, N and the C_i are
    independent; the C_i are i.i.d.

    Parameters
    ----------
    base : Distribution
        S (the native service time).
    count : Distribution
        N, integer-valued and >= 0 (:class:`Poisson`, an integer
        :class:`Deterministic`, an :class:`Empirical` of integers, or any
        distribution with ``integer_valued = True``).
    addend : Distribution
        C (the cost of one exit).

    Notes
    -----
    With Y = C_1 + ... + C_N, conditioning on N = n gives the moments of a sum
    of n i.i.d. terms, :math:`E[(C_1 + \\dots + C_n)^k] = \\sum_{j=1}^{k} (n)_j
    B_{k,j}(E[C], E[C^2], \\dots)` (partial Bell polynomials; Comtet 1974,
    §3.3), so

    .. math:: E[Y^k] = \\sum_{j=1}^{k} E[(N)_j]\\, B_{k,j}(E[C], \\dots, E[C^{k-j+1}]),
              \\qquad E[S'^k] = \\sum_{i=0}^{k} \\binom{k}{i} E[S^i] E[Y^{k-i}],

    exact for every k (e.g. :math:`E[Y^2] = E[N] E[C^2] + E[N(N-1)] E[C]^2`,
    :math:`E[Y^3] = E[N]E[C^3] + 3E[(N)_2]E[C]E[C^2] + E[(N)_3]E[C]^3`).  Mean
    and variance: :math:`E[S'] = E[S] + E[N]E[C]`,
    :math:`\\mathrm{Var} = \\mathrm{Var}\\,S + E[N]\\mathrm{Var}\\,C + \\mathrm{Var}\\,N\\,E[C]^2`
    (Wald; Ross, *Stochastic Processes*, 2nd ed., Wiley 1996, §1.5 and
    Feller, vol. 1, 3rd ed., 1968, §XII.1 for compound sums).
    Transform: :math:`E[e^{-sS'}] = L_S(s)\\, G_N(L_C(s))` with the
    generating function :math:`G_N(z) = E[z^N] = L_N(-\\ln z)`.
    ``cdf`` and ``partial_moment`` condition on N (truncated where
    :math:`P(N > n) < 10^{-14}`) and are implemented for a deterministic or
    gamma-family (Exponential, Erlang, Gamma) addend: then :math:`C_1 + \\dots + C_n`
    is :math:`n c` or Gamma(n a, b), and one quadrature over it remains;
    other addends raise :class:`~virtmodel.errors.NoClosedForm`.
    ``sample`` is vectorised (one block of S, one of N, one of all the C).

    Examples
    --------
    >>> d = Compound(Exponential(1.0), Poisson(2.0), Deterministic(0.1))
    >>> round(d.mean, 12), round(d.variance, 12)          # 1 + 2*0.1, 1 + 2*0.01
    (1.2, 1.02)
    """

    base: Distribution
    count: Distribution
    addend: Distribution

    def __post_init__(self):
        for name in ("base", "count", "addend"):
            value = getattr(self, name)
            if not isinstance(value, Distribution):
                raise InvalidParameter(f"{name} must be a virtmodel.dists Distribution, got {value!r}")
        if not _is_count(self.count):
            raise InvalidParameter(
                "count must be an integer-valued distribution (Poisson, integer Deterministic, Empirical "
                f"of integers, or integer_valued = True), got {self.count!r}"
            )

    # -- moments ---------------------------------------------------------------

    @property
    def mean(self):
        return self.base.mean + self.count.mean * self.addend.mean

    @property
    def variance(self):
        c1 = self.addend.mean
        return self.base.variance + self.count.mean * self.addend.variance + self.count.variance * c1 * c1

    def _sum_moment(self, m: int) -> float:
        """E[Y^m] for Y = C_1 + ... + C_N."""
        if m == 0:
            return 1.0
        c = [self.addend.moment(i) for i in range(1, m + 1)]
        total = 0.0
        for j in range(1, m + 1):
            fm = _factorial_moment(self.count, j)
            if fm == 0.0:
                continue
            bell = _partial_bell(m, j, c)
            total += fm * bell
        return total

    def _raw_moment(self, k):
        total = 0.0
        for i in range(k + 1):
            term = math.comb(k, i) * self.base.moment(i) * self._sum_moment(k - i)
            if math.isnan(term):
                return math.inf
            total += term
        return total

    # -- distribution of the count ------------------------------------------------

    @cached_property
    def _count_pmf(self) -> np.ndarray:
        """P(N = n) for n = 0 .. n_max with P(N > n_max) < 1e-14."""
        n_max = max(int(self.count.mean + 40.0 * math.sqrt(self.count.variance) + 40), 1)
        while True:
            cdf = np.asarray(self.count.cdf(np.arange(n_max + 1)), dtype=float)
            if 1.0 - cdf[-1] < 1e-14 or n_max > 10**6:
                break
            n_max *= 2
        pmf = np.diff(np.concatenate(([0.0], cdf)))
        pmf.flags.writeable = False
        return pmf

    def _addend_sum(self):
        """(kind, parameter) of C_1 + ... + C_n: ("point", c) or ("gamma", (shape, rate))."""
        if isinstance(self.addend, Deterministic):
            return "point", self.addend.value
        if isinstance(self.addend, _GAMMA_ADDENDS):
            return "gamma", (self.addend._shape, self.addend._phase_rate)
        from .errors import NoClosedForm

        raise NoClosedForm(
            "Compound.cdf and partial_moment need a Deterministic or gamma-family (Exponential, Erlang, "
            f"Gamma) addend, so that a sum of n addends has a closed form; got {self.addend!r}"
        )

    def _conditioned(self, x: np.ndarray, k: int) -> np.ndarray:
        """E[S'^k; S' <= x] (k = 0: the cdf), conditioning on N."""
        kind, par = self._addend_sum()
        pmf = self._count_pmf
        n = np.arange(pmf.size)

        def inner(xv, t):
            # E[(S + t)^k; S <= xv - t] for a fixed sum t of the addends
            if k == 0:
                return np.asarray(self.base.cdf(xv - t), dtype=float)
            return sum(math.comb(k, i) * np.power(t, k - i) * np.asarray(self.base.partial_moment(i, xv - t))
                       for i in range(k + 1))

        if kind == "point":
            t = n * par
            return np.array([float(pmf @ inner(xv, t)) for xv in np.ravel(x)]).reshape(np.shape(x))
        shape, rate = par
        nz = n[1:]
        weights = pmf[1:]

        def density(t):  # the continuous part of Y's density: sum_n p_n Gamma(n a, b) pdf
            return float(weights @ stats.gamma.pdf(t, nz * shape, scale=1.0 / rate))

        out = []
        for xv in np.ravel(x):
            atom = pmf[0] * float(inner(xv, 0.0))
            if not xv > 0:
                out.append(atom if xv >= 0 else 0.0)
                continue
            if xv == math.inf:
                out.append(self.moment(k) if k else 1.0)
                continue
            # Y's continuous part lies below t_max up to < 1e-14 of its mass (gamma tails)
            top_shape = (pmf.size - 1) * shape
            upper = min(xv, (top_shape + 40.0 * math.sqrt(top_shape) + 40.0) / rate)
            centre = self.count.mean * shape / rate
            value = integrate.quad(lambda t, xv=xv: float(inner(xv, t)) * density(t), 0.0, upper,
                                   points=[centre] if 0.0 < centre < upper else None,
                                   epsabs=1e-13, epsrel=1e-10, limit=200)[0]
            out.append(atom + value)
        return np.array(out, dtype=float).reshape(np.shape(x))

    def _cdf(self, x):
        return np.clip(self._conditioned(x, 0), 0.0, 1.0)

    def _partial_moment(self, k, x):
        return self._conditioned(x, k)

    def _laplace(self, s):
        lc = np.maximum(np.asarray(self.addend.laplace(s), dtype=float), np.finfo(float).tiny)
        pgf = np.asarray(self.count.laplace(-np.log(lc)), dtype=float)
        return np.asarray(self.base.laplace(s), dtype=float) * pgf

    def _sample(self, rng, size):
        shape = size if isinstance(size, tuple) else (size,)
        total = int(np.prod(shape, dtype=np.int64))
        base = self.base.sample(rng, total)
        counts = np.rint(self.count.sample(rng, total)).astype(np.int64)
        costs = self.addend.sample(rng, int(counts.sum()))
        owner = np.repeat(np.arange(total), counts)
        extra = np.bincount(owner, weights=costs, minlength=total)
        out = base + extra
        return out.reshape(shape) if isinstance(size, tuple) else out
