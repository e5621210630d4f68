"""The guest-clock simulator against the closed forms of virtmodel.analytic.clock.

Statistical checks: seeded replications, the analytic value inside the
simulated interval, family-wise over the rows of a test (Bonferroni: level
1 - 0.05 / rows, no miss allowed), with runs sized so that that interval's
relative half-width (stated per test, asserted) is below 2 % and a 2 % error
would fail -- except where a test states a wider bound for a noisy quantity
(Allan deviation at long tau, rate error and holdover of a few paused VMs).
"""

from __future__ import annotations

import numpy as np
import pytest

import virtmodel as vm
from virtmodel.analytic import clock as C
from virtmodel.analytic.clock import Oscillator, PathDelay
from virtmodel.clock import NTP, PTP, Deschedule
from virtmodel.dists import Exponential
from virtmodel.errors import InvalidParameter
from virtmodel.events import Pause
from virtmodel.sim.clock import _lag_kernel, clock_metrics, lag_series, simulate_clocks


def _inside(pred, res, metric, group="all", max_half_width=0.02, rows=1):
    """Analytic value inside the simulated interval at level ``1 - 0.05 / rows`` (Bonferroni over the
    ``rows`` checks of a test, no miss allowed), and that interval's relative half-width below
    ``max_half_width``."""
    value = pred.value(metric, group)
    lo, hi = res.ci(metric, group, level=1 - 0.05 / rows)
    assert lo <= value <= hi, (metric, group, value, lo, hi)
    assert (hi - lo) / 2 < max_half_width * abs(value), (metric, group, (hi - lo) / 2 / abs(value))


def test_free_running_oscillator_matches_closed_forms():
    """Offset rms, Allan deviation (white PM + RW FM + drift), rate error and holdover.

    30 VMs x 3000 s x 12 replications, 7 rows family-wise: relative half-widths 0.3-1.6 % (asserted
    < 2 %) for the offset rms and the Allan deviation at tau 1 and 10; Allan deviation at tau 300
    4.3 % (asserted < 5 %), rate error 2.1 % (< 5 %), holdover 2.1 % (< 8 %).
    """
    osc = Oscillator(offset=1e-4, frequency_ppm=3.0, random_walk_fm=1e-16, white_pm=2e-6, ageing=1e-11)
    sc = vm.ClockScenario(n_vms=30, horizon=3000.0, oscillator=osc, frequency_spread_ppm=0.2, offset_spread=5e-5,
                          taus=(1.0, 10.0, 300.0),
                          pauses=tuple(Pause(f"vm{i}", at=100.0 * i, duration=1000.0) for i in range(10)))
    pred = vm.predict(sc)
    res = vm.simulate(sc, replications=12, seed=3)
    _inside(pred, res, "clock_offset_rms", rows=7)
    _inside(pred, res, "allan_deviation", "tau=1", rows=7)
    _inside(pred, res, "allan_deviation", "tau=10", rows=7)
    _inside(pred, res, "allan_deviation", "tau=300", max_half_width=0.05, rows=7)
    _inside(pred, res, "clock_rate_error", max_half_width=0.05, rows=7)
    # ten paused VMs per replication: the holdover change is noisy
    _inside(pred, res, "holdover_offset", max_half_width=0.08, rows=7)
    _inside(pred, res, "holdover_offset_rms", max_half_width=0.08, rows=7)


def test_random_walk_fm_sampled_exactly():
    """RW FM alone: the exact per-step sampling gives AVAR = q tau / 3 at tau = 1 step too (0.6 % half-width)."""
    sc = vm.ClockScenario(n_vms=50, horizon=4000.0, oscillator=Oscillator(random_walk_fm=3e-18), taus=(1.0, 4.0))
    pred = vm.predict(sc)
    assert pred.value("allan_deviation", "tau=1") == pytest.approx(1e-9)
    res = vm.simulate(sc, replications=6, seed=5)
    _inside(pred, res, "allan_deviation", "tau=1", rows=2)
    _inside(pred, res, "allan_deviation", "tau=4", rows=2)


