"""Simulation of cyclic polling (virtmodel.sim.polling) against the exact analytic results.

Theory vs simulation is statistically honest: seeded replications (seed 2024, fixed
before the first run), and the exact value must lie inside the interval that
``simulate`` reports; where a test checks a family of m rows at once it uses the
Bonferroni level 1 - 0.05/m, so a correct model fails with probability <= 5 %.

Power (issue 18): the runs checked against exact values are sized (on the compiled engine,
:mod:`virtmodel.sim.compiled.polling`, job for job the simpy model) so that every mean-delay row
(per-VM and overall ``mean_wait``, ``work_weighted_wait``) has a relative half-width of at most
2 % at its family-wise level, asserted in each test (:data:`POWER`): a formula or simulator 2 %
off in a mean wait fails.  Sizes come from a pilot (seed 99, 50,000 customers x 12 replications)
aiming at 1.7 %; 20 replications each, 20,000 to 1,100,000 customers per replication
(:data:`SIZED`).  The slow long runs (issue 18: the slow suite detects 1 %) check all four
asymmetric exact systems, the family being their per-VM waits alone (:data:`LONG`), and the
pseudo-conservation systems with every row (:data:`LONG_ASYMMETRIC`), each mean-delay row below
:data:`SLOW_POWER` = 1 % at VIRTMODEL_SLOW_SCALE = 1 (1 % / sqrt(scale) in the reduced runs).
"""

from __future__ import annotations

import numpy as np
import pytest

import virtmodel as vm
from virtmodel.analytic import PollingSystem
from virtmodel.dists import Deterministic, Erlang, Exponential, HyperExponential, LogNormal, Uniform
from virtmodel.errors import InvalidParameter, UnstableSystem
from virtmodel.sim import stats
from virtmodel.sim.vmm import Hypervisor

SEED = 2024
#: customers x replications of the runs that check the simulator's own structure, not its power
CUSTOMERS, REPLICATIONS = 30_000, 6
#: largest relative family-wise half-width of a mean-delay row in the sized runs: a 2 % error fails
POWER = 0.02
#: replications of the sized runs, and customers per replication of each (pilot: seed 99, 50,000 x 12)
SIZED_REPLICATIONS = 20
DELAY_ROWS = ("mean_wait", "work_weighted_wait")


def scenario(vms, discipline, switchover, limit=None, **kw):
    return vm.Scenario(1, vms, policy=vm.policies.Polling(discipline, switchover, limit), **kw)


def symmetric(discipline, load=0.6, n=3, service=None, switchover=None, limit=None):
    service = service or Exponential(1.0)
    lam = load / (n * service.mean)
    vms = [vm.VM(f"vm{i}", Exponential(lam), service) for i in range(n)]
    return scenario(vms, discipline, switchover or Exponential(1 / 0.3), limit)


def assert_family_inside(pred, res, metrics=None, power=None):
    """Every predicted row (of ``metrics``) inside its Bonferroni interval over the family; with ``power``,
    every mean-delay row's relative half-width at that level at most ``power``.  Returns the largest."""
    tab = pred.values.merge(res.summary, on=["metric", "group"])
    if metrics is not None:
        tab = tab[tab["metric"].isin(metrics)]
    assert len(tab) > 0
    level = 1 - 0.05 / len(tab)
    outside, widths = [], {}
    for row in tab.itertuples(index=False):
        lo, hi = res.ci(row.metric, row.group, level=level)
        if not lo <= row.value <= hi:
            outside.append((row.metric, row.group, row.value, lo, hi))
        if row.metric in DELAY_ROWS and row.value != 0:
            widths[row.metric, row.group] = (hi - lo) / 2 / abs(row.value)
    assert not outside, outside
    widest = max(widths.values(), default=0.0)
    if power is not None:
        assert widths and widest <= power, f"half-widths {widths} (level {level:.4f}) exceed {power}"
    return widest


# --------------------------------------------------------------------------- symmetric: exact per-VM waits


def sized_run(sc, label):
    """``simulate`` at the sized length of ``label`` (:data:`SIZED`), 20 replications, seed 2024."""
    return vm.simulate(sc, customers=SIZED[label], replications=SIZED_REPLICATIONS, seed=SEED)


