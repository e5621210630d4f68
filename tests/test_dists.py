"""Tests of virtmodel.dists: closed-form moments, scipy agreement, sampling, transforms, validation."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from virtmodel.dists import (
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
from virtmodel.errors import InvalidParameter

EMPIRICAL_DATA = [0.5, 1.0, 2.0, 2.0, 7.0, 0.25, 3.5]
H2_PROBS, H2_RATES = (0.3, 0.7), (0.5, 2.0)


def _h2_moment(probs, rates, k):
    return math.factorial(k) * sum(p / r**k for p, r in zip(probs, rates, strict=True))


def _lognormal_moment(mean, scv, k):
    sigma2 = math.log1p(scv)
    mu = math.log(mean) - sigma2 / 2
    return math.exp(k * mu + k * k * sigma2 / 2)


def _balanced_h2(mean, scv):
    """Tijms (2003): p1 = (1 + sqrt((scv - 1) / (scv + 1))) / 2, rate_i = 2 p_i / mean."""
    p1 = (1 + math.sqrt((scv - 1) / (scv + 1))) / 2
    return (p1, 1 - p1), (2 * p1 / mean, 2 * (1 - p1) / mean)


# name -> (distribution, closed-form k-th raw moment, scipy.stats equivalent or None)
CASES = {
    "exponential": (Exponential(2.0), lambda k: math.factorial(k) / 2.0**k, stats.expon(scale=0.5)),
    "deterministic": (Deterministic(1.5), lambda k: 1.5**k, None),
    "erlang": (
        Erlang(3, 2.0),
        lambda k: math.gamma(3 + k) / math.gamma(3) / 2.0**k,
        stats.erlang(3, scale=0.5),
    ),
    "hyperexponential": (
        HyperExponential(H2_PROBS, H2_RATES),
        lambda k: _h2_moment(H2_PROBS, H2_RATES, k),
        None,
    ),
    "h2_balanced": (
        HyperExponential.balanced(2.0, 5.0),
        lambda k: _h2_moment(*_balanced_h2(2.0, 5.0), k),
        None,
    ),
    "gamma": (
        Gamma(0.7, 1.3),
        lambda k: math.gamma(0.7 + k) / math.gamma(0.7) / 1.3**k,
        stats.gamma(0.7, scale=1 / 1.3),
    ),
    "lognormal": (
        LogNormal(2.0, 1.5),
        lambda k: _lognormal_moment(2.0, 1.5, k),
        stats.lognorm(math.sqrt(math.log1p(1.5)), scale=2.0 / math.sqrt(2.5)),
    ),
    "uniform": (
        Uniform(1.0, 3.0),
        lambda k: (3.0 ** (k + 1) - 1.0) / (2.0 * (k + 1)),
        stats.uniform(1.0, 2.0),
    ),
    "empirical": (
        Empirical(EMPIRICAL_DATA),
        lambda k: float(np.mean(np.array(EMPIRICAL_DATA) ** k)),
        stats.rv_discrete(values=([0.25, 0.5, 1.0, 2.0, 3.5, 7.0], np.array([1, 1, 1, 2, 1, 1]) / 7)),
    ),
}
IDS = list(CASES)
DISCRETE = {"deterministic", "empirical"}


def _dist(name) -> Distribution:
    return CASES[name][0]


def _atoms(name):
    """Points where the cdf jumps (for quadrature break points)."""
    return {"deterministic": [1.5], "empirical": sorted(set(EMPIRICAL_DATA))}.get(name, [])


# --------------------------------------------------------------------------- moments


@pytest.mark.parametrize("name", IDS)
def test_moments_match_closed_form(name):
    d, closed, _ = CASES[name]
    assert d.moment(0) == 1.0
    if closed is not None:
        for k in range(1, 6):
            assert d.moment(k) == pytest.approx(closed(k), rel=1e-12)
    assert d.mean == pytest.approx(d.moment(1), rel=1e-12)
    assert d.variance == pytest.approx(d.moment(2) - d.moment(1) ** 2, rel=1e-10, abs=1e-14)
    assert d.scv == pytest.approx(d.variance / d.mean**2, rel=1e-12)
    assert d.rate == pytest.approx(1 / d.mean, rel=1e-12)


@pytest.mark.parametrize("name", IDS)
def test_moments_match_scipy(name):
    d, _, reference = CASES[name]
    frozen = d.to_scipy()
    if reference is None:
        if name in ("hyperexponential", "h2_balanced"):
            assert frozen is None
            # compare with the mixture of scipy exponentials instead
            for k in range(1, 5):
                want = sum(
                    p * stats.expon(scale=1 / r).moment(k) for p, r in zip(d.probs, d.rates, strict=True)
                )
                assert d.moment(k) == pytest.approx(want, rel=1e-12)
            return
        reference = frozen
    assert frozen is not None
    for k in range(1, 5):
        assert d.moment(k) == pytest.approx(reference.moment(k), rel=1e-12)
        assert d.moment(k) == pytest.approx(frozen.moment(k), rel=1e-12)
    assert d.mean == pytest.approx(frozen.mean(), rel=1e-12)
    assert d.variance == pytest.approx(frozen.var(), rel=1e-12, abs=1e-15)
    x = np.array([-1.0, 0.0, 0.3, 1.0, 1.5, 2.0, 2.9, 10.0])
    np.testing.assert_allclose(d.cdf(x), frozen.cdf(x), rtol=1e-12, atol=1e-15)


def test_specific_parameterisations():
    erlang = Erlang(k=4, rate=2.0)
    assert (erlang.k, erlang.phase_rate, erlang.mean, erlang.rate, erlang.scv) == (4, 2.0, 2.0, 0.5, 0.25)
    assert Erlang(4, phase_rate=2.0) == erlang == Erlang.from_mean(4, 2.0)
    gamma = Gamma(shape=2.0, rate=4.0)
    assert (gamma.rate_parameter, gamma.mean, gamma.rate, gamma.scv) == (4.0, 0.5, 2.0, 0.5)
    assert Gamma(2.0, rate_parameter=4.0) == gamma
    lognormal = LogNormal(mean=3.0, scv=0.5)
    assert lognormal.sigma == pytest.approx(math.sqrt(math.log(1.5)), rel=1e-15)
    assert lognormal.mu == pytest.approx(math.log(3.0) - math.log(1.5) / 2, rel=1e-15)
    assert (lognormal.mean, lognormal.scv) == (3.0, 0.5)
    assert Exponential(4.0).rate == 4.0
    assert Deterministic(2.0).scv == 0.0
    assert Uniform(0.0, 2.0).moment(3) == 2.0
    assert Empirical([2.0, 4.0]).variance == 1.0
    assert Empirical((1.0, 2.0)) == Empirical([1, 2]) == Empirical(np.array([1.0, 2.0]))


def test_balanced_h2_values():
    d = HyperExponential.balanced(mean=2.0, scv=5.0)
    p1 = (1 + math.sqrt(4 / 6)) / 2
    assert d.probs == pytest.approx((p1, 1 - p1), rel=1e-14)
    assert d.rates == pytest.approx((p1, 1 - p1), rel=1e-14)  # 2 p_i / mean with mean = 2
    assert d.probs[0] / d.rates[0] == pytest.approx(d.probs[1] / d.rates[1], rel=1e-14)
    assert d.moment(2) == pytest.approx(4.0 * 6.0, rel=1e-13)
    # scv = 1 gives an exponential
    e = HyperExponential.balanced(mean=2.0, scv=1.0)
    for k in range(1, 5):
        assert e.moment(k) == pytest.approx(Exponential(0.5).moment(k), rel=1e-14)


def test_diverging_moments_are_inf():
    assert LogNormal(1.0, 100.0).moment(60) == math.inf
    assert Exponential(1e-10).moment(40) == math.inf
    assert Uniform(1.0, 1e200).moment(3) == math.inf
    assert Deterministic(1e200).moment(2) == math.inf
    assert Empirical([1e200]).moment(2) == math.inf


def test_uniform_narrow_interval_keeps_precision():
    d = Uniform(1.0, 1.0 + 1e-9)
    assert d.moment(3) == pytest.approx((1 + 5e-10) ** 3 + 3 * (1 + 5e-10) * (1e-9) ** 2 / 12, rel=1e-14)
    assert d.variance == pytest.approx(1e-18 / 12, rel=1e-6)


# --------------------------------------------------------------------------- sampling


@pytest.mark.parametrize("name", IDS)
def test_sample_mean_and_variance_within_five_standard_errors(name):
    d = _dist(name)
    n = 200_000
    x = d.sample(np.random.default_rng(20240601), n)
    assert x.dtype == np.float64 and x.shape == (n,)
    assert np.all(x >= 0)
    m1, m2, m3, m4 = (d.moment(k) for k in range(1, 5))
    var = d.variance
    mu4 = m4 - 4 * m1 * m3 + 6 * m1**2 * m2 - 3 * m1**4  # central fourth moment
    se_mean = math.sqrt(var / n)
    se_var = math.sqrt(max(mu4 - var**2, 0.0) / n)
    assert abs(x.mean() - m1) <= 5 * se_mean + 1e-12 * m1
    assert abs(x.var() - var) <= 5 * se_var + 1e-12 * m2


@pytest.mark.parametrize("name", IDS)
def test_same_seed_same_samples_and_only_given_rng_used(name):
    d = _dist(name)
    global_state = np.random.get_state()[1].copy()  # noqa: NPY002 - checking the legacy global stream
    a = d.sample(np.random.default_rng(7), 1000)
    b = d.sample(np.random.default_rng(7), 1000)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(np.random.get_state()[1], global_state)  # noqa: NPY002
    if name != "deterministic":
        assert not np.array_equal(a, d.sample(np.random.default_rng(8), 1000))
    assert d.sample(np.random.default_rng(7), (3, 4)).shape == (3, 4)
    assert d.sample(np.random.default_rng(7), 0).shape == (0,)


def test_sample_rejects_bad_rng_and_size():
    with pytest.raises(InvalidParameter, match="rng"):
        Exponential(1.0).sample(np.random.RandomState(1), 10)
    with pytest.raises(InvalidParameter, match="rng"):
        Exponential(1.0).sample(1, 10)
    with pytest.raises(InvalidParameter, match="size must be an integer >= 0, got -1"):
        Exponential(1.0).sample(np.random.default_rng(1), -1)


# --------------------------------------------------------------------------- partial moments, cdf


@pytest.mark.parametrize("name", IDS)
def test_partial_moment_limits(name):
    d = _dist(name)
    for k in range(0, 4):
        assert d.partial_moment(k, 1e300) == pytest.approx(d.moment(k), rel=1e-12)
        assert d.partial_moment(k, math.inf) == pytest.approx(d.moment(k), rel=1e-12)
        assert d.partial_moment(k, 0.0) == 0.0
        assert d.partial_moment(k, -5.0) == 0.0
    x = np.linspace(-1, 12, 27)
    np.testing.assert_allclose(d.partial_moment(0, x), d.cdf(x), rtol=1e-13, atol=1e-16)
    values = d.partial_moment(2, x)
    assert np.all(np.diff(values) >= -1e-15) and np.all(values <= d.moment(2) * (1 + 1e-12))


@pytest.mark.parametrize("name", IDS)
def test_partial_first_moment_matches_numerical_integration(name):
    # E[X; X <= x] = x F(x) - integral_0^x F(t) dt (integration by parts, X >= 0)
    d = _dist(name)
    for x in (0.3, 1.0, 1.7, 4.0):
        breaks = [a for a in _atoms(name) if 0 < a < x] or None
        area, _ = integrate.quad(d.cdf, 0.0, x, points=breaks, epsabs=1e-14, epsrel=1e-12, limit=200)
        assert d.partial_moment(1, x) == pytest.approx(x * d.cdf(x) - area, rel=1e-9, abs=1e-13)


@pytest.mark.parametrize("name", IDS)
def test_cdf_properties(name):
    d = _dist(name)
    x = np.linspace(-1, 20, 200)
    f = d.cdf(x)
    assert np.all(np.diff(f) >= 0) and f[0] == 0.0 and np.all((f >= 0) & (f <= 1))
    assert d.cdf(math.inf) == 1.0 and d.cdf(-math.inf) == 0.0
    assert isinstance(d.cdf(1.0), float)
    assert d.cdf(np.ones((2, 3))).shape == (2, 3)
    assert d.partial_moment(1, np.ones((2, 3))).shape == (2, 3)
    with pytest.raises(InvalidParameter, match="x must not contain NaN"):
        d.cdf([1.0, math.nan])


# --------------------------------------------------------------------------- Laplace transform


@pytest.mark.parametrize("name", IDS)
def test_laplace_at_zero_and_derivative(name):
    d = _dist(name)
    assert d.laplace(0.0) == 1.0
    h = 1e-4 / d.mean
    l0, l1, l2 = d.laplace(np.array([0.0, h, 2 * h]))
    derivative = (-3 * l0 + 4 * l1 - l2) / (2 * h)  # second-order one-sided difference
    assert -derivative == pytest.approx(d.mean, rel=1e-6)


@pytest.mark.parametrize("name", IDS)
def test_laplace_matches_numerical_integration(name):
    # E[exp(-sX)] = s * integral_0^inf exp(-s t) F(t) dt for X >= 0 (integration by parts)
    d = _dist(name)
    for s in (0.3, 1.7):
        tail = _atoms(name)
        area = sum(
            integrate.quad(lambda t, s=s: math.exp(-s * t) * d.cdf(t), lo, hi, epsabs=1e-14, epsrel=1e-12)[0]
            for lo, hi in zip([0.0, *tail], [*tail, math.inf], strict=True)
        )
        assert d.laplace(s) == pytest.approx(s * area, rel=1e-8)
    values = d.laplace(np.linspace(0, 5, 6).reshape(2, 3))
    assert values.shape == (2, 3) and np.all(np.diff(values.ravel()) < 0)
    with pytest.raises(InvalidParameter, match="s must be >= 0, got -1.0"):
        d.laplace(-1.0)


def test_lognormal_laplace_deep_tail():
    """E[exp(-sX)] far in the tail (about 3.5e-38 at s = 1e6) to 1e-7 against a 40-digit mpmath quadrature.

    The reference integrates exp(-s e^y) N(y; mu, sigma^2) over y = ln x with breakpoints around
    the peak.  (The former check, 1e-39 < value < 1e-36, accepted a value 36 % too large.)"""
    import mpmath

    d = LogNormal(2.0, 1.5)
    with mpmath.workdps(40):
        var = mpmath.log1p(mpmath.mpf("1.5"))
        mu = mpmath.log(2) - var / 2
        for s in (1e4, 1e6):
            s_mp = mpmath.mpf(s)
            peak = mpmath.findroot(lambda y, s_mp=s_mp: -s_mp * mpmath.exp(y) - (y - mu) / var, mu)
            exact = mpmath.quad(
                lambda y, s_mp=s_mp: mpmath.exp(-s_mp * mpmath.exp(y) - (y - mu) ** 2 / (2 * var)),
                [-200, *(peak + k for k in (-40, -10, -3, -1, 0, 1, 3, 10)), 50]) / mpmath.sqrt(2 * mpmath.pi * var)
            assert d.laplace(s) == pytest.approx(float(exact), rel=1e-7), s


# --------------------------------------------------------------------------- objects


@pytest.mark.parametrize("name", IDS)
def test_frozen_hashable_picklable(name):
    d = _dist(name)
    clone = pickle.loads(pickle.dumps(d))
    assert clone == d and hash(clone) == hash(d) and repr(clone) == repr(d)
    assert eval(repr(d)) == d  # the repr is constructor syntax
    with pytest.raises(AttributeError):
        d.foo = 1
    assert {d: 1}[clone] == 1


@pytest.mark.parametrize("name", IDS)
def test_moment_order_validation(name):
    d = _dist(name)
    for bad in (-1, 1.5, "2", None, True):
        with pytest.raises(InvalidParameter, match=r"^k must be an integer") as info:
            d.moment(bad)
        assert repr(bad) in str(info.value)
        with pytest.raises(InvalidParameter, match=r"^k must be an integer"):
            d.partial_moment(bad, 1.0)


# --------------------------------------------------------------------------- bad input


NAN, INF = math.nan, math.inf
BAD_SCALARS = [0.0, -1.0, NAN, INF, "abc", None, True]
BAD_INPUT = [
    *[(Exponential, {"rate": v}, "rate", v) for v in BAD_SCALARS],
    *[(Deterministic, {"value": v}, "value", v) for v in BAD_SCALARS],
    *[(lambda rate: Erlang(2, rate), {"rate": v}, "rate", v) for v in BAD_SCALARS],
    *[(lambda k: Erlang(k, 1.0), {"k": v}, "k", v) for v in (0, -2, 2.5, "3", None, NAN, INF, True)],
    *[(lambda mean: Erlang.from_mean(2, mean), {"mean": v}, "mean", v) for v in BAD_SCALARS],
    *[(lambda rate: Gamma(1.5, rate), {"rate": v}, "rate", v) for v in BAD_SCALARS],
    *[(lambda shape: Gamma(shape, 1.0), {"shape": v}, "shape", v) for v in BAD_SCALARS],
    *[(lambda mean: LogNormal(mean, 1.0), {"mean": v}, "mean", v) for v in BAD_SCALARS],
    *[(lambda scv: LogNormal(1.0, scv), {"scv": v}, "scv", v) for v in BAD_SCALARS],
    *[(lambda low: Uniform(low, 5.0), {"low": v}, "low", v) for v in (-1.0, NAN, INF, "abc", None, True)],
    *[(lambda high: Uniform(1.0, high), {"high": v}, "high", v) for v in (1.0, 0.5, NAN, INF, "abc", None)],
    *[(lambda mean: HyperExponential.balanced(mean, 2.0), {"mean": v}, "mean", v) for v in BAD_SCALARS],
    *[(lambda scv: HyperExponential.balanced(1.0, scv), {"scv": v}, "scv", v) for v in (0.5, 0.0, NAN, "x")],
    (lambda probs: HyperExponential(probs, (1.0, 2.0)), {"probs": (0.3, 0.3)}, "probs", "0.3"),
    (lambda probs: HyperExponential(probs, (1.0, 2.0)), {"probs": (1.2, -0.2)}, "probs", "-0.2"),
    (lambda probs: HyperExponential(probs, (1.0, 2.0)), {"probs": (NAN, 1.0)}, "probs", "nan"),
    (lambda probs: HyperExponential(probs, (1.0,)), {"probs": ()}, "probs", "()"),
    (lambda probs: HyperExponential(probs, (1.0,)), {"probs": "ab"}, "probs", "'ab'"),
    (lambda probs: HyperExponential(probs, (1.0,)), {"probs": None}, "probs", "None"),
    (lambda probs: HyperExponential(probs, (1.0,)), {"probs": 1.0}, "probs", "1.0"),
    (lambda rates: HyperExponential((0.5, 0.5), rates), {"rates": (1.0, 2.0, 3.0)}, "rates", "3."),
    (lambda rates: HyperExponential((0.5, 0.5), rates), {"rates": (1.0, 0.0)}, "rates", "0."),
    (lambda rates: HyperExponential((0.5, 0.5), rates), {"rates": (1.0, INF)}, "rates", "inf"),
    (lambda rates: HyperExponential((0.5, 0.5), rates), {"rates": (1.0, "a")}, "rates", "'a'"),
    (Empirical, {"samples": []}, "samples", "[]"),
    (Empirical, {"samples": [1.0, -2.0]}, "samples", "-2."),
    (Empirical, {"samples": [1.0, NAN]}, "samples", "nan"),
    (Empirical, {"samples": [1.0, INF]}, "samples", "inf"),
    (Empirical, {"samples": [[1.0, 2.0]]}, "samples", "[[1. 2.]]"),
    (Empirical, {"samples": 3.0}, "samples", "3.0"),
    (Empirical, {"samples": "abc"}, "samples", "'abc'"),
    (Empirical, {"samples": None}, "samples", "None"),
    (Empirical, {"samples": [0.0, 0.0]}, "samples", "[0. 0.]"),
]


def _bad_id(case):
    _, kwargs, param, _ = case
    return f"{param}={next(iter(kwargs.values()))!r}"


@pytest.mark.parametrize("case", BAD_INPUT, ids=[_bad_id(c) for c in BAD_INPUT])
def test_bad_input_raises_invalid_parameter_naming_parameter_and_value(case):
    constructor, kwargs, param, shown = case
    with pytest.raises(InvalidParameter) as info:
        constructor(**kwargs)
    message = str(info.value)
    assert message.startswith(f"{param} must"), message
    shown = shown if isinstance(shown, str) and param in ("probs", "rates", "samples") else repr(shown)
    assert shown in message, message


def test_rate_given_twice_or_not_at_all():
    with pytest.raises(InvalidParameter, match="exactly one of rate or phase_rate"):
        Erlang(2, 1.0, phase_rate=1.0)
    with pytest.raises(InvalidParameter, match="exactly one of rate or rate_parameter"):
        Gamma(2.0, 1.0, rate_parameter=1.0)
    with pytest.raises(InvalidParameter, match="rate must be a real number, got None"):
        Gamma(2.0)


def test_invalid_parameter_is_value_error():
    with pytest.raises(ValueError):
        Exponential(-1.0)


# --------------------------------------------------------------------------- properties (hypothesis)

positive_floats = st.floats(1e-3, 1e3)


def _check_consistent(d: Distribution):
    assert d.scv >= 0 and d.variance >= 0
    assert d.variance == pytest.approx(d.moment(2) - d.mean**2, rel=1e-9, abs=1e-12 * d.moment(2))
    assert d.rate * d.mean == pytest.approx(1.0, rel=1e-15)
    assert d.partial_moment(2, d.mean) <= d.moment(2) * (1 + 1e-12)
    assert d.laplace(1.0 / d.mean) <= 1.0


@settings(max_examples=60, deadline=None)
@given(shape=positive_floats, rate=positive_floats)
def test_gamma_properties(shape, rate):
    d = Gamma(shape, rate)
    _check_consistent(d)
    assert d.scv == pytest.approx(1 / shape, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(k=st.integers(1, 200), mean=positive_floats)
def test_erlang_properties(k, mean):
    d = Erlang.from_mean(k, mean)
    _check_consistent(d)
    assert d.mean == pytest.approx(mean, rel=1e-14)
    assert d.scv == pytest.approx(1 / k, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(mean=positive_floats, scv=st.floats(1e-3, 50))
def test_lognormal_properties(mean, scv):
    d = LogNormal(mean, scv)
    _check_consistent(d)
    assert d.moment(3) == pytest.approx(math.exp(3 * d.mu + 4.5 * d.sigma**2), rel=1e-11)


@settings(max_examples=60, deadline=None)
@given(low=st.floats(0, 1e3), width=st.floats(1e-6, 1e3))
def test_uniform_properties(low, width):
    d = Uniform(low, low + width)
    assert d.high > d.low
    _check_consistent(d)


@settings(max_examples=60, deadline=None)
@given(
    weights=st.lists(st.floats(0.01, 1.0), min_size=1, max_size=5),
    rates=st.lists(positive_floats, min_size=5, max_size=5),
)
def test_hyperexponential_properties(weights, rates):
    probs = np.array(weights) / np.sum(weights)
    d = HyperExponential(tuple(probs), tuple(rates[: len(weights)]))
    _check_consistent(d)
    assert d.scv >= 1 - 1e-9  # a mixture of exponentials is at least as variable as one


@settings(max_examples=100, deadline=None)
@given(mean=st.floats(1e-3, 1e3), scv=st.floats(1.0, 1e4))
def test_balanced_h2_reproduces_mean_and_scv(mean, scv):
    d = HyperExponential.balanced(mean, scv)
    assert d.mean == pytest.approx(mean, rel=1e-12)
    assert d.scv == pytest.approx(scv, rel=1e-9)
    assert sum(d.probs) == pytest.approx(1.0, abs=1e-12)
    assert d.probs[0] / d.rates[0] == pytest.approx(d.probs[1] / d.rates[1], rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(data=st.lists(st.floats(0, 1e3, allow_subnormal=False), min_size=1, max_size=50).filter(any))
def test_empirical_properties(data):
    d = Empirical(data)
    _check_consistent(d)
    assert d.mean == pytest.approx(np.mean(data), rel=1e-12)
    assert d.variance == pytest.approx(np.var(data), rel=1e-12, abs=1e-12)
    assert d.cdf(max(data)) == 1.0


@pytest.mark.parametrize("dist", [HyperExponential.balanced(1.0, 4.0), HyperExponential.balanced(3.0, 50.0),
                                  HyperExponential((0.3, 0.7), (1.0, 5.0))])
def test_two_phase_hyperexponential_draws_as_the_general_binary_search(dist):
    """The two-phase shortcut (u >= p1) draws exactly what searchsorted over the cumulative
    probabilities draws from the same generator (the simpy and compiled engines' streams)."""
    for seed in range(20):
        rng = np.random.default_rng(seed)
        phase = np.minimum(np.searchsorted(np.cumsum(dist._p), rng.random(4096), side="right"), 1)
        general = rng.standard_exponential(4096) / dist._mu[phase]
        assert np.array_equal(dist.sample(np.random.default_rng(seed), 4096), general)
