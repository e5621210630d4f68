"""Tests of virtmodel.analytic.scheduling: textbook values, limits, conservation law, errors, speed."""

from __future__ import annotations

import math
import time
from fractions import Fraction

import mpmath
import numpy as np
import pytest

from virtmodel.analytic.queues import MG1, MM1, MMc
from virtmodel.analytic.scheduling import (
    MG1PS,
    MG1PSJF,
    MG1SJF,
    MG1SRPT,
    MG1DelayDependent,
    MG1Priority,
    MG1RoundRobin,
    MMcPriority,
    _expect,
    conservation_sum,
)
from virtmodel.dists import (
    Deterministic,
    Empirical,
    Erlang,
    Exponential,
    Gamma,
    HyperExponential,
    LogNormal,
    Uniform,
)
from virtmodel.errors import InvalidParameter, NoClosedForm, UnstableSystem

EXP = Exponential(1.0)
H2 = HyperExponential.balanced(mean=1.0, scv=8.0)


# --------------------------------------------------------------------------- _expect


@pytest.mark.parametrize("dist", [
    Exponential(2.0), Erlang(3, 2.0), Gamma(0.5, 0.25), LogNormal(2.0, 3.0), Uniform(1.0, 3.0),
    Deterministic(1.5), Empirical([0.5, 1.0, 1.0, 4.0]), H2,
])
def test_expect_reproduces_moments(dist):
    assert _expect(dist, lambda x: x) == pytest.approx(dist.mean, rel=1e-9)
    assert _expect(dist, lambda x: x**2) == pytest.approx(dist.moment(2), rel=1e-8)
    assert _expect(dist, lambda x: np.ones_like(x)) == pytest.approx(1.0, rel=1e-9)


# --------------------------------------------------------------------------- static priority


def test_cobham_two_class_mm1_non_preemptive():
    # Cobham (1954); Kleinrock (1976) vol. II §3.6: lambda = (0.4, 0.4), mu = 1, R = 0.8:
    # W_1 = 0.8 / (1 * 0.6) = 4/3, W_2 = 0.8 / (0.6 * 0.2) = 20/3.
    q = MG1Priority([0.4, 0.4], [EXP, EXP])
    assert q.mean_wait == pytest.approx([float(Fraction(4, 3)), float(Fraction(20, 3))], rel=1e-14)
    assert q.mean_response == pytest.approx([7 / 3, 23 / 3], rel=1e-14)
    assert q.mean_number == pytest.approx(np.array([0.4, 0.4]) * q.mean_response)
    assert q.overall_mean_wait == pytest.approx(MM1(0.8, 1.0).mean_wait, rel=1e-14)
    assert q.response_given_size(2.0, 1) == pytest.approx(20 / 3 + 2.0)
    assert q.exact


def test_cobham_two_class_mm1_preemptive():
    # Preemptive resume: T_1 = 1 + 0.4 / 0.6 = 5/3 (class 1 alone is M/M/1 at 0.4);
    # T_2 = 1/0.6 + 0.8 / (0.6 * 0.2) = 25/3; the overall mean equals M/M/1 FCFS (5).
    q = MG1Priority([0.4, 0.4], [EXP, EXP], preemptive=True)
    assert q.mean_response == pytest.approx([5 / 3, 25 / 3], rel=1e-14)
    assert q.mean_response[0] == pytest.approx(MM1(0.4, 1.0).mean_response)
    assert q.overall_mean_response == pytest.approx(5.0)
    with pytest.raises(NoClosedForm, match="mean_wait"):
        q.mean_wait  # noqa: B018


def test_mmc_priority_against_mmc():
    lam, mu, c = [0.6, 0.9, 0.3], 1.0, 2
    total = MMc(sum(lam), mu, c)
    np_q = MMcPriority(lam, mu, c)
    # equal rates: the class order does not change the total queue (conservation)
    assert np_q.overall_mean_wait == pytest.approx(total.mean_wait, rel=1e-12)
    pr_q = MMcPriority(lam, mu, c, preemptive=True)
    assert pr_q.overall_mean_response == pytest.approx(total.mean_response, rel=1e-12)
    assert pr_q.mean_response[0] == pytest.approx(MMc(0.6, mu, c).mean_response, rel=1e-12)
    # c = 1 reduces to M/G/1 priority with exponential service
    one = MMcPriority([0.3, 0.4], 1.0, 1, preemptive=True)
    assert one.mean_response == pytest.approx(MG1Priority([0.3, 0.4], [EXP, EXP], True).mean_response)
    expected = MG1Priority([0.3, 0.4], [EXP, EXP]).mean_wait
    assert MMcPriority([0.3, 0.4], 1.0, 1).mean_wait == pytest.approx(expected)


