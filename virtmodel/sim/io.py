"""Simulation of a shared I/O device (:class:`virtmodel.IOScenario`): token buckets, then the device.

One replication:

1. **Requests.**  Per VM, Poisson arrivals over the horizon, sizes,
   read/write flags and path exits, each from its own stream
   (``SeedSequence(seed, spawn_key=(replication, 0, vm, source))``, drawn in
   numpy blocks), and the device time of each request
   ``a + X/B + sum of exit costs`` (read or write a and B).
2. **Limits.**  Each limited VM's requests pass its token bucket(s) FIFO:
   request n is released when every bucket holds the tokens it needs
   (one for IOPS, its size for bandwidth, at most the depth), the buckets
   filling at their rates between releases and capped at their depths
   (:func:`token_bucket_release`; an exact per-request recursion).
3. **Device.**  Static: each VM's released requests in FIFO order on its
   own server of rate equal to its share (Lindley's recursion, vectorised:
   D_n = max(R_n, D_{n-1}) + S_n); dynamic FCFS: all released requests in
   release order on one server (the same recursion); fair and hybrid:
   an exact event-driven simulation of the fluid sharing -- between two
   events (a release or a completion) the backlogged VMs' head requests are
   served at the constant rates ``instantaneous_shares`` of the backlogged
   set (water filling), FIFO within a VM, so the next completion is found
   exactly (as processor sharing is simulated exactly elsewhere).
   Backlogged VMs (rate = inf) always have a head request.

Measurement: requests *arriving* in the window [warmup x horizon, horizon)
(all of them are run to completion, the device draining after the
horizon), per VM and ``"all"``: ``mean_response``, ``p95_response`` (with at
least 200 requests), ``mean_throttle_delay`` for limited VMs,
``interference`` (mean response over the exact alone value of
:meth:`virtmodel.IOScenario.alone`), and over the window: ``utilization``
(device time spent on the VM's requests / window length) and
``throughput`` (completions in the window / its length).
"""

from __future__ import annotations

import numpy as np

from ..analytic.io import instantaneous_shares
from ..sim.percentiles import required_departures
from .compiled.kernels import jit
from .streams import vm_rng

__all__ = ["IORequests", "token_bucket_release", "io_requests", "io_replication", "worst_window_excess"]

#: stream sources of a VM's I/O (spawn key's last element; distinct from the queueing VMs' 0-3)
ARRIVALS, SIZES, KINDS, EXITS = 10, 11, 12, 13


class IORequests:
    """Per-request records of one replication (flat numpy arrays, one entry per request).

    Attributes: ``vm`` (index), ``arrival``, ``release`` (leaves the token
    bucket), ``completion``, ``size``, ``service`` (device time at full
    rate), ``read`` (bool); and ``busy`` (per VM, device time spent on the
    VM inside the window) and ``window``.
    """

    def __init__(self, vm, arrival, release, completion, size, service, read, busy, window, completions_in_window):
        self.vm, self.arrival, self.release, self.completion = vm, arrival, release, completion
        self.size, self.service, self.read = size, service, read
        self.busy, self.window, self.completions_in_window = busy, window, completions_in_window


def _poisson_times(rate, horizon, rng):
    """Arrival times of a Poisson process on [0, horizon), drawn in blocks."""
    out, t = [], 0.0
    block = max(int(rate * horizon * 1.05) + 64, 64)
    while True:
        times = t + np.cumsum(rng.exponential(1.0 / rate, block))
        out.append(times)
        if times[-1] >= horizon:
            break
        t = times[-1]
    times = np.concatenate(out)
    return times[times < horizon]


