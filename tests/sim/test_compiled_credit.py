"""The compiled credit1 kernel (virtmodel.sim.compiled.credit) against the simpy CreditScheduler, job for job.

For one seed both engines must admit the same jobs, block the same ones, start and finish each at
the same instants (1e-9 absolute), charge each the same pCPU time, let them leave in the same
order and stop at the same time.  The grid is {1, 2, 3 pCPUs} x {exponential, H2 with scv 4,
deterministic 5 ms jobs} x {unlimited, finite capacity} x {weights with one vCPU per VM, caps
(parking) with 2 + 1 + 3 vCPUs}, three VMs offered 1.2x the host; then time stops, continuation,
lattice interarrivals (simultaneous arrivals), the validation battery's credit scenarios and random
scenarios (hypothesis).

The capped scenarios are where simpy's ordering of simultaneous events decides: a vCPU parked or
unparked at an accounting instant makes its pCPU reschedule there, so its next time slice ends on
the timer's grid again, and which of the two events simpy takes first (by event id) changes the
run.  Measured when the kernel was written: with the event-id tie-break removed (slot order
instead), 38 of the 144 grid cases of this file's grid and stops differ from simpy; with the
Interruption taken as NORMAL instead of URGENT, 17.  The capped cases here park vCPUs (counted).
"""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import virtmodel as vm
from virtmodel.dists import Deterministic, Empirical, Exponential, HyperExponential
from virtmodel.errors import InvalidParameter
from virtmodel.sim.compiled import CompiledEngine, supports, unsupported_reason
from virtmodel.sim.compiled.credit import MAX_TIMER_EVENTS
from virtmodel.sim.vmm import Hypervisor

pytestmark = pytest.mark.filterwarnings("ignore::virtmodel.errors.VirtmodelWarning")  # short runs, on purpose

P = vm.policies
JOB = 0.005  # seconds, against Xen's 30 ms slice and 10 ms tick
SERVICES = {
    "exponential": Exponential(1 / JOB),
    "h2_scv4": HyperExponential.balanced(JOB, 4.0),
    "deterministic": Deterministic(JOB),
}
CONFIGS = {
    "weights": dict(policy=P.Credit({"vm0": 256, "vm1": 512, "vm2": 100}), vcpus=(1, 1, 1)),
    "caps_vcpus": dict(policy=P.Credit({"vm1": 512}, caps={"vm0": 30, "vm2": 50}), vcpus=(2, 1, 3)),
}
DEPARTURES = 5_000