@pytest.mark.parametrize("discipline, limit", [("exhaustive", None), ("gated", None), ("limited", 1)])
def test_symmetric_exact_waits(discipline, limit):
    sc = symmetric(discipline, limit=limit)
    pred = vm.predict(sc)
    res = sized_run(sc, f"symmetric {discipline}")
    assert pred.exact and "symmetric" in pred.model
    for group in ("all", "vm0", "vm1", "vm2"):  # the headline numbers, each at 95 %
        lo, hi = res.ci("mean_wait", group)
        assert lo <= pred.value("mean_wait", group) <= hi, (group, pred.value("mean_wait", group), lo, hi)
    assert_family_inside(pred, res, power=POWER)
    assert res.littles_law_gap < 0.02


def test_symmetric_deterministic_switch_and_service():
    # world switch of fixed length, deterministic jobs, two VMs at load 0.5
    sc = symmetric("exhaustive", load=0.5, n=2, service=Deterministic(1.0), switchover=Deterministic(0.2))
    pred = vm.predict(sc)
    assert_family_inside(pred, sized_run(sc, "symmetric deterministic"), power=POWER)


# --------------------------------------------------------------------------- asymmetric: exact per-VM waits

#: asymmetric settings with exact per-VM waits: unequal loads, service laws (exponential, deterministic,
#: Erlang, H2, lognormal) and switchovers (one law per VM)
EXP = Exponential(1.0)
EXACT = {
    "3 VMs exhaustive, Erlang + H2 + exp, per-VM switches, load 0.6": (
        [vm.VM("a", Exponential(0.15), Erlang(3, 3.0)),
         vm.VM("b", Exponential(0.25), HyperExponential.balanced(1.0, 4.0)), vm.VM("c", Exponential(0.2), EXP)],
        "exhaustive", {"a": Deterministic(0.1), "b": Exponential(1 / 0.3), "c": Uniform(0.2, 0.6)}, None),
    "3 VMs gated, Erlang + H2 + exp, per-VM switches, load 0.6": (
        [vm.VM("a", Exponential(0.15), Erlang(3, 3.0)),
         vm.VM("b", Exponential(0.25), HyperExponential.balanced(1.0, 4.0)), vm.VM("c", Exponential(0.2), EXP)],
        "gated", {"a": Deterministic(0.1), "b": Exponential(1 / 0.3), "c": Uniform(0.2, 0.6)}, None),
    "2 VMs exhaustive, heavy H2 VM + light det VM, load 0.7": (
        [vm.VM("heavy", Exponential(0.25), HyperExponential.balanced(2.0, 4.0)),
         vm.VM("light", Exponential(0.4), Deterministic(0.5))],
        "exhaustive", {"heavy": Exponential(5.0), "light": Deterministic(0.4)}, None),
    "4 VMs gated, Erlang / lognormal / det / H2, load 0.65": (
        [vm.VM("w", Exponential(0.3), Erlang(2, 4.0)), vm.VM("x", Exponential(0.1), LogNormal(2.0, 1.0)),
         vm.VM("y", Exponential(0.1), Deterministic(1.5)),
         vm.VM("z", Exponential(0.15), HyperExponential.balanced(1.0, 4.0))],
        "gated", {"w": Deterministic(0.05), "x": Exponential(10.0), "y": Erlang(4, 8.0), "z": Deterministic(0.3)},
        None),
}
#: largest relative family-wise half-width of a mean-delay row in the slow long runs at scale 1
SLOW_POWER = 0.01
#: customers per replication of the long runs (20 replications), sized so that the family-wise
#: half-width of every per-VM wait is below 1 % at VIRTMODEL_SLOW_SCALE = 1: the earlier
#: 250,000 / 250,000 / 250,000 / 120,000 measured 1.16 / 1.00 / 1.81 / 1.42 % (suite_power audit),
#: each raised by (measured / 0.85 %)^2; a second pass from 480,000 / 360,000 / 1,150,000 / 340,000
#: (1.03 / 0.90 / 1.11 / 1.07 %: 25 % above the 1 / sqrt(n) prediction) the same way
LONG = dict(zip(EXACT, [720_000, 360_000, 2_000_000, 560_000], strict=True))


