"""Tests of the single-station queue derivations (virtmodel.symbolic.queues).

Reference values are textbook ones (cited per test); the property tests
compare each lambdified derivation with an independent plain-Python formula
written here, over the valid parameter range.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from virtmodel.errors import InvalidParameter
from virtmodel.symbolic import Derivation, Step, derivations, derive
from virtmodel.symbolic.derivation import rewrite_special

REL = 1e-9

EXPECTED = {
    "mm1.prob_n",
    "mm1.mean_number",
    "mm1.mean_response",
    "mm1.mean_wait",
    "mm1.mean_queue_length",
    "mg1.mean_wait",
    "mg1.mean_response",
    "mg1.mean_number",
    "mmc.prob_wait",
    "mmc.mean_wait",
    "mmc.mean_response",
    "erlang_c",
    "mmcc.blocking_probability",
    "erlang_b",
    "mm1k.blocking_probability",
    "mm1k.mean_number",
    "ggc.kingman_wait",
    "littles_law",
}

# One valid point per parameter name, used to smoke-test every derivation.
VALID = {
    "arrival_rate": np.array([0.2, 0.5, 0.9]),
    "service_rate": 1.0,
    "servers": np.array([1, 2, 3]),
    "capacity": np.array([1, 4, 10]),
    "n": np.array([0, 1, 5]),
    "service_mean": 1.0,
    "service_second_moment": np.array([1.0, 2.0, 5.0]),
    "arrival_scv": 1.0,
    "service_scv": np.array([0.0, 1.0, 4.0]),
    "offered_load": np.array([0.5, 1.0, 1.5]),
    "mean_response": 2.0,
}


def close(actual, expected, rel=REL):
    # abs_tol: values below ~1e-300 are at the edge of double precision (underflow to 0 is fine)
    return math.isclose(actual, expected, rel_tol=rel, abs_tol=1e-300) or actual == expected


# ------------------------------------------------------------------ registry and result object


def test_registry_lists_the_expected_names():
    names = derivations()
    assert names == sorted(names)
    assert EXPECTED <= set(names)


def test_unknown_name_raises_invalid_parameter_listing_known_names():
    with pytest.raises(InvalidParameter, match="mm1.mean_number"):
        derive("mm1.no_such_metric")
    with pytest.raises(ValueError):  # InvalidParameter is also a ValueError
        derive("")


def test_derive_is_cached():
    assert derive("mg1.mean_wait") is derive("mg1.mean_wait")


def test_building_everything_is_fast():
    # A fresh interpreter, so that no cache from the other tests helps.
    code = (
        "import time; t = time.process_time(); from virtmodel.symbolic import derive, derivations; "
        "[derive(n) for n in derivations()]; print(time.process_time() - t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=180)
    # a regression guard, not a benchmark: CPU time (wall time stretches on a loaded machine),
    # about 14 s for the 65 derivations registered in December 2026
    assert float(out.stdout.strip().splitlines()[-1]) < 30.0


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_derivation_builds_prints_and_evaluates(name):
    d = derive(name)
    assert isinstance(d, Derivation)
    assert d.name == name and d.title and d.source and d.assumptions
    assert len(d.steps) >= 2
    assert all(isinstance(s, Step) and isinstance(s.description, str) and s.description for s in d.steps)
    assert all(isinstance(s.expression, sp.Basic) for s in d.steps)
    assert isinstance(d.result, sp.Expr)
    # every public name maps to a sympy Symbol, and every free symbol is a parameter
    assert all(isinstance(k, str) and isinstance(v, sp.Symbol) for k, v in d.parameters)
    assert (d.numeric if d.numeric is not None else d.result).free_symbols <= {v for _, v in d.parameters}
    tex = d.latex()
    assert tex.startswith("\\begin{align*}") and tex.rstrip().endswith("\\end{align*}")
    assert tex.count("\\intertext") == len(d.steps) + 1
    assert str(d).startswith("$$\\begin{aligned}") and str(d).endswith("$$")
    assert d._repr_latex_() == str(d)
    f = d.lambdify()
    values = f(**{p: VALID[p] for p in d.parameter_names})
    assert isinstance(values, np.ndarray) and values.shape == (3,)
    assert np.all(np.isfinite(values))
    scalar = d(**{p: np.asarray(VALID[p]).flat[0] for p in d.parameter_names})
    assert isinstance(scalar, float) and scalar == pytest.approx(values[0], rel=REL)


def test_lambdify_rejects_missing_and_unknown_keywords():
    f = derive("mm1.mean_number").lambdify()
    with pytest.raises(InvalidParameter, match="service_rate"):
        f(arrival_rate=0.5)
    with pytest.raises(InvalidParameter, match="lam"):
        f(arrival_rate=0.5, service_rate=1.0, lam=1.0)


def test_lambdify_broadcasts():
    out = derive("mm1.mean_number")(arrival_rate=np.array([[0.25], [0.5]]), service_rate=np.array([1.0, 2.0]))
    np.testing.assert_allclose(out, [[1 / 3, 1 / 7], [1.0, 1 / 3]], rtol=REL)


def test_exact_flag():
    assert derive("ggc.kingman_wait").exact is False
    assert any("exact=False" in a for a in derive("ggc.kingman_wait").assumptions)
    assert derive("mg1.mean_wait").exact is True


# ------------------------------------------------------------------ symbolic content


def test_mm1_results_are_the_textbook_closed_forms():
    lam, mu = (dict(derive("mm1.mean_number").parameters)[k] for k in ("arrival_rate", "service_rate"))
    n = dict(derive("mm1.prob_n").parameters)["n"]
    rho = lam / mu
    # Kleinrock (1975), Sec. 3.2: p_n = (1-rho) rho^n, L = rho/(1-rho), T = 1/(mu-lambda)
    assert sp.simplify(derive("mm1.prob_n").result - (1 - rho) * rho**n) == 0
    assert sp.simplify(derive("mm1.mean_number").result - rho / (1 - rho)) == 0
    assert sp.simplify(derive("mm1.mean_response").result - 1 / (mu - lam)) == 0
    assert sp.simplify(derive("mm1.mean_wait").result - rho / (mu - lam)) == 0
    assert sp.simplify(derive("mm1.mean_queue_length").result - rho**2 / (1 - rho)) == 0


def test_pollaczek_khinchine_closed_form():
    d = derive("mg1.mean_wait")
    p = dict(d.parameters)
    lam, es, es2 = p["arrival_rate"], p["service_mean"], p["service_second_moment"]
    assert sp.simplify(d.result - lam * es2 / (2 * (1 - lam * es))) == 0
    assert sp.simplify(derive("mg1.mean_number").result - lam * derive("mg1.mean_response").result) == 0


@pytest.mark.parametrize("servers", [1, 2, 3, 5])
def test_erlang_forms_for_concrete_servers(servers):
    # With a concrete c the sums are finite polynomials: check textbook form and the numeric
    # (gammaincc / gammaln) form against each other exactly, and Erlang B at c = 1: a/(1+a).
    for name in ("erlang_b", "erlang_c"):
        d = derive(name)
        c, a = (dict(d.parameters)[k] for k in ("servers", "offered_load"))
        textbook = d.result.subs(c, servers).doit()
        numeric = rewrite_special(d.numeric).subs(c, servers)
        for load in (sp.Rational(1, 3), sp.Rational(1, 2), sp.Rational(7, 10) * servers):
            assert abs(sp.N(textbook.subs(a, load) - numeric.subs(a, load), 30)) < 1e-25
    c, a = (dict(derive("erlang_b").parameters)[k] for k in ("servers", "offered_load"))
    assert sp.simplify(derive("erlang_b").result.subs(c, 1).doit() - a / (1 + a)) == 0


def test_mm1k_limit_at_rho_one():
    d = derive("mm1k.blocking_probability")
    limits = [
        s.expression for s in d.steps if isinstance(s.expression, sp.Eq) and s.expression.lhs.has(sp.Limit)
    ]
    K = dict(d.parameters)["capacity"]
    assert limits and sp.simplify(limits[0].rhs - 1 / (K + 1)) == 0
    d = derive("mm1k.mean_number")
    limits = [
        s.expression for s in d.steps if isinstance(s.expression, sp.Eq) and s.expression.lhs.has(sp.Limit)
    ]
    assert limits and sp.simplify(limits[0].rhs - K / 2) == 0


# ------------------------------------------------------------------ textbook values


def test_mm1_textbook_values():
    # Kleinrock (1975), Sec. 3.2, with lambda = 0.5, mu = 1 (rho = 1/2): L = 1, T = 2, W = 1, Lq = 1/2.
    p = dict(arrival_rate=0.5, service_rate=1.0)
    assert derive("mm1.mean_number")(**p) == pytest.approx(1.0, rel=1e-12)
    assert derive("mm1.mean_response")(**p) == pytest.approx(2.0, rel=1e-12)
    assert derive("mm1.mean_wait")(**p) == pytest.approx(1.0, rel=1e-12)
    assert derive("mm1.mean_queue_length")(**p) == pytest.approx(0.5, rel=1e-12)
    assert derive("mm1.prob_n")(n=2, **p) == pytest.approx(0.125, rel=1e-12)


def test_erlang_textbook_values():
    # B(2, 1) = (1/2)/(1 + 1 + 1/2) = 1/5 and C(2, 1) = 1/3: Gross et al. (2008), Ch. 2 (M/M/c/c and M/M/c).
    assert derive("erlang_b")(servers=2, offered_load=1.0) == pytest.approx(0.2, rel=1e-12)
    assert derive("erlang_c")(servers=2, offered_load=1.0) == pytest.approx(1 / 3, rel=1e-12)
    assert derive("mmcc.blocking_probability")(
        arrival_rate=2.0, service_rate=2.0, servers=2
    ) == pytest.approx(0.2)
    assert derive("mmc.prob_wait")(arrival_rate=2.0, service_rate=2.0, servers=2) == pytest.approx(1 / 3)
    # M/M/2 with lambda = 1, mu = 1: W = C/(c mu - lambda) = 1/3, T = 4/3
    assert derive("mmc.mean_wait")(arrival_rate=1.0, service_rate=1.0, servers=2) == pytest.approx(1 / 3)
    assert derive("mmc.mean_response")(arrival_rate=1.0, service_rate=1.0, servers=2) == pytest.approx(4 / 3)
    # Erlang C with c = 1 is rho (M/M/1 probability of waiting)
    assert derive("erlang_c")(servers=1, offered_load=0.3) == pytest.approx(0.3, rel=1e-12)


def test_erlang_large_server_counts_do_not_overflow():
    b = derive("erlang_b")(servers=np.array([1000, 10_000]), offered_load=np.array([950.0, 9500.0]))
    c = derive("erlang_c")(servers=np.array([1000, 10_000]), offered_load=np.array([950.0, 9900.0]))
    assert np.all(np.isfinite(b)) and np.all((b > 0) & (b < 1))
    assert np.all(np.isfinite(c)) and np.all((c > 0) & (c < 1))
    np.testing.assert_allclose(
        b, [_erlang_b_recursion(1000, 950.0), _erlang_b_recursion(10_000, 9500.0)], rtol=1e-9
    )


def test_pollaczek_khinchine_md1_and_mm1():
    # M/D/1 with lambda = 0.5, D = 1: W = rho D / (2 (1 - rho)) = 0.5 (Kleinrock 1975, Sec. 5.5)
    assert derive("mg1.mean_wait")(
        arrival_rate=0.5, service_mean=1.0, service_second_moment=1.0
    ) == pytest.approx(0.5)
    # M/M/1 as M/G/1 with E[S^2] = 2/mu^2: W = 1, T = 2, L = 1 at lambda = 0.5, mu = 1
    p = dict(arrival_rate=0.5, service_mean=1.0, service_second_moment=2.0)
    assert derive("mg1.mean_wait")(**p) == pytest.approx(1.0)
    assert derive("mg1.mean_response")(**p) == pytest.approx(2.0)
    assert derive("mg1.mean_number")(**p) == pytest.approx(1.0)


def test_mm1k_textbook_values():
    # lambda = 1, mu = 2, K = 3: p_n = (8, 4, 2, 1)/15, so p_K = 1/15 and L = (4 + 4 + 3)/15 = 11/15
    p = dict(arrival_rate=1.0, service_rate=2.0, capacity=3)
    assert derive("mm1k.blocking_probability")(**p) == pytest.approx(1 / 15, rel=1e-12)
    assert derive("mm1k.mean_number")(**p) == pytest.approx(11 / 15, rel=1e-12)
    # rho = 1 exactly: uniform on 0..K (the sympy.limit steps), and just next to it
    for rate in (1.0, 1.0 + 1e-12, 1.0 - 1e-9):
        assert derive("mm1k.blocking_probability")(
            arrival_rate=rate, service_rate=1.0, capacity=4
        ) == pytest.approx(0.2)
        assert derive("mm1k.mean_number")(arrival_rate=rate, service_rate=1.0, capacity=4) == pytest.approx(
            2.0
        )


def test_kingman_reduces_to_mm1_and_md1():
    # c_a^2 = c_s^2 = 1: exact M/M/1 wait 1 at lambda = 0.5, mu = 1; c_s^2 = 0: M/D/1 wait 0.5
    k = derive("ggc.kingman_wait")
    assert k(arrival_rate=0.5, service_rate=1.0, arrival_scv=1.0, service_scv=1.0) == pytest.approx(1.0)
    assert k(arrival_rate=0.5, service_rate=1.0, arrival_scv=1.0, service_scv=0.0) == pytest.approx(0.5)


def test_littles_law():
    assert derive("littles_law")(arrival_rate=0.5, mean_response=2.0) == pytest.approx(1.0)


def test_latex_escapes_text():
    tex = derive("mmc.prob_wait").latex()
    assert "q\\_\\{m-1\\}" in tex  # underscores in descriptions are escaped for \intertext
    assert "Q\\left(c" in tex  # the regularised incomplete gamma function prints as Q(s, x)
    assert "\\mathbb{E}[S^{2}]" in derive("mg1.mean_wait").latex()


# ------------------------------------------------------------------ independent references


def _erlang_b_recursion(c, a):
    """B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1)) (Gross et al. 2008, Ch. 2)."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def _erlang_c_reference(c, a):
    """C = c B / (c - a (1 - B)) (Gross et al. 2008, Sec. 2.3)."""
    b = _erlang_b_recursion(c, a)
    return c * b / (c - a * (1.0 - b))