def _compiled_tests():
    """tests/sim/test_compiled.py (the suite imports test files by path): its record comparison."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("_compiled_checks", Path(__file__).with_name("test_compiled.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


assert_same_records = _compiled_tests().assert_same_records


def scenario(pcpus, service, config, capacity=None, load=1.2):
    rates = [load * pcpus / JOB * share for share in (0.3, 0.5, 0.2)]
    cfg = CONFIGS[config]
    vms = [vm.VM(f"vm{i}", Exponential(rate), SERVICES[service], vcpus=v)
           for i, (rate, v) in enumerate(zip(rates, cfg["vcpus"], strict=True))]
    return vm.Scenario(pcpus, vms, policy=cfg["policy"], capacity=capacity, allow_overload=True)


def both(sc, seed=11, replication=1, departures=None, horizon=None, stops=None):
    """Records of the simpy model and the compiled engine, and how many times simpy parked a vCPU.

    ``stops``: (kind, value) pairs run one after the other on both (continuation)."""
    hv = Hypervisor(sc, seed, replication)
    parks = [0]
    park = hv.scheduler._park

    def counting(u):
        parks[0] += 1
        park(u)

    hv.scheduler._park = counting
    eng = CompiledEngine(sc, seed, replication)
    if stops is None:
        stops = [("departures", departures)] if departures is not None else [("time", horizon)]
    out = []
    for model in (hv, eng):
        for kind, value in stops:
            if kind == "departures":
                model.run_until_departures(value)
            else:
                model.run_until(value)
        out.append(model.records())
    return out[0], out[1], parks[0]


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("capacity", [None, 8])
@pytest.mark.parametrize("service", list(SERVICES))
@pytest.mark.parametrize("pcpus", [1, 2, 3])
def test_job_for_job_equal_to_simpy(pcpus, service, capacity, config):
    sc = scenario(pcpus, service, config, capacity)
    assert supports(sc), unsupported_reason(sc)
    simpy_rec, compiled_rec, parks = both(sc, departures=DEPARTURES)
    assert simpy_rec.order.size == DEPARTURES
    if capacity is not None:
        assert simpy_rec.blocked.sum() > 100  # the finite capacity is exercised
    if config == "caps_vcpus":
        assert parks > 10  # caps park vCPUs at accounting
    assert_same_records(simpy_rec, compiled_rec)


@pytest.mark.parametrize("service", list(SERVICES))
@pytest.mark.parametrize("pcpus", [1, 3])
def test_time_stop_equal_to_simpy(pcpus, service):
    """run_until: every event before the horizon, none at it (3.0 s lies on the tick grid)."""
    sc = scenario(pcpus, service, "caps_vcpus")
    simpy_rec, compiled_rec, _ = both(sc, horizon=3.0)
    assert simpy_rec.order.size > 500
    assert_same_records(simpy_rec, compiled_rec)


def test_continuation_equal_to_simpy():
    """Stops one after the other (departures, time, departures) end where one run to the last stop ends."""
    sc = scenario(2, "deterministic", "caps_vcpus", capacity=10)
    simpy_rec, compiled_rec, _ = both(sc, stops=[("departures", 200), ("time", 2.5), ("departures", 1500)])
    assert simpy_rec.order.size == 1500
    assert_same_records(simpy_rec, compiled_rec)


def _battery_credit_scenarios():
    from virtmodel.analytic.credit import BoostLatency
    from virtmodel.experiments.battery_allocation import allocation_checks
    from virtmodel.experiments.battery_hypervisor import hypervisor_checks

    checks = [c for c in allocation_checks() + hypervisor_checks() if "credit" in c.label]
    out = {c.label: c.scenario for c in checks if isinstance(c.scenario, vm.Scenario)}
    out.update({c.label: c.scenario.scenario() for c in checks if isinstance(c.scenario, BoostLatency)})
    return out


BATTERY = _battery_credit_scenarios()


@pytest.mark.parametrize("label", list(BATTERY))
def test_battery_credit_scenarios_equal_to_simpy(label):
    """Every credit check of the validation battery (allocation and hypervisor areas) runs compiled, as simpy."""
    sc = BATTERY[label]
    assert supports(sc), unsupported_reason(sc)
    simpy_rec, compiled_rec, _ = both(sc, seed=2026, departures=3_000)
    assert_same_records(simpy_rec, compiled_rec)


def test_battery_has_its_credit_checks():
    assert len(BATTERY) == 6


def test_boost_latency_replicate_runs_compiled():
    """BoostLatency.replicate simulates on the compiled engine, with the simpy model's numbers."""
    from virtmodel.analytic.credit import BoostLatency

    kind = BoostLatency(horizon=2.0)
    got = kind.replicate(5, 0)
    hv = Hypervisor(kind.scenario(), seed=5, replication=0)
    hv.run_until(2.0)
    rec = hv.records()
    order = rec.order
    keep = order[(rec.vm[order] == 0) & (rec.arrival[order] > kind.warmup * 2.0)]
    assert got[("mean_response", "lat")] == pytest.approx(float(np.mean(rec.depart[keep] - rec.arrival[keep])),
                                                         rel=0, abs=1e-12)


def test_simulate_auto_runs_credit_compiled():
    sc = scenario(2, "exponential", "caps_vcpus")
    auto = vm.simulate(sc, customers=3_000, replications=2, seed=4)
    ref = vm.simulate(sc, customers=3_000, replications=2, seed=4, engine="simpy")
    assert auto.engine == "compiled" and ref.engine == "simpy"
    for metric, group in itertools.product(("mean_response", "utilization", "throughput"), ("vm0", "vm1", "vm2")):
        assert auto.mean(metric, group) == pytest.approx(ref.mean(metric, group), rel=1e-9)


