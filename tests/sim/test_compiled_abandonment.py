"""Patience (abandonment, Erlang A) on the compiled engine (virtmodel.sim.compiled.abandonment and the
``deadline`` step of kernels.run_whole) against the simpy model, job for job.

For one seed both engines must admit the same jobs, start and finish each served job at the same
instants (1e-9 absolute), let them leave in the same order, mark the same jobs abandoned with the
same departure (their deadline) and stop at the same time.  The grid is every non-preemptive
policy that runs jobs whole (FCFS, SJF, non-preemptive priority, delay-dependent priority) x {1, 3
pCPUs} x {exponential, H2 with scv 4, deterministic service}: three VMs at offered load 0.95, two
with patience (exponential mean 2; lognormal mean 2 scv 1) and one without, 1,500 served jobs each
(some 10-40 % of the arrivals abandon).  A finite capacity with patience is refused by both
engines (the simpy model does not simulate it), so the capacity axis is a refusal here.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import virtmodel as vm
from virtmodel.dists import Deterministic, Exponential, HyperExponential, LogNormal, Sequential
from virtmodel.errors import InvalidParameter
from virtmodel.sim.compiled import CompiledEngine, supports, unsupported_reason
from virtmodel.sim.vmm import Hypervisor

pytestmark = pytest.mark.filterwarnings("ignore::virtmodel.errors.VirtmodelWarning")  # short runs, on purpose

P = vm.policies
SERVICES = {
    "exponential": Exponential(1.0),
    "h2_scv4": HyperExponential.balanced(1.0, 4.0),
    "deterministic": Deterministic(1.0),
}
POLICIES = {
    "fcfs": P.FCFS(),
    "sjf": P.SJF(),
    "priority": P.Priority(),
    "delay_dependent": P.DelayDependentPriority(offset={"a": 0.0, "b": 1.0, "c": 0.5},
                                                slope={"a": 2.0, "b": 1.0, "c": 0.5}),
}
DEPARTURES = 1_500


def scenario(policy, pcpus, service, load=0.95, **kw):
    vms = [vm.VM("a", Exponential(0.4 * load * pcpus), service, priority=1, patience=Exponential(0.5)),
           vm.VM("b", Exponential(0.5 * load * pcpus), service, priority=0, patience=LogNormal(mean=2.0, scv=1.0)),
           vm.VM("c", Exponential(0.1 * load * pcpus), service, priority=2)]
    return vm.Scenario(pcpus, vms, policy=policy, **kw)


def both(sc, seed, replication=1, departures=None, horizon=None):
    out = []
    for model in (Hypervisor(sc, seed, replication), CompiledEngine(sc, seed, replication)):
        if departures is not None:
            model.run_until_departures(departures)
        else:
            model.run_until(horizon)
        out.append(model.records())
    return out


def assert_same_records(a, b):
    """The same jobs, order, start and departure instants (1e-9), the same abandoned jobs and stop time."""
    assert a.arrival.size == b.arrival.size, "different number of arrivals"
    np.testing.assert_array_equal(a.arrival, b.arrival)
    np.testing.assert_array_equal(a.vm, b.vm)
    np.testing.assert_array_equal(a.size, b.size)
    np.testing.assert_array_equal(a.blocked, b.blocked)
    np.testing.assert_array_equal(a.order, b.order)
    np.testing.assert_array_equal(a.abandoned, b.abandoned)
    np.testing.assert_allclose(b.start, a.start, rtol=0, atol=1e-9)  # NaN where not started, in both
    np.testing.assert_allclose(b.depart, a.depart, rtol=0, atol=1e-9)  # abandoned: the deadline
    assert abs(a.now - b.now) <= 1e-9
    assert a.occupied is None and b.occupied is None


@pytest.mark.parametrize("service", list(SERVICES))
@pytest.mark.parametrize("pcpus", [1, 3])
@pytest.mark.parametrize("policy", list(POLICIES))
def test_job_for_job_equal_to_simpy(policy, pcpus, service):
    sc = scenario(POLICIES[policy], pcpus, SERVICES[service])
    assert supports(sc), unsupported_reason(sc)
    simpy_rec, compiled_rec = both(sc, seed=11, departures=DEPARTURES)
    assert simpy_rec.order.size == DEPARTURES
    assert simpy_rec.abandoned.sum() > 100  # abandonment is exercised
    assert not simpy_rec.abandoned[simpy_rec.vm == 2].any()  # the VM without patience never abandons
    assert_same_records(simpy_rec, compiled_rec)


@pytest.mark.parametrize("pcpus", [1, 3])
def test_vcpu_limits_equal_to_simpy(pcpus):
    """FCFS with vCPU limits: an abandoning job hands back the vCPU the scheduler counted for it."""
    vms = [vm.VM("a", Exponential(0.4 * pcpus), Exponential(1.0), vcpus=1, patience=Exponential(0.5)),
           vm.VM("b", Exponential(0.4 * pcpus), HyperExponential.balanced(1.0, 4.0), vcpus=2,
                 patience=Deterministic(1.5)),
           vm.VM("c", Exponential(0.1), Exponential(1.0))]
    sc = vm.Scenario(pcpus, vms)
    assert supports(sc)
    simpy_rec, compiled_rec = both(sc, seed=2, departures=DEPARTURES)
    assert simpy_rec.abandoned.sum() > 100
    assert_same_records(simpy_rec, compiled_rec)


@pytest.mark.parametrize("policy", ["fcfs", "delay_dependent"])
@pytest.mark.parametrize("pcpus", [1, 3])
def test_horizon_stop_equal_to_simpy(policy, pcpus):
    """``run_until(T)``: jobs still waiting at T whose deadline has passed count as abandoned (leaving at
    their deadline), those whose deadline is after T do not."""
    sc = scenario(POLICIES[policy], pcpus, SERVICES["h2_scv4"], load=1.3, allow_overload=True)
    still_waiting = 0
    for horizon in np.linspace(1_000.0, 1_100.0, 6) / pcpus:
        simpy_rec, compiled_rec = both(sc, seed=5, horizon=horizon)
        still_waiting += (np.isnan(simpy_rec.start) & ~simpy_rec.abandoned).sum()
        assert_same_records(simpy_rec, compiled_rec)
    assert still_waiting > 0  # some stops find jobs waiting whose patience has not run out


def test_erlang_a_simulate_identical_rows():
    """The validation battery's Erlang-A check (M/M/2+M, load 1.2): ``engine="auto"`` picks the kernel,
    and every row (abandonment probability, waits of the served and of the abandoned, throughput...)
    is the simpy model's; asking twice (pilot, then the run) gives the simpy tables."""
    sc = vm.Scenario(2, [vm.VM("vm", Exponential(2.4), Exponential(1.0), patience=Exponential(0.5))])
    kw = dict(customers=4_000, replications=2, seed=7)
    simpy_res, auto_res = vm.simulate(sc, engine="simpy", **kw), vm.simulate(sc, **kw)
    assert (simpy_res.engine, auto_res.engine) == ("simpy", "compiled")
    assert simpy_res.equals(auto_res)
    assert simpy_res.mean("abandonment_probability") > 0.1
    a, b = Hypervisor(sc, 3, 0), CompiledEngine(sc, 3, 0)
    for count in (500, 20_000):  # the second stop needs more arrivals (and patience draws) than first drawn
        a.run_until_departures(count)
        b.run_until_departures(count)
        assert_same_records(a.records(), b.records())


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["fcfs", "priority"])
def test_long_runs_equal_to_simpy(policy, scaled):
    """100,000 served jobs (x VIRTMODEL_SLOW_SCALE) on 3 pCPUs at offered load 1.2, H2 service."""
    sc = scenario(POLICIES[policy], 3, SERVICES["h2_scv4"], load=1.2, allow_overload=True)
    simpy_rec, compiled_rec = both(sc, seed=21, departures=scaled(100_000, 10_000))
    assert simpy_rec.abandoned.sum() > 1_000
    assert_same_records(simpy_rec, compiled_rec)


