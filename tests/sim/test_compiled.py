"""The compiled (numba) engine against the simpy model, job for job (DESIGN.md, "Simulation methodology").

For one seed both engines must admit the same jobs (arrival instants, VMs, sizes), block the same
ones, start and finish each at the same instants (1e-9 absolute), let them leave in the same
order, stop at the same time, and charge each the same pCPU time; then ``simulate`` gives
identical SimResults.  The grid is every compiled policy x {1, 3 pCPUs} x {exponential, H2 with
scv 4, deterministic service} x {unlimited, finite capacity}, two VMs at load 0.85 (with capacity
about a tenth of the arrivals are blocked), 1,500 departures each.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import virtmodel as vm
from virtmodel.dists import Deterministic, Exponential, HyperExponential
from virtmodel.errors import InvalidParameter, VirtmodelError
from virtmodel.sim.compiled import CompiledEngine, supports, unsupported_reason
from virtmodel.sim.vmm import Hypervisor

P = vm.policies
POLICIES = {
    "fcfs": P.FCFS(),
    "sjf": P.SJF(),
    "priority": P.Priority(),
    "delay_dependent": P.DelayDependentPriority(offset={"a": 0.5}, slope={"a": 2.0, "b": 1.0}),
    "preemptive_priority": P.Priority(preemptive=True),
    "srpt": P.SRPT(),
    "psjf": P.PSJF(),
    "processor_sharing": P.ProcessorSharing(),
    "round_robin": P.RoundRobin(quantum=0.3),
    "round_robin_switch": P.RoundRobin(quantum=0.2, switch_cost=0.01),
}
SERVICES = {
    "exponential": Exponential(1.0),
    "h2_scv4": HyperExponential.balanced(1.0, 4.0),
    "deterministic": Deterministic(1.0),
}
DEPARTURES = 1_500


def scenario(policy, pcpus, service, capacity, load=0.85):
    vms = [vm.VM("a", Exponential(0.45 * load * pcpus), service, priority=1),
           vm.VM("b", Exponential(0.55 * load * pcpus), service, priority=0)]
    return vm.Scenario(pcpus, vms, policy=policy, capacity=capacity)


def assert_same_records(a, b):
    assert a.arrival.size == b.arrival.size, "different number of arrivals admitted or blocked"
    np.testing.assert_array_equal(a.arrival, b.arrival)
    np.testing.assert_array_equal(a.vm, b.vm)
    np.testing.assert_array_equal(a.size, b.size)
    np.testing.assert_array_equal(a.blocked, b.blocked)
    np.testing.assert_array_equal(a.order, b.order)
    np.testing.assert_allclose(b.start, a.start, rtol=0, atol=1e-9)  # NaN where not started, in both
    np.testing.assert_allclose(b.depart, a.depart, rtol=0, atol=1e-9)
    assert abs(a.now - b.now) <= 1e-9
    assert (a.occupied is None) == (b.occupied is None)
    if a.occupied is not None:
        np.testing.assert_allclose(b.occupied, a.occupied, rtol=0, atol=1e-9)


def both(sc, seed, replication=1, departures=None, horizon=None):
    out = []
    for model in (Hypervisor(sc, seed, replication), CompiledEngine(sc, seed, replication)):
        if departures is not None:
            model.run_until_departures(departures)
        else:
            model.run_until(horizon)
        out.append(model.records())
    return out


@pytest.mark.parametrize("capacity", [None, "finite"])
@pytest.mark.parametrize("service", list(SERVICES))
@pytest.mark.parametrize("pcpus", [1, 3])
@pytest.mark.parametrize("policy", list(POLICIES))
def test_job_for_job_equal_to_simpy(policy, pcpus, service, capacity):
    sc = scenario(POLICIES[policy], pcpus, SERVICES[service], None if capacity is None else pcpus + 3)
    assert supports(sc)
    simpy_rec, compiled_rec = both(sc, seed=11, departures=DEPARTURES)
    assert simpy_rec.order.size == DEPARTURES
    if capacity is not None:
        assert simpy_rec.blocked.sum() > 20  # the finite capacity is exercised
    assert_same_records(simpy_rec, compiled_rec)


@pytest.mark.parametrize("policy", ["fcfs", "srpt", "processor_sharing", "round_robin_switch", "delay_dependent"])
@pytest.mark.parametrize("pcpus", [1, 3])
def test_horizon_stop_equal_to_simpy(policy, pcpus):
    """``run_until(T)``: every event before T, then the arrivals up to T (jobs mid-service at T too)."""
    sc = scenario(POLICIES[policy], pcpus, SERVICES["h2_scv4"], pcpus + 2)
    assert_same_records(*both(sc, seed=5, horizon=1_000.0 / pcpus))


@pytest.mark.parametrize("capacity", [None, 6])
@pytest.mark.parametrize("pcpus", [1, 3])
def test_vcpu_limits_equal_to_simpy(pcpus, capacity):
    """FCFS with vCPU limits (two-level scheduling); one VM unlimited."""
    vms = [vm.VM("a", Exponential(0.4 * pcpus), Exponential(1.0), vcpus=1),
           vm.VM("b", Exponential(0.3 * pcpus), HyperExponential.balanced(1.0, 4.0), vcpus=2),
           vm.VM("c", Exponential(0.1), Deterministic(1.0))]
    sc = vm.Scenario(pcpus, vms, capacity=capacity)
    assert supports(sc)
    assert_same_records(*both(sc, seed=2, departures=DEPARTURES))


@pytest.mark.parametrize("vms", [3, 12])
def test_priority_many_classes_equal_to_simpy(vms):
    """Non-preemptive priority keeps per-VM lists up to PRIORITY_LIST_VMS VMs (VMs sharing a class
    then go by job order) and a heap beyond: both equal to simpy's heap of (priority, job)."""
    from virtmodel.sim.compiled.kernels import PRIORITY_LIST_VMS

    assert (vms > PRIORITY_LIST_VMS) == (vms == 12)
    sc = vm.Scenario(2, [vm.VM(f"v{i}", Exponential(1.7 / vms), HyperExponential.balanced(1.0, 4.0),
                               priority=i % 3) for i in range(vms)], policy=P.Priority())
    assert_same_records(*both(sc, seed=4, departures=DEPARTURES))