def _mm1k_reference(lam, mu, k):
    """Direct normalisation of p_n proportional to rho^n, n = 0..K, computed stably in log space."""
    log_rho = math.log(lam / mu)
    logs = [n * log_rho for n in range(k + 1)]
    top = max(logs)
    weights = [math.exp(v - top) for v in logs]
    total = math.fsum(weights)
    probs = [w / total for w in weights]
    return probs[k], math.fsum(n * p for n, p in enumerate(probs))


rates = st.floats(min_value=1e-3, max_value=1e3)
loads = st.floats(min_value=1e-3, max_value=0.999)


@settings(max_examples=200, deadline=None)
@given(mu=rates, rho=loads)
def test_mm1_matches_reference(mu, rho):
    lam = rho * mu
    assert close(derive("mm1.mean_number")(arrival_rate=lam, service_rate=mu), rho / (1 - rho))
    assert close(derive("mm1.mean_response")(arrival_rate=lam, service_rate=mu), 1 / (mu - lam))
    assert close(derive("mm1.mean_wait")(arrival_rate=lam, service_rate=mu), lam / (mu * (mu - lam)))
    assert close(
        derive("mm1.mean_queue_length")(arrival_rate=lam, service_rate=mu), lam**2 / (mu * (mu - lam))
    )
    for n in (0, 1, 7):
        assert close(
            derive("mm1.prob_n")(arrival_rate=lam, service_rate=mu, n=n), (1 - lam / mu) * (lam / mu) ** n
        )


