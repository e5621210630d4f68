"""Simulation of shared I/O devices (virtmodel.sim.io) against the closed forms, and the token-bucket guarantee.

Every exact row of ``IOScenario.predict_rows()`` must lie inside the
simulated interval at the family-wise level 1 - 0.05/m (m exact rows in the
test, Bonferroni), and every interval must be narrow enough that a 2 % error
fails it: the relative half-width of each mean latency at that level is
asserted below ``HALF_WIDTH`` (stated per test).  Runs are seeded, so the
tests are deterministic.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import virtmodel as vm
from virtmodel.dists import Deterministic, Exponential, Uniform
from virtmodel.io import Dynamic, Hybrid, Static
from virtmodel.sim.io import _lindley, io_requests, token_bucket_release, worst_window_excess

EXP1 = Exponential(1.0)
DISK = vm.Device(bandwidth=1.0, overhead=0.1, write_bandwidth=0.5)


def _family_check(sc, replications, seed, half_width, metrics=None):
    """Every exact row inside its Bonferroni interval; latency rows' relative half-widths below ``half_width``."""
    rows = [r for r in sc.predict_rows() if r[3] and (metrics is None or r[0] in metrics)]
    res = vm.simulate(sc, replications=replications, seed=seed)
    level = 1 - 0.05 / len(rows)
    widths = {}
    for metric, group, value, _ in rows:
        lo, hi = res.ci(metric, group, level=level)
        assert lo <= value <= hi, (metric, group, value, lo, hi)
        if metric in ("mean_response", "p95_response", "mean_throttle_delay"):
            widths[metric, group] = (hi - lo) / 2 / value
    assert widths and max(widths.values()) < half_width, widths
    return widths


def test_fcfs_virtio_reads_writes_inside_interval():
    """Three VMs, reads and writes at different bandwidths, overhead 0.1, virtio kicks every 4: load 0.54.

    Half-width of every mean latency < 2 % (measured 1.2-1.9 % at 300,000 time units x 10).
    """
    vms = [vm.IOVM("a", vm.IOStream(0.2, EXP1, 0.7)), vm.IOVM("b", vm.IOStream(0.15, Exponential(2.0), 1.0)),
           vm.IOVM("c", vm.IOStream(0.1, Uniform(0.5, 1.5), 0.5))]
    sc = vm.IOScenario(DISK, vms, path=vm.IOPath.virtio(4, 0.05), horizon=300_000.0)
    _family_check(sc, 10, 11, 0.02)


def test_fcfs_p95_inside_interval():
    """p95 from the inverted Pollaczek-Khinchine transform, pass-through, exponential sizes, load 0.7.

    Half-width < 2 % for the mean latencies and p95 (measured ~1.9 % at 1,000,000 x 10).
    """
    vms = [vm.IOVM("a", vm.IOStream(0.3, EXP1)), vm.IOVM("b", vm.IOStream(0.2, Exponential(0.5)))]
    sc = vm.IOScenario(vm.Device(1.0), vms, horizon=1_000_000.0)
    _family_check(sc, 10, 12, 0.02)


def test_static_emulated_inside_interval():
    """Static shares 0.4 / 0.6, emulated path (3 exits of 0.02 per request); partition loads 0.73 and 0.48.

    Half-width < 2 % (measured ~1.9 % at 1,200,000 x 10).
    """
    vms = [vm.IOVM("a", vm.IOStream(0.2, EXP1, 0.7)), vm.IOVM("b", vm.IOStream(0.25, EXP1, 1.0))]
    sc = vm.IOScenario(DISK, vms, strategy=Static({"a": 0.4, "b": 0.6}), path=vm.IOPath.emulated(3, 0.02),
                       horizon=1_200_000.0)
    _family_check(sc, 10, 13, 0.02)


def test_fair_queueing_against_backlogged_neighbours():
    """GPS with weights 1:1:2, VM a Poisson (load 0.53 of its rate 1/4), b and c always backlogged.

    The long-run shares equal the water-filling shares of the weights (a takes its demand 0.132, b and c
    split the rest 1:2); a's latency is M/G/1 at rate 1/4.  Half-width of a's latency < 2 %
    (measured 1.6 % at 500,000 x 10).
    """
    vms = [vm.IOVM("a", vm.IOStream(0.12, EXP1)), vm.IOVM("b", vm.IOStream(math.inf, EXP1)),
           vm.IOVM("c", vm.IOStream(math.inf, Uniform(0.5, 1.5)))]
    sc = vm.IOScenario(DISK, vms, strategy=Dynamic("fair", {"a": 1, "b": 1, "c": 2}), horizon=500_000.0)
    demand = [0.12 * sc.mean_service("a"), np.inf, np.inf]
    shares = vm.analytic.allocation.water_fill(1.0, demand, shares=[1, 1, 2])
    p = vm.predict(sc)
    assert [p.value("utilization", g) for g in "abc"] == pytest.approx(shares.tolist())
    _family_check(sc, 10, 14, 0.02)


