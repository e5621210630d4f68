"""numba kernels for :func:`virtmodel.sim.measure.measure` on long runs: the same numbers, fewer passes.

:func:`~virtmodel.sim.measure.measure` estimates every metric from per-job
records with numpy: boolean masks per group, fancy-index gathers, and
:func:`~virtmodel.sim.stats.window_average` (which validates its input and
makes about ten full-size temporaries per call) three times per group.  On
10^6 jobs that output analysis took about two thirds of an end-to-end
compiled run.  The kernels here do the same arithmetic in one pass over the
jobs and hand the values to be summed to numpy, so every result is **bit for
bit** the one of the numpy code:

* the per-job values (overlaps ``min(e, hi) - max(s, lo)``, waits
  ``start - arrival``...) are the same IEEE operations on the same operands;
* they are written into buffers in the order in which numpy's boolean
  compression would have produced them (job index order, or departure
  order), and the sums are then taken by numpy (``ndarray.sum``, pairwise
  summation) on arrays of the same length and contents;
* cumulative sums are sequential in numpy too (``np.cumsum``), so the loop
  reproduces them exactly.

``tests/sim/test_measure_fast.py`` checks, on random records, that the
result of ``measure`` equals the result of the previous, all-numpy
implementation (kept there as the reference) exactly.

numba is imported only when this module is (by ``measure`` on runs with at
least :data:`virtmodel.sim.measure.COMPILED_MIN_JOBS` jobs), so short runs
and ``import virtmodel`` do not pay for it.
"""

from __future__ import annotations

import threading

import numpy as np
from numba import njit

__all__ = ["group_departures", "window_overlaps", "capped_integral", "binned_parts", "binned_from_parts",
           "departure_counts", "order_statistics", "responses", "capped_integrals",
           "every_group_departures", "every_window_overlaps", "scratch",
           "release_workspace", "KEEP_JOBS"]


class _Workspace(threading.local):
    """Scratch arrays reused from one ``measure`` call to the next (one set per thread).

    Fresh multi-megabyte arrays cost a page fault per 4 KiB page when first
    written (glibc hands large blocks back to the kernel on free), which on
    10^6 jobs took longer than the arithmetic; reusing the same buffers
    avoids it.  Buffers are kept only up to :data:`KEEP_JOBS` jobs.
    """

    def __init__(self):
        self.arrays = {}

    def get(self, name, n, dtype=np.float64):
        a = self.arrays.get(name)
        if a is None or a.size < n:
            a = np.empty(n, dtype=dtype)
            if n <= KEEP_JOBS:
                self.arrays[name] = a
        return a


#: the scratch arrays of runs up to this many jobs stay allocated (6 arrays of 8 bytes a job)
KEEP_JOBS = 2_000_000
_workspace = _Workspace()


def scratch(name, n, dtype=np.float64):
    """A scratch array of at least ``n`` entries, reused across calls in this thread; its
    contents are valid until the next request of the same ``name``."""
    return _workspace.get(name, n, dtype)


def release_workspace():
    """Free this thread's scratch arrays."""
    _workspace.arrays.clear()


@njit(cache=True)
def group_departures(order, arrival, start, depart, vm, group, t0, jobs, wait, resp):
    """The jobs of ``group`` (``-1``: all) that departed after ``t0``, in departure order,
    with their waits and responses, written into ``jobs, wait, resp``; returns how many.

    Equals ``o = order[dep[order] > t0]`` then ``o = o[vm[o] == group]``,
    ``start[o] - arrival[o]``, ``depart[o] - arrival[o]``.
    """
    n = order.size
    k = 0
    for j in range(n):
        i = order[j]
        if depart[i] > t0 and (group < 0 or vm[i] == group):
            a = arrival[i]
            jobs[k] = i
            wait[k] = start[i] - a
            resp[k] = depart[i] - a
            k += 1
    return k


@njit(cache=True)
def responses(order, arrival, depart):
    """``depart[order] - arrival[order]`` (:meth:`virtmodel.sim.vmm.Records.responses`) in one
    pass and one new array instead of three."""
    out = np.empty(order.size)
    for j in range(order.size):
        i = order[j]
        out[j] = depart[i] - arrival[i]
    return out


