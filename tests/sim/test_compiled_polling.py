"""The compiled polling kernel (virtmodel.sim.compiled.polling) against the simpy PollingScheduler, job for job.

For one seed both engines must admit the same jobs, block the same ones, start and finish each at
the same instants (1e-9 absolute), let them leave in the same order and stop at the same time.
The grid is every discipline (exhaustive, gated, 2-limited) x {one switchover law (system stream),
one law per VM (per-VM streams)} x {exponential, H2 with scv 4, deterministic service} x
{unlimited, finite capacity}: three VMs with unequal rates at load 0.8, 1,500 departures each
(with capacity 5 some 3-30 % of the arrivals are blocked).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import virtmodel as vm
from virtmodel.dists import Deterministic, Erlang, Exponential, HyperExponential, LogNormal, Sequential, Uniform
from virtmodel.errors import InvalidParameter, UnstableSystem
from virtmodel.sim.compiled import CompiledEngine, supports, unsupported_reason
from virtmodel.sim.compiled import polling as pk
from virtmodel.sim.vmm import Hypervisor

pytestmark = pytest.mark.filterwarnings("ignore::virtmodel.errors.VirtmodelWarning")  # short runs, on purpose

P = vm.policies
SERVICES = {
    "exponential": Exponential(1.0),
    "h2_scv4": HyperExponential.balanced(1.0, 4.0),
    "deterministic": Deterministic(1.0),
}
DISCIPLINES = {"exhaustive": None, "gated": None, "limited": 2}
DEPARTURES = 1_500


def switchover(per_vm):
    if per_vm:  # one law (and one stream) per VM, of three kinds
        return {"a": Deterministic(0.05), "b": Exponential(1 / 0.08), "c": Uniform(0.02, 0.1)}
    return Exponential(1 / 0.05)


def scenario(discipline, per_vm, service, capacity=None, load=0.8):
    vms = [vm.VM(name, Exponential(share * load / service.mean), service)
           for name, share in zip("abc", (0.2, 0.3, 0.5), strict=True)]
    policy = P.Polling(discipline, switchover=switchover(per_vm), limit=DISCIPLINES[discipline])
    return vm.Scenario(1, vms, policy=policy, capacity=capacity)


def _compiled_tests():
    """tests/sim/test_compiled.py (the suite imports test files by path): its record comparison and runner."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("_compiled_checks", Path(__file__).with_name("test_compiled.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: the same jobs, blocked jobs, order, start and departure instants (1e-9) and stop time; ``both``
#: runs the simpy model and the compiled engine on one seed to a departure count or a horizon
_COMPILED = _compiled_tests()
assert_same_records, both = _COMPILED.assert_same_records, _COMPILED.both


@pytest.mark.parametrize("capacity", [None, 5])
@pytest.mark.parametrize("service", list(SERVICES))
@pytest.mark.parametrize("per_vm", [False, True], ids=["one_law", "per_vm_laws"])
@pytest.mark.parametrize("discipline", list(DISCIPLINES))
def test_job_for_job_equal_to_simpy(discipline, per_vm, service, capacity):
    sc = scenario(discipline, per_vm, SERVICES[service], capacity)
    assert supports(sc), unsupported_reason(sc)
    simpy_rec, compiled_rec = both(sc, seed=11, departures=DEPARTURES)
    assert simpy_rec.order.size == DEPARTURES
    if capacity is not None:
        assert simpy_rec.blocked.sum() > 30  # the finite capacity is exercised
    assert_same_records(simpy_rec, compiled_rec)


@pytest.mark.parametrize("discipline", list(DISCIPLINES))
def test_horizon_stop_equal_to_simpy(discipline):
    """``run_until(T)``: every event before T (a job mid-service at T has started), then the arrivals up to T."""
    sc = scenario(discipline, True, SERVICES["h2_scv4"], capacity=6)
    simpy_rec, compiled_rec = both(sc, seed=5, horizon=700.0)
    assert np.isnan(simpy_rec.depart[~np.isnan(simpy_rec.start)]).sum() == 1  # one job in service at T
    assert_same_records(simpy_rec, compiled_rec)


def test_light_load_skips_empty_visits_and_continues():
    """At load 0.1 most moves skip through empty VMs (switchovers summed into one move); asking twice
    (the warm-up pilot, then the full run) needs more arrivals and more switchovers than first drawn."""
    sc = scenario("gated", True, SERVICES["exponential"], load=0.1)
    a, b = Hypervisor(sc, 3, 0), CompiledEngine(sc, 3, 0)
    for count in (300, 6_000):
        a.run_until_departures(count)
        b.run_until_departures(count)
        assert_same_records(a.records(), b.records())


def test_switchovers_drawn_short_are_redrawn(monkeypatch):
    """Switchover times drawn ahead for 1 % of the expected moves: the kernel asks for more (NEED_SWITCHOVERS)
    and the run, restarted from time 0, is still the simpy model's."""
    calls = []
    original = pk.run_polling

    def counting(*args):
        out = original(*args)
        calls.append(out[0])
        return out

    monkeypatch.setattr(pk.PollingRun, "ahead", 0.01)
    monkeypatch.setattr(pk, "run_polling", counting)
    sc = scenario("exhaustive", False, SERVICES["deterministic"], load=0.5)
    assert_same_records(*both(sc, seed=8, departures=2_000))
    assert pk.NEED_SWITCHOVERS in calls and calls[-1] == pk.OK