def test_single_vm_and_continuation():
    """One VM (no merge); asking twice (warm-up pilot, then the full run) gives the simpy tables."""
    sc = vm.Scenario(1, [vm.VM("a", Exponential(0.9), Exponential(1.0))])
    a, b = Hypervisor(sc, 3, 0), CompiledEngine(sc, 3, 0)
    for count in (500, 20_000):  # the second stop needs more arrivals than first drawn
        a.run_until_departures(count)
        b.run_until_departures(count)
        assert_same_records(a.records(), b.records())


@pytest.mark.parametrize("replications", [1, 3])
def test_simulate_identical_results(replications):
    sc = scenario(POLICIES["priority"], 2, SERVICES["h2_scv4"], None, load=0.7)
    kw = dict(customers=4_000, replications=replications, seed=7)
    a = vm.simulate(sc, engine="simpy", **kw)
    b = vm.simulate(sc, engine="compiled", **kw)
    c = vm.simulate(sc, engine="auto", **kw)
    assert (a.engine, b.engine, c.engine) == ("simpy", "compiled", "compiled")
    assert a.equals(b) and a.equals(c)


def test_workers_do_not_change_results():
    sc = scenario(POLICIES["srpt"], 1, SERVICES["exponential"], None, load=0.7)
    kw = dict(customers=3_000, replications=3, seed=9, engine="compiled")
    assert vm.simulate(sc, workers=1, **kw).equals(vm.simulate(sc, workers=2, **kw))