@settings(max_examples=200, deadline=None)
@given(servers=st.integers(min_value=1, max_value=2000), load=st.floats(min_value=1e-3, max_value=500.0))
def test_erlang_b_matches_recursion(servers, load):
    # The lambdified form exp(c ln a - a - ln c!)/Q(c+1, a) underflows (0/0) only when a - c ln a > ~700,
    # i.e. for loads far above both c and 500; the recursion is the reference.
    assert close(derive("erlang_b")(servers=servers, offered_load=load), _erlang_b_recursion(servers, load))
    assert close(
        derive("mmcc.blocking_probability")(arrival_rate=load * 2.0, service_rate=2.0, servers=servers),
        _erlang_b_recursion(servers, load),
    )


@settings(max_examples=200, deadline=None)
@given(servers=st.integers(min_value=1, max_value=2000), rho=loads, mu=rates)
def test_erlang_c_and_mmc_match_reference(servers, rho, mu):
    a = rho * servers
    lam = a * mu
    c_ref = _erlang_c_reference(servers, a)
    assert close(derive("erlang_c")(servers=servers, offered_load=a), c_ref)
    assert close(derive("mmc.prob_wait")(arrival_rate=lam, service_rate=mu, servers=servers), c_ref)
    wait = c_ref / (servers * mu - lam)
    assert close(derive("mmc.mean_wait")(arrival_rate=lam, service_rate=mu, servers=servers), wait)
    assert close(
        derive("mmc.mean_response")(arrival_rate=lam, service_rate=mu, servers=servers), wait + 1 / mu
    )