@pytest.mark.parametrize("weights", [{"a": 1, "b": 1, "c": 1}, {"a": 1, "b": 2, "c": 5}])
def test_fair_shares_all_backlogged_equal_water_filling(weights):
    """Every VM backlogged: the measured share of each equals water_fill(1, inf, shares=weights) = w / sum w."""
    vms = [vm.IOVM(n, vm.IOStream(math.inf, Uniform(0.5, 1.5))) for n in "abc"]
    sc = vm.IOScenario(vm.Device(1.0), vms, strategy=Dynamic("fair", weights), horizon=2_000.0)
    res = vm.simulate(sc, replications=3, seed=3)
    expected = vm.analytic.allocation.water_fill(1.0, [np.inf] * 3, shares=list(weights.values()))
    for n, x in zip("abc", expected, strict=True):
        assert res.mean("utilization", n) == pytest.approx(x, rel=1e-9)


def test_fair_shares_with_light_and_overloaded_vms():
    """A light VM takes its demand; two VMs that ask more than their shares (finite rates) split the rest by weight."""
    vms = [vm.IOVM("light", vm.IOStream(0.1, Deterministic(1.0))),
           vm.IOVM("heavy1", vm.IOStream(0.8, Deterministic(1.0))),
           vm.IOVM("heavy2", vm.IOStream(0.8, Deterministic(1.0)))]
    sc = vm.IOScenario(vm.Device(1.0), vms, strategy=Dynamic("fair", {"light": 1, "heavy1": 1, "heavy2": 3}),
                       horizon=20_000.0, warmup=0.2)
    res = vm.simulate(sc, replications=5, seed=4)
    expected = vm.analytic.allocation.water_fill(1.0, [0.1, 0.8, 0.8], shares=[1, 1, 3])   # 0.1, 0.225, 0.675
    for n, x in zip(["light", "heavy1", "heavy2"], expected, strict=True):
        lo, hi = res.ci("utilization", n)
        assert abs(res.mean("utilization", n) - x) < 0.01 * x + 1e-3, (n, x, lo, hi)


def test_hybrid_floor_all_backlogged():
    vms = [vm.IOVM(n, vm.IOStream(math.inf, EXP1)) for n in "ab"]
    sc = vm.IOScenario(vm.Device(1.0), vms, strategy=Hybrid(floors={"a": 0.7}), horizon=1_000.0)
    res = vm.simulate(sc, replications=2, seed=1)
    assert res.mean("utilization", "a") == pytest.approx(0.7, rel=1e-9)
    assert res.mean("utilization", "b") == pytest.approx(0.3, rel=1e-9)


def test_token_bucket_is_never_exceeded_over_any_window():
    """IOPS bucket (rate 0.4, depth 4) and bandwidth bucket (rate 0.6, depth 2, sizes <= 1.5), overloaded input."""
    vms = [vm.IOVM("a", vm.IOStream(0.5, EXP1)), vm.IOVM("b", vm.IOStream(0.8, Uniform(0.5, 1.5)))]
    sc = vm.IOScenario(vm.Device(4.0), vms, strategy=Static(), horizon=20_000.0,
                       iops_limits={"a": vm.TokenBucket(0.4, 4), "b": vm.TokenBucket(2.0, 3)},
                       bandwidth_limits={"b": vm.TokenBucket(0.6, 2.0)})
    rec = io_requests(sc, 7, 0)
    a, b = rec.vm == 0, rec.vm == 1
    assert np.all(rec.release >= rec.arrival)
    assert worst_window_excess(rec.release[a], np.ones(a.sum()), 0.4, 4) <= 1e-9
    assert worst_window_excess(rec.release[b], rec.size[b], 0.6, 2.0) <= 1e-9
    assert worst_window_excess(rec.release[b], np.ones(b.sum()), 2.0, 3) <= 1e-9
    # the check has teeth: the unthrottled arrivals break the same bucket
    assert worst_window_excess(rec.arrival[a], np.ones(a.sum()), 0.4, 4) > 1
    # and the buckets are work-conserving: the overloaded streams are released at the cap's rate
    assert rec.release[a].size / rec.release[a].max() == pytest.approx(0.4, rel=0.01)


