"""Trace-driven simulation: dists.Sequential and VM.from_trace through the simpy model."""

import numpy as np
import pytest

import virtmodel as vm
from virtmodel.dists import Exponential, Sequential
from virtmodel.errors import InvalidParameter, VirtmodelError
from virtmodel.sim.streams import ARRIVAL, SERVICE, draw_n, vm_rng
from virtmodel.sim.vmm import Hypervisor


def _records(scenario, departures, seed=0):
    hv = Hypervisor(scenario, seed)
    hv.run_until_departures(departures)
    return hv.records()


def _seeded_trace(seed, n, lam=0.7, mu=1.0):
    """The jobs the seeded simpy model draws (replication 0, VM 0): same streams, same blocks."""
    gaps = draw_n(Exponential(lam), vm_rng(seed, 0, 0, ARRIVAL), n)
    sizes = draw_n(Exponential(mu), vm_rng(seed, 0, 0, SERVICE), n)
    return np.cumsum(gaps), sizes


# --------------------------------------------------------------------------- Sequential


def test_sequential_moments_and_order():
    d = Sequential([4.0, 1.0, 1.0])
    assert d.mean == 2.0 and d.variance == 2.0 and d.moment(2) == 6.0
    assert d.cdf(1.0) == pytest.approx(2 / 3)
    assert d.sample(np.random.default_rng(0), 3).tolist() == [4.0, 1.0, 1.0]
    assert list(d.replay()) == [4.0, 1.0, 1.0]


def test_sequential_end_raises_unless_cycling():
    with pytest.raises(InvalidParameter, match="size must be <= 3"):
        Sequential([4.0, 1.0, 1.0]).sample(np.random.default_rng(0), 4)
    assert Sequential([1.0, 2.0], cycle=True).sample(np.random.default_rng(0), 5).tolist() == [1, 2, 1, 2, 1]


@pytest.mark.parametrize("values", [[], [0.0, 0.0], [1.0, -1.0], [1.0, float("nan")], "abc"])
def test_sequential_bad_values(values):
    with pytest.raises(InvalidParameter, match="values"):
        Sequential(values)


# --------------------------------------------------------------------------- replay = the seeded model


@pytest.mark.parametrize("policy", [vm.policies.FCFS(), vm.policies.SJF(), vm.policies.ProcessorSharing(),
                                    vm.policies.SRPT()], ids=lambda p: type(p).__name__)
def test_mm1_trace_replays_simulate_job_for_job(policy):
    """An M/M/1 trace drawn from seed 11 and replayed gives the seeded model's jobs, bit for bit."""
    seed, n, kept = 11, 3000, 2500
    times, sizes = _seeded_trace(seed, n)
    random = vm.Scenario(1, [vm.VM("a", Exponential(0.7), Exponential(1.0))], policy=policy)
    replay = vm.Scenario(1, [vm.VM.from_trace("a", times, sizes)], policy=policy)
    a, b = _records(random, kept, seed), _records(replay, kept, seed=999)  # the replay ignores its seed
    m = min(a.arrival.size, b.arrival.size)
    assert m >= kept
    for field in ("arrival", "size", "start", "depart"):
        np.testing.assert_array_equal(getattr(a, field)[:m], getattr(b, field)[:m], err_msg=field)
    np.testing.assert_array_equal(a.order, b.order)
    # and simulate() itself: the same estimates and batch means (one replication on both sides)
    ra = vm.simulate(random, customers=2000, replications=1, seed=seed)
    rb = vm.simulate(replay, customers=2000, replications=1, seed=0)
    assert ra.summary.equals(rb.summary) and ra.batches.equals(rb.batches)
    assert rb.method == "batch means (trace replay: one sample path)"


def test_same_trace_twice_identical():
    rng = np.random.default_rng(3)
    times = np.cumsum(rng.exponential(1 / 1.6, 4000))
    sizes = rng.lognormal(0.0, 1.0, 4000) / np.exp(0.5)
    sc = vm.Scenario(2, [vm.VM.from_trace("log", times, sizes)])
    a, b = _records(sc, 3500, seed=1), _records(sc, 3500, seed=2)
    for field in ("arrival", "size", "start", "depart", "order"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
    r1 = vm.simulate(sc, customers=3000, replications=1, seed=1)
    r2 = vm.simulate(sc, customers=3000, replications=1, seed=2)
    assert r1.equals(r2)
    assert r1.method == "batch means (trace replay: one sample path)"


def test_trace_through_several_vms_merges_in_time_order():
    a = vm.VM.from_trace("a", [1.0, 3.0, 5.0], [0.5, 0.5, 0.5])
    b = vm.VM.from_trace("b", [2.0, 4.0], [0.5, 0.5])
    rec = _records(vm.Scenario(1, [a, b]), 5)
    assert rec.arrival.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert rec.vm.tolist() == [0, 1, 0, 1, 0]
    assert rec.depart.tolist() == [1.5, 2.5, 3.5, 4.5, 5.5]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("times, sizes, match", [
    ([0.0, 2.0, 1.0], [1.0, 1.0, 1.0], r"strictly increasing, got arrival_times\[2\]=1.0"),
    ([0.0, 1.0, 1.0], [1.0, 1.0, 1.0], r"strictly increasing, got arrival_times\[2\]"),
    ([0.0, 1.0, 2.0], [1.0, -0.5, 1.0], r"sizes must be >= 0, got sizes\[1\]=-0.5"),
    ([-1.0, 1.0], [1.0, 1.0], r"arrival_times must be >= 0"),
    ([0.0, 1.0], [1.0], "one value per arrival"),
    ([0.0, float("inf")], [1.0, 1.0], "finite"),
    ([], [], "non-empty"),
])
def test_from_trace_bad_input(times, sizes, match):
    with pytest.raises(VirtmodelError, match=match):
        vm.VM.from_trace("log", times, sizes)


def test_trace_shorter_than_warmup_or_run():
    rng = np.random.default_rng(1)
    times, sizes = np.cumsum(rng.exponential(1 / 0.5, 300)), rng.exponential(1.0, 300)
    sc = vm.Scenario(1, [vm.VM.from_trace("a", times, sizes)])
    with pytest.raises(VirtmodelError, match=r"shorter than the warm-up \(990 departures removed\)"):
        vm.simulate(sc, customers=10, warmup=0.99, replications=1, seed=0)
    with pytest.raises(VirtmodelError, match="holds 300 jobs, fewer than customers=400"):
        vm.simulate(sc, customers=400, replications=1, seed=0)
    with pytest.raises(VirtmodelError, match="one sample path: replications must be 1"):
        vm.simulate(sc, customers=100, replications=5, seed=0)
    with pytest.raises(VirtmodelError, match="past the last arrival"):
        vm.simulate(sc, horizon=2 * times[-1], replications=1, seed=0)
    with pytest.raises(VirtmodelError, match="engine='fast' needs"):
        vm.simulate(sc, customers=100, replications=1, seed=0, engine="fast")


def test_service_trace_running_out_is_a_clear_error():
    sc = vm.Scenario(1, [vm.VM("a", Exponential(0.5), Sequential([1.0, 0.5, 0.2]))], allow_overload=True)
    with pytest.raises(InvalidParameter, match="service trace .* ran out"):
        _records(sc, 10)
    cyc = vm.Scenario(1, [vm.VM("a", Exponential(0.5), Sequential([1.0, 0.5, 0.2], cycle=True))])
    assert _records(cyc, 10).size[:6].tolist() == [1.0, 0.5, 0.2, 1.0, 0.5, 0.2]
