"""Per-policy M/G/1 results: priority, SJF, SRPT, PSJF, PS, round robin, delay-dependent priority.

Every model here is multi-class: class ``i`` is a Poisson stream of rate
``arrival_rates[i]`` whose jobs have the service distribution ``services[i]``,
and all classes share one server (a pCPU) unless the model says otherwise.
Models are frozen dataclasses checked in ``__post_init__``; results are
properties that return a numpy array with one entry per class, in the order the
classes were given, and ``overall_*`` properties for all classes together:
``overall_utilization``, ``overall_throughput`` and ``overall_mean_number`` are
sums, ``overall_mean_response`` and ``overall_mean_wait`` are means weighted by
the arrival rates (the mean over all jobs).  Metric names follow DESIGN.md:
``mean_wait`` is the queueing delay before a job's *first* service,
``mean_response`` arrival to departure, ``mean_number`` the mean number of the
class in the system (Little's law, ``lambda_i T_i``).  ``mean_wait`` exists only
where the model gives it exactly.

Size-based policies (SJF, SRPT, PSJF, PS) work on the merged stream of rate
``lambda = sum lambda_i`` whose job sizes are the mixture of the classes'
services; with ``rho(x) = lambda E[S; S <= x] = sum_i lambda_i E[S_i; S_i <= x]``
(the load of jobs of size at most ``x``) and ``rho(x^-)`` the same with ``<``.
Ties between jobs of equal size are served in arrival order, which matters
only when a service distribution has atoms (Deterministic, Empirical); the
formulas below are written with ``rho(x^-)`` where it does, so that for
example SJF, SRPT and PSJF with one deterministic class all reduce to the
M/D/1 FCFS queue, as they must.

Per-class means ``E_i[T] = E[E[T | X]]`` over the class's own distribution are
computed by :func:`_expect`: exactly for deterministic and empirical services,
as a mixture for the hyperexponential, and otherwise by composite
Gauss-Legendre quadrature on the density, split at its quantiles and at the
atoms of the other classes (where the conditional response time jumps).
Integrals over a finite range with few pieces use :func:`scipy.integrate.quad`.

References
----------
Cobham, "Priority assignment in waiting line problems", *Operations Research*
2 (1954) 70-76.
Kleinrock, "A delay dependent queue discipline", *Naval Research Logistics
Quarterly* 11 (1964) 329-341.
Kleinrock, *Queueing Systems, Vol. II: Computer Applications* (Wiley, 1976),
ch. 3 (priority, conservation law, delay-dependent priority) and ch. 4
(round robin, processor sharing).
Schrage & Miller, "The queue M/G/1 with the shortest remaining processing time
discipline", *Operations Research* 14 (1966) 670-684.
Wierman & Harchol-Balter, "Classifying scheduling policies with respect to
unfairness in an M/GI/1", *Proc. ACM SIGMETRICS* (2003), sec. 2 (the
conditional response times of SRPT and PSJF used here).
Harchol-Balter, *Performance Modeling and Design of Computer Systems*
(Cambridge University Press, 2013), part VII (chs. 29-33).
Gross, Shortle, Thompson & Harris, *Fundamentals of Queueing Theory*, 4th ed.
(Wiley, 2008), Sec. 3.4 (M/M/c with priorities).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .._lazy import lazy
from .._validation import _fmt, as_output, nonnegative, positive
from ..dists import (
    Deterministic,
    Distribution,
    Empirical,
    Exponential,
    HyperExponential,
)
from ..errors import InvalidParameter, NoClosedForm, UnstableSystem
from .queues import MMc, erlang_c

integrate = lazy("scipy.integrate")

__all__ = [
    "MG1Priority",
    "MMcPriority",
    "MG1SJF",
    "MG1SRPT",
    "MG1PSJF",
    "MG1PS",
    "MG1RoundRobin",
    "MG1DelayDependent",
    "conservation_sum",
]

# Quantile levels at which quadrature over a continuous density is split.
_LEVELS = (1e-15, 1e-12, 1e-9, 1e-6, 1e-3, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999,
           1 - 1e-6, 1 - 1e-9)
# Above this many breakpoints a piecewise integral uses vectorised Gauss-Legendre, not quad.
_MAX_QUAD_SEGMENTS = 48
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(24)
# The unbounded last piece [top, inf) is cut at top * 2^k, k = 0..60 (top is past the 1 - 1e-9 quantile).
_TAIL_DOUBLINGS = 60
# Each gap between split points is cut into this many Gauss-Legendre pieces.
_SUBDIVIDE = 4
# Quad tolerances (absolute tolerance 0: the relative one governs).
_EPSREL = 1e-11


# --------------------------------------------------------------------------- numerics


def _atoms(dist) -> np.ndarray:
    """Points of positive probability of ``dist`` (empty for continuous laws)."""
    if isinstance(dist, Deterministic):
        return np.array([dist.value])
    if isinstance(dist, Empirical):
        return np.unique(np.array(dist.samples))
    return np.empty(0)


def _atom_mass(dist, x: np.ndarray) -> np.ndarray:
    """P(X = x), broadcasting over ``x``."""
    if isinstance(dist, Deterministic):
        return np.where(x == dist.value, 1.0, 0.0)
    if isinstance(dist, Empirical):
        s = np.sort(np.array(dist.samples))
        count = np.searchsorted(s, x, side="right") - np.searchsorted(s, x, side="left")
        return count / s.size
    return np.zeros_like(np.asarray(x, dtype=float))


def _quad(g, a: float, b: float, atoms=()) -> float:
    """Integral of scalar ``g`` over [a, b] (b may be inf), split at the ``atoms`` inside."""
    if not b > a:
        return 0.0
    if math.isinf(b):
        return integrate.quad(g, a, b, epsabs=0.0, epsrel=_EPSREL, limit=200)[0]
    inside = [p for p in atoms if a < p < b]
    return integrate.quad(g, a, b, points=inside or None, epsabs=0.0, epsrel=_EPSREL, limit=400)[0]


def _gauss_pieces(h, pts: np.ndarray) -> np.ndarray:
    """Integrals of vectorised ``h`` over [pts[j], pts[j+1]] by 24-point Gauss-Legendre (one call)."""
    lo, hi = pts[:-1], pts[1:]
    half = 0.5 * (hi - lo)
    nodes = (0.5 * (hi + lo))[:, None] + half[:, None] * _GL_NODES
    return half * (h(nodes) @ _GL_WEIGHTS)


def _piecewise_integrals(g, edges: np.ndarray, atoms: np.ndarray) -> np.ndarray:
    """Integrals of vectorised ``g`` over [edges[j], edges[j+1]], finite sorted edges.

    ``g`` may jump at ``atoms``.  Few edges and atoms: adaptive quad on each
    segment, split at the atoms.  Many (an empirical distribution with many
    distinct values): 24-point Gauss-Legendre on every piece between
    consecutive edges and atoms, in one vectorised call (``g`` is smooth there).
    """
    edges = np.asarray(edges, dtype=float)
    if edges.size < 2:
        return np.zeros(0)
    inner = atoms[(atoms > edges[0]) & (atoms < edges[-1])]
    if edges.size + inner.size <= _MAX_QUAD_SEGMENTS:
        def scalar(t):
            return float(g(np.array([t]))[0])

        return np.array([_quad(scalar, lo, hi, inner) for lo, hi in zip(edges[:-1], edges[1:], strict=True)])
    pts = np.unique(np.concatenate([edges, inner]))
    cum = np.concatenate([[0.0], np.cumsum(_gauss_pieces(g, pts))])
    return np.diff(cum[np.searchsorted(pts, edges)])


def _continuous_edges(frozen) -> tuple[np.ndarray, float]:
    """Finite split points (support start and quantiles) and the support's upper end."""
    low, high = (float(v) for v in frozen.support())
    qs = frozen.ppf(np.array(_LEVELS))
    edges = np.unique(np.concatenate([[low], qs[np.isfinite(qs)], [high] if math.isfinite(high) else []]))
    return edges[(edges >= low) & (edges <= high)], high