class _Draws:
    """Size, kind and device time of a VM's requests, from its own streams."""

    def __init__(self, scenario, index, seed, replication):
        v = scenario.vms[index]
        self.v, self.sc, self.seed, self.replication = v, scenario, seed, replication
        self.size_rng = vm_rng(seed, replication, index, SIZES)
        self.kind_rng = vm_rng(seed, replication, index, KINDS)
        self.exit_rng = vm_rng(seed, replication, index, EXITS)

    def draw(self, n):
        d, p, io = self.sc.device, self.sc.path, self.v.io
        size = io.size.sample(self.size_rng, n)
        read = self.kind_rng.random(n) < io.read_fraction
        service = np.where(read, d.overhead + size / d.bandwidth, d.write_overhead + size / d.write_bandwidth)
        count = p.exit_count
        if count is not None:
            k = np.rint(count.sample(self.exit_rng, n)).astype(np.int64)
            costs = p.exit_cost.sample(self.exit_rng, int(k.sum()))
            service = service + np.bincount(np.repeat(np.arange(n), k), weights=costs, minlength=n)
        return size, read, service


def token_bucket_release(arrival, size, buckets):
    """Release times of FIFO requests through token buckets (exact recursion).

    Parameters
    ----------
    arrival : array
        Arrival times, nondecreasing.
    size : array
        Request sizes.
    buckets : list of (rate, depth, per_request)
        ``per_request`` True: an IOPS bucket (one token per request); False:
        a bandwidth bucket (its size in tokens, at most the depth: a larger
        request waits for a full bucket and leaves it in debt).  Buckets
        start full.

    Returns
    -------
    numpy.ndarray
        Release times: request n leaves at the first instant >= max(its
        arrival, the previous release) at which every bucket holds its need.
    """
    rates = np.array([b[0] for b in buckets], dtype=float)
    depths = np.array([b[1] for b in buckets], dtype=float)
    per = np.array([bool(b[2]) for b in buckets], dtype=np.bool_)
    return _bucket_kernel(np.ascontiguousarray(arrival, dtype=float), np.ascontiguousarray(size, dtype=float),
                          rates, depths, per)


@jit
def _bucket_kernel(arrival, size, rates, depths, per):
    n, k = arrival.size, rates.size
    release = np.empty(n)
    tokens = depths.copy()
    last = 0.0
    for i in range(n):
        t = arrival[i] if arrival[i] > last else last
        for j in range(k):  # the earliest time every bucket holds what request i needs
            need = 1.0 if per[j] else min(size[i], depths[j])
            have = min(depths[j], tokens[j] + rates[j] * (t - last))
            if have < need:
                t = t + (need - have) / rates[j]
        for j in range(k):
            tokens[j] = min(depths[j], tokens[j] + rates[j] * (t - last)) - (1.0 if per[j] else size[i])
        last = t
        release[i] = t
    return release


def worst_window_excess(release, amount, rate, burst):
    """max over windows [s, t] of (amount released in [s, t]) - (burst + rate (t - s)), from per-request records.

    A token bucket (rate, burst) is never exceeded over any window iff this
    is <= 0.  O(n): with P_j the amount released up to and including
    request j (sorted by release), the worst window ending at request j and
    starting at request i <= j carries P_j - P_{i-1} in time t_j - t_i, so
    the excess is max_j [(P_j - rate t_j) - min_{i <= j} (P_{i-1} - rate t_i)] - burst.
    """
    order = np.argsort(release, kind="stable")
    t, a = release[order], np.asarray(amount, dtype=float)[order]
    cum = np.cumsum(a)
    before = cum - a  # P_{i-1}
    start = np.minimum.accumulate(before - rate * t)
    return float(np.max((cum - rate * t) - start) - burst)


def _lindley(release, service):
    """Completion times of FIFO requests on one server: D_n = max(R_n, D_{n-1}) + S_n, vectorised."""
    if release.size == 0:
        return release.copy()
    cum = np.cumsum(service)
    # D_n = cum_n + max_{k <= n} (R_k - cum_{k-1})
    return cum + np.maximum.accumulate(release - (cum - service))


def _overlap(start, end, lo, hi):
    return np.clip(np.minimum(end, hi) - np.maximum(start, lo), 0.0, None)


