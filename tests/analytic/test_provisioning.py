"""Issue 16 closed forms: installs over a shared image server, host bring-up, provisioning; hand-computed values.

Every deterministic case below is worked by hand in its comment; random
cases are checked against identities that hold exactly (Rényi spacings,
inclusion-exclusion for the maximum of two exponentials).
"""

from __future__ import annotations

import numpy as np
import pytest

import virtmodel as vm
from virtmodel.analytic import lifecycle as lc
from virtmodel.dists import Deterministic, Exponential, LogNormal, Uniform
from virtmodel.errors import InvalidParameter, VirtmodelError


def test_equal_installs_share_bandwidth():
    # 10 installs of 4 GB on a 2 GB/s link: each at 0.2 GB/s, all end at 10 * 4 / 2 = 20
    assert lc.shared_install_makespan(10, 4.0, 2.0) == 20.0
    np.testing.assert_allclose(lc.shared_install_makespan(np.arange(1, 4), 1.0, 0.5), [2.0, 4.0, 6.0])
    t = lc.install_times(10, vm.InstallFromServer(4.0, 2.0))
    assert t.exact and t.all_together and t.makespan == 20.0 and t.mean_completion == 20.0


def test_ps_order_statistics_by_hand():
    # sizes 3, 1, 2 on B = 1: three share until the 1 is done at 3*1 = 3; two share the rest of the 2
    # (1 left each) until 3 + 2*1 = 5; the 3 moves alone for its last 1: 6
    np.testing.assert_allclose(lc.ps_completion_times([3.0, 1.0, 2.0], 1.0), [6.0, 3.0, 5.0])
    np.testing.assert_allclose(lc.ps_completion_times([3.0, 1.0, 2.0], 2.0), [3.0, 1.5, 2.5])
    s = np.array([5.0, 0.5, 2.0, 2.0, 9.0])  # equivalent form C_i = (s_i + sum_{j!=i} min(s_i, s_j)) / B
    alt = np.array([(x + np.minimum(x, np.delete(s, i)).sum()) / 3.0 for i, x in enumerate(s)])
    np.testing.assert_allclose(lc.ps_completion_times(s, 3.0), alt, rtol=1e-14)
    assert lc.ps_completion_times(s, 3.0).max() == pytest.approx(s.sum() / 3.0)


def test_mean_completion_closed_forms():
    # exponential sizes: completions at rate mu B whenever one is active: (N + 1) / (2 mu B)
    assert lc.ps_mean_completion(4, Exponential(2.0), 0.5) == pytest.approx(5 / (2 * 2.0 * 0.5))
    # uniform(1, 3): E[min(S1, S2)] = 1 + 2/3; N = 3, B = 2: (2 + 2 * 5/3) / 2
    assert lc.ps_mean_completion(3, Uniform(1.0, 3.0), 2.0) == pytest.approx((2 + 2 * 5 / 3) / 2)
    t = lc.install_times(6, vm.InstallFromServer(Exponential(1.0), 3.0, slots=2))
    assert t.exact and t.makespan == pytest.approx(2.0) and t.mean_completion == pytest.approx(7 / 6)


def test_k_slot_server_by_hand():
    # 5 installs of 2 on B = 1, 2 at a time sharing: pairs end at 4 and 8, the last alone at 10
    t = lc.install_times(5, vm.InstallFromServer(2.0, 1.0, slots=2))
    assert t.exact and t.makespan == 10.0 and t.mean_completion == pytest.approx((4 + 4 + 8 + 8 + 10) / 5)
    # capped streams (2 x 1 <= B = 10): a boot storm on 2 slots with times 2 / 1: ceil(4 / 2) * 2 = 4
    t = lc.install_times(4, vm.InstallFromServer(2.0, 10.0, slots=2, stream_bandwidth=1.0))
    assert t.exact and t.makespan == 4.0
    # exponential sizes, capped streams: the boot-storm form (N - k)/(k mu') + H_k / mu' with mu' = mu c
    t = lc.install_times(6, vm.InstallFromServer(Exponential(0.5), 10.0, slots=3, stream_bandwidth=2.0))
    assert t.makespan == pytest.approx((6 - 3) / 3 + float(lc.harmonic(3)))
    # a cap that binds only sometimes: bounds
    t = lc.install_times(6, vm.InstallFromServer(Exponential(1.0), 3.0, stream_bandwidth=1.0))
    assert not t.exact and t.makespan_bounds[0] <= t.makespan_bounds[1]


