"""Bounded-memory runs of every compiled policy: running sums, no per-job records.

``vm.simulate(scenario, customers=N, records=False)`` (or :func:`simulate_streaming`)
simulates any scenario that the compiled engine simulates (FCFS, SJF, non-preemptive and
preemptive priority, delay-dependent priority, vCPU limits, SRPT, PSJF, processor sharing,
round robin with switch cost, cyclic polling with its switchovers, weighted proportional share with
vCPU ceilings, Xen's credit1; any pCPUs, one or several
VMs, an optional finite capacity) for
as many customers as wanted in memory that does not grow with the run, apart from the MSER-5
statistic.  The random numbers are drawn in chunks (numpy blocks from the same streams as the
simpy model, merged over the VMs in the same order), and a resumable numba kernel per family
(:func:`_whole_chunk`, :func:`_preemptive_chunk`, :func:`_ps_chunk`, :func:`_rr_chunk`,
:func:`_polling_chunk`; the switchover streams are drawn block by block as well;
:func:`~virtmodel.sim.compiled.proportional_share.share_chunk` for proportional share,
:func:`~virtmodel.sim.compiled.credit._credit_chunk` for credit)
replays the decisions of the records-mode kernel of :mod:`~virtmodel.sim.compiled.kernels`
(the same pCPU loop, idle stack, lazy-arrival watcher with its wake-up instants, queues and
heaps keyed on the same global job numbers, slice arithmetic) with all of its state in arrays
that survive from one chunk to the next: the pCPUs, the idle stack, the queues, the watcher,
and the arrival, size, start, remaining work and pCPU time of the jobs still present (the
oldest departed or blocked jobs are dropped between chunks).  One VM under FCFS on one pCPU
without capacity runs on a Lindley kernel instead (:func:`_fcfs1_chunk`, about 3x faster).
It keeps

* for the warm-up truncation ``d``, in a first pass: with R = 1 the means of five consecutive
  responses of the first ``customers`` departures (what MSER-5 needs: ``customers / 5`` floats,
  160 MB for 10^8), so that ``d`` is exactly what :func:`virtmodel.sim.stats.mser5` finds on
  the full series; with R >= 2 the running sum over the replications of their pilot response
  series (:func:`ensemble_warmup`: ``N / 4`` floats), so that ``d`` is the ensemble truncation
  of :func:`virtmodel.simulate`; or a fixed fraction.  With R >= 2 each pilot's run
  (:class:`BoundedRun`, resumable) is then continued to the end of its window instead of being
  simulated again, and only its first ``d`` departures are simulated again (for the sums to
  subtract): about 1.25x faster at 5 * 10^6 customers;
* per group (``"all"`` and, with several VMs, each VM) and per segment between marks (the end of
  warm-up and the ends of the batches): departures, sums of responses, waits, sizes, size x wait
  and pCPU time, arrivals and blocked arrivals, and the time integrals of the number present,
  waiting, in service and present capped at the VM's vCPUs (for steal time), integrated along the
  sample path event by event (each integral is the sum over jobs of their time present in the
  window, what :func:`~virtmodel.sim.measure.measure` sums job by job).  The marks depend on
  ``d``: with R = 1 the first pass keeps snapshots of itself (:meth:`BoundedRun.snapshot`, every
  N/64 departures, a few KB each) and each mark is reached by continuing the last snapshot before
  it (or the first pass itself beyond N), a segment's sums being the difference of the cumulative
  sums at its ends: about a third of the run simulated again instead of all of it (1.4-1.8x faster
  at 10^8); on the Lindley path a second pass from time 0.

The same jobs, starts and departures as the records-mode kernels and the simpy model, so the
point estimates equal ``measure()`` on the Records of the same run (tests check it to 1e-9
relative) for every metric but the percentiles (they need the whole series).  Intervals: with
R >= 2 over replication means (the same as with records); with R = 1 batch means of equal
consecutive batches of the departures of all VMs (the oldest ``N mod batches`` left out, as in
:func:`~virtmodel.sim.stats.batch_means`), time averages and counts over each batch's time span
(where ``measure()`` cuts time into equal bins), a VM's per-customer batch means over its own
departures inside those batches (``measure()`` cuts each VM's departures into its own equal
batches).  The warm-up rule is that of :func:`virtmodel.simulate` with per-job records, and so
is the number removed.  Not covered (refused, naming why): a horizon instead of a number of
customers, size bins, percentiles, and what the compiled engine does not simulate.

Estimators (the same as :func:`~virtmodel.sim.measure.measure`'s): a time average over the window
(t0, t1] is (1/(t1 - t0)) * integral of N(t) dt, the integral accumulated as sum N_k (t_{k+1} - t_k)
over the changes of N (which telescopes to the sum over jobs of their time present in the
window); batch means after Law (2015), *Simulation Modeling and Analysis*, 5th ed., sec. 9.5.3;
MSER-5 after White (1997), "An effective truncation heuristic for bias reduction in simulation
output", *Simulation* 69(6).

Memory: the MSER-5 five-means with R = 1 (``N / 5`` floats) or the pilot sum with R >= 2 (``N / 4``
floats); per group and mark :data:`FIELDS` floats; the window of jobs from the oldest still
present to the newest drawn arrival (at most :data:`MAX_LIVE` plus a chunk, five to seven floats
each, else the run stops as overloaded); one chunk of drawn arrivals (:data:`CHUNK`).
"""

from __future__ import annotations

import copy
import math

import numpy as np

from ..._validation import positive_int
from ...errors import InvalidParameter
from ...policies import FCFS
from .. import stats
from ..measure import Measurement
from ..schedulers import TIME_RESOLUTION
from ..stats import MSER_BATCH
from ..streams import ARRIVAL, BLOCK, SERVICE, vm_rng
from . import kernels as k
from .kernels import _heap_pop, _heap_push, _watcher_wake, jit
from .support import KERNEL_OF, unsupported_reason

__all__ = ["simulate_streaming", "simulate_bounded", "bounded_reason", "stream_replication", "ensemble_warmup",
           "mser5_from_means", "run_pass", "BoundedRun", "BOUNDED_FAMILIES", "BOUNDED_METRICS"]

#: arrivals drawn per refill (over all VMs)
CHUNK = 1 << 20
#: snapshots of the MSER-5 pass (R = 1) to take the measured marks from (about 1/SNAPSHOTS of the
#: run simulated again per mark, instead of the whole run)
SNAPSHOTS = 64
#: arrivals the M/G/1 kernel keeps beyond a chunk to integrate the queue at a mark
LOOKAHEAD = 1 << 16
#: most jobs held between the oldest one still present and the newest arrival: beyond it the
#: system is taken as overloaded (about 40 bytes a job: 2^23 jobs, 340 MB)
MAX_LIVE = 1 << 23

DONE, NEED_MORE, NEED_SWITCHOVERS = 0, 1, 2
# float state: now, watcher due, watcher wake-up, when the watcher was set, window start, 5-sum;
# processor sharing: virtual time, its last update, the next completion
# polling: when the next event is due, the switchovers summed so far in a chain
_NOW, _WDUE, _WWAKE, _WSET, _T0, _ZACC, _VIRTUAL, _LAST, _FIRE, _END, _TOTAL = range(11)
# int state: watcher waiting, watcher due unknown, in system, next arrival (global), departures,
# queued, heap size, idle pCPUs, next mark, 5-means written
_WAITING, _UNKNOWN, _INSYS, _INEXT, _NDEP, _NQ, _HM, _NIDLE, _MI, _ZN = range(10)
#: per group and segment: departures, sums of response, wait, size x wait, size; time integrals of
#: the number present, waiting, in service, present capped at the vCPUs; arrivals, blocked arrivals;
#: pCPU time of the departures (preemptive and sharing policies, whose utilization measure() takes from it)
(DEPARTED, RESPONSE, WAIT, SIZE_WAIT, SIZE, NUMBER, QUEUE, BUSY, CAPPED, ARRIVED,
 BLOCKED, OCCUPIED) = range(12)
FIELDS = 12
# per group: jobs present, waiting, in service
_PRESENT, _WAITING_JOBS, _SERVED = range(3)


# -- one VM, FCFS, one pCPU, no capacity: the Lindley recursion (about 3x the event loop below) --
# float state: last departure, segment sums (response, wait, busy, size * wait), 5-sum of responses
_LD, _LP, _LW, _LB, _LSW, _LZ = range(6)
# int state: departures so far, next mark, 5-means written
_LK, _LM, _LZN = range(3)


@jit
def _fcfs1_chunk(a, s, jobs, fstate, istate, marks, mark_out, z, z_limit, pilot, pilot_limit):
    """Process ``jobs`` jobs of ``a``/``s`` (arrival instants, sizes); ``a`` holds lookahead beyond.

    ``mark_out[j]`` gets (T, sum response, sum wait, busy, sum size*wait, queue integral) at
    mark j; the first ``pilot_limit`` responses are added to ``pilot`` (departure k to
    ``pilot[k - 1]``).  Returns 0, or 1 when the lookahead ran out (more than LOOKAHEAD jobs
    queued).
    """
    d_prev = fstate[_LD]
    seg_p = fstate[_LP]
    seg_w = fstate[_LW]
    seg_b = fstate[_LB]
    seg_sw = fstate[_LSW]
    z_acc = fstate[_LZ]
    k = istate[_LK]
    mi = istate[_LM]
    zn = istate[_LZN]
    nmarks = marks.size
    for i in range(jobs):
        ai = a[i]
        if k == 0:
            start = _watcher_wake(0.0, ai)
        elif ai <= d_prev:
            start = d_prev
        else:
            start = _watcher_wake(d_prev, ai)
        d = start + s[i]
        resp = d - ai
        wait = start - ai
        k += 1
        if k <= pilot_limit:
            pilot[k - 1] += resp
        if k <= z_limit:
            z_acc += resp
            if k % 5 == 0:
                z[zn] = z_acc / 5.0
                zn += 1
                z_acc = 0.0
        seg_p += resp
        seg_w += wait
        seg_b += d - start
        seg_sw += s[i] * wait
        if mi < nmarks and k == marks[mi]:
            q = 0.0
            i2 = i + 1
            while i2 < a.size and a[i2] < d:
                q += d - a[i2]
                i2 += 1
            if i2 == a.size:
                return 1
            mark_out[mi, 0] = d
            mark_out[mi, 1] = seg_p
            mark_out[mi, 2] = seg_w
            mark_out[mi, 3] = seg_b
            mark_out[mi, 4] = seg_sw
            mark_out[mi, 5] = q
            seg_p = 0.0
            seg_w = 0.0
            seg_b = 0.0
            seg_sw = 0.0
            mi += 1
        d_prev = d
    fstate[_LD] = d_prev
    fstate[_LP] = seg_p
    fstate[_LW] = seg_w
    fstate[_LB] = seg_b
    fstate[_LSW] = seg_sw
    fstate[_LZ] = z_acc
    istate[_LK] = k
    istate[_LM] = mi
    istate[_LZN] = zn
    return 0