def _subdivide(a: float, b: float) -> np.ndarray:
    """Left ends of the parts of [a, b]: geometric where b/a > 4 (power-law ends), else equal parts."""
    if a > 0 and b > 4 * a:
        n = min(math.ceil(math.log2(b / a)), 60)
        return a * (b / a) ** (np.arange(n) / n)
    return a + (b - a) * np.arange(_SUBDIVIDE) / _SUBDIVIDE


def _integrate_density(h, frozen, atoms: np.ndarray) -> float:
    """Integral of vectorised ``h`` over the support of ``frozen``; ``h`` may jump at ``atoms``.

    The caller folds the density (or survival function) into ``h``; this
    chooses the pieces: the quantiles in ``_LEVELS`` and the atoms, each gap cut
    in ``_SUBDIVIDE`` equal parts (when there are few), 24-point Gauss-Legendre
    on every part in one vectorised call, and on an unbounded support the pieces
    ``[top 2^k, top 2^(k+1)]``, ``k < 60``, beyond the last split point ``top``.
    One vectorised evaluation instead of adaptive quad's thousand scalar ones
    keeps a prediction well under 0.5 s; ``h`` is smooth on each piece, where
    Gauss-Legendre converges fast (the tests check 1e-9 against mpmath).
    """
    edges, high = _continuous_edges(frozen)
    atoms = atoms[(atoms > edges[0]) & (atoms < high)]
    top = float(max(edges[-1], atoms.max() if atoms.size else edges[-1]))
    pts = np.unique(np.concatenate([edges, atoms, [top]]))
    if pts.size < 200:
        pts = np.concatenate([_subdivide(a, b) for a, b in zip(pts[:-1], pts[1:], strict=True)] + [pts[-1:]])
    if math.isinf(high):
        pts = np.concatenate([pts, max(top, 1e-300) * 2.0 ** np.arange(1, _TAIL_DOUBLINGS + 1)])
    return float(_gauss_pieces(h, pts).sum())


def _expect(dist, func, atoms=()) -> float:
    """E[func(X)] for X ~ ``dist``; ``func`` maps a float array to a float array.

    Deterministic: ``func(value)``; Empirical: the mean of ``func`` over the
    samples; HyperExponential: the mixture of the exponential phases; other
    distributions: composite Gauss-Legendre quadrature of ``func * pdf`` on the
    pieces between the quantiles in ``_LEVELS`` and the ``atoms`` where ``func``
    jumps (:func:`_integrate_density`).
    """
    atoms = np.asarray(atoms, dtype=float)
    if isinstance(dist, Deterministic):
        return float(func(np.array([dist.value]))[0])
    if isinstance(dist, Empirical):
        return float(np.mean(func(np.array(dist.samples))))
    if isinstance(dist, HyperExponential):
        return math.fsum(p * _expect(Exponential(rate=mu), func, atoms)
                         for p, mu in zip(dist.probs, dist.rates, strict=True) if p > 0)
    frozen = dist.to_scipy() if isinstance(dist, Distribution) else None
    if frozen is None:
        raise InvalidParameter(f"services must be virtmodel.dists distributions with a density, got {dist!r}")
    return _integrate_density(lambda x: func(x) * frozen.pdf(x), frozen, atoms)


def _tail_expect(dist, g, atoms=()) -> float:
    """E[integral_0^X g(t) dt] = integral_0^inf g(t) P(X > t) dt for X ~ ``dist``."""
    atoms = np.asarray(atoms, dtype=float)
    if isinstance(dist, Deterministic):
        return float(_piecewise_integrals(g, np.array([0.0, dist.value]), atoms).sum())
    if isinstance(dist, Empirical):
        values, counts = np.unique(np.array(dist.samples), return_counts=True)
        survive = 1.0 - np.concatenate([[0.0], np.cumsum(counts)[:-1]]) / counts.sum()  # P(X >= v_j)
        pieces = _piecewise_integrals(g, np.concatenate([[0.0], values]), atoms)
        return float(np.dot(survive, pieces))
    if isinstance(dist, HyperExponential):
        return math.fsum(p * _tail_expect(Exponential(rate=mu), g, atoms)
                         for p, mu in zip(dist.probs, dist.rates, strict=True) if p > 0)
    frozen = dist.to_scipy()
    below = float(_piecewise_integrals(g, np.array([0.0, frozen.support()[0]]), atoms).sum())
    return below + _integrate_density(lambda t: g(t) * frozen.sf(t), frozen, atoms)