# --------------------------------------------------------------------------- the whitelist
@pytest.mark.parametrize("case", ["polling", "boot", "events", "extra_vm_field", "trace", "lattice_arrivals"])
def test_unsupported_scenarios_fall_back(case):
    exp = Exponential(1.0)
    two = [vm.VM("a", Exponential(0.3), exp), vm.VM("b", Exponential(0.3), exp)]
    if case == "polling":
        # polling is compiled (tests/sim/test_compiled_polling.py), but not a replayed switchover trace
        switch = vm.dists.Sequential([0.01, 0.02], cycle=True)
        sc, word = vm.Scenario(1, two, policy=P.Polling(switchover=switch)), "switchover law Sequential"
    elif case == "boot":
        sc, word = vm.Scenario(1, [vm.VM("a", Exponential(0.3), exp, boot=Deterministic(1.0))]), "boot"
    elif case == "events":
        sc, word = vm.Scenario(1, two, events=[vm.events.Pause("a", 5.0), vm.events.Resume("a", 8.0)]), "events"
    elif case == "extra_vm_field":
        # a VM field the kernels do not know (as a future feature would add): set -> not compiled
        @dataclasses.dataclass(frozen=True)
        class TunedVM(vm.VM):
            weight: float = 1.0

        assert supports(vm.Scenario(1, [TunedVM("a", Exponential(0.3), exp)]))  # left at its default
        sc, word = vm.Scenario(1, [TunedVM("a", Exponential(0.3), exp, weight=2.0)]), "weight"
    elif case == "lattice_arrivals":
        # deterministic arrivals make arrivals and departures coincide exactly: simpy's order of
        # simultaneous events is not replayed, so such scenarios stay on simpy
        sc, word = vm.Scenario(2, [vm.VM("a", Deterministic(1.0), Deterministic(1.0))], capacity=3), "Deterministic"
    else:
        Sequential = getattr(vm.dists, "Sequential", None)
        if Sequential is None:
            pytest.skip("dists.Sequential (trace replay) is not in this tree")
        sc, word = vm.Scenario(1, [vm.VM("a", Sequential([1.0, 2.0, 1.5] * 50), exp)]), "Sequential"
    assert not supports(sc)
    assert word in unsupported_reason(sc)
    with pytest.raises(InvalidParameter, match=f"engine='compiled' cannot simulate.*{word}.*engine='simpy'"):
        vm.simulate(sc, customers=50, replications=2, seed=1, engine="compiled")
    if case != "trace":
        res = vm.simulate(sc, customers=200, replications=2, seed=1, engine="auto")
        assert res.engine == "simpy"


def test_unknown_engine_name():
    sc = scenario(POLICIES["fcfs"], 1, SERVICES["exponential"], None)
    with pytest.raises(VirtmodelError, match="engine must be one of.*'auto'.*'compiled'.*got 'numba'"):
        vm.simulate(sc, customers=100, engine="numba")


def test_quantum_too_small_is_refused_not_a_hang():
    """A job of size 1 with a quantum of 1e-12 needs 10^12 slices: a clear error, at once."""
    sc = vm.Scenario(1, [vm.VM("a", Exponential(0.5), Deterministic(1.0))], policy=P.RoundRobin(quantum=1e-12))
    with pytest.raises(InvalidParameter, match="quantum=1e-12 is too small.*1e\\+09 slices.*ProcessorSharing"):
        vm.simulate(sc, customers=100, replications=2, seed=1, engine="compiled")
    # every job fits in 10^9 slices, but the run as a whole would take hours: refused too
    sc = vm.Scenario(1, [vm.VM("a", Exponential(0.5), Exponential(1.0))], policy=P.RoundRobin(quantum=1e-7))
    with pytest.raises(InvalidParameter, match="quantum=1e-07 is too small for this run.*slices.*larger quantum"):
        vm.simulate(sc, customers=100_000, replications=2, seed=1)


