"""Consolidation: dedicated (N x M/M/1) vs pooled (M/M/N) vs overcommitted, analytic and simulated."""

from __future__ import annotations

import numpy as np
import pytest

import virtmodel as vm
from virtmodel.analytic import consolidation as cons
from virtmodel.dists import Exponential
from virtmodel.errors import InvalidParameter, UnstableSystem


def test_gain_values_and_limits():
    assert cons.consolidation_gain(2, 0.5) == pytest.approx(1.5)
    assert cons.consolidation_gain(1, 0.7) == pytest.approx(1.0)
    loads = np.linspace(0.05, 0.95, 10)
    g = cons.consolidation_gain(8, loads)
    assert np.all(np.diff(g) > 0) and np.all(g >= 1)
    assert cons.consolidation_gain(8, 1e-6) == pytest.approx(1.0, abs=1e-5)
    assert cons.consolidation_gain(8, 0.99999) == pytest.approx(8.0, rel=1e-3)
    grid = cons.consolidation_gain(np.array([[1], [2], [4]]), np.array([0.3, 0.6]))
    assert grid.shape == (3, 2) and np.all(np.diff(grid, axis=0) > 0)
    # time scale drops out of the ratio
    assert cons.consolidation_gain(4, 0.6, service_rate=7.0) == pytest.approx(cons.consolidation_gain(4, 0.6))


def test_overcommit_bound():
    bound = cons.overcommit_lower_bound(3, 2, 0.5)
    assert bound >= cons.dedicated_response(3, 0.5)
    with pytest.raises(InvalidParameter):
        cons.overcommit_lower_bound(2, 3, 0.5)
    with pytest.raises(UnstableSystem):
        cons.overcommit_lower_bound(4, 2, 0.6)


def _vms(n, load, vcpus):
    return [vm.VM(f"vm{i}", Exponential(load), Exponential(1.0), vcpus=vcpus) for i in range(n)]


@pytest.mark.parametrize("vcpus", [1, None], ids=["dedicated", "pooled"])
def test_dedicated_and_pooled_match_simulation(vcpus):
    """The closed form inside the 95 % interval of the mean response (one row per test).

    Power (issue 18): 100,000 customers x 10 replications, relative half-width 0.88 % (dedicated)
    and 0.72 % (pooled), asserted <= 2 %, so a 2 % error fails.
    """
    n, load = 3, 0.6
    sc = vm.Scenario(n, _vms(n, load, vcpus))
    expected = (cons.dedicated_response if vcpus == 1 else cons.pooled_response)(n, load)
    pred = vm.predict(sc)
    assert pred.exact and pred.value("mean_response") == pytest.approx(expected, rel=1e-12)
    res = vm.simulate(sc, customers=100_000, replications=10, seed=7)
    low, high = res.ci("mean_response")
    assert low <= expected <= high
    assert (high - low) / 2 / expected <= 0.02, (high - low) / 2 / expected


def test_overcommitted_simulation_above_bound():
    n, c, load = 3, 2, 0.5
    sc = vm.Scenario(c, _vms(n, load, 1))
    pred = vm.predict(sc)
    assert not pred.exact
    bound = cons.overcommit_lower_bound(n, c, load)
    assert pred.value("mean_response") == pytest.approx(bound, rel=1e-12)
    res = vm.simulate(sc, customers=20_000, replications=5, seed=3)
    assert res.ci("mean_response")[0] > bound
