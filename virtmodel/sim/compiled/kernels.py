"""numba kernels: the event loops of :class:`virtmodel.sim.vmm.Hypervisor`, compiled.

Each kernel replays the simpy model's decisions step by step on arrays (no
Python objects inside): the same arrivals (pre-drawn, merged over VMs),
the same pCPU loops, the same idle stack (last pCPU to go idle is woken
first), the same lazy-arrival watcher (whose wake-up time
``now + (due - now)``, nudged up one ulp when it rounds below ``due``, is
reproduced bit for bit), the same float operations in the same order.
So for one seed they give the same jobs, order and times as the simpy
model; ``tests/sim/test_compiled.py`` proves it policy by policy.

What is not replayed: the order in which simpy's event queue takes events at
*exactly* the same instant (it goes by event id across processes).  With
interarrival times that have a density such ties have probability zero; with
lattice interarrivals (Deterministic, Empirical) they are common, so
:mod:`~virtmodel.sim.compiled.support` leaves those scenarios to simpy.

Inputs common to every kernel
-----------------------------
``arr_t, arr_vm, size``
    merged arrival times (ascending; ties in VM order), VM index and job
    size of the first ``n`` arrivals, all that are known (``covered`` is the
    time up to which no arrival is missing).
``c, cap``
    pCPUs and the capacity (``-1``: unlimited).
``stop_kind, stop_count, stop_time``
    ``STOP_DEPARTURES``: stop at the ``stop_count``-th departure (after the
    departing pCPU has picked its next job, as in simpy);
    ``STOP_TIME``: process every event before ``stop_time`` and admit the
    arrivals up to it.

Outputs (filled in place, preallocated by the caller with ``n`` entries):
``start, depart`` (NaN until set), ``blocked``, ``order`` (departed jobs
in departure order), ``occupied`` (pCPU time per job, sliced kernels).
Each kernel returns ``(status, jobs, departed, now)``: ``status`` is
``OK`` or ``NEED_MORE`` (an event lies beyond ``covered``: draw more
arrivals and run again), ``jobs`` the arrivals admitted or blocked so far.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..schedulers import TIME_RESOLUTION

OK, NEED_MORE = 0, 1
#: status of the sharing kernels (processor sharing, proportional share): a completion timer finished nobody and
#: fires again at the same instant, so time cannot advance.  A guard that should never trip: a completion closer
#: than half an ulp of the time is within ``TIME_RESOLUTION * now`` and is taken as due (the simpy model and the
#: kernels once looped for ever there, a VM almost never busy over a long run)
STUCK = 3


def stuck_message(policy, now):
    """What to do when a sharing kernel returns :data:`STUCK` at time ``now``."""
    return (f"{policy} cannot advance its clock at time {now:.17g}: a job's next completion is closer than half an "
            "ulp of the simulated time but above the 1e-12 tolerance of its virtual clock (a VM nearly always idle "
            "over a long run); simulate a shorter run (fewer customers or a shorter horizon), or give that VM more "
            "work or, under ProportionalShare, a larger weight")
STOP_DEPARTURES, STOP_TIME = 0, 1

# non-preemptive ("whole") policies
FCFS, PRIORITY, SJF, DELAY_DEPENDENT, VCPU_FCFS = 0, 1, 2, 3, 4
# preemptive policies
PREEMPTIVE_PRIORITY, SRPT, PSJF = 0, 1, 2
#: non-preemptive priority keeps per-VM FIFO lists (a scan over the VMs per pick) up to this
#: many VMs, a heap of (priority, job) beyond
PRIORITY_LIST_VMS = 8

_INF = np.inf


def jit(fn):
    """``numba.njit(cache=True)``: compiled once, then loaded from ``__pycache__`` (or numba's
    user-wide cache) by every later process; without any writable cache location numba refuses
    ``cache=True``, and the kernel is then compiled in each process instead."""
    try:
        return njit(cache=True)(fn)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return njit(fn)


# -- simultaneous arrivals in simpy's order ---------------------------------------------
@jit
def first_created_to_front(arr_t, arr_vm, size, i_next, n, created):
    """Arrivals of several VMs at one instant (lattice interarrivals): simpy takes them by the id of
    each VM's pending arrival event (``created[vm]``), the merged stream by VM index.  Move the first
    arrival of the VM whose event was created first to position ``i_next`` (the others keep their
    order, so each VM's own arrivals stay in sequence) and return that smallest id.  Called only when
    ``arr_t[i_next + 1] == arr_t[i_next]`` (the credit1 and LinuxFair kernels)."""
    t = arr_t[i_next]
    first = i_next
    low = created[arr_vm[i_next]]
    j = i_next + 1
    while j < n and arr_t[j] == t:
        if created[arr_vm[j]] < low:
            first = j
            low = created[arr_vm[j]]
        j += 1
    if first != i_next:
        v_first = arr_vm[first]
        x_first = size[first]
        for j in range(first, i_next, -1):
            arr_vm[j] = arr_vm[j - 1]
            size[j] = size[j - 1]
        arr_vm[i_next] = v_first
        size[i_next] = x_first
    return low


# -- a binary heap of (key, job), ordered like Python's heapq on tuples ----------------
@jit
def _heap_push(hk, hj, m, key, job):
    i = m
    while i > 0:
        p = (i - 1) >> 1
        if hk[p] < key or (hk[p] == key and hj[p] < job):
            break
        hk[i] = hk[p]
        hj[i] = hj[p]
        i = p
    hk[i] = key
    hj[i] = job
    return m + 1


@jit
def _heap_pop(hk, hj, m):
    """Remove the smallest (key, job); returns (job, new size)."""
    job = hj[0]
    m -= 1
    key = hk[m]
    jj = hj[m]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= m:
            break
        r = child + 1
        if r < m and (hk[r] < hk[child] or (hk[r] == hk[child] and hj[r] < hj[child])):
            child = r
        if hk[child] < key or (hk[child] == key and hj[child] < jj):
            hk[i] = hk[child]
            hj[i] = hj[child]
            i = child
        else:
            break
    if m > 0:
        hk[i] = key
        hj[i] = jj
    return job, m


@jit
def _watcher_wake(now, due):
    """Time at which the watcher's ``env.timeout(due - now)`` fires (never an ulp early)."""
    delay = due - now
    if now + delay < due:
        delay = np.nextafter(delay, _INF)
    return now + delay


@jit
def merge_streams(times, counts, sizes, size_offsets, n):
    """Merge per-VM arrival times (concatenated, each ascending) into one stream.

    ``times[size_offsets[v]: size_offsets[v] + counts[v]]`` are VM v's
    arrival times and ``sizes`` the matching job sizes.  Ties go to the
    lower VM index, like ``heapq.merge`` on ``(time, vm)`` pairs.  Returns
    the first ``n`` merged (time, vm, size).
    """
    k = counts.size
    pos = np.zeros(k, dtype=np.int64)
    out_t = np.empty(n)
    out_v = np.empty(n, dtype=np.int64)
    out_s = np.empty(n)
    if k == 2:
        # two VMs: the same choice (VM 1 only when strictly earlier) with two cursors
        a, b = size_offsets[0], size_offsets[1]
        ea, eb = a + counts[0], b + counts[1]
        for j in range(n):
            if b < eb and (a >= ea or times[b] < times[a]):
                out_t[j] = times[b]
                out_v[j] = 1
                out_s[j] = sizes[b]
                b += 1
            else:
                out_t[j] = times[a]
                out_v[j] = 0
                out_s[j] = sizes[a]
                a += 1
        return out_t, out_v, out_s
    for j in range(n):
        best = -1
        bt = 0.0
        for v in range(k):
            if pos[v] < counts[v]:
                t = times[size_offsets[v] + pos[v]]
                if best < 0 or t < bt:
                    best = v
                    bt = t
        out_t[j] = bt
        out_v[j] = best
        out_s[j] = sizes[size_offsets[best] + pos[best]]
        pos[best] += 1
    return out_t, out_v, out_s


# -- non-preemptive policies: whole jobs, lazy arrivals --------------------------------
@jit
def run_whole(arr_t, arr_vm, size, n, covered, c, cap, policy, vm_key, offset, slope, limit,
              stop_kind, stop_count, stop_time, start, depart, blocked, order, deadline):
    """FCFS, non-preemptive priority, SJF, delay-dependent priority, FCFS with vCPU limits.

    ``vm_key``: per-VM class (priority); ``offset``/``slope``: delay-dependent
    priority a_i + b_i * waited; ``limit``: vCPUs per VM (VCPU_FCFS).
    ``deadline``: empty, or (patience, :mod:`virtmodel.sim.compiled.abandonment`) each job's arrival
    + patience: a pCPU's pick drops (unserved, its vCPU given back) every job
    the policy hands it whose deadline is before now and picks again, as
    ``Hypervisor._next_patient_job`` does.
    """
    nvm = vm_key.size
    patient = deadline.size > 0
    # waiting jobs: per-VM FIFO linked lists (FCFS uses list 0) or a heap of (key, job).  Priority
    # with few VMs uses the lists too: each VM's jobs wait in job order, so the smallest
    # (vm_key, head job) over the VMs is the heap's smallest (key, job), found in O(VMs)
    use_heap = policy == SJF or (policy == PRIORITY and nvm > PRIORITY_LIST_VMS)
    qhead = np.full(nvm, -1, dtype=np.int64)
    qtail = np.full(nvm, -1, dtype=np.int64)
    qlen = np.zeros(nvm, dtype=np.int64)
    link = np.empty(n, dtype=np.int64)
    hk = np.empty(n if use_heap else 1)
    hj = np.empty(hk.size, dtype=np.int64)
    hm = 0
    nq = 0
    running_vm = np.zeros(nvm, dtype=np.int64)
    # pCPUs
    busy = np.full(c, _INF)
    rj = np.full(c, -1, dtype=np.int64)
    idle = np.empty(c, dtype=np.int64)
    for k in range(c):
        idle[k] = k
    nidle = c
    popped = np.empty(c, dtype=np.int64)
    # the lazy-arrival watcher: waiting for a pCPU to idle, or asleep until w_due
    w_waiting = False
    w_due = arr_t[0] if n > 0 else _INF
    w_wake = _watcher_wake(0.0, w_due) if n > 0 else _INF
    in_system = 0
    i_next = 0
    ndep = 0
    now = 0.0
    if stop_kind == STOP_TIME and stop_time > covered:
        return NEED_MORE, 0, 0, 0.0
    while True:
        d = _INF
        kd = -1
        for k in range(c):
            if busy[k] < d:
                d = busy[k]
                kd = k
        w = _INF if w_waiting else w_wake
        t_ev = w if w < d else d
        if stop_kind == STOP_TIME:
            if t_ev >= stop_time:
                now = stop_time
                # admit the arrivals up to the end (records() does the same)
                while i_next < n and arr_t[i_next] <= now:
                    if cap >= 0 and in_system >= cap:
                        blocked[i_next] = True
                    else:
                        in_system += 1
                    i_next += 1
                break
        elif t_ev > covered:
            return NEED_MORE, i_next, ndep, now
        if w < d:
            now = w
            upto = w_due
        else:
            now = d
            upto = d
        # lazy admission of every arrival up to ``upto``
        while i_next < n and arr_t[i_next] <= upto:
            job = i_next
            i_next += 1
            if cap >= 0 and in_system >= cap:
                blocked[job] = True
                continue
            in_system += 1
            if policy == FCFS:
                v = 0
            elif use_heap:
                hm = _heap_push(hk, hj, hm, vm_key[arr_vm[job]] if policy == PRIORITY else size[job], job)
                nq += 1
                continue
            else:
                v = arr_vm[job]
            link[job] = -1
            if qtail[v] < 0:
                qhead[v] = job
            else:
                link[qtail[v]] = job
            qtail[v] = job
            qlen[v] += 1
            nq += 1
        npop = 0
        stop_here = False
        if w < d:
            # the watcher: wake one idle pCPU per job that could start
            if policy == VCPU_FCFS:
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
                w_waiting = True
            else:
                w_due = arr_t[i_next] if i_next < n else _INF
                w_wake = _watcher_wake(now, w_due) if i_next < n else _INF
        else:
            job = rj[kd]
            depart[job] = now
            order[ndep] = job
            ndep += 1
            if policy == VCPU_FCFS:
                running_vm[arr_vm[job]] -= 1
            in_system -= 1
            rj[kd] = -1
            busy[kd] = _INF
            popped[0] = kd
            npop = 1
            stop_here = stop_kind == STOP_DEPARTURES and ndep >= stop_count
        # each pCPU that is free now asks for its next job
        for p in range(npop):
            k = popped[p]
            job = -1
            while nq > 0:
                if policy == FCFS:
                    job = qhead[0]
                    qhead[0] = link[job]
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
                        if policy == DELAY_DEPENDENT:
                            pr = offset[v] + slope[v] * (now - arr_t[head])
                            if best < 0 or pr > best_p or (pr == best_p and head < best_job):
                                best = v
                                best_p = pr
                                best_job = head
                        elif policy == PRIORITY:
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
                        qhead[best] = link[job]
                        if qhead[best] < 0:
                            qtail[best] = -1
                        qlen[best] -= 1
                        if policy == VCPU_FCFS:
                            running_vm[best] += 1
                if job < 0:
                    break
                nq -= 1
                if not patient or deadline[job] >= now:
                    break
                # its patience ran out before now: it leaves unserved, and its vCPU is free again
                in_system -= 1
                if policy == VCPU_FCFS:
                    running_vm[arr_vm[job]] -= 1
                job = -1
            if job >= 0:
                start[job] = now
                rj[k] = job
                busy[k] = now + size[job]
            else:
                idle[nidle] = k
                nidle += 1
                if w_waiting:
                    w_waiting = False
                    w_due = arr_t[i_next] if i_next < n else _INF
                    w_wake = _watcher_wake(now, w_due) if i_next < n else _INF
        if stop_here:
            break
    return OK, i_next, ndep, now


# -- round robin: slices, lazy arrivals --------------------------------------------------
@jit
def run_round_robin(arr_t, arr_vm, size, n, covered, c, cap, quantum, switch_cost,
                    stop_kind, stop_count, stop_time, start, depart, blocked, order, occupied):
    """Round robin with a switch cost paid at every dispatch (``RoundRobinScheduler``).

    On one pCPU a lone job's quanta up to the next arrival are merged into
    one slice, exactly as the simpy model does.
    """
    merge = c == 1
    remaining = size[:n].copy()
    link = np.empty(n, dtype=np.int64)
    qhead = -1
    qtail = -1
    nq = 0
    busy = np.full(c, _INF)
    rj = np.full(c, -1, dtype=np.int64)
    began = np.zeros(c)
    swork = np.zeros(c)
    idle = np.empty(c, dtype=np.int64)
    for k in range(c):
        idle[k] = k
    nidle = c
    popped = np.empty(c, dtype=np.int64)
    w_waiting = False
    w_due = arr_t[0] if n > 0 else _INF
    w_wake = _watcher_wake(0.0, w_due) if n > 0 else _INF
    in_system = 0
    i_next = 0
    ndep = 0
    now = 0.0
    if stop_kind == STOP_TIME and stop_time > covered:
        return NEED_MORE, 0, 0, 0.0
    while True:
        d = _INF
        kd = -1
        for k in range(c):
            if busy[k] < d:
                d = busy[k]
                kd = k
        w = _INF if w_waiting else w_wake
        t_ev = w if w < d else d
        if stop_kind == STOP_TIME:
            if t_ev >= stop_time:
                now = stop_time
                while i_next < n and arr_t[i_next] <= now:
                    if cap >= 0 and in_system >= cap:
                        blocked[i_next] = True
                    else:
                        in_system += 1
                    i_next += 1
                break
        elif t_ev > covered:
            return NEED_MORE, i_next, ndep, now
        npop = 0
        stop_here = False
        left = 0.0
        if w < d:
            now = w
            upto = w_due
        else:
            now = d
            upto = d
            # the slice on pCPU kd ends
            job = rj[kd]
            occupied[job] += now - began[kd]
            left = remaining[job] - swork[kd]
        while i_next < n and arr_t[i_next] <= upto:
            job_a = i_next
            i_next += 1
            if cap >= 0 and in_system >= cap:
                blocked[job_a] = True
                continue
            in_system += 1
            link[job_a] = -1
            if qtail < 0:
                qhead = job_a
            else:
                link[qtail] = job_a
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
                w_waiting = True
            else:
                w_due = arr_t[i_next] if i_next < n else _INF
                w_wake = _watcher_wake(now, w_due) if i_next < n else _INF
        else:
            job = rj[kd]
            rj[kd] = -1
            busy[kd] = _INF
            if left <= 1e-9 * size[job]:
                remaining[job] = 0.0
                depart[job] = now
                order[ndep] = job
                ndep += 1
                in_system -= 1
                stop_here = stop_kind == STOP_DEPARTURES and ndep >= stop_count
            else:
                remaining[job] = left
                link[job] = -1
                if qtail < 0:
                    qhead = job
                else:
                    link[qtail] = job
                qtail = job
                nq += 1
            popped[0] = kd
            npop = 1
        for p in range(npop):
            k = popped[p]
            if nq > 0:
                job = qhead
                qhead = link[job]
                if qhead < 0:
                    qtail = -1
                nq -= 1
                if start[job] != start[job]:
                    start[job] = now
                left = remaining[job]
                if left <= quantum:
                    work = left
                elif nq > 0 or not merge:
                    work = quantum
                else:
                    if i_next >= n:
                        return NEED_MORE, i_next, ndep, now
                    quanta = max(1.0, np.ceil((arr_t[i_next] - now) / (quantum + switch_cost)))
                    work = min(left, quanta * quantum)
                if switch_cost != 0.0:
                    dispatches = max(1.0, np.ceil(work / quantum - 1e-9))
                    busy[k] = now + (switch_cost * dispatches + work)
                else:
                    busy[k] = now + work
                rj[k] = job
                began[k] = now
                swork[k] = work
            else:
                idle[nidle] = k
                nidle += 1
                if w_waiting:
                    w_waiting = False
                    w_due = arr_t[i_next] if i_next < n else _INF
                    w_wake = _watcher_wake(now, w_due) if i_next < n else _INF
        if stop_here:
            break
    return OK, i_next, ndep, now


# -- preemptive policies: eager arrivals, preempt-resume -----------------------------
@jit
def _list_push(qhead, qtail, link, v, job):
    """Put ``job`` into VM ``v``'s waiting list, kept in job order: an arrival (the largest job
    so far) at the tail, a preempted job after the smaller jobs it finds from the head (only jobs
    that were preempted too can precede it: it was picked before every other waiting job of its VM)."""
    prev = -1
    cur = qhead[v]
    if qtail[v] >= 0 and qtail[v] < job:
        prev = qtail[v]
        cur = -1
    else:
        while cur >= 0 and cur < job:
            prev = cur
            cur = link[cur]
    link[job] = cur
    if prev < 0:
        qhead[v] = job
    else:
        link[prev] = job
    if cur < 0:
        qtail[v] = job


@jit
def run_preemptive(arr_t, arr_vm, size, n, covered, c, cap, policy, vm_key,
                   stop_kind, stop_count, stop_time, start, depart, blocked, order, occupied):
    """Preemptive-resume priority, SRPT and PSJF on ``c`` pCPUs (eager arrivals).

    An arrival that finds no idle pCPU interrupts the pCPU whose running job
    has the largest key (the first such pCPU), if its own key is smaller.

    The waiting jobs are taken in the order of (key, job) as the simpy scheduler's heap takes
    them.  Priority with up to :data:`PRIORITY_LIST_VMS` VMs keeps them in per-VM lists in job
    order (the smallest (key, head) over the VMs is the heap's smallest, found in O(VMs)); SRPT,
    PSJF and priority with more VMs in a heap.  A job that arrives to an idle pCPU or preempts
    starts at once without passing through the heap: every waiting key is at least every running
    key (an arrival waits only when its key is not below the largest running one; a departure
    takes the smallest waiting one; SRPT's running keys only fall), so such a job is the strict
    smallest and the heap would hand it straight back.
    """
    remaining = size[:n].copy()
    nvm = vm_key.size
    use_lists = policy == PREEMPTIVE_PRIORITY and nvm <= PRIORITY_LIST_VMS
    hk = np.empty(1 if use_lists else max(n, 1))
    hj = np.empty(hk.size, dtype=np.int64)
    hm = 0
    qhead = np.full(nvm, -1, dtype=np.int64)
    qtail = np.full(nvm, -1, dtype=np.int64)
    link = np.empty(max(n, 1) if use_lists else 1, dtype=np.int64)
    nq = 0
    busy = np.full(c, _INF)
    rj = np.full(c, -1, dtype=np.int64)
    rkey = np.zeros(c)
    began = np.zeros(c)
    swork = np.zeros(c)
    idle = np.empty(c, dtype=np.int64)
    for k in range(c):
        idle[k] = k
    nidle = c
    in_system = 0
    i_next = 0
    ndep = 0
    now = 0.0
    if stop_kind == STOP_TIME and stop_time > covered:
        return NEED_MORE, 0, 0, 0.0
    while True:
        d = busy[0]
        kd = 0
        for k in range(1, c):
            if busy[k] < d:
                d = busy[k]
                kd = k
        ta = arr_t[i_next] if i_next < n else _INF
        t_ev = ta if ta < d else d
        if stop_kind == STOP_TIME:
            if t_ev >= stop_time:
                now = stop_time
                break
        elif t_ev > covered:
            return NEED_MORE, i_next, ndep, now
        k = -1
        job = -1
        stop_here = False
        if ta < d:
            now = ta
            a = i_next
            i_next += 1
            if cap >= 0 and in_system >= cap:
                blocked[a] = True
                continue
            in_system += 1
            if policy == PREEMPTIVE_PRIORITY:
                ka = vm_key[arr_vm[a]]
            elif policy == SRPT:
                ka = remaining[a]
            else:
                ka = size[a]
            if nidle > 0:
                nidle -= 1
                k = idle[nidle]
                job = a
            else:
                worst_k = 0
                worst = 0.0
                for kk in range(c):
                    r = rj[kk]
                    if policy == SRPT:
                        key = remaining[r] - max(0.0, now - began[kk] - 0.0)
                    else:
                        key = rkey[kk]
                    if kk == 0 or key > worst:
                        worst_k = kk
                        worst = key
                if ka < worst:
                    # the interrupted slice: work done so far
                    k = worst_k
                    job = a
                    r = rj[k]
                    work = min(swork[k], max(0.0, now - began[k] - 0.0))
                    occupied[r] += now - began[k]
                    left = remaining[r] - work
                    rj[k] = -1
                    busy[k] = _INF
                    if left <= 1e-9 * size[r]:
                        remaining[r] = 0.0
                        depart[r] = now
                        order[ndep] = r
                        ndep += 1
                        in_system -= 1
                        stop_here = stop_kind == STOP_DEPARTURES and ndep >= stop_count
                    else:
                        remaining[r] = left
                        if use_lists:
                            _list_push(qhead, qtail, link, arr_vm[r], r)
                        else:
                            hm = _heap_push(hk, hj, hm, rkey[k] if policy != SRPT else left, r)
                        nq += 1
                else:
                    if use_lists:
                        _list_push(qhead, qtail, link, arr_vm[a], a)
                    else:
                        hm = _heap_push(hk, hj, hm, ka, a)
                    nq += 1
        else:
            now = d
            k = kd
            r = rj[k]
            occupied[r] += now - began[k]
            left = remaining[r] - swork[k]
            rj[k] = -1
            busy[k] = _INF
            if left <= 1e-9 * size[r]:
                remaining[r] = 0.0
                depart[r] = now
                order[ndep] = r
                ndep += 1
                in_system -= 1
                stop_here = stop_kind == STOP_DEPARTURES and ndep >= stop_count
            else:
                remaining[r] = left
                if use_lists:
                    _list_push(qhead, qtail, link, arr_vm[r], r)
                else:
                    hm = _heap_push(hk, hj, hm, rkey[k] if policy != SRPT else left, r)
                nq += 1
        if k >= 0:
            if job < 0 and nq > 0:
                if use_lists:
                    best = -1
                    best_p = 0.0
                    for v in range(nvm):
                        head = qhead[v]
                        if head < 0:
                            continue
                        pr = vm_key[v]
                        if best < 0 or pr < best_p or (pr == best_p and head < job):
                            best = v
                            best_p = pr
                            job = head
                    qhead[best] = link[job]
                    if qhead[best] < 0:
                        qtail[best] = -1
                else:
                    job, hm = _heap_pop(hk, hj, hm)
                nq -= 1
            if job >= 0:
                if start[job] != start[job]:
                    start[job] = now
                work = remaining[job]
                rj[k] = job
                if policy == PREEMPTIVE_PRIORITY:
                    rkey[k] = vm_key[arr_vm[job]]
                elif policy == PSJF:
                    rkey[k] = size[job]
                began[k] = now
                swork[k] = work
                busy[k] = now + work
            else:
                idle[nidle] = k
                nidle += 1
        if stop_here:
            break
    return OK, i_next, ndep, now


# -- processor sharing: exact, with a virtual clock -------------------------------------
@jit
def run_processor_sharing(arr_t, arr_vm, size, n, covered, c, cap,
                          stop_kind, stop_count, stop_time, start, depart, blocked, order, occupied):
    """Egalitarian processor sharing on ``c`` pCPUs (``PSScheduler``): rate min(1, c/n) per job."""
    hk = np.empty(max(n, 1))
    hj = np.empty(max(n, 1), dtype=np.int64)
    hm = 0
    virtual = 0.0
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
        if ta < fire:
            now = ta
            job = i_next
            i_next += 1
            if cap >= 0 and in_system >= cap:
                blocked[job] = True
                continue
            in_system += 1
            if hm > 0:
                virtual += (now - last) * (1.0 if hm <= c else c / hm)
            last = now
            start[job] = now
            hm = _heap_push(hk, hj, hm, virtual + size[job], job)
        else:
            now = fire
            if hm > 0:
                virtual += (now - last) * (1.0 if hm <= c else c / hm)
            last = now
            tol = max(1e-12 * max(1.0, abs(virtual)), TIME_RESOLUTION * now * (1.0 if hm <= c else c / hm))
            departed = ndep
            while hm > 0 and hk[0] <= virtual + tol:
                job, hm = _heap_pop(hk, hj, hm)
                occupied[job] = size[job]
                depart[job] = now
                order[ndep] = job
                ndep += 1
                in_system -= 1
                if stop_kind == STOP_DEPARTURES and ndep >= stop_count:
                    stop_here = True
            if ndep == departed and hm > 0 and now + max(0.0, (hk[0] - virtual) / (1.0 if hm <= c else c / hm)) == now:
                return STUCK, i_next, ndep, now
        # (re)arm the timer of the next completion
        if hm == 0:
            fire = _INF
        else:
            rate = 1.0 if hm <= c else c / hm
            fire = now + max(0.0, (hk[0] - virtual) / rate)
        if stop_here:
            break
    return OK, i_next, ndep, now