def _fair(scenario, rel, svc, owner, draws, window):
    """Exact fluid simulation of weighted fair / hybrid sharing: (completions, busy per VM, backlogged completions)."""
    names = [v.name for v in scenario.vms]
    m = len(names)
    w = [scenario._weights[n] for n in names]
    f = [scenario._floors[n] for n in names]
    backlogged = np.array([v.io.backlogged for v in scenario.vms], dtype=np.bool_)
    table = np.zeros((1 << m, m))
    for mask in range(1, 1 << m):
        table[mask] = instantaneous_shares([(mask >> i) & 1 == 1 for i in range(m)], w, f)
    order = np.argsort(rel, kind="stable")
    rel_s, own_s, svc_s = rel[order], owner[order].astype(np.int64), svc[order]
    by_vm = np.argsort(own_s, kind="stable")  # sorted-request indices grouped by VM, in release order
    start = np.searchsorted(own_s[by_vm], np.arange(m))
    lo, hi = window
    size = 1024
    for i in range(m):
        if backlogged[i]:
            size = max(size, int(1.5 * hi / scenario.mean_service(names[i])) + 1024)
    while True:
        pool = np.zeros((m, size))
        for i in range(m):
            if backlogged[i]:
                pool[i] = draws[i].draw(size)[2]
        done, busy, done_b, ok = _fair_kernel(rel_s, own_s, svc_s, by_vm, start, table, backlogged, pool, lo, hi)
        if ok:
            break
        size *= 2  # a backlogged VM ran out of pre-drawn requests: redraw more (same streams, same prefix)
        draws = [_Draws(scenario, i, draws[i].seed, draws[i].replication) for i in range(m)]
    completion = np.empty(rel.size)
    completion[order] = done
    return completion, busy, done_b


@jit
def _fair_kernel(rel, own, svc, by_vm, start, table, backlogged, pool, lo, hi):
    m = table.shape[1]
    total = rel.size
    head = np.zeros(m, np.int64)
    tail = np.zeros(m, np.int64)
    used = np.zeros(m, np.int64)
    remaining = np.zeros(m)
    busy = np.zeros(m)
    done_b = np.zeros(m)
    completion = np.full(total, np.nan)
    any_backlogged = False
    for i in range(m):
        if backlogged[i]:
            any_backlogged = True
            remaining[i] = pool[i, 0]
            used[i] = 1
    t, ptr, pending = 0.0, 0, 0
    while True:
        mask = 0
        for i in range(m):
            if backlogged[i] or head[i] < tail[i]:
                mask |= 1 << i
        t_arr = rel[ptr] if ptr < total else np.inf
        if ptr >= total and pending == 0 and (t >= hi or not any_backlogged):
            break
        event = 0  # 0 release, 1 completion, 2 stop
        best = -1
        if mask:
            dt_done = np.inf
            for i in range(m):
                r = table[mask, i]
                if (mask >> i) & 1 and r > 0 and remaining[i] / r < dt_done:
                    best, dt_done = i, remaining[i] / r
            t_next = t_arr
            if t + dt_done < t_arr:
                t_next, event = t + dt_done, 1
            if ptr >= total and pending == 0 and t_next > hi:
                t_next, event = hi, 2  # only backlogged VMs are left: stop at the horizon
            dt = t_next - t
            a, b = max(t, lo), min(t_next, hi)
            for i in range(m):
                if (mask >> i) & 1:
                    remaining[i] -= table[mask, i] * dt
                    if b > a:
                        busy[i] += table[mask, i] * (b - a)
            t = t_next
        else:
            t = t_arr
        if event == 2:
            break
        if event == 1:
            if backlogged[best]:
                if lo <= t < hi:
                    done_b[best] += 1
                if used[best] >= pool.shape[1]:
                    return completion, busy, done_b, False
                remaining[best] = pool[best, used[best]]
                used[best] += 1
            else:
                completion[by_vm[start[best] + head[best]]] = t
                head[best] += 1
                pending -= 1
                remaining[best] = svc[by_vm[start[best] + head[best]]] if head[best] < tail[best] else 0.0
            continue
        i = own[ptr]
        if head[i] == tail[i]:
            remaining[i] = svc[ptr]
        tail[i] += 1
        ptr += 1
        pending += 1
    return completion, busy, done_b, True


