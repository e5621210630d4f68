"""The sympy derivations (derive layer) agree with the numeric closed forms (predict layer).

Property tests over the valid parameter range: each lambdified derivation
equals the corresponding property of :mod:`virtmodel.analytic.queues` to
1e-9 relative.  Skipped until that module exists.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

aq = pytest.importorskip("virtmodel.analytic.queues")

from virtmodel.symbolic import derive  # noqa: E402

REL = 1e-9

rates = st.floats(min_value=1e-3, max_value=1e3)
loads = st.floats(min_value=1e-3, max_value=0.999)
servers = st.integers(min_value=1, max_value=1000)


def close(actual, expected, rel=REL):
    # abs_tol: values below ~1e-300 are at the edge of double precision (underflow to 0 is fine)
    return math.isclose(actual, expected, rel_tol=rel, abs_tol=1e-300) or actual == expected


@settings(max_examples=150, deadline=None)
@given(mu=rates, rho=loads)
def test_mm1(mu, rho):
    lam = rho * mu
    q = aq.MM1(arrival_rate=lam, service_rate=mu)
    p = dict(arrival_rate=lam, service_rate=mu)
    assert close(derive("mm1.mean_number")(**p), q.mean_number)
    assert close(derive("mm1.mean_response")(**p), q.mean_response)
    assert close(derive("mm1.mean_wait")(**p), q.mean_wait)
    assert close(derive("mm1.mean_queue_length")(**p), q.mean_queue_length)
    for n in (0, 1, 5):
        assert close(derive("mm1.prob_n")(n=n, **p), q.prob_n(n))


@settings(max_examples=150, deadline=None)
@given(c=servers, rho=loads, mu=rates)
def test_mmc(c, rho, mu):
    lam = rho * c * mu
    q = aq.MMc(arrival_rate=lam, service_rate=mu, servers=c)
    p = dict(arrival_rate=lam, service_rate=mu, servers=c)
    assert close(derive("mmc.prob_wait")(**p), q.prob_wait)
    assert close(derive("mmc.mean_wait")(**p), q.mean_wait)
    assert close(derive("mmc.mean_response")(**p), q.mean_response)
    assert close(derive("erlang_c")(servers=c, offered_load=lam / mu), aq.erlang_c(c, lam / mu))


@settings(max_examples=150, deadline=None)
@given(c=servers, load=st.floats(min_value=1e-3, max_value=500.0), mu=rates)
def test_mmcc(c, load, mu):
    lam = load * mu
    q = aq.MMcc(arrival_rate=lam, service_rate=mu, servers=c)
    assert close(
        derive("mmcc.blocking_probability")(arrival_rate=lam, service_rate=mu, servers=c),
        q.blocking_probability,
    )
    assert close(derive("erlang_b")(servers=c, offered_load=load), aq.erlang_b(c, load))


@settings(max_examples=200, deadline=None)
@given(
    capacity=st.integers(min_value=1, max_value=200),
    rho=st.one_of(
        st.floats(min_value=1e-3, max_value=20.0), st.just(1.0), st.floats(min_value=0.999, max_value=1.001)
    ),
    mu=rates,
)
def test_mm1k(capacity, rho, mu):
    lam = rho * mu
    q = aq.MM1K(arrival_rate=lam, service_rate=mu, capacity=capacity)
    p = dict(arrival_rate=lam, service_rate=mu, capacity=capacity)
    assert close(derive("mm1k.blocking_probability")(**p), q.blocking_probability)
    assert close(derive("mm1k.mean_number")(**p), q.mean_number)


def _service(kind, mean, scv):
    dists = pytest.importorskip("virtmodel.dists")
    if kind == "exponential":
        return dists.Exponential(rate=1.0 / mean)
    if kind == "deterministic":
        return dists.Deterministic(mean)
    return dists.HyperExponential.balanced(mean=mean, scv=scv)


@settings(max_examples=150, deadline=None)
@given(
    lam=rates,
    rho=loads,
    kind=st.sampled_from(["exponential", "deterministic", "hyperexponential"]),
    scv=st.floats(min_value=1.01, max_value=50.0),
)
def test_mg1(lam, rho, kind, scv):
    service = _service(kind, rho / lam, scv)
    q = aq.MG1(arrival_rate=lam, service=service)
    p = dict(arrival_rate=lam, service_mean=service.mean, service_second_moment=service.moment(2))
    assert close(derive("mg1.mean_wait")(**p), q.mean_wait)
    assert close(derive("mg1.mean_response")(**p), q.mean_response)
    assert close(derive("mg1.mean_number")(**p), q.mean_number)


@settings(max_examples=100, deadline=None)
@given(
    mu=rates,
    rho=loads,
    kind=st.sampled_from(["exponential", "deterministic", "hyperexponential"]),
    scv=st.floats(min_value=1.01, max_value=50.0),
)
def test_kingman_equals_ggc_with_one_server(mu, rho, kind, scv):
    dists = pytest.importorskip("virtmodel.dists")
    if not hasattr(aq, "GGc"):
        pytest.skip("virtmodel.analytic.queues has no GGc")
    lam = rho * mu
    arrival = dists.Exponential(rate=lam)
    service = _service(kind, 1.0 / mu, scv)
    q = aq.GGc(arrival, service, servers=1)
    got = derive("ggc.kingman_wait")(
        arrival_rate=lam, service_rate=mu, arrival_scv=arrival.scv, service_scv=service.scv
    )
    assert close(got, q.mean_wait)
