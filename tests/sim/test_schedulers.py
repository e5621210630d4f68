"""Every scheduling policy, simulated against its closed form; the conservation law across policies.

Each policy runs on two VMs sharing one pCPU.  An exact prediction must lie
inside the simulated interval; a scenario reports a dozen rows, so the check
is family-wise (Bonferroni over the rows of the test), while the share of rows
outside their plain 95 % intervals is reported and bounded loosely.
"""

import numpy as np
import pytest

import virtmodel as vm
from virtmodel.analytic import conservation_sum
from virtmodel.dists import Exponential, HyperExponential

P = vm.policies
SEED = 4242
EXP = Exponential(1.0)
H2 = HyperExponential.balanced(1.0, 4.0)  # mean 1, scv 4

POLICIES = {
    "FCFS": P.FCFS(), "SJF": P.SJF(), "SRPT": P.SRPT(), "PSJF": P.PSJF(), "priority": P.Priority(),
    "preemptive priority": P.Priority(preemptive=True), "PS": P.ProcessorSharing(),
    "RR exp": P.RoundRobin(0.2), "RR exp switch": P.RoundRobin(0.2, switch_cost=0.01),
    "delay-dependent": P.DelayDependentPriority(slope={"a": 3.0, "b": 1.0}),
}


def two_vms(policy, load=0.6, service=EXP):
    lam = load / service.mean / 2
    return vm.Scenario(1, [vm.VM("a", Exponential(lam), service, priority=0),
                           vm.VM("b", Exponential(lam), service, priority=1)], policy=policy)


def check_exact_rows(sc, customers, replications, seed):
    pred = vm.predict(sc)
    assert pred.exact
    res = vm.simulate(sc, customers=customers, replications=replications, seed=seed)
    rows = list(pred.values.itertuples())
    level = 1 - 0.05 / len(rows)
    misses, outside95 = [], 0
    for row in rows:
        low, high = res.ci(row.metric, row.group, level=level)
        if not low <= row.value <= high:
            misses.append((row.metric, row.group, row.value, res.mean(row.metric, row.group), low, high))
        low95, high95 = res.ci(row.metric, row.group)
        outside95 += not low95 <= row.value <= high95
    return misses, outside95, len(rows)


@pytest.mark.parametrize("name", list(POLICIES))
def test_exact_prediction_inside_interval_exponential(name):
    misses, outside, n = check_exact_rows(two_vms(POLICIES[name]), 20_000, 8, SEED)
    assert not misses, misses
    assert outside <= max(2, n // 4)


@pytest.mark.parametrize("name", ["SJF", "SRPT", "PSJF", "priority", "preemptive priority", "PS",
                                  "delay-dependent"])
def test_exact_prediction_inside_interval_high_variance(name):
    misses, outside, n = check_exact_rows(two_vms(POLICIES[name], service=H2), 40_000, 8, SEED + 1)
    assert not misses, misses
    assert outside <= max(2, n // 4)


def test_conservation_law_across_non_preemptive_policies():
    """Kleinrock: E[S W] / E[S] = W0 / (1 - rho) for every non-preemptive work-conserving order.

    The same random numbers drive every policy, and the law's value lies in each interval."""
    lam = 0.8 / 2
    law = conservation_sum([lam, lam], [H2, H2]) / 0.8
    means = []
    for name in ["FCFS", "SJF", "priority", "delay-dependent"]:
        res = vm.simulate(two_vms(POLICIES[name], load=0.8, service=H2), customers=30_000, replications=8,
                          seed=SEED + 2)
        low, high = res.ci("work_weighted_wait")
        assert low <= law <= high, (name, law, low, high)
        means.append(res.mean("work_weighted_wait"))
    # the unfinished work does not depend on the order: on common random numbers the policies nearly coincide
    assert np.ptp(means) < 0.05 * law
    # while the per-VM mean waits differ a lot between them
    assert vm.simulate(two_vms(P.SJF(), 0.8, H2), customers=5000, replications=2, seed=1).mean("mean_wait") < (
        vm.simulate(two_vms(P.FCFS(), 0.8, H2), customers=5000, replications=2, seed=1).mean("mean_wait"))


def test_priority_orders_delay_and_ps_is_insensitive():
    """Monotone facts: the high-priority VM waits less; PS mean response ignores the service law."""
    res = vm.simulate(two_vms(P.Priority(), 0.8), customers=20_000, replications=5, seed=SEED + 3)
    assert res.ci("mean_wait", "a")[1] < res.ci("mean_wait", "b")[0]
    ps_exp = vm.predict(two_vms(P.ProcessorSharing(), 0.7, EXP)).value("mean_response")
    ps_h2 = vm.predict(two_vms(P.ProcessorSharing(), 0.7, H2)).value("mean_response")
    assert ps_exp == pytest.approx(ps_h2, rel=1e-12)
