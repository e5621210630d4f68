"""Weighted proportional share, compiled: the numba replay of :class:`~virtmodel.sim.credit.ProportionalShareScheduler`.

:func:`run_proportional_share` replays the simpy scheduler event for event:
weighted generalized processor sharing between the VMs, at most ``m_i =
min(n_i, v_i)`` of VM i's jobs in service at once (its vCPUs ``v_i``, one
per pCPU when ``VM.vcpus`` is None, at most ``c``), FCFS within a VM, each
job served at the per-job rate ``r_i / m_i``, where the rates ``r``
water-fill the ``c`` pCPUs by weight among the VMs with work, VM i at most
``m_i`` (:func:`virtmodel.sim.credit.share`, progressive filling, Bertsekas &
Gallager 1992, §6.5.2).  Every VM keeps a virtual clock ``V_i`` that advances
at its per-job rate; a job entering service at ``V_i`` with size x finishes
when ``V_i`` reaches ``V_i + x``.  There are events only at arrivals
(eager: one per arrival, as the simpy model's arrival processes) and at the
next completion, the earliest ``(finish - V_i) / rate_i`` over the VMs; a
timer made stale by an arrival is dropped (the simpy model's version
number), and a completion takes every job of every VM whose finish tag is
within ``1e-12 max(1, |V_i|)`` of its clock.

The float operations are the simpy model's, in its order: the clocks
advance by ``dt * rate_i`` VM by VM; the water-filling level is ``left /
fsum(weights of the VMs not yet at their ceiling)``, with ``math.fsum``'s
correctly rounded sum (Shewchuk's partials, as CPython's ``math_fsum``;
when every weight is an integer multiple of one power of two and their sum
is below 2^53 a plain left-to-right sum is exact and is used instead); a
VM at its ceiling gets exactly ``m_i`` and its per-job rate is 1.0; the
next completion is at ``now + max(0, (finish - V_i) / rate_i)``; jobs
leave VM by VM in index order, within a VM by (finish tag, job id), as
``heapq`` pops them, and each VM whose jobs left moves its oldest waiting
jobs into service at once.

What is not replayed (as in every kernel, :mod:`.kernels`): the order in
which simpy takes events at exactly the same instant; with interarrival laws
that have a density an arrival never coincides with a completion, so only
completions coincide, and they are handled together in one event as in the
simpy model.

A completion whose time to go is below ``TIME_RESOLUTION * now``
(:data:`virtmodel.sim.schedulers.TIME_RESOLUTION`) is due now, in the simpy
model and here: its timer could not fire later than ``now`` (once a VM's clock
was some 10^4 times smaller than the time both looped for ever there).  The
:data:`~virtmodel.sim.compiled.kernels.STUCK` status remains as a guard that
refuses a run whose clock cannot advance instead of hanging.

``tests/sim/test_compiled_proportional_share.py`` proves it equal to the
simpy model job for job (weights, vCPU ceilings, 1 and 3 pCPUs, exponential,
H2 and deterministic service, unlimited or finite capacity, stops at a
departure count or a time, random scenarios).

Bounded memory (``records=False``): :func:`share_chunk` is the same replay
resumed chunk by chunk by :class:`~virtmodel.sim.compiled.streaming.BoundedRun`
(the hooks :meth:`ProportionalShareRun.bounded_state`, ``present`` and
``chunk``), keeping running sums and the integral of the number present as
``streaming._ps_chunk`` does; the same test file checks its estimates
against ``measure()`` on the Records of the same run.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ...errors import InvalidParameter
from ..schedulers import TIME_RESOLUTION
from .kernels import NEED_MORE, OK, STOP_DEPARTURES, STOP_TIME, STUCK, jit, stuck_message
from .streaming import (
    _FIRE,
    _INEXT,
    _INSYS,
    _LAST,
    _MI,
    _NDEP,
    _NOW,
    _T0,
    _ZACC,
    _ZN,
    ARRIVED,
    BLOCKED,
    _change,
    _close_mark,
    _departure_sums,
)
from .streaming import DONE as S_DONE
from .streaming import NEED_MORE as S_NEED_MORE

__all__ = ["ProportionalShareRun", "run_proportional_share", "share_chunk", "plain_sum_is_exact", "fsum"]

_INF = np.inf


def plain_sum_is_exact(weights) -> bool:
    """Whether every left-to-right float sum of a subset of ``weights`` is exact (then it equals ``math.fsum``).

    True when all weights are integer multiples ``k_i 2^e`` of one power of two with ``sum k_i < 2^53``:
    every partial sum is then an integer multiple of ``2^e`` below ``2^53 2^e``, a float, so no addition
    rounds.

    >>> plain_sum_is_exact([1.0, 2.0, 0.5]), plain_sum_is_exact([0.1, 1.0])
    (True, False)
    """
    fractions = [Fraction(float(w)) for w in weights]
    scale = max(f.denominator for f in fractions)  # denominators are powers of two
    return sum(abs(f) * scale for f in fractions) < 2**53


@jit
def fsum(values, count, partials):
    """``math.fsum(values[:count])``: the correctly rounded sum (CPython's ``math_fsum``, Shewchuk's
    partials), for finite values; ``partials`` is scratch room of at least ``count + 1`` entries."""
    m = 0
    for j in range(count):
        x = values[j]
        i = 0
        for q in range(m):
            y = partials[q]
            if abs(x) < abs(y):
                t = x
                x = y
                y = t
            hi = x + y
            yr = hi - x
            lo = y - yr
            if lo != 0.0:
                partials[i] = lo
                i += 1
            x = hi
        m = i
        if x != 0.0:
            partials[m] = x
            m += 1
    hi = 0.0
    if m > 0:
        m -= 1
        hi = partials[m]
        lo = 0.0
        while m > 0:
            x = hi
            m -= 1
            y = partials[m]
            hi = x + y
            yr = hi - x
            lo = y - yr
            if lo != 0.0:
                break
        if m > 0 and ((lo < 0.0 and partials[m - 1] < 0.0) or (lo > 0.0 and partials[m - 1] > 0.0)):
            y = lo * 2.0
            x = hi + y
            yr = x - hi
            if y == yr:
                hi = x
    return hi


class ProportionalShareRun:
    """What :class:`~virtmodel.sim.compiled.engine.CompiledEngine` needs to run a ProportionalShare scenario.

    Holds the weights (``ProportionalShare.weight_of``, 1 for VMs not named) and the vCPU ceilings
    ``min(VM.vcpus or c, c)`` as the simpy scheduler computes them, and runs
    :func:`run_proportional_share`.
    """

    def __init__(self, scenario):
        policy, c = scenario.policy, scenario.pcpus
        self.c = c
        self.weights = np.array([policy.weight_of(v.name) for v in scenario.vms], dtype=float)
        self.vcpus = np.array([min(v.vcpus or c, c) for v in scenario.vms], dtype=np.int64)
        self.exact_sum = plain_sum_is_exact(self.weights)

    def run(self, arr_t, arr_vm, size, n, covered, cap, stop_kind, count, horizon, start, depart, blocked,
            order, occupied):
        """:func:`run_proportional_share` over the arrivals known up to ``covered``.

        Raises
        ------
        InvalidParameter
            The clock cannot advance (a guard, :data:`~virtmodel.sim.compiled.kernels.STUCK`:
            a completion closer than ``TIME_RESOLUTION * now`` is due at once, so it should
            not trip).
        """
        status, jobs, departed, now = run_proportional_share(
            arr_t, arr_vm, size, n, covered, self.c, cap, self.weights, self.vcpus, self.exact_sum, stop_kind,
            count, horizon, start, depart, blocked, order, occupied)
        if status == STUCK:
            _stuck(now)
        return status, jobs, departed, now

    # -- bounded memory (virtmodel.sim.compiled.streaming.BoundedRun) ------------------------------
    def bounded_state(self):
        """The kernel's state between chunks: per VM the virtual clock, the per-job rate, the jobs in
        service (finish tags, global job numbers, count) and the FIFO of waiting jobs (head, tail)."""
        nvm, width = self.weights.size, max(self.c, 1)
        return (np.zeros(nvm), np.zeros(nvm), np.empty((nvm, width)), np.empty((nvm, width), dtype=np.int64),
                np.zeros(nvm, dtype=np.int64), np.full(nvm, -1, dtype=np.int64), np.full(nvm, -1, dtype=np.int64))

    @staticmethod
    def present(state):
        """Global numbers of the oldest job in service and the oldest waiting job (for the window)."""
        _, _, _, sj, sm, qhead, _ = state
        oldest = [int(sj[i, :sm[i]].min()) for i in range(sm.size) if sm[i] > 0]
        return (oldest + [int(qhead[qhead >= 0].min())]) if (qhead >= 0).any() else oldest

    def chunk(self, arr_t, arr_vm, size, start, link, base, covered, cap, state, fs, st, common):
        """:func:`share_chunk` on one chunk of the window (arguments as BoundedRun holds them)."""
        status = share_chunk(arr_t, arr_vm, size, start, link, base, covered, self.c, cap, self.weights, self.vcpus,
                             self.exact_sum, fs, st, *state, *common)
        if status == STUCK:
            _stuck(fs[0])
        return status


def _stuck(now):
    raise InvalidParameter(stuck_message("ProportionalShare", now))


@jit
def run_proportional_share(arr_t, arr_vm, size, n, covered, c, cap, weights, vcpus, exact_sum,
                           stop_kind, stop_count, stop_time, start, depart, blocked, order, occupied):
    """Weighted GPS between VMs with vCPU ceilings, FCFS within a VM (see the module docstring).

    ``weights``, ``vcpus``: per VM; ``exact_sum``: :func:`plain_sum_is_exact` of the weights.  Other
    arguments and the result as for the kernels of :mod:`.kernels` (``occupied``: a departed job's size).
    """
    nvm = weights.size
    # waiting jobs: per-VM FIFO linked lists
    qhead = np.full(nvm, -1, dtype=np.int64)
    qtail = np.full(nvm, -1, dtype=np.int64)
    link = np.empty(max(n, 1), dtype=np.int64)
    # jobs in service: per VM up to vcpus[v] (<= c) (finish tag, job) pairs kept sorted, heapq's pop order
    width = max(c, 1)
    sk = np.empty((nvm, width))
    sj = np.empty((nvm, width), dtype=np.int64)
    sm = np.zeros(nvm, dtype=np.int64)
    clock = np.zeros(nvm)
    rate = np.zeros(nvm)
    # scratch of the water-filling
    free = np.zeros(nvm, dtype=np.bool_)
    wfree = np.empty(nvm)
    partials = np.empty(nvm + 1)
    last = 0.0
    fire = _INF
    in_system = 0
    i_next = 0
    ndep = 0
    now = 0.0
    if stop_kind == STOP_TIME and stop_time > covered:
        return NEED_MORE, 0, 0, 0.0
    while True:
        ta = arr_t[i_next] if i_next < n else _INF
        t_ev = ta if ta < fire else fire
        if stop_kind == STOP_TIME:
            if t_ev >= stop_time:
                now = stop_time
                break
        elif t_ev > covered:
            return NEED_MORE, i_next, ndep, now
        stop_here = False
        now = t_ev
        arrival = ta < fire
        if arrival:
            job = i_next
            i_next += 1
            if cap >= 0 and in_system >= cap:
                blocked[job] = True
                continue  # refused before the scheduler sees it: no clock advance, no new timer
            in_system += 1
        # every VM's clock up to now (``_advance``)
        dt = now - last
        if dt > 0:
            for i in range(nvm):
                q = rate[i]
                if q != 0.0:
                    clock[i] += dt * q
        last = now
        departed = ndep
        if arrival:
            v = arr_vm[job]
            link[job] = -1
            if qtail[v] < 0:
                qhead[v] = job
            else:
                link[qtail[v]] = job
            qtail[v] = job
            first = v
            stop_vm = v + 1
        else:
            first = 0
            stop_vm = nvm
            for i in range(nvm):
                m = sm[i]
                if m == 0:
                    continue
                vv = clock[i]
                tol = max(1e-12 * max(1.0, abs(vv)), TIME_RESOLUTION * now * rate[i])
                gone = 0
                while gone < m and sk[i, gone] <= vv + tol:
                    job = sj[i, gone]
                    occupied[job] = size[job]
                    depart[job] = now
                    order[ndep] = job
                    ndep += 1
                    in_system -= 1
                    if stop_kind == STOP_DEPARTURES and ndep >= stop_count:
                        stop_here = True
                    gone += 1
                if gone > 0:
                    for p in range(gone, m):
                        sk[i, p - gone] = sk[i, p]
                        sj[i, p - gone] = sj[i, p]
                    sm[i] = m - gone
        # the VMs concerned move their oldest waiting jobs into service while a vCPU is free (``_enter``);
        # after a completion only VMs whose jobs left have a free vCPU and waiting jobs
        for i in range(first, stop_vm):
            while qhead[i] >= 0 and sm[i] < vcpus[i]:
                job = qhead[i]
                qhead[i] = link[job]
                if qhead[i] < 0:
                    qtail[i] = -1
                start[job] = now
                key = clock[i] + size[job]
                p = sm[i]
                while p > 0 and (sk[i, p - 1] > key or (sk[i, p - 1] == key and sj[i, p - 1] > job)):
                    sk[i, p] = sk[i, p - 1]
                    sj[i, p] = sj[i, p - 1]
                    p -= 1
                sk[i, p] = key
                sj[i, p] = job
                sm[i] += 1
        # the rates: weighted water-filling of c pCPUs, VM i at most sm[i] (``share``), per job
        nfree = 0
        for i in range(nvm):
            rate[i] = 0.0
            free[i] = sm[i] > 0
            if free[i]:
                nfree += 1
        left = float(c)
        while nfree > 0 and left > 0:
            if exact_sum:
                wsum = 0.0
                for i in range(nvm):
                    if free[i]:
                        wsum += weights[i]
            else:
                f = 0
                for i in range(nvm):
                    if free[i]:
                        wfree[f] = weights[i]
                        f += 1
                wsum = fsum(wfree, f, partials)
            level = left / wsum
            full = False
            for i in range(nvm):
                if free[i] and sm[i] <= level * weights[i]:
                    full = True
            if not full:
                for i in range(nvm):
                    if free[i]:
                        rate[i] = level * weights[i] / sm[i]
                break
            for i in range(nvm):
                if free[i] and sm[i] <= level * weights[i]:
                    rate[i] = 1.0  # its ceiling m_i shared by its m_i jobs
                    left -= sm[i]
                    free[i] = False
                    nfree -= 1
        # the next completion (``_arm``): a new timer, the old one stale
        best = _INF
        for i in range(nvm):
            if sm[i] > 0:
                d = (sk[i, 0] - clock[i]) / rate[i]
                if d < best:
                    best = d
        fire = _INF if best == _INF else now + max(0.0, best)
        if not arrival and ndep == departed and fire == now:
            # a completion timer that finished nobody and fires again at the same instant: the remaining
            # work (above the 1e-12 |V_i| tolerance) is below half an ulp of the clock, so time cannot
            # advance; the simpy model would loop here for ever
            return STUCK, i_next, ndep, now
        if stop_here:
            break
    return OK, i_next, ndep, now


# -- bounded memory: the same replay, resumed chunk by chunk, with running sums instead of records -----
@jit
def share_chunk(arr_t, arr_vm, size, start, link, base, covered, c, cap, weights, vcpus, exact_sum, fs, st,
                clock, rate, sk, sj, sm, qhead, qtail,
                count, last, capped_at, seg, marks, t0_mark, mark_time, mark_out, z, z_limit, pilot):
    """Resume :func:`run_proportional_share` on the jobs known so far (for
    :class:`~virtmodel.sim.compiled.streaming.BoundedRun`, as its ``_ps_chunk``).

    ``arr_t, arr_vm, size, start, link`` hold jobs ``base, base + 1, ...`` (global numbers); ``clock, rate,
    sk, sj, sm, qhead, qtail`` (:meth:`ProportionalShareRun.bounded_state`) and ``fs, st`` carry the
    kernel's state from chunk to chunk.  The run goes on until the next event lies beyond ``covered``
    (NEED_MORE) or to departure ``marks[-1]`` (DONE); the sums, marks, warm-up series and the integral of
    the number present are kept as in ``streaming._ps_chunk`` (each departed job's pCPU time its size).
    """
    n_end = base + arr_t.size
    nvm = weights.size
    ngroups = count.shape[0]
    free = np.zeros(nvm, dtype=np.bool_)
    wfree = np.empty(nvm)
    partials = np.empty(nvm + 1)
    last_t = fs[_LAST]
    fire = fs[_FIRE]
    i_next = st[_INEXT]
    now = fs[_NOW]
    status = S_NEED_MORE
    while True:
        ta = arr_t[i_next - base] if i_next < n_end else np.inf
        t_ev = ta if ta < fire else fire
        if t_ev > covered:
            break
        done = False
        now = t_ev
        arrival = ta < fire
        if arrival:
            job = i_next
            j = job - base
            i_next += 1
            v = arr_vm[j]
            gv = 1 + v if ngroups > 1 else 0
            seg[0, ARRIVED] += 1.0
            if gv:
                seg[gv, ARRIVED] += 1.0
            if cap >= 0 and st[_INSYS] >= cap:
                seg[0, BLOCKED] += 1.0
                if gv:
                    seg[gv, BLOCKED] += 1.0
                continue
            st[_INSYS] += 1
            _change(seg, count, last, capped_at, 0, now, 1, 0, 0)
            if gv:
                _change(seg, count, last, capped_at, gv, now, 1, 0, 0)
        dt = now - last_t
        if dt > 0:
            for i in range(nvm):
                q = rate[i]
                if q != 0.0:
                    clock[i] += dt * q
        last_t = now
        departed = st[_NDEP]
        if arrival:
            link[j] = -1
            if qtail[v] < 0:
                qhead[v] = job
            else:
                link[qtail[v] - base] = job
            qtail[v] = job
            first = v
            stop_vm = v + 1
        else:
            first = 0
            stop_vm = nvm
            for i in range(nvm):
                m = sm[i]
                if m == 0:
                    continue
                vv = clock[i]
                tol = max(1e-12 * max(1.0, abs(vv)), TIME_RESOLUTION * now * rate[i])
                gone = 0
                while gone < m and sk[i, gone] <= vv + tol:
                    j = sj[i, gone] - base
                    gone += 1
                    # job j departs at ``now``: path, sums, warm-up series, marks (as streaming._ps_chunk)
                    st[_INSYS] -= 1
                    st[_NDEP] += 1
                    ndep = st[_NDEP]
                    gv = 1 + arr_vm[j] if ngroups > 1 else 0
                    resp = now - arr_t[j]
                    wait = start[j] - arr_t[j]
                    _change(seg, count, last, capped_at, 0, now, -1, 0, 0)
                    if gv:
                        _change(seg, count, last, capped_at, gv, now, -1, 0, 0)
                    if now > fs[_T0]:
                        _departure_sums(seg, 0, resp, wait, size[j], size[j])
                        if gv:
                            _departure_sums(seg, gv, resp, wait, size[j], size[j])
                    if ndep <= pilot.size:
                        pilot[ndep - 1] += resp
                    if ndep <= z_limit:
                        fs[_ZACC] += resp
                        if ndep % 5 == 0:
                            z[st[_ZN]] = fs[_ZACC] / 5.0
                            st[_ZN] += 1
                            fs[_ZACC] = 0.0
                    if st[_MI] < marks.size and ndep == marks[st[_MI]]:
                        if st[_MI] == marks.size - 1:
                            done = True  # closed once the event is over: simultaneous departures still count
                        else:
                            _close_mark(seg, count, last, capped_at, now, fs, st, t0_mark, mark_time, mark_out)
                if gone > 0:
                    for p in range(gone, m):
                        sk[i, p - gone] = sk[i, p]
                        sj[i, p - gone] = sj[i, p]
                    sm[i] = m - gone
        for i in range(first, stop_vm):
            while qhead[i] >= 0 and sm[i] < vcpus[i]:
                job = qhead[i]
                j = job - base
                qhead[i] = link[j]
                if qhead[i] < 0:
                    qtail[i] = -1
                start[j] = now
                key = clock[i] + size[j]
                p = sm[i]
                while p > 0 and (sk[i, p - 1] > key or (sk[i, p - 1] == key and sj[i, p - 1] > job)):
                    sk[i, p] = sk[i, p - 1]
                    sj[i, p] = sj[i, p - 1]
                    p -= 1
                sk[i, p] = key
                sj[i, p] = job
                sm[i] += 1
        nfree = 0
        for i in range(nvm):
            rate[i] = 0.0
            free[i] = sm[i] > 0
            if free[i]:
                nfree += 1
        left = float(c)
        while nfree > 0 and left > 0:
            if exact_sum:
                wsum = 0.0
                for i in range(nvm):
                    if free[i]:
                        wsum += weights[i]
            else:
                f = 0
                for i in range(nvm):
                    if free[i]:
                        wfree[f] = weights[i]
                        f += 1
                wsum = fsum(wfree, f, partials)
            level = left / wsum
            full = False
            for i in range(nvm):
                if free[i] and sm[i] <= level * weights[i]:
                    full = True
            if not full:
                for i in range(nvm):
                    if free[i]:
                        rate[i] = level * weights[i] / sm[i]
                break
            for i in range(nvm):
                if free[i] and sm[i] <= level * weights[i]:
                    rate[i] = 1.0
                    left -= sm[i]
                    free[i] = False
                    nfree -= 1
        best = np.inf
        for i in range(nvm):
            if sm[i] > 0:
                d = (sk[i, 0] - clock[i]) / rate[i]
                if d < best:
                    best = d
        fire = np.inf if best == np.inf else now + max(0.0, best)
        if not arrival and st[_NDEP] == departed and fire == now:
            fs[_NOW] = now
            return STUCK
        if done:
            _close_mark(seg, count, last, capped_at, now, fs, st, t0_mark, mark_time, mark_out)
            status = S_DONE
            break
    fs[_NOW] = now
    fs[_LAST] = last_t
    fs[_FIRE] = fire
    st[_INEXT] = i_next
    return status
