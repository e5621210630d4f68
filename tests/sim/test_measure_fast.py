"""The numba path of ``measure`` (runs of >= COMPILED_MIN_JOBS jobs) gives the numbers of the
previous all-numpy implementation, bit for bit.

The reference is ``tests/sim/_measure_reference.py``: ``virtmodel/sim/measure.py`` as it was
before the kernels, verbatim.  Records come from real runs (the compiled engine, and the simpy
model for abandonment and VM stops) over random scenarios and seeds: one and several VMs,
1-3 pCPUs, whole-job and sliced policies, finite capacity, vCPU limits, batches and size bins,
and random windows; every value, batch value, Little's-law gap and size histogram must be
equal with ``==`` (no tolerance).
"""

from __future__ import annotations

import numpy as np
import pytest

import virtmodel as vm
from virtmodel.dists import Exponential, HyperExponential
from virtmodel.sim import _measure_numba as kernels
from virtmodel.sim import measure as measure_module
from virtmodel.sim.compiled import CompiledEngine
from virtmodel.sim.vmm import Hypervisor


def _load_reference():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "_measure_reference", Path(__file__).with_name("_measure_reference.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


reference = _load_reference()


def _same(fast, ref):
    assert fast.values.keys() == ref.values.keys()
    for key, x in ref.values.items():
        assert fast.values[key] == x or (np.isnan(x) and np.isnan(fast.values[key])), key
    assert fast.batches.keys() == ref.batches.keys()
    for key, x in ref.batches.items():
        np.testing.assert_array_equal(fast.batches[key], x, err_msg=str(key))
    assert fast.littles_gap == ref.littles_gap
    assert fast.by_size.keys() == ref.by_size.keys()
    for key, parts in ref.by_size.items():
        for a, b in zip(fast.by_size[key], parts, strict=True):
            np.testing.assert_array_equal(a, b)


def _scenario(rng):
    pcpus = int(rng.integers(1, 4))
    nvm = int(rng.integers(1, 4))
    policy = [vm.policies.FCFS(), vm.policies.Priority(), vm.policies.Priority(preemptive=True),
              vm.policies.SRPT(), vm.policies.RoundRobin(quantum=0.3),
              vm.policies.ProcessorSharing()][int(rng.integers(0, 6))]
    service = Exponential(1.0) if rng.random() < 0.5 else HyperExponential.balanced(1.0, 4.0)
    load = 0.6 + 0.3 * rng.random()
    vcpus = [int(rng.integers(1, pcpus + 1)) if rng.random() < 0.3 else None for _ in range(nvm)]
    vms = [vm.VM(f"v{i}", Exponential(load * pcpus / nvm), service, priority=i, vcpus=vcpus[i])
           for i in range(nvm)]
    capacity = pcpus + int(rng.integers(0, 6)) if rng.random() < 0.4 else None
    return vm.Scenario(pcpus, vms, policy=policy, capacity=capacity)


def _compare(sc, rec, rng, monkeypatch):
    t1 = rec.now
    t0 = float(rng.uniform(0, 0.3) * t1) if rng.random() < 0.8 else 0.0
    batches = int(rng.integers(2, 21)) if rng.random() < 0.5 else None
    bins = np.array([0.0, 0.5, 1.0, 2.0, 8.0, np.inf]) if rng.random() < 0.5 else None
    losses = sc.capacity is not None or any(e.verb == "stop" for e in sc.events)
    args = (rec, t0, t1, sc.names, sc.pcpus, losses, batches, bins, [v.vcpus for v in sc.vms])
    ref = reference.measure(*args)
    monkeypatch.setattr(measure_module, "COMPILED_MIN_JOBS", 0)
    fast = measure_module.measure(*args)
    monkeypatch.setattr(measure_module, "COMPILED_MIN_JOBS", np.inf)
    numpy_path = measure_module.measure(*args)
    _same(fast, ref)
    _same(numpy_path, ref)


@pytest.mark.parametrize("seed", range(24))
def test_compiled_records_match_reference(seed, monkeypatch):
    rng = np.random.default_rng([2026, seed])
    sc = _scenario(rng)
    eng = CompiledEngine(sc, seed, 0)
    eng.run_until_departures(int(rng.integers(2_000, 6_000)))
    _compare(sc, eng.records(), rng, monkeypatch)


@pytest.mark.parametrize("seed", range(4))
def test_abandonment_records_match_reference(seed, monkeypatch):
    rng = np.random.default_rng([7, seed])
    exp = Exponential(1.0)
    sc = vm.Scenario(2, [vm.VM("a", Exponential(1.2), exp, patience=Exponential(2.0)),
                         vm.VM("b", Exponential(0.8), exp, patience=Exponential(1.0), vcpus=1)],
                     allow_overload=True)
    model = Hypervisor(sc, seed, 0)
    model.run_until_departures(1_500)
    _compare(sc, model.records(), rng, monkeypatch)


def test_long_run_takes_the_kernel_path_and_matches(monkeypatch):
    """A run above the threshold goes through the kernels without patching (and still matches)."""
    exp = Exponential(1.0)
    sc = vm.Scenario(1, [vm.VM("hi", Exponential(0.45), exp, priority=0),
                         vm.VM("lo", Exponential(0.45), exp, priority=1)], policy=vm.policies.Priority())
    eng = CompiledEngine(sc, 3, 0)
    eng.run_until_departures(measure_module.COMPILED_MIN_JOBS + 1_000)
    rec = eng.records()
    calls = []
    for name in ("window_overlaps", "every_window_overlaps"):  # one VM / several VMs
        original = getattr(kernels, name)
        monkeypatch.setattr(kernels, name, lambda *a, fn=original: calls.append(1) or fn(*a))
    args = (rec, 100.0, rec.now, sc.names, 1, False, None, None, [None, None])
    _same(measure_module.measure(*args), reference.measure(*args))
    assert calls


def _random_stream(rng, max_jobs, n_vms):
    """Jobs on a 0.1 lattice (ties between arrivals and departures), 20 % still present (NaN
    departure), 10 % blocked, spread over ``n_vms`` VMs; and the departure order."""
    n = int(rng.integers(1, max_jobs))
    arrival = np.sort(np.round(rng.uniform(0, 10, n), 1))
    depart = arrival + np.round(rng.exponential(1.0, n), 1)
    depart[rng.random(n) < 0.2] = np.nan
    blocked = rng.random(n) < 0.1
    depart[blocked] = np.nan
    vmi = rng.integers(0, n_vms, n)
    done = np.flatnonzero(~np.isnan(depart))
    return arrival, depart, blocked, vmi, done[np.argsort(depart[done], kind="stable")]


def test_capped_integral_matches_capped_occupancy():
    """The streaming kernel reproduces stats.capped_occupancy (stable argsort, cumsum, np.interp)
    bit for bit: ties between starts and ends, open intervals, times before, on and after the
    break points; and it refuses (returns False) arrivals out of order."""
    from virtmodel.sim import stats

    rng = np.random.default_rng(11)
    for trial in range(300):
        arrival, depart, blocked, vmi, order = _random_stream(rng, 60, 2)
        cap = int(rng.integers(1, 4))
        times = np.sort(np.concatenate([rng.uniform(-1, 15, 3), rng.choice(np.r_[arrival, 0.0], 2)]))
        acc = ~blocked & (vmi == 1)
        ends = np.where(np.isnan(depart[acc]), np.inf, depart[acc])
        expected = stats.capped_occupancy(arrival[acc], ends, cap, times)
        out = np.empty(times.size)
        assert kernels.capped_integral(arrival, depart, blocked, vmi, order, 1, float(cap), times, out)
        np.testing.assert_array_equal(out, expected, err_msg=f"trial {trial}")
    shuffled = np.array([1.0, 0.5, 2.0])
    assert not kernels.capped_integral(shuffled, np.full(3, np.nan), np.zeros(3, bool), np.zeros(3, np.int64),
                                       np.empty(0, np.int64), 0, 1.0, np.array([0.0, 3.0]), np.empty(2))


def test_binned_parts_match_binned_average_on_a_lattice():
    """Interval ends and departures that fall exactly on bin edges (times on a lattice, edges on
    the same lattice) are binned as binned_average's searchsorted and np.histogram bin them."""
    from virtmodel.sim import stats

    rng = np.random.default_rng(5)
    edges = np.arange(2.0, 12.5, 0.5)
    for trial in range(100):
        n = int(rng.integers(1, 80))
        arrival = np.sort(rng.integers(0, 26, n) * 0.5)
        start = arrival + rng.integers(0, 4, n) * 0.5
        depart = start + rng.integers(0, 6, n) * 0.5
        start[rng.random(n) < 0.1] = np.nan
        depart[np.isnan(start) | (rng.random(n) < 0.1)] = np.nan
        blocked = np.zeros(n, dtype=bool)
        vmi = rng.integers(0, 2, n)
        acc = vmi == 1
        started = ~np.isnan(start)
        dep_open = np.where(np.isnan(depart), np.inf, depart)
        start_open = np.where(started, start, np.inf)
        parts, covering = kernels.binned_parts(arrival, start, depart, blocked, vmi, 1, edges, True)
        expected = [stats.binned_average(arrival[acc], dep_open[acc], edges),
                    stats.binned_average(start[acc & started], dep_open[acc & started], edges),
                    stats.binned_average(arrival[acc], start_open[acc], edges)]
        for kind in range(3):
            np.testing.assert_array_equal(kernels.binned_from_parts(parts, covering, edges, kind), expected[kind],
                                          err_msg=f"trial {trial}, kind {kind}")
        gone = np.flatnonzero(~np.isnan(depart))
        np.testing.assert_array_equal(kernels.departure_counts(gone, depart, edges),
                                      np.histogram(depart[gone], edges)[0])


def test_sample_quantiles_equal_numpy_quantile():
    """The radix order statistics plus numpy's interpolation give np.quantile bit for bit: ties,
    zeros, negative values, infinities, tiny and huge magnitudes; NaN and -0.0 go to numpy."""
    from virtmodel.sim.percentiles import sample_quantiles

    rng = np.random.default_rng(5)
    for trial in range(1_500):
        n = int(rng.integers(2, 2_500))
        kind = trial % 6
        if kind == 0:
            x = rng.exponential(1.0, n)
        elif kind == 1:
            x = np.round(rng.normal(0.0, 1.0, n), 1) + 0.0  # many ties, no -0.0
        elif kind == 2:
            x = np.where(rng.random(n) < 0.6, 0.0, rng.exponential(10.0, n))  # waits: an atom at 0
        elif kind == 3:
            x = rng.integers(0, 3, n) * rng.choice([1e-300, 1.0, 1e300])
        elif kind == 4:
            x = np.r_[rng.exponential(1.0, n), -np.inf, np.inf][:n]
        else:
            x = rng.normal(0.0, 1.0, n)
            x[rng.integers(0, n)] = rng.choice([np.nan, -0.0])
        for qs in ([0.5, 0.95, 0.99], [0.001, 0.25, 0.75, 0.999]):
            fast, ref = sample_quantiles(x, qs, kernels), np.quantile(x, qs)
            np.testing.assert_array_equal(fast, ref)
            assert np.array_equal(np.signbit(fast), np.signbit(ref))
    ranks = np.array([0, 7, 8, 9_999])
    x = rng.exponential(1.0, 10_000)
    out = np.empty(ranks.size)
    assert kernels.order_statistics(x, ranks, out)
    np.testing.assert_array_equal(out, np.sort(x)[ranks])
    assert not kernels.order_statistics(np.r_[x, np.nan], ranks, out)


def test_capped_integrals_equal_capped_integral_per_vm():
    """One pass for every VM gives each VM's single-VM kernel result bit for bit (ties between
    arrivals and departures, open intervals, blocked jobs), and refuses streams out of order."""
    rng = np.random.default_rng(12)
    for _trial in range(300):
        arrival, depart, blocked, vmi, order = _random_stream(rng, 80, 3)
        n = arrival.size
        caps = rng.integers(1, 4, 3).astype(float)
        times = np.sort(np.concatenate([rng.uniform(-1, 15, 3), rng.choice(np.r_[arrival, 0.0], 2)]))
        every = np.empty((3, times.size))
        assert kernels.capped_integrals(arrival, depart, blocked, vmi, order, caps, times, every)
        for v in range(3):
            one = np.empty(times.size)
            assert kernels.capped_integral(arrival, depart, blocked, vmi, order, v, caps[v], times, one)
            np.testing.assert_array_equal(every[v], one)
        if n > 2 and not np.all(blocked[:2]):
            shuffled = arrival[::-1].copy()
            if np.any(np.diff(shuffled[~blocked[::-1]]) < 0):
                assert not kernels.capped_integrals(shuffled, depart[::-1], blocked[::-1], vmi[::-1], order, caps,
                                                    times, every)