@jit
def _advance(seg, count, last, capped_at, g, t):
    """Integrate group ``g``'s counts from its last change to ``t``."""
    dt = t - last[g]
    n = count[g, _PRESENT]
    seg[g, NUMBER] += n * dt
    seg[g, QUEUE] += count[g, _WAITING_JOBS] * dt
    seg[g, BUSY] += count[g, _SERVED] * dt
    seg[g, CAPPED] += min(float(n), capped_at[g]) * dt
    last[g] = t


@jit
def _change(seg, count, last, capped_at, g, t, present, waiting, served):
    _advance(seg, count, last, capped_at, g, t)
    count[g, _PRESENT] += present
    count[g, _WAITING_JOBS] += waiting
    count[g, _SERVED] += served


@jit
def _arm_watcher(arr_t, base, n_end, i_next, now):
    """The watcher goes to sleep at ``now`` until the next arrival: ``(due, wake-up, unknown)``;
    when that arrival is not drawn yet, unknown (its wake-up is computed once it is)."""
    if i_next < n_end:
        due = arr_t[i_next - base]
        return due, _watcher_wake(now, due), False
    return np.inf, np.inf, True


@jit
def _departure_sums(seg, g, resp, wait, x, occupied):
    seg[g, DEPARTED] += 1.0
    seg[g, RESPONSE] += resp
    seg[g, WAIT] += wait
    seg[g, SIZE_WAIT] += x * wait
    seg[g, SIZE] += x
    seg[g, OCCUPIED] += occupied


@jit
def _whole_chunk(arr_t, arr_vm, size, start, link, base, covered, c, cap, policy, vm_key, offset, slope, limit,
                 use_heap, fs, st, busy, rj, idle, popped, qhead, qtail, qlen, running_vm, hk, hj,
                 count, last, capped_at, seg, marks, t0_mark, mark_time, mark_out, z, z_limit, pilot):
    """Resume :func:`~virtmodel.sim.compiled.kernels.run_whole` on the jobs known so far.

    ``arr_t, arr_vm, size, start, link`` hold jobs ``base, base + 1, ...`` (global numbers, as
    in the records-mode kernel): every arrival up to ``covered``, and the jobs still present.
    The run goes on until the next event lies beyond ``covered`` (returns NEED_MORE, state saved
    in the arrays) or until departure ``marks[-1]`` (returns DONE).  At departure ``marks[j]``
    the segment sums ``seg`` go to ``mark_out[j]`` (then restart from zero) and its instant to
    ``mark_time[j]``; mark ``t0_mark`` opens the window (later departures at that very instant
    are left out, as ``measure()`` keeps departures after t0).  The first ``pilot.size``
    responses are added to ``pilot`` and the five-means of the first ``z_limit`` go to ``z``.
    """
    inf = np.inf
    n_end = base + arr_t.size
    ngroups = count.shape[0]
    nvm = vm_key.size
    now = fs[_NOW]
    w_due = fs[_WDUE]
    w_wake = fs[_WWAKE]
    w_set = fs[_WSET]
    t0 = fs[_T0]
    z_acc = fs[_ZACC]
    waiting = st[_WAITING] != 0
    unknown = st[_UNKNOWN] != 0
    in_system = st[_INSYS]
    i_next = st[_INEXT]
    ndep = st[_NDEP]
    nq = st[_NQ]
    hm = st[_HM]
    nidle = st[_NIDLE]
    mi = st[_MI]
    zn = st[_ZN]
    nmarks = marks.size
    if unknown and i_next < n_end:
        # the watcher went to sleep until the next arrival before it was drawn: its wake-up is
        # computed from the instant it was set, as the records-mode kernel computes it
        w_due = arr_t[i_next - base]
        w_wake = _watcher_wake(w_set, w_due)
        unknown = False
    status = NEED_MORE
    while True:
        d = inf
        kd = -1
        for p in range(c):
            if busy[p] < d:
                d = busy[p]
                kd = p
        w = inf if waiting else w_wake
        t_ev = w if w < d else d
        if t_ev > covered:
            break
        if w < d:
            now = w
            upto = w_due
        else:
            now = d
            upto = d
        # lazy admission of every arrival up to ``upto``
        while i_next < n_end and arr_t[i_next - base] <= upto:
            job = i_next
            j = job - base
            i_next += 1
            a = arr_t[j]
            v = arr_vm[j]
            gv = 1 + v if ngroups > 1 else 0
            seg[0, ARRIVED] += 1.0
            if gv:
                seg[gv, ARRIVED] += 1.0
            if cap >= 0 and in_system >= cap:
                seg[0, BLOCKED] += 1.0
                if gv:
                    seg[gv, BLOCKED] += 1.0
                continue
            in_system += 1
            _change(seg, count, last, capped_at, 0, a, 1, 1, 0)
            if gv:
                _change(seg, count, last, capped_at, gv, a, 1, 1, 0)
            if policy == k.FCFS:
                q = 0
            elif use_heap:
                hm = _heap_push(hk, hj, hm, vm_key[v] if policy == k.PRIORITY else size[j], job)
                nq += 1
                continue
            else:
                q = v
            link[j] = -1
            if qtail[q] < 0:
                qhead[q] = job
            else:
                link[qtail[q] - base] = job
            qtail[q] = job
            qlen[q] += 1
            nq += 1
        npop = 0
        if w < d:
            # the watcher: wake one idle pCPU per job that could start
            if policy == k.VCPU_FCFS:
                ready = 0
                for v in range(nvm):
                    if running_vm[v] < limit[v]:
                        ready += qlen[v]
            else:
                ready = nq
            while nidle > 0 and ready > 0:
                nidle -= 1
                popped[npop] = idle[nidle]
                npop += 1
                ready -= 1
            if nidle == 0:
                waiting = True
            else:
                w_set = now
                w_due, w_wake, unknown = _arm_watcher(arr_t, base, n_end, i_next, now)
        else:
            job = rj[kd]
            j = job - base
            ndep += 1
            a = arr_t[j]
            x = size[j]
            resp = now - a
            wait = start[j] - a
            gv = 1 + arr_vm[j] if ngroups > 1 else 0
            _change(seg, count, last, capped_at, 0, now, -1, 0, -1)
            if gv:
                _change(seg, count, last, capped_at, gv, now, -1, 0, -1)
            if now > t0:
                _departure_sums(seg, 0, resp, wait, x, 0.0)
                if gv:
                    _departure_sums(seg, gv, resp, wait, x, 0.0)
            if ndep <= pilot.size:
                pilot[ndep - 1] += resp
            if ndep <= z_limit:
                z_acc += resp
                if ndep % 5 == 0:
                    z[zn] = z_acc / 5.0
                    zn += 1
                    z_acc = 0.0
            if policy == k.VCPU_FCFS:
                running_vm[arr_vm[j]] -= 1
            in_system -= 1
            rj[kd] = -1
            busy[kd] = inf
            popped[0] = kd
            npop = 1
            if mi < nmarks and ndep == marks[mi]:
                for g in range(ngroups):
                    _advance(seg, count, last, capped_at, g, now)
                mark_time[mi] = now
                for g in range(ngroups):
                    for f in range(FIELDS):
                        mark_out[mi, g, f] = seg[g, f]
                        seg[g, f] = 0.0
                if mi == t0_mark:
                    t0 = now
                mi += 1
                if mi == nmarks:
                    status = DONE  # after this event's starts (nothing to add to the sums at this
                    #                instant), so that a later call resumes from a whole state
        # each pCPU that is free now asks for its next job
        for p in range(npop):
            kp = popped[p]
            job = -1
            if nq > 0:
                if policy == k.FCFS:
                    job = qhead[0]
                    qhead[0] = link[job - base]
                    if qhead[0] < 0:
                        qtail[0] = -1
                    qlen[0] -= 1
                elif use_heap:
                    job, hm = _heap_pop(hk, hj, hm)
                else:
                    best = -1
                    best_p = 0.0
                    best_job = 0
                    for v in range(nvm):
                        head = qhead[v]
                        if head < 0:
                            continue
                        if policy == k.DELAY_DEPENDENT:
                            pr = offset[v] + slope[v] * (now - arr_t[head - base])
                            if best < 0 or pr > best_p or (pr == best_p and head < best_job):
                                best = v
                                best_p = pr
                                best_job = head
                        elif policy == k.PRIORITY:
                            pr = vm_key[v]
                            if best < 0 or pr < best_p or (pr == best_p and head < best_job):
                                best = v
                                best_p = pr
                                best_job = head
                        elif running_vm[v] < limit[v] and (best < 0 or head < best_job):
                            best = v
                            best_job = head
                    if best >= 0:
                        job = best_job
                        qhead[best] = link[job - base]
                        if qhead[best] < 0:
                            qtail[best] = -1
                        qlen[best] -= 1
                        if policy == k.VCPU_FCFS:
                            running_vm[best] += 1
                if job >= 0:
                    nq -= 1
            if job >= 0:
                j = job - base
                start[j] = now
                rj[kp] = job
                busy[kp] = now + size[j]
                _change(seg, count, last, capped_at, 0, now, 0, -1, 1)
                if ngroups > 1:
                    _change(seg, count, last, capped_at, 1 + arr_vm[j], now, 0, -1, 1)
            else:
                idle[nidle] = kp
                nidle += 1
                if waiting:
                    waiting = False
                    w_set = now
                    w_due, w_wake, unknown = _arm_watcher(arr_t, base, n_end, i_next, now)
        if status == DONE:
            break
    fs[_NOW] = now
    fs[_WDUE] = w_due
    fs[_WWAKE] = w_wake
    fs[_WSET] = w_set
    fs[_T0] = t0
    fs[_ZACC] = z_acc
    st[_WAITING] = waiting
    st[_UNKNOWN] = unknown
    st[_INSYS] = in_system
    st[_INEXT] = i_next
    st[_NDEP] = ndep
    st[_NQ] = nq
    st[_HM] = hm
    st[_NIDLE] = nidle
    st[_MI] = mi
    st[_ZN] = zn
    return status