def test_media_installs_by_hand():
    t = lc.install_times(3, vm.InstallFromMedia([3.0, 1.0, 2.0], read_rate=0.5))
    np.testing.assert_allclose(t.completion, [6.0, 2.0, 4.0])
    t = lc.install_times(4, vm.InstallFromMedia(Exponential(1.0), read_rate=2.0, medium="cd"))
    assert t.exact and t.makespan == pytest.approx(float(lc.harmonic(4)) / 2.0)


def test_expected_extremes():
    # max of Exp(1) and Exp(2): 1 + 1/2 - 1/3 (inclusion-exclusion)
    assert lc.expected_max_independent([Exponential(1.0), Exponential(2.0)]) == pytest.approx(7 / 6, rel=1e-9)
    assert lc.expected_max_independent([Deterministic(1.5), Exponential(10.0)]) == pytest.approx(
        1.5 + np.exp(-15.0) / 10.0, rel=1e-9)
    assert lc.expected_min(3, Uniform(0.0, 4.0)) == pytest.approx(1.0)
    ln = LogNormal(1.0, 0.5)
    x = ln.sample(np.random.default_rng(3), (200_000, 3)).min(axis=1)
    assert lc.expected_min(3, ln) == pytest.approx(x.mean(), abs=5 * x.std() / np.sqrt(x.size))


def _dag(f=4.0):
    return [vm.Component("a", 2.0), vm.Component("b", 1.0), vm.Component("c", 1.0, after=["a"]),
            vm.Component("d", 3.0, after=["a", "b"]), vm.Component("e", 1.0, after=["c", "d"]),
            vm.Component("f", f)]


@pytest.mark.parametrize("strategy, cores, expected", [
    ("sequential", None, 12.0),   # 2 + 1 + 1 + 3 + 1 + 4
    ("parallel", None, 6.0),      # critical path a -> d -> e = 2 + 3 + 1
    ("parallel", 1, 12.0),
    ("parallel", 2, 7.0),         # a,b | b ends 1: f 1..5 | a ends 2: c 2..3 | d 3..6 | e 6..7
    ("hybrid", None, 8.0),        # levels {a, b, f}, {c, d}, {e}: 4 + 3 + 1
    ("hybrid", 2, 9.0),           # level 0 on 2 cores: a 0..2, b 0..1, f 1..5 -> 5; then 3; then 1
])
def test_initialisation_by_hand(strategy, cores, expected):
    host = vm.HostBringUp([], _dag(), initialisation=strategy, cores=cores)
    p = vm.predict(host)
    assert p.exact and p.value("host_ready_time") == pytest.approx(expected)


def test_loading_by_hand():
    mods = [vm.Module("x", 1.0), vm.Module("y", 2.0), vm.Module("z", 4.0)]
    need = {"vm0": ["y"], "vm1": ["x", "y"]}
    comps = [vm.Component("init", 3.0)]
    static = vm.predict(vm.HostBringUp(mods, comps, "static", vm_modules=need))
    assert static.value("host_ready_time") == 10.0 and static.value("first_start_delay", "vm1") == 0.0
    # on demand (+0.5 each): y ready 2.5, x ready 4.0 after host ready (3)
    dyn = vm.predict(vm.HostBringUp(mods, comps, "dynamic", vm_modules=need, on_demand_overhead=0.5))
    assert dyn.value("host_ready_time") == 3.0
    assert dyn.value("first_start_delay", "vm0") == 2.5 and dyn.value("first_start_delay", "vm1") == 4.0
    assert dyn.value("makespan") == 7.0 and dyn.value("first_start_delay") == pytest.approx(3.25)
    hyb = vm.predict(vm.HostBringUp(mods, comps, "hybrid", core=["y"], vm_modules=need, on_demand_overhead=0.5))
    assert hyb.value("host_ready_time") == 5.0 and hyb.value("first_start_delay", "vm1") == 1.5


