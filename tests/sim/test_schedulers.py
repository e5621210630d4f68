"""Every scheduling policy, simulated against its closed form; the conservation law across policies.

Each policy runs on two VMs sharing one pCPU (compiled engine).  Every exact row of the prediction
except the percentiles (checked family-wise in tests/sim/test_percentiles.py) must lie inside its
family-wise interval: level ``1 - 0.05 / rows`` (Bonferroni over the rows of the test), with no
extra miss allowed.

Power (issue 18): exponential service, 350,000 customers x 8 replications: the family-wise relative
half-widths of the mean delays (mean_wait, mean_response, work_weighted_wait) are at most 1.8 % (FCFS
and non-preemptive priority mean waits; about 1 % for the size-based policies, PS and RR), asserted
<= 2 % below, so a 2 % error in any of them lies outside its interval.  High-variance service (H2,
scv 4): 300,000 customers x 30 replications (30 replications make the family-wise t factor 3.2
instead of 4.0 with 8), at most 1.53 % (SJF, priority and delay-dependent: the low-priority VM's wait
and the work-weighted wait; SRPT, PSJF 0.5 %, PS 0.7 %), asserted <= 2 %; under ``-m slow``
1,500,000 x 30, at most 0.78 %, asserted <= 1 %.  Kleinrock's conservation law (H2, load 0.8):
500,000 x 30 per policy, family-wise over the four policies, 1.58 %, asserted <= 2 %.
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
    """Family-wise comparison of every exact non-percentile row; (misses, largest relative half-width
    of a mean delay)."""
    pred = vm.predict(sc)
    assert pred.exact
    res = vm.simulate(sc, customers=customers, replications=replications, seed=seed)
    assert res.engine == "compiled"
    rows = [r for r in pred.values.itertuples() if not r.metric.startswith("p")]
    level = 1 - 0.05 / len(rows)
    misses, widest = [], 0.0
    for row in rows:
        low, high = res.ci(row.metric, row.group, level=level)
        if not low <= row.value <= high:
            misses.append((row.metric, row.group, row.value, res.mean(row.metric, row.group), low, high))
        if row.metric in ("mean_wait", "mean_response", "work_weighted_wait") and row.value > 0:
            widest = max(widest, (high - low) / 2 / row.value)
    return misses, widest


@pytest.mark.parametrize("name", list(POLICIES))
def test_exact_prediction_inside_interval_exponential(name):
    misses, widest = check_exact_rows(two_vms(POLICIES[name]), 350_000, 8, SEED)
    assert not misses, misses
    assert widest <= 0.02, f"family-wise relative half-width {widest:.4f}: a 2 % error could pass"


HIGH_VARIANCE = ["SJF", "SRPT", "PSJF", "priority", "preemptive priority", "PS", "delay-dependent"]


@pytest.mark.parametrize("name", HIGH_VARIANCE)
def test_exact_prediction_inside_interval_high_variance(name):
    misses, widest = check_exact_rows(two_vms(POLICIES[name], service=H2), 300_000, 30, SEED + 1)
    assert not misses, misses
    assert widest <= 0.02, f"family-wise relative half-width {widest:.4f}: a 2 % error could pass"


@pytest.mark.slow
@pytest.mark.parametrize("name", HIGH_VARIANCE)
def test_exact_prediction_inside_interval_high_variance_long(name, slow_scale):
    misses, widest = check_exact_rows(two_vms(POLICIES[name], service=H2), round(1_500_000 * slow_scale), 30,
                                      SEED + 3)
    assert not misses, misses
    if slow_scale >= 1:
        assert widest <= 0.01, f"family-wise relative half-width {widest:.4f}: a 1 % error could pass"


def test_conservation_law_across_non_preemptive_policies():
    """Kleinrock: E[S W] / E[S] = W0 / (1 - rho) for every non-preemptive work-conserving order.

    The same random numbers drive every policy, and the law's value lies in each policy's interval,
    family-wise over the four policies (level 1 - 0.05 / 4).  Power: H2 service at load 0.8,
    500,000 customers x 30 replications: relative half-width 1.58 % for each policy, asserted <= 2 %."""
    lam = 0.8 / 2
    law = conservation_sum([lam, lam], [H2, H2]) / 0.8
    names = ["FCFS", "SJF", "priority", "delay-dependent"]
    means = []
    for name in names:
        res = vm.simulate(two_vms(POLICIES[name], load=0.8, service=H2), customers=500_000, replications=30,
                          seed=SEED + 2)
        low, high = res.ci("work_weighted_wait", level=1 - 0.05 / len(names))
        assert low <= law <= high, (name, law, low, high)
        assert (high - low) / 2 / law <= 0.02, (name, (high - low) / 2 / law)
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