# --------------------------------------------------------------------------- validation


def _rates(value, name="arrival_rates") -> np.ndarray:
    if isinstance(value, np.ndarray) and value.ndim == 0 or np.isscalar(value):
        value = [value]
    arr = positive(name, value)
    if arr.ndim != 1 or arr.size == 0:
        raise InvalidParameter(f"{name} must be a non-empty 1-d sequence of numbers, got {_fmt(value)}")
    return arr


def _services(value, n: int, *, need_distribution: bool, name="services") -> tuple:
    if isinstance(value, Distribution) or not hasattr(value, "__iter__"):
        value = (value,)
    value = tuple(value)
    if len(value) != n:
        raise InvalidParameter(
            f"{name} must have one entry per class ({n}, the length of arrival_rates), got {len(value)}"
        )
    for i, d in enumerate(value):
        if need_distribution:
            if not isinstance(d, Distribution):
                raise InvalidParameter(f"{name}[{i}] must be a virtmodel.dists Distribution, got {d!r}")
        elif not (hasattr(d, "mean") and callable(getattr(d, "moment", None))):
            raise InvalidParameter(f"{name}[{i}] must be a distribution with .mean and .moment(k), got {d!r}")
    return value


def _moments(services, k) -> np.ndarray:
    out = np.array([float(d.moment(k)) if k != 1 else float(d.mean) for d in services])
    if np.any(np.isnan(out)) or np.any(out <= 0):
        raise InvalidParameter(f"service moments E[S^{k}] must be > 0, got {_fmt(out)}")
    return out


def _check_stable(model: str, rho: float) -> None:
    if not rho < 1:
        raise UnstableSystem(
            f"{model} has no steady state: utilization must be < 1, got utilization={rho!r}",
            utilization=rho,
        )


def _check_cls(cls, n: int) -> int:
    if isinstance(cls, bool) or not isinstance(cls, (int, np.integer)) or not 0 <= cls < n:
        raise InvalidParameter(f"cls must be a class index in 0..{n - 1}, got {cls!r}")
    return int(cls)


def _sizes(x) -> np.ndarray:
    return nonnegative("x", x)


# --------------------------------------------------------------------------- base class


@dataclass(frozen=True, eq=False)
class _PerClassRates:
    """Per-class ``utilization`` and ``throughput`` from ``_rho`` and ``arrival_rates`` (read-only arrays)."""

    def _readonly(self, arr) -> np.ndarray:
        arr = np.array(arr, dtype=float)
        arr.flags.writeable = False
        return arr

    @property
    def utilization(self) -> np.ndarray:
        """Fraction of time the server works on each class, ``rho_i = lambda_i E[S_i]``."""
        return self._readonly(self._rho)

    @property
    def throughput(self) -> np.ndarray:
        """Completions per unit time of each class, ``lambda_i`` (the system is stable)."""
        return self._readonly(self.arrival_rates)


class _MulticlassModel(_PerClassRates):
    """Shared plumbing: per-class arrival rates, loads and Little's law.

    A subclass validates its inputs, calls :meth:`_setup` and stores the per-class
    mean response times in ``_response`` (and ``_wait`` where exact).
    """

    exact: ClassVar[bool] = True
    _needs_distributions: ClassVar[bool] = True

    def _set(self, **values) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def _setup(self):
        lam = _rates(self.arrival_rates)
        services = _services(self.services, lam.size, need_distribution=self._needs_distributions)
        s1 = _moments(services, 1)
        s2 = _moments(services, 2)
        rho = lam * s1
        _check_stable(type(self).__name__, float(rho.sum()))
        self._set(arrival_rates=lam, services=services, _s1=s1, _s2=s2, _rho=rho,
                  _lam=float(lam.sum()), _load=float(rho.sum()),
                  _w0=float(np.sum(lam * s2)) / 2.0, _wait=None)

    @property
    def mean_response(self) -> np.ndarray:
        """Mean time from arrival to departure of each class, ``T_i``."""
        return self._readonly(self._response)

    @property
    def mean_number(self) -> np.ndarray:
        """Mean number of each class in the system, ``lambda_i T_i`` (Little's law)."""
        return self._readonly(self.arrival_rates * self._response)

    @property
    def mean_wait(self) -> np.ndarray:
        """Mean delay of each class before its first service (where the model gives it exactly)."""
        if self._wait is None:
            raise NoClosedForm(f"{type(self).__name__} gives no exact mean_wait (time to first service)")
        return self._readonly(self._wait)

    @property
    def overall_utilization(self) -> float:
        """Total utilization, ``sum rho_i``."""
        return float(np.sum(self.utilization))

    @property
    def overall_throughput(self) -> float:
        """Total completions per unit time, ``sum lambda_i``."""
        return float(np.sum(self.arrival_rates))

    @property
    def overall_mean_response(self) -> float:
        """Mean response time of an arbitrary job, ``sum lambda_i T_i / lambda``."""
        return float(np.dot(self.arrival_rates, self._response) / np.sum(self.arrival_rates))

    @property
    def overall_mean_number(self) -> float:
        """Mean number in the system, ``sum lambda_i T_i``."""
        return float(np.dot(self.arrival_rates, self._response))

    @property
    def overall_mean_wait(self) -> float:
        """Mean wait before first service of an arbitrary job (rate-weighted)."""
        return float(np.dot(self.arrival_rates, self.mean_wait) / np.sum(self.arrival_rates))