def _bounded_tests():
    """tests/sim/test_bounded_memory.py: its comparison of bounded estimates with measure() on the Records."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("_bounded_checks", Path(__file__).with_name("test_bounded_memory.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: the same warm-up, window and point estimates (tests/sim/test_bounded_memory.py's comparison)
assert_same_estimates_bounded = _bounded_tests().assert_same_estimates

BOUNDED = {
    "weights_1pcpu": scenario(1, "exponential", "weights", load=0.9),
    "caps_2pcpu_capacity_det": scenario(2, "deterministic", "caps_vcpus", capacity=8),
    "caps_3pcpu_h2": scenario(3, "h2_scv4", "caps_vcpus", load=0.9),
    "lattice_same_instants_capacity": vm.Scenario(2, [
        vm.VM("v0", Deterministic(0.008), Deterministic(JOB), vcpus=1),
        vm.VM("v1", Deterministic(0.008), Exponential(1 / JOB), vcpus=2)],
        policy=P.Credit(caps={"v0": 60}), capacity=6),
}


@pytest.mark.parametrize("case", list(BOUNDED))
def test_bounded_memory_equals_measure_on_records(case):
    """records=False (streaming.BoundedRun on the credit chunk kernel, resumed every 4,096 arrivals): the same
    warm-up, window and point estimates as measure() on the compiled Records (themselves equal to simpy's),
    with MSER-5, with MSER-5 and batches (marks from snapshots), and with a fixed warm-up and batches."""
    from virtmodel.sim.compiled.streaming import stream_replication
    from virtmodel.sim.run import run_replication

    same = assert_same_estimates_bounded
    sc, n = BOUNDED[case], 20_003
    same(stream_replication(sc, 4, 1, n, chunk=3 * 4096), run_replication(sc, 4, 1, customers=n, engine="compiled"))
    for removed in (None, 777):
        bounded = stream_replication(sc, 4, 1, n, batches=20, removed=removed, chunk=4096)
        records = run_replication(sc, 4, 1, customers=n, batches=20, engine="compiled", removed=removed)
        same(bounded, records)
        np.testing.assert_allclose(bounded["measurement"].batches["mean_response", "all"],
                                   records["measurement"].batches["mean_response", "all"], rtol=1e-9)


def test_bounded_chunking_and_memory():
    """Stopping and resuming the credit chunk kernel anywhere (chunks of one block) gives the same run; after
    300,000 departures the window of jobs holds what a few chunks need, not the run."""
    from virtmodel.sim.compiled import streaming

    sc = BOUNDED["caps_2pcpu_capacity_det"]
    small = streaming.stream_replication(sc, 8, 2, 30_000, batches=10, removed=100, chunk=1)
    large = streaming.stream_replication(sc, 8, 2, 30_000, batches=10, removed=100)
    assert small["window"] == large["window"]
    for key, value in large["measurement"].values.items():
        assert small["measurement"].values[key] == pytest.approx(value, rel=1e-12), key
    run = streaming.BoundedRun(BOUNDED["weights_1pcpu"], 2, 0, chunk=4096)
    run.advance(300_000)
    assert max(b.size for b in run._buffers) < 100_000


def test_simulate_without_records():
    sc = BOUNDED["caps_3pcpu_h2"]
    bounded = vm.simulate(sc, customers=20_000, replications=2, seed=5, records=False)
    records = vm.simulate(sc, customers=20_000, replications=2, seed=5)
    assert bounded.engine == "compiled"
    for metric, group in itertools.product(("mean_response", "utilization", "throughput"), ("all", "vm0", "vm2")):
        assert bounded.mean(metric, group) == pytest.approx(records.mean(metric, group), rel=1e-9)


def test_tick_too_short_for_the_run_is_refused():
    tick = 1e-9
    sc = vm.Scenario(1, [vm.VM("a", Exponential(100.0), Exponential(200.0))],
                     policy=P.Credit(timeslice=3 * tick, tick=tick, ratelimit=0.0))
    assert 1e6 / 100.0 / tick > MAX_TIMER_EVENTS
    with pytest.raises(InvalidParameter, match="tick"):
        eng = CompiledEngine(sc, 1, 0)
        eng.run_until_departures(1_000_000)
        eng.records()


#: lattice interarrivals: arrivals of several VMs at one instant, on the tick grid, gaps of 0 (Empirical)
LATTICE = {
    "same_period": ([Deterministic(0.004), Deterministic(0.004)], [Exponential(200.0), Deterministic(JOB)]),
    "half_period": ([Deterministic(0.002), Deterministic(0.004), Exponential(100.0)], [Deterministic(JOB)] * 3),
    "tick_period": ([Deterministic(0.01), Deterministic(0.005)], [Exponential(100.0), Exponential(300.0)]),
    "empirical": ([Empirical([0.0, 0.002, 0.004, 0.01]), Empirical([0.004, 0.008])],
                  [Deterministic(JOB), Exponential(200.0)]),
}


@pytest.mark.parametrize("capacity", [None, 6])
@pytest.mark.parametrize("pcpus", [1, 3])
@pytest.mark.parametrize("lattice", list(LATTICE))
def test_lattice_arrivals_equal_to_simpy(lattice, pcpus, capacity):
    """Simultaneous arrivals are taken in simpy's event-id order, not the merged stream's VM order
    (measured when the kernel was written: taken in the merged order instead, 48 of 64 such runs differed)."""
    arrivals, services = LATTICE[lattice]
    vms = [vm.VM(f"v{i}", law, services[i], vcpus=(1, 2, 1)[i]) for i, law in enumerate(arrivals)]
    sc = vm.Scenario(pcpus, vms, policy=P.Credit({"v1": 512}, caps={"v0": 40, "v1": 60}), capacity=capacity,
                     allow_overload=True)
    assert supports(sc), unsupported_reason(sc)
    simpy_rec, compiled_rec, _ = both(sc, departures=DEPARTURES)
    assert_same_records(simpy_rec, compiled_rec)
    simpy_rec, compiled_rec, _ = both(sc, horizon=2.0)
    assert_same_records(simpy_rec, compiled_rec)


def test_lattice_arrivals_still_refused_elsewhere():
    """Only the credit kernel replays simpy's order of simultaneous events."""
    sc = vm.Scenario(1, [vm.VM("a", Deterministic(0.01), Exponential(200.0))], policy=P.FCFS())
    assert "interarrival" in unsupported_reason(sc)


_LAWS = {"exp": Exponential(1 / JOB), "h2": HyperExponential.balanced(JOB, 4.0), "det": Deterministic(JOB)}
_ARRIVALS = ("exp", "det", "emp")  # interarrival kinds: Exponential, Deterministic, Empirical (with gaps of 0)


def _interarrival(kind, mean):
    if kind == "exp":
        return Exponential(1 / mean)
    mean = round(mean / 0.001) * 0.001 or 0.001  # on a millisecond lattice, to meet the tick grid and each other
    return Deterministic(mean) if kind == "det" else Empirical([0.0, mean, 2 * mean])


@st.composite
def credit_scenarios(draw):
    pcpus = draw(st.integers(1, 3))
    nvm = draw(st.integers(1, 3))
    names = [f"v{i}" for i in range(nvm)]
    vcpus = [draw(st.sampled_from([None, 1, 2, 3])) for _ in names]
    weights = {n: draw(st.sampled_from([64.0, 256.0, 512.0, 1000.0])) for n in names if draw(st.booleans())}
    caps = {}
    for n, v in zip(names, vcpus, strict=True):
        if draw(st.booleans()):
            caps[n] = draw(st.sampled_from([10.0, 25.0, 50.0, 90.0])) * ((v or pcpus) if draw(st.booleans()) else 1)
    timeslice = draw(st.sampled_from([0.03, 0.02]))
    tick = draw(st.sampled_from([timeslice / 3, 0.007, timeslice]))  # aligned, unaligned, one tick per slice
    ratelimit = draw(st.sampled_from([0.0, 0.001, 0.004]))
    balance = draw(st.sampled_from([0.0, 0.001]))
    load = draw(st.sampled_from([0.6, 1.0, 1.5]))
    shares = [draw(st.integers(1, 4)) for _ in names]
    vms = [vm.VM(n, _interarrival(draw(st.sampled_from(_ARRIVALS)), JOB * sum(shares) / (load * pcpus * s)),
                 _LAWS[draw(st.sampled_from(list(_LAWS)))], vcpus=v)
           for n, s, v in zip(names, shares, vcpus, strict=True)]
    policy = P.Credit(weights, caps=caps, timeslice=timeslice, tick=tick, ratelimit=ratelimit,
                      balance_ratelimit=balance)
    capacity = draw(st.sampled_from([None, None, 4, 12]))
    return vm.Scenario(pcpus, vms, policy=policy, capacity=capacity, allow_overload=True)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sc=credit_scenarios(), seed=st.integers(0, 2**32 - 1), by_time=st.booleans())