def io_requests(scenario, seed, replication) -> IORequests:
    """Simulate one replication and return its per-request records."""
    from ..io import Static

    h = scenario.horizon
    window = (scenario.warmup * h, h)
    m = len(scenario.vms)
    draws = [_Draws(scenario, i, seed, replication) for i in range(m)]
    parts = []
    for i, v in enumerate(scenario.vms):
        if v.io.backlogged:
            continue
        arrival = _poisson_times(v.io.rate, h, vm_rng(seed, replication, i, ARRIVALS))
        size, read, service = draws[i].draw(arrival.size)
        buckets = []
        if v.name in scenario.iops_limits:
            b = scenario.iops_limits[v.name]
            buckets.append((b.rate, b.burst, True))
        if v.name in scenario.bandwidth_limits:
            b = scenario.bandwidth_limits[v.name]
            buckets.append((b.rate, b.burst, False))
        release = token_bucket_release(arrival, size, buckets) if buckets else arrival
        parts.append((np.full(arrival.size, i), arrival, release, size, service, read))
    cat = [np.concatenate([p[j] for p in parts]) if parts else np.empty(0) for j in range(6)]
    owner, arrival, release, size, service, read = cat
    owner = owner.astype(np.int64)
    read = read.astype(bool)
    completion = np.full(arrival.size, np.nan)
    busy = np.zeros(m)
    done_window = np.zeros(m)
    lo, hi = window
    st = scenario.strategy
    if isinstance(st, Static):
        shares = scenario.shares()
        for i, v in enumerate(scenario.vms):
            phi = shares[v.name]
            if v.io.backlogged:
                busy[i] = phi * (hi - lo)
                # back-to-back services from time 0 on the VM's partition
                ends, t = [], 0.0
                while t < hi:
                    s = np.cumsum(draws[i].draw(4096)[2] / phi) + t
                    ends.append(s)
                    t = s[-1]
                ends = np.concatenate(ends)
                done_window[i] = np.count_nonzero((ends >= lo) & (ends < hi))
                continue
            sel = np.flatnonzero(owner == i)
            order = sel[np.argsort(release[sel], kind="stable")]
            svc = service[order] / phi
            completion[order] = _lindley(release[order], svc)
            busy[i] = phi * _overlap(completion[order] - svc, completion[order], lo, hi).sum()
    elif st.name == "dynamic" and st.discipline == "fcfs":
        order = np.argsort(release, kind="stable")
        completion[order] = _lindley(release[order], service[order])
        busy = np.bincount(owner, weights=_overlap(completion - service, completion, lo, hi), minlength=m)
    else:
        completion, busy, done_b = _fair(scenario, release, service, owner, draws, window)
        done_window += np.array(done_b, dtype=float)
    done_window += np.bincount(owner[(completion >= lo) & (completion < hi)], minlength=m)
    return IORequests(owner, arrival, release, completion, size, service, read, busy, window, done_window)


def io_replication(scenario, seed, replication) -> dict:
    """One replication of an :class:`~virtmodel.IOScenario`: ``{(metric, group): value}``."""
    rec = io_requests(scenario, seed, replication)
    lo, hi = rec.window
    length = hi - lo
    out = {}
    inside = (rec.arrival >= lo) & (rec.arrival < hi)
    need = required_departures(0.95)
    limited = set(scenario.iops_limits) | set(scenario.bandwidth_limits)
    for i, v in enumerate(scenario.vms):
        out["utilization", v.name] = float(rec.busy[i] / length)
        out["throughput", v.name] = float(rec.completions_in_window[i] / length)
        if v.io.backlogged:
            continue
        sel = inside & (rec.vm == i)
        resp = rec.completion[sel] - rec.arrival[sel]
        if resp.size == 0:
            continue
        out["mean_response", v.name] = float(resp.mean())
        if v.name not in limited:
            out["interference", v.name] = float(resp.mean() / scenario.alone(v.name))
        else:
            out["mean_throttle_delay", v.name] = float((rec.release[sel] - rec.arrival[sel]).mean())
        if resp.size >= need:
            out["p95_response", v.name] = float(np.quantile(resp, 0.95))
    out["utilization", "all"] = float(rec.busy.sum() / length)
    out["throughput", "all"] = float(rec.completions_in_window.sum() / length)
    return out
