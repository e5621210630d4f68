"""Waiting- and response-time distributions (virtmodel/analytic/tail.py) against exact results.

Sources: M/M/c, Kleinrock, Queueing Systems I (1975), eq. (3.41) and Gross,
Shortle, Thompson & Harris, Fundamentals of Queueing Theory, 4th ed. (2008),
eqs. (2.39)-(2.40); M/D/1, Erlang's formula (Crommelin 1932; Franx 2001);
M/G/1, the Pollaczek-Khinchine transform (Kleinrock 1975, eq. (5.105)).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

import virtmodel as vm
from virtmodel.analytic.scheduling import MG1Priority
from virtmodel.analytic.tail import (
    MG1PriorityResponse,
    MG1PriorityWait,
    MG1Response,
    MG1Wait,
    MMcResponse,
    MMcWait,
    md1_wait_cdf,
)
from virtmodel.dists import Deterministic, Erlang, Exponential, HyperExponential, LogNormal, Uniform
from virtmodel.errors import InvalidParameter, NoClosedForm, UnstableSystem


def _erlang_c_exact(c, a):
    """Erlang C in 50-digit arithmetic, straight from its definition (Kleinrock 1975, eq. (3.40))."""
    with mpmath.workdps(50):
        a = mpmath.mpf(a)
        head = mpmath.fsum(a**k / mpmath.factorial(k) for k in range(c))
        tail = a**c / mpmath.factorial(c) * c / (c - a)
        return tail / (head + tail)


@pytest.mark.parametrize("lam, mu, c", [(0.5, 1.0, 1), (0.9, 1.0, 1), (3.0, 1.0, 4), (1.0, 1.0, 2), (45.0, 1.0, 50)])
def test_mmc_wait_tail_equals_erlang_c_times_exponential(lam, mu, c):
    d = MMcWait(lam, mu, c)
    prob = _erlang_c_exact(c, lam / mu)
    for t in (0.0, 0.3, 1.0, 7.5):
        exact = prob * mpmath.exp(-(c * mu - lam) * t)
        assert float(d.sf(t)) == pytest.approx(float(exact), rel=1e-9, abs=1e-15)
    # c = 2, a = 1: C = 1/3 exactly, P(W > t) = e^{-t}/3
    if (lam, mu, c) == (1.0, 1.0, 2):
        assert float(d.sf(2.0)) == pytest.approx(math.exp(-2.0) / 3, rel=1e-12)


@pytest.mark.parametrize("lam, mu, c", [(0.5, 1.0, 1), (0.9, 1.0, 1), (3.0, 1.0, 4), (2.5, 1.0, 3), (3.0, 2.0, 2)])
def test_mmc_response_is_the_convolution_of_wait_and_service(lam, mu, c):
    """P(T > t) = (1 - C) e^{-mu t} + int_0^t C theta e^{-theta w} e^{-mu (t - w)} dw + C e^{-theta t}."""
    d = MMcResponse(lam, mu, c)
    prob, theta = float(_erlang_c_exact(c, lam / mu)), c * mu - lam
    for t in (0.1, 1.0, 3.0, 12.0):
        inside, _ = integrate.quad(lambda w, t=t: prob * theta * math.exp(-theta * w - mu * (t - w)), 0, t,
                                   epsabs=1e-14, epsrel=1e-13)
        exact = (1 - prob) * math.exp(-mu * t) + inside + prob * math.exp(-theta * t)
        assert float(d.sf(t)) == pytest.approx(exact, rel=1e-9, abs=1e-15)


def test_mm1_response_is_exponential_and_quantiles_invert_the_cdf():
    d = MMcResponse(0.7, 1.0, 1)   # Exp(mu - lambda), Kleinrock (1975), §3.2
    t = np.array([0.2, 1.0, 5.0, 20.0])
    np.testing.assert_allclose(d.sf(t), np.exp(-0.3 * t), rtol=1e-12)
    q = np.array([0.5, 0.95, 0.99])
    np.testing.assert_allclose(d.quantile(q), -np.log(1 - q) / 0.3, rtol=1e-10)
    w = MMcWait(3.0, 1.0, 4)
    np.testing.assert_allclose(w.cdf(w.quantile([0.6, 0.95, 0.999])), [0.6, 0.95, 0.999], rtol=1e-12)
    assert float(w.quantile(0.2)) == 0.0   # below the atom P(W = 0) = 1 - C


def test_mean_of_each_distribution_is_the_known_mean():
    for dist, mean in [(MMcWait(3.0, 1.0, 4), vm.analytic.MMc(3.0, 1.0, 4).mean_wait),
                       (MMcResponse(3.0, 1.0, 4), vm.analytic.MMc(3.0, 1.0, 4).mean_response),
                       (MG1Wait(0.6, HyperExponential.balanced(1.0, 4.0)),
                        vm.analytic.MG1(0.6, HyperExponential.balanced(1.0, 4.0)).mean_wait)]:
        upper = float(dist.quantile(1 - 1e-13))  # beyond it the tail adds < 1e-12
        area, _ = integrate.quad(lambda x, d=dist: float(d.sf(x)), 0, upper, limit=400)
        assert area == pytest.approx(float(mean), rel=1e-7)


def test_mg1_inversion_equals_exact_mm1():
    d = MG1Wait(0.5, Exponential(1.0))
    t = np.array([0.01, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0])
    np.testing.assert_allclose(d.sf(t), 0.5 * np.exp(-0.5 * t), atol=1e-9)
    assert np.all(d.inversion_error(t) < 1e-9)
    np.testing.assert_allclose(MG1Response(0.9, Exponential(1.0)).quantile([0.5, 0.95, 0.99]),
                               -np.log([0.5, 0.05, 0.01]) / 0.1, rtol=1e-8)


def test_mg1_inversion_equals_the_exact_rational_solution_for_h2_service():
    """M/H2/1: W*(s) is rational, so P(W > t) = sum_j r_j e^{-z_j t} over the poles z_j (partial fractions)."""
    lam, p, r1, r2 = 0.6, 0.2, 0.5, 2.0
    service = HyperExponential((p, 1 - p), (r1, r2))
    rho = lam * service.mean
    # W*(s)/s = (1 - rho) / (s - lam (1 - B*(s))); the denominator times (s + r1)(s + r2) is a cubic in s
    num = np.poly1d([1.0, r1 + r2, r1 * r2]) * (1 - rho)
    den = (np.poly1d([1.0, 0.0]) * np.poly1d([1.0, r1 + r2, r1 * r2])
           - lam * (np.poly1d([1.0, r1 + r2, r1 * r2]) - (p * r1 * np.poly1d([1.0, r2]) + (1 - p) * r2
                                                          * np.poly1d([1.0, r1]))))
    poles = den.roots  # one root is 0 (the cdf's step), the others negative
    t = np.array([0.3, 1.0, 4.0, 15.0])
    cdf = np.zeros_like(t)
    for z in poles:
        residue = num(z) / den.deriv()(z)
        cdf += np.real(residue * np.exp(z * t))
    np.testing.assert_allclose(MG1Wait(lam, service).cdf(t), cdf, atol=1e-9)


def test_md1_erlang_formula():
    """Erlang's M/D/1 formula: its mean is rho D / (2 (1 - rho)) and it starts at 1 - rho; the transform
    inversion agrees with it to 1e-5 away from the kinks at multiples of D (and only to ~1e-3 at them,
    which is why laws with atoms are not inverted)."""
    lam, D = 0.8, 1.0
    assert md1_wait_cdf(0.0, lam, D) == pytest.approx(0.2, rel=1e-14)
    area, _ = integrate.quad(lambda x: 1 - md1_wait_cdf(x, lam, D), 0, 80, points=list(range(1, 80)), limit=500)
    assert area == pytest.approx(lam * D / (2 * (1 - lam)), rel=1e-8)
    d = MG1Wait(lam, Deterministic(D))
    assert float(d.cdf(3.7)) == pytest.approx(0.8240545923506487, abs=1e-12)   # 60-digit mpmath sum
    # the response is the wait shifted by D
    assert float(MG1Response(lam, Deterministic(D)).quantile(0.95)) == pytest.approx(float(d.quantile(0.95)) + D)


def test_merged_streams_have_one_wait_and_their_own_response():
    sc = vm.Scenario(1, [vm.VM("a", Exponential(0.3), Exponential(1.0)),
                         vm.VM("b", Exponential(0.3), Erlang.from_mean(2, 1.0))])
    p = vm.predict(sc)
    assert p.quantile("wait", 0.95, "a") == pytest.approx(p.quantile("wait", 0.95, "b"))
    for g in ("a", "b"):
        upper = float(p.quantile("response", 1 - 1e-13, g))
        area, _ = integrate.quad(lambda x, g=g: 1 - float(p.cdf("response", x, g)), 0, upper, limit=400)
        assert area == pytest.approx(p.value("mean_response", g), rel=1e-7)
        assert p.value("p95_response", g) == pytest.approx(float(p.quantile("response", 0.95, g)))
    assert p.value("p99_wait") == pytest.approx(float(p.quantile("wait", 0.99)))


def test_priority_class_waits_have_cobhams_means_and_one_class_is_pollaczek_khinchine():
    """Non-preemptive priority (Takagi 1991, §3.5): the mean of each class's wait distribution is Cobham's
    mean wait (Cobham, Oper. Res. 2, 1954); with one class the transform is the M/G/1 one."""
    rates, laws = (0.2, 0.3, 0.25), (Exponential(2.0), HyperExponential.balanced(1.0, 4.0), Erlang.from_mean(3, 1.0))
    cobham = MG1Priority(list(rates), list(laws), preemptive=False).mean_wait
    for k in range(3):
        d = MG1PriorityWait(rates, laws, k)
        upper = float(d.quantile(1 - 1e-13))
        area, _ = integrate.quad(lambda x, d=d: float(d.sf(x)), 0, upper, limit=400)
        assert area == pytest.approx(float(cobham[k]), rel=1e-7)
        assert float(d.cdf(0.0)) == pytest.approx(1 - sum(r * law.mean for r, law in zip(rates, laws, strict=True)))
        assert np.all(d.inversion_error([0.5, 5.0]) < 1e-8)
        r = MG1PriorityResponse(rates, laws, k)
        upper = float(r.quantile(1 - 1e-13))
        area, _ = integrate.quad(lambda x, r=r: float(r.sf(x)), 0, upper, limit=400)
        assert area == pytest.approx(float(cobham[k]) + laws[k].mean, rel=1e-7)
    one = MG1PriorityWait((0.6,), (HyperExponential.balanced(1.0, 4.0),), 0)
    t = np.array([0.5, 2.0, 9.0])
    np.testing.assert_allclose(one.sf(t), MG1Wait(0.6, HyperExponential.balanced(1.0, 4.0)).sf(t), atol=1e-10)
    p = vm.predict(vm.Scenario(1, [vm.VM("hi", Exponential(0.3), Exponential(1.0), priority=0),
                                   vm.VM("lo", Exponential(0.3), Exponential(1.0), priority=1)],
                               policy=vm.policies.Priority()))
    assert p.value("p99_wait", "lo") > p.value("p99_wait", "hi")
    mixed = 0.5 * p.cdf("response", 3.0, "hi") + 0.5 * p.cdf("response", 3.0, "lo")
    assert float(p.cdf("response", 3.0)) == pytest.approx(float(mixed), rel=1e-12)
    preemptive = vm.predict(vm.Scenario(1, [vm.VM("hi", Exponential(0.3), Exponential(1.0), priority=0),
                                            vm.VM("lo", Exponential(0.3), Exponential(1.0), priority=1)],
                                        policy=vm.policies.Priority(preemptive=True)))
    with pytest.raises(NoClosedForm, match="non-preemptive"):
        preemptive.cdf("response", 1.0, "lo")


def test_bad_input_is_refused_with_reasons():
    p = vm.predict(vm.Scenario(1, [vm.VM("a", Exponential(0.5), Exponential(1.0))]))
    for q in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(InvalidParameter, match="q must lie strictly inside"):
            p.quantile("response", q)
    with pytest.raises(InvalidParameter, match="'response' or 'wait'"):
        p.cdf("number", 1.0)
    with pytest.raises(InvalidParameter, match="group"):
        p.cdf("wait", 1.0, "nope")
    srpt = vm.predict(vm.Scenario(1, [vm.VM("a", Exponential(0.5), Exponential(1.0))], policy=vm.policies.SRPT()))
    with pytest.raises(NoClosedForm, match="simulate the percentiles"):
        srpt.quantile("response", 0.99)
    lognormal = vm.predict(vm.Scenario(1, [vm.VM("a", Exponential(0.5), LogNormal(1.0, 2.0))]))
    assert not lognormal.values["metric"].str.startswith("p9").any()
    with pytest.raises(NoClosedForm, match="LogNormal"):
        lognormal.cdf("wait", 1.0)
    with pytest.raises(NoClosedForm, match="atoms"):
        MG1Wait(0.5, [(0.5, Deterministic(1.0)), (0.5, Uniform(0.0, 1.0))])
    with pytest.raises(UnstableSystem):
        MMcWait(4.0, 1.0, 4)
    with pytest.raises(InvalidParameter, match="servers"):
        MMcWait(1.0, 1.0, 0)
    with pytest.raises(InvalidParameter, match="t must be"):
        MMcWait(1.0, 2.0).cdf(-1.0)


@settings(max_examples=40, deadline=None)
@given(load=st.floats(0.05, 0.97), mu=st.floats(0.1, 10.0), c=st.integers(1, 30), t=st.floats(0.0, 50.0))
def test_wait_tail_equals_its_derivation(load, mu, c, t):
    lam = load * c * mu
    d = vm.derive("mmc.wait_tail")
    assert d(arrival_rate=lam, service_rate=mu, servers=c, t=t) == pytest.approx(
        float(MMcWait(lam, mu, c).sf(t)), rel=1e-9, abs=1e-15)


@settings(max_examples=40, deadline=None)
@given(load=st.floats(0.05, 0.97), mu=st.floats(0.1, 10.0), c=st.integers(1, 30), t=st.floats(0.01, 20.0))
def test_response_tail_equals_its_derivation(load, mu, c, t):
    lam = load * c * mu
    theta = c * mu - lam
    if abs(theta - mu) < 1e-3 * mu:
        return  # the derivation's assumption theta != mu (the numeric code covers theta = mu by continuity)
    d = vm.derive("mmc.response_tail")
    assert d(arrival_rate=lam, service_rate=mu, servers=c, t=t) == pytest.approx(
        float(MMcResponse(lam, mu, c).sf(t)), rel=1e-9, abs=1e-15)
