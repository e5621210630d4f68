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
from virtmodel.dists import Deterministic, Exponential
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
    # ProportionalShare with saturated VMs is exact (GPS); Credit with a saturated VM is marked approximate
    # since issue 20: use equals credit only while no balance reaches Xen's floor or halving threshold, which
    # is not proven -- the old expectation (exact) claimed more than was shown.  The simulation must still
    # agree with it inside its interval.
    assert pred.exact == isinstance(sc.policy, P.ProportionalShare)
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


def assert_approximate_shares(sc, horizon, rel, light, seed=7):
    """Credit with saturated VMs beside a light one: the shares are Xen's accounting, marked approximate.

    Under Xen's rules the light VM's vCPU leaves the active list whenever its credit passes one slice's
    worth (its weight leaves the total), the saturated vCPUs then overspend, reach the floor and run OVER,
    where they round-robin equally whatever their weights: the split between saturated VMs leans towards
    equal per vCPU.  Checked: the prediction says it is approximate, the light VM gets its demand (inside
    the interval), the host is busy, and every saturated share is within ``rel`` of the weighted
    water-filling (``rel`` is the measured deviation, rounded up; see the test bodies).
    """
    pred = vm.predict(sc)
    assert not pred.exact and "approximate" in pred.model
    res = vm.simulate(sc, horizon=horizon, replications=5, seed=seed, warmup=0.1)
    span = 0.9 * horizon
    lo, hi = res.ci("throughput", light)
    value = pred.value("throughput", light)
    slack = 4 / span
    assert lo - slack <= value <= hi + slack, (light, value, (lo, hi))
    assert res.mean("utilization") == pytest.approx(1.0, abs=0.005)
    for v in sc.vms:
        if v.name != light:
            assert res.mean("utilization", v.name) == pytest.approx(pred.value("utilization", v.name), rel=rel)
    return pred, res


def test_credit_weights_with_a_light_vm():
    # measured (seed 7, 5 x 60 s): v0 0.305 against 0.300 (+1.7 %), v1 within 1 %
    sc = scenario(P.Credit({"v0": 256, "v1": 512, "v2": 768}), [300, 300, 20])
    assert_approximate_shares(sc, horizon=60, rel=0.03, light="v2")


def test_credit_two_pcpus():
    # measured (seed 7, 5 x 40 s): v0 0.242 against 0.225 (+7.6 %, the low weight gains), v1 -2.5 %
    sc = scenario(P.Credit({"v0": 100, "v1": 300}), [400, 400, 40], pcpus=2, vcpus=[2, 2, 1])
    pred, _ = assert_approximate_shares(sc, horizon=40, rel=0.10, light="v2")
    # v2 takes its 0.2 pCPU; v0 and v1 (2 vCPUs each) split the other 1.8 as 100 x 2 : 300 x 2
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


# --------------------------------------------------------------------------- Xen credit1 (issue 20)


def _unequal_vcpus(weights):
    # 4 pCPUs; VM a has 4 vCPUs, VM b has 2; both saturated (offered load 4.5 and 3 pCPUs), 5 ms jobs
    vms = [vm.VM("a", Exponential(900), Exponential(1 / MS), vcpus=4),
           vm.VM("b", Exponential(600), Exponential(1 / MS), vcpus=2)]
    return vm.Scenario(4, vms, policy=P.Credit(weights), allow_overload=True)


@pytest.mark.parametrize("weights, xen", [({}, {"a": 8 / 3, "b": 4 / 3}),
                                          ({"a": 256, "b": 512}, {"a": 2.0, "b": 2.0})],
                         ids=["equal-weights", "256-512"])
def test_weight_per_active_vcpu_matches_xen_accounting(weights, xen):
    """Xen's csched_acct: weight summed per active vCPU.  Equal weights: 6 vCPUs share 4 pCPUs equally,
    a gets 4 x 4/6 = 2.67 and b 1.33 pCPUs; weights 256:512 give 256 x 4 : 512 x 2, i.e. 2.0 and 2.0.

    The prediction must be within 1 % of Xen's accounting and inside the simulated interval (5 x 20 s;
    the interval's relative half-width is about 0.05 %, so a 1 % error fails).
    """
    sc = _unequal_vcpus(weights)
    pred = vm.predict(sc)
    res = vm.simulate(sc, horizon=20, replications=5, seed=11, warmup=0.1)
    for name, pcpus in xen.items():
        predicted = pred.value("utilization", name) * 4
        assert predicted == pytest.approx(pcpus, rel=0.01)
        lo, hi = res.ci("utilization", name)
        slack = 4 * MS / (0.9 * 20) / 4  # one job at each edge of the window
        assert lo - slack <= pred.value("utilization", name) <= hi + slack, (name, predicted, (4 * lo, 4 * hi))
        assert (hi - lo) / 2 < 0.002 * pred.value("utilization", name) + slack