# --------------------------------------------------------------------------- static priority


@dataclass(frozen=True, eq=False)
class MG1Priority(_MulticlassModel):
    """M/G/1 with static priority classes, non-preemptive or preemptive-resume.

    Class 0 is the most important; FCFS within a class.  With
    ``sigma_k = sum_{i<=k} rho_i`` (``sigma_{-1} = 0``) and the mean residual work
    ``R = sum_i lambda_i E[S_i^2] / 2``:

    * non-preemptive (Cobham 1954; Kleinrock 1976, vol. II, §3.6):

      .. math:: W_k = \\frac{R}{(1 - \\sigma_{k-1})(1 - \\sigma_k)}, \\qquad
                E[T \\mid x, k] = W_k + x;

    * preemptive-resume (Kleinrock 1976, vol. II, §3.6; Harchol-Balter 2013,
      ch. 31), with ``R_k = sum_{i<=k} lambda_i E[S_i^2] / 2``:

      .. math:: E[T \\mid x, k] = \\frac{x}{1 - \\sigma_{k-1}}
                + \\frac{R_k}{(1 - \\sigma_{k-1})(1 - \\sigma_k)}.

    ``mean_response`` is ``E[T | E[S_k], k]`` (both are linear in ``x``).  For
    the preemptive case ``mean_wait`` (the time to *first* service) is not the
    classic result and raises :class:`NoClosedForm`.  Exact for Poisson
    arrivals and i.i.d. service; ``services`` need only ``.mean`` and
    ``.moment(2)``.

    Parameters
    ----------
    arrival_rates : sequence of float
        Poisson rate of each class, > 0, in priority order.
    services : sequence of Distribution
        Service time of each class.
    preemptive : bool, default False
        Preemptive-resume instead of non-preemptive.

    Raises
    ------
    UnstableSystem
        If ``sum rho_i >= 1``.

    Examples
    --------
    Two M/M/1 classes at load 0.4 each, mean service 1 (R = 0.8):

    >>> from virtmodel.dists import Exponential
    >>> q = MG1Priority([0.4, 0.4], [Exponential(1.0), Exponential(1.0)])
    >>> q.mean_wait.round(6).tolist()     # 0.8/0.6 and 0.8/(0.6 * 0.2)
    [1.333333, 6.666667]
    >>> round(q.overall_mean_wait, 6)            # = FCFS M/M/1 wait rho/(mu - lambda)
    4.0
    """

    arrival_rates: object
    services: object
    preemptive: bool = False
    _needs_distributions: ClassVar[bool] = False

    def __post_init__(self):
        if not isinstance(self.preemptive, bool):
            raise InvalidParameter(f"preemptive must be True or False, got {self.preemptive!r}")
        self._setup()
        sigma = np.cumsum(self._rho)
        sigma_prev = np.concatenate([[0.0], sigma[:-1]])
        residual = np.cumsum(self.arrival_rates * self._s2) / 2.0 if self.preemptive else np.full(
            sigma.size, self._w0)
        queueing = residual / ((1.0 - sigma_prev) * (1.0 - sigma))
        self._set(_sigma=sigma, _sigma_prev=sigma_prev, _queueing=queueing)
        if self.preemptive:
            self._set(_response=self._s1 / (1.0 - sigma_prev) + queueing)
        else:
            self._set(_response=queueing + self._s1, _wait=queueing)

    def response_given_size(self, x, cls):
        """E[T | size x, class cls]; broadcasts over ``x``."""
        k = _check_cls(cls, self.arrival_rates.size)
        x = _sizes(x)
        if self.preemptive:
            return as_output(x / (1.0 - self._sigma_prev[k]) + self._queueing[k])
        return as_output(self._queueing[k] + x)


@dataclass(frozen=True, eq=False)
class MMcPriority(_MulticlassModel):
    """M/M/c with static priority classes, all with one exponential service rate.

    ``c`` servers, service rate ``mu`` for every class, class 0 most important,
    ``sigma_k = sum_{i<=k} lambda_i / (c mu)``, ``a = lambda / mu``:

    * non-preemptive (Gross et al. 2008, Sec. 3.4.1; Cobham 1954):

      .. math:: W_k = \\frac{C(c, a)}{c \\mu (1 - \\sigma_{k-1})(1 - \\sigma_k)},
                \\qquad T_k = W_k + 1/\\mu,

      with ``C`` Erlang's C formula (:func:`~virtmodel.analytic.queues.erlang_c`);
    * preemptive-resume: classes ``> k`` are invisible to class ``k``, and the
      classes ``<= k`` together form an M/M/c FCFS queue in number (equal
      rates), so ``lambda_k T_k = Lambda_{<=k} T(M/M/c, Lambda_{<=k})
      - Lambda_{<k} T(M/M/c, Lambda_{<k})`` (Gross et al. 2008, Sec. 3.4.2).

    Exact.  ``mean_wait`` only for the non-preemptive case.

    Parameters
    ----------
    arrival_rates : sequence of float
        Poisson rate of each class, > 0, in priority order.
    service_rate : float
        ``mu > 0``, the same for every class.
    servers : int
        ``c >= 1``.
    preemptive : bool, default False

    Examples
    --------
    >>> q = MMcPriority([0.5, 0.5], service_rate=1.0, servers=2)
    >>> round(q.overall_mean_wait, 12)           # = M/M/2 FCFS wait C(2,1)/(2-1) = 1/3
    0.333333333333
    """

    arrival_rates: object
    service_rate: float
    servers: int
    preemptive: bool = False

    def __post_init__(self):
        from .._validation import positive_int

        if not isinstance(self.preemptive, bool):
            raise InvalidParameter(f"preemptive must be True or False, got {self.preemptive!r}")
        lam = _rates(self.arrival_rates)
        if np.ndim(self.service_rate) != 0:
            raise InvalidParameter(f"service_rate must be a single number, got {self.service_rate!r}")
        mu = float(positive("service_rate", self.service_rate))
        c = positive_int("servers", self.servers)
        rho = lam / (c * mu)
        _check_stable("MMcPriority", float(rho.sum()))
        self._set(arrival_rates=lam, service_rate=mu, servers=c, services=None, _rho=rho, _wait=None)
        sigma = np.cumsum(rho)
        sigma_prev = np.concatenate([[0.0], sigma[:-1]])
        if not self.preemptive:
            wait = erlang_c(c, float(lam.sum()) / mu) / (c * mu * (1.0 - sigma_prev) * (1.0 - sigma))
            self._set(_wait=wait, _response=wait + 1.0 / mu)
            return
        cum = np.cumsum(lam)
        number = np.array([MMc(v, mu, c).mean_number for v in cum])  # L of classes <= k
        number_prev = np.concatenate([[0.0], number[:-1]])
        self._set(_response=(number - number_prev) / lam)

    @property
    def utilization(self) -> np.ndarray:
        """Per-server load of each class, ``lambda_i / (c mu)``."""
        return self._readonly(self._rho)


