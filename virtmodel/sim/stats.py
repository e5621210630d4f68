"""Output analysis of simulation runs.

The functions here turn the flat numpy arrays the simulator records (per-customer
times, interval start/end times) into the figures reported with every result:

* warm-up removal with MSER-5 (:func:`mser5`);
* time averages of a piecewise-constant count from interval data
  (:func:`cumulative_occupancy`, :func:`window_average`, :func:`binned_average`),
  e.g. the mean number in system from arrival/departure times or the
  utilization from service start/departure times;
* Student-t confidence intervals from independent replications
  (:func:`replication_interval`) or from batch means inside one run
  (:func:`batch_means`, :func:`batch_means_interval`);
* helpers for tests that check the simulator against exact values
  (:func:`binomial_band`, :func:`relative_error`).

References
----------
.. [W97] K. P. White Jr., "An effective truncation heuristic for bias
   reduction in simulation output", *Simulation* 69(6):323-334, 1997.
.. [WCS00] K. P. White Jr., M. J. Cobb and S. C. Spratt, "A comparison of five
   steady-state truncation heuristics for simulation", *Proc. Winter
   Simulation Conference*, 755-760, 2000.
.. [FW08] W. W. Franklin and K. P. White Jr., "Stationarity tests and MSER-5:
   exploring the intuition behind mean-squared-error-reduction in warm-up
   period determination", *Proc. Winter Simulation Conference*, 541-546, 2008.
.. [LK] A. M. Law, *Simulation Modeling and Analysis*, 5th ed., McGraw-Hill,
   2015, ch. 9 (replications, batch means, Student-t intervals).
.. [K75] L. Kleinrock, *Queueing Systems*, vol. 1, Wiley, 1975, sec. 2.1
   (sample-path time averages: the time average of N(u) over [a, b] is the
   integral of N(u) du divided by b - a).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._lazy import lazy
from .._validation import as_output, nonnegative, positive_int, probability, real_array
from ..errors import InvalidParameter

_sps = lazy("scipy.stats")

__all__ = [
    "Interval",
    "mser5",
    "batch_means",
    "cumulative_occupancy",
    "window_average",
    "binned_average",
    "capped_occupancy",
    "student_t_interval",
    "replication_interval",
    "batch_means_interval",
    "binomial_band",
    "relative_error",
]

#: Batch size of MSER-5.
MSER_BATCH = 5


# --------------------------------------------------------------------------- helpers


def _series(name: str, value) -> np.ndarray:
    """A finite 1-D float array."""
    arr = real_array(name, value)
    if arr.ndim != 1:
        raise InvalidParameter(f"{name} must be a 1-D sequence, got an array of shape {arr.shape}")
    return arr


def _level(level) -> float:
    lv = probability("level", level)
    if lv.ndim != 0:
        raise InvalidParameter(f"level must be a scalar, got an array of shape {lv.shape}")
    lv = float(lv)
    if not 0.0 < lv < 1.0:
        raise InvalidParameter(f"level must lie in (0, 1), got {level!r}")
    return lv


def _intervals(starts, ends) -> tuple[np.ndarray, np.ndarray]:
    """Validate interval endpoints: finite starts >= 0, ends >= starts, ends may be +inf."""
    s = nonnegative("starts", starts)
    if s.ndim != 1:
        raise InvalidParameter(f"starts must be a 1-D sequence, got an array of shape {s.shape}")
    if isinstance(ends, (str, bytes)) or ends is None or isinstance(ends, bool):
        raise InvalidParameter(f"ends must be real numbers, got {ends!r}")
    try:
        e = np.asarray(ends, dtype=float)
    except (TypeError, ValueError):
        raise InvalidParameter(f"ends must be real numbers, got {ends!r}") from None
    if e.shape != s.shape:
        raise InvalidParameter(f"ends must have the same shape as starts {s.shape}, got {e.shape}")
    if e.size and (np.any(np.isnan(e)) or np.any(e == -np.inf)):
        raise InvalidParameter("ends must be real numbers or +inf (no NaN or -inf)")
    if e.size and not np.all(e >= s):
        bad = int(np.argmax(~(e >= s)))
        raise InvalidParameter(
            f"ends must be >= starts, got ends[{bad}]={e[bad]!r} < starts[{bad}]={s[bad]!r}"
        )
    return s, e


def _sum_min(sorted_x: np.ndarray, csum: np.ndarray, t: np.ndarray) -> np.ndarray:
    """sum_i min(t, x_i) for every t, given sorted x and csum = [0, cumsum(x)]."""
    k = np.searchsorted(sorted_x, t, side="right")  # number of x_i <= t
    return csum[k] + (sorted_x.size - k) * t


# --------------------------------------------------------------------------- warm-up


def mser5(series) -> int:
    r"""MSER-5 truncation point: how many initial observations to delete.

    The series :math:`Y_1, \dots, Y_N` is averaged in ``k = N // 5`` consecutive,
    non-overlapping batches of five, :math:`Z_j = \frac15 \sum_{i=5j-4}^{5j} Y_i`
    (a trailing remainder of fewer than five observations is not used).  For
    each candidate truncation of :math:`d` batches,

    .. math::

        \mathrm{MSER}(d) = \frac{1}{(k-d)^2} \sum_{j=d+1}^{k}
            \left(Z_j - \bar Z_{k,d}\right)^2,
        \qquad \bar Z_{k,d} = \frac{1}{k-d}\sum_{j=d+1}^{k} Z_j ,

    is evaluated for :math:`d = 0, 1, \dots, \lfloor k/2 \rfloor` (the first
    half of the batches, and at least two batches are always kept), and the
    result is :math:`5 d^*` with :math:`d^* = \arg\min_d \mathrm{MSER}(d)`
    (the smallest minimiser on ties).  MSER(d) is an estimate of the squared
    standard error of the truncated mean; it trades the bias of the early
    observations against the variance lost by discarding them.

    All MSER(d) come from suffix sums of :math:`Z_j` and :math:`Z_j^2` (of the
    centred batch means, to limit cancellation), so the cost is O(N) with no
    Python loop: a million observations take a few milliseconds.

    A minimiser near the end of the search range (close to half of the data)
    usually means the run is too short for the transient to have ended.

    Parameters
    ----------
    series : array_like, 1-D
        Output observations in order of occurrence (e.g. per-customer response
        times in departure order).  Must be finite.

    Returns
    -------
    int
        Number of raw observations to delete from the start (a multiple of 5).
        Series with fewer than 10 observations give 0.

    References
    ----------
    K. P. White Jr., "An effective truncation heuristic for bias reduction in
    simulation output", *Simulation* 69(6):323-334, 1997.
    K. P. White Jr., M. J. Cobb, S. C. Spratt, "A comparison of five steady-state
    truncation heuristics for simulation", *Proc. WSC* 2000, 755-760.
    W. W. Franklin, K. P. White Jr., "Stationarity tests and MSER-5: exploring
    the intuition behind mean-squared-error-reduction in warm-up period
    determination", *Proc. WSC* 2008, 541-546.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.r_[np.full(50, 10.0), np.tile([0.0, 1.0], 500)]
    >>> mser5(y)
    50
    >>> mser5(np.ones(1000))
    0
    """
    y = _series("series", series)
    k = y.size // MSER_BATCH
    if y.size < 2 * MSER_BATCH or k < 2:
        return 0
    z = y[: k * MSER_BATCH].reshape(k, MSER_BATCH).mean(axis=1)
    if np.all(z == z[0]):
        return 0
    z = z - z.mean()
    # suffix sums: s1[d] = sum_{j >= d} z_j (0-based), likewise for squares
    s1 = np.cumsum(z[::-1])[::-1]
    s2 = np.cumsum((z * z)[::-1])[::-1]
    dmax = min(k // 2, k - 2)
    d = np.arange(dmax + 1)
    m = (k - d).astype(float)
    sse = s2[: dmax + 1] - s1[: dmax + 1] ** 2 / m
    np.maximum(sse, 0.0, out=sse)
    return int(MSER_BATCH * np.argmin(sse / (m * m)))


# --------------------------------------------------------------------------- batch means


def batch_means(series, batches: int = 20) -> np.ndarray:
    r"""Means of ``batches`` equal, consecutive, non-overlapping batches.

    With :math:`N` observations and :math:`b` batches the batch size is
    :math:`m = \lfloor N/b \rfloor`; the first :math:`N - bm` (oldest)
    observations are dropped, and batch :math:`j` is the mean of the next
    :math:`m` observations (Law 2015, sec. 9.5.3).

    Parameters
    ----------
    series : array_like, 1-D
        Observations in order of occurrence, warm-up already removed.
    batches : int, default 20
        Number of batches, >= 1.

    Returns
    -------
    numpy.ndarray
        The ``batches`` batch means, oldest first.

    Raises
    ------
    InvalidParameter
        If ``series`` has fewer observations than ``batches``.

    Examples
    --------
    >>> batch_means([9.0, 1, 2, 3, 4, 5, 6], batches=3)
    array([1.5, 3.5, 5.5])
    """
    y = _series("series", series)
    b = positive_int("batches", batches)
    if y.size < b:
        raise InvalidParameter(f"series must have at least batches={b} observations, got {y.size}")
    m = y.size // b
    return y[y.size - b * m :].reshape(b, m).mean(axis=1)


# --------------------------------------------------------------------------- time averages


def cumulative_occupancy(starts, ends, times):
    r"""Integral of the number of open intervals, :math:`F(t) = \int_0^t N(u)\,du`.

    :math:`N(u)` counts the intervals :math:`[s_i, e_i)` that contain
    :math:`u`, so that

    .. math::

        F(t) = \sum_i \bigl(\min(t, e_i) - \min(t, s_i)\bigr).

    With :math:`x_{(1)} \le \dots \le x_{(n)}` sorted and
    :math:`k(t) = \#\{i : x_i \le t\}`,
    :math:`\sum_i \min(t, x_i) = \sum_{i \le k(t)} x_{(i)} + (n - k(t))\,t`,
    which one ``searchsorted`` into the cumulative sums of the sorted starts and
    of the sorted ends gives for all ``times`` at once: O((n + m) log n) for n
    intervals and m times.  This is the sample-path time integral used for time
    averages such as the mean number in system (intervals = arrival, departure)
    or the busy time of a server (intervals = service start, departure); see
    Kleinrock, *Queueing Systems* vol. 1, 1975, sec. 2.1.

    Parameters
    ----------
    starts : array_like, 1-D
        Interval start times, finite and >= 0.
    ends : array_like, 1-D
        Interval end times, >= ``starts``; ``+inf`` marks an interval still open.
    times : array_like
        Finite times at which to evaluate F (any shape; F is 0 for t <= 0).

    Returns
    -------
    numpy.ndarray or float
        F at each time, with the shape of ``times`` (a float for a scalar).

    Examples
    --------
    >>> cumulative_occupancy([0.0, 1.0], [2.0, np.inf], [0.5, 3.0])
    array([0.5, 4. ])
    """
    s, e = _intervals(starts, ends)
    t = real_array("times", times)
    ss = np.sort(s)
    es = np.sort(e)
    # cumulative sums of the finite ends only; +inf ends are never <= a finite t
    nfin = int(np.searchsorted(es, np.inf, side="left"))
    cs_s = np.concatenate(([0.0], np.cumsum(ss)))
    cs_e = np.concatenate(([0.0], np.cumsum(es[:nfin]), np.full(es.size - nfin, np.nan)))
    out = _sum_min(es, cs_e, t) - _sum_min(ss, cs_s, t)
    return as_output(out)


def window_average(starts, ends, lo, hi) -> float:
    r"""Time average of N(u) over the window [lo, hi].

    .. math:: \bar N_{[lo, hi]} = \frac{F(hi) - F(lo)}{hi - lo}
              = \frac{1}{hi - lo} \sum_i \bigl(\min(e_i, hi) - \max(s_i, lo)\bigr)^+,

    with F from :func:`cumulative_occupancy`; computed by the second form,
    which needs no sort.

    Parameters
    ----------
    starts, ends : array_like, 1-D
        Intervals as in :func:`cumulative_occupancy`.
    lo, hi : float
        Window limits, finite, ``hi > lo``.

    Returns
    -------
    float
        The time-average number of open intervals over the window.

    Examples
    --------
    >>> window_average([1.0], [3.0], 0.0, 4.0)
    0.5
    """
    lo_a = real_array("lo", lo)
    hi_a = real_array("hi", hi)
    if lo_a.ndim or hi_a.ndim:
        raise InvalidParameter("lo and hi must be scalars")
    lo_f, hi_f = float(lo_a), float(hi_a)
    if not hi_f > lo_f:
        raise InvalidParameter(f"hi must be > lo, got lo={lo_f!r}, hi={hi_f!r}")
    s, e = _intervals(starts, ends)
    # the overlap of each interval with the window, summed: O(n), no sort
    overlap = np.minimum(e, hi_f) - np.maximum(s, lo_f)
    return float(overlap[overlap > 0].sum() / (hi_f - lo_f))


def binned_average(starts, ends, edges) -> np.ndarray:
    r"""Time averages of N(u) in consecutive bins ``[edges[j], edges[j+1]]``.

    .. math:: \bar N_j = \frac{F(x_{j+1}) - F(x_j)}{x_{j+1} - x_j},

    with F from :func:`cumulative_occupancy` and :math:`x` = ``edges``;
    computed without sorting: each interval's length is added to the bins it
    overlaps (``bincount``), which is O(n) for n intervals.

    Parameters
    ----------
    starts, ends : array_like, 1-D
        Intervals as in :func:`cumulative_occupancy`.
    edges : array_like, 1-D
        At least two finite, strictly increasing bin edges.

    Returns
    -------
    numpy.ndarray
        ``len(edges) - 1`` time averages.
    """
    x = _series("edges", edges)
    if x.size < 2:
        raise InvalidParameter(f"edges must have at least 2 entries, got {x.size}")
    if not np.all(np.diff(x) > 0):
        raise InvalidParameter("edges must be strictly increasing")
    s, e = _intervals(starts, ends)
    lo, hi = x[0], x[-1]
    s, e = np.clip(s, lo, hi), np.minimum(e, hi)
    inside = e > s
    s, e = s[inside], e[inside]
    nbins = x.size - 1
    width = np.diff(x)
    # bin of each start (s in [x_j, x_j+1)) and of each end (e in (x_j, x_j+1])
    first = np.minimum(np.searchsorted(x, s, side="right") - 1, nbins - 1)
    last = np.maximum(np.searchsorted(x, e, side="left") - 1, 0)
    one = first == last
    area = np.zeros(nbins)
    area += np.bincount(first[one], weights=(e - s)[one], minlength=nbins)
    f, la, sp, ep = first[~one], last[~one], s[~one], e[~one]
    # intervals over several bins: partial first and last bins, whole bins between
    area += np.bincount(f, weights=x[f + 1] - sp, minlength=nbins)
    area += np.bincount(la, weights=ep - x[la], minlength=nbins)
    covering = np.bincount(f + 1, minlength=nbins + 1) - np.bincount(la, minlength=nbins + 1)
    area += np.cumsum(covering)[:nbins] * width
    return area / width


def capped_occupancy(starts, ends, cap, times) -> np.ndarray:
    r"""Integral of the number of open intervals capped at ``cap``, :math:`\int_0^t \min(N(u), cap)\,du`.

    Used for steal time: with N(u) the jobs of a VM present and ``cap`` its
    vCPUs, min(N, cap) is the number of vCPUs that want to run.  Computed by
    one sort of the 2n interval end points and a cumulative sum of the
    piecewise-constant path, then linear interpolation at ``times``:
    O(n log n + m).

    Examples
    --------
    >>> capped_occupancy([0.0, 0.0, 1.0], [2.0, 2.0, 3.0], 2, [3.0]).tolist()
    [5.0]
    """
    s, e = _intervals(starts, ends)
    t = real_array("times", times)
    e = e[np.isfinite(e)]
    points = np.concatenate([s, e])
    steps = np.concatenate([np.ones(s.size), -np.ones(e.size)])
    order = np.argsort(points, kind="stable")
    points, level = points[order], np.minimum(np.cumsum(steps[order]), cap)
    # path: level[j] holds on [points[j], points[j+1]); integrate, then interpolate
    area = np.concatenate([[0.0], np.cumsum(level[:-1] * np.diff(points))]) if points.size else np.zeros(1)
    if points.size == 0:
        return as_output(np.zeros_like(t))
    out = np.interp(t, points, area) + np.where(t > points[-1], (t - points[-1]) * level[-1], 0.0)
    return as_output(np.where(t < points[0], 0.0, out))


# --------------------------------------------------------------------------- intervals


@dataclass(frozen=True)
class Interval:
    """A two-sided confidence interval for a mean.

    Attributes
    ----------
    mean : float
        Point estimate (sample mean of the replication or batch means).
    low, high : float
        Interval limits, ``mean -/+ half_width``.
    half_width : float
        Half-width of the interval (0 when the samples have no spread).
    n : int
        Number of samples it is based on (replications or batches).
    method : str
        ``"replications"``, ``"batch means"`` or ``"student-t"``.
    level : float
        Confidence level.
    """

    mean: float
    low: float
    high: float
    half_width: float
    n: int
    method: str
    level: float = 0.95

    def covers(self, value: float) -> bool:
        """Whether ``low <= value <= high``."""
        return bool(self.low <= value <= self.high)

    @property
    def relative_half_width(self) -> float:
        """``half_width / |mean|`` (inf for a zero mean with positive width)."""
        if self.half_width == 0.0:
            return 0.0
        return self.half_width / abs(self.mean) if self.mean != 0.0 else math.inf


def student_t_interval(samples, level: float = 0.95, *, method: str = "student-t") -> Interval:
    r"""Student-t confidence interval for the mean of iid (approximately normal) samples.

    .. math::

        \bar X \pm t_{n-1,\,(1+\ell)/2} \, \frac{S}{\sqrt n},
        \qquad S^2 = \frac{1}{n-1}\sum_i (X_i - \bar X)^2,

    with :math:`t_{\nu, q}` the q-quantile of Student's t with :math:`\nu`
    degrees of freedom (``scipy.stats.t.ppf``) and :math:`\ell` the level
    (Law 2015, sec. 4.5).  Samples without spread give a zero-width interval.

    Parameters
    ----------
    samples : array_like, 1-D
        At least two finite values.
    level : float, default 0.95
        Confidence level in (0, 1).
    method : str, keyword-only
        Label stored in the result.

    Returns
    -------
    Interval

    Examples
    --------
    >>> ci = student_t_interval([1.0, 2.0, 3.0])
    >>> round(ci.mean, 6), round(ci.half_width, 4), ci.n
    (2.0, 2.4841, 3)
    """
    x = _series("samples", samples)
    lv = _level(level)
    n = x.size
    if n < 2:
        raise InvalidParameter(f"samples must have at least 2 values, got {n}")
    mean = float(x.mean())
    sd = float(x.std(ddof=1))
    if sd == 0.0 or np.all(x == x[0]):
        hw = 0.0
    else:
        hw = float(_sps.t.ppf(0.5 + lv / 2.0, n - 1)) * sd / math.sqrt(n)
    return Interval(mean=mean, low=mean - hw, high=mean + hw, half_width=hw, n=n, method=method, level=lv)


def replication_interval(rep_means, level: float = 0.95) -> Interval:
    r"""Confidence interval from R independent replications.

    Student-t interval (R - 1 degrees of freedom) over the per-replication
    means :math:`\bar Y_1, \dots, \bar Y_R`, which are iid by construction
    (Law 2015, sec. 9.5.2).  ``method="replications"``.

    Parameters
    ----------
    rep_means : array_like, 1-D
        One mean per replication, R >= 2.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    Interval
    """
    return student_t_interval(rep_means, level, method="replications")


def batch_means_interval(series, batches: int = 20, level: float = 0.95) -> Interval:
    r"""Confidence interval from non-overlapping batch means of one long run.

    The (warm-up free) series is cut into ``batches`` batches by
    :func:`batch_means`; for batches long compared with the correlation time
    of the output the batch means are nearly iid normal, and the Student-t
    interval with ``batches - 1`` degrees of freedom is used (Law 2015,
    sec. 9.5.3).  ``method="batch means"``.  Remove the warm-up (e.g. with
    :func:`mser5`) before calling.

    Parameters
    ----------
    series : array_like, 1-D
        Observations in order of occurrence.
    batches : int, default 20
        Number of batches, >= 2.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    Interval
    """
    b = positive_int("batches", batches)
    if b < 2:
        raise InvalidParameter(f"batches must be an integer >= 2, got {batches!r}")
    return student_t_interval(batch_means(series, b), level, method="batch means")


# --------------------------------------------------------------------------- test helpers


def binomial_band(n: int, p: float = 0.95, level: float = 0.99) -> tuple[float, float]:
    r"""Range of coverage proportions consistent with a nominal coverage ``p``.

    If each of ``n`` independent experiments covers the true value with
    probability ``p``, the number of covering intervals is Binomial(n, p).
    The band is

    .. math::

        \Bigl[\tfrac1n F^{-1}\bigl(\tfrac{1-\ell}{2}\bigr),\;
              \tfrac1n F^{-1}\bigl(\tfrac{1+\ell}{2}\bigr)\Bigr],

    with :math:`F^{-1}` the binomial quantile function (``scipy.stats.binom.ppf``).
    A correct procedure lands outside it with probability below
    :math:`1-\ell`; coverage tests assert ``lo <= observed share <= hi``.

    Parameters
    ----------
    n : int
        Number of experiments, >= 1.
    p : float, default 0.95
        Nominal coverage probability, in [0, 1].
    level : float, default 0.99
        Probability that a correct procedure falls inside the band, in (0, 1).

    Returns
    -------
    (float, float)
        Lowest and highest acceptable proportion of covering intervals.

    Examples
    --------
    >>> binomial_band(200)
    (0.905, 0.985)
    """
    nn = positive_int("n", n)
    pp = probability("p", p)
    if pp.ndim:
        raise InvalidParameter(f"p must be a scalar, got an array of shape {pp.shape}")
    lv = _level(level)
    lo = float(_sps.binom.ppf((1.0 - lv) / 2.0, nn, float(pp)))
    hi = float(_sps.binom.ppf((1.0 + lv) / 2.0, nn, float(pp)))
    return lo / nn, hi / nn


def relative_error(estimate, truth):
    r"""Relative error :math:`|\hat\theta - \theta| / |\theta|`.

    Parameters
    ----------
    estimate : array_like
        Estimated value(s).
    truth : array_like
        Exact value(s), non-zero; broadcast against ``estimate``.

    Returns
    -------
    float or numpy.ndarray

    Examples
    --------
    >>> relative_error(1.05, 1.0)  # doctest: +ELLIPSIS
    0.05...
    """
    est = real_array("estimate", estimate)
    tru = real_array("truth", truth)
    if tru.size and np.any(tru == 0):
        raise InvalidParameter(f"truth must be non-zero, got {truth!r}")
    try:
        out = np.abs(est - tru) / np.abs(tru)
    except ValueError:
        raise InvalidParameter(
            f"estimate and truth must broadcast, got shapes {est.shape} and {tru.shape}"
        ) from None
    return as_output(out)
