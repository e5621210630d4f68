"""cpu.max throttling closed forms and LinuxFair shares (virtmodel.analytic.linux_fair)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import virtmodel as vm
from virtmodel.analytic.linux_fair import (
    fair_shares,
    mean_throttled_response,
    period_demand_exceeds_quota,
    throttled_response,
    throttling_delay_bound,
)
from virtmodel.dists import Deterministic, Exponential, LogNormal, Uniform
from virtmodel.errors import InvalidParameter, NoClosedForm


def _phase_average(x, q, p, n=400_000):
    u = (np.arange(n) + 0.5) / n * p  # midpoint rule: exact on each linear piece, O(p/n) at the few kinks
    return float(np.mean(throttled_response(x, q, p, u))), float(np.max(throttled_response(x, q, p, u)))


@settings(max_examples=40, deadline=None)
@given(x=st.floats(0.001, 0.5), q_frac=st.floats(0.05, 1.0), p=st.floats(0.01, 0.2))
def test_mean_and_bound_equal_the_phase_average_and_maximum(x, q_frac, p):
    q = q_frac * p
    mean, worst = _phase_average(x, q, p)
    assert mean_throttled_response(x, q, p) == pytest.approx(mean, rel=1e-5)
    assert x + throttling_delay_bound(x, q, p) >= worst - 1e-12
    assert x + throttling_delay_bound(x, q, p) == pytest.approx(worst, rel=1e-4)


def test_hand_computed_values():
    # 25 ms under 10 ms / 100 ms from a period start: 10 ms, 90 ms throttled, 10 ms, 90 ms, 5 ms
    assert throttled_response(0.025, 0.010, 0.100, 0.0) == pytest.approx(0.205)
    # arriving 3 ms before the period ends: 3 ms, then 10 ms + 90 ms throttled, twice, then the last 2 ms
    assert throttled_response(0.025, 0.010, 0.100, 0.097) == pytest.approx(0.003 + 2 * (0.010 + 0.090) + 0.002)
    # arriving mid-period: 10 ms, 40 ms throttled to the period's end, 10 ms + 90 ms, 5 ms
    assert throttled_response(0.025, 0.010, 0.100, 0.05) == pytest.approx(0.025 + 0.040 + 0.090)
    assert throttled_response(0.005, 0.010, 0.100, 0.05) == pytest.approx(0.005)  # fits: never throttled
    assert throttling_delay_bound(0.025, 0.010, 0.100) == pytest.approx(0.18)
    assert throttling_delay_bound(0.010, 0.010, 0.100) == 0.0
    assert mean_throttled_response(0.010, 0.010, 0.010) == pytest.approx(0.010)  # quota = period: no limit


def test_demand_probability_matches_monte_carlo():
    rng = np.random.default_rng(4)
    lam, q, p = 40.0, 0.010, 0.100
    for service in (Deterministic(0.004), Exponential(1 / 0.003)):
        n = rng.poisson(lam * p, 200_000)
        sizes = service.sample(rng, int(n.sum()))
        demand = np.bincount(np.repeat(np.arange(n.size), n), weights=sizes, minlength=n.size)
        mc = np.mean(demand > q)
        se = np.sqrt(mc * (1 - mc) / n.size)
        assert abs(period_demand_exceeds_quota(lam, service, q, p) - mc) < 5 * se
    with pytest.raises(NoClosedForm):
        period_demand_exceeds_quota(lam, LogNormal(0.003, 1.0), q, p)


def test_shares_examples():
    vms = [vm.VM(n, Exponential(1.0), Exponential(0.5), vcpus=1) for n in ("a", "b", "c")]
    sc = vm.Scenario(1, vms, policy=vm.policies.LinuxFair(weights={"a": 100, "b": 200, "c": 100}),
                     allow_overload=True)
    assert fair_shares(sc) == pytest.approx({"a": 0.25, "b": 0.5, "c": 0.25})
    light = [vm.VM("light", Exponential(0.1), Exponential(1.0), vcpus=1), *vms[:2]]
    sc = vm.Scenario(1, light, policy=vm.policies.LinuxFair(), allow_overload=True)
    pred = vm.predict(sc)
    assert not pred.exact  # a light VM: the fluid approximation
    assert pred.value("utilization", "light") == pytest.approx(0.1)
    assert pred.value("utilization", "a") == pytest.approx(0.45)


def test_isolated_jobs_need_room_between_arrivals():
    x, q, p = 0.025, 0.010, 0.100
    close = vm.Scenario(1, [vm.VM("a", Uniform(0.2, 0.3), Deterministic(x), vcpus=1)],
                        policy=vm.policies.LinuxFair(quota={"a": q}, period=p))
    assert "throttling" not in vm.predict(close).model  # a job could still hold quota: no exact form
    far = vm.Scenario(1, [vm.VM("a", Uniform(0.5, 0.6), Uniform(0.005, 0.04), vcpus=1)],
                      policy=vm.policies.LinuxFair(quota={"a": q}, period=p))
    pred = vm.predict(far)
    assert pred.exact and "throttling" in pred.model
    grid = np.linspace(0.005, 0.04, 20_001)
    expected = np.mean([mean_throttled_response(v, q, p) for v in grid[::20]])
    assert pred.value("mean_response") == pytest.approx(expected, rel=2e-3)


def test_bad_input():
    with pytest.raises(InvalidParameter):
        throttled_response(0.01, 0.2, 0.1, 0.0)  # quota above the period for one thread
    with pytest.raises(InvalidParameter):
        throttled_response(0.01, 0.01, 0.1, 0.1)  # phase outside [0, period)
    with pytest.raises(InvalidParameter):
        mean_throttled_response(-1.0, 0.01, 0.1)
    with pytest.raises(InvalidParameter):
        period_demand_exceeds_quota(1.0, 0.5, 0.01, 0.1)