def test_token_bucket_release_is_the_shifted_md1_wait_job_for_job():
    """Release_n = A_n + (V_n - (b-1)/r)^+ with V_n Lindley's M/D/1 wait (the identity behind the closed form)."""
    rng = np.random.default_rng(0)
    arrival = np.cumsum(rng.exponential(1 / 0.3, 20_000))
    for burst in (1, 2, 5):
        release = token_bucket_release(arrival, np.ones_like(arrival), [(0.4, burst, True)])
        d = _lindley(arrival, np.full(arrival.size, 2.5))
        wait = d - 2.5 - arrival
        assert np.max(np.abs(release - arrival - np.maximum(wait - (burst - 1) / 0.4, 0.0))) < 1e-9


def test_throttle_delay_inside_interval():
    """IOPS cap 0.5 with depth 2 on Poisson 0.3 requests: E[(W_MD1 - 2)^+].  Half-width < 2 %
    (measured ~1.6 % at 1,000,000 x 10)."""
    vms = [vm.IOVM("a", vm.IOStream(0.3, EXP1))]
    sc = vm.IOScenario(vm.Device(1.0), vms, strategy=Static(), iops_limits={"a": vm.TokenBucket(0.5, 2)},
                       horizon=1_000_000.0)
    _family_check(sc, 10, 15, 0.02, metrics={"mean_throttle_delay", "utilization", "throughput"})


def test_same_seed_same_numbers_and_workers_do_not_matter():
    vms = [vm.IOVM("a", vm.IOStream(0.2, EXP1)), vm.IOVM("b", vm.IOStream(math.inf, EXP1))]
    sc = vm.IOScenario(vm.Device(1.0), vms, strategy=Dynamic("fair"), horizon=2_000.0)
    one = vm.simulate(sc, replications=3, seed=9)
    two = vm.simulate(sc, replications=3, seed=9, workers=2)
    assert one.summary.equals(two.summary)


@pytest.mark.slow
def test_slow_fair_and_throttle_at_one_percent(slow_scale):
    """The fair-queueing latency and the throttle delay with half-widths < 1 % at scale 1 (< 1 % / sqrt(scale)).

    Fair queueing: 20 replications x 1,000,000 time units (10 x 1,500,000 measured 1.08 % for VM a's mean
    response at scale 1 and failed; the suite_power audit found it).
    """
    vms = [vm.IOVM("a", vm.IOStream(0.12, EXP1)), vm.IOVM("b", vm.IOStream(math.inf, EXP1)),
           vm.IOVM("c", vm.IOStream(math.inf, Uniform(0.5, 1.5)))]
    sc = vm.IOScenario(DISK, vms, strategy=Dynamic("fair", {"a": 1, "b": 1, "c": 2}),
                       horizon=1_000_000.0 * slow_scale)
    _family_check(sc, 20, 21, 0.01 / math.sqrt(min(slow_scale, 1.0)))
    sc = vm.IOScenario(vm.Device(1.0), [vm.IOVM("a", vm.IOStream(0.3, EXP1))], strategy=Static(),
                       iops_limits={"a": vm.TokenBucket(0.5, 2)}, horizon=4_000_000.0 * slow_scale)
    _family_check(sc, 10, 22, 0.01 / math.sqrt(min(slow_scale, 1.0)),
                  metrics={"mean_throttle_delay", "utilization", "throughput"})


def test_fair_simulator_with_one_vm_is_fcfs_job_for_job():
    """The event-driven fluid simulator and the vectorised Lindley recursion give the same completions."""
    vms = [vm.IOVM("a", vm.IOStream(0.6, EXP1, 0.5))]
    fair = io_requests(vm.IOScenario(DISK, vms, strategy=Dynamic("fair"), horizon=5_000.0), 3, 0)
    fcfs = io_requests(vm.IOScenario(DISK, vms, horizon=5_000.0), 3, 0)
    assert fair.completion.size > 1000
    assert np.allclose(fair.completion, fcfs.completion, rtol=1e-12, atol=1e-9)
    assert np.allclose(fair.busy, fcfs.busy, rtol=1e-9)
