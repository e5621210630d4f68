"""KVM vCPU threads under Linux EEVDF with cgroup cpu.weight / cpu.max: simulation against theory.

Each share check simulates saturated VMs (every VM always has work), where
the water-filling of :func:`virtmodel.analytic.linux_fair.fair_shares` is
the exact long run: the predicted share must lie in the simulated 95 %
interval (family-wise), and the interval must be narrow enough (relative
half-width < 1.5 %) that a 2 % error would fail.  The throttling check compares the
simulated mean response of isolated jobs under ``cpu.max`` with
:func:`~virtmodel.analytic.linux_fair.mean_throttled_response`.
"""

from __future__ import annotations

import numpy as np
import pytest

import virtmodel as vm
from virtmodel.analytic.linux_fair import fair_shares, throttling_delay_bound
from virtmodel.dists import Deterministic, Exponential, Uniform
from virtmodel.errors import InvalidParameter
from virtmodel.sim.vmm import Hypervisor

JOB = Exponential(1 / 0.005)  # 5 ms jobs (seconds)


def _vms(rates, vcpus, job=JOB):
    return [vm.VM(f"vm{i}", Exponential(r), job, vcpus=v) for i, (r, v) in enumerate(zip(rates, vcpus, strict=True))]


SHARE_CASES = {
    "cpu.weight 100:300, 1 pCPU": vm.Scenario(
        1, _vms([300, 300], [1, 1]), policy=vm.policies.LinuxFair(weights={"vm0": 100, "vm1": 300}),
        allow_overload=True),
    "cpu.max 20 ms / 100 ms beside an uncapped VM": vm.Scenario(
        1, _vms([300, 300], [1, 1]), policy=vm.policies.LinuxFair(quota={"vm0": 0.02}, period=0.1),
        allow_overload=True),
    "2 pCPUs, 2/2/1 vCPUs, weights 100:300:100, cpu.max 1 CPU on the heavy VM": vm.Scenario(
        2, _vms([400, 400, 400], [2, 2, 1]),
        policy=vm.policies.LinuxFair(weights={"vm0": 100, "vm1": 300, "vm2": 100}, quota={"vm1": 0.1}, period=0.1),
        allow_overload=True),
}


#: Bonferroni over the 7 VM shares checked below, so that a correct model fails with probability <= 5 %
FAMILY_LEVEL = 1 - 0.05 / 7


@pytest.mark.parametrize("name", list(SHARE_CASES))
def test_shares_inside_simulated_interval(name):
    sc = SHARE_CASES[name]
    pred = vm.predict(sc)
    assert pred.exact
    # a window of whole cpu.max periods (t0 = 2 s, t1 = 8 s): a window that ends mid-period would
    # count a fraction of a quota too many or too few, a bias of order quota / window
    res = vm.simulate(sc, horizon=8.0, warmup=0.25, replications=4, seed=11)
    for v in sc.vms:
        share = pred.value("utilization", v.name)
        low, high = res.ci("utilization", v.name, level=FAMILY_LEVEL)
        assert low <= share <= high, (v.name, share, low, high)
        assert (high - low) / 2 < 0.015 * share  # a 2 % error would fail


def test_prediction_is_water_filling():
    shares = fair_shares(SHARE_CASES["2 pCPUs, 2/2/1 vCPUs, weights 100:300:100, cpu.max 1 CPU on the heavy VM"])
    # weights 1:3:1 of 2 pCPUs = 0.4, 1.2, 0.4; vm1 capped at quota/period = 1.0, its 0.2 shared 1:1
    assert shares == pytest.approx({"vm0": 0.5, "vm1": 1.0, "vm2": 0.5}, rel=1e-12)


def test_quota_throttles_and_weights_do_not():
    sc = SHARE_CASES["cpu.max 20 ms / 100 ms beside an uncapped VM"]
    hv = Hypervisor(sc, seed=3)
    hv.run_until(2.01)
    s = hv.scheduler
    assert s.throttle_count == [20, 0]  # once per 100 ms period, never for the uncapped VM
    # sharing the pCPU 1:1, vm0 spends its 20 ms in the first ~40 ms and sits out ~60 ms
    assert s.throttled_time[0] == pytest.approx(20 * 0.060, rel=0.03)


