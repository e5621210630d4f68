"""Speed of the guest-clock simulator: one day of 100 VM clocks at 1-s resolution with 64-s NTP polling.

Each VM: a 20 ppm oscillator (spread 10 ppm across VMs) with random-walk FM
(q = 1e-18 /s) and 1 us white PM, an NTP client polling every 64 s over
paths of 1 ms + Exp(0.5 ms) each way, the min-delay filter of 8 and the
RFC 5905 PLL.  Timed: ``ClockScenario.replicate`` (simulation and every
metric, Allan deviations at 1, 10 and 100 s included), median of
``--repeats`` runs.  Target (issue 9): under 5 s, linear in VMs and in days.

The baseline, measured in the same run, is the same model stepped the
plain way: a Python loop over seconds (numpy across VMs) that draws the
oscillator noise, runs ``clock_adjust`` every second and the filter and PLL
every poll; it is timed on a tenth of a day and scaled to the full day.

    python benchmarks/bench_clock.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import virtmodel as vm
from virtmodel.analytic.clock import Oscillator, PathDelay
from virtmodel.clock import NTP

try:
    from _machine import machine
except ImportError:  # run as a module
    from benchmarks._machine import machine

DAY = 86_400.0
OSC = Oscillator(frequency_ppm=20.0, random_walk_fm=1e-18, white_pm=1e-6)


def scenario(n_vms, days, warmup=3600.0):
    return vm.ClockScenario(n_vms=n_vms, horizon=DAY * days, oscillator=OSC, frequency_spread_ppm=10.0,
                            sync=NTP(64.0), warmup=warmup)


def per_second_loop(n_vms, seconds, seed=1):
    """The same oscillator + NTP model, one Python iteration per simulated second (vectorised across VMs)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    poll, pll, L = 64, 16, 8
    q, sigma = OSC.random_walk_fm, OSC.white_pm
    y0 = OSC.frequency + 10e-6 * rng.standard_normal(n_vms)
    x = np.zeros(n_vms)
    y = np.zeros(n_vms)
    corr = np.zeros(n_vms)
    freq = np.zeros(n_vms)
    left = np.zeros(n_vms)
    w_off = np.zeros((n_vms, L))
    w_delay = np.full((n_vms, L), np.inf)
    delay = PathDelay(1e-3, 0.5e-3)
    out = np.empty((n_vms, seconds))
    for t in range(seconds):
        e = x + corr + sigma * rng.standard_normal(n_vms)
        if t % poll == 0:
            d1, d2 = delay.sample(rng, n_vms), delay.sample(rng, n_vms)
            w_off[:, (t // poll) % L] = -e + (d1 - d2) / 2
            w_delay[:, (t // poll) % L] = d1 + d2
            pick = np.argmin(w_delay, axis=1)
            off = w_off[np.arange(n_vms), pick]
            freq += off * poll / (4 * pll * poll) ** 2
            left = off
        dtemp = left / (pll * poll)
        left = left - dtemp
        corr += freq + dtemp
        z1, z2 = rng.standard_normal(n_vms), rng.standard_normal(n_vms)
        x += y0 + y + np.sqrt(q) * (0.5 * z1 + z2 / np.sqrt(12.0))
        y += np.sqrt(q) * z1
        out[:, t] = e
    return out


def timed(fn, repeats):
    """Median wall and CPU (process) seconds of ``repeats`` calls, and the last result.

    The CPU time is reported beside the wall time because the machines are
    shared: under load the wall time grows while the CPU time stays close to
    what the work costs.
    """
    walls, cpus, out = [], [], None
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return float(np.median(walls)), float(np.median(cpus)), out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    print(f"Machine: {machine()}")
    print(f"median of {args.repeats}; 1-s resolution, NTP poll 64 s, filter 8, RFC 5905 PLL\n")
    scenario(2, 0.01, warmup=0.0).replicate(1, 0)  # compile the numba kernel and warm the imports

    t_day, c_day, out = timed(lambda: scenario(100, 1.0).replicate(1, 0), args.repeats)
    tenth = int(DAY / 10)
    t_loop, c_loop, _ = timed(lambda: per_second_loop(100, tenth), args.repeats)
    t_loop, c_loop = 10 * t_loop, 10 * c_loop
    print("One day, 100 VMs")
    print("| simulator | wall s | CPU s | VM-seconds/s (wall) | vs per-second loop (wall) |")
    print("|---|---:|---:|---:|---:|")
    print(f"| per-second Python loop (numpy across VMs; timed on 0.1 day, x10) | {t_loop:.2f} | {c_loop:.2f} | "
          f"{100 * DAY / t_loop:,.0f} | 1.00x |")
    print(f"| virtmodel ClockScenario.replicate | {t_day:.2f} | {c_day:.2f} | {100 * DAY / t_day:,.0f} | "
          f"{t_loop / t_day:.2f}x |")
    print(f"\nclock_offset_rms {out['clock_offset_rms', 'all']:.3g} s, "
          f"clock_latency {out['clock_latency', 'all']:.0f} s\n")

    print("Scaling (seconds per replication; per VM-day in the last column)")
    print("| VMs | days | wall s | CPU s | CPU s per VM-day |")
    print("|---:|---:|---:|---:|---:|")
    for n, days in ((25, 1.0), (50, 1.0), (100, 1.0), (100, 0.5), (100, 2.0)):
        t, c, _ = timed(lambda n=n, days=days: scenario(n, days).replicate(1, 0), args.repeats)
        print(f"| {n} | {days:g} | {t:.2f} | {c:.2f} | {c / (n * days):.4f} |")


if __name__ == "__main__":
    main()