# --------------------------------------------------------------------------- size-based, M/M/1 at 0.8


LAM = 0.8


def _rho(x):
    return LAM * (1 - mpmath.e ** (-x) * (1 + x))   # lambda E[S; S <= x], S ~ Exp(1)


def test_sjf_mm1_against_mpmath():
    # Kleinrock (1976) vol. II §3.6 / Harchol-Balter (2013) ch. 31: E[T|x] = x + W0/(1 - rho(x))^2
    w0 = LAM * 2 / 2
    ref = 1 + mpmath.quad(lambda x: mpmath.e ** (-x) * w0 / (1 - _rho(x)) ** 2, [0, 1, 5, 20, mpmath.inf])
    q = MG1SJF([LAM], [EXP])
    assert q.overall_mean_response == pytest.approx(float(ref), rel=1e-9)
    assert q.overall_mean_response < MM1(LAM, 1.0).mean_response


def test_srpt_mm1_against_mpmath():
    # Schrage & Miller (1966); Wierman & Harchol-Balter (2003) §2:
    # E[T|x] = lambda m2(x) / (2 (1 - rho(x))^2) + int_0^x dt / (1 - rho(t)), m2(x) = 2 - e^-x (2x + 2).
    def waiting(x):
        return LAM * (2 - mpmath.e ** (-x) * (2 * x + 2)) / (2 * (1 - _rho(x)) ** 2)

    pts = [0, 1, 5, 20, mpmath.inf]
    ref = mpmath.quad(lambda x: mpmath.e ** (-x) * waiting(x), pts) + mpmath.quad(
        lambda t: mpmath.e ** (-t) / (1 - _rho(t)), pts)  # E int_0^X g = int g(t) P(X > t) dt
    q = MG1SRPT([LAM], [EXP])
    assert q.overall_mean_response == pytest.approx(float(ref), rel=1e-9)
    x = 1.7
    cond = float(waiting(x) + mpmath.quad(lambda t: 1 / (1 - _rho(t)), [0, x]))
    assert q.response_given_size(x) == pytest.approx(cond, rel=1e-10)
    xs = np.array([3.0, 0.2, 1.7])
    assert q.response_given_size(xs) == pytest.approx([q.response_given_size(v) for v in xs], rel=1e-10)


def test_psjf_mm1_against_mpmath():
    # Wierman & Harchol-Balter (2003) §2: E[T|x] = x/(1 - rho(x)) + lambda E[S^2; S<=x] / (2 (1-rho(x))^2)
    def cond(x):
        m2 = 2 - mpmath.e ** (-x) * (x * x + 2 * x + 2)
        return x / (1 - _rho(x)) + LAM * m2 / (2 * (1 - _rho(x)) ** 2)

    ref = mpmath.quad(lambda x: mpmath.e ** (-x) * cond(x), [0, 1, 5, 20, mpmath.inf])
    q = MG1PSJF([LAM], [EXP])
    assert q.overall_mean_response == pytest.approx(float(ref), rel=1e-9)
    assert q.response_given_size(0.5) == pytest.approx(float(cond(0.5)), rel=1e-12)


def test_ps_is_insensitive_and_equals_fcfs_for_exponential():
    q = MG1PS([0.3, 0.2], [EXP, Deterministic(2.0)])
    assert q.response_given_size(3.0) == pytest.approx(3.0 / 0.3)
    assert q.mean_response == pytest.approx([1 / 0.3, 2 / 0.3])
    assert q.mean_wait == pytest.approx([0.0, 0.0])
    assert MG1PS([0.8], [EXP]).overall_mean_response == pytest.approx(MM1(0.8, 1.0).mean_response)


def test_orderings_for_high_variance_service():
    lam = [0.35, 0.35]
    services = [H2, Gamma(0.5, 0.5)]
    srpt = MG1SRPT(lam, services).overall_mean_response
    psjf = MG1PSJF(lam, services).overall_mean_response
    sjf = MG1SJF(lam, services).overall_mean_response
    pk = MG1(sum(lam), _merge(lam, services)).mean_response  # FCFS, Pollaczek-Khinchine
    ps = MG1PS(lam, services).overall_mean_response
    assert srpt <= psjf
    assert srpt <= sjf <= pk
    assert ps < pk      # high variance: PS beats FCFS


def _merge(lam, services):
    class Mix:
        mean = sum(r * d.mean for r, d in zip(lam, services, strict=True)) / sum(lam)

        @staticmethod
        def moment(k):
            return sum(r * d.moment(k) for r, d in zip(lam, services, strict=True)) / sum(lam)

    return Mix()