def test_random_credit_scenarios_equal_to_simpy(sc, seed, by_time):
    assert supports(sc), unsupported_reason(sc)
    if by_time:
        simpy_rec, compiled_rec, _ = both(sc, seed=seed, horizon=1.5)
    else:
        simpy_rec, compiled_rec, _ = both(sc, seed=seed, departures=800)
    assert_same_records(simpy_rec, compiled_rec)


@pytest.mark.slow
def test_long_runs_equal_to_simpy(scaled):
    """Long runs (60,000 departures x VIRTMODEL_SLOW_SCALE): the battery's credit scenarios and the capped
    grid on 1 and 3 pCPUs, where grid coincidences accumulate over thousands of accounting periods."""
    departures = scaled(60_000, 5_000)
    cases = list(BATTERY.values()) + [scenario(pcpus, service, "caps_vcpus", capacity)
                                      for pcpus in (1, 3) for service in SERVICES for capacity in (None, 8)]
    for sc in cases:
        simpy_rec, compiled_rec, _ = both(sc, seed=7, departures=departures)
        assert_same_records(simpy_rec, compiled_rec)


_SLOW_EXAMPLES = max(10, round(300 * float(os.environ.get("VIRTMODEL_SLOW_SCALE", "1") or 1)))


@pytest.mark.slow
@settings(max_examples=_SLOW_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sc=credit_scenarios(), seed=st.integers(0, 2**32 - 1), by_time=st.booleans())
def test_many_random_credit_scenarios_equal_to_simpy(sc, seed, by_time):
    """300 random scenarios (x VIRTMODEL_SLOW_SCALE), longer runs than the default test's."""
    if by_time:
        simpy_rec, compiled_rec, _ = both(sc, seed=seed, horizon=4.0)
    else:
        simpy_rec, compiled_rec, _ = both(sc, seed=seed, departures=3_000)
    assert_same_records(simpy_rec, compiled_rec)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sc=credit_scenarios(), seed=st.integers(0, 2**31), removed=st.sampled_from([300, 1000]))
def test_random_bounded_equal_records(sc, seed, removed):
    """Random credit scenarios (lattice arrivals, caps, capacities...): records=False gives measure()'s
    estimates on the Records; scenarios that neither can measure (a VM without departures in the window,
    overload beyond the bounded window) are refused by both or by the bounded path with its reason.

    Left out: runs where another job departs at exactly the instant of the last departure (lattice
    arrivals with deterministic service): the Records then hold one more departure than asked for, which
    the bounded path counts in every sum too but does not report in ``departures`` (it says
    ``customers``), and MSER-5 on the Records sees one more response (so ``removed`` is fixed here)."""
    from virtmodel.sim.compiled.streaming import stream_replication
    from virtmodel.sim.run import run_replication

    try:
        records = run_replication(sc, seed, 0, customers=4_000, engine="compiled", removed=removed)
        bounded = stream_replication(sc, seed, 0, 4_000, removed=removed, chunk=4096)
    except InvalidParameter as exc:
        assert "departed" in str(exc) or "overloaded" in str(exc), exc
        return
    assume(records["departures"] == 4_000)
    assert_same_estimates_bounded(bounded, records)