@njit(cache=True)
def every_group_departures(order, arrival, start, depart, vm, nvm, t0, jobs, wait, resp, vjobs, vwait, vresp,
                           first, count):
    """:func:`group_departures` of "all" (into ``jobs, wait, resp``) and of every VM ``v`` (into
    ``vjobs, vwait, vresp`` from ``first[v]``, ``count[v]`` of them) from one count and one fill
    pass: each wait and response is computed once and written twice, in departure order.
    Returns how many departed after ``t0`` in all."""
    count[:] = 0
    for j in range(order.size):
        i = order[j]
        if depart[i] > t0:
            count[vm[i]] += 1
    at = 0
    for v in range(nvm):
        first[v] = at
        at += count[v]
    fill = first.copy()
    k = 0
    for j in range(order.size):
        i = order[j]
        if depart[i] > t0:
            a = arrival[i]
            w = start[i] - a
            r = depart[i] - a
            jobs[k] = i
            wait[k] = w
            resp[k] = r
            k += 1
            f = fill[vm[i]]
            vjobs[f] = i
            vwait[f] = w
            vresp[f] = r
            fill[vm[i]] = f + 1
    return k


@njit(cache=True)
def every_window_overlaps(arrival, start, depart, blocked, vm, nvm, lo, hi, need_busy, number, busy, queue,
                          vnumber, vbusy, vqueue, first, kept):
    """:func:`window_overlaps` of "all" (``need_queue = need_busy``) and of every VM from one pass.

    "all" goes into ``number, busy, queue``; VM ``v`` into ``vnumber, vbusy, vqueue`` from
    ``first[v]`` (room for its accepted jobs), ``kept[v, kind]`` values of each kind.  Each
    overlap is computed once, with :func:`window_overlaps`'s operations, and written twice in job
    index order, so every group's values are the ones its own call would write.  Returns the
    counts of "all" ``(kn, kb, kq)``."""
    kept[:, :] = 0
    room = np.zeros(nvm, dtype=np.int64)
    for i in range(arrival.size):
        if not blocked[i]:
            room[vm[i]] += 1
    at = 0
    for v in range(nvm):
        first[v] = at
        at += room[v]
    kn = 0
    kb = 0
    kq = 0
    inf = np.inf
    for i in range(arrival.size):
        if blocked[i]:
            continue
        v = vm[i]
        base = first[v]
        d = depart[i]
        if np.isnan(d):
            d = inf
        a = arrival[i]
        s = start[i]
        started = not np.isnan(s)
        end = d if d < hi else hi
        x = end - (a if a > lo else lo)
        if x > 0:
            number[kn] = x
            kn += 1
            vnumber[base + kept[v, 0]] = x
            kept[v, 0] += 1
        if need_busy and started:
            x = end - (s if s > lo else lo)
            if x > 0:
                busy[kb] = x
                kb += 1
                vbusy[base + kept[v, 1]] = x
                kept[v, 1] += 1
        if need_busy:
            so = s if started else inf
            x = (so if so < hi else hi) - (a if a > lo else lo)
            if x > 0:
                queue[kq] = x
                kq += 1
                vqueue[base + kept[v, 2]] = x
                kept[v, 2] += 1
    return kn, kb, kq


@njit(cache=True)
def window_overlaps(arrival, start, depart, blocked, vm, group, lo, hi, need_busy, need_queue,
                    number, busy, queue):
    """Positive overlaps with ``[lo, hi]`` of the intervals behind three window averages.

    For the accepted jobs of ``group`` (``-1``: all) in index order, with a
    NaN ``depart`` (``start``) read as ``+inf`` (still present / waiting):

    * ``number``: ``[arrival, depart)`` (jobs present),
    * ``busy``: ``[start, depart)`` of the started jobs (in service), if ``need_busy``,
    * ``queue``: ``[arrival, start)`` (waiting), if ``need_queue``,

    each overlap ``min(e, hi) - max(s, lo)`` kept when > 0, exactly as
    :func:`~virtmodel.sim.stats.window_average` computes and keeps them.
    The buffers ``number, busy, queue`` need ``arrival.size`` entries (the
    last two only when asked for); returns how many of each were written.
    """
    n = arrival.size
    kn = 0
    kb = 0
    kq = 0
    inf = np.inf
    for i in range(n):
        if blocked[i] or (group >= 0 and vm[i] != group):
            continue
        d = depart[i]
        if np.isnan(d):
            d = inf
        a = arrival[i]
        s = start[i]
        started = not np.isnan(s)
        end = d if d < hi else hi
        x = end - (a if a > lo else lo)
        if x > 0:
            number[kn] = x
            kn += 1
        if need_busy and started:
            x = end - (s if s > lo else lo)
            if x > 0:
                busy[kb] = x
                kb += 1
        if need_queue:
            so = s if started else inf
            x = (so if so < hi else hi) - (a if a > lo else lo)
            if x > 0:
                queue[kq] = x
                kq += 1
    return kn, kb, kq