def slow_power(slow_scale):
    """The slow runs' half-width bound: 1 % at scale 1, 1 % / sqrt(scale) in the reduced runs."""
    return SLOW_POWER / np.sqrt(min(slow_scale, 1.0))


def per_vm_interval_width(res, names, level):
    """Largest relative half-width of the per-VM mean_wait intervals at ``level``."""
    widths = []
    for name in names:
        lo, hi = res.ci("mean_wait", name, level=level)
        widths.append((hi - lo) / 2 / res.mean("mean_wait", name))
    return max(widths)


@pytest.mark.parametrize("label", list(EXACT)[:2])
def test_exact_per_vm_waits_asymmetric(label):
    vms, discipline, switchover, limit = EXACT[label]
    sc = scenario(vms, discipline, switchover, limit)
    pred = vm.predict(sc)
    assert pred.exact and "exact per-VM waits" in pred.model
    res = sized_run(sc, label)
    assert_family_inside(pred, res, power=POWER)
    waits = [pred.value("mean_wait", v.name) for v in vms]
    assert max(waits) - min(waits) > 0.1 * max(waits)  # really asymmetric
    assert res.littles_law_gap < 0.02


@pytest.mark.slow
@pytest.mark.parametrize("label", list(EXACT))
def test_exact_per_vm_waits_long_runs(label, scaled, slow_scale):
    # the family is the per-VM mean waits (m = number of VMs): each inside its Bonferroni interval at level
    # 1 - 0.05/m, and at full scale those intervals are narrower than +-1 % of the wait, so a formula 1 % off
    # would fail; the other rows (responses, numbers, utilizations) are checked in the default runs above
    vms, discipline, switchover, limit = EXACT[label]
    sc = scenario(vms, discipline, switchover, limit)
    pred = vm.predict(sc)
    customers = scaled(LONG[label], 20_000)
    res = vm.simulate(sc, customers=customers, replications=20, seed=SEED + 2)
    names = [v.name for v in vms]
    level = 1 - 0.05 / len(names)
    for name in names:
        lo, hi = res.ci("mean_wait", name, level=level)
        assert lo <= pred.value("mean_wait", name) <= hi, (name, pred.value("mean_wait", name), lo, hi)
    width = per_vm_interval_width(res, names, level)
    assert width <= slow_power(slow_scale), f"family-wise relative half-width {width:.4f}"


# --------------------------------------------------------------------------- asymmetric: pseudo-conservation


ASYMMETRIC = {
    "2 VMs exhaustive, exp + det, load 0.5": (
        [vm.VM("web", Exponential(0.2), Exponential(1.0)), vm.VM("db", Exponential(0.3), Deterministic(1.0))],
        "exhaustive", Deterministic(0.5), None),
    "3 VMs exhaustive, mixed, load 0.7": (
        [vm.VM("a", Exponential(0.1), Exponential(1.0)), vm.VM("b", Exponential(0.25), Deterministic(1.0)),
         vm.VM("c", Exponential(0.175), HyperExponential.balanced(2.0, 4.0))],
        "exhaustive", Uniform(0.1, 0.5), None),
    "3 VMs gated, mixed, load 0.7": (
        [vm.VM("a", Exponential(0.1), Exponential(1.0)), vm.VM("b", Exponential(0.25), Deterministic(1.0)),
         vm.VM("c", Exponential(0.175), HyperExponential.balanced(2.0, 4.0))],
        "gated", Uniform(0.1, 0.5), None),
    "2 VMs gated, Erlang + lognormal, load 0.6": (
        [vm.VM("a", Exponential(0.4), Erlang(2, 4.0)), vm.VM("b", Exponential(0.05), LogNormal(8.0, 1.0))],
        "gated", Exponential(4.0), None),
    "3 VMs 1-limited, equal rates, different services, load 0.6": (
        [vm.VM("a", Exponential(0.2), Exponential(2.0)), vm.VM("b", Exponential(0.2), Deterministic(1.0)),
         vm.VM("c", Exponential(0.2), HyperExponential.balanced(1.5, 4.0))],
        "limited", Exponential(5.0), 1),
}


