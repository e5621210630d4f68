"""Tests of the scheduling-policy derivations (virtmodel.symbolic.scheduling).

Every derivation builds, prints and evaluates on arrays; the property tests
compare each lambdified result with an independent reference written here
(plain Python, a numpy linear solve, or mpmath quadrature/summation of the
textbook formula) over the valid parameter range, to 1e-9 relative.
"""

from __future__ import annotations

import math
import subprocess
import sys

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from virtmodel.symbolic import Derivation, Step, derivations, derive

REL = 1e-9

NAMES = (
    "priority.nonpreemptive_wait",
    "priority.preemptive_response",
    "conservation_law",
    "delay_dependent.wait",
    "ps.response_given_size",
    "srpt.response_given_size",
    "psjf.response_given_size",
    "sjf.response_given_size",
    "rr.exponential_switch_cost",
)

# Three valid points per parameter name (stable for every derivation that uses them).
VALID = {
    "cls": np.array([1, 2, 1]),
    "size": np.array([0.1, 1.0, 30.0]),
    "arrival_rate": np.array([0.2, 0.5, 0.8]),
    "service_rate": 1.0,
    "service_mean": np.array([1.0, 1.5, 1.1]),
    "arrival_rate_1": np.array([0.1, 0.3, 0.2]),
    "arrival_rate_2": np.array([0.2, 0.3, 0.5]),
    "service_mean_1": 1.0,
    "service_mean_2": np.array([1.0, 0.5, 1.5]),
    "service_second_moment_1": np.array([2.0, 1.0, 5.0]),
    "service_second_moment_2": np.array([2.0, 0.25, 10.0]),
    "slope_1": np.array([1.0, 0.5, 0.1]),
    "slope_2": np.array([1.0, 2.0, 10.0]),
    "quantum": np.array([0.01, 0.5, 5.0]),
    "switch_cost": np.array([0.0, 0.01, 0.1]),
}

rates = st.floats(min_value=1e-2, max_value=1e2)
loads = st.floats(min_value=1e-3, max_value=0.95)
fractions = st.floats(min_value=0.0, max_value=1.0)
scvs = st.floats(min_value=0.0, max_value=20.0)


def close(actual, expected, rel=REL):
    return math.isclose(actual, expected, rel_tol=rel, abs_tol=1e-300)


def two_classes(draw_load, split, mean_1, mean_2, scv_1, scv_2):
    """Public parameters of two classes with total load ``draw_load``, class 1 having ``split`` of it."""
    lam1 = split * draw_load / mean_1
    lam2 = (1 - split) * draw_load / mean_2
    return {
        "arrival_rate_1": lam1,
        "arrival_rate_2": lam2,
        "service_mean_1": mean_1,
        "service_mean_2": mean_2,
        "service_second_moment_1": (1 + scv_1) * mean_1**2,
        "service_second_moment_2": (1 + scv_2) * mean_2**2,
    }


two_class_params = st.builds(
    two_classes,
    loads,
    st.floats(min_value=0.01, max_value=0.99),
    rates.map(lambda r: 1 / r),
    rates.map(lambda r: 1 / r),
    scvs,
    scvs,
)


def moments(p):
    lam = (p["arrival_rate_1"], p["arrival_rate_2"])
    rho = (lam[0] * p["service_mean_1"], lam[1] * p["service_mean_2"])
    w0 = 0.5 * (lam[0] * p["service_second_moment_1"] + lam[1] * p["service_second_moment_2"])
    return lam, rho, w0


# ------------------------------------------------------------------ registry and result objects


def test_registered():
    assert set(NAMES) <= set(derivations())