@pytest.mark.parametrize("policy, run, gap, k", [
    ("delay", 0.03, 0.01, 2.0), ("discard", 0.03, 0.06, 2.0), ("merge", 0.02, 0.035, 2.0),
    ("catchup", 0.03, 0.025, 2.0), ("catchup", 0.01, 0.03, 2.5), ("kvmclock", 0.03, 0.09, 2.0),
])
def test_lost_ticks_periodic(policy, run, gap, k):
    """Periodic run/gap at a uniform random phase: the rate error is exact in expectation."""
    sc = vm.ClockScenario(n_vms=8, horizon=100.0, descheduling=Deschedule(run, gap), tick_policy=policy,
                          catchup_rate=k, tick_period=0.01)
    pred = vm.predict(sc)
    expect = C.lost_tick_rate_error(run, gap, policy, 0.01, k)
    assert pred.value("clock_rate_error") == pytest.approx(expect, abs=1e-15)
    res = vm.simulate(sc, replications=5, seed=1)
    lo, hi = res.ci("clock_rate_error")
    tol = 1e-12 + 1e-3 * abs(expect)
    assert lo - tol <= expect <= hi + tol
    # within 0.5 % of a nonzero rate; a feasible catch-up's bounded backlog moves the rate by < 1e-4
    assert abs(res.mean("clock_rate_error") - expect) <= 5e-3 * abs(expect) + 1e-4


def test_lost_ticks_exponential_delay():
    """Exponential runs/gaps (started in equilibrium): rate error -E[g]/(E[s]+E[g]); half-width ~1 %."""
    d = Deschedule(Exponential(1 / 0.02), Exponential(1 / 0.01))
    sc = vm.ClockScenario(n_vms=20, horizon=200.0, descheduling=d, tick_policy="delay")
    pred = vm.predict(sc)
    assert pred.value("clock_rate_error") == pytest.approx(-1 / 3)
    res = vm.simulate(sc, replications=6, seed=2)
    _inside(pred, res, "clock_rate_error", max_half_width=0.01)


def test_catchup_backlog_kernel():
    """The numba walk reproduces the fluid backlog: feasible stays bounded by g, infeasible grows per cycle."""
    s, g, k = 0.01, 0.03, 2.5  # infeasible: per cycle the backlog grows by g - (k-1) s = 0.015
    lengths = np.tile([s, g], 1000)
    t = np.array([0.04 * 100, 0.04 * 200])  # cycle starts
    lag = _lag_kernel(t, lengths, True, 2, 0.01, k)
    np.testing.assert_allclose(np.diff(lag), 100 * 0.015, rtol=1e-9)
    lag = _lag_kernel(np.linspace(0, 39.99, 4000), np.tile([0.03, 0.02], 1000), True, 2, 0.01, 2.0)
    assert lag.max() <= 0.02 + 1e-12


def test_lag_series_shapes_and_policies():
    sc = vm.ClockScenario(n_vms=3, horizon=10.0, descheduling=Deschedule(0.03, 0.01), tick_policy="kvmclock")
    assert np.all(lag_series(sc, np.arange(11.0), 1, 0) == 0)


def test_ntp_offset_error_matches_filter_formula():
    """NTP with asymmetric exponential queueing: the filter's sample error (mean and rms) vs quadrature.

    30 VMs, 1,000 polls of 16 s each, 4 replications, 2 rows family-wise: rms half-width 1.3 %, mean
    error 1.8 % (asserted < 3 %).
    """
    ntp = NTP(16.0, to_server=PathDelay(2e-3, 3e-3), from_server=PathDelay(1e-3, 0.5e-3))
    sc = vm.ClockScenario(n_vms=30, horizon=16_000.0, step=16.0, sync=ntp, taus=(16.0,))
    pred = vm.predict(sc)
    res = vm.simulate(sc, replications=4, seed=9)
    _inside(pred, res, "sync_offset_error", max_half_width=0.03, rows=2)
    _inside(pred, res, "sync_offset_error_rms", rows=2)


def test_delta_over_two_bound_on_every_exchange():
    ntp = NTP(8.0, to_server=PathDelay(1e-3, 5e-3), from_server=PathDelay(0.0, 1e-4))
    tr = simulate_clocks(vm.ClockScenario(n_vms=10, horizon=800.0, sync=ntp, taus=(1.0,)), 4, 0)
    assert tr.raw_offset_error.size == 10 * 101
    assert np.all(np.abs(tr.raw_offset_error) <= tr.raw_delay / 2 + 1e-15)