# -- preemptive and processor-sharing policies: eager arrivals, pCPU time charged per job ------
@jit
def _close_mark(seg, count, last, capped_at, now, fs, st, t0_mark, mark_time, mark_out):
    """Departure ``marks[st[_MI]]`` at ``now``: the segment's sums go to its row, then restart."""
    mi = st[_MI]
    for g in range(count.shape[0]):
        _advance(seg, count, last, capped_at, g, now)
        for f in range(FIELDS):
            mark_out[mi, g, f] = seg[g, f]
            seg[g, f] = 0.0
    mark_time[mi] = now
    if mi == t0_mark:
        fs[_T0] = now
    st[_MI] = mi + 1


@jit
def _ps_chunk(arr_t, arr_vm, size, start, base, covered, c, cap, fs, st, hk, hj, count, last, capped_at, seg,
              marks, t0_mark, mark_time, mark_out, z, z_limit, pilot):
    """Resume :func:`~virtmodel.sim.compiled.kernels.run_processor_sharing` (the same virtual clock,
    heap of virtual finishing times on global job numbers, tolerance and timer); returns
    NEED_MORE or DONE like :func:`_whole_chunk`, with each job's pCPU time its size."""
    n_end = base + arr_t.size
    virtual = fs[_VIRTUAL]
    last_t = fs[_LAST]
    fire = fs[_FIRE]
    hm = st[_HM]
    i_next = st[_INEXT]
    status = NEED_MORE
    while True:
        ta = arr_t[i_next - base] if i_next < n_end else np.inf
        t_ev = ta if ta < fire else fire
        if t_ev > covered:
            break
        done = False
        stuck = False
        if ta < fire:
            now = ta
            j = i_next - base
            i_next += 1
            v = arr_vm[j]
            gv = 1 + v if count.shape[0] > 1 else 0
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
            if hm > 0:
                virtual += (now - last_t) * (1.0 if hm <= c else c / hm)
            last_t = now
            start[j] = now
            hm = _heap_push(hk, hj, hm, virtual + size[j], i_next - 1)
        else:
            now = fire
            if hm > 0:
                virtual += (now - last_t) * (1.0 if hm <= c else c / hm)
            last_t = now
            tol = max(1e-12 * max(1.0, abs(virtual)), TIME_RESOLUTION * now * (1.0 if hm <= c else c / hm))
            stuck = True
            while hm > 0 and hk[0] <= virtual + tol:
                stuck = False
                job, hm = _heap_pop(hk, hj, hm)
                j = job - base
                # job j departs at ``now``: path, sums, warm-up series, marks (written out here: a call to
                # a shared helper with these arrays is not inlined by numba and cost 2-3x the kernel)
                st[_INSYS] -= 1
                st[_NDEP] += 1
                ndep = st[_NDEP]
                gv = 1 + arr_vm[j] if count.shape[0] > 1 else 0
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
        if hm == 0:
            fire = np.inf
        else:
            rate = 1.0 if hm <= c else c / hm
            fire = now + max(0.0, (hk[0] - virtual) / rate)
            if stuck and fire == now:
                status = k.STUCK  # time cannot advance (kernels.STUCK): a guard, see TIME_RESOLUTION
                fs[_NOW] = now
                break
        if done:
            _close_mark(seg, count, last, capped_at, now, fs, st, t0_mark, mark_time, mark_out)
            status = DONE
            break
    fs[_VIRTUAL] = virtual
    fs[_LAST] = last_t
    fs[_FIRE] = fire
    st[_HM] = hm
    st[_INEXT] = i_next
    return status


@jit
def _preemptive_chunk(arr_t, arr_vm, size, start, remaining, occupied, base, covered, c, cap, policy, vm_key,
                      fs, st, busy, rj, began, swork, idle, hk, hj, count, last, capped_at, seg, marks, t0_mark,
                      mark_time, mark_out, z, z_limit, pilot):
    """Resume :func:`~virtmodel.sim.compiled.kernels.run_preemptive` (preemptive-resume priority,
    SRPT, PSJF: the same heap keys on global job numbers, the same choice of the pCPU to
    interrupt, the same slice arithmetic); returns NEED_MORE or DONE like :func:`_whole_chunk`."""
    inf = np.inf
    n_end = base + arr_t.size
    hm = st[_HM]
    nidle = st[_NIDLE]
    status = NEED_MORE
    while True:
        d = inf
        kd = -1
        for p in range(c):
            if busy[p] < d:
                d = busy[p]
                kd = p
        i_next = st[_INEXT]
        ta = arr_t[i_next - base] if i_next < n_end else inf
        t_ev = ta if ta < d else d
        if t_ev > covered:
            break
        kp = -1
        job = -1
        leaving = -1
        done = False
        if ta < d:
            now = ta
            j = i_next - base
            st[_INEXT] = i_next + 1
            # an arrival (eager: at its instant), blocked when the system is full; written out here,
            # as the departures are
            v = arr_vm[j]
            gv = 1 + v if count.shape[0] > 1 else 0
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
            if policy == k.PREEMPTIVE_PRIORITY:
                ka = vm_key[v]
            elif policy == k.SRPT:
                ka = remaining[j]
            else:
                ka = size[j]
            # a job that finds an idle pCPU or preempts starts at once, without passing through the
            # heap (it is the strict smallest there: see kernels.run_preemptive)
            if nidle > 0:
                nidle -= 1
                kp = idle[nidle]
                job = i_next
            else:
                worst_k = 0
                worst = 0.0
                for q in range(c):
                    jq = rj[q] - base
                    if policy == k.SRPT:
                        key = remaining[jq] - max(0.0, now - began[q] - 0.0)
                    elif policy == k.PREEMPTIVE_PRIORITY:
                        key = vm_key[arr_vm[jq]]
                    else:
                        key = size[jq]
                    if q == 0 or key > worst:
                        worst_k = q
                        worst = key
                if ka >= worst:
                    hm = _heap_push(hk, hj, hm, ka, i_next)
                else:
                    # the interrupted slice: work done so far
                    kp = worst_k
                    job = i_next
                    r = rj[kp]
                    jr = r - base
                    work = min(swork[kp], max(0.0, now - began[kp] - 0.0))
                    occupied[jr] += now - began[kp]
                    left = remaining[jr] - work
                    rj[kp] = -1
                    busy[kp] = inf
                    if left <= 1e-9 * size[jr]:
                        remaining[jr] = 0.0
                        leaving = jr
                    else:
                        remaining[jr] = left
                        hm = _heap_push(hk, hj, hm, worst if policy != k.SRPT else left, r)
        else:
            now = d
            kp = kd
            r = rj[kp]
            jr = r - base
            occupied[jr] += now - began[kp]
            left = remaining[jr] - swork[kp]
            rj[kp] = -1
            busy[kp] = inf
            if left <= 1e-9 * size[jr]:
                remaining[jr] = 0.0
                leaving = jr
            else:
                remaining[jr] = left
                if policy == k.PREEMPTIVE_PRIORITY:
                    hm = _heap_push(hk, hj, hm, vm_key[arr_vm[jr]], r)
                elif policy == k.SRPT:
                    hm = _heap_push(hk, hj, hm, left, r)
                else:
                    hm = _heap_push(hk, hj, hm, size[jr], r)
        if leaving >= 0:
            # job leaving departs at ``now``: path, sums, warm-up series, marks (written out here: a call to
            # a shared helper with these arrays is not inlined by numba and cost 2-3x the kernel)
            st[_INSYS] -= 1
            st[_NDEP] += 1
            ndep = st[_NDEP]
            gv = 1 + arr_vm[leaving] if count.shape[0] > 1 else 0
            resp = now - arr_t[leaving]
            wait = start[leaving] - arr_t[leaving]
            _change(seg, count, last, capped_at, 0, now, -1, 0, 0)
            if gv:
                _change(seg, count, last, capped_at, gv, now, -1, 0, 0)
            if now > fs[_T0]:
                _departure_sums(seg, 0, resp, wait, size[leaving], occupied[leaving])
                if gv:
                    _departure_sums(seg, gv, resp, wait, size[leaving], occupied[leaving])
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
        if kp >= 0:
            if job < 0 and hm > 0:
                job, hm = _heap_pop(hk, hj, hm)
            if job >= 0:
                j = job - base
                if start[j] != start[j]:
                    start[j] = now
                rj[kp] = job
                began[kp] = now
                swork[kp] = remaining[j]
                busy[kp] = now + remaining[j]
            else:
                idle[nidle] = kp
                nidle += 1
        if done:
            _close_mark(seg, count, last, capped_at, now, fs, st, t0_mark, mark_time, mark_out)
            status = DONE
            break
    st[_HM] = hm
    st[_NIDLE] = nidle
    return status