#: customers per replication (x 20) of the sized runs, from the pilot: family-wise mean-delay half-widths ~1.7 %
#: (Erlang + lognormal: 345,000 from the pilot gave 2.01 % at seed 2024, hence 480,000)
SIZED = {
    "symmetric exhaustive": 60_000, "symmetric gated": 55_000, "symmetric limited": 260_000,
    "symmetric deterministic": 20_000,
    list(EXACT)[0]: 235_000, list(EXACT)[1]: 185_000,
    "2 VMs exhaustive, exp + det, load 0.5": 25_000, "3 VMs exhaustive, mixed, load 0.7": 1_100_000,
    "3 VMs gated, mixed, load 0.7": 740_000, "2 VMs gated, Erlang + lognormal, load 0.6": 480_000,
    "3 VMs 1-limited, equal rates, different services, load 0.6": 265_000,
    "1-limited unequal rates": 20_000,
}


@pytest.mark.parametrize("label", list(ASYMMETRIC))
def test_pseudo_conservation_law_asymmetric(label):
    vms, discipline, switchover, limit = ASYMMETRIC[label]
    sc = scenario(vms, discipline, switchover, limit)
    pred = vm.predict(sc)
    # exhaustive/gated: exact per-VM waits; 1-limited: approximate waits, but with equal arrival rates the
    # Boxma-Meister waits satisfy the exact law, so their work-weighted mean is exact
    assert pred.exact == (discipline != "limited")
    res = sized_run(sc, label)
    lo, hi = res.ci("work_weighted_wait")
    value = pred.value("work_weighted_wait")
    assert lo <= value <= hi, (value, lo, hi)
    assert (hi - lo) / 2 <= POWER * value, (lo, hi)
    # the waits do differ between VMs: the law is not a symmetric result in disguise
    waits = [res.mean("mean_wait", v.name) for v in vms]
    assert max(waits) - min(waits) > 0.02 * max(waits)
    # exact models: every row (per-VM waits included) inside the family-wise intervals, 2 % detectable
    if pred.exact:
        assert_family_inside(pred, res, power=POWER)
    else:
        assert_family_inside(pred, res, metrics=["utilization", "throughput"])


def test_one_limited_weighted_law_unequal_rates():
    # 1-limited with unequal rates: sum_i (1 - lambda_i r/(1-rho)) rho_i W_i is exact (Boxma & Groenendijk
    # 1987); its interval comes from the replications' per-VM waits.
    vms = [vm.VM("a", Exponential(0.15), Exponential(1.0)), vm.VM("b", Exponential(0.3), Deterministic(1.0))]
    sc = scenario(vms, "limited", Exponential(5.0), 1)
    model = PollingSystem([0.15, 0.3], [v.service for v in vms], Exponential(5.0), "limited", limit=1)
    res = sized_run(sc, "1-limited unequal rates")
    per = res.per_replication
    waits = np.array([per[(per.metric == "mean_wait") & (per.group == v.name)].sort_values("replication")["value"]
                      for v in vms])
    coeff = model.pseudo_conservation_weights * model.utilization
    sums = coeff @ waits
    iv = stats.student_t_interval(sums)
    assert iv.low <= model.pseudo_conservation <= iv.high, (model.pseudo_conservation, iv)
    assert (iv.high - iv.low) / 2 <= POWER * model.pseudo_conservation, iv


# --------------------------------------------------------------------------- stability and bad input


def test_limited_near_its_stability_limit_is_unstable():
    # rho = 0.6 < 1, but 1-limited needs rho + lambda_i r / k = 0.6 + 0.3 * 2 * 0.7 = 1.02 < 1
    vms = [vm.VM("a", Exponential(0.3), Exponential(1.0)), vm.VM("b", Exponential(0.3), Exponential(1.0))]
    sc = scenario(vms, "limited", Deterministic(0.7), 1)
    with pytest.raises(UnstableSystem, match="k-limited"):
        vm.simulate(sc, customers=1000, replications=2, seed=SEED)
    with pytest.raises(UnstableSystem, match="k-limited"):
        vm.predict(sc)
    # the same switchover with 2-limited service is stable: 0.6 + 0.42 / 2 < 1
    stable = scenario(vms, "limited", Deterministic(0.7), 2)
    assert vm.simulate(stable, customers=1000, replications=2, seed=SEED).mean("throughput") > 0