@njit(cache=True)
def capped_integral(arrival, depart, blocked, vm, order, group, cap, times, out):
    """:func:`~virtmodel.sim.stats.capped_occupancy` of the accepted jobs of VM ``group``
    (intervals ``[arrival, depart)``, NaN ``depart``: still present) at the ascending
    ``times``, written into ``out``, in one streaming pass without arrays.

    The starts are the group's accepted arrivals in index order, the ends its
    departures in departure order (``order``); both streams must be ascending
    and the departures must be all the finite ``depart`` of those jobs, else
    the function returns False and ``out`` is not valid (the caller then uses
    ``capped_occupancy``).  The merge takes a start before an end at the same
    instant, as the stable argsort of ``concatenate([starts, ends])`` does;
    the integral is accumulated point by point as ``np.cumsum`` does; and
    each time is evaluated with the formula and the case analysis of
    ``np.interp`` (C source ``arr_interp``: the value at a break point is its
    area, between break points ``slope * (t - x_j) + y_j`` with
    ``slope = (y_{j+1} - y_j) / (x_{j+1} - x_j)``), plus ``(t - x_last) * level``
    after the last point and 0 before the first, so the result is the same
    bit for bit.
    """
    n = arrival.size
    m = order.size
    nt = times.size
    i = 0
    while i < n and (blocked[i] or vm[i] != group):
        i += 1
    j = 0
    while j < m and vm[order[j]] != group:
        j += 1
    finite = 0
    ends = 0
    last_start = -np.inf
    last_end = -np.inf
    count = 0.0
    level = 0.0
    area = 0.0
    point = 0.0
    first = True
    q = 0
    while i < n or j < m:
        if j >= m or (i < n and arrival[i] <= depart[order[j]]):
            x = arrival[i]
            if x < last_start:
                return False
            last_start = x
            if np.isfinite(depart[i]):
                finite += 1
            count += 1.0
            i += 1
            while i < n and (blocked[i] or vm[i] != group):
                i += 1
        else:
            x = depart[order[j]]
            if x < last_end:
                return False
            last_end = x
            ends += 1
            count -= 1.0
            j += 1
            while j < m and vm[order[j]] != group:
                j += 1
        if first:
            first = False
            new_area = 0.0
            while q < nt and times[q] < x:
                out[q] = 0.0
                q += 1
        else:
            new_area = area + level * (x - point)
            while q < nt and times[q] < x:
                t = times[q]
                if t == point:
                    out[q] = area + 0.0
                else:
                    slope = (new_area - area) / (x - point)
                    out[q] = slope * (t - point) + area + 0.0
                q += 1
        area = new_area
        level = count if count < cap else cap
        point = x
    while q < nt:
        t = times[q]
        if first:
            out[q] = 0.0
        elif t == point:
            out[q] = area + 0.0
        else:
            out[q] = area + (t - point) * level
        q += 1
    return finite == ends


@njit(cache=True)
def capped_integrals(arrival, depart, blocked, vm, order, caps, times, out):
    """:func:`capped_integral` of every VM ``v`` (cap ``caps[v]``) into ``out[v]``, in one pass.

    One merge of all accepted arrivals (index order) with all departures (``order``) takes, for
    each VM, its own events in the order of its own merge (an arrival a before a departure d
    exactly when a <= d, in both merges, since both streams are ascending), so every VM gets the
    arithmetic of :func:`capped_integral` in the same order, bit for bit, from its own state.
    Needs both streams ascending over all VMs (else returns False, ``out`` not valid) and, per
    VM, every finite ``depart`` among the departures.
    """
    n = arrival.size
    m = order.size
    nt = times.size
    nv = caps.size
    finite = np.zeros(nv, dtype=np.int64)
    ends = np.zeros(nv, dtype=np.int64)
    count = np.zeros(nv)
    level = np.zeros(nv)
    area = np.zeros(nv)
    point = np.zeros(nv)
    first = np.ones(nv, dtype=np.bool_)
    qs = np.zeros(nv, dtype=np.int64)
    last_start = -np.inf
    last_end = -np.inf
    i = 0
    while i < n and blocked[i]:
        i += 1
    j = 0
    while i < n or j < m:
        if j >= m or (i < n and arrival[i] <= depart[order[j]]):
            x = arrival[i]
            if x < last_start:
                return False
            last_start = x
            v = vm[i]
            if np.isfinite(depart[i]):
                finite[v] += 1
            count[v] += 1.0
            i += 1
            while i < n and blocked[i]:
                i += 1
        else:
            x = depart[order[j]]
            if x < last_end:
                return False
            last_end = x
            v = vm[order[j]]
            ends[v] += 1
            count[v] -= 1.0
            j += 1
        q = qs[v]
        if first[v]:
            first[v] = False
            new_area = 0.0
            while q < nt and times[q] < x:
                out[v, q] = 0.0
                q += 1
        else:
            a = area[v]
            p = point[v]
            new_area = a + level[v] * (x - p)
            while q < nt and times[q] < x:
                t = times[q]
                if t == p:
                    out[v, q] = a + 0.0
                else:
                    slope = (new_area - a) / (x - p)
                    out[v, q] = slope * (t - p) + a + 0.0
                q += 1
        qs[v] = q
        area[v] = new_area
        level[v] = count[v] if count[v] < caps[v] else caps[v]
        point[v] = x
    for v in range(nv):
        for q in range(qs[v], nt):
            t = times[q]
            if first[v]:
                out[v, q] = 0.0
            elif t == point[v]:
                out[v, q] = area[v] + 0.0
            else:
                out[v, q] = area[v] + (t - point[v]) * level[v]
        if finite[v] != ends[v]:
            return False
    return True