# --------------------------------------------------------------------------- size-based policies


@dataclass(frozen=True, eq=False)
class _SizeBased(_MulticlassModel):
    """Merged-stream helpers: ``rho(x)``, ``rho(x^-)`` and truncated moments."""

    def _setup(self):
        super()._setup()
        atoms = np.unique(np.concatenate([_atoms(d) for d in self.services]))
        self._set(_atoms_all=atoms)

    def _partial(self, k: int, x: np.ndarray) -> np.ndarray:
        """sum_i lambda_i E[S_i^k; S_i <= x]."""
        return sum(lam * np.asarray(d.partial_moment(k, x)) for lam, d in
                   zip(self.arrival_rates, self.services, strict=True))

    def _rho_le(self, x):
        return self._partial(1, x)

    def _rho_lt(self, x):
        """rho(x^-) = lambda E[S; S < x]: the jobs of size exactly x removed."""
        if self._atoms_all.size == 0:
            return self._rho_le(x)
        mass = sum(lam * _atom_mass(d, x) for lam, d in zip(self.arrival_rates, self.services, strict=True))
        return np.maximum(self._rho_le(x) - x * mass, 0.0)

    def _class_means(self, func) -> np.ndarray:
        return np.array([_expect(d, func, self._atoms_all) for d in self.services])

    def response_given_size(self, x, cls=None):
        """E[T | size x] (the same for every class; ``cls`` is accepted and checked); broadcasts."""
        if cls is not None:
            _check_cls(cls, self.arrival_rates.size)
        x = _sizes(x)
        return as_output(self._conditional(x))


@dataclass(frozen=True, eq=False)
class MG1SJF(_SizeBased):
    """M/G/1 with non-preemptive shortest job first (sizes known on arrival).

    When the server frees up it takes the waiting job with the smallest size
    (ties in arrival order).  With ``R = lambda E[S^2] / 2`` (Kleinrock 1976,
    vol. II, §3.6, the continuum of priority classes; Harchol-Balter 2013,
    ch. 31):

    .. math:: W(x) = \\frac{R}{(1 - \\rho(x^-))(1 - \\rho(x))}, \\qquad
              E[T \\mid x] = x + W(x),

    which is Cobham's formula with one class per job size.  ``mean_wait`` and
    ``mean_response`` of class ``i`` average these over the class's service
    distribution.  Exact.

    Parameters
    ----------
    arrival_rates : sequence of float
        Poisson rate of each class, > 0.
    services : sequence of Distribution
        Service time of each class (virtmodel.dists).

    Examples
    --------
    One deterministic class: every job has the same size, so SJF is FCFS (M/D/1):

    >>> from virtmodel.dists import Deterministic
    >>> q = MG1SJF([0.5], [Deterministic(1.0)])
    >>> round(float(q.mean_wait[0]), 12)     # rho D / (2 (1 - rho)) = 0.5
    0.5
    """

    arrival_rates: object
    services: object

    def __post_init__(self):
        self._setup()
        wait = self._class_means(self._wait_given)
        self._set(_wait=wait, _response=wait + self._s1)

    def _wait_given(self, x):
        return self._w0 / ((1.0 - self._rho_lt(x)) * (1.0 - self._rho_le(x)))

    def _conditional(self, x):
        return x + self._wait_given(x)

    def wait_given_size(self, x):
        """W(x), the mean wait before service of a job of size ``x``; broadcasts."""
        return as_output(self._wait_given(_sizes(x)))

    @property
    def work_weighted_wait(self) -> float:
        """``lambda E[S W(S)] = sum_i lambda_i E[S_i W(S_i)]``, the side of the conservation law
        that SJF satisfies (each job size is a class of its own): equals :func:`conservation_sum`."""
        return math.fsum(lam * _expect(d, lambda x: x * self._wait_given(x), self._atoms_all)
                         for lam, d in zip(self.arrival_rates, self.services, strict=True))


