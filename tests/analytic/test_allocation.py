"""Tests of virtmodel.analytic.allocation: water-filling and long-run CPU shares.

* textbook examples (Keshav 1997, §9.4; Bertsekas & Gallager 1992, §6.5.2);
* properties (hypothesis): feasibility, bounds, Pareto efficiency, weighted
  max-min optimality, invariance to scaling the shares, agreement with the
  simulator's pure-Python ``share``;
* bad input raises InvalidParameter naming the parameter;
* ``long_run_shares`` and the ProportionalShare / Credit solvers.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import virtmodel as vm
from virtmodel.analytic.allocation import long_run_shares, water_fill
from virtmodel.dists import Exponential
from virtmodel.errors import InvalidParameter
from virtmodel.sim.credit import share

TOL = 1e-9


# --------------------------------------------------------------------------- textbook examples


def test_keshav_max_min_example():
    # Keshav (1997), §9.4: capacity 10, demands 2, 2.6, 4, 5 -> 2, 2.6, 2.7, 2.7
    np.testing.assert_allclose(water_fill(10, [2, 2.6, 4, 5]), [2, 2.6, 2.7, 2.7], rtol=1e-12)


def test_keshav_weighted_example():
    # Keshav (1997), §9.4: capacity 16, demands 4, 2, 10, 4, weights 2.5, 4, 0.5, 1 -> 4, 2, 6, 4
    np.testing.assert_allclose(water_fill(16, [4, 2, 10, 4], shares=[2.5, 4, 0.5, 1]), [4, 2, 6, 4], rtol=1e-12)


def test_single_link_equal_split():
    # Bertsekas & Gallager (1992), §6.5.2: sessions on one link of capacity 1, all greedy -> 1/n each
    np.testing.assert_allclose(water_fill(1.0, [math.inf] * 4), [0.25] * 4)


def test_demands_that_fit_are_met():
    np.testing.assert_allclose(water_fill(10, [1, 2, 3]), [1, 2, 3])


def test_reservation_and_limit_vmware_style():
    # VMware: a reservation is guaranteed, a limit is never exceeded, shares split the rest
    x = water_fill(10, [10, 10, 10], reservations=[6, 0, 0], limits=[10, 1, 10])
    np.testing.assert_allclose(x, [6, 1, 3])
    # an unused reservation goes to the others
    np.testing.assert_allclose(water_fill(10, [1, 10], reservations=[6, 0]), [1, 9])


def test_shares_give_proportional_split():
    np.testing.assert_allclose(water_fill(6, [math.inf] * 3, shares=[1, 2, 3]), [1, 2, 3])


# --------------------------------------------------------------------------- properties

finite = st.floats(0.0, 100.0, allow_nan=False)
weights = st.floats(0.01, 100.0, allow_nan=False)


@st.composite
def problems(draw):
    n = draw(st.integers(1, 8))
    capacity = draw(st.floats(0.0, 200.0))
    demands = np.array(draw(st.lists(st.one_of(finite, st.just(math.inf)), min_size=n, max_size=n)))
    limits = np.array(draw(st.lists(st.one_of(finite, st.just(math.inf)), min_size=n, max_size=n)))
    shares = np.array(draw(st.lists(weights, min_size=n, max_size=n)))
    frac = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n)))
    res = np.minimum(frac * capacity / n, np.where(np.isfinite(limits), limits, capacity))
    if draw(st.booleans()):
        res = np.zeros(n)
    return capacity, demands, res, limits, shares


@given(problems())
@settings(max_examples=300, deadline=None)
def test_feasible_and_bounded(p):
    capacity, d, r, lim, s = p
    x = water_fill(capacity, d, reservations=r, limits=lim, shares=s)
    scale = max(1.0, capacity)
    assert x.sum() <= capacity + TOL * scale
    assert np.all(x <= np.minimum(d, lim) + TOL * scale)
    assert np.all(x >= np.minimum(r, d) - TOL * scale)


@given(problems())
@settings(max_examples=300, deadline=None)
def test_pareto_and_weighted_max_min(p):
    capacity, d, r, lim, s = p
    x = water_fill(capacity, d, reservations=r, limits=lim, shares=s)
    upper = np.minimum(d, lim)
    scale = max(1.0, capacity)
    unsatisfied = x < upper - 1e-7 * scale
    if unsatisfied.any():  # Pareto: nothing left over while someone wants more
        assert x.sum() == pytest.approx(capacity, rel=1e-9, abs=1e-9)
    # max-min: an unsatisfied entity has at least as much per share as any entity above its floor
    above_floor = x > np.minimum(r, d) + 1e-7 * scale
    for i in np.flatnonzero(unsatisfied):
        for j in np.flatnonzero(above_floor):
            assert x[i] / s[i] >= x[j] / s[j] * (1 - 1e-7) - 1e-9


@given(problems(), st.floats(0.001, 1000.0))
@settings(max_examples=200, deadline=None)
def test_scale_invariance_in_shares(p, factor):
    capacity, d, r, lim, s = p
    a = water_fill(capacity, d, reservations=r, limits=lim, shares=s)
    b = water_fill(capacity, d, reservations=r, limits=lim, shares=s * factor)
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9 * max(1.0, capacity))


@given(st.integers(1, 8).flatmap(lambda n: st.tuples(
    st.floats(0.0, 50.0), st.lists(weights, min_size=n, max_size=n), st.lists(finite, min_size=n, max_size=n))))
@settings(max_examples=200, deadline=None)
def test_simulator_share_equals_water_fill(p):
    capacity, w, lim = p
    np.testing.assert_allclose(share(capacity, w, lim), water_fill(capacity, lim, shares=w),
                               rtol=1e-9, atol=1e-9 * max(1.0, capacity))


@given(problems())
@settings(max_examples=100, deadline=None)
def test_more_capacity_never_hurts(p):
    capacity, d, r, lim, s = p
    a = water_fill(capacity, d, reservations=r, limits=lim, shares=s)
    b = water_fill(capacity * 1.5 + 1, d, reservations=r, limits=lim, shares=s)
    assume(np.isfinite(a).all())
    assert np.all(b >= a - 1e-9 * max(1.0, capacity))


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("kwargs, name", [
    (dict(capacity=-1, demands=[1]), "capacity"),
    (dict(capacity=[1, 2], demands=[1, 2]), "capacity"),
    (dict(capacity=1, demands=[]), "demands"),
    (dict(capacity=1, demands=[[1, 2]]), "demands"),
    (dict(capacity=1, demands=[-1, 2]), "demands"),
    (dict(capacity=1, demands=[float("nan")]), "demands"),
    (dict(capacity=1, demands="ab"), "demands"),
    (dict(capacity=1, demands=[1, 2], shares=[1, 0]), "shares"),
    (dict(capacity=1, demands=[1, 2], shares=[1, 2, 3]), "shares"),
    (dict(capacity=1, demands=[1, 2], limits=[-1, 1]), "limits"),
    (dict(capacity=1, demands=[1, 2], reservations=[math.inf, 0]), "reservations"),
    (dict(capacity=1, demands=[1, 2], reservations=[0.6, 0.6]), "reservations"),
    (dict(capacity=5, demands=[1, 2], reservations=[2, 0], limits=[1, 5]), "reservations"),
])
def test_bad_input(kwargs, name):
    with pytest.raises(InvalidParameter, match=name):
        water_fill(**kwargs)


# --------------------------------------------------------------------------- long-run shares and solvers


def _scenario(policy, loads, pcpus=1, vcpus=None):
    vms = [vm.VM(f"v{i}", Exponential(load), Exponential(1.0), vcpus=(vcpus[i] if vcpus else 1))
           for i, load in enumerate(loads)]
    return vm.Scenario(pcpus, vms, policy=policy, allow_overload=True)


def test_long_run_shares_weights_and_light_vm():
    sc = _scenario(vm.policies.ProportionalShare({"v0": 1, "v1": 2}), [1.0, 1.0, 0.1])
    shares = long_run_shares(sc)
    assert shares == pytest.approx({"v0": 0.3, "v1": 0.6, "v2": 0.1})
    pred = vm.predict(sc)
    assert pred.exact
    assert pred.value("utilization", "v1") == pytest.approx(0.6)
    assert pred.value("throughput", "all") == pytest.approx(1.0)
    assert set(pred.values["metric"]) == {"utilization", "throughput"}  # delays are not predicted


def test_credit_caps_are_ceilings():
    sc = _scenario(vm.policies.Credit(caps={"v0": 20, "v1": 30}), [1.0, 1.0, 0.1])
    assert long_run_shares(sc) == pytest.approx({"v0": 0.2, "v1": 0.3, "v2": 0.1})
    assert vm.predict(sc).value("utilization") == pytest.approx(0.6)  # the host idles 40 %


def test_light_load_every_vm_gets_its_demand():
    sc = vm.Scenario(2, [vm.VM("a", Exponential(0.3), Exponential(1.0), vcpus=1),
                         vm.VM("b", Exponential(0.5), Exponential(1.0))],
                     policy=vm.policies.Credit({"a": 100, "b": 900}))
    assert long_run_shares(sc) == pytest.approx({"a": 0.3, "b": 0.5})
    assert vm.predict(sc).value("throughput", "b") == pytest.approx(0.5)


def test_state_dependent_ceiling_is_flagged_approximate():
    # 2 pCPUs; a (1 vCPU, weight 2) is at its ceiling only while c is idle: the fluid value is approximate
    sc = vm.Scenario(2, [vm.VM("a", Exponential(5.0), Exponential(1.0), vcpus=1),
                         vm.VM("b", Exponential(5.0), Exponential(1.0), vcpus=2),
                         vm.VM("c", Exponential(0.5), Exponential(1.0), vcpus=2)],
                     policy=vm.policies.ProportionalShare({"a": 2, "b": 1, "c": 3}), allow_overload=True)
    pred = vm.predict(sc)
    assert not pred.exact
    assert "approximation" in pred.model


def test_long_run_shares_rejects_other_policies():
    sc = vm.Scenario(1, [vm.VM("a", Exponential(0.5), Exponential(1.0))])
    with pytest.raises(InvalidParameter, match="policy"):
        long_run_shares(sc)
