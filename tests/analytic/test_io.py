"""Closed forms for shared I/O devices (virtmodel.analytic.io, virtmodel.IOScenario.predict)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import virtmodel as vm
from virtmodel.analytic import io as A
from virtmodel.analytic.allocation import water_fill
from virtmodel.dists import Deterministic, Erlang, Exponential, Gamma, HyperExponential, LogNormal, Uniform
from virtmodel.errors import InvalidParameter, UnstableSystem
from virtmodel.io import Dynamic, Hybrid, Static

EXP1 = Exponential(1.0)


def _two(strategy=None, rates=(0.25, 0.25), **kw):
    vms = [vm.IOVM(f"v{i}", vm.IOStream(r, EXP1)) for i, r in enumerate(rates)]
    return vm.IOScenario(vm.Device(bandwidth=1.0), vms, strategy=strategy or Dynamic(), **kw)


@pytest.mark.parametrize("law", [Exponential(0.5), Erlang(3, 1.5), Gamma(0.7, 2.0), HyperExponential.balanced(2.0, 4.0),
                                 Deterministic(3.0), Uniform(1.0, 4.0), LogNormal(2.0, 1.5)])
def test_scaled_law_has_scaled_moments(law):
    s = A.scaled(law, 0.25)
    for k in (1, 2, 3):
        assert s.moment(k) == pytest.approx(law.moment(k) * 0.25**k, rel=1e-12)


def test_request_time_moments_match_the_compound_formula():
    # S = a + X/B + N C with N = 4 exits of cost 0.01: E[S] = a + E[X]/B + E[N]E[C]
    size, bw, a = Exponential(1 / 64), 128.0, 0.1
    s = A.request_time(size, bw, a, Deterministic(4.0), Deterministic(0.01))
    ex, ex2 = 64.0, 2 * 64.0**2
    mean = a + ex / bw + 0.04
    second = a**2 + 2 * a * ex / bw + ex2 / bw**2 + 0.04**2 + 2 * 0.04 * (a + ex / bw)
    assert s.mean == pytest.approx(mean, rel=1e-12)
    assert s.moment(2) == pytest.approx(second, rel=1e-12)


def test_virtio_notifications_are_one_per_batch_on_average():
    assert A.notifications(8).mean == pytest.approx(1 / 8)
    p = vm.IOPath.virtio(batch=8, exit_cost=0.02)
    assert p.mean_exit_time == pytest.approx(0.0025)
    assert vm.IOPath.passthrough().mean_exit_time == 0.0


def test_fcfs_two_exponential_vms_are_mm1():
    # Kleinrock (1975) eq. (3.20): M/M/1 mean response 1 / (mu - lambda) = 2 at lambda 0.5, mu 1
    r = A.fcfs_response([0.25, 0.25], [EXP1, EXP1])
    assert [x.mean_response for x in r] == pytest.approx([2.0, 2.0], rel=1e-12)
    p = vm.predict(_two())
    assert p.exact
    assert p.value("mean_response", "v0") == pytest.approx(2.0)
    assert p.value("utilization", "all") == pytest.approx(0.5)
    # alone: M/M/1 at 0.25, 1 / 0.75
    assert p.value("interference", "v1") == pytest.approx(2.0 * 0.75)


def test_fcfs_with_reads_and_writes_is_pollaczek_khinchine_with_the_mixture():
    # reads 1 unit at bandwidth 1, writes at bandwidth 0.5 (time 2), D-laws: E[S^2] = 0.7 + 0.3 * 4
    dev = vm.Device(bandwidth=1.0, write_bandwidth=0.5)
    sc = vm.IOScenario(dev, [vm.IOVM("a", vm.IOStream(0.2, 1.0, read_fraction=0.7)),
                             vm.IOVM("b", vm.IOStream(0.1, 1.0, read_fraction=1.0))])
    lam = 0.3
    es = (0.2 * (0.7 * 1 + 0.3 * 2) + 0.1 * 1) / lam
    es2 = (0.2 * (0.7 * 1 + 0.3 * 4) + 0.1 * 1) / lam
    wq = lam * es2 / (2 * (1 - lam * es))  # Gross et al. (2008) eq. (5.11)
    p = vm.predict(sc)
    assert p.value("mean_response", "a") == pytest.approx(wq + 1.3, rel=1e-12)
    assert p.value("mean_response", "b") == pytest.approx(wq + 1.0, rel=1e-12)


def test_static_partition_is_mg1_at_the_share():
    r = A.partition_response(0.25, EXP1, 0.5)   # M/M/1 at rate 0.5: 1 / (0.5 - 0.25)
    assert r.mean_response == pytest.approx(4.0)
    p = vm.predict(_two(Static(shares={"v0": 0.5, "v1": 0.5})))
    assert p.value("mean_response", "v0") == pytest.approx(4.0)
    # M/M/1 response is Exp(mu - lambda): p95 = ln(20) / 0.25
    assert p.value("p95_response", "v0") == pytest.approx(math.log(20) / 0.25, rel=1e-7)


def test_dynamic_beats_static_at_equal_load():
    dyn, sta = vm.predict(_two()), vm.predict(_two(Static()))
    assert dyn.value("mean_response", "v0") < sta.value("mean_response", "v0")


@pytest.mark.parametrize("weights", [(1.0, 1.0, 1.0), (1.0, 2.0, 5.0)])
def test_long_run_shares_all_backlogged_are_proportional_to_weights(weights):
    shares, exact = A.long_run_shares([np.inf] * 3, weights)
    assert exact
    assert shares == pytest.approx(np.array(weights) / sum(weights))


def test_long_run_shares_with_light_vms_are_water_filling():
    demands = [0.05, np.inf, 0.3, np.inf]
    weights = [1.0, 1.0, 2.0, 3.0]
    shares, exact = A.long_run_shares(demands, weights)
    assert exact
    assert shares == pytest.approx(water_fill(1.0, demands, shares=weights))
    # 0.05 and 0.3 are below their levels; 0.65 split 1:3 between the backlogged VMs
    assert shares == pytest.approx([0.05, 0.1625, 0.3, 0.4875])
    _, exact_floors = A.long_run_shares(demands, weights, reservations=[0.0, 0.3, 0.0, 0.0])
    assert not exact_floors


def test_fair_prediction_against_backlogged_neighbours_is_exact():
    sc = _two(Dynamic("fair", weights={"v0": 1.0, "v1": 4.0}), rates=(0.1, math.inf))
    p = vm.predict(sc)
    assert p.exact
    # rate 1/5 whenever v0 has work: M/M/1 with mu = 0.2, lambda = 0.1
    assert p.value("mean_response", "v0") == pytest.approx(10.0)
    assert p.value("utilization", "v1") == pytest.approx(0.9)


def test_fair_prediction_with_idle_neighbours_is_a_flagged_bound():
    rows = _two(Dynamic("fair")).predict_rows()
    resp = {g: (v, e) for m, g, v, e in rows if m == "mean_response"}
    # guaranteed rate 1/2: M/M/1 at 0.5 with lambda 0.25 -> 4, an upper bound on GPS
    assert resp["v0"] == (pytest.approx(4.0), False)
    assert not vm.predict(_two(Dynamic("fair"))).exact


def test_hybrid_floors_guarantee_rates():
    g = A.guaranteed_shares([1.0, 1.0, 1.0], [0.5, 0.0, 0.0])
    assert g == pytest.approx([0.5, 0.25, 0.25])
    sc = _two(Hybrid(floors={"v0": 0.7}), rates=(math.inf, math.inf))
    p = vm.predict(sc)
    assert p.exact
    assert p.value("utilization", "v0") == pytest.approx(0.7)


def test_token_bucket_depth_one_is_md1():
    # M/D/1: W = rho D / (2 (1 - rho)) (Gross et al. 2008, §5.1.1), D = 1/r
    assert A.token_bucket_delay(0.3, 0.4) == pytest.approx(0.75 * 2.5 / (2 * 0.25))


def test_token_bucket_delay_falls_with_depth_and_vanishes_for_deep_buckets():
    d = [A.token_bucket_delay(0.3, 0.4, b) for b in (1, 2, 4, 8)]
    assert all(x > y for x, y in zip(d, d[1:], strict=False))
    assert A.token_bucket_delay(0.05, 1.0, 30) < 1e-12


def test_token_bucket_unstable():
    with pytest.raises(UnstableSystem):
        A.token_bucket_delay(1.0, 1.0)


def test_fcfs_unstable_raises():
    with pytest.raises(UnstableSystem, match="utilization"):
        vm.predict(_two(rates=(0.6, 0.6)))


# --------------------------------------------------------------------------- bad input


def test_negative_bandwidth_is_named():
    with pytest.raises(InvalidParameter, match=r"bandwidth must be > 0, got -1"):
        vm.Device(bandwidth=-1.0)


def test_cap_below_reservation_is_refused():
    with pytest.raises(InvalidParameter, match=r"floors\['v0'\] = 0.5 .* limit lets it use \(0.3 .* a cap must "
                                               r"not be below the reservation"):
        _two(Hybrid(floors={"v0": 0.5}), iops_limits={"v0": vm.TokenBucket(0.3, 1)})


def test_unknown_vm_in_weights_is_named():
    with pytest.raises(InvalidParameter, match=r"weights names unknown VMs \['db'\]: every key must be one of "
                                               r"\['v0', 'v1'\]"):
        _two(Dynamic("fair", weights={"db": 2.0}))
    with pytest.raises(InvalidParameter, match=r"iops_limits names unknown VMs \['x'\]"):
        _two(iops_limits={"x": vm.TokenBucket(1.0)})


@pytest.mark.parametrize("build, message", [
    (lambda: _two(Static(shares={"v0": 0.7, "v1": 0.6})), "shares must sum to at most 1"),
    (lambda: _two(Hybrid(floors={"v0": 0.7, "v1": 0.6})), "floors must sum to at most 1"),
    (lambda: _two(rates=(0.1, math.inf)), "always backlogged .* under FCFS"),
    (lambda: vm.IOStream(-2.0, 1.0), "rate must be a number > 0"),
    (lambda: vm.IOStream(1.0, 1.0, read_fraction=1.5), "read_fraction"),
    (lambda: vm.IOPath.emulated(exits=0, exit_cost=0.01), "exits must be"),
    (lambda: vm.IOPath("passthrough", batch=4), "batch is for kind='virtio'"),
    (lambda: vm.TokenBucket(rate=0.0), "rate must be > 0"),
    (lambda: _two(iops_limits={"v0": vm.TokenBucket(1.0, 2.5)}), "burst counts requests and must be an integer"),
    (lambda: Dynamic("fcfs", weights={"v0": 1.0}), "weights are for discipline='fair'"),
])
def test_bad_input(build, message):
    with pytest.raises(InvalidParameter, match=message):
        build()


def test_hybrid_shares_are_exact_when_the_demands_fit():
    shares, exact = A.long_run_shares([0.2, 0.3], [1.0, 1.0], reservations=[0.6, 0.0])
    assert exact and shares == pytest.approx([0.2, 0.3])