def test_ntp_pll_locks_frequency():
    """A 30 ppm oscillator under NTP: the RFC 5905 loop (FREQ state, then PLL) takes out the frequency."""
    ntp = NTP(16.0, to_server=PathDelay(1e-3, 1e-4), from_server=PathDelay(1e-3, 1e-4))
    sc = vm.ClockScenario(n_vms=5, horizon=20_000.0, oscillator=Oscillator(frequency_ppm=30.0), sync=ntp,
                          warmup=15_000.0, taus=(1.0,))
    out = clock_metrics(simulate_clocks(sc, 1, 0))
    assert abs(out["clock_rate_error", "all"]) < 1e-7  # from 3e-5 free-running
    assert out["clock_offset_max", "all"] < 2e-3
    assert out["clock_latency", "all"] >= C.ntp_slew_half_life(16.0)


def test_ntp_steps():
    """RFC 5905: an error of 0.5 s (> STEPT = 128 ms) at the first sample (NSET) is stepped at once; a 200 ppm
    clock then drifts past STEPT again during the 900-s frequency measurement (FREQ), which ends in a second
    step with the measured frequency; the PLL then takes out the rest."""
    sc = vm.ClockScenario(n_vms=2, horizon=4000.0, oscillator=Oscillator(offset=0.5, frequency_ppm=200.0),
                          sync=NTP(64.0), taus=(1.0,))
    tr = simulate_clocks(sc, 1, 0)
    assert tr.steps_taken == 4
    assert np.all(np.abs(tr.error[:, :2]) < 0.01)  # the series is recorded after the step at the first exchange
    assert np.all(np.abs(tr.error[:, 900]) > 0.128)
    assert np.all(np.abs(tr.error[:, -1]) < 2e-3)


def test_ntp_cannot_follow_lost_ticks():
    """25 % of ticks lost (delay policy) is far beyond NTP's 500 ppm frequency range: the error keeps growing."""
    sc = vm.ClockScenario(n_vms=2, horizon=3000.0, descheduling=Deschedule(0.03, 0.01), tick_policy="delay",
                          sync=NTP(64.0), taus=(1.0,))
    out = clock_metrics(simulate_clocks(sc, 1, 0))
    assert out["clock_offset_max", "all"] > 1.0


def test_ptp_servo_locks_and_chain_grows():
    """linuxptp PI (software gains): locks to a few us; along a chain the error spread grows."""
    ptp = PTP(1.0, to_server=PathDelay(1e-4, 2e-5), from_server=PathDelay(1e-4, 2e-5), topology="chain")
    sc = vm.ClockScenario(n_vms=4, horizon=4000.0, oscillator=Oscillator(frequency_ppm=20.0, white_pm=1e-7),
                          frequency_spread_ppm=5.0, sync=ptp, warmup=1000.0, taus=(1.0,))
    tr = simulate_clocks(sc, 2, 0)
    rms = tr.per_vm()["clock_offset_rms"].to_numpy()
    assert rms[0] < 2e-5 and rms[-1] > rms[0]
    kp, ki = ptp.gains
    assert clock_metrics(tr)["clock_latency", "all"] == pytest.approx(0.5 / (kp + ki))


def test_ptp_offset_error_prediction():
    """PTP (no filter): mean error (d_to - d_from)/2 in RFC sign; rms from quadrature (2 rows family-wise:
    half-widths 0.8 % for the rms, 1.9 % for the mean error)."""
    ptp = PTP(2.0, to_server=PathDelay(2e-4, 5e-5), from_server=PathDelay(1e-4, 1e-4))
    sc = vm.ClockScenario(n_vms=20, horizon=4000.0, step=2.0, sync=ptp, taus=(2.0,))
    pred = vm.predict(sc)
    assert pred.value("sync_offset_error") == pytest.approx((2.5e-4 - 2e-4) / 2)
    res = vm.simulate(sc, replications=4, seed=4)
    _inside(pred, res, "sync_offset_error", max_half_width=0.05, rows=2)
    _inside(pred, res, "sync_offset_error_rms", rows=2)


def test_same_seed_same_trace_and_workers():
    sc = vm.ClockScenario(n_vms=3, horizon=600.0, oscillator=Oscillator(random_walk_fm=1e-18, white_pm=1e-6),
                          sync=NTP(64.0), taus=(1.0,))
    a = simulate_clocks(sc, 7, 1).error
    b = simulate_clocks(sc, 7, 1).error
    np.testing.assert_array_equal(a, b)
    r1 = vm.simulate(sc, replications=2, seed=7, workers=1).summary
    r2 = vm.simulate(sc, replications=2, seed=7, workers=2).summary
    np.testing.assert_array_equal(r1["mean"].to_numpy(), r2["mean"].to_numpy())