@settings(max_examples=300, deadline=None)
@given(
    capacity=st.integers(min_value=1, max_value=200),
    rho=st.one_of(
        st.floats(min_value=1e-3, max_value=20.0), st.just(1.0), st.floats(min_value=0.999, max_value=1.001)
    ),
    mu=rates,
)
def test_mm1k_matches_direct_normalisation(capacity, rho, mu):
    lam = rho * mu
    blocking, number = _mm1k_reference(lam, mu, capacity)
    assert close(
        derive("mm1k.blocking_probability")(arrival_rate=lam, service_rate=mu, capacity=capacity), blocking
    )
    assert close(derive("mm1k.mean_number")(arrival_rate=lam, service_rate=mu, capacity=capacity), number)


@settings(max_examples=200, deadline=None)
@given(lam=rates, rho=loads, scv=st.floats(min_value=0.0, max_value=100.0))
def test_pollaczek_khinchine_matches_reference(lam, rho, scv):
    es = rho / lam
    es2 = (1 + scv) * es**2
    wait = lam * es2 / (2 * (1 - lam * es))
    p = dict(arrival_rate=lam, service_mean=es, service_second_moment=es2)
    assert close(derive("mg1.mean_wait")(**p), wait)
    assert close(derive("mg1.mean_response")(**p), wait + es)
    assert close(derive("mg1.mean_number")(**p), lam * (wait + es))


@settings(max_examples=200, deadline=None)
@given(mu=rates, rho=loads, ca2=st.floats(0.0, 50.0), cs2=st.floats(0.0, 50.0))
def test_kingman_matches_reference(mu, rho, ca2, cs2):
    lam = rho * mu
    expected = rho / (1 - rho) * (ca2 + cs2) / 2 / mu
    got = derive("ggc.kingman_wait")(arrival_rate=lam, service_rate=mu, arrival_scv=ca2, service_scv=cs2)
    assert close(got, expected)