def _isolated(x, quota, period, service=None):
    low = x + throttling_delay_bound(x, quota, period) + period
    return vm.Scenario(1, [vm.VM("a", Uniform(low, low + period), service or Deterministic(x), vcpus=1)],
                       policy=vm.policies.LinuxFair(quota={"a": quota}, period=period))


def test_throttled_mean_response_matches_closed_form():
    """25 ms requests under cpu.max 10 ms / 100 ms: E[T] = 0.16 s although the average use is 7 %.

    1,000 jobs x 5 replications give a relative half-width of about 0.8 %.
    """
    sc = _isolated(0.025, 0.010, 0.100)
    pred = vm.predict(sc)
    assert pred.exact and pred.value("mean_response") == pytest.approx(0.16, rel=1e-12)
    res = vm.simulate(sc, customers=1000, replications=5, seed=5)
    low, high = res.ci("mean_response")
    assert low <= 0.16 <= high
    assert (high - low) / 2 < 0.01 * 0.16
    assert res.mean("mean_wait") == 0.0  # a full quota at every arrival: each job starts at once


def test_every_simulated_response_obeys_the_bound():
    x, q, p = 0.025, 0.010, 0.100
    hv = Hypervisor(_isolated(x, q, p), seed=8)
    hv.run_until_departures(300)
    resp = hv.records().responses()
    assert resp.max() <= x + throttling_delay_bound(x, q, p) + 1e-9
    assert resp.min() >= x - 1e-12
    assert resp.max() > x + 0.9 * throttling_delay_bound(x, q, p)  # the bound is reached (tight)


def test_light_vm_beside_a_hog_is_not_throttled_by_weights():
    """EEVDF: a waking thread with positive lag preempts the hog; the light VM's jobs barely wait."""
    vms = [vm.VM("light", Exponential(20.0), Deterministic(0.001), vcpus=1),
           vm.VM("hog", Exponential(1000.0), JOB, vcpus=1)]
    sc = vm.Scenario(1, vms, policy=vm.policies.LinuxFair(), allow_overload=True)
    hv = Hypervisor(sc, seed=2)
    hv.run_until(20.0)
    rec = hv.records()
    done = rec.order[rec.vm[rec.order] == 0]
    resp = rec.depart[done] - rec.arrival[done]
    assert np.mean(resp) < 0.001 + 2 * vm.policies.LinuxFair().slice_for(1)


def test_burst_carries_unused_quota_into_a_period():
    """cpu.max.burst: after idle periods the pool holds quota + burst, so a 2q request runs unthrottled."""
    q, p = 0.010, 0.100
    for burst, expected in ((0.0, q + (p - q) + q), (q, 2 * q)):
        policy = vm.policies.LinuxFair(quota={"a": q}, period=p, burst={"a": burst})
        sc = vm.Scenario(1, [vm.VM("a", Deterministic(1.0), Deterministic(2 * q), vcpus=1)], policy=policy)
        hv = Hypervisor(sc, seed=1)
        hv.run_until_departures(5)
        assert hv.records().responses() == pytest.approx([expected] * 5, abs=1e-9)


def test_bad_input():
    with pytest.raises(InvalidParameter, match="cpu.weight"):
        vm.policies.LinuxFair(weights={"a": 0.5})
    with pytest.raises(InvalidParameter, match="cpu.weight"):
        vm.policies.LinuxFair(weights={"a": 20_000})
    with pytest.raises(InvalidParameter):
        vm.policies.LinuxFair(quota={"a": -1.0})
    with pytest.raises(InvalidParameter):
        vm.policies.LinuxFair(period=0.0)
    with pytest.raises(InvalidParameter, match="burst"):
        vm.Scenario(1, _vms([1.0], [1]), policy=vm.policies.LinuxFair(quota={"vm0": 0.01}, burst={"vm0": 0.02}))
    with pytest.raises(InvalidParameter, match="not in the scenario"):
        vm.Scenario(1, _vms([1.0], [1]), policy=vm.policies.LinuxFair(quota={"nope": 0.1}))


def test_seconds_per_unit_scales_linux_defaults():
    ms = vm.policies.LinuxFair(seconds_per_unit=1e-3)
    s = vm.policies.LinuxFair()
    assert ms.period_of("a") == pytest.approx(1000 * s.period_of("a"))
    assert ms.slice_for(4) == pytest.approx(1000 * s.slice_for(4))
    assert s.slice_for(1) == pytest.approx(0.0007) and s.slice_for(8) == pytest.approx(0.0028)