def _latency_scenario():
    # one pCPU: a latency-sensitive VM (1 ms jobs, 200/s, load 0.2) beside a CPU hog (offered load 2)
    return vm.Scenario(1, [vm.VM("lat", Exponential(200.0), Deterministic(0.001), vcpus=1),
                           vm.VM("hog", Exponential(400.0), Exponential(1 / MS), vcpus=1)],
                       policy=P.Credit(), allow_overload=True)


def boost_model_response(arrival_rate=200.0, job=0.001, ratelimit=0.001):
    """Mean response of the latency VM if every wake-up were BOOSTed: an M/D/1 queue with setup times.

    A wake-up preempts the hog at once unless the hog has run less than the rate limit R since it was
    put on the pCPU -- that is, since the latency vCPU last blocked, an idle period A ~ Exp(lambda) ago
    (memoryless): setup D = max(0, R - A).  M/G/1 with setup times (Takagi, Queueing Analysis vol. 1,
    1991, §2.3; Harchol-Balter 2013, ch. 27): E[T] = E[S] + lambda E[S^2] / (2 (1 - rho))
    + (2 E[D] + lambda E[D^2]) / (2 (1 + lambda E[D])).
    """
    lam, s, r = arrival_rate, job, ratelimit
    e = np.exp(-lam * r)
    mean_d = r - (1 - e) / lam                                   # E[max(0, R - A)]
    mean_d2 = r * r - 2 * r / lam + 2 * (1 - e) / lam ** 2       # E[max(0, R - A)^2]
    rho = lam * s
    return s + lam * s * s / (2 * (1 - rho)) + (2 * mean_d + lam * mean_d2) / (2 * (1 + lam * mean_d))


def test_boost_keeps_a_latency_vm_fast_beside_a_hog():
    """The latency VM's vCPU wakes BOOSTed and preempts the hog (after at most the 1 ms rate limit): its
    mean response stays under 2 ms (it was 14.6 ms to 3.8 s when every job end requeued the vCPU).

    The always-BOOST model (M/D/1 with rate-limit setup) gives 1.22 ms; the simulation lies between it
    and 2 ms: under Xen's rules the latency vCPU leaves the active list when its credit passes one slice,
    and when a tick reactivates it after its credit fell below minus its fair share it is OVER for one
    accounting period, in which wake-ups are not BOOSTed and wait for the hog's 30 ms slice.
    Measured (4 x 60 s): 1.91, 1.81, 1.86 ms for seeds 1, 2, 3.
    """
    sc = _latency_scenario()
    res = vm.simulate(sc, horizon=60, replications=4, seed=1, warmup=0.1)
    mean = res.mean("mean_response", "lat")
    assert boost_model_response() == pytest.approx(1.2232e-3, rel=1e-3)
    assert boost_model_response() < mean < 2e-3
    assert res.mean("mean_number", "lat") < 1.0  # no growing backlog
    assert res.mean("utilization", "lat") == pytest.approx(0.2, rel=0.02)


def test_always_boosted_latency_vm_matches_the_setup_model():
    """Stated model, inside the interval: with Xen's active-list removal switched off (a vCPU whose credit
    passes one slice then stays active, so the latency VM never goes OVER), every wake-up is BOOSTed and
    the latency VM is an M/D/1 queue with the rate-limit setup (``boost_model_response``, 1.223 ms).
    8 replications of 40 s (about 7,000 jobs each): 1.2204 ms +- 0.42 %, so a 2 % error fails.
    This checks BOOST on wake, the preemption tickle and the 1 ms rate limit against a closed form, and
    pins the excess of ``test_boost_keeps_a_latency_vm_fast_beside_a_hog`` on the active-list rule."""
    means = []
    for r in range(8):
        hv = Hypervisor(_latency_scenario(), seed=21, replication=r)
        hv.scheduler._acct_stop = lambda u: None
        hv.run_until(40.0)
        rec = hv.records()
        order = rec.order
        keep = order[(rec.vm[order] == 0) & (rec.arrival[order] > 4.0)]
        means.append(np.mean(rec.depart[keep] - rec.arrival[keep]))
    mean = np.mean(means)
    half = 2.365 * np.std(means, ddof=1) / np.sqrt(len(means))  # Student t, 7 degrees of freedom
    assert half < 0.015 * mean
    assert mean - half <= boost_model_response() <= mean + half


@pytest.mark.slow
def test_boost_latency_is_stable_across_seeds(scaled):
    # seeds 2, 3, 4 (fewer at VIRTMODEL_SLOW_SCALE < 1), each 4 x 60 s
    for seed in range(2, 2 + scaled(3, minimum=1)):
        res = vm.simulate(_latency_scenario(), horizon=60, replications=4, seed=seed, warmup=0.1)
        assert boost_model_response() < res.mean("mean_response", "lat") < 2e-3, seed