@dataclass(frozen=True, eq=False)
class MG1SRPT(_SizeBased):
    """M/G/1 with shortest remaining processing time first (preemptive-resume).

    Schrage & Miller (1966); in the form of Wierman & Harchol-Balter (2003),
    sec. 2, and Harchol-Balter (2013), ch. 33: with
    ``m2(x) = E[S^2; S <= x] + x^2 P(S > x)``,

    .. math:: E[T \\mid x] = \\frac{\\lambda\\, m_2(x)}{2 (1 - \\rho(x^-))(1 - \\rho(x))}
              + \\int_0^x \\frac{dt}{1 - \\rho(t)}

    (the first term is the waiting time, the second the residence time; the
    published form has ``(1 - rho(x))^2``, equal to this for continuous sizes;
    ``rho(x^-)`` makes it right for atoms, ties served in arrival order).
    Class means: the first term is averaged by :func:`_expect`, the second as
    ``integral_0^inf P(S_i > t) / (1 - rho(t)) dt``.  Exact; ``mean_wait``
    (time to first service) is not reported.

    Parameters
    ----------
    arrival_rates : sequence of float
    services : sequence of Distribution

    Examples
    --------
    >>> from virtmodel.dists import Exponential
    >>> q = MG1SRPT([0.8], [Exponential(1.0)])
    >>> q.overall_mean_response < 5.0      # FCFS M/M/1: 1 / (1 - 0.8) = 5
    True
    """

    arrival_rates: object
    services: object

    def __post_init__(self):
        self._setup()
        first = self._class_means(self._waiting_term)
        second = np.array([_tail_expect(d, self._inverse_free, self._atoms_all) for d in self.services])
        self._set(_response=first + second)

    def _inverse_free(self, t):
        return 1.0 / (1.0 - self._rho_le(t))

    def _waiting_term(self, x):
        tail = sum(lam * (1.0 - np.asarray(d.cdf(x))) for lam, d in
                   zip(self.arrival_rates, self.services, strict=True))
        m2 = self._partial(2, x) + x * x * tail
        return m2 / (2.0 * (1.0 - self._rho_lt(x)) * (1.0 - self._rho_le(x)))

    def _conditional(self, x):
        flat = x.ravel()
        order = np.argsort(flat)
        edges = np.concatenate([[0.0], flat[order]])
        residence = np.empty_like(flat)
        residence[order] = np.cumsum(_piecewise_integrals(self._inverse_free, edges, self._atoms_all))
        return self._waiting_term(x) + residence.reshape(x.shape)


@dataclass(frozen=True, eq=False)
class MG1PSJF(_SizeBased):
    """M/G/1 with preemptive shortest job first (priority by original size).

    Wierman & Harchol-Balter (2003), sec. 2; Harchol-Balter (2013), ch. 32:

    .. math:: E[T \\mid x] = \\frac{x}{1 - \\rho(x^-)}
              + \\frac{\\lambda E[S^2; S \\le x]}{2 (1 - \\rho(x^-))(1 - \\rho(x))},

    the preemptive-resume priority formula with one class per size (the
    published form has ``rho(x)`` throughout, the same for continuous sizes;
    ties in arrival order).  Exact; ``mean_wait`` is not reported.

    Parameters
    ----------
    arrival_rates : sequence of float
    services : sequence of Distribution

    Examples
    --------
    >>> from virtmodel.dists import Deterministic
    >>> round(MG1PSJF([0.5], [Deterministic(1.0)]).overall_mean_response, 12)   # M/D/1
    1.5
    """

    arrival_rates: object
    services: object

    def __post_init__(self):
        self._setup()
        self._set(_response=self._class_means(self._conditional))

    def _conditional(self, x):
        lt, le = self._rho_lt(x), self._rho_le(x)
        return x / (1.0 - lt) + self._partial(2, x) / (2.0 * (1.0 - lt) * (1.0 - le))


@dataclass(frozen=True, eq=False)
class MG1PS(_SizeBased):
    """M/G/1 with egalitarian processor sharing.

    Insensitive to the service distribution beyond its mean (Kleinrock 1976,
    vol. II, §4.4; Harchol-Balter 2013, ch. 30):

    .. math:: E[T \\mid x] = \\frac{x}{1 - \\rho}, \\qquad T_i = \\frac{E[S_i]}{1 - \\rho},

    and ``mean_wait = 0``: every job is served from the moment it arrives.
    Exact.

    Parameters
    ----------
    arrival_rates : sequence of float
    services : sequence of Distribution (only ``.mean`` is used)

    Examples
    --------
    >>> from virtmodel.dists import Exponential, Deterministic
    >>> q = MG1PS([0.3, 0.2], [Exponential(1.0), Deterministic(2.0)])
    >>> q.mean_response.round(12).tolist()      # rho = 0.7
    [3.333333333333, 6.666666666667]
    """

    arrival_rates: object
    services: object
    _needs_distributions: ClassVar[bool] = False

    def __post_init__(self):
        _MulticlassModel._setup(self)
        self._set(_response=self._s1 / (1.0 - self._load), _wait=np.zeros(self._s1.size))

    def _conditional(self, x):
        return x / (1.0 - self._load)


# --------------------------------------------------------------------------- round robin


def _ceil_mean(dist, q: float) -> float:
    """E[ceil(X / q)] = sum_{n >= 0} P(X > n q) (the number of quanta a job needs)."""
    if isinstance(dist, Deterministic):
        return float(math.ceil(dist.value / q))
    if isinstance(dist, Empirical):
        return float(np.mean(np.ceil(np.array(dist.samples) / q)))
    if isinstance(dist, Exponential):
        return 1.0 / -math.expm1(-dist.rate * q)
    if isinstance(dist, HyperExponential):
        return math.fsum(p / -math.expm1(-mu * q) for p, mu in zip(dist.probs, dist.rates, strict=True))
    frozen = dist.to_scipy()
    top = float(frozen.isf(1e-15))
    n_max = math.ceil(top / q) + 1
    if n_max > 2_000_000:  # quanta tiny against the sizes: ceil(X/q) ~ X/q + 1/2 (continuous X)
        return dist.mean / q + 0.5
    return float(np.sum(frozen.sf(q * np.arange(n_max))))


