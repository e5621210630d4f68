"""Bounded-memory runs (``vm.simulate(..., records=False)``) against ``measure()`` on the Records.

The resumable kernel of :mod:`virtmodel.sim.compiled.streaming` replays the records-mode kernel
chunk by chunk with running sums and path integrals instead of per-job arrays.  For one seed it
must remove the same warm-up, keep the same window and give every point estimate that
``measure()`` gives on the Records of the same run (percentiles aside) to 1e-9 relative, for
every compiled policy (non-preemptive, preemptive, processor sharing, round robin with and
without switch cost, cyclic polling), one and several pCPUs and VMs, with and without a capacity, with
chunks small enough that the run stops and resumes a dozen times (every VM refills at least one
block of 4,096 draws per chunk); the records-mode kernels themselves are proven against simpy in
``test_compiled.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import virtmodel as vm
from virtmodel.dists import Deterministic, Exponential, HyperExponential, Poisson
from virtmodel.errors import InvalidParameter
from virtmodel.overhead import ExitInflated
from virtmodel.sim.compiled import streaming
from virtmodel.sim.compiled.streaming import stream_replication
from virtmodel.sim.run import run_replication

P = vm.policies
H2 = HyperExponential.balanced(1.0, 4.0)
EXITS = ExitInflated(Exponential(1.0), 3.0, Exponential(50.0), io_exits=Poisson(2.0))
DEPARTURES = 20_003  # not a multiple of the batches: the oldest N mod 20 are left out of them


def scenario(policy, pcpus, vms, capacity=None, load=0.85, service=H2, vcpus=None):
    share = np.arange(1, vms + 1) / np.arange(1, vms + 1).sum()
    return vm.Scenario(pcpus, [vm.VM(f"v{i}", Exponential(load * pcpus * share[i]), service, priority=i % 2,
                                     vcpus=vcpus) for i in range(vms)], policy=policy, capacity=capacity)


CASES = {
    "mg1": scenario(P.FCFS(), 1, 1),
    "mm16": scenario(P.FCFS(), 16, 1, load=0.9, service=Exponential(1.0)),
    "fcfs_3pcpu_2vm": scenario(P.FCFS(), 3, 2),
    "fcfs_3pcpu_2vm_capacity": scenario(P.FCFS(), 3, 2, capacity=6),
    "fcfs_1pcpu_capacity": scenario(P.FCFS(), 1, 1, capacity=3, service=Deterministic(1.0)),
    "fcfs_vcpus_4pcpu_3vm": scenario(P.FCFS(), 4, 3, vcpus=2),
    "sjf_2pcpu_3vm_capacity": scenario(P.SJF(), 2, 3, capacity=8),
    "priority_1pcpu_2vm": scenario(P.Priority(), 1, 2),
    "priority_heap_3pcpu_10vm": scenario(P.Priority(), 3, 10),
    "delay_dependent_2pcpu_2vm": scenario(
        P.DelayDependentPriority(offset={"v0": 0.5}, slope={"v0": 2.0, "v1": 1.0}), 2, 2),
    "processor_sharing_1pcpu": scenario(P.ProcessorSharing(), 1, 1),
    "processor_sharing_3pcpu_2vm_capacity": scenario(P.ProcessorSharing(), 3, 2, capacity=7),
    "preemptive_priority_1pcpu_2vm": scenario(P.Priority(preemptive=True), 1, 2),
    "preemptive_priority_3pcpu_3vm_capacity": scenario(P.Priority(preemptive=True), 3, 3, capacity=6),
    "srpt_2pcpu": scenario(P.SRPT(), 2, 1),
    "psjf_3pcpu_2vm": scenario(P.PSJF(), 3, 2),
    "round_robin_1pcpu": scenario(P.RoundRobin(quantum=0.3), 1, 1),
    "round_robin_switch_1pcpu_2vm_capacity": scenario(P.RoundRobin(quantum=0.2, switch_cost=0.01), 1, 2, capacity=5),
    "round_robin_3pcpu_2vm": scenario(P.RoundRobin(quantum=0.3), 3, 2),
    # virtualization exits (overhead.ExitInflated: size, exit counts and costs from one generator)
    "exit_inflated_srpt_2pcpu_2vm": scenario(P.SRPT(), 2, 2, load=0.8 / EXITS.mean, service=EXITS),
    # cyclic polling on one pCPU (switchovers from the system stream, or one stream per VM)
    "polling_gated_3vm_capacity": scenario(P.Polling("gated", switchover=Exponential(10.0)), 1, 3, capacity=5,
                                           load=0.8),
    "polling_limited_per_vm_switchovers": scenario(
        P.Polling("limited", switchover={"v0": Exponential(5.0), "v1": Exponential(20.0)}, limit=2), 1, 2, load=0.8),
}


def assert_same_estimates(bounded, records):
    assert bounded["warmup_removed"] == records["warmup_removed"]
    assert bounded["departures"] == records["departures"]
    assert bounded["window"] == pytest.approx(records["window"], rel=1e-12)
    got, want = bounded["measurement"].values, records["measurement"].values
    missing = set(want) - set(got)
    assert all(metric[:3] in ("p50", "p95", "p99") for metric, _ in missing), missing
    assert set(got) <= set(want), set(got) - set(want)
    for key, value in got.items():
        assert value == pytest.approx(want[key], rel=1e-9, abs=1e-12), key
    for group, gap in bounded["measurement"].littles_gap.items():
        assert gap == pytest.approx(records["measurement"].littles_gap[group], rel=1e-6, abs=1e-12), group


@pytest.mark.parametrize("case", list(CASES))
def test_bounded_equals_measure_on_records(case):
    """MSER-5 on the run's own departures (R = 1: five-means only), without and with batch means
    (then the marks come from snapshots of the MSER-5 pass), and a fixed warm-up with batch means:
    the same truncation, window and point estimates as measure() on the Records; the customer
    batch means of "all" equal stats.batch_means of the records."""
    sc = CASES[case]
    records = run_replication(sc, 4, 1, customers=DEPARTURES, engine="compiled")
    bounded = stream_replication(sc, 4, 1, DEPARTURES, chunk=3 * 4096)
    assert_same_estimates(bounded, records)
    # MSER-5 and batches: the marks from snapshots of the MSER-5 pass and its continuation
    records = run_replication(sc, 4, 1, customers=DEPARTURES, batches=20, engine="compiled")
    bounded = stream_replication(sc, 4, 1, DEPARTURES, batches=20, chunk=4096)
    assert_same_estimates(bounded, records)
    for key in [("mean_response", "all"), ("mean_wait", "all")]:
        np.testing.assert_allclose(bounded["measurement"].batches[key], records["measurement"].batches[key],
                                   rtol=1e-9)
    records = run_replication(sc, 4, 1, customers=DEPARTURES, batches=20, engine="compiled", removed=777)
    bounded = stream_replication(sc, 4, 1, DEPARTURES, batches=20, removed=777, chunk=4096)
    assert_same_estimates(bounded, records)
    for key in [("mean_response", "all"), ("mean_wait", "all")]:
        np.testing.assert_allclose(bounded["measurement"].batches[key], records["measurement"].batches[key],
                                   rtol=1e-9)
    batches = bounded["measurement"].batches
    assert set(batches) == set(bounded["measurement"].values)
    assert all(np.all(np.isfinite(x)) and x.size == 20 for x in batches.values())
    if sc.capacity is not None:
        assert bounded["measurement"].values["blocking_probability", "all"] > 0.005  # blocking is exercised


RANDOM_POLICIES = {
    "fcfs": P.FCFS(), "sjf": P.SJF(), "priority": P.Priority(), "delay_dependent": P.DelayDependentPriority(),
    "preemptive_priority": P.Priority(preemptive=True), "srpt": P.SRPT(), "psjf": P.PSJF(),
    "processor_sharing": P.ProcessorSharing(), "round_robin": P.RoundRobin(quantum=0.3),
    "round_robin_switch": P.RoundRobin(quantum=0.2, switch_cost=0.01),
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=st.sampled_from(sorted(RANDOM_POLICIES)), pcpus=st.integers(1, 4), vms=st.integers(1, 3),
       load=st.floats(0.3, 0.95), capacity_extra=st.one_of(st.none(), st.integers(0, 4)),
       service=st.sampled_from(["exponential", "h2", "deterministic"]), vcpus=st.one_of(st.none(), st.integers(1, 3)),
       removed=st.integers(0, 500), seed=st.integers(0, 2**32 - 1))
def test_random_scenarios_equal_measure(policy, pcpus, vms, load, capacity_extra, service, vcpus, removed, seed):
    """Any mix of policy, pCPUs, VMs (H2 interarrivals for every other one), load, capacity, vCPU
    limit, warm-up and seed, in chunks of one block: the point estimates of measure() on the
    Records, to 1e-9 (3,000 such examples passed once, in 14 s)."""
    share = np.arange(1, vms + 1) / np.arange(1, vms + 1).sum()
    rates = load * pcpus * share
    sizes = {"exponential": Exponential(1.0), "h2": H2, "deterministic": Deterministic(1.0)}[service]
    sc = vm.Scenario(pcpus, [vm.VM(f"v{i}", Exponential(r) if i % 2 == 0 else HyperExponential.balanced(1 / r, 2.0),
                                   sizes, priority=i % 2, vcpus=vcpus) for i, r in enumerate(rates)],
                     policy=RANDOM_POLICIES[policy],
                     capacity=None if capacity_extra is None else pcpus + capacity_extra)
    records = run_replication(sc, seed, 0, customers=3_000, engine="compiled", removed=removed)
    bounded = stream_replication(sc, seed, 0, 3_000, removed=removed, chunk=1)
    assert_same_estimates(bounded, records)


def test_lindley_kernel_and_event_loop_agree(monkeypatch):
    """One VM, FCFS, one pCPU runs on the Lindley kernel; the general event loop gives the same
    estimates, and takes over when the arrivals drawn beyond a mark do not cover its queue."""
    sc = scenario(P.FCFS(), 1, 1, load=0.95)
    lindley = stream_replication(sc, 4, 0, DEPARTURES, batches=20, chunk=4096)
    monkeypatch.setattr(streaming, "_lindley", lambda scenario: False)
    loop = stream_replication(sc, 4, 0, DEPARTURES, batches=20, chunk=4096)
    monkeypatch.undo()
    gave_up = []
    lindley_pass = streaming._lindley_pass

    def spy(*args):
        out = lindley_pass(*args)
        gave_up.append(out is None)
        return out

    # overloaded (load 1.5): about 10,000 queued at the last marks, more than the 4,096 arrivals of
    # one block drawn beyond a chunk with a lookahead of 4, so the Lindley kernel gives up at a mark
    # and the event loop runs the pass again
    overloaded = vm.Scenario(1, [vm.VM("a", Exponential(1.5), Exponential(1.0))], allow_overload=True)
    monkeypatch.setattr(streaming, "_lindley_pass", spy)
    monkeypatch.setattr(streaming, "LOOKAHEAD", 4)
    fallback = stream_replication(overloaded, 4, 0, DEPARTURES, batches=20, removed=100, chunk=4096)
    assert gave_up == [True]
    monkeypatch.setattr(streaming, "_lindley", lambda scenario: False)
    loop_overloaded = stream_replication(overloaded, 4, 0, DEPARTURES, batches=20, removed=100, chunk=4096)
    for key, value in loop_overloaded["measurement"].values.items():
        assert fallback["measurement"].values[key] == value, key
    assert loop["warmup_removed"] == lindley["warmup_removed"] > 0
    for key, value in lindley["measurement"].values.items():
        assert loop["measurement"].values[key] == pytest.approx(value, rel=1e-9), key
        np.testing.assert_allclose(loop["measurement"].batches[key], lindley["measurement"].batches[key], rtol=1e-9)


@pytest.mark.parametrize("case", ["sjf_2pcpu_3vm_capacity", "round_robin_switch_1pcpu_2vm_capacity"])
def test_chunking_does_not_matter(case):
    """Stopping and resuming the kernel (the watcher asleep past the drawn arrivals, queues and
    pCPUs carried over, round robin's merge waiting for the next arrival) gives the same run for
    any chunk size, to rounding of the sums."""
    sc = CASES[case]
    small = stream_replication(sc, 8, 2, 30_000, batches=10, removed=100, chunk=1)
    large = stream_replication(sc, 8, 2, 30_000, batches=10, removed=100)
    assert small["window"] == large["window"]
    for key, value in large["measurement"].values.items():
        assert small["measurement"].values[key] == pytest.approx(value, rel=1e-12), key


@pytest.mark.parametrize("case", ["fcfs_3pcpu_2vm_capacity", "round_robin_1pcpu", "polling_gated_3vm_capacity"])
def test_marks_from_snapshots_equal_a_second_pass(case):
    """R = 1 with batches takes the measured marks from snapshots of the MSER-5 pass (and its
    continuation) instead of simulating the run again from time 0: the same instants, and every
    value and batch value of the second pass to rounding (cumulative sums subtracted)."""
    sc, n = CASES[case], 30_000
    snapped = stream_replication(sc, 9, 2, n, batches=10, chunk=4096)
    z = np.empty(n // 5)
    streaming.run_pass(sc, 9, 2, n, z=z, chunk=4096)
    removed = streaming.mser5_from_means(z)
    assert snapped["warmup_removed"] == removed
    marks = ([removed] if removed else []) + [removed + 3_000 * (b + 1) for b in range(10)]
    times, sums = streaming.run_pass(sc, 9, 2, removed + n, marks, 0 if removed else -1, chunk=4096)
    t0 = float(times[0]) if removed else 0.0
    again = streaming._measured(sc, n, removed, t0, times[1:] if removed else times, sums[1:] if removed else sums,
                                10, 0)
    assert snapped["window"] == again["window"]
    for key, value in again["measurement"].values.items():
        assert snapped["measurement"].values[key] == pytest.approx(value, rel=1e-10, abs=1e-13), key
        np.testing.assert_allclose(snapped["measurement"].batches[key], again["measurement"].batches[key],
                                   rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("case", ["priority_heap_3pcpu_10vm", "preemptive_priority_1pcpu_2vm", "round_robin_3pcpu_2vm",
                                  "polling_gated_3vm_capacity"])
def test_memory_does_not_grow_with_the_run(case):
    """Bounded memory: after 600,000 departures in chunks of 4,096 arrivals, the window of jobs, the
    heap and the switchover table hold what a few chunks need, not the run (measured: 12,068,
    12,068, 44,224 and 85,584 entries, the same at 300,000 departures; the low classes of 10 VMs
    under priority keep jobs some 6,000 back, and polling's 0.1-long switchovers need some 30,000
    draws a chunk)."""
    run = streaming.BoundedRun(CASES[case], 2, 0, chunk=4096)
    run.advance(600_000)
    arrays = [*run._buffers, run._hk, run._hj] + ([run._switch.table] if run.family == "polling" else [])
    assert max(a.shape[-1] for a in arrays) < 100_000


def test_polling_switchovers_run_out_and_resume(monkeypatch):
    """Polling draws its switchovers a block ahead per chunk; a chunk that needs more stops inside
    the chain of moves (NEED_SWITCHOVERS), more are drawn and the chain resumes where it stopped:
    the same estimates as measure() on the Records."""
    sc = CASES["polling_gated_3vm_capacity"]  # switchovers of mean 0.1: about 10,000 per chunk
    ran_out = []
    kernel = streaming._polling_chunk

    def spy(*args):
        status = kernel(*args)
        ran_out.append(status == streaming.NEED_SWITCHOVERS)
        return status

    monkeypatch.setattr(streaming, "_polling_chunk", spy)
    records = run_replication(sc, 3, 0, customers=DEPARTURES, engine="compiled", removed=50)
    assert_same_estimates(stream_replication(sc, 3, 0, DEPARTURES, removed=50, chunk=4096), records)
    assert sum(ran_out) >= 3


@pytest.mark.parametrize("case", ["fcfs_3pcpu_2vm_capacity", "preemptive_priority_3pcpu_3vm_capacity",
                                  "processor_sharing_3pcpu_2vm_capacity", "round_robin_switch_1pcpu_2vm_capacity",
                                  "polling_limited_per_vm_switchovers"])
def test_bounded_run_resumes(case):
    """A BoundedRun advanced in three calls (a pilot to 2,500 departures, then to 6,000 with a mark
    at 4,000) gives the segments of one run with marks at 2,500, 4,000 and 6,000; with R >= 2,
    vm.simulate continues each pilot this way (tests/sim/test_bounded_memory.py's simulate test
    checks the intervals against records=True)."""
    sc = CASES[case]
    one_times, one_sums = streaming.BoundedRun(sc, 6, 1, chunk=4096).advance(6_000, [2_500, 4_000])
    run = streaming.BoundedRun(sc, 6, 1, chunk=4096)
    first_times, first_sums = run.advance(2_500)
    assert run.departures == 2_500
    rest_times, rest_sums = run.compact().advance(6_000, [4_000])
    np.testing.assert_array_equal(np.concatenate((first_times, rest_times)), one_times)
    np.testing.assert_allclose(np.concatenate((first_sums, rest_sums)), one_sums, rtol=1e-12, atol=1e-9)
    with pytest.raises(InvalidParameter, match="beyond the 6000 departures"):
        run.advance(6_000)


@pytest.mark.parametrize("replications,policy,seed", [(3, P.FCFS(), 7), (1, P.FCFS(), 7),
                                                     (3, P.Priority(preemptive=True), 4)])
def test_simulate_without_records_several_vms(replications, policy, seed):
    """vm.simulate(records=False) on two VMs, 2 pCPUs and a capacity: the same warm-up (ensemble
    MSER-5 for R >= 2), window and point estimates as records=True, and with R >= 2 the same
    intervals; the per-VM rows and steal time are there, only percentiles are missing; workers do
    not change it."""
    sc = scenario(policy, 2, 2, capacity=5, load=0.9, service=Exponential(1.0))
    kw = dict(customers=12_000, replications=replications, seed=seed)
    full = vm.simulate(sc, **kw)
    bounded = vm.simulate(sc, records=False, **kw)
    cols = ["warmup_removed", "window_start", "window_end", "departures"]
    np.testing.assert_allclose(bounded.diagnostics[cols].to_numpy(float), full.diagnostics[cols].to_numpy(float),
                               rtol=1e-12)
    a, b = full.summary.set_index(["metric", "group"]), bounded.summary.set_index(["metric", "group"])
    missing = set(a.index) - set(b.index)
    assert missing and all(metric[:3] in ("p50", "p95", "p99") for metric, _ in missing), missing
    assert {("steal_time", "v1"), ("blocking_probability", "v0"), ("mean_response", "all")} <= set(b.index)
    np.testing.assert_allclose(b["mean"], a.loc[b.index, "mean"], rtol=1e-9, atol=1e-12)
    if replications >= 2:
        assert bounded.diagnostics["warmup_removed"].iloc[0] > 0
        np.testing.assert_allclose(b[["ci_low", "ci_high"]], a.loc[b.index, ["ci_low", "ci_high"]], rtol=1e-9,
                                   atol=1e-12)
        if type(policy) is P.FCFS:  # (a process pool costs about 2 s)
            assert vm.simulate(sc, records=False, workers=2, **kw).summary.equals(bounded.summary)
    else:
        assert bounded.batches["batch"].nunique() == 20


def test_bounded_refusals(monkeypatch):
    """What stays per-job only is refused, naming why and what to use instead; an overloaded
    system stops with a clear error instead of filling the memory."""
    lattice = vm.Scenario(1, [vm.VM("a", Deterministic(2.0), Exponential(1.0))])  # simpy only
    with pytest.raises(InvalidParameter, match="records=False cannot simulate.*Deterministic.*use records=True"):
        vm.simulate(lattice, customers=1_000, records=False)
    monkeypatch.setattr(streaming, "BOUNDED_FAMILIES", ("whole",))  # a kernel family without a resumable copy
    with pytest.raises(InvalidParameter, match="records=False cannot simulate.*SRPT.*'preemptive' kernel.*no "
                                               "bounded-memory.*use records=True"):
        vm.simulate(scenario(P.SRPT(), 1, 1), customers=1_000, records=False)
    monkeypatch.undo()
    tiny = scenario(P.RoundRobin(quantum=1e-12), 1, 1)
    with pytest.raises(InvalidParameter, match="quantum=1e-12 is too small.*ProcessorSharing"):
        vm.simulate(tiny, customers=1_000, records=False)
    monkeypatch.setattr(streaming, "MAX_LIVE", 5_000)  # the window holds at most this plus one chunk
    overloaded = vm.Scenario(2, [vm.VM("a", Exponential(2.5), Exponential(1.0))], allow_overload=True)
    with pytest.raises(InvalidParameter, match="more than 5,000 jobs.*overloaded"):
        stream_replication(overloaded, 1, 0, 50_000, removed=0, chunk=4096)


@pytest.mark.slow
def test_batch_means_without_records_cover_the_exact_values(scaled):
    """The R = 1 intervals of records=False are a batch-means estimator of their own (a VM's
    per-customer means over its departures inside the batches of all departures; time averages over
    each batch's time span): over n = scaled(400, 40) seeded runs of 50,000 customers (two VMs on 2
    pCPUs, non-preemptive priority, exponential, load 0.6; exact values from vm.predict, M/M/c
    priority), the share of 95 % intervals that cover the exact value lies in the 99 % binomial
    band (0.92-0.975 at n = 400; measured once: 0.948-0.963).  Power: the grand mean of the n
    point estimates must lie within 3 standard errors of the exact value; at n = 400 that
    half-width is 0.09-0.3 % of the value (0.6 % for the queue of "lo"; measured biases -0.13 to
    +0.04 %), so a 2 % bias fails by far (at scale 0.25, twice those half-widths)."""
    from virtmodel.sim.stats import binomial_band

    exp = Exponential(1.0)
    sc = vm.Scenario(2, [vm.VM("hi", Exponential(0.4), exp, priority=0),
                         vm.VM("lo", Exponential(0.8), exp, priority=1)], policy=P.Priority())
    keys = [("mean_response", "all"), ("mean_response", "hi"), ("mean_response", "lo"), ("mean_number", "all"),
            ("mean_number", "lo"), ("mean_queue_length", "lo"), ("utilization", "all")]
    exact = vm.predict(sc)
    n = scaled(400, minimum=40)
    hits = dict.fromkeys(keys, 0)
    values = {key: [] for key in keys}
    for i in range(n):
        res = vm.simulate(sc, customers=50_000, replications=1, seed=31_000 + i, records=False)
        for key in keys:
            low, high = res.ci(*key)
            hits[key] += bool(low <= exact.value(*key) <= high)
            values[key].append(res.mean(*key))
    lo, hi = binomial_band(n)
    for key in keys:
        assert lo <= hits[key] / n <= hi, f"{key}: coverage {hits[key] / n:.3f} outside [{lo:.3f}, {hi:.3f}] over {n}"
        x = np.asarray(values[key])
        half = 3 * x.std(ddof=1) / np.sqrt(n)
        assert abs(x.mean() - exact.value(*key)) <= half, (key, x.mean(), exact.value(*key), half)
