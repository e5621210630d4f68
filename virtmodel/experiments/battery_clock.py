"""Battery entries for the clock area: lost ticks, catch-up, NTP/PTP offset errors, holdover, Allan deviation.

``clock_checks()`` returns :class:`~virtmodel.experiments.registry.Check`
entries whose scenarios are :class:`virtmodel.ClockScenario` (a scenario
kind: ``simulate`` runs ``replications`` independent replications and
ignores ``customers``).  Every prediction is exact (see
:meth:`virtmodel.ClockScenario.predict`).  Run-/gap-lengths are chosen so
that the cycle does not divide the 1-s sampling step, so the VMs' random
phases give the rate estimates a genuine spread.
"""

from __future__ import annotations

from ..analytic.clock import Oscillator, PathDelay
from ..clock import NTP, PTP, ClockScenario, Deschedule, HostDeschedule
from ..dists import Exponential
from ..events import Pause
from ..scenario import VM, Scenario
from .registry import Check, battery_area

__all__ = ["clock_checks"]


def _ticks() -> list[Check]:
    def sc(pattern, policy, k=2.0):
        return ClockScenario(n_vms=20, horizon=200.0, descheduling=pattern, tick_policy=policy, catchup_rate=k)

    return [
        Check("lost ticks: delay, run 30 ms / gap 13 ms", sc(Deschedule(0.030, 0.013), "delay")),
        Check("lost ticks: delay, exponential run 20 ms / gap 10 ms",
              sc(Deschedule(Exponential(50.0), Exponential(100.0)), "delay")),
        Check("lost ticks: merge, run 20 ms / gap 37 ms, tick 10 ms", sc(Deschedule(0.020, 0.037), "merge")),
        Check("catch-up k=2 keeps up (gap 23 ms <= (k-1) run 30 ms)", sc(Deschedule(0.030, 0.023), "catchup")),
        Check("catch-up k=2.5 falls behind: backlog growth (run 11 ms / gap 31 ms)",
              sc(Deschedule(0.011, 0.031), "catchup", k=2.5)),
        Check("lost ticks: delay, on/off intervals from a simulated FCFS host (others' load 0.4)",
              ClockScenario(n_vms=8, horizon=150.0, tick_policy="delay", descheduling=HostDeschedule(
                  Scenario(1, [VM("guest", Exponential(10.0), Exponential(100.0)),
                               VM("noisy", Exponential(40.0), Exponential(100.0))]), "guest"))),
    ]


def _sync() -> list[Check]:
    ntp = NTP(16.0, to_server=PathDelay(2e-3, 3e-3), from_server=PathDelay(1e-3, 0.5e-3))
    ptp = PTP(2.0, to_server=PathDelay(2e-4, 5e-5), from_server=PathDelay(1e-4, 1e-4))
    return [
        Check("NTP offset error, asymmetric exponential delays, min-delay filter of 8",
              ClockScenario(n_vms=30, horizon=16_000.0, step=16.0, sync=ntp)),
        Check("PTP (linuxptp PI, software gains): offset error and locked clock error, asymmetric delays",
              ClockScenario(n_vms=20, horizon=4000.0, step=2.0, sync=ptp, warmup=1000.0,
                            oscillator=Oscillator(frequency_ppm=20.0), frequency_spread_ppm=5.0)),
    ]


def _oscillators() -> list[Check]:
    osc = Oscillator(offset=1e-4, frequency_ppm=3.0, random_walk_fm=1e-16, white_pm=2e-6, ageing=1e-11)
    pauses = tuple(Pause(f"vm{i}", at=200.0 * i, duration=1000.0) for i in range(10))
    return [
        Check("oscillator: offset rms, Allan deviation (white PM + RW FM + ageing), rate",
              ClockScenario(n_vms=30, horizon=3000.0, oscillator=osc, frequency_spread_ppm=0.2, offset_spread=5e-5,
                            taus=(1.0, 10.0, 300.0))),
        Check("holdover: 10 VMs paused 1000 s (x0 + y0 T + D T^2/2, RW variance)",
              ClockScenario(n_vms=10, horizon=3000.0, oscillator=osc, frequency_spread_ppm=0.2, pauses=pauses,
                            taus=(10.0,))),
    ]


@battery_area("clock")
def clock_checks() -> list[Check]:
    """Lost ticks (delay, merge, catch-up feasible and not), NTP and PTP offset errors, oscillator and holdover."""
    return _ticks() + _sync() + _oscillators()
