"""The Erlang-A derivation (virtmodel.symbolic.abandonment) against the numeric closed form."""

import mpmath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from virtmodel.analytic import MMcM
from virtmodel.symbolic import derivations, derive
from virtmodel.symbolic.abandonment import c, lam, mu, theta

NAME = "erlang_a.abandonment_probability"


def test_registered_with_steps_and_latex():
    assert NAME in derivations()
    d = derive(NAME)
    assert len(d.steps) >= 8 and d.exact
    assert r"\theta" in d.latex() and "lowergamma" not in d.latex()
    assert d.parameter_names == ("arrival_rate", "service_rate", "servers", "abandonment_rate")


@pytest.mark.parametrize("point", [(2.0, 1.0, 2, 0.5), (9.0, 1.0, 10, 0.1), (3.0, 2.0, 1, 4.0)])
def test_symbolic_result_equals_closed_form_in_exact_arithmetic(point):
    """The sympy result itself (lowergamma, factorials), evaluated to 30 digits, equals MMcM to 1e-12."""
    value = derive(NAME).result.subs({lam: point[0], mu: point[1], c: point[2], theta: point[3]}).evalf(30)
    assert float(value) == pytest.approx(MMcM(*point).abandonment_probability, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(load=st.floats(0.2, 3.0), service_rate=st.floats(0.1, 10.0), servers=st.integers(1, 30),
       patience_ratio=st.floats(0.05, 5.0))
def test_derivation_equals_closed_form(load, service_rate, servers, patience_ratio):
    """derive(...) (lambdified: incomplete gamma, log space) equals MMcM (term-by-term sums) to 1e-9."""
    lam_, theta_ = load * servers * service_rate, patience_ratio * service_rate
    got = derive(NAME)(arrival_rate=lam_, service_rate=service_rate, servers=servers, abandonment_rate=theta_)
    want = MMcM(lam_, service_rate, servers, theta_).abandonment_probability
    assert got == pytest.approx(want, rel=1e-9, abs=1e-300)


def test_exact_arithmetic_reference_point():
    """One point against a 40-digit birth-death sum (independent of both codes)."""
    mpmath.mp.dps = 40
    lam_, mu_, c_, th = mpmath.mpf(5), mpmath.mpf(1), 4, mpmath.mpf("0.25")
    w, total, queue = mpmath.mpf(1), mpmath.mpf(1), mpmath.mpf(0)
    for j in range(1, 4000):
        w *= lam_ / (min(j, c_) * mu_ + max(j - c_, 0) * th)
        total += w
        queue += max(j - c_, 0) * w
    exact = th * queue / total / lam_
    assert derive(NAME)(arrival_rate=5.0, service_rate=1.0, servers=4, abandonment_rate=0.25) == pytest.approx(
        float(exact), rel=1e-12)