@jit
def _rr_chunk(arr_t, arr_vm, size, start, link, remaining, occupied, base, covered, c, cap, quantum, switch_cost,
              fs, st, busy, rj, began, swork, idle, popped, queue, count, last, capped_at, seg, marks, t0_mark,
              mark_time, mark_out, z, z_limit, pilot):
    """Resume :func:`~virtmodel.sim.compiled.kernels.run_round_robin` (one FIFO of global job
    numbers in ``queue`` = (head, tail), the lazy watcher, switch costs, and on one pCPU a lone
    job's quanta merged up to the next arrival); returns NEED_MORE or DONE like
    :func:`_whole_chunk`.  On one pCPU an event is taken only when an arrival beyond those it
    admits is drawn (the merge reads it), so stopping never falls in the middle of an event."""
    inf = np.inf
    n_end = base + arr_t.size
    merge = c == 1
    w_due = fs[_WDUE]
    w_wake = fs[_WWAKE]
    waiting = st[_WAITING] != 0
    unknown = st[_UNKNOWN] != 0
    nidle = st[_NIDLE]
    nq = st[_NQ]
    qhead = queue[0]
    qtail = queue[1]
    if unknown and st[_INEXT] < n_end:
        w_due = arr_t[st[_INEXT] - base]
        w_wake = _watcher_wake(fs[_WSET], w_due)
        unknown = False
    status = NEED_MORE
    while True:
        d = inf
        kd = -1
        for p in range(c):
            if busy[p] < d:
                d = busy[p]
                kd = p
        w = inf if waiting else w_wake
        t_ev = w if w < d else d
        if t_ev > covered:
            break
        upto = w_due if w < d else d
        if merge and (n_end == st[_INEXT] or arr_t[n_end - 1 - base] <= upto):
            break  # the merge may need the arrival after those this event admits
        npop = 0
        done = False
        left = 0.0
        if w < d:
            now = w
        else:
            now = d
            # the slice on pCPU kd ends
            jr = rj[kd] - base
            occupied[jr] += now - began[kd]
            left = remaining[jr] - swork[kd]
        while st[_INEXT] < n_end and arr_t[st[_INEXT] - base] <= upto:
            job_a = st[_INEXT]
            ja = job_a - base
            st[_INEXT] = job_a + 1
            v = arr_vm[ja]
            gv = 1 + v if count.shape[0] > 1 else 0
            seg[0, ARRIVED] += 1.0
            if gv:
                seg[gv, ARRIVED] += 1.0
            if cap >= 0 and st[_INSYS] >= cap:
                seg[0, BLOCKED] += 1.0
                if gv:
                    seg[gv, BLOCKED] += 1.0
                continue
            st[_INSYS] += 1
            _change(seg, count, last, capped_at, 0, arr_t[ja], 1, 0, 0)
            if gv:
                _change(seg, count, last, capped_at, gv, arr_t[ja], 1, 0, 0)
            link[ja] = -1
            if qtail < 0:
                qhead = job_a
            else:
                link[qtail - base] = job_a
            qtail = job_a
            nq += 1
        if w < d:
            ready = nq
            while nidle > 0 and ready > 0:
                nidle -= 1
                popped[npop] = idle[nidle]
                npop += 1
                ready -= 1
            if nidle == 0:
                waiting = True
            else:
                fs[_WSET] = now
                w_due, w_wake, unknown = _arm_watcher(arr_t, base, n_end, st[_INEXT], now)
        else:
            job = rj[kd]
            jr = job - base
            rj[kd] = -1
            busy[kd] = inf
            if left <= 1e-9 * size[jr]:
                remaining[jr] = 0.0
                # job jr departs at ``now``: path, sums, warm-up series, marks (written out here: a call to
                # a shared helper with these arrays is not inlined by numba and cost 2-3x the kernel)
                st[_INSYS] -= 1
                st[_NDEP] += 1
                ndep = st[_NDEP]
                gv = 1 + arr_vm[jr] if count.shape[0] > 1 else 0
                resp = now - arr_t[jr]
                wait = start[jr] - arr_t[jr]
                _change(seg, count, last, capped_at, 0, now, -1, 0, 0)
                if gv:
                    _change(seg, count, last, capped_at, gv, now, -1, 0, 0)
                if now > fs[_T0]:
                    _departure_sums(seg, 0, resp, wait, size[jr], occupied[jr])
                    if gv:
                        _departure_sums(seg, gv, resp, wait, size[jr], occupied[jr])
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
            else:
                remaining[jr] = left
                link[jr] = -1
                if qtail < 0:
                    qhead = job
                else:
                    link[qtail - base] = job
                qtail = job
                nq += 1
            popped[0] = kd
            npop = 1
        for p in range(npop):
            kp = popped[p]
            if nq > 0:
                job = qhead
                j = job - base
                qhead = link[j]
                if qhead < 0:
                    qtail = -1
                nq -= 1
                if start[j] != start[j]:
                    start[j] = now
                left = remaining[j]
                if left <= quantum:
                    work = left
                elif nq > 0 or not merge:
                    work = quantum
                else:
                    quanta = max(1.0, np.ceil((arr_t[st[_INEXT] - base] - now) / (quantum + switch_cost)))
                    work = min(left, quanta * quantum)
                if switch_cost != 0.0:
                    dispatches = max(1.0, np.ceil(work / quantum - 1e-9))
                    busy[kp] = now + (switch_cost * dispatches + work)
                else:
                    busy[kp] = now + work
                rj[kp] = job
                began[kp] = now
                swork[kp] = work
            else:
                idle[nidle] = kp
                nidle += 1
                if waiting:
                    waiting = False
                    fs[_WSET] = now
                    w_due, w_wake, unknown = _arm_watcher(arr_t, base, n_end, st[_INEXT], now)
        if done:
            _close_mark(seg, count, last, capped_at, now, fs, st, t0_mark, mark_time, mark_out)
            status = DONE
            break
    fs[_WDUE] = w_due
    fs[_WWAKE] = w_wake
    st[_WAITING] = waiting
    st[_UNKNOWN] = unknown
    st[_NIDLE] = nidle
    st[_NQ] = nq
    queue[0] = qhead
    queue[1] = qtail
    return status


@jit
def _polling_chunk(arr_t, arr_vm, size, start, link, base, covered, cap, discipline, limit, switch, switch_used,
                   switch_count, stream_of, fs, st, visit, qhead, qtail, qlen, count, last, capped_at, seg, marks,
                   t0_mark, mark_time, mark_out, z, z_limit, pilot):
    """Resume :func:`~virtmodel.sim.compiled.polling.run_polling` (cyclic polling on one pCPU: the
    same visits, disciplines, admissions before each departure and lazy skip through empty VMs
    with summed switchovers).  ``visit`` = (VM visited, job served or -1, jobs to serve in this
    visit or -1, jobs served in it, inside a switchover chain); ``switch[r, switch_used[r]:
    switch_count[r]]`` the drawn switchover times of stream r not used yet.  Returns NEED_MORE
    (next event beyond ``covered``), NEED_SWITCHOVERS (a stream ran out inside a chain: the chain
    resumes where it stopped) or DONE, with the state saved."""
    n_end = base + arr_t.size
    nvm = stream_of.size
    now = fs[_NOW]
    end = fs[_END]
    total = fs[_TOTAL]
    i = visit[0]
    serving = visit[1]
    todo = visit[2]
    served = visit[3]
    switching = visit[4] != 0
    status = NEED_MORE
    while True:
        if switching:
            # the switchover after VM i, and while the next VM's queue is empty and no arrival is due
            # before the move ends, the next one added to it (now < covered: arr_t[i_next] is drawn)
            ran_out = False
            while True:
                r = stream_of[i]
                if switch_used[r] >= switch_count[r]:
                    ran_out = True
                    break
                total += switch[r, switch_used[r]]  # 0.0 + x == x: the first draw as simpy takes it
                switch_used[r] += 1
                i = i + 1 if i + 1 < nvm else 0
                if not (qlen[i] == 0 and now + total < arr_t[st[_INEXT] - base]):
                    break
            if ran_out:
                status = NEED_SWITCHOVERS
                break
            end = now + total
            total = 0.0
            switching = False
        if end >= covered:
            break
        now = end
        # the arrivals due (during a service: before its departure is recorded)
        while st[_INEXT] < n_end and arr_t[st[_INEXT] - base] <= now:
            ja = st[_INEXT] - base
            st[_INEXT] += 1
            v = arr_vm[ja]
            gv = 1 + v if count.shape[0] > 1 else 0
            seg[0, ARRIVED] += 1.0
            if gv:
                seg[gv, ARRIVED] += 1.0
            if cap >= 0 and st[_INSYS] >= cap:
                seg[0, BLOCKED] += 1.0
                if gv:
                    seg[gv, BLOCKED] += 1.0
                continue
            st[_INSYS] += 1
            _change(seg, count, last, capped_at, 0, arr_t[ja], 1, 1, 0)
            if gv:
                _change(seg, count, last, capped_at, gv, arr_t[ja], 1, 1, 0)
            job = ja + base
            link[ja] = -1
            if qtail[v] < 0:
                qhead[v] = job
            else:
                link[qtail[v] - base] = job
            qtail[v] = job
            qlen[v] += 1
        done = False
        if serving >= 0:
            jr = serving - base
            st[_INSYS] -= 1
            st[_NDEP] += 1
            ndep = st[_NDEP]
            gv = 1 + arr_vm[jr] if count.shape[0] > 1 else 0
            resp = now - arr_t[jr]
            wait = start[jr] - arr_t[jr]
            _change(seg, count, last, capped_at, 0, now, -1, 0, -1)
            if gv:
                _change(seg, count, last, capped_at, gv, now, -1, 0, -1)
            if now > fs[_T0]:
                _departure_sums(seg, 0, resp, wait, size[jr], 0.0)
                if gv:
                    _departure_sums(seg, gv, resp, wait, size[jr], 0.0)
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
                    done = True  # closed once the next job has started, as simpy stops
                else:
                    _close_mark(seg, count, last, capped_at, now, fs, st, t0_mark, mark_time, mark_out)
            served += 1
            serving = -1
        else:
            # a visit to VM i. exhaustive: no bound (-1); gated: the jobs present now; limited: ``limit``
            todo = qlen[i] if discipline == 1 else (limit if discipline == 2 else -1)
            served = 0
        if qlen[i] > 0 and (todo < 0 or served < todo):
            serving = qhead[i]
            js = serving - base
            qhead[i] = link[js]
            if qhead[i] < 0:
                qtail[i] = -1
            qlen[i] -= 1
            start[js] = now
            end = now + size[js]
            _change(seg, count, last, capped_at, 0, now, 0, -1, 1)
            if count.shape[0] > 1:
                _change(seg, count, last, capped_at, 1 + arr_vm[js], now, 0, -1, 1)
        if serving < 0:
            switching = True
            total = 0.0
        if done:
            _close_mark(seg, count, last, capped_at, now, fs, st, t0_mark, mark_time, mark_out)
            status = DONE
            break
    fs[_NOW] = now
    fs[_END] = end
    fs[_TOTAL] = total
    visit[0] = i
    visit[1] = serving
    visit[2] = todo
    visit[3] = served
    visit[4] = switching
    return status


@jit
def _oldest_queued(link, head, base):
    """The smallest job number in the linked list from ``head`` (round robin requeues at the tail)."""
    oldest = head
    job = head
    while job >= 0:
        if job < oldest:
            oldest = job
        job = link[job - base]
    return oldest


