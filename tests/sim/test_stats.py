"""Tests of virtmodel.sim.stats (simulation output analysis)."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from scipy.signal import lfilter

from virtmodel.errors import InvalidParameter
from virtmodel.sim import stats as vs


def ar1(rng, n, phi, mu=0.0, x0=None, size=None):
    """AR(1) X_t = mu + phi (X_{t-1} - mu) + eps_t, eps ~ N(0, 1).

    Starts in stationarity unless ``x0`` is given; ``size`` adds leading
    dimensions (independent paths along the last axis).
    """
    shape = (n,) if size is None else (size, n)
    eps = rng.normal(size=shape)
    if x0 is None:
        start = rng.normal(scale=1.0 / math.sqrt(1.0 - phi * phi), size=shape[:-1])
    else:
        start = np.full(shape[:-1], float(x0 - mu))
    # y_0 = phi * start + eps_0, y_t = phi y_{t-1} + eps_t
    zi = (phi * np.asarray(start))[..., None]
    y, _ = lfilter([1.0], [1.0, -phi], eps, axis=-1, zi=zi)
    return mu + y


# --------------------------------------------------------------------------- MSER-5


def mser5_reference(y):
    """Straightforward MSER-5: loop over d, recompute everything."""
    y = list(map(float, y))
    k = len(y) // 5
    if len(y) < 10 or k < 2:
        return 0, []
    z = [sum(y[5 * j : 5 * j + 5]) / 5.0 for j in range(k)]
    vals = []
    for d in range(min(k // 2, k - 2) + 1):
        tail = z[d:]
        m = len(tail)
        mean = sum(tail) / m
        vals.append(sum((v - mean) ** 2 for v in tail) / m**2)
    best = min(range(len(vals)), key=lambda i: (vals[i], i))
    return 5 * best, vals


def test_mser5_finds_ar1_transient():
    cuts, raw_err, cut_err = [], [], []
    for seed in range(10):
        rng = np.random.default_rng(seed)
        x = ar1(rng, 5000, phi=0.9, mu=3.0, x0=103.0)
        cut = vs.mser5(x)
        cuts.append(cut)
        # the bias 100 * 0.9**t falls below one stationary s.d. (2.3) near t = 36
        assert 15 <= cut <= 150, cut
        assert abs(x[cut:].mean() - 3.0) < 0.6
        raw_err.append(x.mean() - 3.0)
        cut_err.append(x[cut:].mean() - 3.0)
    assert 25 <= np.median(cuts) <= 80
    # untruncated bias is about 1000 / 5000 = 0.2; truncation removes it
    assert np.mean(raw_err) > 0.1
    assert abs(np.mean(cut_err)) < 0.1


def test_mser5_stationary_iid_is_near_zero():
    cuts = [vs.mser5(np.random.default_rng(seed).normal(5.0, 2.0, size=5000)) for seed in range(20)]
    assert np.median(cuts) <= 25
    assert max(cuts) < 0.25 * 5000


def test_mser5_short_and_constant_series():
    assert vs.mser5([]) == 0
    assert vs.mser5(np.arange(9.0)) == 0
    assert vs.mser5(np.full(1000, 7.0)) == 0
    # step: high plateau of 50 observations then a noisy stationary part
    y = np.r_[np.full(50, 10.0), np.tile([0.0, 1.0], 500)]
    assert vs.mser5(y) == 50


def test_mser5_result_is_multiple_of_five_and_in_first_half():
    rng = np.random.default_rng(1)
    for n in (10, 11, 14, 17, 23, 100, 1003):
        cut = vs.mser5(rng.exponential(size=n) + np.linspace(5, 0, n))
        assert cut % 5 == 0
        assert 0 <= cut <= 5 * ((n // 5) // 2)


@pytest.mark.parametrize("seed", range(40))
def test_mser5_matches_reference(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(10, 400))
    kind = seed % 4
    if kind == 0:
        y = rng.normal(size=n)
    elif kind == 1:
        y = ar1(rng, n, phi=0.8, mu=1.0, x0=float(rng.uniform(-20, 20)))
    elif kind == 2:
        y = rng.exponential(size=n) * np.exp(-np.arange(n) / rng.uniform(5, 100)) + rng.normal(size=n)
    else:
        y = rng.integers(0, 4, size=n).astype(float) + 1e6  # ties and a large offset
    expected, vals = mser5_reference(y)
    got = vs.mser5(y)
    if got != expected:
        # only an exact-arithmetic near-tie may differ
        assert math.isclose(vals[got // 5], vals[expected // 5], rel_tol=1e-9, abs_tol=1e-18)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=0, max_size=120))
def test_mser5_matches_reference_hypothesis(values):
    got = vs.mser5(values)
    ref, vals = mser5_reference(values)
    if got != ref:
        assert math.isclose(vals[got // 5], vals[ref // 5], rel_tol=1e-9, abs_tol=1e-9)


def test_mser5_is_fast():
    y = ar1(np.random.default_rng(0), 1_000_000, phi=0.5, x0=50.0)
    vs.mser5(y[:1000])
    t0 = time.perf_counter()
    cut = vs.mser5(y)
    # a guard against an O(n^2) regression (about 12 ms here), loose enough for a loaded shared machine;
    # speed itself is measured in benchmarks/
    assert time.perf_counter() - t0 < 1.0
    assert 0 < cut < 1000


# --------------------------------------------------------------------------- batch means


def test_batch_means_by_hand():
    y = np.arange(23.0)  # 23 = 4 * 5 + 3 -> drop 0, 1, 2
    got = vs.batch_means(y, batches=4)
    expected = [np.mean([3, 4, 5, 6, 7]), np.mean([8, 9, 10, 11, 12]), np.mean(range(13, 18)), 20.0]
    np.testing.assert_allclose(got, expected)
    np.testing.assert_allclose(vs.batch_means([1.0, 2.0, 3.0], batches=3), [1.0, 2.0, 3.0])
    assert vs.batch_means(np.ones(100)).shape == (20,)
    np.testing.assert_allclose(vs.batch_means(y, batches=1), [y.mean()])


def test_batch_means_interval_by_hand():
    rng = np.random.default_rng(3)
    y = rng.normal(size=1003)
    ci = vs.batch_means_interval(y, batches=10, level=0.9)
    bm = y[3:].reshape(10, 100).mean(axis=1)
    lo, hi = sps.t.interval(0.9, 9, loc=bm.mean(), scale=sps.sem(bm))
    assert ci.method == "batch means" and ci.n == 10 and ci.level == 0.9
    assert ci.low == pytest.approx(lo) and ci.high == pytest.approx(hi)


# --------------------------------------------------------------------------- occupancy


def occupancy_bruteforce(starts, ends, t):
    """Integrate N(u) over [0, t] by sweeping the sorted breakpoints."""
    if t <= 0:
        return 0.0
    pts = sorted({0.0, t, *[s for s in starts if s < t], *[e for e in ends if e < t]})
    total = 0.0
    for a, b in zip(pts[:-1], pts[1:], strict=True):
        mid = 0.5 * (a + b)
        count = sum(1 for s, e in zip(starts, ends, strict=True) if s <= mid < e)
        total += count * (b - a)
    return total


interval_st = st.tuples(
    st.floats(0, 100, allow_nan=False),
    st.one_of(st.floats(0, 50, allow_nan=False), st.just(math.inf)),
).map(lambda p: (p[0], p[0] + p[1]))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(interval_st, min_size=0, max_size=25),
    st.lists(st.floats(-10, 200, allow_nan=False), min_size=1, max_size=10),
)
def test_cumulative_occupancy_matches_bruteforce(intervals, times):
    starts = [s for s, _ in intervals]
    ends = [e for _, e in intervals]
    got = vs.cumulative_occupancy(np.array(starts), np.array(ends), np.array(times))
    assert got.shape == (len(times),)
    for t, g in zip(times, got, strict=True):
        assert g == pytest.approx(occupancy_bruteforce(starts, ends, t), rel=1e-9, abs=1e-8)


def test_cumulative_occupancy_edges():
    s, e = [1.0, 2.0], [3.0, np.inf]
    np.testing.assert_allclose(
        vs.cumulative_occupancy(s, e, [-5.0, 0.0, 1.0, 2.5, 3.0, 10.0]), [0, 0, 0, 2.0, 3.0, 10.0]
    )
    assert vs.cumulative_occupancy(s, e, 4.0) == pytest.approx(4.0)
    assert isinstance(vs.cumulative_occupancy(s, e, 4.0), float)
    np.testing.assert_allclose(vs.cumulative_occupancy([], [], [1.0, 2.0]), [0.0, 0.0])
    # zero-length interval contributes nothing
    assert vs.cumulative_occupancy([2.0], [2.0], 5.0) == 0.0
    assert vs.cumulative_occupancy(s, e, np.ones((2, 3))).shape == (2, 3)


def test_cumulative_occupancy_large_is_fast():
    rng = np.random.default_rng(0)
    arr = np.cumsum(rng.exponential(size=1_000_000))
    dep = arr + rng.exponential(0.5, size=arr.size)
    grid = np.linspace(0, arr[-1], 10_001)
    t0 = time.perf_counter()
    f = vs.cumulative_occupancy(arr, dep, grid)
    assert time.perf_counter() - t0 < 5.0  # a guard against a quadratic regression, not a benchmark
    assert np.all(np.diff(f) >= -1e-6)
    # Little's law: time-average number = lambda * W
    assert f[-1] / grid[-1] == pytest.approx((dep - arr).sum() / grid[-1], rel=1e-3)


def test_window_average_one_interval():
    assert vs.window_average([1.0], [3.0], 0.0, 4.0) == pytest.approx(0.5)
    assert vs.window_average([1.0], [3.0], 2.0, 3.0) == pytest.approx(1.0)
    assert vs.window_average([1.0], [3.0], 3.0, 5.0) == 0.0
    assert vs.window_average([1.0], [np.inf], 0.0, 2.0) == pytest.approx(0.5)
    assert vs.window_average([1.0], [3.0], 0.5, 1.5) == pytest.approx(0.5)


def test_binned_average():
    s, e = [0.0, 1.0, 2.5], [2.0, 4.0, np.inf]
    got = vs.binned_average(s, e, [0.0, 1.0, 2.0, 4.0, 6.0])
    np.testing.assert_allclose(got, [1.0, 2.0, (1.5 + 2.0) / 2, 1.0])
    edges = [0.0, 1.5, 5.0]
    np.testing.assert_allclose(
        vs.binned_average(s, e, edges),
        [vs.window_average(s, e, a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)],
    )


# --------------------------------------------------------------------------- intervals


@pytest.mark.parametrize("level", [0.8, 0.9, 0.95, 0.99])
@pytest.mark.parametrize("n", [2, 3, 10, 57])
def test_student_t_matches_scipy(level, n):
    x = np.random.default_rng(n).gamma(2.0, size=n)
    ci = vs.student_t_interval(x, level)
    lo, hi = sps.t.interval(level, n - 1, loc=x.mean(), scale=sps.sem(x))
    assert ci.low == pytest.approx(lo) and ci.high == pytest.approx(hi)
    assert ci.mean == pytest.approx(x.mean())
    assert ci.half_width == pytest.approx((hi - lo) / 2)
    assert ci.n == n and ci.level == level
    # covers() is exactly the closed interval [low, high]
    assert ci.covers(ci.low) and ci.covers(ci.high)
    assert not ci.covers(np.nextafter(ci.low, -np.inf)) and not ci.covers(np.nextafter(ci.high, np.inf))


def test_interval_zero_variance_and_methods():
    ci = vs.student_t_interval([2.0, 2.0, 2.0])
    assert (ci.mean, ci.low, ci.high, ci.half_width) == (2.0, 2.0, 2.0, 0.0)
    assert ci.relative_half_width == 0.0
    assert vs.replication_interval([1.0, 3.0]).method == "replications"
    assert vs.replication_interval([1.0, 3.0]).n == 2
    assert vs.batch_means_interval(np.arange(100.0), batches=5).n == 5
    with pytest.raises(AttributeError):
        ci.mean = 3.0  # frozen


def test_coverage_iid_normal():
    rng = np.random.default_rng(2024)
    mu = 1.7
    covered = 0
    for _ in range(400):
        ci = vs.replication_interval(rng.normal(mu, 3.0, size=10))
        covered += ci.covers(mu)
    lo, hi = vs.binomial_band(400)
    assert lo <= covered / 400 <= hi


def test_coverage_batch_means_ar1():
    """200 seeded AR(1) runs (phi = 0.5, 100,000 observations, 20 batches); ~0.5 s."""
    n_seeds = 200
    mu, phi = 3.0, 0.5
    covered = 0
    for chunk in range(0, n_seeds, 20):
        rng = np.random.default_rng(10_000 + chunk)
        paths = ar1(rng, 100_000, phi=phi, mu=mu, size=min(20, n_seeds - chunk))
        for x in paths:
            covered += vs.batch_means_interval(x, batches=20).covers(mu)
    lo, hi = vs.binomial_band(n_seeds)
    assert lo <= covered / n_seeds <= hi


# --------------------------------------------------------------------------- helpers


def test_binomial_band():
    lo, hi = vs.binomial_band(200)
    assert 0.89 < lo < 0.93 and 0.97 < hi < 0.99
    lo2, hi2 = vs.binomial_band(200, level=0.5)
    assert lo <= lo2 <= 0.95 <= hi2 <= hi
    assert vs.binomial_band(10, p=1.0) == (1.0, 1.0)
    # a correct procedure falls in the band with probability >= level
    lo, hi = vs.binomial_band(400, 0.95, 0.99)
    inside = sps.binom.cdf(round(hi * 400), 400, 0.95) - sps.binom.cdf(round(lo * 400) - 1, 400, 0.95)
    assert inside >= 0.99


def test_relative_error():
    assert vs.relative_error(1.1, 1.0) == pytest.approx(0.1)
    assert vs.relative_error(-3.0, -2.0) == pytest.approx(0.5)
    np.testing.assert_allclose(vs.relative_error([1.0, 4.0], 2.0), [0.5, 1.0])


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: vs.mser5([1.0, np.nan] * 10), "series"),
        (lambda: vs.mser5(np.ones((5, 5))), "series"),
        (lambda: vs.mser5("abc"), "series"),
        (lambda: vs.batch_means([1.0, 2.0], batches=3), "series"),
        (lambda: vs.batch_means([1.0, 2.0], batches=0), "batches"),
        (lambda: vs.batch_means([1.0, 2.0], batches=1.5), "batches"),
        (lambda: vs.batch_means_interval(np.ones(50), batches=1), "batches"),
        (lambda: vs.cumulative_occupancy([1.0], [0.5], [1.0]), "ends"),
        (lambda: vs.cumulative_occupancy([1.0], [np.nan], [1.0]), "ends"),
        (lambda: vs.cumulative_occupancy([1.0], [-np.inf], [1.0]), "ends"),
        (lambda: vs.cumulative_occupancy([1.0, 2.0], [3.0], [1.0]), "ends"),
        (lambda: vs.cumulative_occupancy([-1.0], [3.0], [1.0]), "starts"),
        (lambda: vs.cumulative_occupancy([np.inf], [np.inf], [1.0]), "starts"),
        (lambda: vs.cumulative_occupancy([1.0], [3.0], [np.inf]), "times"),
        (lambda: vs.window_average([1.0], [3.0], 2.0, 2.0), "hi"),
        (lambda: vs.window_average([1.0], [3.0], np.nan, 2.0), "lo"),
        (lambda: vs.binned_average([1.0], [3.0], [0.0]), "edges"),
        (lambda: vs.binned_average([1.0], [3.0], [0.0, 2.0, 1.0]), "edges"),
        (lambda: vs.student_t_interval([1.0]), "samples"),
        (lambda: vs.student_t_interval([1.0, 2.0], level=1.0), "level"),
        (lambda: vs.student_t_interval([1.0, 2.0], level=0.0), "level"),
        (lambda: vs.replication_interval([1.0, np.inf]), "samples"),
        (lambda: vs.binomial_band(0), "n"),
        (lambda: vs.binomial_band(10, p=1.5), "p"),
        (lambda: vs.binomial_band(10, level=2.0), "level"),
        (lambda: vs.relative_error(1.0, 0.0), "truth"),
        (lambda: vs.relative_error([1.0, 2.0], [1.0, 2.0, 3.0]), "estimate"),
    ],
)
def test_bad_input_raises(call, name):
    with pytest.raises(InvalidParameter, match=name):
        call()
