"""Round robin on one pCPU merges a lone job's quanta into one timeout: the sample path must not change."""

import numpy as np
import pytest

import virtmodel as vm
from virtmodel.dists import Exponential, HyperExponential
from virtmodel.sim.vmm import Hypervisor


@pytest.mark.parametrize("policy", [vm.policies.RoundRobin(0.1), vm.policies.RoundRobin(0.25, switch_cost=0.01)])
@pytest.mark.parametrize("service", [Exponential(1.0), HyperExponential.balanced(1.0, 4.0)])
def test_merged_quanta_give_the_same_sample_path(policy, service):
    sc = vm.Scenario(1, [vm.VM("a", Exponential(0.4), service), vm.VM("b", Exponential(0.3), service)],
                     policy=policy)
    merged = Hypervisor(sc, seed=11)               # lazy arrivals: merging on
    stepped = Hypervisor(sc, seed=11, lazy_arrivals=False)  # an event per arrival: one timeout per quantum
    assert merged.scheduler.merge and merged.lazy_arrivals and not stepped.lazy_arrivals
    merged.run_until_departures(5000)
    stepped.run_until_departures(5000)
    a, b = merged.records(), stepped.records()
    n = min(a.arrival.size, b.arrival.size)
    np.testing.assert_allclose(a.arrival[:n], b.arrival[:n], rtol=0, atol=1e-12)
    done = ~np.isnan(a.depart[:n]) & ~np.isnan(b.depart[:n])
    assert done.sum() >= 4900
    np.testing.assert_allclose(a.depart[:n][done], b.depart[:n][done], rtol=1e-12, atol=1e-8)
    np.testing.assert_allclose(a.occupied[:n][done], b.occupied[:n][done], rtol=1e-9, atol=1e-9)