@dataclass(frozen=True, eq=False)
class MG1RoundRobin(_MulticlassModel):
    """M/G/1 round robin with quantum ``q`` and a switch cost ``s`` per dispatch.

    Every dispatch (every quantum, the first included) costs ``s`` of pCPU time,
    so a job of size ``x`` occupies the pCPU for ``x' = x + ceil(x/q) s`` and the
    utilization counts that overhead: ``rho' = sum lambda_i E[X'_i]``
    (:attr:`utilization`); :attr:`capacity` ``= E[X] / E[X']`` is the share of a
    busy pCPU's time that does useful work.

    **Exact case** (``exact = True``): every class exponential with one common
    rate ``mu``.  At each dispatch the running job's remaining work is
    Exp(``mu``) whatever job it is, so the slices (length ``min(q, remaining) + s``,
    a departure with probability ``p = 1 - e^{-mu q}``) are i.i.d. and the number
    in system has the law of an M/G/1 FCFS queue whose service is
    ``X' = X + K s``, ``K = ceil(X/q)`` ~ Geometric(``p``) on {1, 2, ...},
    ``X = (K-1) q + R`` with ``R`` ~ Exp(``mu``) truncated to [0, q) independent
    of ``K``.  With ``Y = K - 1``, ``E[Y] = (1-p)/p``, ``E[Y^2] = (1-p)(2-p)/p^2``,
    ``E[R] = 1/mu - q (1-p)/p``, ``E[R^2] = (2/mu^2 - (1-p)(q^2 + 2q/mu + 2/mu^2))/p``:

    .. math:: E[X'] = (q+s) E[Y] + E[R] + s, \\quad
              E[X'^2] = (q+s)^2 E[Y^2] + 2 (q+s) E[Y] (E[R] + s) + E[(R+s)^2],

    and Pollaczek-Khinchine gives ``L = rho' + lambda^2 E[X'^2] / (2(1 - rho'))``,
    ``T = L / lambda`` for every class.  With ``s = 0`` this is M/M/1.
    (Derived here from the slice argument; the M/M/1 RR analysis it extends is
    Kleinrock 1976, vol. II, §4.4.)

    **Otherwise** (``exact = False``): processor sharing on the inflated sizes,

    .. math:: E[T \\mid x] \\approx \\frac{x + \\lceil x/q \\rceil s}{1 - \\rho'},
              \\qquad T_i \\approx \\frac{E[X'_i]}{1 - \\rho'} .

    It is exact in the limit ``q -> 0`` with ``s = 0`` (RR -> PS, Kleinrock
    1976, vol. II, §4.4) and for the overall mean with exponential service and
    ``s = 0`` (PS and FCFS then share the M/M/1 mean), but it ignores that a
    finite quantum moves RR towards FCFS (``q -> inf``): for service less
    variable than exponential the true RR mean lies below it, for more
    variable service above it, by an amount that grows with ``q``.  Use it
    for quanta well below the typical job size.  The exact M/G/1 RR with
    overhead needs a numerical method (Sakata, Noguchi & Oizumi, "An analysis
    of the M/G/1 queue under round-robin scheduling", *Operations Research*
    19 (1971) 371-385), which is not implemented here.
    ``mean_wait`` is not reported.

    Parameters
    ----------
    arrival_rates : sequence of float
    services : sequence of Distribution
    quantum : float
        ``q > 0``.
    switch_cost : float, default 0.0
        ``s >= 0``.

    Raises
    ------
    UnstableSystem
        If ``rho' >= 1`` (overhead included).

    Examples
    --------
    >>> from virtmodel.dists import Exponential
    >>> q = MG1RoundRobin([0.5], [Exponential(1.0)], quantum=0.1)
    >>> round(q.overall_mean_response, 12), q.exact       # M/M/1: 1 / (1 - 0.5)
    (2.0, True)
    >>> MG1RoundRobin([0.5], [Exponential(1.0)], quantum=0.1, switch_cost=0.01).overall_mean_response > 2
    True
    """

    arrival_rates: object
    services: object
    quantum: float
    switch_cost: float = 0.0

    def __post_init__(self):
        for name in ("quantum", "switch_cost"):
            if np.ndim(getattr(self, name)) != 0:
                raise InvalidParameter(f"{name} must be a single number, got {getattr(self, name)!r}")
        q = float(positive("quantum", self.quantum))
        s = float(nonnegative("switch_cost", self.switch_cost))
        lam = _rates(self.arrival_rates)
        services = _services(self.services, lam.size, need_distribution=True)
        rates = {d.rate for d in services if isinstance(d, Exponential)}
        exact = len(rates) == 1 and all(isinstance(d, Exponential) for d in services)
        s1 = _moments(services, 1)
        self._set(quantum=q, switch_cost=s, arrival_rates=lam, services=services, exact=exact,
                  _s1=s1, _wait=None)
        total = float(lam.sum())
        if exact:
            mu = rates.pop()
            x1, x2 = self._inflated_exponential(mu, q, s)
            inflated = np.full(lam.size, x1)
            rho = lam * x1
            load = float(rho.sum())
            _check_stable("MG1RoundRobin", load)
            number = load + total**2 * x2 / (2.0 * (1.0 - load))
            response = np.full(lam.size, number / total)
        else:
            inflated = s1 + s * np.array([_ceil_mean(d, q) for d in services])
            rho = lam * inflated
            load = float(rho.sum())
            _check_stable("MG1RoundRobin", load)
            response = inflated / (1.0 - load)
        self._set(_rho=rho, _load=load, _inflated=inflated, _response=response)

    @staticmethod
    def _inflated_exponential(mu: float, q: float, s: float) -> tuple[float, float]:
        """E[X'] and E[X'^2] for X ~ Exp(mu), quantum q, switch cost s."""
        stay = math.exp(-mu * q)          # 1 - p: the slice ends without a departure
        p = -math.expm1(-mu * q)
        y1 = stay / p
        y2 = stay * (1.0 + stay) / p**2
        r1 = 1.0 / mu - q * stay / p
        r2 = (2.0 / mu**2 - stay * (q * q + 2.0 * q / mu + 2.0 / mu**2)) / p
        a = q + s
        x1 = a * y1 + r1 + s
        z2 = r2 + 2.0 * s * r1 + s * s
        x2 = a * a * y2 + 2.0 * a * y1 * (r1 + s) + z2
        return x1, x2

    @property
    def utilization(self) -> np.ndarray:
        """pCPU time per unit time spent on each class, switch overhead included (``lambda_i E[X'_i]``)."""
        return self._readonly(self._rho)

    @property
    def mean_inflated_size(self) -> np.ndarray:
        """E[X'_i] = E[X_i] + s E[ceil(X_i / q)], the pCPU time a job of class i occupies."""
        return self._readonly(self._inflated)

    @property
    def capacity(self) -> float:
        """Share of busy pCPU time that is useful work, ``E[X] / E[X']`` over the merged stream.

        The largest useful utilization the pCPU can sustain; 1 without switch cost.
        """
        return float(np.dot(self.arrival_rates, self._s1) / np.dot(self.arrival_rates, self._inflated))

    def response_given_size(self, x, cls=None):
        """Approximate E[T | size x] = x'(x) / (1 - rho') (the general case only)."""
        if self.exact:
            raise NoClosedForm(
                "MG1RoundRobin gives E[T | x] only as the processor-sharing approximation; "
                "the exact (common exponential rate) case gives mean values only"
            )
        if cls is not None:
            _check_cls(cls, self.arrival_rates.size)
        x = _sizes(x)
        return as_output((x + np.ceil(x / self.quantum) * self.switch_cost) / (1.0 - self._load))


