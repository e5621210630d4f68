"""Tests of the ProportionalShare and Credit schedulers (virtmodel.sim.credit).

Long-run CPU shares from simulation (saturated hosts, ``allow_overload=True``,
horizon runs, 5 replications) against the water-filling of
:func:`virtmodel.analytic.allocation.long_run_shares`: the prediction must
lie in the 95 % interval, widened by the O(1/T) edge term of the
utilization estimate (measure.py counts the pCPU time of the jobs that
depart in the window: at most about one job's work per VM at each edge).
"""

from __future__ import annotations

import numpy as np
import pytest

import virtmodel as vm
from virtmodel.dists import Exponential
from virtmodel.errors import InvalidParameter
from virtmodel.sim.vmm import Hypervisor

P = vm.policies
MS = 0.005  # Credit scenarios: time in seconds, jobs of 5 ms


def scenario(policy, rates, service=MS, pcpus=1, vcpus=None, overload=True):
    vms = [vm.VM(f"v{i}", Exponential(r), Exponential(1 / service), vcpus=(vcpus[i] if vcpus else 1))
           for i, r in enumerate(rates)]
    return vm.Scenario(pcpus, vms, policy=policy, allow_overload=overload)


def assert_shares_agree(sc, horizon, metrics=("utilization", "throughput"), seed=7):
    pred = vm.predict(sc)
    assert pred.exact
    res = vm.simulate(sc, horizon=horizon, replications=5, seed=seed, warmup=0.1)
    span = 0.9 * horizon
    for v in sc.vms:
        edge = 4 * v.service.mean / span  # one job at each end of the window, with margin
        for metric in metrics:
            value = pred.value(metric, v.name)
            lo, hi = res.ci(metric, v.name)
            slack = edge / sc.pcpus if metric == "utilization" else edge / v.service.mean
            assert lo - slack <= value <= hi + slack, (metric, v.name, value, (lo, hi))
    return pred, res


def test_proportional_share_weights_with_a_light_vm():
    # weights 1:2:3, VM v2 light (load 0.1): shares 0.3, 0.6, 0.1
    sc = scenario(P.ProportionalShare({"v0": 1, "v1": 2, "v2": 3}), [1.0, 1.0, 0.1], service=1.0)
    assert_shares_agree(sc, horizon=8_000)


def test_proportional_share_two_pcpus_vcpu_ceiling():
    # 2 pCPUs; v0 (1 vCPU, weight 3) is held at 1 pCPU, v1 and v2 split the other pCPU
    sc = scenario(P.ProportionalShare({"v0": 3}), [2.0, 2.0, 2.0], service=1.0, pcpus=2, vcpus=[1, 2, 2])
    pred, _ = assert_shares_agree(sc, horizon=4_000)
    assert pred.value("utilization", "v0") == pytest.approx(0.5)


def test_credit_weights_with_a_light_vm():
    sc = scenario(P.Credit({"v0": 256, "v1": 512, "v2": 768}), [300, 300, 20])
    assert_shares_agree(sc, horizon=60)


def test_credit_two_pcpus():
    sc = scenario(P.Credit({"v0": 100, "v1": 300}), [400, 400, 40], pcpus=2, vcpus=[2, 2, 1])
    pred, _ = assert_shares_agree(sc, horizon=40)
    # v2 takes its 0.2 pCPU; v0 and v1 split the other 1.8 as 1:3 -> 0.45 and 1.35 pCPUs
    assert pred.value("utilization", "v1") == pytest.approx(1.35 / 2)


def test_credit_caps_are_not_work_conserving():
    # caps 20 % and 30 %: the host idles 40 % of the time although both VMs always have work waiting
    sc = scenario(P.Credit(caps={"v0": 20, "v1": 30}), [300, 300, 20])
    pred, res = assert_shares_agree(sc, horizon=60)
    assert pred.value("utilization") == pytest.approx(0.6)
    assert res.mean("utilization") < 0.61
    assert res.mean("mean_number", "v0") > 100  # a backlog that keeps growing
    assert res.mean("steal_time", "v0") == pytest.approx(0.8, abs=0.01)  # wants 1 vCPU, gets 0.2


