"""Patience (abandonment) in the simpy model: Erlang-A inside its intervals, exactness, bad input."""

import numpy as np
import pytest

import virtmodel as vm
from virtmodel.analytic import MMcM
from virtmodel.dists import Deterministic, Exponential, LogNormal
from virtmodel.errors import InvalidParameter
from virtmodel.sim.vmm import Hypervisor

METRICS = ("abandonment_probability", "mean_wait", "mean_wait_served", "mean_wait_abandoned", "throughput")


def _erlang_a(lam, c=2, theta=0.5, policy=None):
    return vm.Scenario(c, [vm.VM("calls", Exponential(lam), Exponential(1.0), patience=Exponential(theta))],
                       policy=policy or vm.policies.FCFS())


@pytest.mark.slow
def test_erlang_a_inside_intervals_at_three_loads(slow_scale):
    """M/M/2+M (mu = 1, theta = 0.5) at loads rho = 0.8, 1.0, 1.4 (P(Ab) = 0.16, 0.23, 0.36).

    20 replications x 78,000 / 50,000 / 40,000 customers at VIRTMODEL_SLOW_SCALE = 1 (times the
    scale below it, at least half of them; lighter loads abandon less, so need more; about 2.4 s
    of CPU on the compiled engine, which takes the simpy model's sample paths).  Five metrics at three loads are
    15 checks, so each interval is Bonferroni's 1 - 0.05/15 (the family passes with probability
    >= 95 % when the model is right).  Power (issue 18: the slow suite detects 1 %): every such
    interval's half-width is asserted below 1 % of the exact value at scale 1 (measured: at most
    0.80 %, 0.90 %, 0.71 % at the three loads, the mean waits of served calls the widest; 10 x
    80,000 / 50,000 / 40,000 gave up to 1.41 %), below 1 % / sqrt(scale) in the reduced runs (at
    most 1.66 % at scale 0.25, where the half-size floor binds).
    """
    level = 1 - 0.05 / (3 * len(METRICS))
    bound = 0.01 / np.sqrt(min(slow_scale, 1.0))
    for seed, (lam, customers) in enumerate(((1.6, 78_000), (2.0, 50_000), (2.8, 40_000))):
        sc = _erlang_a(lam)
        res = vm.simulate(sc, customers=max(round(customers * slow_scale), customers // 2), replications=20,
                          seed=100 + seed)
        exact = MMcM(lam, 1.0, 2, 0.5)
        for metric in METRICS:
            truth = float(getattr(exact, metric))
            low, high = res.ci(metric, level=level)
            assert low <= truth <= high, (lam, metric, truth, low, high)
            assert (high - low) / 2 < bound * truth, (lam, metric, (high - low) / 2 / truth)
        assert res.littles_law_gap < 0.01


def test_erlang_a_quick_check_and_identities():
    """One load (rho = 1.2): every predicted metric inside its family-wise interval (Bonferroni over
    the 9 metrics, no miss allowed), and the sample-path identities of a run with abandonment.

    Power (issue 18): 25,000 customers x 20 replications (compiled engine, the simpy model's sample
    paths, about 3 s): relative half-widths of the mean delays 0.6-1.6 % (mean_wait 1.3 %,
    mean_wait_served 1.6 %), asserted <= 2 %; the slow test above checks three loads."""
    sc = _erlang_a(2.4)
    res = vm.simulate(sc, customers=25_000, replications=20, seed=7)
    pred = vm.predict(sc)
    metrics = sorted(set(pred.values["metric"]))
    assert pred.exact and len(metrics) == 9
    for metric in metrics:
        truth = pred.value(metric)
        low, high = res.ci(metric, level=1 - 0.05 / len(metrics))
        assert low <= truth <= high, metric
        if metric.startswith(("mean_wait", "mean_response")):
            assert (high - low) / 2 <= 0.02 * truth, (metric, (high - low) / 2 / truth)
    # P(Ab) = theta E[W] holds for exponential patience; the estimates agree to sampling error
    assert res.mean("abandonment_probability") == pytest.approx(0.5 * res.mean("mean_wait"), rel=0.03)
    assert res.littles_law_gap < 0.02


def test_patience_that_never_runs_out_changes_nothing():
    """Patience draws have a stream of their own: a patience nobody reaches leaves every job as before."""
    base = vm.Scenario(2, [vm.VM("a", Exponential(1.5), Exponential(1.0))])
    patient = vm.Scenario(2, [vm.VM("a", Exponential(1.5), Exponential(1.0), patience=Deterministic(1e12))])
    recs = []
    for sc in (base, patient):
        hv = Hypervisor(sc, seed=4)
        hv.run_until_departures(5000)
        recs.append(hv.records())
    a, b = recs
    for field in ("arrival", "size", "start", "depart", "order"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
    assert not b.abandoned.any()


def test_abandoned_jobs_leave_at_their_deadline_unserved():
    sc = vm.Scenario(1, [vm.VM("a", Exponential(2.0), Exponential(1.0), patience=LogNormal(mean=1.0, scv=1.0))])
    hv = Hypervisor(sc, seed=2)
    hv.run_until_departures(3000)
    rec = hv.records()
    gone = rec.abandoned
    assert gone.any() and not np.isin(np.flatnonzero(gone), rec.order).any()
    assert np.all(np.isnan(rec.start[gone]))
    served = rec.order
    assert np.all(rec.depart[served] - rec.start[served] == pytest.approx(rec.size[served]))
    # one server, FCFS among those who stayed: service starts in arrival order, never overlapping
    starts = rec.start[served]
    assert np.all(np.diff(starts) > 0) and np.all(starts[1:] >= rec.depart[served][:-1])


def test_other_non_preemptive_policies_simulate_abandonment():
    res = vm.simulate(_erlang_a(2.4, policy=vm.policies.SJF()), customers=3000, replications=2, seed=1)
    assert 0 < res.mean("abandonment_probability") < 1


@pytest.mark.parametrize("policy", [vm.policies.ProcessorSharing(), vm.policies.RoundRobin(quantum=0.1),
                                    vm.policies.SRPT()], ids=lambda p: type(p).__name__)
def test_unsupported_policies_refuse_patience(policy):
    with pytest.raises(InvalidParameter, match="patience .* not implemented for policy"):
        vm.simulate(_erlang_a(1.0, policy=policy), customers=100, replications=2, seed=1)


def test_patience_refused_with_capacity_and_fast_engine():
    sc = vm.Scenario(2, [vm.VM("a", Exponential(1.0), Exponential(1.0), patience=Exponential(1.0))], capacity=5)
    with pytest.raises(InvalidParameter, match="capacity=5"):
        vm.simulate(sc, customers=100, replications=2, seed=1)
    with pytest.raises(InvalidParameter, match="engine='fast' needs"):
        vm.simulate(_erlang_a(1.0, c=1), customers=100, replications=2, seed=1, engine="fast")


def test_patience_must_be_a_distribution():
    with pytest.raises(InvalidParameter, match="patience must be a virtmodel.dists Distribution"):
        vm.VM("a", Exponential(1.0), Exponential(1.0), patience=5.0)


def test_eager_and_lazy_arrivals_give_the_same_jobs():
    """Patience is drawn at admission in both arrival modes: the same seed gives the same jobs."""
    sc = _erlang_a(1.5)
    recs = []
    for lazy in (True, False):
        hv = Hypervisor(sc, seed=3, lazy_arrivals=lazy)
        hv.run_until_departures(3000)
        recs.append(hv.records())
    a, b = recs
    n = min(a.arrival.size, b.arrival.size)
    for field in ("arrival", "size", "start", "depart", "abandoned"):
        np.testing.assert_array_equal(getattr(a, field)[:n], getattr(b, field)[:n], err_msg=field)
    np.testing.assert_array_equal(a.order, b.order)


def test_dedicated_vcpus_are_one_erlang_a_queue_per_vm():
    """vCPUs summing to the pCPUs: each VM is its own M/M/v+M.  Its abandonment probability and mean
    wait inside the family-wise interval (Bonferroni over the 4 rows, no miss allowed).

    Power (issue 18): 40,000 customers x 20 replications (compiled engine, the simpy model's sample
    paths, about 1.4 s): relative half-widths of the mean waits 0.7 % (a) and 1.6 % (b, the lighter
    VM), asserted <= 2 %."""
    sc = vm.Scenario(3, [vm.VM("a", Exponential(1.5), Exponential(1.0), vcpus=1, patience=Exponential(0.5)),
                         vm.VM("b", Exponential(1.0), Exponential(1.0), vcpus=2, patience=Exponential(1.0))])
    res = vm.simulate(sc, customers=40_000, replications=20, seed=5)
    level = 1 - 0.05 / 4
    for name, model in (("a", MMcM(1.5, 1.0, 1, 0.5)), ("b", MMcM(1.0, 1.0, 2, 1.0))):
        for metric in ("abandonment_probability", "mean_wait"):
            truth = float(getattr(model, metric))
            low, high = res.ci(metric, name, level=level)
            assert low <= truth <= high, (name, metric, truth, low, high)
        assert (high - low) / 2 <= 0.02 * truth, (name, (high - low) / 2 / truth)
