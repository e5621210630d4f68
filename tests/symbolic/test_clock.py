"""The clock derivations (derive layer) agree with virtmodel.analytic.clock (predict layer) to 1e-9 relative.

Each derivation builds (its internal sympy checks run), and its lambdified
result equals the numeric function over the valid parameter range
(hypothesis).
"""

from __future__ import annotations

import math

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from virtmodel.analytic import clock as C
from virtmodel.symbolic import derivations, derive

REL = 1e-9
NAMES = ["clock.ntp_offset_estimate", "clock.ntp_delay", "clock.asymmetry_error", "clock.offset_error_bound",
         "clock.allan_variance_white_pm", "clock.allan_variance_random_walk_fm", "clock.allan_variance_drift",
         "clock.holdover_mean", "clock.holdover_variance", "clock.lost_tick_rate_error_delay",
         "clock.catchup_min_rate", "clock.catchup_backlog_growth"]

delays = st.floats(min_value=0.0, max_value=10.0)
pos = st.floats(min_value=1e-6, max_value=1e6)
small = st.floats(min_value=1e-4, max_value=1.0)


def close(actual, expected):
    return math.isclose(float(actual), float(expected), rel_tol=REL, abs_tol=1e-300)


@pytest.mark.parametrize("name", NAMES)
def test_derivation_builds(name):
    assert name in derivations()
    d = derive(name)
    assert d.name == name and d.exact and len(d.steps) >= 2 and d.source
    assert d.result.free_symbols <= {s for _, s in d.parameters}
    assert d.latex().startswith(r"\begin{align*}") and sympy.latex(d.result)


@settings(max_examples=100, deadline=None)
@given(theta=st.floats(-1e3, 1e3), d_to=delays, d_from=delays, hold=st.floats(0, 1), t1=st.floats(0, 1e3))
def test_on_wire(theta, d_to, d_from, hold, t1):
    t2 = t1 + d_to + theta
    t3 = t2 + hold
    t4 = t3 + d_from - theta
    if t4 < t1 or t3 < t2:
        return
    off, dly = C.ntp_offset_delay(t1, t2, t3, t4)
    est = derive("clock.ntp_offset_estimate")(offset=theta, to_server_delay=d_to, from_server_delay=d_from)
    # timestamps carry absolute rounding of ~1e-13 at these magnitudes
    assert math.isclose(est, off, rel_tol=REL, abs_tol=1e-9)
    assert math.isclose(derive("clock.ntp_delay")(to_server_delay=d_to, from_server_delay=d_from), dly,
                        rel_tol=REL, abs_tol=1e-9)
    e = derive("clock.asymmetry_error")(to_server_delay=d_to, from_server_delay=d_from)
    assert close(e, C.asymmetry_error(d_to, d_from))
    assert close(derive("clock.offset_error_bound")(delay=d_to + d_from), C.offset_error_bound(d_to + d_from))
    assert abs(e) <= C.offset_error_bound(d_to + d_from) * (1 + REL)


@settings(max_examples=100, deadline=None)
@given(sigma=pos, q=pos, d=st.floats(-1e3, 1e3), tau=pos)
def test_allan(sigma, q, d, tau):
    assert close(derive("clock.allan_variance_white_pm")(white_pm=sigma, tau=tau),
                 C.allan_variance_white_pm(sigma, tau))
    assert close(derive("clock.allan_variance_random_walk_fm")(random_walk_fm=q, tau=tau),
                 C.allan_variance_random_walk_fm(q, tau))
    assert close(derive("clock.allan_variance_drift")(ageing=d, tau=tau), C.allan_variance_drift(d, tau))


@settings(max_examples=100, deadline=None)
@given(T=pos, x0=st.floats(-1, 1), y0=st.floats(-1e-3, 1e-3), d=st.floats(-1e-6, 1e-6), q=pos, sigma=pos,
       v=st.floats(0, 1.0), a=st.floats(0, 1e5))
def test_holdover(T, x0, y0, d, q, sigma, v, a):
    m = derive("clock.holdover_mean")(duration=T, offset=x0, frequency=y0, ageing=d)
    exact = C.holdover_mean(T, x0, y0, d)
    # the three terms may cancel: compare relative to the largest term
    assert abs(m - exact) <= REL * max(abs(x0), abs(y0 * T), abs(d * T * T / 2), 1e-300)
    assert close(derive("clock.holdover_variance")(duration=T, random_walk_fm=q, white_pm=sigma,
                                                    frequency_variance=v, elapsed=a),
                 C.holdover_variance(T, q, sigma, v, a))


@settings(max_examples=100, deadline=None)
@given(s=small, g=small, k=st.floats(1.0, 20.0), h=st.floats(1e-4, 0.1))
def test_lost_ticks(s, g, k, h):
    assert close(derive("clock.lost_tick_rate_error_delay")(run=s, gap=g), C.lost_tick_rate_error(s, g, "delay", h))
    kmin = derive("clock.catchup_min_rate")(run=s, gap=g)
    assert close(kmin, 1 + g / s)
    assert C.catchup_feasible(s, g, kmin * (1 + 1e-12)) and not C.catchup_feasible(s, g, kmin * (1 - 1e-9))
    if k < kmin * (1 - 1e-9):
        growth = derive("clock.catchup_backlog_growth")(run=s, gap=g, catchup_rate=k)
        assert close(growth, C.catchup_backlog_growth(s, g, k))
        assert close(-growth, C.lost_tick_rate_error(s, g, "catchup", h, k))