def test_vcpus_not_jobs_are_scheduled():
    """Job ends inside a running vCPU are invisible to Xen: two saturated VMs with 1 ms jobs on one pCPU
    switch at most once per 30 ms slice (100 in 3 s; fewer when the running vCPU is UNDER and the other
    OVER, so it keeps the pCPU), not at job ends (about 1500 switches in 3 s if every job end requeued the
    vCPU).  Measured with seeds 1-4: 69, 63, 65, 52 switches."""
    sc = vm.Scenario(1, [vm.VM("a", Exponential(2000), Exponential(1000.0), vcpus=1),
                         vm.VM("b", Exponential(2000), Exponential(1000.0), vcpus=1)],
                     policy=P.Credit(), allow_overload=True)
    hv = Hypervisor(sc, seed=3)
    hv.run_until(3.0)
    rec = hv.records()
    order = rec.order
    switches = int(np.count_nonzero(np.diff(rec.vm[order])))
    assert order.size > 2500
    assert 20 <= switches <= 110  # at most one per slice (plus a few at the start-up transient)


def test_credit_time_unit_is_explicit():
    seconds = P.Credit()
    millis = P.Credit(seconds_per_unit=1e-3)
    assert (seconds.timeslice, seconds.tick, seconds.ratelimit) == pytest.approx((0.030, 0.010, 0.001))
    assert (millis.timeslice, millis.tick, millis.ratelimit) == pytest.approx((30.0, 10.0, 1.0))
    assert P.Credit(timeslice=5.0, seconds_per_unit=1e-3).tick == pytest.approx(5.0 / 3)


def test_vcpus_none_means_one_per_pcpu_in_validation_and_scheduler():
    # 2 pCPUs, VM without vcpus: 2 vCPUs both for the cap rule and for the simulator
    def two(cap):
        return vm.Scenario(2, [vm.VM("a", Exponential(100), Exponential(1 / MS))], policy=P.Credit(caps={"a": cap}))

    two(200)  # accepted: 2 vCPUs
    with pytest.raises(InvalidParameter, match="caps"):
        two(201)
    hv = Hypervisor(two(150), seed=1)
    assert len(hv.scheduler.vm_of) == 2


def test_credit_exact_only_without_saturation():
    light = vm.Scenario(2, [vm.VM("a", Exponential(60), Exponential(1 / MS), vcpus=1),
                            vm.VM("b", Exponential(100), Exponential(1 / MS))], policy=P.Credit({"a": 512}))
    assert vm.predict(light).exact
    assert not vm.predict(_unequal_vcpus({})).exact


def test_credit_accounting_invariants():
    """After every csched_acct: active balances within Xen's bounds [-T, T] (floor, halving), the weight
    total equal to the weight summed over active vCPUs, OVER exactly for negative active balances; and no
    parked vCPU ever runs (checked at every tick)."""
    sc = scenario(P.Credit({"v0": 100, "v1": 300}, caps={"v1": 120}), [400, 400, 40], pcpus=2, vcpus=[2, 2, 1])
    hv = Hypervisor(sc, seed=5)
    s = hv.scheduler
    T = sc.policy.timeslice
    seen = {"acct": 0, "ticks": 0, "parked": 0}
    account, ticks = s._account, s._ticks

    def checked_account():
        account()
        seen["acct"] += 1
        active = [u for u in range(len(s.vm_of)) if s.active[u]]
        assert s.weight_total == pytest.approx(sum(s.weight[s.vm_of[u]] for u in active), abs=1e-9)
        for u in active:
            assert -T - 1e-12 <= s.credit[u] <= T + 1e-12
            assert (s.pri[u] == -2) == (s.credit[u] < 0)
        seen["parked"] += sum(s.parked)

    def checked_ticks(now):
        ticks(now)
        seen["ticks"] += 1
        assert not any(u is not None and s.parked[u] for u in s.curr)

    s._account, s._ticks = checked_account, checked_ticks
    hv.run_until(3.0)
    assert seen["acct"] >= 99 and seen["ticks"] >= 299  # every 30 ms and 10 ms (the last may fall at 3 s)
    assert seen["parked"] > 0  # the cap (1.2 pCPUs, below v1's share of 1.35) parks v1's vCPUs at times


def test_hypervisor_battery_has_the_credit1_cases():
    from virtmodel.analytic.credit import BoostLatency
    from virtmodel.experiments.battery_hypervisor import hypervisor_checks

    credit = [c for c in hypervisor_checks() if c.label.startswith("credit1")]
    assert len(credit) == 3
    equal, weighted, boost = credit
    assert 4 * vm.predict(equal.scenario).value("utilization", "a") == pytest.approx(8 / 3)
    assert 4 * vm.predict(weighted.scenario).value("utilization", "b") == pytest.approx(2.0)
    assert isinstance(boost.scenario, BoostLatency)


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
