"""Boot storms: simulated makespans against the closed forms, and seeding."""

from __future__ import annotations

import pytest

import virtmodel as vm
from virtmodel.dists import Deterministic, Exponential, LogNormal
from virtmodel.errors import InvalidParameter, NoClosedForm

STORMS = {
    "sequential exp": vm.BootStorm(12, Exponential(1.0), slots=1),
    "parallel exp": vm.BootStorm(12, Exponential(1.0)),
    "3 slots exp": vm.BootStorm(12, Exponential(2.0), slots=3),
    "parallel lognormal": vm.BootStorm(12, LogNormal(1.0, 0.8), create=Deterministic(0.5)),
    "parallel deterministic": vm.BootStorm(12, Deterministic(2.0), create=Deterministic(1.0),
                                           configure=Deterministic(0.25)),
    "4 slots deterministic": vm.BootStorm(10, Deterministic(1.0), slots=4),
}


@pytest.mark.parametrize("name", list(STORMS))
def test_simulated_makespan_matches_closed_form(name):
    """The closed-form makespan inside the 95 % interval of 4,000 storms (one row per test).

    Power (issue 18): relative half-widths 0.9-1.4 % (largest: parallel lognormal boots; 0 for the
    deterministic storms), asserted <= 2 %, so a 2 % error in a makespan fails; about 1 s per storm.
    Each storm has its own seed (2026 + its index).
    """
    tab = vm.compare(STORMS[name], replications=4000, seed=2026 + list(STORMS).index(name))
    row = tab.iloc[0]
    assert row.metric == "makespan" and row.group == "all" and row.exact
    assert row.ci_low <= row.analytic <= row.ci_high, tab.to_string()
    assert (row.ci_high - row.ci_low) / 2 / row.analytic <= 0.02, tab.to_string()


def test_same_seed_identical_and_workers_do_not_matter():
    storm = vm.BootStorm(8, LogNormal(1.0, 1.0), slots=2, create=Exponential(4.0))
    a = vm.simulate(storm, replications=6, seed=9)
    b = vm.simulate(storm, replications=6, seed=9, workers=2)
    assert a.per_replication.equals(b.per_replication)
    c = vm.simulate(storm, replications=6, seed=10)
    assert not a.per_replication["value"].equals(c.per_replication["value"])


def test_simulate_ignores_customers_like_the_battery():
    res = vm.simulate(STORMS["parallel exp"], customers=50_000, replications=4, seed=1, workers=1)
    assert res.summary.metric.tolist() == ["makespan"]


def test_no_closed_form_and_bad_input():
    with pytest.raises(NoClosedForm):
        vm.predict(vm.BootStorm(10, LogNormal(1.0, 0.5), slots=3))
    with pytest.raises(InvalidParameter):
        vm.BootStorm(0, Exponential(1.0))
    with pytest.raises(InvalidParameter):
        vm.BootStorm(3, 1.0)
    with pytest.raises(InvalidParameter):
        vm.BootStorm(3, Exponential(1.0), slots=0)
    with pytest.raises(InvalidParameter):
        vm.simulate(vm.BootStorm(3, Exponential(1.0)), replications=1, seed=1)
