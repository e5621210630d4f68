"""Issue 16: simulated installs, bring-ups and provisioning storms against the closed forms and bounds.

Replication counts are sized so that a 2 % error in a mean would fail: the
rows of one comparison form one family (Bonferroni: each interval at level
1 - 0.05 / rows, no miss allowed, ``compare.family_wise``), and their
relative half-widths are stated beside each case (measured with these seeds)
and asserted.
"""

from __future__ import annotations

import numpy as np
import pytest

import virtmodel as vm
from virtmodel.dists import Deterministic, Exponential, Uniform
from virtmodel.experiments.compare import family_wise
from virtmodel.sim.lifecycle import link_completion_times


def test_link_by_hand():
    np.testing.assert_allclose(link_completion_times([0, 0, 0], [3.0, 1.0, 2.0], 1.0), [6.0, 3.0, 5.0])
    np.testing.assert_allclose(link_completion_times(np.zeros(5), np.full(5, 2.0), 1.0, slots=2),
                               [4, 4, 8, 8, 10])
    # 0 arrives at 0 (size 2), 1 at 1 (size 2): alone until 1, then half each: 0 ends 3, 1 alone from 3: 4
    np.testing.assert_allclose(link_completion_times([0.0, 1.0], [2.0, 2.0], 1.0), [3.0, 4.0])
    # capped at 0.25 with B = 1 and 2 active: cap binds, both end at 2 / 0.25
    np.testing.assert_allclose(link_completion_times([0, 0], [2.0, 2.0], 1.0, stream_bandwidth=0.25), [8, 8])
    # an idle gap: 0 ends at 1, 1 arrives at 5 and takes 1
    np.testing.assert_allclose(link_completion_times([0.0, 5.0], [1.0, 1.0], 1.0), [1.0, 6.0])


def _agree(kind, reps, max_half_width, seed=2026):
    tab = family_wise(vm.compare(kind, replications=reps, seed=seed, workers=1))
    assert tab["exact"].all()
    for row in tab.itertuples():
        assert row.ci_low <= row.analytic <= row.ci_high, tab.to_string()
        assert (row.ci_high - row.ci_low) / 2 <= max_half_width * abs(row.analytic), tab.to_string()
    return tab


@pytest.mark.parametrize("install, half", [
    (vm.InstallFromServer(Uniform(1.0, 3.0), 2.0), 0.02),
    (vm.InstallFromServer(Exponential(1.0), 2.0, slots=3), 0.02),
    (vm.InstallFromServer(Exponential(0.5), 10.0, slots=3, stream_bandwidth=2.0), 0.02),  # capped streams
    (vm.InstallFromMedia(Uniform(1.0, 3.0), 0.5, medium="iso"), 0.02),
])
def test_install_storm_against_closed_forms(install, half):
    _agree(vm.InstallStorm(12, install), 2000, half)   # half-widths 0.3 % (uniform) to 1.6 % (exponential)


def test_deterministic_per_vm_sizes_exactly():
    storm = vm.InstallStorm(4, vm.InstallFromServer([5.0, 0.5, 2.0, 9.0], 3.0))
    res = vm.simulate(storm, replications=2, seed=1, workers=1)
    pred = vm.predict(storm)
    for i in range(4):
        assert res.mean("mean_response", f"vm{i}") == pytest.approx(pred.value("mean_response", f"vm{i}"), rel=1e-12)


def test_bring_up_random_against_closed_forms_and_bounds():
    mods = [vm.Module(f"m{i}", Uniform(0.5 * (i + 1), 1.5 * (i + 1))) for i in range(4)]
    comps = [vm.Component("a", Exponential(1.0)), vm.Component("b", Exponential(2.0)),
             vm.Component("c", Uniform(0.5, 1.5), after=["a", "b"]), vm.Component("d", Exponential(1.0))]
    need = {"vm0": ["m2"], "vm1": ["m0", "m2"], "vm2": ["m3"]}
    for loading in ("static", "dynamic"):
        host = vm.HostBringUp(mods, comps, loading=loading, initialisation="hybrid", vm_modules=need,
                              on_demand_overhead=Exponential(4.0))
        _agree(host, 6000, 0.02)   # 6 rows: half-widths 0.5 % (delays) to 1.5 % (host ready: exponential inits)
    host = vm.HostBringUp([], comps, initialisation="parallel", cores=2)
    _, lo, hi = host.times().host_ready, *host.times().host_ready_bounds
    res = vm.simulate(host, replications=400, seed=5, workers=1)
    low, high = res.ci("host_ready_time")
    assert lo <= low and high <= hi, (lo, low, high, hi)