@pytest.mark.parametrize("cls", [MG1SJF, MG1SRPT, MG1PSJF])
def test_deterministic_sizes_reduce_to_md1(cls):
    # all jobs the same size: no size-based policy can reorder them (ties in arrival order) -> M/D/1
    q = cls([0.6], [Deterministic(1.0)])
    assert q.overall_mean_response == pytest.approx(MG1(0.6, Deterministic(1.0)).mean_response, rel=1e-12)


def test_atoms_mixed_with_density():
    # SJF with a deterministic and an exponential class: Cobham per size with rho(x^-) at the atom
    lam = [0.3, 0.4]
    q = MG1SJF(lam, [Deterministic(1.0), EXP])
    w0 = (0.3 * 1.0 + 0.4 * 2.0) / 2
    rho_lt = 0.4 * (1 - math.exp(-1) * 2)
    assert q.wait_given_size(1.0) == pytest.approx(w0 / ((1 - rho_lt) * (1 - rho_lt - 0.3)), rel=1e-12)
    assert q.mean_wait[0] == pytest.approx(q.wait_given_size(1.0), rel=1e-12)
    assert q.work_weighted_wait == pytest.approx(conservation_sum(lam, q.services), rel=1e-9)


# --------------------------------------------------------------------------- conservation law


SERVICES = [Erlang(2, 4.0), H2, LogNormal(0.8, 2.0)]
RATES = [0.3, 0.2, 0.25]


def test_conservation_law_non_preemptive_policies():
    rhs = conservation_sum(RATES, SERVICES)
    rho = np.array(RATES) * np.array([d.mean for d in SERVICES])
    assert np.dot(rho, MG1Priority(RATES, SERVICES).mean_wait) == pytest.approx(rhs, rel=1e-12)
    dd = MG1DelayDependent(RATES, SERVICES, slopes=[0.5, 3.0, 1.0])
    assert np.dot(rho, dd.mean_wait) == pytest.approx(rhs, rel=1e-12)
    fcfs = MG1(sum(RATES), _merge(RATES, SERVICES))
    assert sum(rho) * fcfs.mean_wait == pytest.approx(rhs, rel=1e-12)
    sjf = MG1SJF(RATES, SERVICES)  # sizes define the classes: lambda E[S W(S)]
    assert sjf.work_weighted_wait == pytest.approx(rhs, rel=1e-9)


# --------------------------------------------------------------------------- delay-dependent


def test_delay_dependent_limits():
    fcfs_wait = MG1(sum(RATES), _merge(RATES, SERVICES)).mean_wait
    equal = MG1DelayDependent(RATES, SERVICES, slopes=[2.0, 2.0, 2.0])
    assert equal.mean_wait == pytest.approx([fcfs_wait] * 3, rel=1e-12)
    # slopes far apart -> Cobham with the largest slope first
    far = MG1DelayDependent(RATES, SERVICES, slopes=[1.0, 1e9, 1e-9])
    order = [1, 0, 2]
    cobham = MG1Priority([RATES[i] for i in order], [SERVICES[i] for i in order])
    assert far.mean_wait[order] == pytest.approx(cobham.mean_wait, rel=1e-6)
    # only the slope ratios matter; results come back in input order
    scaled = MG1DelayDependent(RATES, SERVICES, slopes=[5.0, 1.0, 3.0])
    again = MG1DelayDependent(RATES, SERVICES, slopes=[50.0, 10.0, 30.0])
    assert scaled.mean_wait == pytest.approx(again.mean_wait, rel=1e-12)
    assert scaled.mean_wait[0] < scaled.mean_wait[2] < scaled.mean_wait[1]
    assert scaled.response_given_size(1.0, 1) == pytest.approx(scaled.mean_wait[1] + 1.0)


# --------------------------------------------------------------------------- round robin


def test_round_robin_exact_reduces_to_mm1():
    for q in (0.01, 0.5, 3.0):
        rr = MG1RoundRobin([0.3, 0.4], [EXP, EXP], quantum=q)
        assert rr.exact
        assert rr.overall_mean_response == pytest.approx(MM1(0.7, 1.0).mean_response, rel=1e-12)
        assert rr.capacity == pytest.approx(1.0)
    costs = [0.0, 0.001, 0.01, 0.05]
    resp = [MG1RoundRobin([0.7], [EXP], quantum=0.2, switch_cost=s).overall_mean_response for s in costs]
    assert np.all(np.diff(resp) > 0)
    rr = MG1RoundRobin([0.7], [EXP], quantum=0.2, switch_cost=0.01)
    assert rr.overall_utilization > 0.7
    assert rr.capacity == pytest.approx(0.7 / rr.overall_utilization)
    with pytest.raises(NoClosedForm):
        rr.response_given_size(1.0)