def test_consistency_and_worst_pair():
    sc = vm.ClockScenario(n_vms=3, horizon=100.0, oscillator=Oscillator(white_pm=1e-3), epsilon=1e-9, taus=(1.0,))
    tr = simulate_clocks(sc, 1, 0)
    out = clock_metrics(tr)
    assert out["clock_consistency", "all"] == 0.0
    a, b, sep = tr.worst_pair()
    assert a != b and sep == pytest.approx(out["clock_pair_spread_max", "all"])


@pytest.mark.parametrize("kwargs, name", [
    (dict(sync=None, tick_period=0.0), "tick_period"),
    (dict(catchup_rate=0.5), "catchup_rate"),
    (dict(horizon=-1.0), "horizon"),
    (dict(pauses=(Pause("web", at=1.0, duration=2.0),)), "Pause"),
    (dict(pauses=(Pause("vm0", at=1.0),)), "pauses"),
    (dict(tick_policy="skip"), "tick_policy"),
    (dict(taus=(7.5,), step=1.0), "taus"),
])
def test_bad_scenario_input(kwargs, name):
    with pytest.raises(InvalidParameter, match=name):
        vm.ClockScenario(**kwargs)


@pytest.mark.parametrize("factory, name", [
    (lambda: NTP(poll_interval=0.0), "poll_interval"), (lambda: NTP(poll_interval=-64), "poll_interval"),
    (lambda: PTP(sync_interval=0.0), "sync_interval"), (lambda: NTP(topology="ring"), "topology"),
    (lambda: Deschedule(0.0, 0.01), "run"), (lambda: Deschedule(0.03, -1.0), "gap"),
])
def test_bad_protocol_input(factory, name):
    with pytest.raises(InvalidParameter, match=name):
        factory()


def test_lost_ticks_from_simulated_host():
    """vCPU on/off intervals from a simulated FCFS host: under delay the rate error is minus the other VMs'
    utilization (0.4 here); 8 clocks x 150 s x 6 replications give a half-width of about 1.2 %."""
    from virtmodel.clock import HostDeschedule

    host = vm.Scenario(1, [vm.VM("guest", Exponential(10.0), Exponential(100.0)),
                           vm.VM("noisy", Exponential(40.0), Exponential(100.0))])
    sc = vm.ClockScenario(n_vms=8, horizon=150.0, descheduling=HostDeschedule(host, "guest"), tick_policy="delay")
    pred = vm.predict(sc)
    assert pred.value("clock_rate_error") == pytest.approx(-0.4)
    res = vm.simulate(sc, replications=6, seed=6)
    _inside(pred, res, "clock_rate_error")
    with pytest.raises(vm.NoClosedForm):
        vm.predict(vm.ClockScenario(n_vms=2, horizon=10.0, descheduling=HostDeschedule(host, "guest"),
                                    tick_policy="merge"))
    with pytest.raises(InvalidParameter, match="vm must be one of"):
        HostDeschedule(host, "web")


def test_pause_stops_exchanges_under_ntp():
    """A paused VM makes no exchanges (holdover): 2 VMs, one paused for half of 64 polls."""
    sc = vm.ClockScenario(n_vms=2, horizon=640.0, sync=NTP(10.0), pauses=(Pause("vm1", at=100.0, duration=320.0),))
    tr = simulate_clocks(sc, 1, 0)
    assert tr.raw_delay.size == 65 + 65 - 32
    assert tr.holdover.shape == (1,)


@pytest.mark.parametrize("hardware", [False, True])
def test_ptp_locked_offset_rms(hardware):
    """The simulated linuxptp servo's clock error (after locking) against the Lyapunov closed form.

    20 clocks x 3000 s after a 1000-s warm-up x 10 replications: half-width 0.4 % (hardware
    timestamps) and 0.7 % (software)."""
    ptp = PTP(1.0, to_server=PathDelay(2e-4, 5e-5), from_server=PathDelay(1e-4, 1e-4), hardware_timestamps=hardware)
    sc = vm.ClockScenario(n_vms=20, horizon=4000.0, oscillator=Oscillator(frequency_ppm=20.0),
                          frequency_spread_ppm=5.0, sync=ptp, warmup=1000.0)
    pred = vm.predict(sc)
    res = vm.simulate(sc, replications=10, seed=3)
    _inside(pred, res, "clock_offset_rms")