def test_building_the_scheduling_derivations_is_fast():
    code = (
        "import time; from virtmodel.symbolic import derive; t = time.perf_counter(); "
        f"[derive(n) for n in {list(NAMES)!r}]; print(time.perf_counter() - t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=180)
    # a regression guard, not a benchmark: about 2-6 s on an idle 2-core machine, and the
    # suite shares the machine with other work, so the bound leaves room for load
    assert float(out.stdout.strip().splitlines()[-1]) < 30.0


@pytest.mark.parametrize("name", NAMES)
def test_every_derivation_builds_prints_and_evaluates(name):
    d = derive(name)
    assert isinstance(d, Derivation)
    assert d.name == name and d.title and d.source and d.assumptions and d.exact
    assert len(d.steps) >= 3
    assert all(isinstance(s, Step) and s.description and isinstance(s.expression, sp.Basic) for s in d.steps)
    assert isinstance(d.result, sp.Expr)
    assert all(isinstance(k, str) and isinstance(v, sp.Symbol) for k, v in d.parameters)
    assert set(d.parameter_names) <= set(VALID)
    tex = d.latex()
    assert "\\begin{align" in tex and tex.rstrip().endswith("\\end{align*}")
    assert "\\begin{aligned}" in str(d)
    values = d.lambdify()(**{p: VALID[p] for p in d.parameter_names})
    assert isinstance(values, np.ndarray) and values.shape == (3,)
    assert np.all(np.isfinite(values)) and np.all(values > 0)
    scalar = d(**{p: np.asarray(VALID[p]).flat[0] for p in d.parameter_names})
    assert isinstance(scalar, float) and scalar == pytest.approx(values[0], rel=REL)


def test_class_outside_one_and_two_gives_nan():
    p = {k: np.asarray(VALID[k]).flat[0] for k in derive("priority.nonpreemptive_wait").parameter_names}
    assert math.isnan(derive("priority.nonpreemptive_wait")(**{**p, "cls": 3}))


def test_symbolic_results_with_functions_are_specialised():
    # the general statements use rho(x), m_2(x); the result is the explicit exponential form
    for name in ("srpt.response_given_size", "psjf.response_given_size", "sjf.response_given_size"):
        d = derive(name)
        assert any(s.expression.atoms(sp.core.function.AppliedUndef) for s in d.steps)
        assert not d.result.atoms(sp.core.function.AppliedUndef)
        assert d.result.has(sp.exp)


# ------------------------------------------------------------------ symbolic checks


def test_conservation_law_matches_cobham_symbolically():
    cobham = derive("priority.nonpreemptive_wait")
    law = derive("conservation_law")
    sym = dict(cobham.parameters)
    k = sym["cls"]
    w1, w2 = (cobham.result.subs(k, j) for j in (1, 2))
    lam1, lam2, m1, m2 = (
        sym[n] for n in ("arrival_rate_1", "arrival_rate_2", "service_mean_1", "service_mean_2")
    )
    assert sp.simplify(lam1 * m1 * w1 + lam2 * m2 * w2 - law.result) == 0


def test_delay_dependent_obeys_conservation_law_and_limits_symbolically():
    dd = derive("delay_dependent.wait")
    sym = dict(dd.parameters)
    k, b1, b2 = sym["cls"], sym["slope_1"], sym["slope_2"]
    w1, w2 = (dd.result.subs(k, j) for j in (1, 2))
    lam1, lam2, m1, m2 = (
        sym[n] for n in ("arrival_rate_1", "arrival_rate_2", "service_mean_1", "service_mean_2")
    )
    assert sp.simplify(lam1 * m1 * w1 + lam2 * m2 * w2 - derive("conservation_law").result) == 0
    # b1 = b2: FCFS; b1/b2 -> 0: non-preemptive priority with class 2 first
    fcfs = derive("conservation_law").result / (lam1 * m1 + lam2 * m2)
    assert sp.simplify(w1.subs(b1, b2) - fcfs) == 0 and sp.simplify(w2.subs(b1, b2) - fcfs) == 0
    cob = derive("priority.nonpreemptive_wait").result
    swap = {
        sym["arrival_rate_1"]: sym["arrival_rate_2"],
        sym["arrival_rate_2"]: sym["arrival_rate_1"],
        sym["service_mean_1"]: sym["service_mean_2"],
        sym["service_mean_2"]: sym["service_mean_1"],
        sym["service_second_moment_1"]: sym["service_second_moment_2"],
        sym["service_second_moment_2"]: sym["service_second_moment_1"],
    }
    high, low = (cob.subs(k, j).subs(swap, simultaneous=True) for j in (1, 2))
    assert sp.simplify(sp.limit(w2, b1, 0) - high) == 0
    assert sp.simplify(sp.limit(w1, b1, 0) - low) == 0


def test_rr_without_switch_cost_is_mm1_symbolically():
    d = derive("rr.exponential_switch_cost")
    sym = dict(d.parameters)
    lam, mu = sym["arrival_rate"], sym["service_rate"]
    assert sp.simplify(d.result.subs(sym["switch_cost"], 0) - 1 / (mu - lam)) == 0


def test_ps_mean_over_exponential_is_mm1_symbolically():
    d = derive("ps.response_given_size")
    sym = dict(d.parameters)
    x, lam, m = sym["size"], sym["arrival_rate"], sym["service_mean"]
    mean = sp.integrate(d.result * sp.exp(-x / m) / m, (x, 0, sp.oo))
    assert sp.simplify(mean - 1 / (1 / m - lam)) == 0


def test_preemptive_single_class_is_pollaczek_khinchine():
    d = derive("priority.preemptive_response")
    p = dict(
        arrival_rate_1=0.6, arrival_rate_2=0.0, service_mean_1=1.0, service_mean_2=1.0,
        service_second_moment_1=3.0, service_second_moment_2=2.0,
    )  # fmt: skip
    # averaged over sizes, class 1 alone: E[S] + lambda E[S^2]/(2(1-rho))
    assert close(d(size=1.0, cls=1, **p), 1.0 + 0.6 * 3.0 / (2 * 0.4))


# ------------------------------------------------------------------ property tests vs references


@settings(max_examples=150, deadline=None)
@given(p=two_class_params)
def test_cobham_against_a_linear_solve_of_the_mean_value_equations(p):
    lam, rho, w0 = moments(p)
    # W_1 = W0 + rho1 W1;  W_2 = W0 + rho1 W1 + rho2 W2 + rho1 W2
    a = np.array([[1 - rho[0], 0.0], [-rho[0], 1 - rho[0] - rho[1]]])
    w = np.linalg.solve(a, [w0, w0])
    f = derive("priority.nonpreemptive_wait").lambdify()
    assert close(f(cls=1, **p), w0 / (1 - rho[0]))
    assert close(f(cls=2, **p), w0 / ((1 - rho[0]) * (1 - rho[0] - rho[1])))
    out = f(cls=np.array([1, 2]), **p)
    assert math.isclose(out[0], w[0], rel_tol=1e-8) and math.isclose(out[1], w[1], rel_tol=1e-8)
    # conservation law
    law = derive("conservation_law")(**p)
    assert close(rho[0] * out[0] + rho[1] * out[1], law)
    assert close(law, (rho[0] + rho[1]) * w0 / (1 - rho[0] - rho[1]))


@settings(max_examples=150, deadline=None)
@given(p=two_class_params, size=st.floats(min_value=1e-3, max_value=1e3))
def test_preemptive_priority_against_formula(p, size):
    lam, rho, _ = moments(p)
    r1 = lam[0] * p["service_second_moment_1"] / 2
    r2 = r1 + lam[1] * p["service_second_moment_2"] / 2
    f = derive("priority.preemptive_response").lambdify()
    assert close(f(size=size, cls=1, **p), size + r1 / (1 - rho[0]))
    expected = size / (1 - rho[0]) + r2 / ((1 - rho[0]) * (1 - rho[0] - rho[1]))
    assert close(f(size=size, cls=2, **p), expected)


@settings(max_examples=150, deadline=None)
@given(p=two_class_params, b1=rates, ratio=st.floats(min_value=1.0, max_value=1e6))
def test_delay_dependent_against_kleinrock(p, b1, ratio):
    lam, rho, w0 = moments(p)
    b2 = b1 * ratio
    fcfs = w0 / (1 - rho[0] - rho[1])
    # Kleinrock (1976), vol. II, Eq. (3.50) for P = 2
    w1 = fcfs / (1 - rho[1] * (1 - b1 / b2))
    w2 = (fcfs - rho[0] * w1 * (1 - b1 / b2)) / 1.0
    f = derive("delay_dependent.wait").lambdify()
    assert close(f(cls=1, slope_1=b1, slope_2=b2, **p), w1)
    assert math.isclose(f(cls=2, slope_1=b1, slope_2=b2, **p), w2, rel_tol=1e-8)
    # equal slopes: FCFS for both classes
    assert close(f(cls=1, slope_1=b1, slope_2=b1, **p), fcfs)
    assert close(f(cls=2, slope_1=b1, slope_2=b1, **p), fcfs)
    # b2/b1 -> oo: Cobham with class 2 the higher priority
    hi = f(cls=2, slope_1=1e-14 * b1, slope_2=b1, **p)
    lo = f(cls=1, slope_1=1e-14 * b1, slope_2=b1, **p)
    assert math.isclose(hi, w0 / (1 - rho[1]), rel_tol=1e-8)
    assert math.isclose(lo, w0 / ((1 - rho[1]) * (1 - rho[0] - rho[1])), rel_tol=1e-8)


@settings(max_examples=100, deadline=None)
@given(mu=rates, rho=loads, u=st.floats(min_value=1e-3, max_value=1e3))
def test_ps_against_formula_and_mm1(mu, rho, u):
    lam, x = rho * mu, u / mu
    f = derive("ps.response_given_size").lambdify()
    assert close(f(size=x, arrival_rate=lam, service_mean=1 / mu), x / (1 - rho))
    # average over an exponential size: Gauss-Laguerre, exact for a response linear in x
    nodes, weights = np.polynomial.laguerre.laggauss(8)
    mean = np.sum(weights * f(size=nodes / mu, arrival_rate=lam, service_mean=1 / mu))
    assert math.isclose(float(mean), 1 / (mu - lam), rel_tol=1e-9)


def _exp_load(lam, mu, x):
    """lambda int_0^x t mu e^{-mu t} dt via the regularised lower incomplete gamma function (mpmath)."""
    return lam / mu * mpmath.gammainc(2, 0, mu * x, regularized=True)


def _exp_m2(mu, x):
    """int_0^x t^2 mu e^{-mu t} dt = Gamma(3) P(3, mu x)/mu^2 (mpmath)."""
    return 2 / mpmath.mpf(mu) ** 2 * mpmath.gammainc(3, 0, mu * x, regularized=True)


sizes = st.floats(min_value=1e-3, max_value=60.0)  # mu x


@settings(max_examples=60, deadline=None)
@given(mu=rates, rho=loads, u=sizes)
def test_srpt_against_mpmath_quadrature_of_schrage_miller(mu, rho, u):
    lam, x = rho * mu, u / mu
    with mpmath.workdps(30):
        load = _exp_load(lam, mu, x)
        waiting = lam * (_exp_m2(mu, x) + x**2 * mpmath.exp(-mu * x)) / (2 * (1 - load) ** 2)
        points = [0, min(x, 1 / mu), x] if x > 1 / mu else [0, x]
        residence = mpmath.quad(lambda t: 1 / (1 - _exp_load(lam, mu, t)), points)
        expected = float(waiting + residence)
    value = derive("srpt.response_given_size")(size=x, arrival_rate=lam, service_rate=mu)
    assert close(value, expected)


@settings(max_examples=100, deadline=None)
@given(mu=rates, rho=loads, u=sizes)
def test_psjf_against_mpmath(mu, rho, u):
    lam, x = rho * mu, u / mu
    with mpmath.workdps(30):
        # truncated moments by direct quadrature of the exponential density
        load = lam * mpmath.quad(lambda t: t * mu * mpmath.exp(-mu * t), [0, x])
        m2 = mpmath.quad(lambda t: t**2 * mu * mpmath.exp(-mu * t), [0, x])
        expected = float(lam * m2 / (2 * (1 - load) ** 2) + x / (1 - load))
    value = derive("psjf.response_given_size")(size=x, arrival_rate=lam, service_rate=mu)
    assert close(value, expected)


@settings(max_examples=100, deadline=None)
@given(mu=rates, rho=loads, u=sizes)
def test_sjf_against_mpmath(mu, rho, u):
    lam, x = rho * mu, u / mu
    with mpmath.workdps(30):
        load = _exp_load(lam, mu, x)
        expected = float(x + lam * (2 / mpmath.mpf(mu) ** 2) / (2 * (1 - load) ** 2))
    value = derive("sjf.response_given_size")(size=x, arrival_rate=lam, service_rate=mu)
    assert close(value, expected)


@settings(max_examples=60, deadline=None)
@given(mu=rates, rho=loads, u=st.floats(min_value=1e-3, max_value=1e3))
def test_size_based_policies_bounds(mu, rho, u):
    """No job beats its own size; for rho <= 1/2 every size prefers SRPT to PS (all-can-win)."""
    lam, x = rho * mu, u / mu
    p = dict(size=x, arrival_rate=lam, service_rate=mu)
    srpt = derive("srpt.response_given_size")(**p)
    assert srpt >= x * (1 - 1e-12)
    assert derive("psjf.response_given_size")(**p) >= x * (1 - 1e-12)
    assert derive("sjf.response_given_size")(**p) > x
    if rho <= 0.5:  # Bansal & Harchol-Balter, SIGMETRICS 2001, Theorem 1
        assert srpt <= x / (1 - rho) * (1 + 1e-12)


def _rr_reference(lam, mu, q, s):
    """M/G/1 FCFS on the inflated size X' = X + ceil(X/q) s, its moments by mpmath (sums and quadrature)."""
    with mpmath.workdps(30):
        z = mpmath.exp(-mu * q)
        ek = mpmath.nsum(lambda k: k * (1 - z) * z ** (k - 1), [1, mpmath.inf])
        ek2 = mpmath.nsum(lambda k: k**2 * (1 - z) * z ** (k - 1), [1, mpmath.inf])
        norm = 1 - z
        er = mpmath.quad(lambda t: t * mu * mpmath.exp(-mu * t), [0, q]) / norm
        er2 = mpmath.quad(lambda t: t**2 * mu * mpmath.exp(-mu * t), [0, q]) / norm
        # X' = K (q + s) + (R - q), K and R independent
        m1 = (q + s) * ek + er - q
        m2 = (q + s) ** 2 * ek2 + 2 * (q + s) * ek * (er - q) + er2 - 2 * q * er + q**2
        return float(m1 + lam * m2 / (2 * (1 - lam * m1))), float(lam * m1)


@settings(max_examples=80, deadline=None)
@given(mu=rates, rho=loads, mu_q=st.floats(min_value=1e-2, max_value=30.0), extra=fractions)
def test_rr_against_mpmath_moments(mu, rho, mu_q, extra):
    lam, q = rho * mu, mu_q / mu
    p_complete = -math.expm1(-mu_q)
    # a switch cost that keeps the inflated load lambda E[X'] below 0.97
    s = extra * (0.97 - rho) * p_complete / lam
    expected, load = _rr_reference(lam, mu, q, s)
    assume(load < 0.97)
    value = derive("rr.exponential_switch_cost")(arrival_rate=lam, service_rate=mu, quantum=q, switch_cost=s)
    assert math.isclose(value, expected, rel_tol=REL)


@settings(max_examples=150, deadline=None)
@given(mu=rates, rho=loads, mu_q=st.floats(min_value=1e-6, max_value=1e3))
def test_rr_without_switch_cost_is_mm1(mu, rho, mu_q):
    lam = rho * mu
    value = derive("rr.exponential_switch_cost")(
        arrival_rate=lam, service_rate=mu, quantum=mu_q / mu, switch_cost=0.0
    )
    assert close(value, 1 / (mu - lam))


def test_rr_switch_cost_increases_response():
    f = derive("rr.exponential_switch_cost").lambdify()
    s = np.linspace(0.0, 0.05, 6)
    out = f(arrival_rate=0.5, service_rate=1.0, quantum=0.5, switch_cost=s)
    assert out.shape == (6,) and np.all(np.diff(out) > 0)