# --------------------------------------------------------------------------- delay-dependent


@dataclass(frozen=True, eq=False)
class MG1DelayDependent(_MulticlassModel):
    """M/G/1 with Kleinrock's delay-dependent (accumulating) priority, non-preemptive.

    A job of class ``p`` that has waited ``t`` has priority ``b_p t``; when the
    server frees up it takes the waiting job of highest priority.  Number the
    classes by slope, ``b_1 <= b_2 <= ... <= b_P``; with
    ``W0 = sum lambda_i E[S_i^2] / 2`` (Kleinrock 1964; Kleinrock 1976,
    vol. II, §3.7):

    .. math:: W_p = \\frac{\\dfrac{W_0}{1 - \\rho}
              - \\sum_{i<p} \\rho_i W_i \\left(1 - \\dfrac{b_i}{b_p}\\right)}
              {1 - \\sum_{i>p} \\rho_i \\left(1 - \\dfrac{b_p}{b_i}\\right)},

    solved in order ``p = 1, 2, ...``.  Checks: equal slopes give FCFS
    (``W_p = W0 / (1 - rho)``); as the slope ratios grow it tends to Cobham's
    non-preemptive priority; ``sum rho_p W_p = rho W0 / (1 - rho)`` (the
    conservation law) holds for any slopes.  ``E[T | x, p] = W_p + x``.
    Only the ratios of the slopes matter.  Exact (offsets ``a_p = 0``; with
    nonzero offsets no closed form is known).

    Parameters
    ----------
    arrival_rates : sequence of float
    services : sequence of Distribution (``.mean`` and ``.moment(2)`` are used)
    slopes : sequence of float
        ``b_p > 0`` per class, in the order of ``arrival_rates`` (results come
        back in that order).

    Examples
    --------
    >>> from virtmodel.dists import Exponential
    >>> q = MG1DelayDependent([0.4, 0.4], [Exponential(1.0)] * 2, slopes=[1.0, 1.0])
    >>> q.mean_wait.round(12).tolist()                 # FCFS M/M/1: 0.8/(1 - 0.8)
    [4.0, 4.0]
    >>> w = MG1DelayDependent([0.4, 0.4], [Exponential(1.0)] * 2, slopes=[1.0, 3.0]).mean_wait
    >>> bool(w[1] < 4.0 < w[0])
    True
    """

    arrival_rates: object
    services: object
    slopes: object
    _needs_distributions: ClassVar[bool] = False

    def __post_init__(self):
        self._setup()
        b = _rates(self.slopes, "slopes")
        if b.size != self.arrival_rates.size:
            raise InvalidParameter(
                f"slopes must have one entry per class ({self.arrival_rates.size}), got {b.size}"
            )
        self._set(slopes=b)
        order = np.argsort(b, kind="stable")
        bs, rho = b[order], self._rho[order]
        base = self._w0 / (1.0 - self._load)
        wait_sorted = np.zeros(b.size)
        for p in range(b.size):
            num = base - np.sum(rho[:p] * wait_sorted[:p] * (1.0 - bs[:p] / bs[p]))
            den = 1.0 - np.sum(rho[p + 1:] * (1.0 - bs[p] / bs[p + 1:]))
            wait_sorted[p] = num / den
        wait = np.empty(b.size)
        wait[order] = wait_sorted
        self._set(_wait=wait, _response=wait + self._s1)

    def response_given_size(self, x, cls):
        """E[T | size x, class cls] = W_cls + x; broadcasts over ``x``."""
        k = _check_cls(cls, self.arrival_rates.size)
        return as_output(self._wait[k] + _sizes(x))


# --------------------------------------------------------------------------- conservation law


def conservation_sum(arrival_rates, services) -> float:
    """Kleinrock's conservation law: ``sum_i rho_i W_i`` for any non-preemptive work-conserving M/G/1.

    .. math:: \\sum_i \\rho_i W_i = \\frac{\\rho W_0}{1 - \\rho}, \\qquad
              W_0 = \\sum_i \\frac{\\lambda_i E[S_i^2]}{2},

    whatever the order of service, provided it does not depend on the job's
    remaining size beyond its class and never idles (Kleinrock 1976, vol. II,
    §3.4).  For disciplines that use the job size itself (SJF) the law reads
    ``lambda E[S W(S)] = rho W0 / (1 - rho)``.

    Parameters
    ----------
    arrival_rates : sequence of float
    services : sequence of distributions (``.mean``, ``.moment(2)``)

    Returns
    -------
    float
        The right-hand side ``rho W0 / (1 - rho)``.

    Examples
    --------
    >>> from virtmodel.dists import Exponential
    >>> round(conservation_sum([0.4, 0.4], [Exponential(1.0)] * 2), 12)   # 0.8 * 0.8 / 0.2
    3.2
    """
    lam = _rates(arrival_rates)
    services = _services(services, lam.size, need_distribution=False)
    rho = float(np.sum(lam * _moments(services, 1)))
    _check_stable("conservation_sum", rho)
    w0 = float(np.sum(lam * _moments(services, 2))) / 2.0
    return rho * w0 / (1.0 - rho)

