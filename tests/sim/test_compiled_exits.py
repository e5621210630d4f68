"""The compiled engine with virtualization-exit services (overhead.ExitInflated) against the simpy model, job for job.

ExitInflated.sample draws S, then the exit counts N | S ~ Poisson(r S) (+ I/O exits), then the exit
costs, all from one generator, so a block of 4,096 service times drawn ahead by the compiled engine is
the block the simpy model draws; the whitelist admits it when its parts are drawable laws
(virtmodel/sim/compiled/support.py).  validate's overhead checks run on it (battery_hypervisor).
"""

from __future__ import annotations

import numpy as np
import pytest

import virtmodel as vm
from virtmodel.dists import Deterministic, Exponential, LogNormal, Poisson, Sequential
from virtmodel.errors import InvalidParameter
from virtmodel.overhead import ExitInflated, Virtualization
from virtmodel.sim.compiled import CompiledEngine, supports, unsupported_reason
from virtmodel.sim.vmm import Hypervisor

P = vm.policies
SERVICES = {
    "full shadow (preset)": Virtualization.preset("full", "shadow", seconds_per_unit=1e-4).inflate(Exponential(1.0)),
    "hardware nested (preset)": Virtualization.preset("hardware", "nested", seconds_per_unit=1e-4).inflate(
        LogNormal(1.0, 4.0)),
    "exp exits + Poisson I/O exits": ExitInflated(Exponential(1.0), 3.0, Exponential(50.0), io_exits=Poisson(2.0)),
}
POLICIES = {"fcfs": P.FCFS(), "srpt": P.SRPT(), "ps": P.ProcessorSharing(), "priority": P.Priority()}


def _scenario(service, policy, pcpus, load=0.8):
    rate = load * pcpus / service.mean / 2
    return vm.Scenario(pcpus, [vm.VM("a", Exponential(rate), service, priority=1),
                               vm.VM("b", Exponential(rate), service, priority=0)], policy=policy)


@pytest.mark.parametrize("pcpus", [1, 3])
@pytest.mark.parametrize("policy", list(POLICIES))
@pytest.mark.parametrize("service", list(SERVICES))
def test_exit_inflated_service_job_for_job_equal_to_simpy(service, policy, pcpus):
    sc = _scenario(SERVICES[service], POLICIES[policy], pcpus)
    assert supports(sc), unsupported_reason(sc)
    a, b = (model(sc, 5, 1) for model in (Hypervisor, CompiledEngine))
    for model in (a, b):
        model.run_until_departures(1_500)
    ra, rb = a.records(), b.records()
    np.testing.assert_array_equal(ra.arrival, rb.arrival)
    np.testing.assert_array_equal(ra.size, rb.size)   # the same inflated service times, drawn ahead
    np.testing.assert_array_equal(ra.order, rb.order)
    np.testing.assert_allclose(rb.start, ra.start, rtol=0, atol=1e-9)
    np.testing.assert_allclose(rb.depart, ra.depart, rtol=0, atol=1e-9)


def test_simulate_picks_the_compiled_engine_with_the_same_result():
    sc = _scenario(SERVICES["full shadow (preset)"], P.FCFS(), 1, load=0.7)
    kw = dict(customers=3_000, replications=3, seed=4)
    a, b = vm.simulate(sc, engine="simpy", **kw), vm.simulate(sc, engine="auto", **kw)
    assert (a.engine, b.engine) == ("simpy", "compiled")
    assert a.equals(b)


def test_exit_inflated_with_a_part_not_drawn_ahead_stays_on_simpy():
    trace = ExitInflated(Sequential([1.0, 2.0, 0.5] * 100), 2.0, Deterministic(0.01))
    sc = vm.Scenario(1, [vm.VM("a", Exponential(0.3), trace)])
    assert not supports(sc)
    assert "ExitInflated(Sequential, Deterministic)" in unsupported_reason(sc)
    with pytest.raises(InvalidParameter, match="engine='compiled' cannot simulate.*Sequential"):
        vm.simulate(sc, customers=50, replications=2, seed=1, engine="compiled")