@njit(cache=True)
def binned_parts(arrival, start, depart, blocked, vm, group, edges, need_busy):
    """The pieces of :func:`~virtmodel.sim.stats.binned_average` for the three interval kinds of
    :func:`window_overlaps` (0 number, 1 busy, 2 queue) in one pass over the jobs.

    ``binned_average`` clips each interval to the edges, finds its first bin
    (``searchsorted(edges, s, "right") - 1``, at most the last bin) and last
    bin (``searchsorted(edges, e, "left") - 1``, at least 0), and adds its
    length to the bins it overlaps with three ``np.bincount`` calls
    (intervals inside one bin; the partial first bin and the partial last
    bin of the others), then counts the whole bins in between.  ``bincount``
    sums in index order from 0, and so does this loop, keeping the three sums
    apart (``parts[kind, piece]``) so that :func:`binned_from_parts` adds them
    in the same order; ``covering`` holds ``bincount(first + 1) -
    bincount(last)``.  The bins are found from a guess by the mean bin width,
    corrected against the edges themselves, so they are exactly those of
    ``searchsorted``.
    """
    nbins = edges.size - 1
    parts = np.zeros((3, 3, nbins))
    covering = np.zeros((3, nbins + 1), dtype=np.int64)
    lo = edges[0]
    hi = edges[nbins]
    scale = nbins / (hi - lo)
    inf = np.inf
    for i in range(arrival.size):
        if blocked[i] or (group >= 0 and vm[i] != group):
            continue
        d = depart[i]
        if np.isnan(d):
            d = inf
        a = arrival[i]
        s0 = start[i]
        started = not np.isnan(s0)
        for kind in range(3):
            if kind == 0:
                s = a
                e = d
            elif kind == 1:
                if not (need_busy and started):
                    continue
                s = s0
                e = d
            else:
                if not need_busy:
                    continue
                s = a
                e = s0 if started else inf
            # np.clip(s, lo, hi), np.minimum(e, hi), keep e > s
            s = lo if s < lo else s
            s = hi if s > hi else s
            e = hi if e > hi else e
            if not e > s:
                continue
            g = (s - lo) * scale
            first = int(g) if g < nbins else nbins - 1
            while first > 0 and edges[first] > s:
                first -= 1
            while first < nbins and edges[first + 1] <= s:
                first += 1
            if first > nbins - 1:
                first = nbins - 1
            g = (e - lo) * scale
            last = int(g) if g < nbins else nbins - 1
            while last > 0 and edges[last] >= e:
                last -= 1
            while last < nbins and edges[last + 1] < e:
                last += 1
            if first == last:
                parts[kind, 0, first] += e - s
            else:
                parts[kind, 1, first] += edges[first + 1] - s
                parts[kind, 2, last] += e - edges[last]
                covering[kind, first + 1] += 1
                covering[kind, last] -= 1
    return parts, covering


def binned_from_parts(parts, covering, edges, kind):
    """``stats.binned_average`` of interval kind ``kind`` from :func:`binned_parts`, with the
    additions in the order in which ``binned_average`` makes them."""
    nbins = edges.size - 1
    width = np.diff(edges)
    area = np.zeros(nbins)
    area += parts[kind, 0]
    area += parts[kind, 1]
    area += parts[kind, 2]
    area += np.cumsum(covering[kind])[:nbins] * width
    return area / width


