"""DRF, Kaufman-Roberts, bin packing, the idle memory tax and the host allocation strategies (issue 10)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from virtmodel.analytic import erlang_b
from virtmodel.analytic.allocation import (
    best_fit,
    best_fit_decreasing,
    bin_packing_lower_bound,
    drf,
    ffd_bound,
    first_fit,
    first_fit_decreasing,
    host_strategies,
    idle_memory_tax,
    kaufman_roberts,
    kaufman_roberts_occupancy,
    water_fill,
)
from virtmodel.errors import InvalidParameter

# --------------------------------------------------------------------------- DRF


def test_drf_paper_example():
    """Ghodsi et al., NSDI 2011, §4 (Fig. 3): <9 CPU, 18 GB>; A <1, 4>, B <3, 1> -> A 3 tasks, B 2."""
    assert drf([9, 18], {"A": [1, 4], "B": [3, 1]}) == pytest.approx({"A": 3.0, "B": 2.0}, rel=1e-12)
    assert drf([9, 18], {"A": [1, 4], "B": [3, 1]}, whole_tasks=True) == {"A": 3, "B": 2}
    # dominant shares are equal: A 3*4/18 = 2/3 of memory, B 2*3/9 = 2/3 of CPU
    assert 3 * 4 / 18 == pytest.approx(2 * 3 / 9)


def test_drf_weights_and_max_tasks():
    # weight 2 for A doubles its dominant share relative to B's while nothing saturates earlier
    x = drf([100, 100], {"A": [1, 0], "B": [0, 1]}, weights={"A": 2.0})
    assert x == pytest.approx({"A": 100.0, "B": 100.0})  # disjoint resources: both saturate their own
    x = drf([10, 10], {"A": [1, 1], "B": [1, 1]}, weights={"A": 3.0})
    assert x == pytest.approx({"A": 7.5, "B": 2.5})
    x = drf([10, 10], {"A": [1, 1], "B": [1, 1]}, max_tasks={"A": 2})
    assert x == pytest.approx({"A": 2.0, "B": 8.0})


@st.composite
def instances(draw, users=(2, 4), resources=(2, 3)):
    m = draw(st.integers(*resources))
    n = draw(st.integers(*users))
    cap = [draw(st.floats(1.0, 100.0)) for _ in range(m)]
    dem = {}
    for u in range(n):
        vec = [draw(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.7, 5.0])) for _ in range(m)]
        if not any(vec):
            vec[draw(st.integers(0, m - 1))] = 1.0
        dem[f"u{u}"] = vec
    return np.array(cap), dem


def _used(cap, dem, x):
    return sum(x[u] * np.asarray(d) for u, d in dem.items())


@settings(max_examples=150, deadline=None)
@given(instances())
def test_drf_properties(inst):
    """Ghodsi et al. (2011), §5.1: sharing incentive, envy-freeness, Pareto efficiency (fluid DRF)."""
    cap, dem = inst
    n = len(dem)
    x = drf(cap, dem)
    used = _used(cap, dem, x)
    assert np.all(used <= cap * (1 + 1e-9))
    for u, d in dem.items():
        d = np.asarray(d)
        pos = d > 0
        # sharing incentive: at least what 1/n of every resource would run
        assert x[u] >= np.min(cap[pos] / n / d[pos]) * (1 - 1e-9)
        # envy-freeness: u cannot run more tasks with another user's bundle
        for v, e in dem.items():
            bundle = x[v] * np.asarray(e)
            assert np.min(bundle[pos] / d[pos]) <= x[u] * (1 + 1e-9) + 1e-9
        # Pareto efficiency: every user needs a saturated resource (no one can grow alone)
        assert np.any(used[pos] >= cap[pos] * (1 - 1e-9))


@settings(max_examples=150, deadline=None)
@given(instances(), st.data())
def test_drf_strategy_proof(inst, data):
    """Ghodsi et al. (2011), §5.1: a user lying about its demand vector runs no more tasks."""
    cap, dem = inst
    liar = data.draw(st.sampled_from(sorted(dem)))
    truth = np.asarray(dem[liar])
    honest = drf(cap, dem)[liar]
    # a lie: inflate some entries (deflating one would leave the user unable to run its tasks)
    factors = np.array([data.draw(st.sampled_from([1.0, 1.0, 1.5, 3.0])) for _ in truth])
    extra = np.array([data.draw(st.sampled_from([0.0, 0.0, 0.5])) for _ in truth])
    lie = truth * factors + extra
    lied = drf(cap, {**dem, liar: lie})[liar]
    pos = truth > 0
    useful = np.min(lied * lie[pos] / truth[pos])  # tasks its true demand can run on the lied bundle
    assert useful <= honest * (1 + 1e-9) + 1e-9


def test_drf_bad_input():
    with pytest.raises(InvalidParameter, match="negative demand"):
        drf([1, 1], {"A": [-1, 1]})
    with pytest.raises(InvalidParameter, match="one entry per resource"):
        drf([1, 1], {"A": [1, 1, 1]})
    with pytest.raises(InvalidParameter, match="capacity"):
        drf([0, 1], {"A": [1, 1]})
    with pytest.raises(InvalidParameter, match="weights"):
        drf([1, 1], {"A": [1, 1]}, weights={"A": -1.0})
    with pytest.raises(InvalidParameter, match="some resource"):
        drf([1, 1], {"A": [0, 0]})

# --------------------------------------------------------------------------- Erlang B and Kaufman-Roberts


@pytest.mark.parametrize(("servers", "load", "blocking"), [
    # Standard Erlang B tables (e.g. Iversen, Teletraffic Engineering and Network Planning, ITU-D/ITC
    # handbook, 2005/2015, Erlang's B table): offered traffic [Erl] at which B = 1 %, 2 %, 5 % for c
    # servers, as printed to 4-5 significant digits (hence rel 2e-3).
    (10, 4.4612, 0.01), (10, 5.0840, 0.02), (10, 6.2157, 0.05),
    (20, 12.031, 0.01), (50, 37.901, 0.01), (100, 84.064, 0.01),
])
def test_erlang_b_table(servers, load, blocking):
    assert erlang_b(servers, load) == pytest.approx(blocking, rel=2e-3)
    assert kaufman_roberts(servers, [load], [1])[0] == pytest.approx(erlang_b(servers, load), rel=1e-12)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 400), st.floats(0.01, 500.0), st.integers(1, 8))
def test_kr_one_flavour_is_erlang_b(capacity, load, size):
    """One flavour of size b on C units is Erlang B with floor(C/b) servers."""
    if size > capacity:
        size = capacity
    got = kaufman_roberts(capacity, [load], [size])[0]
    assert got == pytest.approx(erlang_b(capacity // size, load), rel=1e-9, abs=1e-300)


def test_kr_brute_force_product_form():
    """Against the product form summed over every feasible state (Kaufman 1981, eq. 4)."""
    C, a, b = 7, np.array([1.3, 0.6, 0.25]), np.array([1, 2, 3])
    weight = {}
    for n in itertools.product(*(range(C // s + 1) for s in b)):
        if np.dot(n, b) <= C:
            weight[n] = math.prod(a[k] ** n[k] / math.factorial(n[k]) for k in range(3))
    total = sum(weight.values())
    expect = [sum(w for n, w in weight.items() if np.dot(n, b) > C - b[k]) / total for k in range(3)]
    assert kaufman_roberts(C, a, b) == pytest.approx(expect, rel=1e-12)
    occ = kaufman_roberts_occupancy(C, a, b)
    assert occ.sum() == pytest.approx(1.0)


def test_kr_large_capacity_and_bad_input():
    got = kaufman_roberts(100_000, [60_000.0, 10_000.0], [1, 4])
    assert np.all(np.isfinite(got)) and got[0] < got[1] < 1
    with pytest.raises(InvalidParameter, match="never fits"):
        kaufman_roberts(4, [1.0], [5])
    with pytest.raises(InvalidParameter):
        kaufman_roberts(4, [-1.0], [1])
    with pytest.raises(InvalidParameter):
        kaufman_roberts(4, [1.0], [1.5])

# --------------------------------------------------------------------------- bin packing


def _optimum(sizes, cap):
    """Exact minimum number of bins by trying k = lower bound, ... (tiny instances only)."""
    n = len(sizes)
    order = sorted(range(n), key=lambda i: -sizes[i])
    for k in range(bin_packing_lower_bound(sizes, cap), n + 1):
        loads = [0.0] * k

        def place(j, loads=loads, k=k):
            if j == n:
                return True
            seen = set()
            for b in range(k):
                if loads[b] in seen or loads[b] + sizes[order[j]] > cap + 1e-12:
                    continue
                seen.add(loads[b])
                loads[b] += sizes[order[j]]
                if place(j + 1):
                    return True
                loads[b] -= sizes[order[j]]
            return False

        if place(0):
            return k
    return n


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 20), min_size=1, max_size=9))
def test_packings_valid_and_ffd_within_bound(items):
    sizes = [v / 20 for v in items]
    opt = _optimum(sizes, 1.0)
    lb = bin_packing_lower_bound(sizes, 1.0)
    assert lb <= opt
    for fn in (first_fit, first_fit_decreasing, best_fit, best_fit_decreasing):
        bins = fn(sizes, 1.0)
        assert sorted(i for b in bins for i in b) == list(range(len(sizes)))
        assert all(sum(sizes[i] for i in b) <= 1.0 + 1e-9 for b in bins)
        assert len(bins) >= opt
    assert len(first_fit_decreasing(sizes, 1.0)) <= ffd_bound(opt) + 1e-9


def test_ffd_on_random_instances_against_lower_bound():
    """Large random instances: FFD uses at most 11/9 of ceil(sum) + 6/9... of the lower bound plus slack."""
    rng = np.random.default_rng(np.random.SeedSequence(10))
    for _ in range(20):
        sizes = rng.uniform(0.05, 0.6, size=300)
        lb = bin_packing_lower_bound(sizes, 1.0)
        used = len(first_fit_decreasing(sizes, 1.0))
        assert lb <= used <= ffd_bound(lb) + 1  # OPT is within a bin or so of the lower bound here
    with pytest.raises(InvalidParameter, match="fits in no bin"):
        first_fit([0.5, 1.5], 1.0)
    with pytest.raises(InvalidParameter):
        best_fit([-0.1], 1.0)

# --------------------------------------------------------------------------- water-filling and memory


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 10), st.floats(0, 5), st.floats(0, 10), st.floats(0.1, 5)),
                min_size=1, max_size=6), st.floats(0.0, 40.0))
def test_water_fill_sums_and_respects_bounds(rows, cap):
    d, r, extra, s = (np.array(v) for v in zip(*rows, strict=True))
    lim = r + extra
    if r.sum() > cap:
        cap = math.fsum(r)
    x = water_fill(cap, d, reservations=r, limits=lim, shares=s)
    upper = np.minimum(d, lim)
    assert np.all(x <= upper + 1e-9) and np.all(x >= np.minimum(r, d) - 1e-9)
    assert x.sum() == pytest.approx(min(cap, upper.sum()), rel=1e-9, abs=1e-9)


def test_idle_memory_tax():
    """Waldspurger, OSDI 2002, §5.2: the idle VM pays; tau = 0 is a plain proportional share."""
    x = idle_memory_tax(1000, [1, 1], [0, 400], 0.75, limits=[1000, 1000])
    assert x.tolist() == pytest.approx([350.0, 650.0])
    # equal adjusted ratio rho = S / (W + k (P - W)) with k = 4
    k = 4.0
    assert 1 / (0 + k * 350) == pytest.approx(1 / (400 + k * (650 - 400)))
    assert idle_memory_tax(1000, [1, 3], [500, 0], 0.0, limits=[1e4, 1e4]).tolist() == pytest.approx([250, 750])
    # nothing to reclaim when the configured sizes fit
    assert idle_memory_tax(1000, [1, 1], [0, 0], limits=[300, 300]).tolist() == [300, 300]
    # a reservation holds
    x = idle_memory_tax(1000, [1, 1], [0, 900], 0.99, reservations=[200, 0], limits=[1000, 1000])
    assert x[0] == pytest.approx(200.0) and x.sum() == pytest.approx(1000.0)
    with pytest.raises(InvalidParameter, match="must be >= reservations"):
        idle_memory_tax(1000, [1, 1], [0, 0], reservations=[200, 0], limits=[100, 1000])
    with pytest.raises(InvalidParameter, match="sum to at most memory"):
        idle_memory_tax(1000, [1, 1], [0, 0], reservations=[600, 600])
    with pytest.raises(InvalidParameter):
        idle_memory_tax(1000, [1, 1], [-1, 0])

# --------------------------------------------------------------------------- three strategies


def test_host_strategies_closed_forms():
    from virtmodel.analytic import MMc

    t = host_strategies(8, [1.5, 0.5], 1.0, reservations=[2, 2], limits=[8, 8])
    v = t.set_index(["strategy", "group", "metric"]).value
    assert v["minimum", "vm0", "mean_response"] == pytest.approx(float(MMc(1.5, 1.0, 2).mean_response))
    assert v["maximum", "vm0", "mean_response"] == pytest.approx(float(MMc(1.5, 1.0, 8).mean_response))
    assert v["dynamic", "all", "mean_response"] == pytest.approx(float(MMc(2.0, 1.0, 8).mean_response))
    assert v["minimum", "all", "utilization"] == pytest.approx(2.0 / 4)
    assert v["dynamic", "all", "utilization"] == pytest.approx(2.0 / 8)
    assert v["maximum", "all", "pcpus_needed"] == 16
    # scalability: dynamic VM can grow from its contention share (4) to the whole host (8)
    assert v["dynamic", "vm0", "scalability"] == pytest.approx(2.0)
    assert v["minimum", "vm0", "scalability"] == 1.0
    assert t.exact.all()


def test_host_strategies_bad_input():
    with pytest.raises(InvalidParameter, match="sum to at most pcpus"):
        host_strategies(4, [1, 1], 1.0, reservations=[3, 3], limits=[4, 4])
    with pytest.raises(InvalidParameter, match="must be >= reservations"):
        host_strategies(4, [1, 1], 1.0, reservations=[2, 2], limits=[1, 4])
    with pytest.raises(InvalidParameter):
        host_strategies(4, [-1, 1], 1.0, reservations=[1, 1], limits=[4, 4])


def test_host_strategies_general_service():
    """Minimum with one reserved pCPU per VM is M/G/1 (here M/D/1: 1 + rho/(2(1 - rho))), exact."""
    from virtmodel.dists import Deterministic

    t = host_strategies(4, [0.7, 0.7], Deterministic(1.0), reservations=[1, 1], limits=[4, 4])
    v = t.set_index(["strategy", "group", "metric"])
    assert v.value["minimum", "vm0", "mean_response"] == pytest.approx(1 + 0.7 / (2 * 0.3))
    assert v.exact["minimum", "all", "mean_response"]
    assert not v.exact["dynamic", "all", "mean_response"]  # M/D/4: Allen-Cunneen, approximate
    assert v.value["dynamic", "vm0", "scalability"] == pytest.approx(2.0)


def test_multi_resource_loss_against_product_form_and_kr():
    """Two resources: against the product form summed over every feasible state (Ross 1995, ch. 1)."""
    from virtmodel.analytic.allocation import multi_resource_loss

    cap, a, d = (6, 9), np.array([1.2, 0.7, 0.4]), np.array([[1, 3], [2, 1], [3, 3]])
    weight = {}
    for n in itertools.product(*(range(7) for _ in range(3))):
        use = np.array(n) @ d
        if np.all(use <= cap):
            weight[n] = math.prod(a[k] ** n[k] / math.factorial(n[k]) for k in range(3))
    total = sum(weight.values())
    expect = [sum(w for n, w in weight.items() if np.any(np.array(n) @ d + d[k] > cap)) / total for k in range(3)]
    got, q = multi_resource_loss(cap, a, d)
    assert got == pytest.approx(expect, rel=1e-12)
    assert q.sum() == pytest.approx(1.0)
    # memory that never binds: Kaufman-Roberts on the first resource
    got, _ = multi_resource_loss((10, 1000), [3.0, 1.0], [[1, 1], [3, 2]])
    assert got == pytest.approx(kaufman_roberts(10, [3.0, 1.0], [1, 3]), rel=1e-12)
    # large loads do not overflow
    got, _ = multi_resource_loss((200, 400), [150.0, 30.0], [[1, 2], [4, 4]])
    assert np.all(np.isfinite(got)) and 0 < got[0] < got[1] < 1
    with pytest.raises(InvalidParameter, match="never fits"):
        multi_resource_loss((4, 4), [1.0], [[1, 5]])
    with pytest.raises(InvalidParameter):
        multi_resource_loss((4, 4), [-1.0], [[1, 1]])