@pytest.mark.parametrize("policy", [P.ProportionalShare({"a": 1, "b": 4}), P.Credit({"a": 1, "b": 4})],
                         ids=["ps", "credit"])
def test_light_load_every_vm_gets_its_demand(policy):
    sc = vm.Scenario(1, [vm.VM("a", Exponential(60), Exponential(1 / MS), vcpus=1),
                         vm.VM("b", Exponential(40), Exponential(1 / MS), vcpus=1)], policy=policy)
    pred = vm.predict(sc)
    assert pred.value("utilization", "a") == pytest.approx(0.3)
    res = vm.simulate(sc, horizon=60, replications=5, seed=3, warmup=0.1)
    for name, lam in (("a", 60), ("b", 40)):
        lo, hi = res.ci("throughput", name)
        assert lo <= lam <= hi


def test_credit_job_tables_are_consistent():
    sc = scenario(P.Credit({"v0": 1, "v1": 2}, caps={"v1": 50}), [150, 150], pcpus=1)
    hv = Hypervisor(sc, seed=1)
    hv.run_until(5.0)
    rec = hv.records()
    done = rec.order
    np.testing.assert_allclose(rec.occupied[done], rec.size[done], rtol=1e-9)
    assert np.all(rec.start[done] >= rec.arrival[done])
    assert np.all(rec.depart[done] >= rec.start[done] + rec.size[done] * (1 - 1e-9))
    busy = rec.occupied.sum()
    assert busy <= rec.now * sc.pcpus * (1 + 1e-9)


def test_proportional_share_job_tables_are_consistent():
    sc = scenario(P.ProportionalShare({"v0": 1, "v1": 2}), [0.4, 0.3], service=1.0, pcpus=2, vcpus=[1, 2],
                  overload=False)
    hv = Hypervisor(sc, seed=2)
    hv.run_until_departures(2_000)
    rec = hv.records()
    done = rec.order
    assert np.all(rec.depart[done] >= rec.start[done] + rec.size[done] * (1 - 1e-9))
    # within a VM, jobs enter service in arrival order (FCFS)
    for i in range(2):
        mine = np.flatnonzero((rec.vm == i) & ~np.isnan(rec.start))
        assert np.all(np.diff(rec.start[mine]) >= 0)


# --------------------------------------------------------------------------- bad input


def _two(policy):
    return vm.Scenario(1, [vm.VM("a", Exponential(0.2), Exponential(1.0)),
                           vm.VM("b", Exponential(0.2), Exponential(1.0), vcpus=2)], policy=policy)


@pytest.mark.parametrize("make, name", [
    (lambda: P.ProportionalShare({"a": 0}), "weights"),
    (lambda: P.ProportionalShare({"a": -1}), "weights"),
    (lambda: P.Credit({"a": 0}), "weights"),
    (lambda: P.Credit(caps={"a": 0}), "caps"),
    (lambda: P.Credit(caps={"a": -5}), "caps"),
    (lambda: P.Credit(timeslice=0.01, tick=0.02), "tick"),
])
def test_bad_policy_parameters(make, name):
    with pytest.raises(InvalidParameter, match=name):
        make()


@pytest.mark.parametrize("policy, name", [
    (P.ProportionalShare({"nope": 1}), "weights"),
    (P.Credit({"nope": 1}), "weights"),
    (P.Credit(caps={"nope": 50}), "caps"),
    (P.Credit(caps={"a": 101}), "caps"),
    (P.Credit(caps={"b": 201}), "caps"),
])
def test_bad_policy_for_scenario(policy, name):
    with pytest.raises(InvalidParameter, match=name):
        _two(policy)


def test_cap_up_to_100_per_vcpu_is_accepted():
    _two(P.Credit(caps={"a": 100, "b": 200}))