@njit(cache=True)
def departure_counts(jobs, depart, edges):
    """``np.histogram(depart[jobs], edges)[0]``: bins ``[e_j, e_{j+1})``, the last one closed."""
    nbins = edges.size - 1
    counts = np.zeros(nbins, dtype=np.int64)
    lo = edges[0]
    hi = edges[nbins]
    scale = nbins / (hi - lo)
    for k in range(jobs.size):
        d = depart[jobs[k]]
        if d < lo or d > hi:
            continue
        g = (d - lo) * scale
        j = int(g) if g < nbins else nbins - 1
        while j > 0 and edges[j] > d:
            j -= 1
        while j < nbins and edges[j + 1] <= d:
            j += 1
        if j > nbins - 1:
            j = nbins - 1
        counts[j] += 1
    return counts


#: the order-statistics kernel bins the values by the top RADIX_BITS bits of their sort key
RADIX_BITS = 16


@njit(cache=True)
def order_statistics(x, ranks, out):
    """The values of rank ``ranks`` (ascending, 0-based) of ``x`` in sorted order, into ``out``.

    What ``np.partition(x, ranks)[ranks]`` returns, without copying or reordering ``x``: the
    k-th smallest value is unique whatever algorithm finds it.  One pass counts the values per
    bin of the top :data:`RADIX_BITS` bits of their IEEE-754 sort key (the bit pattern with the
    sign bit flipped for x >= 0 and every bit flipped for x < 0, which orders doubles like
    ``<``), the counts locate the bin of each rank, a second pass copies the values of those
    few bins (about 1-2 % of the values each), and ``np.partition`` picks the ranks inside
    them.  Returns False (``out`` not valid) when ``x`` holds a NaN (the keys do not reproduce
    its place in numpy's order) or a -0.0 (equal to 0.0, so which of the two numpy's partition
    leaves at a rank depends on its algorithm); the caller then uses numpy.  Any other equal
    values have equal bits, so the result does not depend on how the ranks are found.
    """
    n = x.size
    bits = x.view(np.uint64)
    shift = 64 - RADIX_BITS
    sign = np.uint64(1) << np.uint64(63)
    counts = np.zeros(1 << RADIX_BITS, dtype=np.int64)
    for i in range(n):
        b = bits[i]
        if x[i] != x[i] or b == sign:
            return False
        key = b ^ sign if b < sign else ~b
        counts[key >> np.uint64(shift)] += 1
    nr = ranks.size
    bin_of = np.empty(nr, dtype=np.int64)
    below = np.empty(nr, dtype=np.int64)
    seen = 0
    b = 0
    for r in range(nr):
        while seen + counts[b] <= ranks[r]:
            seen += counts[b]
            b += 1
        bin_of[r] = b
        below[r] = seen
    # the distinct bins, a slot for each and its place in one buffer; a bin holding more than an
    # eighth of the values is copied only if it turns out to hold more than one value
    slot = np.full(1 << RADIX_BITS, -1, dtype=np.int8)
    first = np.empty(nr + 1, dtype=np.int64)
    big = np.zeros(nr, dtype=np.bool_)
    nslots = 0
    total = 0
    for r in range(nr):
        if slot[bin_of[r]] < 0:
            slot[bin_of[r]] = nslots
            first[nslots] = total
            total += counts[bin_of[r]]
            big[nslots] = 8 * counts[bin_of[r]] > n
            nslots += 1
    first[nslots] = total
    buf = np.empty(total)
    fill = first[:nslots].copy()
    low = np.full(nslots, np.inf)
    high = np.full(nslots, -np.inf)
    for i in range(n):
        b = bits[i]
        key = b ^ sign if b < sign else ~b
        k = slot[key >> np.uint64(shift)]
        if k >= 0:
            v = x[i]
            if not big[k]:
                buf[fill[k]] = v
                fill[k] += 1
            if v < low[k]:
                low[k] = v
            if v > high[k]:
                high[k] = v
    for k in range(nslots):
        if big[k] and low[k] != high[k]:
            for i in range(n):
                b = bits[i]
                key = b ^ sign if b < sign else ~b
                if slot[key >> np.uint64(shift)] == k:
                    buf[fill[k]] = x[i]
                    fill[k] += 1
    for r in range(nr):
        k = slot[bin_of[r]]
        if low[k] == high[k]:
            # one value fills the bin (an atom: zero waits, deterministic sizes): no partition
            out[r] = low[k]
            continue
        part = buf[first[k]:first[k + 1]]
        j = ranks[r] - below[r]
        out[r] = np.partition(part, j)[j]
    return True
