"""The allocation derivations (derive layer) agree with virtmodel.analytic.allocation (predict layer).

Each derivation builds (its internal sympy checks run: the Kaufman-Roberts
recursion equals the product form summed over every state and reduces to
Erlang B, DRF reproduces the paper's example), and its lambdified result
equals the numeric code over the valid parameter range to 1e-9 relative
(hypothesis).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from virtmodel.analytic.allocation import drf, idle_memory_tax, kaufman_roberts, water_fill
from virtmodel.symbolic import derivations, derive

REL = 1e-9
NAMES = ["allocation.kaufman_roberts", "allocation.drf_two_users", "allocation.water_fill_level",
         "allocation.idle_memory_tax"]
positive = st.floats(min_value=0.05, max_value=50.0)


def close(actual, expected):
    return math.isclose(float(actual), float(expected), rel_tol=REL)


@pytest.mark.parametrize("name", NAMES)
def test_derivation_builds(name):
    assert name in derivations()
    d = derive(name)
    assert d.name == name and d.exact and len(d.steps) >= 4 and d.source
    assert d.latex().startswith(r"\begin{align*}")
    assert sympy.latex(d.result)


@settings(max_examples=80, deadline=None)
@given(st.floats(1e-3, 30.0), st.floats(0.0, 30.0))
def test_kaufman_roberts(load_1, load_2):
    f = derive("allocation.kaufman_roberts").lambdify()
    assert close(f(offered_load_1=load_1, offered_load_2=load_2), kaufman_roberts(6, [load_1, load_2], [1, 2])[0])


@settings(max_examples=80, deadline=None)
@given(positive, positive, positive, positive, positive, positive)
def test_drf_two_users(c1, c2, a1, a2, b1, b2):
    f = derive("allocation.drf_two_users").lambdify()
    got = f(capacity_1=c1, capacity_2=c2, demand_a_1=a1, demand_a_2=a2, demand_b_1=b1, demand_b_2=b2)
    assert close(got, drf([c1, c2], {"A": [a1, a2], "B": [b1, b2]})["A"])


@settings(max_examples=80, deadline=None)
@given(positive, st.floats(0.01, 1.0), positive, positive, positive)
def test_water_fill_level(capacity, fraction, s1, s2, s3):
    limit_1 = fraction * s1 * capacity / (s1 + s2 + s3)  # entity 1 capped
    assume(fraction < 0.999)
    x = water_fill(capacity, [math.inf] * 3, limits=[limit_1, math.inf, math.inf], shares=[s1, s2, s3])
    f = derive("allocation.water_fill_level").lambdify()
    assert close(f(capacity=capacity, limit_1=limit_1, share_2=s2, share_3=s3), x[1] / s2)


@settings(max_examples=80, deadline=None)
@given(st.floats(10.0, 1e4), positive, positive, st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.floats(0.0, 0.95))
def test_idle_memory_tax(memory, shares_1, shares_2, w1, w2, tax):
    ws = np.array([w1, w2]) * memory  # working sets up to the whole memory each
    f = derive("allocation.idle_memory_tax").lambdify()
    got = f(memory=memory, shares_1=shares_1, shares_2=shares_2, working_set_1=ws[0], working_set_2=ws[1],
            tax_rate=tax)
    other = memory - got
    assume(got > 1e-6 * memory and other > 1e-6 * memory)  # the regime where no VM is clipped at 0
    x = idle_memory_tax(memory, [shares_1, shares_2], ws, tax)
    assert close(got, x[0])
