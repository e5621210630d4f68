"""Virtualization overhead: Compound moments (exact vs Monte Carlo and sympy), M/G/1 vs simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

import virtmodel as vm
from virtmodel.dists import (
    Compound,
    Deterministic,
    Empirical,
    Erlang,
    Exponential,
    HyperExponential,
    LogNormal,
    Poisson,
)
from virtmodel.errors import InvalidParameter, NoClosedForm
from virtmodel.overhead import EXIT_MEASUREMENTS, PRESETS, ExitInflated, ExitMeasurement
from virtmodel.symbolic import derive

CASES = [
    Compound(Exponential(1.0), Poisson(3.0), Exponential(20.0)),
    Compound(Deterministic(1.0), Poisson(0.7), Deterministic(0.3)),
    Compound(LogNormal(1.0, 0.5), Deterministic(4), Erlang(2, 10.0)),
    Compound(HyperExponential.balanced(1.0, 4.0), Empirical([0, 1, 2, 5]), Exponential(5.0)),
]


@pytest.mark.parametrize("dist", CASES, ids=range(len(CASES)))
def test_moments_match_monte_carlo_within_5_se(dist):
    x = dist.sample(np.random.default_rng(11), 400_000)
    for k in (1, 2, 3, 4):
        xk = x**k
        se = xk.std(ddof=1) / math.sqrt(x.size)
        assert abs(xk.mean() - dist.moment(k)) < 5 * se + 1e-12, k
    assert dist.variance == pytest.approx(x.var(), rel=0.03)


def _symbolic_moments(k, s, nn, c):
    """E[(S + sum_{i<=N} C_i)^k] by brute-force sympy: condition on N = n and expand the multinomial."""
    n = sp.Symbol("n", integer=True, nonnegative=True)
    # moments of a sum of n i.i.d. C via the cumulant generating function n K_C(t)
    t = sp.Symbol("t")
    mgf_c = 1 + sum(c[j] * t**j / sp.factorial(j) for j in range(1, k + 1))
    kc = sp.series(sp.log(mgf_c), t, 0, k + 1).removeO()
    mgf_sum = sp.series(sp.exp(n * kc), t, 0, k + 1).removeO()
    mgf_s = 1 + sum(s[j] * t**j / sp.factorial(j) for j in range(1, k + 1))
    total = sp.expand(sp.series(mgf_s * mgf_sum, t, 0, k + 1).removeO().coeff(t, k) * sp.factorial(k))
    poly = sp.Poly(total, n)
    return sum(coef * nn[deg] for (deg,), coef in poly.terms())


@pytest.mark.parametrize("dist", CASES[:3], ids=range(3))
def test_moments_match_sympy(dist):
    s = {j: sp.nsimplify(dist.base.moment(j)) for j in range(0, 5)}
    nn = {j: sp.nsimplify(dist.count.moment(j)) for j in range(0, 5)}
    c = {j: sp.nsimplify(dist.addend.moment(j)) for j in range(0, 5)}
    for k in (1, 2, 3, 4):
        assert float(_symbolic_moments(k, s, nn, c)) == pytest.approx(dist.moment(k), rel=1e-9)


def test_derivation_matches_compound():
    d = CASES[0]
    p = dict(service_mean=d.base.mean, service_second_moment=d.base.moment(2), exits_mean=d.count.mean,
             exits_second_moment=d.count.moment(2), cost_mean=d.addend.mean,
             cost_second_moment=d.addend.moment(2))
    assert derive("overhead.compound_moments")(**p) == pytest.approx(d.moment(2), rel=1e-12)
    assert derive("overhead.compound_mean")(service_mean=p["service_mean"], exits_mean=p["exits_mean"],
                                            cost_mean=p["cost_mean"]) == pytest.approx(d.mean)
    wait = derive("overhead.mg1_mean_wait")(arrival_rate=0.5, **p)
    assert wait == pytest.approx(vm.analytic.MG1(0.5, d).mean_wait, rel=1e-12)


def test_cdf_partial_moment_laplace():
    rng = np.random.default_rng(3)
    for d in (CASES[0], CASES[1]):
        x = d.sample(rng, 200_000)
        for q in (0.8, 1.3, 2.5):
            assert d.cdf(q) == pytest.approx(np.mean(x <= q), abs=0.006)
            assert d.partial_moment(1, q) == pytest.approx(np.mean(x * (x <= q)), abs=0.01)
        assert d.laplace(0.6) == pytest.approx(np.mean(np.exp(-0.6 * x)), abs=0.004)
        assert d.partial_moment(2, 1e6) == pytest.approx(d.moment(2), rel=1e-6)
    with pytest.raises(NoClosedForm):  # a sum of n lognormal exit costs has no closed form
        Compound(Exponential(1.0), Poisson(1.0), LogNormal(0.1, 1.0)).cdf(1.0)


def test_poisson_count():
    p = Poisson(2.5)
    ref = p.to_scipy()
    for k in range(1, 5):
        assert p.moment(k) == pytest.approx(ref.moment(k), rel=1e-12)
    assert p.partial_moment(2, 3.0) == pytest.approx(sum(n**2 * ref.pmf(n) for n in range(4)), rel=1e-12)
    with pytest.raises(InvalidParameter):
        Poisson(0.0)


def test_bad_input():
    with pytest.raises(InvalidParameter):
        Compound(Exponential(1.0), Exponential(1.0), Exponential(1.0))  # count not integer-valued
    with pytest.raises(InvalidParameter):
        vm.Virtualization("nested", Poisson(1.0), Exponential(1.0))
    with pytest.raises(InvalidParameter, match="exit_rate must be a number"):
        vm.Virtualization("full", Poisson(1.5), Exponential(1.0))  # the old per-job count: now io_exits
    with pytest.raises(InvalidParameter):
        vm.Virtualization("full", -1.0, Exponential(1.0))
    with pytest.raises(InvalidParameter):
        vm.Virtualization("full", 1.0, Exponential(1.0), io_exits=Exponential(1.0))  # not a count
    with pytest.raises(InvalidParameter):
        vm.Virtualization("hardware", 1.0, Exponential(1.0), paging="two-level")
    with pytest.raises(InvalidParameter):
        vm.Virtualization.preset("para", world_switch_cycles=-1)
    with pytest.raises(InvalidParameter):
        vm.Virtualization.preset("hardware", "nested", world_switch_cycles=0, handling_cycles=0,
                                 cache_pollution_cycles=0)
    with pytest.raises(InvalidParameter):
        vm.Virtualization.preset("hardware").device_model("qemu", 10.0)  # no I/O exits, no device work


def test_same_seed_same_samples():
    d = CASES[0]
    a = d.sample(np.random.default_rng(5), (3, 4))
    b = d.sample(np.random.default_rng(5), (3, 4))
    assert a.shape == (3, 4) and np.array_equal(a, b)


def _virtualized(mode, load=0.6):
    service = vm.Virtualization.preset(mode, seconds_per_unit=1e-4).inflate(Exponential(1.0))
    assert isinstance(service, ExitInflated)
    return vm.Scenario(1, [vm.VM("vm", Exponential(load / service.mean), service)])


def test_full_vs_para_ordering():
    native = Exponential(1.0)
    full = vm.Virtualization.preset("full", seconds_per_unit=1e-4)
    para = vm.Virtualization.preset("para", seconds_per_unit=1e-4)
    assert full.overhead_factor(native) > para.overhead_factor(native) > 1.0
    lam = 0.6
    resp = {}
    for name, virt in (("native", None), ("para", para), ("full", full)):
        service = native if virt is None else virt.inflate(native)
        sc = vm.Scenario(1, [vm.VM("vm", Exponential(lam), service)])
        resp[name] = vm.predict(sc).value("mean_response")
    assert resp["native"] < resp["para"] < resp["full"]


@pytest.mark.parametrize("mode", ["full", "para"])
def test_inflated_mg1_matches_simulation(mode):
    sc = _virtualized(mode)
    tab = vm.compare(sc, customers=20_000, replications=8, seed=42)
    rows = tab[tab.metric.isin(["mean_wait", "mean_response", "utilization"])]
    assert rows.exact.all()
    assert rows.agrees.all(), rows.to_string()


# --------------------------------------------------------------------------- exits per unit of guest work

RATE_CASES = [
    ExitInflated(Exponential(1.0), 3.0, Exponential(20.0)),
    ExitInflated(HyperExponential.balanced(1.0, 4.0), 2.0, Deterministic(0.05), Poisson(1.5)),
    ExitInflated(Erlang(3, 3.0), 10.0, Erlang(2, 40.0), Deterministic(2)),
]


@pytest.mark.parametrize("dist", RATE_CASES, ids=range(len(RATE_CASES)))
def test_rate_moments_and_transform_match_monte_carlo_within_5_se(dist):
    x = dist.sample(np.random.default_rng(12), 400_000)
    for k in (1, 2, 3):
        xk = x**k
        se = xk.std(ddof=1) / math.sqrt(x.size)
        assert abs(xk.mean() - dist.moment(k)) < 5 * se, k
    for s in (0.3, 1.7):
        e = np.exp(-s * x)
        assert abs(e.mean() - dist.laplace(s)) < 5 * e.std(ddof=1) / math.sqrt(x.size)
    with pytest.raises(NoClosedForm):
        dist.cdf(1.0)


@pytest.mark.parametrize("dist", RATE_CASES, ids=range(len(RATE_CASES)))
def test_rate_moments_match_brute_force_sympy(dist):
    """E[S'^k], k <= 3, from the moment generating function conditioned on S = s, expanded in sympy.

    Given S = s: E[e^{tS'} | s] = e^{ts} exp(r s (M_C(t) - 1)) E[M_C(t)^M] (compound Poisson(r s) of C,
    and M more exits); the coefficient of t^k / k! is a polynomial in s, averaged with E[S^j].
    """
    s_, t = sp.symbols("s t")
    c = {j: sp.nsimplify(dist.exit_cost.moment(j)) for j in range(1, 4)}
    r = sp.nsimplify(dist.exit_rate)
    mgf_c_minus_1 = sum(c[j] * t**j / sp.factorial(j) for j in range(1, 4))  # M_C(t) - 1 to order 3
    fm = {j: sp.nsimplify(_fact(dist.io_exits, j)) if dist.io_exits else 0 for j in range(1, 4)}
    mgf_m = 1 + sum(fm[j] * mgf_c_minus_1**j / sp.factorial(j) for j in range(1, 4))
    total = sp.expand(sp.series(sp.exp(s_ * t + r * s_ * mgf_c_minus_1) * mgf_m, t, 0, 4).removeO())
    for k in (1, 2, 3):
        poly = sp.Poly(total.coeff(t, k) * sp.factorial(k), s_)
        value = sum(coef * sp.nsimplify(dist.base.moment(deg)) for (deg,), coef in poly.terms())
        assert float(value) == pytest.approx(dist.moment(k), rel=1e-9), k


def _fact(count, j):
    from virtmodel.dists import _factorial_moment

    return _factorial_moment(count, j)


def test_rate_derivation_matches_exit_inflated():
    d = RATE_CASES[0]
    p = dict(service_mean=d.base.mean, service_second_moment=d.base.moment(2), exit_rate=d.exit_rate,
             cost_mean=d.exit_cost.mean, cost_second_moment=d.exit_cost.moment(2))
    assert derive("overhead.rate_moments")(**p) == pytest.approx(d.moment(2), rel=1e-12)
    wait = derive("overhead.rate_mg1_mean_wait")(arrival_rate=0.5, **p)
    assert wait == pytest.approx(vm.analytic.MG1(0.5, d).mean_wait, rel=1e-12)


def test_overhead_factor_does_not_depend_on_job_length():
    virt = vm.Virtualization.preset("hardware", "shadow", seconds_per_unit=1e-4)
    factors = [virt.overhead_factor(Exponential(1 / m)) for m in (0.01, 1.0, 100.0)]
    assert factors == pytest.approx([virt.cpu_overhead_factor] * 3, rel=1e-12)
    # I/O exits are per job: they do weigh more on short jobs
    io = vm.Virtualization.preset("hardware", io_exits=Poisson(3.0), seconds_per_unit=1e-4)
    assert io.overhead_factor(Exponential(100.0)) > io.overhead_factor(Exponential(0.01)) > io.cpu_overhead_factor


def test_time_unit_changes_numbers_not_the_overhead():
    s = vm.Virtualization.preset("hardware", "shadow")                 # seconds (the default)
    ms = vm.Virtualization.preset("hardware", "shadow", seconds_per_unit=1e-3)
    assert ms.exit_rate == pytest.approx(s.exit_rate * 1e-3)
    assert ms.exit_cost.mean == pytest.approx(s.exit_cost.mean * 1e3)
    assert ms.cpu_overhead_factor == pytest.approx(s.cpu_overhead_factor, rel=1e-12)


def test_preset_orderings():
    """Shadow paging costs more than nested paging (Adams & Agesen 2006, abstract: no hardware MMU support
    made early VT-x slower than binary translation; VMware's EPT evaluation, 2009: EPT up to 48 % faster on
    MMU-intensive benchmarks); paravirtualization is cheapest."""
    f = {key: vm.Virtualization.preset(*key).cpu_overhead_factor for key in PRESETS}
    assert f["hardware", "shadow"] > f["full", "shadow"] > f["para", "shadow"] > 1.0
    assert f["hardware", "shadow"] > f["hardware", "nested"] > 1.0
    for profile in PRESETS.values():
        assert profile.source and profile.cycles > 0


def test_device_model_is_a_vm_competing_for_pcpus():
    virt = vm.Virtualization.preset("hardware", io_exits=Poisson(2.0), device_work=Deterministic(0.02),
                                     seconds_per_unit=1e-3)
    guest = vm.VM("guest", Exponential(0.5), virt.inflate(Exponential(1.0)))
    qemu = virt.device_model("qemu", job_arrival_rate=0.5)
    assert qemu.arrival.rate == pytest.approx(1.0) and qemu.offered_load == pytest.approx(0.02)
    alone = vm.predict(vm.Scenario(1, [guest])).value("mean_wait")
    shared = vm.predict(vm.Scenario(1, [guest, qemu])).value("mean_wait", "guest")
    assert shared > alone  # the emulation work takes pCPU time from the guest


def test_inflated_mg1_with_rate_exits_matches_simulation():
    """Hardware virtualization with shadow paging (7 % overhead): exact M/G/1 inside the simulated interval."""
    service = vm.Virtualization.preset("hardware", "shadow", seconds_per_unit=1e-4).inflate(Exponential(1.0))
    sc = vm.Scenario(1, [vm.VM("vm", Exponential(0.7 / service.mean), service)])
    tab = vm.compare(sc, customers=20_000, replications=8, seed=43)
    rows = tab[tab.metric.isin(["mean_wait", "mean_response", "utilization"])]
    assert rows.exact.all()
    assert rows.agrees.all(), rows.to_string()


def test_preset_numbers_are_cited_or_marked_illustrative():
    """Every preset number is either a quoted measurement (named in ``measured``, its figure in ``source``)
    or marked illustrative in ``source``; zero (no hardware world switch under binary translation) is
    structural."""
    fields = ("exits_per_second", "world_switch", "handling", "cache_pollution")
    for key, profile in PRESETS.items():
        assert set(profile.measured) <= set(fields), key
        if any(getattr(profile, f) > 0 and f not in profile.measured for f in fields):
            assert "illustrative" in profile.source, key
    nested, shadow = PRESETS["hardware", "nested"], PRESETS["hardware", "shadow"]
    # M. Roth, LKML 2020-12 (AMD EPYC): VMRUN round trip +1,344..+1,376 cycles; KVM code around it 576 + 576
    assert nested.measured == ("world_switch", "handling")
    assert 1_344 <= nested.world_switch <= 1_376 and "1,344 to +1,376" in nested.source
    assert nested.handling == 576 + 576 and "+576" in nested.source
    # Landau, Ben-Yehuda & Gordon, WIOV 2011 (Xeon X5570, KVM 2.6.34): direct cost of an exit 2,000 cycles
    assert shadow.measured == ("world_switch",) and shadow.world_switch == 2_000 and "SplitX" in shadow.source


# Each cited exit cost pinned to the figure its source prints (cycles), with the passage or message id that
# the source string must quote.  (key, cpu word, scope, cycles, before, quoted passage)
CITED_EXITS = [
    ("nehalem-ep", "X5570", "world switch", 2_000, None, "2,000 cycles"),
    ("skylake-sp", "Skylake-SP", "round trip", 1_529, 1_559,
     "<1584071718-17163-1-git-send-email-wanpengli@tencent.com>"),
    ("skylake-sp-ipi", "Skylake-SP", "round trip", 3_203, 3_319,
     "<1567733404-7759-3-git-send-email-wanpengli@tencent.com>"),
    ("skylake-sp-timer", "Skylake-SP", "round trip", 2_494.75, 3_028.5,
     "<1588055009-12677-1-git-send-email-wanpengli@tencent.com>"),
    ("epyc", "EPYC", "world switch", 1_360, None, "lkml.iu.edu/hypermail/linux/kernel/2012.2/00527.html"),
    ("kvm-2024", "not stated", "round trip", 1_027, 1_018, "<Z1r-Nh0JAQdL_L8n@google.com>"),
]


@pytest.mark.parametrize("key, cpu, scope, cycles, before, quote", CITED_EXITS, ids=[c[0] for c in CITED_EXITS])
def test_exit_measurements_are_the_published_figures(key, cpu, scope, cycles, before, quote):
    """Each entry of EXIT_MEASUREMENTS equals the number printed in its source (see the source string):
    SplitX (WIOV 2011, section 1), the KVM list messages of Wanpeng Li (2019-09-06, 2020-03-13, 2020-04-28;
    kvm-unit-tests x86/vmexit.c on Skylake-SP), M. Roth's LKML message (2020-12, AMD EPYC) and
    S. Christopherson's (2024-12)."""
    m = EXIT_MEASUREMENTS[key]
    assert (m.cycles, m.before, m.scope) == (cycles, before, scope)
    assert cpu in m.cpu and quote in m.source
    if before is not None:  # the figure before the patch is printed in the same passage
        assert f"{before:g}" in m.source.replace(",", "")


def test_the_epyc_world_switch_is_the_preset_one_and_inside_its_four_samples():
    # M. Roth, LKML 2020-12: post-VMRUN deltas +1376, +1360, +1344, +1344 cycles
    assert 1_344 <= EXIT_MEASUREMENTS["epyc"].cycles <= 1_376
    assert EXIT_MEASUREMENTS["epyc"].cycles == PRESETS["hardware", "nested"].world_switch


def test_preset_with_a_measured_exit():
    cache = PRESETS["hardware", "nested"].cache_pollution
    # a round trip measured from the guest already contains KVM's in-kernel handling
    skx = vm.Virtualization.preset("hardware", measured_exit="skylake-sp")
    assert skx.exit_cost.mean * 3e9 == pytest.approx(1_529 + cache, rel=1e-12)
    # a bare world switch keeps the preset's handling (KVM's 576 + 576 cycles)
    epyc = vm.Virtualization.preset("hardware", measured_exit="epyc")
    assert epyc.exit_cost.mean * 3e9 == pytest.approx(1_360 + 1_152 + cache, rel=1e-12)
    # shadow paging keeps its own handling; explicit cycles still override
    shadow = vm.Virtualization.preset("hardware", "shadow", measured_exit="nehalem-ep", handling_cycles=100.0)
    assert shadow.exit_cost.mean * 3e9 == pytest.approx(2_000 + 100 + PRESETS["hardware", "shadow"].cache_pollution)
    assert skx.exit_rate == PRESETS["hardware", "nested"].exits_per_second


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(mode="hardware", measured_exit="pentium-4"), "measured_exit must be one of"),
    (dict(mode="hardware", measured_exit=1360), "measured_exit must be one of"),
    (dict(mode="full", measured_exit="epyc"), "mode must be 'hardware'"),
])
def test_measured_exit_bad_input(kwargs, fragment):
    with pytest.raises(InvalidParameter, match=fragment):
        vm.Virtualization.preset(**kwargs)


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(scope="vmexit"), "scope must be"),
    (dict(cycles=0.0), "cycles"),
    (dict(before=-5.0), "before"),
    (dict(source=""), "source must be a non-empty string"),
])
def test_exit_measurement_bad_input(kwargs, fragment):
    good = dict(cpu="c", exit="e", scope="round trip", cycles=1_000.0, before=None, source="s")
    ExitMeasurement(**good)
    with pytest.raises(InvalidParameter, match=fragment):
        ExitMeasurement(**{**good, **kwargs})
