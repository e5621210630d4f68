"""Erlang-A (M/M/c+M): closed form against exact arithmetic, published special cases, limits, predict."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import poisson

import virtmodel as vm
from virtmodel.analytic import MMc, MMcM, erlang_a
from virtmodel.dists import Deterministic, Exponential
from virtmodel.errors import InvalidParameter, NoClosedForm

mpmath.mp.dps = 50


def _exact(lam, mu, c, theta, states=3000):
    """Erlang-A by brute force in 50-digit arithmetic, straight from the birth-death chain.

    pi_j proportional to prod_{i<j} lambda / d_i with d_i = min(i, c) mu + (i - c)^+ theta;
    waits of served jobs by the stage argument (a job finding k waiting is served with probability
    c mu / (c mu + (k+1) theta), computed here as the product of the stage probabilities, not
    the telescoped form the code uses).
    """
    lam, mu, theta = mpmath.mpf(lam), mpmath.mpf(mu), mpmath.mpf(theta)
    weights = [mpmath.mpf(1)]
    for j in range(1, states):
        death = min(j, c) * mu + max(j - c, 0) * theta
        weights.append(weights[-1] * lam / death)
    total = mpmath.fsum(weights)
    pi = [w / total for w in weights]
    prob_wait = mpmath.fsum(pi[c:])
    queue = mpmath.fsum((j - c) * pi[j] for j in range(c, states))
    served_wait, served = mpmath.mpf(0), mpmath.fsum(pi[:c])
    for k in range(states - c):
        p, t = mpmath.mpf(1), mpmath.mpf(0)
        for m in range(k + 1, 0, -1):  # stage m: m jobs ahead, itself included
            rate = c * mu + m * theta
            t += 1 / rate
            p *= (c * mu + (m - 1) * theta) / rate
        served_wait += pi[c + k] * p * t
        served += pi[c + k] * p
        if pi[c + k] < mpmath.mpf(10) ** -40:
            break
    wait = queue / lam
    abandon = theta * wait
    return {"prob_wait": prob_wait, "mean_queue_length": queue, "mean_wait": wait,
            "abandonment_probability": abandon, "mean_wait_served": served_wait / (1 - abandon),
            "mean_wait_abandoned": (wait - served_wait) / abandon, "prob_served": served}


@pytest.mark.parametrize("lam, mu, c, theta", [
    (2.0, 1.0, 2, 0.5), (0.5, 1.0, 1, 2.0), (9.0, 1.0, 10, 0.1), (15.0, 1.0, 10, 1.0), (40.0, 0.5, 50, 3.0),
])
def test_closed_form_equals_exact_birth_death(lam, mu, c, theta):
    q = MMcM(lam, mu, c, theta)
    exact = _exact(lam, mu, c, theta)
    for name, value in exact.items():
        assert getattr(q, name) == pytest.approx(float(value), rel=1e-12), name
    assert q.prob_served + q.abandonment_probability == pytest.approx(1.0, rel=1e-13)


@pytest.mark.parametrize("lam, c", [(100.0, 100), (2.0, 3), (50.0, 40)])
def test_patience_rate_equal_to_service_rate_is_m_m_infinity(lam, c):
    """theta = mu makes every death rate j mu: M/M/infinity, N ~ Poisson(lambda/mu)
    (Kleinrock, Queueing Systems I, 1975, sec. 3.4; the special case noted by Garnett,
    Mandelbaum & Reiman 2002).  P(W > 0) = P(N >= c), E[Q] = E[(N - c)^+]: exact to 1e-9."""
    q = MMcM(lam, 1.0, c, 1.0)
    j = np.arange(c, c + 2000)
    tail = float(poisson.sf(c - 1, lam))
    queue = math.fsum((j - c) * poisson.pmf(j, lam))
    assert q.prob_wait == pytest.approx(tail, rel=1e-9)
    assert q.mean_queue_length == pytest.approx(queue, rel=1e-9)
    assert q.abandonment_probability == pytest.approx(queue / lam, rel=1e-9)
    assert erlang_a(c, lam, 1.0) == pytest.approx(queue / lam, rel=1e-9)


def test_value_from_the_published_m_m_infinity_law():
    """lambda = 100, mu = theta = 1, c = 100 (a large, critically loaded centre): with theta = mu the
    chain is M/M/infinity, whose stationary law Kleinrock (Queueing Systems I, 1975, sec. 3.4,
    p_k = a^k e^-a / k!) publishes in closed form, so P(Ab) = E[(N - 100)^+] / 100 = P(N = 100)
    (since E[(N - c)^+] = (a - c) P(N >= c) + c P(N = c) for Poisson N) = e^-100 100^100 / 100!,
    evaluated in 50-digit arithmetic; the closed form must agree to 1e-9."""
    p100 = mpmath.e ** -100 * mpmath.mpf(100) ** 100 / mpmath.factorial(100)
    q = MMcM(100.0, 1.0, 100, 1.0)
    assert q.abandonment_probability == pytest.approx(float(p100), rel=1e-9)
    assert q.prob_wait == pytest.approx(float(1 - mpmath.fsum(
        mpmath.e ** -100 * mpmath.mpf(100) ** k / mpmath.factorial(k) for k in range(100))), rel=1e-9)


@pytest.mark.parametrize("lam, c", [(0.5, 1), (1.8, 2), (9.5, 10), (90.0, 100)])
def test_erlang_a_tends_to_erlang_c_as_patience_grows(lam, c):
    """theta -> 0 (patience -> infinity) with rho < 1: Erlang-A -> Erlang C (M/M/c); the gap is O(theta)."""
    mmc = MMc(lam, 1.0, c)
    gaps = []
    for theta in (1e-3, 1e-5, 1e-7):
        q = MMcM(lam, 1.0, c, theta)
        gaps.append(abs(q.mean_wait / mmc.mean_wait - 1))
        assert q.prob_wait == pytest.approx(mmc.prob_wait, rel=100 * theta * (1 + mmc.mean_wait))
    assert gaps[2] < 1e-4 and gaps[2] < gaps[1] < gaps[0]
    q = MMcM(lam, 1.0, c, 1e-9)
    for name in ("mean_wait", "mean_number", "mean_queue_length", "utilization", "prob_wait"):
        assert getattr(q, name) == pytest.approx(getattr(mmc, name), rel=1e-5), name


def test_stable_in_overload_and_large_systems():
    q = MMcM(2000.0, 1.0, 1000, 0.5)                      # rho = 2: half the work must be shed
    assert 0.49 < q.abandonment_probability < 0.51
    assert q.utilization == pytest.approx(1.0, abs=1e-6)
    big = MMcM(9000.0, 1.0, 10_000, 0.2)
    assert 0 <= big.abandonment_probability < 1e-6 and math.isfinite(big.mean_wait_served)


def test_broadcasts():
    q = MMcM(np.array([1.0, 2.0, 3.0]), 1.0, [2, 2, 2], 0.5)
    assert q.abandonment_probability.shape == (3,)
    assert np.all(np.diff(q.abandonment_probability) > 0)
    assert q.abandonment_probability[1] == MMcM(2.0, 1.0, 2, 0.5).abandonment_probability


@settings(max_examples=40, deadline=None)
@given(lam=st.floats(0.05, 30.0), c=st.integers(1, 20), theta=st.floats(0.01, 10.0))
def test_laws_hold_everywhere(lam, c, theta):
    """Little's law, P(Ab) = theta E[W], P(served) + P(Ab) = 1, work balance, monotone in lambda."""
    q = MMcM(lam, 1.0, c, theta)
    assert q.mean_number == pytest.approx(lam * q.mean_response, rel=1e-10)
    assert q.prob_served + q.abandonment_probability == pytest.approx(1.0, rel=1e-9, abs=1e-12)
    assert q.utilization <= 1.0 + 1e-12
    assert q.mean_number - q.mean_queue_length == pytest.approx(q.utilization * c, rel=1e-9, abs=1e-12)
    assert MMcM(lam * 1.1, 1.0, c, theta).abandonment_probability >= q.abandonment_probability - 1e-15