def mser5_from_means(z) -> int:
    """MSER-5 truncation (as :func:`virtmodel.sim.stats.mser5`) from the five-means ``z`` of a series.

    Examples
    --------
    >>> import numpy as np
    >>> from virtmodel.sim.stats import mser5
    >>> y = np.r_[np.full(50, 10.0), np.tile([0.0, 1.0], 500)]
    >>> mser5_from_means(y.reshape(-1, 5).mean(axis=1)) == mser5(y) == 50
    True
    """
    z = np.ascontiguousarray(z, dtype=float)
    if z.size < 2:
        return 0
    return int(MSER_BATCH * _mser_argmin(z, float(z.mean())))


@jit
def _mser_argmin(z, mean):
    """argmin over d <= min(k // 2, k - 2) of MSER(d), with no array of size k allocated:
    the suffix sums of the centred means run from the back, as numpy's reversed cumsum does."""
    k = z.size
    same = True
    for j in range(1, k):
        if z[j] != z[0]:
            same = False
            break
    if same:
        return 0
    dmax = min(k // 2, k - 2)
    s1 = 0.0
    s2 = 0.0
    best = 0
    best_crit = np.inf
    for j in range(k - 1, -1, -1):
        c = z[j] - mean
        s1 += c
        s2 += c * c
        if j <= dmax:
            m = float(k - j)
            sse = s2 - s1 ** 2 / m
            if sse < 0.0:
                sse = 0.0
            crit = sse / (m * m)
            if crit <= best_crit:  # going down in d: ties go to the smaller d
                best_crit = crit
                best = j
    return best


def _family(scenario) -> str:
    """The kernel family of the scenario's policy (Priority: whole jobs unless preemptive)."""
    policy = scenario.policy
    family = KERNEL_OF[type(policy)][0]
    return family if family is not None else ("preemptive" if policy.preemptive else "whole")


#: kernel families with a resumable bounded-memory kernel here
BOUNDED_FAMILIES = ("whole", "preemptive", "processor_sharing", "round_robin", "polling", "credit",
                    "proportional_share")


def bounded_reason(scenario) -> str | None:
    """Why ``scenario`` cannot run in bounded memory (None when it can): every scenario that the
    compiled engine simulates (:func:`~virtmodel.sim.compiled.support.unsupported_reason`) whose
    kernel family has a resumable kernel here (:data:`BOUNDED_FAMILIES`: all of them today)."""
    reason = unsupported_reason(scenario)
    if reason is None and scenario.has_patience:
        reason = ("patience (abandonment) is compiled with per-job records only (the bounded-memory kernels "
                  "have no patience step)")
    if reason is None and _family(scenario) not in BOUNDED_FAMILIES:
        covered = sorted(t.__name__ for t, e in KERNEL_OF.items() if e[0] in (*BOUNDED_FAMILIES, None))
        reason = (f"policy {type(scenario.policy).__name__} runs on the compiled {_family(scenario)!r} kernel, which "
                  f"has no bounded-memory (resumable) version; bounded memory covers {', '.join(covered)}")
    return reason


def _check(scenario):
    reason = bounded_reason(scenario)
    if reason is not None:
        raise InvalidParameter(f"simulate_streaming cannot simulate this scenario: {reason}; "
                               "use vm.simulate (engine='auto') instead")


class _Arrivals:
    """Every VM's arrival instants and job sizes, drawn in whole blocks as the simpy model draws
    them (the streams of :func:`~virtmodel.sim.streams.vm_rng`, arrival instants as the running
    float sum of the gaps) and merged over the VMs chunk by chunk, ties to the lower VM index as
    :func:`~virtmodel.sim.compiled.kernels.merge_streams` orders them; the instants beyond what
    every VM has drawn wait for the next chunk."""

    def __init__(self, scenario, seed, replication):
        vms = scenario.vms
        self._laws = [(vm.arrival, vm.service) for vm in vms]
        self._rngs = [(vm_rng(seed, replication, i, ARRIVAL), vm_rng(seed, replication, i, SERVICE))
                      for i in range(len(vms))]
        self._share = [vm.arrival_rate / scenario.arrival_rate for vm in vms]
        self._pending = [(np.empty(0), np.empty(0)) for _ in vms]
        self._last = [0.0] * len(vms)
        self._zeros = np.empty(0, dtype=np.int64)

    def more(self, count):
        """About ``count`` more arrivals: ``(times, vms, sizes, covered)``, every arrival up to ``covered``."""
        drawn = []
        for i, ((arrival, service), (arrival_rng, service_rng)) in enumerate(zip(self._laws, self._rngs, strict=True)):
            blocks = max(1, -(-int(count * self._share[i]) // BLOCK))
            gaps, sizes = np.empty(blocks * BLOCK), np.empty(blocks * BLOCK)
            for b in range(0, blocks * BLOCK, BLOCK):
                gaps[b:b + BLOCK] = arrival.sample(arrival_rng, BLOCK)
                sizes[b:b + BLOCK] = service.sample(service_rng, BLOCK)
            gaps[0] += self._last[i]
            np.cumsum(gaps, out=gaps)  # t_k = t_{k-1} + gap_k, in sequence (as _Stream draws them)
            self._last[i] = float(gaps[-1])
            drawn.append((gaps, sizes))
        covered = min(self._last)
        if len(drawn) == 1:
            times, sizes = drawn[0]
            if self._zeros.size != times.size:
                self._zeros = np.zeros(times.size, dtype=np.int64)
            return times, self._zeros, sizes, covered
        self._pending = [(np.concatenate((t, new_t)), np.concatenate((x, new_x)))
                         for (t, x), (new_t, new_x) in zip(self._pending, drawn, strict=True)]
        counts = np.array([np.searchsorted(t, covered, side="right") for t, _ in self._pending], dtype=np.int64)
        offsets = np.concatenate(([0], np.cumsum([t.size for t, _ in self._pending])[:-1])).astype(np.int64)
        merged = k.merge_streams(np.concatenate([t for t, _ in self._pending]), counts,
                                 np.concatenate([x for _, x in self._pending]), offsets, int(counts.sum()))
        self._pending = [(t[m:], x[m:]) for (t, x), m in zip(self._pending, counts, strict=True)]
        return (*merged, covered)


def _lindley(scenario) -> bool:
    """One VM under FCFS on one pCPU without capacity or vCPU limit: the Lindley kernel's case."""
    return (type(scenario.policy) is FCFS and scenario.pcpus == 1 and len(scenario.vms) == 1
            and scenario.capacity is None and scenario.vms[0].vcpus is None)


def _lindley_pass(scenario, seed, replication, marks, z, pilot, chunk):
    """:func:`run_pass` for :func:`_lindley` scenarios with :func:`_fcfs1_chunk` (the same jobs, the
    same departures); None when more than LOOKAHEAD jobs were queued at a mark (then the event
    loop takes over; passes with ``z`` or ``pilot`` have no mark but the last, which cannot fail)."""
    vm = scenario.vms[0]
    arrival_rng = vm_rng(seed, replication, 0, ARRIVAL)
    service_rng = vm_rng(seed, replication, 0, SERVICE)
    chunk = max(BLOCK, chunk // BLOCK * BLOCK)
    jobs = int(marks[-1])
    inner = marks if z is None and pilot is None else marks[:0]
    a = np.empty(0)
    s = np.empty(0)
    last = 0.0
    fstate = np.zeros(6)
    istate = np.zeros(3, dtype=np.int64)
    out = np.full((inner.size, 6), np.nan)
    z_out = np.empty(0) if z is None else z
    z_limit = 0 if z is None else MSER_BATCH * z.size
    pilot_out = np.empty(0) if pilot is None else pilot
    done = 0
    while done < jobs:
        need = min(chunk, jobs - done) + LOOKAHEAD
        if a.size < need:
            blocks = -(-(need - a.size) // BLOCK)
            gaps = np.concatenate([vm.arrival.sample(arrival_rng, BLOCK) for _ in range(blocks)])
            sizes = np.concatenate([vm.service.sample(service_rng, BLOCK) for _ in range(blocks)])
            times = np.cumsum(np.concatenate(([last], gaps)))[1:]  # the simpy model's running float sum
            last = float(times[-1])
            a = np.concatenate((a, times))
            s = np.concatenate((s, sizes))
        step = min(chunk, jobs - done)
        if _fcfs1_chunk(a, s, step, fstate, istate, inner, out, z_out, z_limit, pilot_out, pilot_out.size):
            return None
        a = a[step:]
        s = s[step:]
        done += step
    # (T, responses, waits, busy, size x wait, sum of T - a over the jobs present at T) at each mark
    # to the fields of the event loop: the integral of the number present over a segment is the
    # responses of its departures plus what is owed at its end minus what was owed at its start;
    # waiting likewise with the waits; a service never straddles a mark (the next starts there)
    sums = np.zeros((inner.size, 1, FIELDS))
    if inner.size:
        owed = np.diff(np.concatenate(([0.0], out[:, 5])))
        sums[:, 0, DEPARTED] = np.diff(np.concatenate(([0], inner)))
        sums[:, 0, RESPONSE], sums[:, 0, WAIT] = out[:, 1], out[:, 2]
        sums[:, 0, SIZE_WAIT], sums[:, 0, SIZE], sums[:, 0, BUSY] = out[:, 4], out[:, 3], out[:, 3]
        sums[:, 0, NUMBER], sums[:, 0, QUEUE] = out[:, 1] + owed, out[:, 2] + owed
        sums[:, 0, CAPPED] = sums[:, 0, NUMBER]
    return out[:, 0], sums


def _check_slices(policy, sizes, slices):
    """Round robin: refuse a quantum so small that one job, or the run, needs too many slices (the
    limits of :class:`~virtmodel.sim.compiled.engine.CompiledEngine`); returns the slices so far."""
    from .engine import MAX_SLICES, MAX_TOTAL_SLICES

    quantum = policy.quantum
    if sizes.size and float(sizes.max()) / quantum > MAX_SLICES:
        raise InvalidParameter(
            f"RoundRobin quantum={quantum!r} is too small for the job sizes: a job of size {float(sizes.max()):.6g} "
            f"needs more than {MAX_SLICES:.0e} slices; use a quantum of at least "
            f"{float(sizes.max()) / MAX_SLICES:.3g}, or ProcessorSharing() for the limit of a vanishing quantum")
    slices += float(sizes.sum()) / quantum
    if slices > MAX_TOTAL_SLICES:
        raise InvalidParameter(
            f"RoundRobin quantum={quantum!r} is too small for this run: its jobs need more than "
            f"{MAX_TOTAL_SLICES:.0e} slices (hours of simulation); use a larger quantum, fewer customers, or "
            "ProcessorSharing() for the limit of a vanishing quantum")
    return slices


class BoundedRun:
    """One replication simulated in bounded memory, resumable: each :meth:`advance` goes on from
    where the last one stopped, in the same random numbers (the kernels' state, the window of jobs
    and the draws all persist), so a pilot's run can be continued instead of simulated again.

    Parameters
    ----------
    scenario : virtmodel.Scenario
        One that :func:`bounded_reason` accepts.
    seed, replication : int
        The streams of :func:`~virtmodel.sim.streams.vm_rng`, as in records mode.
    chunk : int
        Most arrivals drawn per refill.
    """

    def __init__(self, scenario, seed, replication, chunk=CHUNK):
        from .engine import CompiledEngine

        setup = CompiledEngine(scenario, seed, replication)  # the kernel's parameters, as in records mode
        if setup.family not in BOUNDED_FAMILIES:
            raise InvalidParameter(f"BoundedRun cannot simulate this scenario: {bounded_reason(scenario)}")
        self.scenario, self.chunk, self.family = scenario, chunk, setup.family
        code = getattr(setup, "_code", -1)  # (processor sharing and round robin have none)
        self._policy = (setup._cap, code, setup._vm_key, setup._offset, setup._slope, setup._limit)
        vms, c = scenario.vms, scenario.pcpus
        nvm = len(vms)
        groups = 1 if nvm == 1 else nvm + 1
        self._use_heap = (self.family not in ("whole", "credit", "proportional_share") or code == k.SJF
                          or (code == k.PRIORITY and nvm > k.PRIORITY_LIST_VMS))
        self._fs = np.array([0.0, np.inf, np.inf, 0.0, -np.inf, 0.0, 0.0, 0.0, np.inf, 0.0, 0.0])
        if self.family == "polling":
            # the switchover streams as the polling kernel's draws (system stream or one per VM); the
            # numbers used are dropped and more drawn block by block as the run goes on
            from .polling import DISCIPLINE_CODE, SwitchoverDraws

            policy = scenario.policy
            self._switch = SwitchoverDraws(policy, scenario.names, seed, replication)
            self._switch_used = np.zeros(self._switch.count.size, dtype=np.int64)
            self._discipline = (DISCIPLINE_CODE[policy.discipline], int(policy.limit) if policy.limit else -1)
            self._visit = np.array([0, -1, -1, 0, 0], dtype=np.int64)  # the first visit, to VM 0 at time 0
        self._st = np.zeros(10, dtype=np.int64)
        self._st[_UNKNOWN] = 1  # the watcher sleeps until the first arrival, set at time 0
        self._st[_NIDLE] = c
        self._began, self._swork = np.zeros(c), np.zeros(c)
        self._busy, self._rj = np.full(c, np.inf), np.full(c, -1, dtype=np.int64)
        self._idle, self._popped = np.arange(c, dtype=np.int64), np.empty(c, dtype=np.int64)
        self._qhead, self._qtail = np.full(nvm, -1, dtype=np.int64), np.full(nvm, -1, dtype=np.int64)
        self._qlen, self._running_vm = np.zeros(nvm, dtype=np.int64), np.zeros(nvm, dtype=np.int64)
        self._hk, self._hj = np.empty(0), np.empty(0, dtype=np.int64)
        self._count = np.zeros((groups, 3), dtype=np.int64)
        self._last = np.zeros(groups)
        # min(N_i, v_i) for steal time: v_i the VM's vCPUs, or the pCPUs when it has no limit
        self._capped_at = np.array([np.inf] + ([] if nvm == 1 else [float(vm.vcpus or c) for vm in vms]))
        self._seg = np.zeros((groups, FIELDS))
        self._arrivals = _Arrivals(scenario, seed, replication)
        # the window of jobs base, base + 1, ...: arrival, VM, size, start, queue link, remaining
        # work, pCPU time, in buffers that the jobs still present move to the front of before each
        # chunk's arrivals are written behind them
        self._buffers = [np.empty(0), np.empty(0, dtype=np.int64), np.empty(0), np.empty(0),
                         np.empty(0, dtype=np.int64)]
        if self.family in ("preemptive", "round_robin", "credit"):
            self._buffers += [np.empty(0), np.empty(0)]
        self._queue = np.array([-1, -1], dtype=np.int64)  # round robin: head and tail of its FIFO
        if self.family == "credit":  # the credit kernel's event core and scheduler state (compiled/credit.py)
            self._credit = setup._credit
            self._credit_state = self._credit.bounded_state()
        if self.family == "proportional_share":  # per-VM clocks, jobs in service, FIFOs (proportional_share.py)
            self._share = setup._proportional_share
            self._share_state = self._share.bounded_state()
        self._slices = 0.0
        self._base = self._held = 0

    @property
    def departures(self) -> int:
        """Departures so far."""
        return int(self._st[_NDEP])

    def compact(self):
        """Shrink the window's buffers and the heap to what they hold (before keeping or sending this run)."""
        self._buffers = [b[:self._held].copy() for b in self._buffers]
        self._hk, self._hj = self._hk[:self._st[_HM]].copy(), self._hj[:self._st[_HM]].copy()
        return self

    def _oldest(self) -> int:
        """The oldest job still present (or the next arrival): the jobs before it are never read again."""
        st, rj, qhead, queue = self._st, self._rj, self._qhead, self._queue
        present = [st[_INEXT]]
        present += [rj[rj >= 0].min()] if (rj >= 0).any() else []
        present += [qhead[qhead >= 0].min()] if (qhead >= 0).any() else []
        present += [_oldest_queued(self._buffers[4], queue[0], self._base)] if queue[0] >= 0 else []
        present += [self._hj[:st[_HM]].min()] if st[_HM] else []
        present += [int(self._visit[1])] if self.family == "polling" and self._visit[1] >= 0 else []
        present += self._credit.present(self._credit_state) if self.family == "credit" else []
        present += self._share.present(self._share_state) if self.family == "proportional_share" else []
        return int(min(present))

    def snapshot(self):
        """An independent copy of this run at its present state (only the jobs still present and
        those not yet arrived are copied), to be continued later."""
        twin = copy.copy(self)
        for name, value in vars(self).items():
            if isinstance(value, np.ndarray) and name not in ("_hk", "_hj"):
                setattr(twin, name, value.copy())
        oldest = self._oldest()
        drop = oldest - self._base
        twin._base, twin._held = oldest, self._held - drop
        twin._buffers = [b[drop:self._held].copy() for b in self._buffers]
        twin._hk, twin._hj = self._hk[:self._st[_HM]].copy(), self._hj[:self._st[_HM]].copy()
        zeros, self._arrivals._zeros = self._arrivals._zeros, np.empty(0, dtype=np.int64)  # a cache: not copied
        twin._arrivals = copy.deepcopy(self._arrivals)
        self._arrivals._zeros = zeros
        if self.family == "polling":
            twin._switch = copy.deepcopy(self._switch)
        if self.family == "credit":
            twin._credit_state = tuple(a.copy() for a in self._credit_state)
        if self.family == "proportional_share":
            twin._share_state = tuple(a.copy() for a in self._share_state)
        return twin

    def advance(self, stop, marks=(), t0_mark=-1, z=None, pilot=None, snapshots=None, every=1):
        """Go on to departure ``stop`` (beyond :attr:`departures`); ``(mark_time, mark_out)`` as
        :func:`run_pass` returns them, the first segment starting where the last call stopped.
        ``snapshots``: a list that gets a :meth:`snapshot` between chunks each time at least
        ``every`` departures have passed since the last one (to continue from later)."""
        marks = [int(m) for m in marks]
        if not marks or marks[-1] != stop:
            marks.append(int(stop))
        marks = np.asarray(marks, dtype=np.int64)
        if marks[0] <= self.departures:
            raise InvalidParameter(f"BoundedRun.advance: marks must lie beyond the {self.departures} departures "
                                   f"so far, got {marks.tolist()}")
        st, fs, buffers = self._st, self._fs, self._buffers
        st[_MI] = 0
        c = self.scenario.pcpus
        cap, code, vm_key, offset, slope, limit = self._policy
        mark_time = np.full(marks.size, np.nan)
        mark_out = np.full((marks.size, *self._seg.shape), np.nan)
        z_out = np.empty(0) if z is None else z
        z_limit = 0 if z is None else MSER_BATCH * z.size
        pilot_out = np.empty(0) if pilot is None else pilot
        rj, qhead, queue = self._rj, self._qhead, self._queue
        while True:
            # drop the jobs before the oldest one still present (departed or blocked: never read again)
            oldest = self._oldest()
            if st[_INEXT] - oldest > MAX_LIVE:
                raise InvalidParameter(
                    f"more than {MAX_LIVE:,} jobs lie between the oldest job still present and the newest arrival "
                    f"after {st[_NDEP]:,} departures: the system is overloaded (or one job starves) for a "
                    "bounded-memory run; lower the load, or use records=True with fewer customers")
            drop, base = oldest - self._base, oldest
            held = self._held - drop
            # about the arrivals the departures still to come need (10 % for blocking and the queue), at
            # most a chunk: a short run draws no more than it uses
            t, v, x, covered = self._arrivals.more(min(self.chunk, int((marks[-1] - st[_NDEP]) * 1.1) + BLOCK))
            if held + t.size > buffers[0].size:
                room = 2 * (held + t.size)
                buffers = [np.concatenate((b[drop:drop + held], np.empty(room - held, dtype=b.dtype)))
                           for b in buffers]
                self._buffers = buffers
            elif drop:
                for b in buffers:
                    b[:held] = b[drop:drop + held]
            # new jobs: not started (NaN), all their work remaining, no pCPU time yet
            for b, new in zip(buffers, (t, v, x, np.nan, 0, x, 0.0), strict=False):
                b[held:held + t.size] = new
            held += t.size
            self._base, self._held = base, held
            arr_t, arr_vm, size, start, link = (b[:held] for b in buffers[:5])
            if self._use_heap and self._hk.size < held:  # the heap holds jobs present, all in the window
                self._hk = np.concatenate((self._hk[:st[_HM]], np.empty(2 * held - st[_HM])))
                self._hj = np.concatenate((self._hj[:st[_HM]], np.empty(2 * held - st[_HM], dtype=np.int64)))
            hk, hj = self._hk, self._hj
            common = (self._count, self._last, self._capped_at, self._seg, marks, t0_mark, mark_time, mark_out,
                      z_out, z_limit, pilot_out)
            if self.family == "whole":
                status = _whole_chunk(arr_t, arr_vm, size, start, link, base, covered, c, cap, code, vm_key, offset,
                                      slope, limit, self._use_heap, fs, st, self._busy, rj, self._idle, self._popped,
                                      qhead, self._qtail, self._qlen, self._running_vm, hk, hj, *common)
            elif self.family == "preemptive":
                status = _preemptive_chunk(arr_t, arr_vm, size, start, buffers[5][:held], buffers[6][:held], base,
                                           covered, c, cap, code, vm_key, fs, st, self._busy, rj, self._began,
                                           self._swork, self._idle, hk, hj, *common)
            elif self.family == "round_robin":
                policy = self.scenario.policy
                self._slices = _check_slices(policy, x, self._slices)
                status = _rr_chunk(arr_t, arr_vm, size, start, link, buffers[5][:held], buffers[6][:held], base,
                                   covered, c, cap, float(policy.quantum), float(policy.switch_cost), fs, st,
                                   self._busy, rj, self._began, self._swork, self._idle, self._popped, queue,
                                   *common)
            elif self.family == "polling":
                status = self._poll(arr_t, arr_vm, size, start, link, base, covered, cap, common)
            elif self.family == "credit":
                status = self._credit.chunk(arr_t, arr_vm, size, start, link, buffers[5][:held], buffers[6][:held],
                                            base, covered, cap, self._credit_state, fs, st, common)
            elif self.family == "proportional_share":
                status = self._share.chunk(arr_t, arr_vm, size, start, link, base, covered, cap, self._share_state,
                                           fs, st, common)
            else:
                status = _ps_chunk(arr_t, arr_vm, size, start, base, covered, c, cap, fs, st, hk, hj, *common)
            if status == DONE:
                return mark_time, mark_out
            if status == k.STUCK:
                raise InvalidParameter(k.stuck_message(type(self.scenario.policy).__name__, fs[_NOW]))
            if snapshots is not None and st[_NDEP] >= (snapshots[-1].departures if snapshots else 0) + every:
                snapshots.append(self.snapshot())


    def _poll(self, arr_t, arr_vm, size, start, link, base, covered, cap, common):
        """The polling kernel on this chunk, switchovers drawn (and the used ones dropped) as it needs."""
        draws, used = self._switch, self._switch_used
        while True:
            keep = draws.count - used
            for r in range(keep.size):  # drop the numbers used (each row keeps its order)
                draws.table[r, :keep[r]] = draws.table[r, used[r]:draws.count[r]]
            draws.count[:] = keep
            used[:] = 0
            _extend_switchovers(draws, int(keep.max()) + BLOCK)  # at least a block ahead in every stream
            status = _polling_chunk(arr_t, arr_vm, size, start, link, base, covered, cap, *self._discipline,
                                    draws.table, used, draws.count, draws.stream_of, self._fs, self._st,
                                    self._visit, self._qhead, self._qtail, self._qlen, *common)
            if status != NEED_SWITCHOVERS:
                return status
            _extend_switchovers(draws, int(draws.count.max()) * 2)


def _extend_switchovers(draws, per_stream):
    """``draws.extend_to(per_stream)`` on rows whose counts, once the used numbers are dropped, are
    not whole blocks: the table first gets room for each row's last block."""
    width = max(int(have) + -(-max(per_stream - int(have), 0) // BLOCK) * BLOCK for have in draws.count)
    if width > draws.table.shape[1]:
        table = np.empty((draws.table.shape[0], width * 3 // 2))
        table[:, :draws.table.shape[1]] = draws.table
        draws.table = table
    draws.extend_to(per_stream)


def run_pass(scenario, seed, replication, stop, marks=(), t0_mark=-1, z=None, pilot=None, chunk=CHUNK):
    """Simulate replication ``replication`` up to departure ``stop``, chunk by chunk, in bounded memory.

    Returns ``(mark_time, mark_out)``: at each departure count in ``marks`` (ascending, the last
    may be ``stop``; ``stop`` is added) its instant and the segment sums since the previous mark
    (``mark_out[j, group, field]``, groups ``"all"`` then each VM when there are several; fields
    DEPARTED ... OCCUPIED).  Mark ``t0_mark`` opens the observation window.  ``z`` receives the
    five-means of the first ``5 * z.size`` responses, ``pilot`` has the first ``pilot.size``
    responses added to it (departure order).  One VM under FCFS on one pCPU runs on the Lindley
    kernel, anything else on a :class:`BoundedRun`.
    """
    if _lindley(scenario):
        marks = [int(m) for m in marks]
        if not marks or marks[-1] != stop:
            marks.append(int(stop))
        out = _lindley_pass(scenario, seed, replication, np.asarray(marks, dtype=np.int64), z, pilot, chunk)
        if out is not None:
            return out
    return BoundedRun(scenario, seed, replication, chunk).advance(stop, marks, t0_mark, z, pilot)


def stream_replication(scenario, seed, replication, customers, batches=None, removed=None, chunk=CHUNK,
                       resume=None):
    """One bounded-memory replication: ``{"measurement", "warmup_removed", "window", "departures"}``.

    The same dictionary as :func:`virtmodel.sim.run.run_replication` (for ``_summarise``), with
    the metrics ``utilization, throughput, mean_wait, mean_response, mean_number,
    mean_queue_length`` of every group, ``blocking_probability`` with a capacity,
    ``work_weighted_wait`` of ``"all"`` and, with several VMs, ``steal_time`` (the point
    estimates of ``measure()``, percentiles aside).  ``resume``: this replication's pilot run
    (``(run, instant, sums)`` at its last departure, see :func:`_pilot`), continued to the end of
    the window; the window's sums are then the pilot's minus those of its first ``removed``
    departures (simulated again: a warm-up is short) plus the continuation's.
    """
    _check(scenario)
    customers = positive_int("customers", customers)
    if resume is not None and not batches and removed is not None and removed <= resume[0].departures:
        return _continued(scenario, seed, replication, customers, removed, chunk, *resume)
    first = None
    if removed is None:
        z = np.empty(customers // MSER_BATCH)
        if _lindley(scenario):
            run_pass(scenario, seed, replication, customers, z=z, chunk=chunk)
        else:  # keep the run and snapshots of it: the measured marks are then taken from them
            # refills of at most 1/(2 SNAPSHOTS) of the run, so that the snapshots (taken between
            # refills) lie about 1/SNAPSHOTS of the run apart
            refill = max(BLOCK, min(chunk, customers // (2 * SNAPSHOTS)))
            run, snapshots = BoundedRun(scenario, seed, replication, refill), []
            times, sums = run.advance(customers, z=z, snapshots=snapshots, every=max(customers // SNAPSHOTS, 1))
            first = (run, snapshots, float(times[0]), sums[0])
        removed = mser5_from_means(z) if customers >= 2 * MSER_BATCH else 0
        del z
    drop, size = 0, customers
    if batches:
        size = customers // batches
        if size < 1:
            raise InvalidParameter(f"batch means need at least {batches} departures, got customers={customers}")
        drop = customers - batches * size
    marks = ([removed] if removed else []) + ([removed + drop] if drop else [])
    marks += [removed + drop + size * (b + 1) for b in range(batches or 1)]
    if first is not None:
        times, sums = _marks_from_first_pass(scenario, seed, replication, chunk, customers, marks, *first)
    else:
        times, sums = run_pass(scenario, seed, replication, removed + customers, marks, 0 if removed else -1,
                               chunk=chunk)
    if removed:  # the warm-up segment lies before the window
        t0, times, sums = float(times[0]), times[1:], sums[1:]
    else:
        t0 = 0.0
    return _measured(scenario, customers, removed, t0, times, sums, batches, drop)


def _marks_from_first_pass(scenario, seed, replication, chunk, customers, marks, run, snapshots, end, total):
    """The marks' instants and segment sums, as :func:`run_pass` gives them, from the MSER-5 pass
    (``run`` at departure ``customers``, its cumulative sums ``total`` at instant ``end``, and
    ``snapshots`` of it on the way): the cumulative sums at a mark up to ``customers`` come from
    continuing the last snapshot before it (or a new run), those beyond from continuing ``run``;
    a segment's sums are the difference of its ends' cumulative sums."""
    at = {0: (0.0, np.zeros_like(total)), customers: (end, total)}
    starts = [snap.departures for snap in snapshots]
    early = sorted(m for m in marks if m < customers)
    while early:
        j = int(np.searchsorted(starts, early[0], side="left")) - 1  # the last snapshot before the mark
        source = snapshots[j] if j >= 0 else BoundedRun(scenario, seed, replication, chunk)
        if j >= 0:
            snapshots[j] = None  # used once: its buffers go when this group is done
        limit = starts[j + 1] if j + 1 < len(starts) else customers
        group = [m for m in early if m <= limit]
        times, sums = source.advance(group[-1], group)
        del source
        for m, t, cumulative in zip(group, times, np.cumsum(sums, axis=0), strict=True):
            at[m] = (float(t), cumulative)  # the snapshot's open segment holds everything since time 0
        early = early[len(group):]
    late = [m for m in marks if m > customers]
    if late:
        times, sums = run.advance(late[-1], late)
        for m, t, cumulative in zip(late, times, total + np.cumsum(sums, axis=0), strict=True):
            at[m] = (float(t), cumulative)
    ends = [at[m] for m in marks]
    previous = [at[0][1]] + [cumulative for _, cumulative in ends[:-1]]
    return (np.array([t for t, _ in ends]),
            np.array([cumulative - before for (_, cumulative), before in zip(ends, previous, strict=True)]))


def _continued(scenario, seed, replication, customers, removed, chunk, run, pilot_end, pilot_sums):
    """:func:`stream_replication` from a pilot's run (no batches: R >= 2)."""
    if removed:
        times, sums = BoundedRun(scenario, seed, replication, chunk).advance(removed)
        t0, warm = float(times[0]), sums[0]
    else:
        t0, warm = 0.0, 0.0
    t1, rest = pilot_end, 0.0
    if removed + customers > run.departures:
        times, sums = run.advance(removed + customers)
        t1, rest = float(times[-1]), sums[0]
        run.compact()  # the caller may keep it: give its buffers back
    window = (pilot_sums - warm) + rest
    return _measured(scenario, customers, removed, t0, np.array([t1]), window[None], None, 0)


def _measured(scenario, customers, removed, t0, times, sums, batches, drop):
    """The replication's dictionary from its window ``(t0, times[-1]]`` and segment sums."""
    t1 = float(times[-1])
    groups = ["all"] + (list(scenario.names) if len(scenario.vms) > 1 else [])
    m = Measurement()
    m.values.update(_metrics(sums.sum(axis=0), t1 - t0, scenario, groups))
    for group in groups:
        number = m.values["mean_number", group]
        flow = m.values["throughput", group] * m.values["mean_response", group]
        m.littles_gap[group] = (number - flow) / number if number > 0 else 0.0
    if batches:
        edges = np.concatenate(([t0], times))[int(bool(drop)):]
        m.batches.update(_metrics(sums[int(bool(drop)):], np.diff(edges), scenario, groups))
    return {"measurement": m, "warmup_removed": int(removed), "window": (t0, t1), "departures": customers}


#: every metric :func:`_metrics` estimates (the point estimates of ``measure()`` but its percentiles)
BOUNDED_METRICS = frozenset({"utilization", "throughput", "mean_wait", "mean_response", "mean_number",
                             "mean_queue_length", "blocking_probability", "work_weighted_wait", "steal_time"})


def _metrics(sums, span, scenario, groups):
    """``{(metric, group): estimate}`` from the sums of a window (``sums[group, field]``, ``span`` a
    float: the point estimates of ``measure()``) or of batches (``sums[batch, group, field]``,
    ``span[batch]``: arrays, per-customer means over each batch's departures of the group)."""
    out = {}
    pcpus = scenario.pcpus
    per_batch = sums.ndim == 3
    # pCPU time per job
    sliced = _family(scenario) in ("preemptive", "processor_sharing", "round_robin", "credit", "proportional_share")
    for g, group in enumerate(groups):
        s = sums[..., g, :]
        departed = s[..., DEPARTED]
        if np.any(departed == 0):
            raise InvalidParameter(
                f"no job of group {group!r} departed in the observation window" + (" in some batch" if per_batch
                                                                                     else "")
                + "; simulate more customers" + (" or use replications >= 2" if per_batch else ""))
        # preemptive and sharing policies (as measure() for time-sliced runs): utilization is the pCPU
        # time of the departures per unit time and pCPU, the queue the number present minus the work
        # of the departures per unit time, clipped at 0
        out["utilization", group] = (s[..., OCCUPIED] / (pcpus * span) if sliced else s[..., BUSY] / span / pcpus)
        out["throughput", group] = departed / span
        out["mean_wait", group] = s[..., WAIT] / departed
        out["mean_response", group] = s[..., RESPONSE] / departed
        out["mean_number", group] = s[..., NUMBER] / span
        out["mean_queue_length", group] = (np.maximum(0.0, out["mean_number", group] - s[..., SIZE] / span)
                                           if sliced else s[..., QUEUE] / span)
        if scenario.capacity is not None:
            arrived = s[..., ARRIVED]
            if per_batch and np.any(arrived == 0):
                raise InvalidParameter(f"a batch of group {group!r} saw no arrivals; simulate more customers "
                                       "or use replications >= 2")
            out["blocking_probability", group] = (s[..., BLOCKED] / arrived if per_batch else
                                                  (s[BLOCKED] / arrived if arrived else 0.0))
        if group == "all":
            out["work_weighted_wait", group] = s[..., SIZE_WAIT] / s[..., SIZE]
    if len(groups) > 1:
        # steal time (measure._vm_level): (E[min(N_i, v_i)] - E[busy pCPUs of i]) / v_i, v_i the VM's
        # vCPUs or the pCPUs; for "all" the same over every VM's vCPUs; clipped at 0
        caps = [float(vm.vcpus or pcpus) for vm in scenario.vms]
        want_all = busy_all = 0.0
        for i, group in enumerate(groups[1:]):
            want = sums[..., i + 1, CAPPED] / span
            busy = out["utilization", group] * pcpus
            out["steal_time", group] = np.maximum(0.0, (want - busy) / caps[i])
            want_all, busy_all = want_all + want, busy_all + busy
        out["steal_time", "all"] = np.maximum(0.0, (want_all - busy_all) / sum(caps))
    if not per_batch:
        out = {key: float(value) for key, value in out.items()}
    return out


def _job(args):
    return stream_replication(*args)


def _pilot(scenario, seed, replication, length, chunk, series):
    """Replication ``replication``'s first ``length`` responses added to ``series``; returns what
    :func:`stream_replication` needs to continue the run instead of simulating it again (``(run,
    instant, sums)`` at departure ``length``), or None on the Lindley path (not resumable)."""
    if _lindley(scenario):
        run_pass(scenario, seed, replication, length, chunk=chunk, pilot=series)
        return None
    run = BoundedRun(scenario, seed, replication, chunk)
    times, sums = run.advance(length, pilot=series)
    return run.compact(), float(times[0]), sums[0]


def _pilot_job(args):
    scenario, seed, replication, length, chunk = args
    series = np.zeros(length)
    return series, _pilot(scenario, seed, replication, length, chunk, series)


def _ensemble_pilots(scenario, seed, replications, customers, workers=1, chunk=CHUNK):
    """:func:`ensemble_warmup`'s truncation and each replication's pilot run to continue."""
    from ..run import _imap, pilot_length

    length = pilot_length(customers)
    total = np.zeros(length)
    if workers == 1:
        resumes = [_pilot(scenario, seed, r, length, chunk, total) for r in range(replications)]
        return stats.mser5(total / replications), resumes
    # one pool for every pilot (a pool per group of ``workers`` pilots cost about 4 CPU-s of process
    # start-up for 90 replications); one pilot a message, added in replication order as they come
    resumes = []
    for series, resume in _imap(_pilot_job, [(scenario, seed, r, length, chunk) for r in range(replications)],
                                workers, dict(disable=True), chunksize=1):
        total += series
        resumes.append(resume)
    return stats.mser5(total / replications), resumes


def ensemble_warmup(scenario, seed, replications, customers, workers=1, chunk=CHUNK) -> int:
    """The warm-up that :func:`virtmodel.simulate` removes with R >= 2 replications, in bounded memory.

    :func:`virtmodel.sim.run.ensemble_truncation` (MSER-5 on the average over the replications
    of their pilot response series, :func:`virtmodel.sim.run.pilot_length` departures each),
    with the average kept as one running sum: replication r's responses are added to it in
    replication order, which is how ``np.mean(series, axis=0)`` adds them, so the truncation
    is the same number.  Memory: the sum (8 bytes per pilot departure) and, with several
    workers, one series per worker at a time.
    """
    return _ensemble_pilots(scenario, seed, replications, customers, workers, chunk)[0]


def simulate_bounded(scenario, customers, replications, seed, warmup="mser5", batches=None, workers=1,
                     chunk=CHUNK, progress=False):
    """:func:`virtmodel.simulate` with ``records=False`` (arguments already checked there).

    The same warm-up rule as the per-job path (one ensemble MSER-5 truncation for R >= 2, MSER-5
    on the run's own first N departures for R = 1, or a fixed fraction), the same intervals.
    """
    from ..run import _map, _summarise

    _check(scenario)
    removed = None
    resumes = [None] * replications
    if warmup == "mser5" and replications >= 2:
        # each replication's pilot run is continued to the end of its window, not simulated again
        removed, resumes = _ensemble_pilots(scenario, seed, replications, customers, workers, chunk)
    elif warmup != "mser5":
        removed = math.ceil(customers / (1 - warmup)) - customers
    jobs = [(scenario, seed, r, customers, batches, removed, chunk, resumes[r]) for r in range(replications)]
    outputs = _map(_job, jobs, workers, dict(total=replications, desc="replications", disable=not progress,
                                             leave=False))
    return _summarise(outputs, scenario, customers, None, replications, seed, warmup, "compiled")


def simulate_streaming(scenario, customers, replications=1, seed=None, batches=20, workers=1, chunk=CHUNK):
    """Simulate a scenario in bounded memory (10^8 customers in a few hundred MB).

    The same as ``vm.simulate(scenario, customers=..., records=False)`` (which see), with the
    chunk size exposed for tests.

    Parameters
    ----------
    scenario : virtmodel.Scenario
        Any scenario the compiled engine simulates (see :func:`bounded_reason`).
    customers : int
        Departures kept per replication (after MSER-5 warm-up removal).
    replications : int, default 1
        R >= 2: Student-t over replication means; R = 1: batch means.
    seed : int, optional
    batches : int, default 20
        Batches when ``replications == 1``.
    workers : int, default 1
        Processes for the replications (the numbers do not depend on it).
    chunk : int
        Jobs simulated per kernel call (rounded down to whole blocks).

    Returns
    -------
    SimResult
        ``engine="compiled"``, ``method`` as in :func:`virtmodel.simulate`; metrics
        ``utilization, throughput, mean_wait, mean_response, mean_number,
        mean_queue_length`` per group, ``work_weighted_wait`` of all,
        ``blocking_probability`` with a capacity, ``steal_time`` with several VMs
        (no percentiles).

    Examples
    --------
    >>> import virtmodel as vm
    >>> from virtmodel.dists import Exponential
    >>> sc = vm.Scenario(1, [vm.VM("a", Exponential(0.5), Exponential(1.0))])
    >>> res = simulate_streaming(sc, customers=200_000, replications=1, seed=3)
    >>> low, high = res.ci("mean_response")
    >>> bool(low < 2.0 < high)
    True
    """
    _check(scenario)
    customers = positive_int("customers", customers)
    replications = positive_int("replications", replications)
    workers = positive_int("workers", workers)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy)
    batch_arg = positive_int("batches", batches) if replications == 1 else None
    return simulate_bounded(scenario, customers, replications, int(seed), "mser5", batch_arg, workers, chunk)