def test_random_initialisation_exact_and_bounds():
    comps = [vm.Component("a", Exponential(1.0)), vm.Component("b", Exponential(2.0)),
             vm.Component("c", Exponential(1.0), after=["a", "b"])]
    p = vm.predict(vm.HostBringUp([], comps, initialisation="hybrid"))
    assert p.exact and p.value("host_ready_time") == pytest.approx(7 / 6 + 1.0, rel=1e-9)
    p = vm.predict(vm.HostBringUp([], comps, initialisation="parallel", cores=2))
    assert not p.exact and p.value("host_ready_time") == pytest.approx(2.0)   # critical path of means


def test_provisioning_exact_by_hand():
    host = vm.HostBringUp([vm.Module("kvm", 1.0), vm.Module("vhost", 2.0)], [vm.Component("init", 1.0)],
                          loading="dynamic")
    # host ready 1, vhost on demand +2; configure 2; 8 x 4 GB over 8 GB/s: 4; boots ceil(8/4) * 1
    p = vm.Provisioning(8, Deterministic(1.0), host=host, needs=["vhost"], configure=2.0,
                        install=vm.InstallFromServer(4.0, 8.0), boot_slots=4)
    assert vm.predict(p).exact and vm.predict(p).value("makespan") == 1 + 2 + 2 + 4 + 2
    assert p.stage_ends() == {"host": 3.0, "configure": 5.0, "install": 9.0}
    # exponential boots on 2 slots after installs that end together: (N - k)/(k mu) + H_k / mu
    p = vm.Provisioning(6, Exponential(1.0), install=vm.InstallFromMedia(3.0, 1.5), boot_slots=2)
    assert vm.predict(p).value("makespan") == pytest.approx(2.0 + 4 / 2 + 1.5)
    p = vm.Provisioning(6, Exponential(1.0), configure=Exponential(1.0), install=vm.InstallFromServer(1.0, 2.0))
    value, lo, hi, exact = p.makespan_bounds()
    assert not exact and value == lo < hi


@pytest.mark.parametrize("call, words", [
    (lambda: vm.HostBringUp([], [vm.Component("a", 1.0, after=["c"]), vm.Component("b", 1.0, after=["a"]),
                                 vm.Component("c", 1.0, after=["b"])]), "a -> c -> b -> a"),
    (lambda: vm.HostBringUp([vm.Module("kvm", 1.0)], vm_modules={"web": ["kvm", "vfio"]}),
     "VM 'web' needs module 'vfio', which no loading strategy loads"),
    (lambda: vm.Provisioning(2, Exponential(1.0), needs=["kvm"]), "no loading strategy loads"),
    (lambda: vm.InstallFromServer(4.0, 0.0), "bandwidth must be > 0"),
    (lambda: vm.InstallFromServer(4.0, -1.0), "bandwidth must be > 0"),
    (lambda: vm.InstallFromServer(0.0, 1.0), "image_size must be > 0"),
    (lambda: vm.InstallFromMedia([1.0, -2.0], 1.0), "image_size must be > 0"),
    (lambda: vm.InstallFromMedia(1.0, 0.0), "read_rate must be > 0"),
    (lambda: vm.InstallStorm(3, vm.InstallFromServer([1.0, 2.0], 1.0)), "per-VM sizes"),
    (lambda: vm.HostBringUp([vm.Module("x", 1.0)], loading="lazy"), "loading must be"),
    (lambda: vm.HostBringUp([vm.Module("x", 1.0)], loading="hybrid", core=["y"]), "core modules"),
    (lambda: lc.shared_install_makespan(3, 1.0, 0.0), "bandwidth must be > 0"),
    (lambda: lc.ps_completion_times([1.0, 0.0], 1.0), "sizes must be > 0"),
])
def test_bad_input(call, words):
    with pytest.raises(VirtmodelError, match=words.replace("(", r"\(")) as err:
        call()
    assert isinstance(err.value, InvalidParameter)