def test_provisioning_exact_and_bounded():
    host = vm.HostBringUp([vm.Module("kvm", Exponential(2.0)), vm.Module("vhost", Uniform(0.5, 1.5))],
                          [vm.Component("init", Uniform(0.5, 1.5))], loading="dynamic")
    exact = vm.Provisioning(10, Exponential(1.0), host=host, needs=["vhost"], configure=Deterministic(0.5),
                            install=vm.InstallFromServer(2.0, 8.0), boot_slots=3)
    tab = _agree(exact, 4000, 0.02)   # 5 rows: half-widths 0.3 % (makespan) to 1.2 % (host ready)
    assert set(zip(tab.metric, tab.group, strict=True)) == {
        ("makespan", "all"), ("host_ready_time", "all"), ("makespan", "host"), ("makespan", "configure"),
        ("makespan", "install")}
    bounded = vm.Provisioning(10, Exponential(1.0), host=host, needs=["vhost"], configure=Exponential(2.0),
                              install=vm.InstallFromServer(Exponential(0.5), 8.0), boot_slots=3)
    _, lo, hi, ok = bounded.makespan_bounds()
    res = vm.simulate(bounded, replications=300, seed=3, workers=1)
    low, high = res.ci("makespan")
    assert not ok and lo <= low and high <= hi, (lo, low, high, hi)
    stages = [res.mean("makespan", g) for g in ("host", "configure", "install", "all")]
    assert stages == sorted(stages)


def test_provisioning_without_install_random_configure_within_bounds():
    p = vm.Provisioning(8, Exponential(1.0), configure=Exponential(0.5), boot_slots=3)
    _, lo, hi, exact = p.makespan_bounds()
    low, high = vm.simulate(p, replications=400, seed=4, workers=1).ci("makespan")
    assert not exact and lo <= low and high <= hi, (lo, low, high, hi)


def test_same_seed_same_numbers():
    p = vm.Provisioning(5, Exponential(1.0), configure=Exponential(2.0),
                        install=vm.InstallFromServer(Exponential(1.0), 2.0, slots=2), boot_slots=2)
    a = vm.simulate(p, replications=4, seed=9, workers=1)
    b = vm.simulate(p, replications=4, seed=9, workers=2)
    assert a.per_replication.equals(b.per_replication)


def test_lifecycle_battery_area_passes():
    from virtmodel.experiments.validation import battery, run_battery

    checks = battery(("lifecycle",))
    assert len(checks) == 8
    # 3 x each check's replications (100-2,500: validate's sizes, docs/validation_power.md): 300-7,500 runs
    table = run_battery(checks, replications=3, seed=2026, progress=False)
    assert table["passes"].all(), table.to_string()
    assert set(table.loc[~table["exact"], "check"]) == {"provisioning: random configure and images (bounds)"}


def test_event_driven_link_equals_closed_forms_on_random_sizes():
    from virtmodel.analytic.lifecycle import _ps_fifo_slots, ps_completion_times

    rng = np.random.default_rng(16)
    for _ in range(50):
        n = int(rng.integers(1, 30))
        s = rng.lognormal(0.0, 1.0, n)
        np.testing.assert_allclose(link_completion_times(np.zeros(n), s, 2.5), ps_completion_times(s, 2.5),
                                   rtol=1e-9)
        k = int(rng.integers(1, n + 1))
        np.testing.assert_allclose(link_completion_times(np.zeros(n), s, 2.5, slots=k), _ps_fifo_slots(s, 2.5, k),
                                   rtol=1e-9)
        # work conservation with staggered arrivals: the link is never idle while work waits
        a = np.sort(rng.uniform(0, 1, n))
        end = link_completion_times(a, s, 2.5, slots=k)
        assert end.max() >= a.max() and end.max() <= a.max() + s.sum() / 2.5 + 1e-9