@pytest.mark.parametrize("case", ["preemptive", "processor_sharing", "round_robin", "capacity", "trace", "polling"])
def test_unsupported_patience_is_refused_with_the_reason(case):
    exp, patience = Exponential(1.0), Exponential(1.0)
    one = [vm.VM("a", Exponential(0.8), exp, patience=patience)]
    if case == "preemptive":
        sc, word = vm.Scenario(1, one, policy=P.Priority(preemptive=True)), "kernel family 'preemptive'"
    elif case == "processor_sharing":
        sc, word = vm.Scenario(1, one, policy=P.ProcessorSharing()), "ProcessorSharing"
    elif case == "round_robin":
        sc, word = vm.Scenario(1, one, policy=P.RoundRobin(quantum=0.1)), "RoundRobin"
    elif case == "capacity":
        sc, word = vm.Scenario(2, one, capacity=5), "capacity=5"
    elif case == "polling":
        sc, word = vm.Scenario(1, one, policy=P.Polling(switchover=Exponential(20.0))), "Polling"
    else:
        traced = vm.VM("a", Exponential(0.8), exp, patience=Sequential([1.0, 2.0], cycle=True))
        sc, word = vm.Scenario(1, [traced]), "patience distribution Sequential"
    assert not supports(sc)
    assert "patience" in unsupported_reason(sc) and word in unsupported_reason(sc)
    with pytest.raises(InvalidParameter, match="engine='compiled' cannot simulate.*patience"):
        vm.simulate(sc, customers=100, replications=2, seed=1, engine="compiled")


def test_records_false_is_refused_with_the_reason():
    sc = scenario(P.FCFS(), 1, SERVICES["exponential"])
    with pytest.raises(InvalidParameter, match="records=False cannot simulate.*patience.*records=True"):
        vm.simulate(sc, customers=1_000, records=False)


# --------------------------------------------------------------------------- random scenarios
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=st.sampled_from(sorted(POLICIES)), pcpus=st.integers(1, 4), vms=st.integers(1, 3),
       load=st.floats(0.3, 1.6), patience_mean=st.floats(0.2, 5.0), vcpus=st.booleans(),
       service=st.sampled_from(sorted(SERVICES)), seed=st.integers(0, 2**32 - 1))
def test_random_scenarios_equal_to_simpy(policy, pcpus, vms, load, patience_mean, vcpus, service, seed):
    """Any mix of VMs (rates, classes, H2 interarrivals, patience laws, vCPU limits under FCFS), pCPUs,
    loads above 1 (patience keeps the queue stable) and seed."""
    share = np.arange(1, vms + 1) / np.arange(1, vms + 1).sum()
    rates = load * pcpus * share
    interarrival = [Exponential(r) if i % 2 == 0 else HyperExponential.balanced(1 / r, 2.0)
                    for i, r in enumerate(rates)]
    laws = [Exponential(1 / patience_mean), LogNormal(mean=patience_mean, scv=2.0), Deterministic(patience_mean)]
    limit = vcpus and policy == "fcfs"
    sc = vm.Scenario(pcpus, [vm.VM(f"v{i}", interarrival[i], SERVICES[service], priority=i % 2, patience=laws[i],
                                   vcpus=(i % pcpus) + 1 if limit else None) for i in range(vms)],
                     policy=POLICIES[policy] if policy != "delay_dependent" else P.DelayDependentPriority())
    assert supports(sc), unsupported_reason(sc)
    assert_same_records(*both(sc, seed=seed, departures=400))