def _coverage_module():
    """tests/sim/test_coverage.py (the suite imports test files by path, not as a package)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("_coverage_checks", Path(__file__).with_name("test_coverage.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_coverage_quick_on_compiled_engine():
    """tests/sim/test_coverage.py's quick check on the compiled engine: M/M/1 at load 0.5, 40 seeded
    experiments of 5 replications x 20,000 customers; a correct procedure leaves the band [0.8, 1]
    with probability about 1e-3."""

    share = _coverage_module().coverage(40, engine="compiled")
    for metric, value in share.items():
        assert 0.8 <= value <= 1.0, (metric, value)


@pytest.mark.slow
def test_coverage_within_binomial_band_compiled(scaled):
    from virtmodel.sim.stats import binomial_band

    n = scaled(200, minimum=20)
    share = _coverage_module().coverage(n, engine="compiled")
    lo, hi = binomial_band(n)
    for metric, value in share.items():
        assert lo <= value <= hi, f"{metric}: coverage {value:.3f} outside [{lo:.3f}, {hi:.3f}] over {n}"


# --------------------------------------------------------------------------- bounded memory
@pytest.mark.parametrize("service", ["exponential", "h2_scv4"])
@pytest.mark.parametrize("batches", [20, None])
def test_streaming_equals_measure_on_records(service, batches):
    """The bounded-memory run (running sums, chunk by chunk) gives the same warm-up truncation and
    the same point estimates as measure() on the Records of the same run (1e-9 relative), and the
    same per-customer batch means; chunks of 3 blocks force many chunk boundaries."""
    from virtmodel.sim.compiled.streaming import stream_replication
    from virtmodel.sim.run import run_replication

    sc = vm.Scenario(1, [vm.VM("a", Exponential(0.8), SERVICES[service])])
    records_run = run_replication(sc, 4, 0, customers=30_003, batches=batches, engine="compiled")
    streamed = stream_replication(sc, 4, 0, 30_003, batches=batches, chunk=3 * 4096)
    assert streamed["warmup_removed"] == records_run["warmup_removed"]
    assert streamed["window"] == pytest.approx(records_run["window"], rel=1e-12)
    for key, value in streamed["measurement"].values.items():
        assert value == pytest.approx(records_run["measurement"].values[key], rel=1e-9), key
    if batches:
        for key in [("mean_response", "all"), ("mean_wait", "all")]:
            np.testing.assert_allclose(streamed["measurement"].batches[key],
                                       records_run["measurement"].batches[key], rtol=1e-9)


def test_streaming_result_and_refusals():
    from virtmodel.sim.compiled.streaming import simulate_streaming

    sc = vm.Scenario(1, [vm.VM("a", Exponential(0.5), Exponential(1.0))])
    a = simulate_streaming(sc, customers=20_000, replications=3, seed=1)
    b = simulate_streaming(sc, customers=20_000, replications=3, seed=1, chunk=4096)
    assert a.engine == "compiled" and a.method == "replications"
    pd_a, pd_b = a.summary.set_index(["metric", "group"]), b.summary.set_index(["metric", "group"])
    np.testing.assert_allclose(pd_a["mean"], pd_b["mean"], rtol=1e-12)  # chunking does not matter
    lattice = vm.Scenario(2, [vm.VM("a", Deterministic(2.0), Exponential(1.0))])
    with pytest.raises(InvalidParameter, match="simulate_streaming cannot simulate.*Deterministic"):
        simulate_streaming(lattice, customers=1_000)


@pytest.mark.parametrize("replications,warmup", [(3, "mser5"), (1, "mser5"), (2, 0.2)])
def test_simulate_without_records_equals_records(replications, warmup):
    """vm.simulate(records=False) removes the same warm-up as the per-job path (the ensemble MSER-5
    of the pilots for R >= 2, from a running sum; the run's own MSER-5 for R = 1; a fraction), keeps
    the same window and gives the same point estimates (1e-9 relative) and, with R >= 2, the same
    intervals; only the percentiles are missing.  Workers do not change it."""
    sc = vm.Scenario(1, [vm.VM("a", Exponential(0.85), HyperExponential.balanced(1.0, 4.0))])
    kw = dict(customers=12_000, replications=replications, seed=9, warmup=warmup)
    full = vm.simulate(sc, **kw)
    bounded = vm.simulate(sc, records=False, **kw)
    assert bounded.engine == "compiled" and bounded.method == full.method
    cols = ["warmup_removed", "window_start", "window_end", "departures"]
    np.testing.assert_allclose(bounded.diagnostics[cols].to_numpy(float), full.diagnostics[cols].to_numpy(float),
                               rtol=1e-12)
    if replications >= 2 and warmup == "mser5":
        assert bounded.diagnostics["warmup_removed"].iloc[0] > 0  # the ensemble truncation is exercised
    a, b = full.summary.set_index(["metric", "group"]), bounded.summary.set_index(["metric", "group"])
    missing = set(a.index) - set(b.index)
    assert missing and all(metric[:3] in ("p50", "p95", "p99") for metric, _ in missing), missing
    assert set(b.index) <= set(a.index)
    np.testing.assert_allclose(b["mean"], a.loc[b.index, "mean"], rtol=1e-9)
    if replications >= 2:
        np.testing.assert_allclose(b[["ci_low", "ci_high"]], a.loc[b.index, ["ci_low", "ci_high"]], rtol=1e-9)
    if replications >= 2:
        assert vm.simulate(sc, records=False, workers=2, **kw).summary.equals(bounded.summary)


def test_simulate_without_records_refusals():
    sc = vm.Scenario(1, [vm.VM("a", Exponential(0.5), Exponential(1.0))])
    lattice = vm.Scenario(1, [vm.VM("a", Exponential(0.3), Exponential(1.0)), vm.VM("b", Deterministic(5.0),
                                                                                    Exponential(1.0))])
    with pytest.raises(InvalidParameter, match="records=False cannot simulate.*'b'.*Deterministic.*use records=True"):
        vm.simulate(lattice, customers=1_000, records=False)
    with pytest.raises(InvalidParameter, match="records=False needs customers"):
        vm.simulate(sc, horizon=100.0, records=False)
    with pytest.raises(InvalidParameter, match="size_bins needs the per-job records"):
        vm.simulate(sc, customers=1_000, size_bins=[0, 1, 2], records=False)
    with pytest.raises(InvalidParameter, match="records=False runs on the compiled engine.*simpy"):
        vm.simulate(sc, customers=1_000, engine="simpy", records=False)
    with pytest.raises(InvalidParameter, match="records must be True or False.*'no'"):
        vm.simulate(sc, customers=1_000, records="no")


def test_mser5_from_five_means_equals_mser5():
    """The bounded-memory MSER-5 (from the stored five-means only) picks the truncation of stats.mser5."""
    from virtmodel.sim.compiled.streaming import mser5_from_means
    from virtmodel.sim.stats import mser5

    rng = np.random.default_rng(0)
    for trial in range(100):
        n = int(rng.integers(10, 3_000))
        y = rng.exponential(1.0, n) + rng.uniform(0, 20) * np.exp(-np.arange(n) / rng.uniform(1, 500))
        if trial % 10 == 0:
            y[:] = 1.0
        k = n // 5
        assert mser5_from_means(y[: 5 * k].reshape(k, 5).mean(axis=1)) == mser5(y)


# --------------------------------------------------------------------------- random scenarios
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=st.sampled_from(sorted(POLICIES)), pcpus=st.integers(1, 4), vms=st.integers(1, 3),
       load=st.floats(0.3, 0.95), capacity_extra=st.one_of(st.none(), st.integers(0, 4)),
       service=st.sampled_from(sorted(SERVICES)), seed=st.integers(0, 2**32 - 1))
def test_random_scenarios_equal_to_simpy(policy, pcpus, vms, load, capacity_extra, service, seed):
    """Any mix of VMs (different rates, classes, H2 interarrivals), pCPUs, capacity and seed."""
    share = np.arange(1, vms + 1) / np.arange(1, vms + 1).sum()
    rates = load * pcpus * share
    interarrival = [Exponential(r) if i % 2 == 0 else HyperExponential.balanced(1 / r, 2.0)
                    for i, r in enumerate(rates)]
    sc = vm.Scenario(pcpus, [vm.VM(f"v{i}", interarrival[i], SERVICES[service], priority=i % 2) for i in range(vms)],
                     policy=POLICIES[policy] if policy != "delay_dependent" else P.DelayDependentPriority(),
                     capacity=None if capacity_extra is None else pcpus + capacity_extra)
    assert supports(sc)
    assert_same_records(*both(sc, seed=seed, departures=400))
