"""Tests of virtmodel.analytic.queues: textbook values, speed, properties, broadcasting, errors."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from virtmodel.analytic.queues import MD1, MG1, MM1, MM1K, GGc, MMc, MMcc, MMcK, erlang_b, erlang_c
from virtmodel.errors import InvalidParameter, UnstableSystem

try:
    from virtmodel.dists import Deterministic, Erlang, Exponential
except ImportError:  # dists.py is written in parallel; the queues only use .mean/.scv/.moment

    @dataclass(frozen=True)
    class Exponential:
        rate: float

        @property
        def mean(self):
            return 1 / self.rate

        scv = 1.0

        def moment(self, k):
            return math.factorial(k) / self.rate**k

    @dataclass(frozen=True)
    class Deterministic:
        value: float

        @property
        def mean(self):
            return self.value

        scv = 0.0

        def moment(self, k):
            return self.value**k

    @dataclass(frozen=True)
    class Erlang:
        k: int
        rate: float

        @property
        def mean(self):
            return self.k / self.rate

        @property
        def scv(self):
            return 1 / self.k

        def moment(self, j):
            return math.prod(range(self.k, self.k + j)) / self.rate**j


@dataclass(frozen=True)
class Moments:
    """A duck-typed distribution given by its moments (e.g. a heavy tail with E[S^2] = inf)."""

    mean: float
    m2: float
    m3: float = math.inf

    @property
    def scv(self):
        return self.m2 / self.mean**2 - 1

    def moment(self, k):
        return {1: self.mean, 2: self.m2, 3: self.m3}[k]


REL = 1e-9
PROP = settings(max_examples=40, deadline=None)


def close(x, y, rel=REL, abs=0.0):
    return x == pytest.approx(y, rel=rel, abs=abs)


# ----------------------------------------------------------------------------- exact references


def erlang_b_fraction(c: int, a: Fraction) -> Fraction:
    # Erlang B as the ratio of sums (Gross et al. 2008, Sec. 2.6), exact in rationals
    terms = [a**k / math.factorial(k) for k in range(c + 1)]
    return terms[-1] / sum(terms)


def erlang_b_recursion(c: int, a: float) -> float:
    # the plain, untruncated recursion B(k) = a B(k-1) / (k + a B(k-1))
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_b_mpmath(c: int, a: float, dps: int = 40):
    with mpmath.workdps(dps):
        c_, a_ = mpmath.mpf(c), mpmath.mpf(a)
        log_pmf = c_ * mpmath.log(a_) - a_ - mpmath.loggamma(c_ + 1)
        cdf = mpmath.gammainc(c_ + 1, a_, mpmath.inf, regularized=True)  # P(Poisson(a) <= c)
        return mpmath.exp(log_pmf) / cdf


def erlang_c_mpmath(c: int, a: float):
    with mpmath.workdps(40):
        b = erlang_b_mpmath(c, a)
        return c * b / (c - a * (1 - b))


# ----------------------------------------------------------------------------- (1) textbook values


def test_mm1_textbook():
    # Gross et al. (2008), Sec. 2.2: L = rho/(1-rho), W = 1/(mu-lambda), Wq = rho/(mu-lambda)
    q = MM1(arrival_rate=0.5, service_rate=1.0)
    assert close(q.mean_number, 1.0) and close(q.mean_response, 2.0)
    assert close(q.mean_wait, 1.0) and close(q.mean_queue_length, 0.5)
    assert close(q.utilization, 0.5) and close(q.throughput, 0.5)
    assert close(q.prob_n(3), 0.5 * 0.5**3)
    assert MM1.exact is True and q.exact is True
    assert isinstance(q.mean_number, float)


def test_erlang_b_textbook():
    # B(2, 1) = (1/2) / (1 + 1 + 1/2) = 1/5 (Kleinrock 1975, Sec. 3.7, Erlang's loss formula)
    assert close(erlang_b(2, 1.0), 0.2, rel=1e-15)
    # B(10, 5): Erlang B tables give 0.0184; exact rational value from the defining sum
    exact = erlang_b_fraction(10, Fraction(5))
    assert round(erlang_b(10, 5.0), 4) == 0.0184
    assert close(erlang_b(10, 5.0), float(exact), rel=1e-12)
    # B(1, a) = a / (1 + a)
    assert close(erlang_b(1, 3.0), 0.75, rel=1e-15)


def test_erlang_c_textbook():
    # C(2, 1) = 1/3 (Gross et al. 2008, Sec. 2.3; M/M/2 with rho = 1/2)
    assert close(erlang_c(2, 1.0), 1 / 3, rel=1e-14)
    # C(3, 2) = 4/9 from B(3, 2) = 4/19 (exact rationals)
    b = erlang_b_fraction(3, Fraction(2))
    assert b == Fraction(4, 19)
    assert close(erlang_c(3, 2.0), float(3 * b / (3 - 2 * (1 - b))), rel=1e-14)
    assert close(erlang_c(3, 2.0), 4 / 9, rel=1e-14)


@pytest.mark.parametrize("lam,mu,c", [(1, 1, 2), (2, 1, 3), (7, 2, 5), (9, 1, 10)])
def test_mmc_textbook(lam, mu, c):
    # Gross et al. (2008), Sec. 2.3: p0 = [sum_{n<c} a^n/n! + a^c/(c!(1-rho))]^-1,
    # Lq = p0 a^c rho / (c! (1-rho)^2), Wq = Lq/lambda, L = Lq + a -- evaluated in exact rationals
    a, rho = Fraction(lam, mu), Fraction(lam, c * mu)
    p0 = 1 / (sum(a**n / math.factorial(n) for n in range(c)) + a**c / (math.factorial(c) * (1 - rho)))
    lq = p0 * a**c * rho / (math.factorial(c) * (1 - rho) ** 2)
    q = MMc(arrival_rate=float(lam), service_rate=float(mu), servers=c)
    assert close(q.mean_queue_length, float(lq))
    assert close(q.mean_wait, float(lq / lam))
    assert close(q.mean_number, float(lq + a))
    assert close(q.mean_response, float(lq / lam + Fraction(1, mu)))
    assert close(q.prob_n(0), float(p0))
    assert close(q.prob_wait, float(p0 * a**c / (math.factorial(c) * (1 - rho))))


def test_mm2_closed_form():
    # Kleinrock (1975), Sec. 3.5 / Gross et al. Sec. 2.3: M/M/2 has L = 2 rho / (1 - rho^2); rho = 1/2 -> 4/3
    q = MMc(arrival_rate=1.0, service_rate=1.0, servers=2)
    assert close(q.mean_number, 4 / 3)


def test_mm1k_textbook():
    # Gross et al. (2008), Sec. 2.5.1: p_n = (1-rho) rho^n / (1 - rho^(K+1)); lambda=1, mu=2, K=3:
    # p = (8, 4, 2, 1)/15, L = 11/15, p_K = 1/15, lambda_eff = 14/15, Lq = L - (1 - p0) = 4/15
    for q in (MM1K(1.0, 2.0, 3), MMcK(1.0, 2.0, 1, 3)):
        assert close(q.blocking_probability, 1 / 15)
        assert close(q.mean_number, 11 / 15)
        assert close(q.throughput, 14 / 15)
        assert close(q.mean_queue_length, 4 / 15)
        assert close(q.mean_response, (11 / 15) / (14 / 15))
        assert close(q.mean_wait, (4 / 15) / (14 / 15))
        assert close(q.utilization, 7 / 15)
        assert np.allclose(q.prob_n(np.arange(5)), np.array([8, 4, 2, 1, 0]) / 15, rtol=REL, atol=0)


def test_mm1k_rho_one():
    # rho = 1: p_n = 1/(K+1), L = K/2 (Gross et al. 2008, Sec. 2.5.1)
    for k in (1, 4, 7, 1000):
        q = MM1K(arrival_rate=3.0, service_rate=3.0, capacity=k)
        assert close(q.mean_number, k / 2)
        assert close(q.blocking_probability, 1 / (k + 1))
        assert close(MMcK(3.0, 3.0, 1, k).mean_number, k / 2)
    # and continuously near it
    assert close(MM1K(1.0 + 1e-12, 1.0, 4).mean_number, 2.0, rel=1e-10)
    assert close(MM1K(1.0 - 1e-7, 1.0, 10).mean_number, MMcK(1.0 - 1e-7, 1.0, 1, 10).mean_number, rel=1e-12)


def test_mmck_textbook():
    # M/M/2/3, lambda = 2, mu = 1 (a = 2, rho = 1): weights 1, 2, 2, 2 -> p = (1, 2, 2, 2)/7
    q = MMcK(arrival_rate=2.0, service_rate=1.0, servers=2, capacity=3)
    assert close(q.blocking_probability, 2 / 7)
    assert close(q.mean_number, (2 + 4 + 6) / 7)
    assert close(q.mean_queue_length, 2 / 7)
    assert close(q.throughput, 2 * 5 / 7)
    assert close(q.utilization, (10 / 7) / 2)


def test_mmcc_textbook():
    # M/M/c/c with c = 2, a = 1: B = 1/5 (Gross et al. 2008, Sec. 2.6)
    q = MMcc(arrival_rate=1.0, service_rate=1.0, servers=2)
    assert close(q.blocking_probability, 0.2) and close(q.throughput, 0.8)
    assert q.mean_wait == 0.0 and q.mean_queue_length == 0.0
    assert close(q.mean_response, 1.0) and close(q.mean_number, 0.8) and close(q.utilization, 0.4)
    assert np.allclose(q.prob_n([0, 1, 2, 3]), [0.4, 0.4, 0.2, 0.0], rtol=REL, atol=0)
    # it equals M/M/c/K with K = c
    assert close(MMcK(1.0, 1.0, 2, 2).blocking_probability, 0.2)


@pytest.mark.parametrize("rho", [Fraction(1, 2), Fraction(4, 5), Fraction(99, 100)])
def test_md1_textbook(rho):
    # Gross et al. (2008), Sec. 5.1 (P-K with E[S^2] = D^2): Lq = rho^2 / (2 (1 - rho))
    lq = rho**2 / (2 * (1 - rho))
    q = MD1(arrival_rate=float(rho) / 2.0, service_time=2.0)
    assert close(q.mean_queue_length, float(lq))
    assert close(q.mean_number, float(lq + rho))
    m = MG1(arrival_rate=float(rho) / 2.0, service=Deterministic(2.0))
    assert close(m.mean_wait, q.mean_wait) and close(m.wait_variance, q.wait_variance)


def test_mg1_pollaczek_khinchine_and_takacs():
    # Kleinrock (1975), Sec. 5.5: W = lambda E[S^2] / (2(1-rho)); Erlang-2 service with mean 1, lambda = 0.6
    s = Erlang(2, 2.0)  # E[S] = 1, E[S^2] = 3/2, E[S^3] = 3
    q = MG1(arrival_rate=0.6, service=s)
    wq = Fraction(3, 5) * Fraction(3, 2) / (2 * Fraction(2, 5))
    assert close(q.mean_wait, float(wq))
    # Takacs (1962): E[Wq^2] = 2 Wq^2 + lambda E[S^3] / (3(1-rho))
    ew2 = 2 * wq**2 + Fraction(3, 5) * 3 / (3 * Fraction(2, 5))
    assert close(q.wait_variance, float(ew2 - wq**2))
    # M/M/1 (Kleinrock 1975, Sec. 3.2): response time ~ Exp(mu - lambda),
    # waiting-time variance rho (2 - rho) / (mu - lambda)^2
    m = MG1(arrival_rate=0.5, service=Exponential(1.0))
    assert close(m.wait_variance, 0.5 * 1.5 / 0.25)
    assert close(m.response_variance, 1 / 0.25)


def test_mg1_infinite_second_moment():
    # E[S^2] = inf (documented): the queue is stable but the mean wait is infinite
    q = MG1(arrival_rate=0.5, service=Moments(mean=1.0, m2=math.inf))
    assert q.utilization == 0.5 and q.mean_wait == math.inf and q.mean_number == math.inf
    assert q.wait_variance == math.inf
    q3 = MG1(arrival_rate=0.5, service=Moments(mean=1.0, m2=3.0, m3=math.inf))
    assert math.isfinite(q3.mean_wait) and q3.wait_variance == math.inf


def test_ggc_is_approximate():
    # Kingman (1961): Wq ~ rho/(1-rho) (ca^2 + cs^2)/2 E[S]; D/D/1 gives 0, M/D/1 gives P-K exactly
    assert GGc.exact is False
    assert GGc(Deterministic(2.0), Deterministic(1.0)).mean_wait == 0.0
    q = GGc(Exponential(0.5), Deterministic(1.0))
    assert close(q.mean_wait, MD1(0.5, 1.0).mean_wait)
    # Allen-Cunneen (Allen 1990; Whitt 1993): M/M/c wait scaled by (ca^2 + cs^2)/2
    g = GGc(Erlang(2, 4.0), Erlang(3, 1.5), servers=5)  # lambda = 2, scv 1/2; mu = 1/2, scv 1/3
    mmc = MMc(arrival_rate=2.0, service_rate=0.5, servers=5)
    assert close(g.mean_wait, mmc.mean_wait * (0.5 + 1 / 3) / 2)


# ----------------------------------------------------------------------------- (2) large c: exact and fast


def test_erlang_c_10000_servers_fast_and_exact():
    erlang_c(10_000, 9_000.0)  # warm-up
    t0 = time.perf_counter()
    value = erlang_c(10_000, 9_000.0)
    elapsed = time.perf_counter() - t0
    print(f"erlang_c(10000, 9000) = {value!r} in {elapsed * 1e3:.3f} ms")
    assert math.isfinite(value) and value > 0
    assert close(value, float(erlang_c_mpmath(10_000, 9_000.0)), rel=1e-10)
    assert elapsed < 1.0
    # heavy load near capacity too
    assert close(erlang_c(10_000, 9_990.0), float(erlang_c_mpmath(10_000, 9_990.0)), rel=1e-10)


def test_erlang_b_array_of_1000_loads_with_10000_servers():
    loads = np.linspace(100.0, 20_000.0, 1000)
    t0 = time.perf_counter()
    values = erlang_b(10_000, loads)
    elapsed = time.perf_counter() - t0
    print(f"erlang_b(10000, 1000 loads) in {elapsed * 1e3:.1f} ms")
    assert values.shape == (1000,) and np.all(np.isfinite(values))
    assert np.all(np.diff(values) >= 0)  # B increases with the load
    for i in (0, 400, 455, 500, 999):
        ref = float(erlang_b_mpmath(10_000, loads[i]))
        assert values[i] == pytest.approx(ref, rel=1e-11, abs=1e-300)
    assert elapsed < 1.0


# ----------------------------------------------------------------------------- (3) properties

rates = st.floats(min_value=1e-3, max_value=1e3)
utilizations = st.floats(min_value=1e-3, max_value=0.999)
servers_st = st.integers(min_value=1, max_value=60)


def mm1_from(rho, mu):
    return MM1(arrival_rate=rho * mu, service_rate=mu)


@PROP
@given(rho=utilizations, mu=rates, c=servers_st, k_extra=st.integers(0, 50), d=rates)
def test_littles_law_and_response_in_every_model(rho, mu, c, k_extra, d):
    lam = rho * c * mu
    models = [
        (MM1(rho * mu, mu), 1 / mu),
        (MMc(lam, mu, c), 1 / mu),
        (MMcc(lam, mu, c), 1 / mu),
        (MMcK(lam, mu, c, c + k_extra), 1 / mu),
        (MM1K(rho * mu * 3, mu, 1 + k_extra), 1 / mu),
        (MG1(rho / d, Erlang(3, 3 / d)), d),
        (MD1(rho / d, d), d),
        (GGc(Erlang(2, 2 * lam), Exponential(mu), c), 1 / mu),
    ]
    for q, mean_service in models:
        assert close(q.mean_number, q.throughput * q.mean_response, rel=1e-12)
        assert close(q.mean_queue_length, q.throughput * q.mean_wait, rel=1e-12)
        assert close(q.mean_response, q.mean_wait + mean_service, rel=1e-12)
        assert 0 <= q.utilization < 1 or isinstance(q, MM1K | MMcK | MMcc)


@PROP
@given(rho=utilizations, mu=rates, c=servers_st, k_extra=st.integers(0, 40))
def test_mean_number_from_distribution(rho, mu, c, k_extra):
    # L = sum n p_n independently of the Little's-law route
    n = np.arange(c + k_extra + 1)
    q = MMcK(rho * c * mu, mu, c, c + k_extra)
    p = q.prob_n(n)
    assert close(p.sum(), 1.0, rel=1e-12)
    assert close(q.mean_number, float(np.sum(n * p)), rel=1e-9)
    assert close(q.blocking_probability, float(p[-1]), rel=1e-12)
    qc = MMc(rho * c * mu, mu, c)
    assume(rho < 0.95)
    n = np.arange(c + 2000)
    p = qc.prob_n(n)
    assert close(p.sum(), 1.0, rel=1e-9)
    assert close(qc.mean_number, float(np.sum(n * p)), rel=1e-8)
    assert close(qc.prob_wait, float(p[c:].sum()), rel=1e-8)


@PROP
@given(rho=st.floats(0.01, 0.9), step=st.floats(1.01, 1.1), mu=rates, c=servers_st)
def test_waits_increase_with_load(rho, step, mu, c):
    lo, hi = rho, rho * step
    pairs = [
        (MM1(lo * mu, mu), MM1(hi * mu, mu)),
        (MMc(lo * c * mu, mu, c), MMc(hi * c * mu, mu, c)),
        (MMcK(lo * c * mu, mu, c, c + 5), MMcK(hi * c * mu, mu, c, c + 5)),
        (MM1K(lo * mu, mu, 5), MM1K(hi * mu, mu, 5)),
        (MD1(lo, 1.0), MD1(hi, 1.0)),
        (MG1(lo * mu, Exponential(mu)), MG1(hi * mu, Exponential(mu))),
        (
            GGc(Exponential(lo * c * mu), Erlang(2, 2 * mu), c),
            GGc(Exponential(hi * c * mu), Erlang(2, 2 * mu), c),
        ),
    ]
    for a, b in pairs:
        assert b.mean_wait > a.mean_wait and b.mean_number > a.mean_number
    assert MMcc(lo * c * mu, mu, c).blocking_probability < MMcc(hi * c * mu, mu, c).blocking_probability


def assert_same_metrics(
    a,
    b,
    rel=1e-9,
    metrics=("utilization", "throughput", "mean_wait", "mean_response", "mean_number", "mean_queue_length"),
):
    for m in metrics:
        assert close(getattr(a, m), getattr(b, m), rel=rel), m


@PROP
@given(rho=utilizations, mu=rates)
def test_single_server_special_cases_equal_mm1(rho, mu):
    lam = rho * mu
    ref = MM1(lam, mu)
    assert_same_metrics(MMc(lam, mu, 1), ref)
    assert_same_metrics(MG1(lam, Exponential(mu)), ref)
    assert_same_metrics(GGc(Exponential(lam), Exponential(mu), 1), ref)
    assert close(MMc(lam, mu, 1).prob_wait, rho)


@PROP
@given(rho=utilizations, mu=rates, c=st.integers(2, 200))
def test_ggc_exponential_equals_mmc(rho, mu, c):
    lam = rho * c * mu
    assert_same_metrics(GGc(Exponential(lam), Exponential(mu), c), MMc(lam, mu, c))


@PROP
@given(rho=st.floats(0.01, 0.9), mu=rates, c=servers_st)
def test_mmck_with_large_capacity_approaches_mmc(rho, mu, c):
    lam = rho * c * mu
    big = MMcK(lam, mu, c, c + 600)  # rho^600 < 1e-27
    assert_same_metrics(big, MMc(lam, mu, c), rel=1e-9)


@PROP
@given(rho=st.floats(0.01, 10.0), mu=rates, k=st.integers(1, 300))
def test_mm1k_equals_mmck_one_server(rho, mu, k):
    a, b = MM1K(rho * mu, mu, k), MMcK(rho * mu, mu, 1, k)
    assert_same_metrics(a, b, rel=1e-9)
    assert close(a.blocking_probability, b.blocking_probability, rel=1e-9)
    n = np.arange(k + 2)
    assert np.allclose(a.prob_n(n), b.prob_n(n), rtol=1e-9, atol=1e-300)


@settings(max_examples=60, deadline=None)
@given(c=st.integers(1, 2000), load_per_server=st.floats(0.01, 3.0))
def test_erlang_b_against_mpmath_and_full_recursion(c, load_per_server):
    a = load_per_server * c
    value = erlang_b(c, a)
    assert value == pytest.approx(float(erlang_b_mpmath(c, a)), rel=1e-12, abs=1e-300)
    assert value == pytest.approx(erlang_b_recursion(c, a), rel=1e-12, abs=1e-300)
    if a < c:
        assert erlang_c(c, a) == pytest.approx(float(erlang_c_mpmath(c, a)), rel=1e-11, abs=1e-300)


# ----------------------------------------------------------------------------- (4) broadcasting


def test_erlang_broadcasting_matches_loop():
    c = np.array([1, 2, 5, 50, 3000])
    a = np.array([[0.5], [0.9], [2.0]])
    b = erlang_b(c, a * c)
    assert b.shape == (3, 5)
    for i in range(3):
        for j in range(5):
            assert b[i, j] == pytest.approx(erlang_b(int(c[j]), float(a[i, 0] * c[j])), rel=1e-14)
    cc = erlang_c(c, a[:2] * c)
    assert cc.shape == (2, 5)
    assert cc[1, 3] == pytest.approx(erlang_c(50, 45.0), rel=1e-14)
    assert erlang_b([], []).shape == (0,)


def test_models_broadcast_like_a_loop():
    lam = np.array([[0.2], [0.5], [0.9]])
    mu = np.array([1.0, 2.0])
    c = np.array([1, 3])
    cases = [
        (lambda lam_, mu_: MM1(lam_, mu_), None),
        (lambda lam_, mu_: MMc(lam_, mu_, 2), None),
        (lambda lam_, mu_: MMcc(lam_, mu_, 2), None),
        (lambda lam_, mu_: MMcK(lam_, mu_, 2, 7), None),
        (lambda lam_, mu_: MM1K(lam_, mu_, 4), None),
        (lambda lam_, mu_: MD1(lam_, 1 / mu_), None),
    ]
    for make, _ in cases:
        q = make(lam, mu)
        for metric in (
            "utilization",
            "throughput",
            "mean_wait",
            "mean_response",
            "mean_number",
            "mean_queue_length",
        ):
            arr = getattr(q, metric)
            assert isinstance(arr, np.ndarray) and arr.shape == (3, 2), (make, metric)
            for i in range(3):
                for j in range(2):
                    scalar = getattr(make(float(lam[i, 0]), float(mu[j])), metric)
                    assert isinstance(scalar, float)
                    assert arr[i, j] == pytest.approx(scalar, rel=1e-13)
    # servers and capacity broadcast too (ragged capacities in one call)
    q = MMcK(lam, 1.0, c, np.array([3, 40]))
    for i in range(3):
        for j in range(2):
            ref = MMcK(float(lam[i, 0]), 1.0, int(c[j]), [3, 40][j])
            assert q.mean_number[i, j] == pytest.approx(ref.mean_number, rel=1e-13)
            assert q.blocking_probability[i, j] == pytest.approx(ref.blocking_probability, rel=1e-13)
    m = MMc(lam, 1.0, c)
    assert m.prob_wait.shape == (3, 2) and m.prob_n(np.arange(4)[:, None, None]).shape == (4, 3, 2)
    g = MG1(np.array([0.1, 0.5]), Exponential(1.0))
    assert np.allclose(g.mean_wait, [MM1(0.1, 1.0).mean_wait, MM1(0.5, 1.0).mean_wait], rtol=1e-13)
    assert GGc(Exponential(0.5), Exponential(1.0), servers=c).mean_wait.shape == (2,)


# ----------------------------------------------------------------------------- (5) bad input and instability

BAD_POSITIVE = [0, -1.0, math.nan, math.inf, "1.0", None]
BAD_SERVERS = [0, -2, 1.5, math.nan, "2"]

CONSTRUCTORS = {
    "MM1": (MM1, {"arrival_rate": 0.5, "service_rate": 1.0}),
    "MMc": (MMc, {"arrival_rate": 0.5, "service_rate": 1.0, "servers": 2}),
    "MMcc": (MMcc, {"arrival_rate": 0.5, "service_rate": 1.0, "servers": 2}),
    "MMcK": (MMcK, {"arrival_rate": 0.5, "service_rate": 1.0, "servers": 2, "capacity": 5}),
    "MM1K": (MM1K, {"arrival_rate": 0.5, "service_rate": 1.0, "capacity": 5}),
    "MD1": (MD1, {"arrival_rate": 0.5, "service_time": 1.0}),
    "MG1": (MG1, {"arrival_rate": 0.5, "service": Exponential(1.0)}),
    "GGc": (GGc, {"arrival": Exponential(0.5), "service": Exponential(1.0), "servers": 2}),
}
CASES = []
for model, (_cls, kwargs) in CONSTRUCTORS.items():
    for name in kwargs:
        if name in ("servers", "capacity"):
            CASES += [(model, name, bad) for bad in BAD_SERVERS]
        elif name in ("service", "arrival"):
            CASES += [(model, name, bad) for bad in (1.0, "exp", Moments(mean=-1.0, m2=1.0))]
        else:
            CASES += [(model, name, bad) for bad in BAD_POSITIVE]


@pytest.mark.parametrize("model,name,bad", CASES)
def test_bad_parameters_raise_invalid_parameter(model, name, bad):
    cls, kwargs = CONSTRUCTORS[model]
    with pytest.raises(InvalidParameter, match=name) as info:
        cls(**{**kwargs, name: bad})
    if not isinstance(bad, Moments):
        assert repr(bad) in str(info.value) or str(bad) in str(info.value)


@pytest.mark.parametrize("model", list(CONSTRUCTORS))
def test_bad_unstable_choice(model):
    cls, kwargs = CONSTRUCTORS[model]
    with pytest.raises(InvalidParameter, match="unstable"):
        cls(**kwargs, unstable="ignore")


@pytest.mark.parametrize("fn", [erlang_b, erlang_c])
def test_erlang_bad_input(fn):
    for bad in BAD_SERVERS:
        with pytest.raises(InvalidParameter, match="servers"):
            fn(bad, 1.0)
    for bad in BAD_POSITIVE:
        with pytest.raises(InvalidParameter, match="offered_load"):
            fn(3, bad)


def test_capacity_below_servers():
    with pytest.raises(InvalidParameter, match=r"capacity must be >= servers.*capacity=2.*servers=3"):
        MMcK(1.0, 1.0, servers=3, capacity=2)


def test_erlang_c_unstable():
    with pytest.raises(UnstableSystem, match=r"offered_load=5\.0.*servers=5") as info:
        erlang_c(5, 5.0)
    assert info.value.utilization == 1.0
    with pytest.raises(UnstableSystem):
        erlang_c([5, 10], [1.0, 12.0])


UNSTABLE = [
    (MM1, {"arrival_rate": 2.0, "service_rate": 1.0}, 2.0),
    (MM1, {"arrival_rate": 1.0, "service_rate": 1.0}, 1.0),
    (MMc, {"arrival_rate": 3.0, "service_rate": 1.0, "servers": 2}, 1.5),
    (MD1, {"arrival_rate": 1.0, "service_time": 1.25}, 1.25),
    (MG1, {"arrival_rate": 1.0, "service": Exponential(0.5)}, 2.0),
    (GGc, {"arrival": Exponential(4.0), "service": Exponential(1.0), "servers": 2}, 2.0),
]


@pytest.mark.parametrize("cls,kwargs,rho", UNSTABLE)
def test_unstable_raise_and_inf(cls, kwargs, rho):
    with pytest.raises(UnstableSystem, match=f"utilization={rho!r}") as info:
        cls(**kwargs)
    assert info.value.utilization == rho
    q = cls(**kwargs, unstable="inf")
    assert q.utilization == rho
    for metric in ("mean_wait", "mean_response", "mean_number", "mean_queue_length"):
        assert getattr(q, metric) == math.inf
    assert math.isfinite(q.throughput) and q.throughput > 0


def test_unstable_inf_is_elementwise():
    q = MM1(arrival_rate=np.array([0.5, 1.0, 2.0]), service_rate=1.0, unstable="inf")
    assert np.array_equal(q.mean_number, [1.0, math.inf, math.inf])
    assert np.array_equal(q.utilization, [0.5, 1.0, 2.0])
    assert np.array_equal(q.prob_n(0), [0.5, 0.0, 0.0])
    m = MMc(arrival_rate=np.array([1.0, 5.0]), service_rate=1.0, servers=2, unstable="inf")
    assert m.mean_wait[1] == math.inf and m.prob_wait[1] == 1.0 and close(m.mean_wait[0], 1 / 3)
    with pytest.raises(UnstableSystem, match=r"utilization=\[1\. 2\.\]"):
        MM1(arrival_rate=np.array([0.5, 1.0, 2.0]), service_rate=1.0)


def test_finite_systems_never_unstable():
    assert MMcc(100.0, 1.0, 2).blocking_probability == pytest.approx(
        float(erlang_b_fraction(2, Fraction(100)))
    )
    q = MMcK(100.0, 1.0, 2, 50)
    # exact in rationals: p_n proportional to a^n / n! (n <= c), a^n / (c! c^(n-c)) (n > c); B = p_K
    weights = [Fraction(100) ** n / math.factorial(n) if n <= 2 else Fraction(100) ** n / (2 * 2 ** (n - 2))
               for n in range(51)]
    blocking = weights[-1] / sum(weights)  # 0.98: p_0 + p_1 ~ 1e-80
    assert q.blocking_probability == pytest.approx(float(blocking), rel=1e-12)
    assert q.utilization == pytest.approx(float(100 * (1 - blocking) / 2), rel=1e-9)
    assert MM1K(1e3, 1.0, 10_000).mean_number == pytest.approx(10_000 - 1 / 999, rel=1e-9)
    big = MMcK(9_000.0, 1.0, 10_000, 12_000)
    assert close(big.mean_wait, MMc(9_000.0, 1.0, 10_000).mean_wait, rel=1e-9)