def test_battery_laws_equal_to_simpy():
    """The validation battery's laws: Erlang and LogNormal switchovers, lognormal jobs, two VMs."""
    vms = [vm.VM("heavy", Exponential(0.6), HyperExponential.balanced(1.0, 4.0)),
           vm.VM("light", Exponential(0.3), LogNormal(0.25, 1.0))]
    sc = vm.Scenario(1, vms, policy=P.Polling("gated", {"heavy": Erlang(2, 20.0), "light": LogNormal(0.5, 1.0)}))
    assert_same_records(*both(sc, seed=2, departures=DEPARTURES))


@pytest.mark.parametrize("discipline", list(DISCIPLINES))
def test_simulate_identical_results(discipline):
    """Through vm.simulate (warm-up pilot, replications): the same SimResult tables; auto picks compiled."""
    sc = scenario(discipline, True, SERVICES["h2_scv4"], load=0.7)
    kw = dict(customers=3_000, replications=2, seed=7)
    a = vm.simulate(sc, engine="simpy", **kw)
    b = vm.simulate(sc, **kw)
    assert b.engine == "compiled"
    assert a.summary.drop(columns="engine", errors="ignore").equals(b.summary.drop(columns="engine", errors="ignore"))


def test_what_the_kernel_cannot_replay_has_a_reason():
    exp = Exponential(1.0)
    two = [vm.VM("a", Exponential(0.3), exp), vm.VM("b", Exponential(0.3), exp)]
    # a replayed switchover trace is not drawn in blocks: simpy runs it (auto), compiled refuses
    trace = vm.Scenario(1, two, policy=P.Polling(switchover=Sequential([0.01, 0.03], cycle=True)))
    assert "switchover law Sequential" in unsupported_reason(trace)
    assert vm.simulate(trace, customers=300, replications=2, seed=1).engine == "simpy"
    with pytest.raises(InvalidParameter, match="engine='compiled' cannot simulate.*Sequential.*engine='simpy'"):
        vm.simulate(trace, customers=300, replications=2, seed=1, engine="compiled")
    # two pCPUs: no kernel (and the simpy model refuses too)
    assert "one pCPU" in unsupported_reason(vm.Scenario(2, two, policy=P.Polling(switchover=Deterministic(0.1))))


def test_unstable_and_too_short_switchovers_are_refused():
    exp = Exponential(1.0)
    # 1-limited at rho 0.6 with E[R] 2: rho + lambda_i E[R] = 1.2; the same error as the simpy model
    vms = [vm.VM("a", Exponential(0.3), exp), vm.VM("b", Exponential(0.3), exp)]
    sc = vm.Scenario(1, vms, policy=P.Polling("limited", Deterministic(1.0), limit=1))
    with pytest.raises(UnstableSystem, match="k-limited polling"):
        CompiledEngine(sc, 1)
    # switchovers of a nanosecond: about 10^12 moves for the first arrivals, refused at once (not a hang)
    sc = vm.Scenario(1, vms, policy=P.Polling("exhaustive", Exponential(1e9)))
    with pytest.raises(InvalidParameter, match="switchovers too short.*longer switchovers"):
        vm.simulate(sc, customers=1_000, replications=2, seed=1, engine="compiled")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(discipline=st.sampled_from(sorted(DISCIPLINES)), limit=st.integers(1, 3), vms=st.integers(1, 4),
       load=st.floats(0.1, 0.9), capacity=st.one_of(st.none(), st.integers(1, 6)), per_vm=st.booleans(),
       service=st.sampled_from(sorted(SERVICES)), mean_switch=st.floats(0.01, 0.5), seed=st.integers(0, 2**32 - 1))
def test_random_polling_systems_equal_to_simpy(discipline, limit, vms, load, capacity, per_vm, service,
                                               mean_switch, seed):
    """Any number of VMs with unequal rates (H2 interarrivals for every other VM), any k, switchover
    mean and capacity; overloaded k-limited systems run with allow_overload."""
    share = np.arange(1, vms + 1) / np.arange(1, vms + 1).sum()
    law = SERVICES[service]
    rates = load * share / law.mean
    interarrival = [Exponential(r) if i % 2 == 0 else HyperExponential.balanced(1 / r, 2.0)
                    for i, r in enumerate(rates)]
    names = [f"v{i}" for i in range(vms)]
    kinds = (Exponential(1 / mean_switch), Deterministic(mean_switch), Uniform(0.0, 2 * mean_switch))
    switch = {n: kinds[i % 3] for i, n in enumerate(names)} if per_vm else Exponential(1 / mean_switch)
    policy = P.Polling(discipline, switchover=switch, limit=limit if discipline == "limited" else None)
    sc = vm.Scenario(1, [vm.VM(n, a, law) for n, a in zip(names, interarrival, strict=True)], policy=policy,
                     capacity=capacity, allow_overload=True)
    assert supports(sc)
    assert_same_records(*both(sc, seed=seed, departures=400))