@pytest.mark.parametrize("kwargs, match", [
    (dict(arrival_rate=-1.0, service_rate=1.0, servers=1, abandonment_rate=1.0), "arrival_rate"),
    (dict(arrival_rate=1.0, service_rate=1.0, servers=0, abandonment_rate=1.0), "servers"),
    (dict(arrival_rate=1.0, service_rate=1.0, servers=1, abandonment_rate=0.0), "abandonment_rate"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(InvalidParameter, match=match):
        MMcM(**kwargs)


# --------------------------------------------------------------------------- predict


def _scenario(policy=None, patience=None, **kw):
    patience = patience or Exponential(0.5)
    vms = [vm.VM("a", Exponential(1.2), Exponential(1.0), patience=patience),
           vm.VM("b", Exponential(0.8), Exponential(1.0), patience=patience)]
    return vm.Scenario(2, vms, policy=policy or vm.policies.FCFS(), **kw)


def test_predict_uses_erlang_a_for_fcfs():
    p = vm.predict(_scenario())
    q = MMcM(2.0, 1.0, 2, 0.5)
    assert p.model == "M/M/c+M (Erlang-A)" and p.exact
    assert p.value("abandonment_probability") == q.abandonment_probability
    assert p.value("abandonment_probability", "a") == q.abandonment_probability
    assert p.value("throughput", "a") == pytest.approx(1.2 * (1 - q.abandonment_probability))
    assert "work_weighted_wait" not in set(p.values["metric"])


def test_overloaded_scenario_is_accepted_with_patience():
    sc = vm.Scenario(1, [vm.VM("a", Exponential(3.0), Exponential(1.0), patience=Exponential(1.0))])
    assert vm.predict(sc).value("utilization") < 1


def test_predict_refuses_what_erlang_a_does_not_cover():
    with pytest.raises(NoClosedForm, match="patience not exponential"):
        vm.predict(_scenario(patience=Deterministic(2.0)))
    with pytest.raises(NoClosedForm, match="only under FCFS"):
        vm.predict(_scenario(policy=vm.policies.SJF()))