def test_several_pcpus_rejected():
    vms = [vm.VM("a", Exponential(0.3), Exponential(1.0)), vm.VM("b", Exponential(0.3), Exponential(1.0))]
    sc = vm.Scenario(2, vms, policy=vm.policies.Polling("gated", Deterministic(0.1)))
    with pytest.raises(InvalidParameter, match="pcpus must be 1 for Polling"):
        vm.simulate(sc, customers=1000, replications=2, seed=SEED)


# --------------------------------------------------------------------------- the simulator itself


@pytest.mark.parametrize("discipline, limit", [("exhaustive", None), ("gated", None), ("limited", 2)])
def test_skip_over_empty_queues_gives_the_same_path(discipline, limit):
    # lazy arrivals sum switchovers over empty queues into one timeout; eager arrivals visit one by one
    sc = symmetric(discipline, load=0.3, limit=limit)
    lazy, eager = Hypervisor(sc, SEED, 3), Hypervisor(sc, SEED, 3, lazy_arrivals=False)
    assert lazy.lazy_arrivals and not eager.lazy_arrivals
    lazy.run_until_departures(3000)
    eager.run_until_departures(3000)
    a, b = lazy.records(), eager.records()
    m = 3000
    np.testing.assert_array_equal(a.order[:m], b.order[:m])
    np.testing.assert_array_equal(a.vm[:m], b.vm[:m])
    for name in ("arrival", "size", "start", "depart"):
        np.testing.assert_allclose(getattr(a, name)[:m], getattr(b, name)[:m], rtol=1e-9, err_msg=name)


def test_disciplines_serve_as_defined():
    # per-visit structure from the job tables: gated never serves a job that arrived after its visit
    # began; limited serves at most `limit` jobs of a VM in a row
    sc = symmetric("gated", load=0.8, switchover=Deterministic(0.05))
    hv = Hypervisor(sc, SEED, 0)
    hv.run_until_departures(5000)
    rec = hv.records()
    order = rec.order
    vms, starts, arrivals = rec.vm[order], rec.start[order], rec.arrival[order]
    visit_begin = starts[0]
    for j in range(1, order.size):
        if vms[j] != vms[j - 1] or starts[j] > rec.depart[order[j - 1]] + 1e-12:
            visit_begin = starts[j]  # a new visit (after a switchover)
        assert arrivals[j] <= visit_begin + 1e-12
    limited = symmetric("limited", load=0.6, switchover=Deterministic(0.05), limit=2)
    hv = Hypervisor(limited, SEED, 0)
    hv.run_until_departures(5000)
    rec = hv.records()
    vms, run = rec.vm[rec.order], 1
    for j in range(1, vms.size):  # back-to-back services of one VM, no switchover in between
        same_visit = vms[j] == vms[j - 1] and rec.start[rec.order[j]] == rec.depart[rec.order[j - 1]]
        run = run + 1 if same_visit else 1
        assert run <= 2


@pytest.mark.parametrize("discipline", ["exhaustive", "gated"])
def test_pays_each_vms_own_switchover(discipline):
    # deterministic per-VM switches 0.1, 0.25, 0.6 (r = 0.95): between the end of a visit to VM a and the
    # first service at VM b the pCPU pays R_a + ... + R_{b-1} plus whole cycles k r (empty visits), so
    # (gap - base) / r must be a whole number >= 0; a simulator that charged the wrong VM's law (e.g. the
    # switch *into* b instead of *out of* a) gives gaps like 0.25 after VM 0 and fails
    laws = {"vm0": Deterministic(0.1), "vm1": Deterministic(0.25), "vm2": Deterministic(0.6)}
    vms = [vm.VM(f"vm{i}", Exponential(rate), Exponential(2.0)) for i, rate in enumerate([0.3, 0.5, 0.2])]
    hv = Hypervisor(scenario(vms, discipline, laws), SEED, 0)
    hv.run_until_departures(3000)
    rec = hv.records()
    order = rec.order[~np.isnan(rec.depart[rec.order])]
    which, start, depart = rec.vm[order], rec.start[order], rec.depart[order]
    switch = np.array([0.1, 0.25, 0.6])
    r = switch.sum()
    checked = 0
    for j in range(1, order.size):
        a, b = int(which[j - 1]), int(which[j])
        gap = start[j] - depart[j - 1]
        if a == b and abs(gap) < 1e-9:
            continue  # the same visit
        base = sum(switch[m % 3] for m in range(a, a + (b - a) % 3))
        cycles = (gap - base) / r
        assert cycles > -1e-9 and abs(cycles - round(cycles)) < 1e-8, (a, b, gap)
        checked += 1
    assert checked > 500