def test_round_robin_inflated_moments_by_monte_carlo():
    # E[X'] and E[X'^2] of X' = X + ceil(X/q) s against a seeded sample (independent of the algebra)
    mu, q, s = 1.3, 0.4, 0.05
    x = np.random.default_rng(2024).exponential(1 / mu, 2_000_000)
    xp = x + np.ceil(x / q) * s
    m1, m2 = MG1RoundRobin._inflated_exponential(mu, q, s)
    assert m1 == pytest.approx(xp.mean(), abs=5 * xp.std() / math.sqrt(x.size))
    assert m2 == pytest.approx((xp**2).mean(), abs=5 * (xp**2).std() / math.sqrt(x.size))
    # and the mean response is P-K with that service
    lam = 0.5
    rr = MG1RoundRobin([lam], [Exponential(mu)], quantum=q, switch_cost=s)
    pk_number = lam * m1 + lam**2 * m2 / (2 * (1 - lam * m1))
    assert rr.overall_mean_response == pytest.approx(pk_number / lam, rel=1e-12)


def test_round_robin_general_is_ps_on_inflated_sizes():
    rr = MG1RoundRobin([0.3], [Deterministic(1.0)], quantum=0.3, switch_cost=0.02)
    assert not rr.exact
    inflated = 1.0 + 4 * 0.02
    assert rr.mean_inflated_size[0] == pytest.approx(inflated)
    assert rr.overall_mean_response == pytest.approx(inflated / (1 - 0.3 * inflated))
    assert rr.response_given_size(1.0) == pytest.approx(inflated / (1 - 0.3 * inflated))
    er = MG1RoundRobin([0.3], [Erlang(2, 2.0)], quantum=0.1, switch_cost=0.01)
    d = Erlang(2, 2.0).to_scipy()
    ceil_mean = sum(d.sf(0.1 * n) for n in range(2000))
    assert er.mean_inflated_size[0] == pytest.approx(1.0 + 0.01 * ceil_mean, rel=1e-12)


# --------------------------------------------------------------------------- bad input and speed


def test_bad_input():
    with pytest.raises(InvalidParameter, match="one entry per class"):
        MG1SJF([0.2, 0.3], [EXP])
    with pytest.raises(InvalidParameter, match="arrival_rates must be > 0"):
        MG1Priority([0.2, -0.1], [EXP, EXP])
    with pytest.raises(InvalidParameter, match="Distribution"):
        MG1SRPT([0.2], [object()])
    with pytest.raises(UnstableSystem, match="utilization"):
        MG1PSJF([0.6, 0.5], [EXP, EXP])
    with pytest.raises(UnstableSystem):
        MG1Priority([1.0], [EXP])
    with pytest.raises(UnstableSystem):  # stable without overhead, unstable with it
        MG1RoundRobin([0.9], [EXP], quantum=0.1, switch_cost=0.02)
    with pytest.raises(InvalidParameter, match="quantum must be > 0"):
        MG1RoundRobin([0.5], [EXP], quantum=0.0)
    with pytest.raises(InvalidParameter, match="switch_cost must be >= 0"):
        MG1RoundRobin([0.5], [EXP], quantum=0.1, switch_cost=-1.0)
    with pytest.raises(InvalidParameter, match="slopes"):
        MG1DelayDependent([0.2, 0.3], [EXP, EXP], slopes=[1.0])
    with pytest.raises(InvalidParameter, match="slopes must be > 0"):
        MG1DelayDependent([0.2, 0.3], [EXP, EXP], slopes=[1.0, 0.0])
    with pytest.raises(InvalidParameter, match="cls"):
        MG1Priority([0.2], [EXP]).response_given_size(1.0, 3)
    with pytest.raises(InvalidParameter, match="x must be >= 0"):
        MG1SJF([0.2], [EXP]).response_given_size(-1.0)
    with pytest.raises(InvalidParameter, match="preemptive"):
        MG1Priority([0.2], [EXP], preemptive="yes")
    with pytest.raises(InvalidParameter, match="servers"):
        MMcPriority([0.2], 1.0, 0)


def test_prediction_speed():
    services = [H2, LogNormal(1.0, 3.0), Uniform(0.5, 1.5), Deterministic(1.0)]
    for cls in (MG1SJF, MG1SRPT, MG1PSJF):
        start = time.perf_counter()
        cls([0.2] * 4, services)
        assert time.perf_counter() - start < 0.5, cls.__name__
