r"""Vectorised simulator of guest clocks: oscillators, lost ticks, NTP (RFC 5905 PLL) and PTP (linuxptp PI).

One replication of a :class:`virtmodel.ClockScenario` is a clock-error
series e[i, j] (guest time minus true time of VM i at time j * step) for all
VMs at once.  The loop runs over synchronisation intervals (or blocks of
samples without synchronisation), never over seconds or VMs: within one
interval every quantity has a closed form that numpy evaluates for the
whole (VMs x samples) block.

* Oscillator: the random-walk frequency and its integral are sampled
  exactly per step as a correlated Gaussian pair (Var dy = q h, Var dx =
  q h^3/3, Cov = q h^2/2), so the Allan variance of the simulated phase is
  exactly q tau/3 at every tau = m h; white PM is added to each reading.
* Lost ticks: the vCPU's run/gap intervals are walked by a numba kernel
  (fluid backlog; see :mod:`virtmodel.analytic.clock`): delay/discard add
  every gap to the lag, merge adds the gap minus min(gap, h), catch-up
  drains the backlog at k - 1 while running, kvm-clock adds nothing.
* NTP: at every poll each VM measures theta_hat = theta + (d_to - d_from)/2,
  delta = d_to + d_from; the clock filter picks the minimum-delay sample of
  the last ``filter_length``, used at most once; the RFC 5905 PLL updates
  frequency and phase, and between polls ``clock_adjust`` slews the phase
  geometrically (closed form over the interval).
* PTP: at every sync the linuxptp PI servo (``pi.c``) sets a new frequency;
  the phase between syncs is linear.
* Pauses: a paused VM makes no exchanges; its clock holds over with the
  discipline's last frequency (and the rest of the current slew).  The guest
  is assumed to be given its time back at resume (QEMU stops kvm-clock
  during ``stop``; libvirt's ``domtime --sync`` or the guest agent resets
  it), so only the oscillator's holdover error remains.

Random streams (:func:`virtmodel.sim.streams.system_rng`): oscillator
noise, initial spreads, network delays and descheduling each from their own
source, so e.g. changing the network leaves the oscillator noise unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from ..analytic import clock as C
from .streams import system_rng

__all__ = ["ClockTrace", "simulate_clocks", "clock_metrics", "lag_series"]

#: system random-source ids
OSCILLATOR, SPREAD, NETWORK, DESCHEDULE = 200, 201, 202, 203
_POLICY_CODE = {"delay": 0, "discard": 0, "merge": 1, "catchup": 2, "kvmclock": 3}
_BLOCK = 1024  # samples per block of oscillator noise


@dataclass
class ClockTrace:
    """One simulated replication.

    Attributes
    ----------
    times : ndarray, shape (K + 1,)
    error : ndarray, shape (n_vms, K + 1)
        Guest clock minus true time (s).
    sync_errors : ndarray
        theta_hat - theta of the samples the filter offered (NTP, window
        full) or of every sync (PTP).
    latencies : ndarray
        Per-update latency (s), see :class:`virtmodel.ClockScenario`.
    holdover : ndarray
        Change of the clock error over each pause.
    raw_offset_error, raw_delay : ndarray
        Every exchange's theta_hat - theta and delta (for the delta/2 bound).
    steps_taken : int
        Clock steps by the discipline.
    """

    scenario: object
    times: np.ndarray
    error: np.ndarray
    sync_errors: np.ndarray
    latencies: np.ndarray
    holdover: np.ndarray
    raw_offset_error: np.ndarray
    raw_delay: np.ndarray
    steps_taken: int = 0

    def per_vm(self):
        """Per-VM metrics as a DataFrame: vm, clock_offset_rms, clock_offset_max, clock_precision."""
        import pandas as pd

        w = round(self.scenario.warmup / self.scenario.step)
        e = self.error[:, w:]
        return pd.DataFrame({"vm": list(self.scenario.vm_names), "clock_offset_rms": np.sqrt(np.mean(e**2, axis=1)),
                             "clock_offset_max": np.max(np.abs(e), axis=1),
                             "clock_precision": np.mean(np.abs(e), axis=1)})

    def worst_pair(self):
        """(vm_a, vm_b, separation): the pair of VMs that drift furthest apart after warm-up."""
        w = round(self.scenario.warmup / self.scenario.step)
        e = self.error[:, w:]
        j = int(np.argmax(e.max(axis=0) - e.min(axis=0)))
        names = self.scenario.vm_names
        return names[int(np.argmax(e[:, j]))], names[int(np.argmin(e[:, j]))], float(e[:, j].max() - e[:, j].min())


# ---------------------------------------------------------------------------
# Lost ticks
# ---------------------------------------------------------------------------


def _jit(fn):
    """``numba.njit(cache=True)``, or per-process compilation where numba finds no writable cache location."""
    try:
        return numba.njit(cache=True)(fn)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return numba.njit(fn)


@_jit
def _lag_kernel(times, lengths, first_is_run, code, h, k):  # pragma: no cover (numba)
    """Guest lag at sorted ``times`` for alternating intervals ``lengths`` (starting with a run iff first_is_run)."""
    out = np.empty(times.shape[0])
    t0 = 0.0
    lag = 0.0
    is_run = first_is_run
    j = 0
    n = times.shape[0]
    for length in lengths:
        t1 = t0 + length
        while j < n and times[j] < t1:
            dt = times[j] - t0
            if is_run:
                if code == 2:
                    out[j] = max(0.0, lag - (k - 1.0) * dt)
                else:
                    out[j] = lag
            else:
                out[j] = lag if code == 3 else lag + dt
            j += 1
        if code != 3:
            if is_run:
                if code == 2:
                    lag = max(0.0, lag - (k - 1.0) * length)
            else:
                lag += length
                if code == 1:
                    lag -= min(length, h)
        if j >= n:
            break
        t0 = t1
        is_run = not is_run
    return out


def lag_series(scenario, times, seed, replication) -> np.ndarray:
    """The lost-tick lag (s) of every VM at ``times``: shape (n_vms, len(times)); the clock error is minus this."""
    n = scenario.n_vms
    d = scenario.descheduling
    if d is None or scenario.tick_policy == "kvmclock":
        return np.zeros((n, len(times)))
    rng = system_rng(seed, replication, DESCHEDULE)
    horizon = float(times[-1]) + 1e-9
    code = _POLICY_CODE[scenario.tick_policy]
    out = np.empty((n, len(times)))
    if hasattr(d, "intervals"):  # on/off intervals from a simulated host, one host run per clock
        for i in range(n):
            lengths, first_is_run = d.intervals(float(times[-1]), seed, replication * n + i)
            out[i] = _lag_kernel(np.asarray(times, dtype=float), lengths, first_is_run, code, scenario.tick_period,
                                 scenario.catchup_rate)
        return out
    ms, mg = d.mean_run, d.mean_gap
    for i in range(n):  # one numba walk per VM over its intervals
        if d.periodic:
            cycles = int(horizon / (ms + mg)) + 3
            phase = rng.uniform(0.0, ms + mg)
            lengths = np.empty(2 * cycles)
            lengths[0::2], lengths[1::2] = ms, mg
            first_is_run = phase < ms
            if first_is_run:
                lengths[0] = ms - phase
            else:
                lengths = lengths[1:].copy()
                lengths[0] = ms + mg - phase
        else:
            cycles = int(1.2 * horizon / (ms + mg)) + 50
            runs = d.run.sample(rng, cycles) if hasattr(d.run, "sample") else np.full(cycles, ms)
            gaps = d.gap.sample(rng, cycles) if hasattr(d.gap, "sample") else np.full(cycles, mg)
            first_is_run = bool(rng.uniform() < ms / (ms + mg))
            lengths = np.empty(2 * cycles)
            if first_is_run:
                lengths[0::2], lengths[1::2] = runs, gaps
            else:
                lengths[0::2], lengths[1::2] = gaps, runs
            while lengths.sum() <= horizon:
                lengths = np.concatenate([lengths, lengths])  # pragma: no cover (practically never)
        out[i] = _lag_kernel(np.asarray(times, dtype=float), lengths, first_is_run, code, scenario.tick_period,
                             scenario.catchup_rate)
    return out


# ---------------------------------------------------------------------------
# The replication
# ---------------------------------------------------------------------------


class _Oscillators:
    """Per-VM oscillator state, advanced block by block with exact Gaussian increments."""

    def __init__(self, scenario, seed, replication):
        osc = scenario.oscillator
        n = scenario.n_vms
        spread = system_rng(seed, replication, SPREAD)
        self.x0 = osc.offset + scenario.offset_spread * spread.standard_normal(n)
        self.y0 = osc.frequency + scenario.frequency_spread_ppm / 1e6 * spread.standard_normal(n)
        self.ageing = osc.ageing
        self.q = osc.random_walk_fm
        self.sigma = osc.white_pm
        self.h = scenario.step
        self.rng = system_rng(seed, replication, OSCILLATOR)
        self.x_rw = np.zeros(n)
        self.y_rw = np.zeros(n)

    def block(self, t_start, m):
        """Phase error (with white PM) at t_start + i h, i = 0..m-1; advances the state by m steps.

        Random-walk FM over one step: dy = sqrt(q h) z1 and the phase gained
        beyond y h is sqrt(q h^3) (z1/2 + z2/sqrt(12)), the exact joint law
        of a Wiener increment and its integral.  Written with in-place
        operations on few (n, m) arrays: this is the simulator's hot spot.
        """
        n = self.x0.shape[0]
        h = self.h
        t = t_start + h * np.arange(m)
        out = np.multiply.outer(self.y0, t)
        out += self.x0[:, None]
        if self.ageing:
            out += 0.5 * self.ageing * t**2
        if self.q > 0:
            a = np.sqrt(self.q * h)
            b = np.sqrt(self.q * h**3)
            z1 = self.rng.standard_normal((n, m))
            z2 = self.rng.standard_normal((n, m))
            inc = np.cumsum(z1, axis=1)
            y_end = inc[:, -1] * a
            inc -= z1  # sum of the earlier z1: the random-walk frequency at the start of each step, over a
            inc *= a * h
            inc += (self.y_rw * h)[:, None]
            z1 *= 0.5 * b
            inc += z1
            z2 *= b / np.sqrt(12.0)
            inc += z2
            cum = np.cumsum(inc, axis=1)
            out += cum
            out -= inc  # phase at the start of each step
            out += self.x_rw[:, None]
            self.x_rw = self.x_rw + cum[:, -1]
            self.y_rw = self.y_rw + y_end
        if self.sigma > 0:
            out += self.sigma * self.rng.standard_normal((n, m))
        return out


def simulate_clocks(scenario, seed, replication, keep_raw=True) -> ClockTrace:
    """Simulate one replication of ``scenario``; see the module docstring."""
    n = scenario.n_vms
    h = scenario.step
    K = round(scenario.horizon / h)
    times = h * np.arange(K + 1)
    osc = _Oscillators(scenario, seed, replication)
    lag = lag_series(scenario, times, seed, replication)
    error = np.empty((n, K + 1))
    sync = scenario.sync
    paused = _pause_mask(scenario, times)
    # the free-running clocks first, in large blocks; the discipline then adds its corrections interval by interval
    for start in range(0, K + 1, _BLOCK):
        m = min(_BLOCK, K + 1 - start)
        error[:, start:start + m] = osc.block(times[start], m)
    error -= lag
    if sync is None:
        return _finish(scenario, times, error, [], [], [], [], 0)
    net = system_rng(seed, replication, NETWORK)
    m = round(sync.interval / h)
    chain = sync.topology == "chain"
    corr = np.zeros(n)  # accumulated phase correction C at the current interval start
    freq = np.zeros(n)  # frequency correction (NTP c.freq, PTP -ppb)
    phase_left = np.zeros(n)  # NTP c.offset still to slew
    is_ntp = hasattr(sync, "filter_length")  # NTP (PTP has no clock filter)
    if is_ntp:
        L = sync.filter_length
        w_off = np.zeros((n, L))
        w_err = np.zeros((n, L))
        w_delay = np.full((n, L), np.inf)
        w_time = np.full((n, L), -np.inf)
        last_used = np.full(n, -np.inf)
        last_update = np.zeros(n)
        state = np.zeros(n, dtype=np.int64)  # 0 NSET, 1 FREQ, 2 SYNC (RFC 5905 A.5.5.6)
        state_since = np.zeros(n)
        spike_since = np.full(n, np.nan)
        tau = sync.poll_interval
        r = 1.0 - 1.0 / (C.RFC5905["PLL"] * tau)
        half = C.ntp_slew_half_life(tau)
    else:
        kp, ki = sync.gains
        count = np.zeros(n, dtype=np.int64)
        first_off = np.zeros(n)
        first_t = np.zeros(n)
        drift = np.zeros(n)
        min_dt = min(0.016 / ki, 1000.0)
    sync_errors, latencies, raw_err, raw_delay = [], [], [], []
    steps_taken = 0
    polls = 0
    for start in range(0, K + 1, m):
        mm = min(m, K + 1 - start)
        t_now = times[start]
        free = error[:, start:start + mm]  # a view: the corrections are added in place
        e_now = free[:, 0] + corr
        active = ~paused[:, start]
        d_to = sync.to_server.sample(net, n)
        d_from = sync.from_server.sample(net, n)
        ref = np.zeros(n)
        if chain:
            ref[1:] = e_now[:-1]
        err = (d_to - d_from) / 2.0  # theta_hat - theta
        theta_hat = (ref - e_now) + err
        if keep_raw:
            raw_err.append(err[active])
            raw_delay.append((d_to + d_from)[active])
        if is_ntp:
            slot = polls % L
            w_off[active, slot] = theta_hat[active]
            w_err[active, slot] = err[active]
            w_delay[active, slot] = (d_to + d_from)[active]
            w_time[active, slot] = t_now
            polls += 1
            pick = np.argmin(w_delay, axis=1)
            rows = np.arange(n)
            sel_time = w_time[rows, pick]
            if polls >= L:
                full = active & np.all(np.isfinite(w_delay), axis=1)
                sync_errors.append(w_err[rows, pick][full])
            update = active & (sel_time > last_used)
            off = w_off[rows, pick]
            big = np.abs(off) > C.RFC5905["STEPT"]
            # |offset| > STEPT (RFC 5905 local_clock): NSET steps at once; FREQ steps once WATCH s have passed,
            # measuring the frequency first; SYNC calls it a spike and steps only if it lasts WATCH s
            big_upd = update & big
            nset_step = big_upd & (state == 0)
            freq_step = big_upd & (state == 1) & (t_now - state_since >= C.RFC5905["WATCH"])
            sync_big = big_upd & (state == 2)
            new_spike = sync_big & np.isnan(spike_since)
            spike_since[new_spike] = t_now
            spike_step = sync_big & (t_now - spike_since >= C.RFC5905["WATCH"])
            if np.any(freq_step):
                mu = np.maximum(sel_time[freq_step] - state_since[freq_step], 1.0)  # mu: from the samples' epochs
                freq[freq_step] = np.clip((off[freq_step] - phase_left[freq_step]) / mu,
                                          -C.RFC5905["MAXFREQ"], C.RFC5905["MAXFREQ"])
            step_now = nset_step | freq_step | spike_step
            state[nset_step] = 1
            state_since[nset_step] = sel_time[nset_step]
            state[freq_step] = 2
            if np.any(step_now):
                corr[step_now] += off[step_now]
                phase_left[step_now] = 0.0
                w_delay[step_now] = np.inf
                w_time[step_now] = -np.inf
                last_used[step_now] = t_now
                last_update[step_now] = sel_time[step_now]
                spike_since[step_now] = np.nan
                steps_taken += int(step_now.sum())
            ok = update & ~big
            spike_since[ok] = np.nan
            # NSET: the first sample only sets the phase; FREQ: after WATCH s the frequency is measured directly
            first = ok & (state == 0)
            measure = ok & (state == 1) & (t_now - state_since >= C.RFC5905["WATCH"])
            if np.any(measure):
                mu = np.maximum(sel_time[measure] - state_since[measure], 1.0)
                freq[measure] = np.clip((off[measure] - phase_left[measure]) / mu,
                                        -C.RFC5905["MAXFREQ"], C.RFC5905["MAXFREQ"])
            pll = ok & (state == 2)
            if np.any(pll):
                mu = sel_time[pll] - last_update[pll]  # RFC 5905: mu = p->t - s.t, between the samples' epochs
                gain = off[pll] * np.minimum(mu, tau) / (4.0 * C.RFC5905["PLL"] * tau) ** 2
                freq[pll] = np.clip(freq[pll] + gain, -C.RFC5905["MAXFREQ"], C.RFC5905["MAXFREQ"])
            apply = first | measure | pll
            phase_left[apply] = off[apply]
            last_used[ok] = sel_time[ok]
            last_update[apply] = sel_time[apply]
            state_since[first] = sel_time[first]
            state[first] = 1
            state[measure] = 2
            if np.any(apply):
                latencies.append(t_now - sel_time[apply] + half)
            # closed form of clock_adjust over the interval: c.offset decays by r each second
            secs = np.floor(h * np.arange(mm) + 1e-9)
            free += corr[:, None] + freq[:, None] * (h * np.arange(mm))[None, :] + \
                phase_left[:, None] * (1.0 - r ** secs[None, :])
            sec_end = np.floor(h * mm + 1e-9)
            corr = corr + freq * h * mm + phase_left * (1.0 - r**sec_end)
            phase_left = phase_left * r**sec_end
        else:
            offset = -theta_hat  # slave - master - mean path delay
            upd = active
            c0 = upd & (count == 0)
            first_off[c0] = offset[c0]
            first_t[c0] = t_now
            count[c0] = 1
            c1 = upd & (count == 1) & ~c0 & (t_now - first_t >= min_dt)
            if np.any(c1):
                drift[c1] += (1.0 - drift[c1]) * (offset[c1] - first_off[c1]) / (t_now - first_t[c1])
                jump = c1 & (np.abs(offset) > 20e-6)
                corr[jump] -= offset[jump]
                steps_taken += int(jump.sum())
                freq[c1] = -drift[c1]
                count[c1] = 2
            c2 = upd & (count == 2) & ~c1
            if np.any(c2):
                ki_term = ki * offset[c2]
                ppb = kp * offset[c2] + drift[c2] + ki_term
                drift[c2] += ki_term
                freq[c2] = -ppb
                latencies.append(np.full(int(c2.sum()), 0.5 / (kp + ki)))
                sync_errors.append(err[c2])
            free += corr[:, None] + freq[:, None] * (h * np.arange(mm))[None, :]
            corr = corr + freq * h * mm
    return _finish(scenario, times, error, sync_errors, latencies, raw_err, raw_delay, steps_taken)


def _pause_mask(scenario, times):
    mask = np.zeros((scenario.n_vms, len(times)), dtype=bool)
    index = {name: i for i, name in enumerate(scenario.vm_names)}
    for p in scenario.pauses:
        mask[index[p.vm], (times >= p.at - 1e-9) & (times < p.at + p.duration - 1e-9)] = True
    return mask


def _cat(parts):
    return np.concatenate(parts) if parts else np.empty(0)


def _finish(scenario, times, error, sync_errors, latencies, raw_err, raw_delay, steps_taken):
    h = scenario.step
    index = {name: i for i, name in enumerate(scenario.vm_names)}
    hold = [error[index[p.vm], round((p.at + p.duration) / h)] - error[index[p.vm], round(p.at / h)]
            for p in scenario.pauses]
    return ClockTrace(scenario, times, error, _cat(sync_errors), _cat(latencies), np.asarray(hold, dtype=float),
                      _cat(raw_err), _cat(raw_delay), steps_taken)


def clock_metrics(trace: ClockTrace) -> dict:
    """The scenario's metrics from one trace: ``{(metric, group): value}`` (see :class:`virtmodel.ClockScenario`)."""
    sc = trace.scenario
    h = sc.step
    w = round(sc.warmup / h)
    e = trace.error[:, w:]
    spread = e.max(axis=0) - e.min(axis=0)
    out = {
        ("clock_offset_rms", "all"): float(np.sqrt(np.mean(e**2))),
        ("clock_offset_max", "all"): float(np.max(np.abs(e))),
        ("clock_precision", "all"): float(np.mean(np.abs(e))),
        ("clock_consistency", "all"): float(np.mean(spread <= sc.epsilon)),
        ("clock_pair_spread_max", "all"): float(np.max(spread)),
    }
    k = e.shape[1] - 1
    mid = k // 2
    out[("clock_rate_error", "all")] = float(np.mean((e[:, k] - e[:, mid]) / ((k - mid) * h)))
    for tau in sc.taus:
        avar = C.overlapping_allan_variance(e, h, round(tau / h))
        out[("allan_deviation", f"tau={tau:g}")] = float(np.sqrt(np.mean(avar)))
    if sc.sync is not None:
        s = trace.sync_errors
        out[("sync_offset_error", "all")] = float(np.mean(s)) if s.size else float("nan")
        out[("sync_offset_error_rms", "all")] = float(np.sqrt(np.mean(s**2))) if s.size else float("nan")
        lat = trace.latencies
        out[("clock_latency", "all")] = float(np.mean(lat)) if lat.size else float("nan")
    if sc.pauses:
        out[("holdover_offset", "all")] = float(np.mean(trace.holdover))
        out[("holdover_offset_rms", "all")] = float(np.sqrt(np.mean(trace.holdover**2)))
    return out