def test_per_vm_switchover_mapping_errors_and_single_law_path():
    vms = [vm.VM("a", Exponential(0.3), Exponential(1.0)), vm.VM("b", Exponential(0.3), Exponential(1.0))]
    with pytest.raises(InvalidParameter, match=r"missing \['b'\]"):
        scenario(vms, "gated", {"a": Deterministic(0.1)})
    with pytest.raises(InvalidParameter, match=r"unknown \['c'\]"):
        scenario(vms, "gated", {"a": Deterministic(0.1), "b": Deterministic(0.1), "c": Deterministic(0.1)})
    # stability uses the per-VM means: 1-limited needs 0.6 + 0.3 * (0.1 + 1.3) = 1.02 < 1 -> unstable
    sc = scenario(vms, "limited", {"a": Deterministic(0.1), "b": Deterministic(1.3)}, 1)
    with pytest.raises(UnstableSystem, match="k-limited"):
        vm.simulate(sc, customers=1000, replications=2, seed=SEED)


def test_reproducible_and_switch_stream_separate():
    sc = symmetric("exhaustive")
    a = vm.simulate(sc, customers=2000, replications=2, seed=5)
    b = vm.simulate(sc, customers=2000, replications=2, seed=5)
    assert a.equals(b)
    # the switchover stream is its own: the arrival and service draws do not move with it
    other = symmetric("exhaustive", switchover=Exponential(1 / 0.6))
    h1, h2 = Hypervisor(sc, 5, 0), Hypervisor(other, 5, 0)
    h1.run_until_departures(500)
    h2.run_until_departures(500)
    n = min(len(h1.arrival), len(h2.arrival))
    np.testing.assert_array_equal(h1.records().arrival[:n], h2.records().arrival[:n])


#: customers per replication (x 20) of the slow pseudo-conservation runs: every mean-delay row below
#: 1 % family-wise at scale 1.  400,000 x 10 for all measured 0.74 / 3.43 / 3.51 / 2.97 / 2.84 % (suite_power
#: audit); each raised by (measured / 0.85 %)^2 x (t_19 / t_9)^2 for the 20 replications, and those that
#: then measured above 0.9 % (0.92, 0.93, 0.94 %: too close to 1 % at scale 0.25) once more
LONG_ASYMMETRIC = dict(zip(ASYMMETRIC, [120_000, 2_700_000, 2_400_000, 2_100_000, 1_900_000], strict=True))


@pytest.mark.slow
@pytest.mark.parametrize("label", list(ASYMMETRIC))
def test_pseudo_conservation_law_long_runs(label, scaled, slow_scale):
    """Every exact row inside its family-wise interval (1-limited: the exact rows, utilization, throughput and
    the work-weighted wait), each mean-delay row's half-width at most :func:`slow_power`."""
    vms, discipline, switchover, limit = ASYMMETRIC[label]
    sc = scenario(vms, discipline, switchover, limit)
    pred = vm.predict(sc)
    res = vm.simulate(sc, customers=scaled(LONG_ASYMMETRIC[label], 50_000), replications=SIZED_REPLICATIONS,
                      seed=SEED + 1)
    assert_family_inside(pred, res, metrics=None if pred.exact else ["utilization", "throughput",
                                                                    "work_weighted_wait"],
                         power=slow_power(slow_scale))
