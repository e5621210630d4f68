"""Xen's credit scheduler (credit1), compiled: the numba replay of :class:`~virtmodel.sim.credit.CreditScheduler`.

The simpy model of credit1 is a set of processes whose decisions depend on
the order in which simpy takes events that fall at the *same* instant:
ticks and accounting run on a deterministic grid (multiples of ``tick``),
time slices started at an accounting instant end on that grid again, job
sizes may be deterministic, and the scheduler's tickles reach a pCPU as a
``succeed()``-ed wake-up event (priority NORMAL) or as a simpy
``Interrupt`` (priority URGENT).  So :func:`run_credit` carries a small
event core that mirrors simpy's queue for exactly the events this model
creates, ordered as simpy orders them: by (time, priority URGENT before
NORMAL, event id), with event ids handed out in the order simpy creates
(schedules) the events:

* each VM's arrival process: one ``timeout`` per arrival, created when the
  previous arrival of that VM has been handed to the scheduler (eager
  arrivals: ``CreditScheduler.needs_arrival_events``);
* the timer process: one ``timeout`` to the next tick or accounting
  instant, created after the previous one's work (ticks, then accounting);
* each pCPU process: the ``timeout`` of the piece it runs (until the job
  ends or the slice or rate limit runs out), a wake-up event ``succeed()``-ed
  at the tickle instant while it idles, or an ``Interruption`` (URGENT, at
  the tickle instant) while it runs, which makes the pending timeout dead;
* arrivals of several VMs at one instant (lattice interarrivals: Deterministic, Empirical) are
  taken by their event ids, not in the merged stream's VM order: the kernel moves the one simpy
  takes first to the front of its group (job ids are the order of admission, as in simpy);
* the stop: ``run_until_departures`` stops when simpy processes the
  ``succeed()``-ed done event (NORMAL, created at the departure), so the
  events of that instant queued before it (and every URGENT one) are still
  processed; ``run_until(t)`` processes every event before ``t``.

Each process holds at most one live event at a time, so the queue is a slot
per pCPU, one for the timer, one for the stop and the next arrival of the
merged stream (its event id kept per VM); the next event is the smallest of
these (a scan over ``pcpus + 3`` slots).  The processes themselves are state
machines that do, between two events, exactly what the generator does
between two ``yield`` s: the pCPU process runs ``_schedule`` and starts a
piece; at a piece's end it books the pCPU time, departs the job, hands the
vCPU the VM's next job or blocks it, and goes on or reschedules; the timer
process burns credit, ends BOOST and activates vCPUs at ticks, and deals
credit, parks and unparks at accounting.  The scheduler's rules
(``_insert``, ``_wake``, ``_tickle``, ``_raise``, ``_steal``, ``_schedule``,
``_ticks``, ``_account``, ``_park``, ``_unpark``) are ported line by line with
the same float operations in the same order, list operations on small
arrays in the same order (run queues, the active-VM list and its moves to
the head, each VM's active vCPUs, the guest queues and the blocked vCPUs).
The hot ones (``_schedule`` at a piece's end, the wake-up of a blocked vCPU
by an arrival with its ``_insert``, ``_tickle`` and ``_raise``, the ticks) are
written out in the event loop: as numba helper calls the kernel ran 3.4x
slower (1.5 against 5.2 M customers per CPU-second, 8 VMs on 2 pCPUs).

``records=False`` (bounded memory) runs :func:`_credit_chunk` on
:class:`~virtmodel.sim.compiled.streaming.BoundedRun`: the same event core and
rules with the state carried from chunk to chunk and running sums instead of
records.

``tests/sim/test_compiled_credit.py`` proves it equal to the simpy model job
for job: weights, caps (parking), several vCPUs per VM, 1 to 3 pCPUs,
exponential, H2 and deterministic service, finite capacity, departure and
time stops, lattice interarrivals (simultaneous arrivals of several VMs),
the validation battery's credit scenarios, and random scenarios
(hypothesis).
"""

from __future__ import annotations

import math

import numpy as np

from ...errors import InvalidParameter
from ..credit import BOOST, IDLE, OVER, UNDER
from .kernels import NEED_MORE, OK, STOP_DEPARTURES, STOP_TIME, first_created_to_front, jit
from .streaming import (
    _INEXT,
    _INSYS,
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

__all__ = ["CreditRun", "run_credit", "MAX_TIMER_EVENTS"]

#: simpy's event priorities (simpy.events.URGENT, NORMAL)
_URGENT, _NORMAL = 0, 1
#: what a pCPU's slot holds: nothing (it idles, waiting for a tickle), the timeout of the piece it
#: runs, the wake-up event of an idle pCPU that was tickled, the Interruption of a running one
_NONE, _TIMEOUT, _WAKE, _INTERRUPT = 0, 1, 2, 3
#: the scalars in ``ist``: next event id, last_tickle, balance_bias, length of the active-VM list
_EID, _LAST_TICKLE, _BIAS, _NSDOM = 0, 1, 2, 3
#: the floats in ``fst``: weight_total, credit_balance
_WEIGHT_TOTAL, _CREDIT_BALANCE = 0, 1
#: most timer events (ticks and accounting instants) one run may need before it is refused
MAX_TIMER_EVENTS = 5e9


class CreditRun:
    """What :class:`~virtmodel.sim.compiled.engine.CompiledEngine` needs to run a Credit scenario.

    Reads the scheduler's parameters as :class:`~virtmodel.sim.credit.CreditScheduler` does
    (weights, caps as credit per period, vCPUs per VM: ``VM.vcpus`` or one per pCPU, the timer
    grid: accounting on the tick grid when ``timeslice / tick`` is a whole number) and runs
    :func:`run_credit`.

    Raises
    ------
    InvalidParameter
        A tick so short against the run that it would need more than :data:`MAX_TIMER_EVENTS`
        timer events (hours of simulation on either engine).
    """

    def __init__(self, scenario):
        policy = scenario.policy
        self.pcpus = c = scenario.pcpus
        vms = scenario.vms
        self.period = float(policy.timeslice)
        self.tick = float(policy.tick)
        self.ratelimit = float(policy.ratelimit)
        self.balance_ratelimit = float(policy.balance_ratelimit)
        per = round(self.period / self.tick)
        self.per = int(per)
        self.aligned = bool(abs(self.period / self.tick - per) <= 1e-9 * per)
        self.weight = np.array([policy.weight_of(v.name) for v in vms], dtype=float)
        caps = [policy.cap_of(v.name) for v in vms]
        self.has_cap = np.array([k is not None for k in caps], dtype=np.bool_)
        self.cap = np.array([0.0 if k is None else k / 100.0 * self.period for k in caps], dtype=float)
        counts = [policy.vcpus_of(scenario, v.name) for v in vms]
        self.vm_of = np.array([i for i, v in enumerate(counts) for _ in range(v)], dtype=np.int64)
        self.c = c

    def run(self, arr_t, arr_vm, size, n, covered, cap, stop_kind, count, horizon, start, depart, blocked, order,
            occupied):
        """:func:`run_credit` over the arrivals known up to ``covered``."""
        span = horizon if stop_kind == STOP_TIME else covered
        if span / self.tick > MAX_TIMER_EVENTS:
            raise InvalidParameter(
                f"Credit tick={self.tick!r} is too short for this run: simulating up to time {span:.6g} takes "
                f"about {span / self.tick:.3g} ticks (more than {MAX_TIMER_EVENTS:.0e}, hours on either engine); "
                "use a longer tick (the model's time unit: Credit(seconds_per_unit=...)) or fewer customers")
        return run_credit(arr_t, arr_vm, size, n, covered, cap, self.c, self.period, self.tick, self.per,
                          self.aligned, self.ratelimit, self.balance_ratelimit, self.weight, self.has_cap, self.cap,
                          self.vm_of, stop_kind, count, horizon, start, depart, blocked, order, occupied)

    # -- bounded memory (streaming.BoundedRun) ------------------------------------------------------------
    def bounded_state(self) -> tuple:
        """The kernel's state at time 0, as arrays that :func:`_credit_chunk` carries from chunk to chunk
        (the same start as :func:`run_credit`: every vCPU blocked, on pCPU u mod c, every pCPU waiting,
        the arrival timeouts numbered first, then the timer's)."""
        c, nvm, m = self.c, self.weight.size, self.vm_of.size
        vf = np.zeros((2, m))  # credit, started
        vi = np.stack([np.full(m, UNDER), np.full(m, -1), np.arange(m) % c]).astype(np.int64)  # pri, job, pCPU
        vb = np.zeros((2, m), dtype=np.bool_)  # active, parked
        bq, bql = np.empty((nvm, m), dtype=np.int64), np.zeros(nvm, dtype=np.int64)
        for u, i in enumerate(self.vm_of):
            bq[i, bql[i]] = u
            bql[i] += 1
        pb = np.zeros((5, c), dtype=np.bool_)  # idler, pending, waitwake, unsorted, cut by the slice
        pb[0] = pb[2] = True
        ev_k = np.zeros(c + 2, dtype=np.int64)
        ev_k[c] = _TIMEOUT
        ev_t = np.zeros(c + 2)
        t_tick, t_acct = _grid(1, 1, self.tick, self.period, self.per, self.aligned)
        t_next = t_tick if t_tick < t_acct else t_acct
        ev_t[c] = 0.0 + max(0.0, t_next - 0.0)
        ev_e = np.zeros(c + 2, dtype=np.int64)
        ev_e[c] = nvm
        ist = np.array([nvm + 1, 0, 0, 0], dtype=np.int64)
        return (vf, vi, vb, bq, bql, np.empty((nvm, m), dtype=np.int64), np.zeros(nvm, dtype=np.int64),
                np.empty(nvm, dtype=np.int64), np.full(nvm, -1, dtype=np.int64), np.full(nvm, -1, dtype=np.int64),
                np.empty((c, m), dtype=np.int64), np.zeros(c, dtype=np.int64), np.full(c, -1, dtype=np.int64),
                np.zeros((6, c)), pb, np.full((2, c), -1, dtype=np.int64), ev_t, np.full(c + 2, _NORMAL,
                dtype=np.int64), ev_e, ev_k, np.arange(nvm, dtype=np.int64), ist, np.zeros(2),
                np.array([1, 1], dtype=np.int64), np.array([t_tick, t_acct, t_next]),
                np.empty(m, dtype=np.int64), np.empty(nvm, dtype=np.int64), np.empty(m, dtype=np.int64))

    @staticmethod
    def present(state) -> list:
        """The oldest job held by the state (a vCPU's job, the head of a guest FIFO), [] when none."""
        jobof, qhead = state[1][1], state[8]
        held = np.concatenate((jobof[jobof >= 0], qhead[qhead >= 0]))
        return [int(held.min())] if held.size else []

    def chunk(self, arr_t, arr_vm, size, start, link, remaining, occupied, base, covered, cap, state, fs, st,
              common):
        """:func:`_credit_chunk` on the window (``common``: the streaming sums, marks and series)."""
        if covered / self.tick > MAX_TIMER_EVENTS:
            raise InvalidParameter(
                f"Credit tick={self.tick!r} is too short for this run: simulating up to time {covered:.6g} takes "
                f"more than {MAX_TIMER_EVENTS:.0e} ticks; use a longer tick or fewer customers")
        return _credit_chunk(arr_t, arr_vm, size, start, link, remaining, occupied, base, covered, cap, self.c,
                             self.period, self.tick, self.per, self.aligned, self.ratelimit, self.balance_ratelimit,
                             self.weight, self.has_cap, self.cap, self.vm_of, *state, fs, st, *common)


# -- the scheduler's rules (credit.py's CreditScheduler methods, line by line) --------------------------
@jit
def _raise(k, now, idler, pending, waitwake, ev_t, ev_p, ev_e, ev_k, ist):
    """_raise: wake pCPU k (a NORMAL event now) if it idles, else interrupt it (URGENT, now)."""
    idler[k] = False
    if pending[k]:
        return
    pending[k] = True
    if waitwake[k]:
        waitwake[k] = False
        ev_k[k] = _WAKE
        ev_p[k] = _NORMAL
    else:
        ev_k[k] = _INTERRUPT  # the piece's timeout is dead: the Interruption always comes first
        ev_p[k] = _URGENT
    ev_t[k] = now
    ev_e[k] = ist[_EID]
    ist[_EID] += 1


@jit
def _insert(u, k, runq, rql, pri):
    """__runq_insert: behind every vCPU of the same or higher priority."""
    p = pri[u]
    m = rql[k]
    at = m
    for idx in range(m):
        if p > pri[runq[k, idx]]:
            at = idx
            break
    for idx in range(m, at, -1):
        runq[k, idx] = runq[k, idx - 1]
    runq[k, at] = u
    rql[k] = m + 1


@jit
def _remove_at(row, length, at):
    """Delete ``row[at]`` from the first ``length`` entries (the list's ``pop(at)``)."""
    for idx in range(at, length - 1):
        row[idx] = row[idx + 1]


@jit
def _find(row, length, u):
    for idx in range(length):
        if row[idx] == u:
            return idx
    return -1


@jit
def _tickle(u, now, c, cpu, curr, pri, idler, pending, waitwake, ev_t, ev_p, ev_e, ev_k, ist):
    """__runq_tickle: its own pCPU if idle or preemptible, else one idle pCPU (round robin)."""
    k = cpu[u]
    cur = curr[k]
    anyone_idle = False
    for p in range(c):
        if idler[p]:
            anyone_idle = True
            break
    if cur < 0 or (not anyone_idle and pri[u] > pri[cur]):
        _raise(k, now, idler, pending, waitwake, ev_t, ev_p, ev_e, ev_k, ist)
    elif anyone_idle:
        p = ist[_LAST_TICKLE]
        for _ in range(c):
            p = p + 1 if p + 1 < c else 0
            if idler[p]:
                break
        ist[_LAST_TICKLE] = p
        _raise(p, now, idler, pending, waitwake, ev_t, ev_p, ev_e, ev_k, ist)


@jit
def _wake(u, boost, now, c, cpu, curr, pri, runq, rql, idler, pending, waitwake, ev_t, ev_p, ev_e, ev_k, ist):
    """csched_unit_wake: BOOST if UNDER (not when unparking), queue on its pCPU, tickle."""
    if boost and pri[u] == UNDER:
        pri[u] = BOOST
    _insert(u, cpu[u], runq, rql, pri)
    _tickle(u, now, c, cpu, curr, pri, idler, pending, waitwake, ev_t, ev_p, ev_e, ev_k, ist)


@jit
def _acct_start(u, vm_of, active, av, avl, sdom, weight, ist, fst):
    i = vm_of[u]
    active[u] = True
    if avl[i] == 0:
        ns = ist[_NSDOM]
        for idx in range(ns, 0, -1):
            sdom[idx] = sdom[idx - 1]
        sdom[0] = i
        ist[_NSDOM] = ns + 1
    av[i, avl[i]] = u
    avl[i] += 1
    fst[_WEIGHT_TOTAL] += weight[i]


@jit
def _acct_stop(u, vm_of, active, av, avl, sdom, weight, ist, fst):
    i = vm_of[u]
    active[u] = False
    _remove_at(av[i], avl[i], _find(av[i], avl[i], u))
    avl[i] -= 1
    if avl[i] == 0:
        _remove_at(sdom, ist[_NSDOM], _find(sdom, ist[_NSDOM], i))
        ist[_NSDOM] -= 1
    fst[_WEIGHT_TOTAL] -= weight[i]
    if ist[_NSDOM] == 0:
        fst[_WEIGHT_TOTAL] = 0.0  # no rounding residue


@jit
def _sort_runq(k, pri, runq, rql, scratch):
    """csched_runq_sort: UNDER (and BOOST) before OVER, each in its order."""
    m = rql[k]
    got = 0
    for idx in range(m):
        v = runq[k, idx]
        if pri[v] >= UNDER:
            scratch[got] = v
            got += 1
    for idx in range(m):
        v = runq[k, idx]
        if pri[v] < UNDER:
            scratch[got] = v
            got += 1
    for idx in range(m):
        runq[k, idx] = scratch[idx]


@jit
def _account(now, c, period, has_cap, capc, weight, credit, pri, parked, jobof, cpu, curr, runq, rql, idler, pending,
             waitwake, ev_t, ev_p, ev_e, ev_k, unsorted, vm_of, active, av, avl, sdom, scratch_sdom, scratch_v,
             ist, fst):
    """csched_acct: deal c T of credit among the active vCPUs by weight; priorities, caps (park), bounds."""
    T = period
    weight_total = fst[_WEIGHT_TOTAL]
    credit_total = c * T
    balance = fst[_CREDIT_BALANCE]
    if balance < 0:
        credit_total -= balance
    nsdom = ist[_NSDOM]
    if nsdom == 0 or weight_total <= 0:
        fst[_CREDIT_BALANCE] = 0.0
        return
    weight_left = weight_total
    credit_balance = 0.0
    extra = False
    for idx in range(nsdom):
        scratch_sdom[idx] = sdom[idx]
    cap_per_vcpu = 0.0
    for s in range(nsdom):
        i = scratch_sdom[s]
        n = avl[i]
        w = weight[i]
        weight_left -= w * n
        peak = n * T
        if balance < 0:
            peak += -balance * w * n / weight_total
        capped = has_cap[i]
        if capped:
            cap = capc[i]
            peak = min(peak, cap)
            cap_per_vcpu = cap / n
        fair = credit_total * w * n / weight_total
        if fair < peak:
            extra = True
        else:
            if weight_left > 1e-12 * weight_total:  # others get what this VM cannot take
                credit_total += (fair - peak) * weight_total / weight_left
            if extra:  # to the head of the active list
                at = _find(sdom, ist[_NSDOM], i)
                for idx in range(at, 0, -1):
                    sdom[idx] = sdom[idx - 1]
                sdom[0] = i
            fair = peak
        fair /= n
        for idx in range(n):
            scratch_v[idx] = av[i, idx]
        for idx in range(n):
            u = scratch_v[idx]
            cr = credit[u] + fair
            if cr < 0:
                pri[u] = OVER
                if capped and cr < -cap_per_vcpu and not parked[u]:
                    # _park: descheduled now, or off its run queue
                    parked[u] = True
                    k = cpu[u]
                    if curr[k] == u:
                        _raise(k, now, idler, pending, waitwake, ev_t, ev_p, ev_e, ev_k, ist)
                    else:
                        at = _find(runq[k], rql[k], u)
                        if at >= 0:
                            _remove_at(runq[k], rql[k], at)
                            rql[k] -= 1
                if cr < -T:
                    cr = -T
            else:
                pri[u] = UNDER
                if parked[u]:
                    # _unpark: the PARKED flag is cleared after the wake, so no BOOST
                    parked[u] = False
                    k = cpu[u]
                    if jobof[u] >= 0 and curr[k] != u and _find(runq[k], rql[k], u) < 0:
                        _wake(u, False, now, c, cpu, curr, pri, runq, rql, idler, pending, waitwake,
                              ev_t, ev_p, ev_e, ev_k, ist)
                if cr > T:
                    _acct_stop(u, vm_of, active, av, avl, sdom, weight, ist, fst)
                    cr /= 2
            credit[u] = cr
            credit_balance += cr
    fst[_CREDIT_BALANCE] = credit_balance
    for k in range(c):
        unsorted[k] = True


@jit
def _grid(n_tick, n_acct, tick, period, per, aligned):
    """The timer's next tick and accounting instants (multiples of tick; of the period when not aligned)."""
    t_tick = n_tick * tick
    t_acct = (n_acct * per) * tick if aligned else n_acct * period
    return t_tick, t_acct


@jit
def run_credit(arr_t, arr_vm, size, n, covered, cap, c, period, tick, per, aligned, ratelimit, balance_ratelimit,
               weight, has_cap, capc, vm_of, stop_kind, stop_count, stop_time, start, depart, blocked, order,
               occupied):
    """Xen credit1 on ``c`` pCPUs, event for event as the simpy model (see the module docstring).

    ``period, tick, ratelimit, balance_ratelimit``: the policy's times; ``per, aligned``: the
    accounting grid (every ``per``-th tick when ``aligned``, else multiples of ``period``);
    ``weight, has_cap, capc``: per VM, weight and cap (credit per period); ``vm_of``: the VM of
    each vCPU.  Other arguments and the result as for the kernels of :mod:`.kernels`
    (``occupied`` must come in zeroed).
    """
    nvm = weight.size
    m = vm_of.size
    # per vCPU
    credit = np.zeros(m)
    started = np.zeros(m)
    pri = np.full(m, UNDER, dtype=np.int64)
    active = np.zeros(m, dtype=np.bool_)
    parked = np.zeros(m, dtype=np.bool_)
    jobof = np.full(m, -1, dtype=np.int64)
    cpu = np.empty(m, dtype=np.int64)
    for u in range(m):
        cpu[u] = u % c
    # per VM: blocked vCPUs (FIFO), active vCPUs, the guest's FIFO of waiting jobs
    bq = np.empty((nvm, m), dtype=np.int64)
    bql = np.zeros(nvm, dtype=np.int64)
    for u in range(m):
        i = vm_of[u]
        bq[i, bql[i]] = u
        bql[i] += 1
    av = np.empty((nvm, m), dtype=np.int64)
    avl = np.zeros(nvm, dtype=np.int64)
    sdom = np.empty(nvm, dtype=np.int64)
    qhead = np.full(nvm, -1, dtype=np.int64)
    qtail = np.full(nvm, -1, dtype=np.int64)
    link = np.empty(n, dtype=np.int64)
    remaining = np.empty(n)
    # per pCPU
    runq = np.empty((c, m), dtype=np.int64)
    rql = np.zeros(c, dtype=np.int64)
    curr = np.full(c, -1, dtype=np.int64)
    run_since = np.zeros(c)
    idler = np.ones(c, dtype=np.bool_)
    pending = np.zeros(c, dtype=np.bool_)
    waitwake = np.ones(c, dtype=np.bool_)  # every pCPU's first _schedule finds nothing: it waits
    last_balance = np.zeros(c)
    unsorted = np.zeros(c, dtype=np.bool_)
    # the pCPU process: the piece it runs (vCPU, slice end, start, job, work, length, cut by the slice)
    p_u = np.full(c, -1, dtype=np.int64)
    p_end = np.zeros(c)
    p_now = np.zeros(c)
    p_job = np.full(c, -1, dtype=np.int64)
    p_work = np.zeros(c)
    p_run = np.zeros(c)
    p_limited = np.zeros(c, dtype=np.bool_)
    scratch = np.empty(m, dtype=np.int64)
    scratch_sdom = np.empty(nvm, dtype=np.int64)
    scratch_v = np.empty(m, dtype=np.int64)
    ist = np.zeros(4, dtype=np.int64)
    fst = np.zeros(2)
    # the event slots: 0..c-1 the pCPU processes, c the timer, c+1 the stop (done) event
    TIMER, DONE = c, c + 1
    ev_t = np.zeros(c + 2)
    ev_p = np.full(c + 2, _NORMAL, dtype=np.int64)
    ev_e = np.zeros(c + 2, dtype=np.int64)
    ev_k = np.zeros(c + 2, dtype=np.int64)
    # event ids: each VM's first arrival timeout (the arrival processes start first), then the timer's
    aeid = np.empty(nvm, dtype=np.int64)
    for v in range(nvm):
        aeid[v] = v
    n_tick = 1
    n_acct = 1
    t_tick, t_acct = _grid(n_tick, n_acct, tick, period, per, aligned)
    t_next = t_tick if t_tick < t_acct else t_acct
    ev_t[TIMER] = 0.0 + max(0.0, t_next - 0.0)
    ev_e[TIMER] = nvm
    ev_k[TIMER] = _TIMEOUT
    ist[_EID] = nvm + 1
    in_system = 0
    i_next = 0
    ndep = 0
    now = 0.0
    if stop_kind == STOP_TIME and stop_time > covered:
        return NEED_MORE, 0, 0, 0.0
    if stop_kind == STOP_DEPARTURES and stop_count <= 0:
        return OK, 0, 0, 0.0  # run_until_departures(0) returns at once
    while True:
        # the next event: (time, priority, id) smallest over the arrival and the slots
        best = -1
        bt = np.inf
        bp = _NORMAL
        be = 0
        if i_next < n:
            bt = arr_t[i_next]
            be = aeid[arr_vm[i_next]]
            if i_next + 1 < n and arr_t[i_next + 1] == bt:
                be = first_created_to_front(arr_t, arr_vm, size, i_next, n, aeid)  # simultaneous arrivals
        for s in range(c + 2):
            if ev_k[s] == _NONE:
                continue
            t = ev_t[s]
            if t < bt or (t == bt and (ev_p[s] < bp or (ev_p[s] == bp and ev_e[s] < be))):
                best = s
                bt = t
                bp = ev_p[s]
                be = ev_e[s]
        if stop_kind == STOP_TIME and bt >= stop_time:
            return OK, i_next, ndep, stop_time
        if bt > covered:
            return NEED_MORE, i_next, ndep, now
        now = bt
        if best < 0:
            # an arrival: admitted (or blocked at a full system) and handed to the guest
            job = i_next
            i_next += 1
            v = arr_vm[job]
            remaining[job] = size[job]
            if cap >= 0 and in_system >= cap:
                blocked[job] = True
            else:
                in_system += 1
                if bql[v] > 0:  # a blocked vCPU of the VM (the one blocked longest) takes it and wakes
                    u = bq[v, 0]
                    bql[v] -= 1
                    for idx in range(bql[v]):
                        bq[v, idx] = bq[v, idx + 1]
                    jobof[u] = job
                    if not parked[u]:
                        # _wake(u, boost=True) with _insert, _tickle and _raise written out (every wake-up)
                        if pri[u] == UNDER:
                            pri[u] = BOOST
                        k = cpu[u]
                        p = pri[u]
                        m_k = rql[k]
                        at = m_k
                        for idx in range(m_k):
                            if p > pri[runq[k, idx]]:
                                at = idx
                                break
                        for idx in range(m_k, at, -1):
                            runq[k, idx] = runq[k, idx - 1]
                        runq[k, at] = u
                        rql[k] = m_k + 1
                        cur = curr[k]
                        anyone_idle = False
                        for q in range(c):
                            if idler[q]:
                                anyone_idle = True
                                break
                        target = -1
                        if cur < 0 or (not anyone_idle and p > pri[cur]):
                            target = k
                        elif anyone_idle:
                            q = ist[_LAST_TICKLE]
                            for _ in range(c):
                                q = q + 1 if q + 1 < c else 0
                                if idler[q]:
                                    break
                            ist[_LAST_TICKLE] = q
                            target = q
                        if target >= 0:
                            idler[target] = False
                            if not pending[target]:
                                pending[target] = True
                                if waitwake[target]:
                                    waitwake[target] = False
                                    ev_k[target] = _WAKE
                                    ev_p[target] = _NORMAL
                                else:
                                    ev_k[target] = _INTERRUPT
                                    ev_p[target] = _URGENT
                                ev_t[target] = now
                                ev_e[target] = ist[_EID]
                                ist[_EID] += 1
                else:
                    link[job] = -1
                    if qtail[v] < 0:
                        qhead[v] = job
                    else:
                        link[qtail[v]] = job
                    qtail[v] = job
            aeid[v] = ist[_EID]  # the process's next timeout
            ist[_EID] += 1
            continue
        if best == DONE:
            return OK, i_next, ndep, now
        if best == TIMER:
            if t_tick <= t_next:
                # csched_tick on every busy pCPU (written out): end BOOST, burn credit, activate, sort the queue
                for k in range(c):
                    u = curr[k]
                    if u < 0:
                        continue  # the tick of an idle pCPU is stopped
                    if pri[u] == BOOST:
                        pri[u] = UNDER
                    credit[u] -= now - started[u]
                    started[u] = now
                    if not active[u]:
                        _acct_start(u, vm_of, active, av, avl, sdom, weight, ist, fst)
                    if unsorted[k]:
                        _sort_runq(k, pri, runq, rql, scratch)
                        unsorted[k] = False
                n_tick += 1
            if t_acct <= t_next:
                _account(now, c, period, has_cap, capc, weight, credit, pri, parked, jobof, cpu, curr, runq, rql,
                         idler, pending, waitwake, ev_t, ev_p, ev_e, ev_k, unsorted, vm_of, active, av, avl, sdom,
                         scratch_sdom, scratch_v, ist, fst)
                n_acct += 1
            t_tick, t_acct = _grid(n_tick, n_acct, tick, period, per, aligned)
            t_next = t_tick if t_tick < t_acct else t_acct
            ev_t[TIMER] = now + max(0.0, t_next - now)
            ev_e[TIMER] = ist[_EID]
            ist[_EID] += 1
            continue
        # pCPU k's process resumes
        k = best
        kind = ev_k[k]
        ev_k[k] = _NONE
        go_on = False  # True: run the vCPU's next piece; False: call _schedule
        if kind != _WAKE:
            # the end of a piece: its timeout, or an Interruption
            u = p_u[k]
            job = p_job[k]
            work = p_work[k]
            run = p_run[k]
            if kind == _TIMEOUT:
                ran = run
                stop = p_limited[k]
            else:
                ran = now - p_now[k]
                if ran > run:
                    ran = run
                stop = True
            occupied[job] += ran
            rest = work - ran
            go_on = not stop
            if rest <= 1e-9 * size[job]:
                remaining[job] = 0.0
                depart[job] = now
                order[ndep] = job
                ndep += 1
                in_system -= 1
                if stop_kind == STOP_DEPARTURES and ndep == stop_count:
                    ev_k[DONE] = _TIMEOUT  # the done event, succeed()-ed now
                    ev_t[DONE] = now
                    ev_p[DONE] = _NORMAL
                    ev_e[DONE] = ist[_EID]
                    ist[_EID] += 1
                i = vm_of[u]
                if qhead[i] >= 0:  # the vCPU takes the VM's next job
                    nxt = qhead[i]
                    qhead[i] = link[nxt]
                    if qhead[i] < 0:
                        qtail[i] = -1
                    jobof[u] = nxt
                else:  # the VM has no work left: the vCPU blocks
                    jobof[u] = -1
                    bq[i, bql[i]] = u
                    bql[i] += 1
                    go_on = False
            else:
                remaining[job] = rest
        if not go_on:
            # csched_schedule on pCPU k (written out: it runs at most piece ends)
            pending[k] = False
            scurr = curr[k]
            snext = -1
            length = period
            kept = False
            if scurr >= 0:
                credit[scurr] -= now - started[scurr]
                started[scurr] = now
                if jobof[scurr] >= 0 and not parked[scurr]:
                    rest = ratelimit - (now - run_since[k])
                    if rest > 1e-9 * ratelimit and now + rest > now:
                        kept = True  # rate limit: keep running until it has run ratelimit
                        snext = scurr
                        length = rest
                    else:
                        _insert(scurr, k, runq, rql, pri)
            if not kept:
                snext = runq[k, 0] if rql[k] > 0 else -1
                p = pri[snext] if snext >= 0 else IDLE
                stolen = -1
                if p <= OVER and c > 1 and now - last_balance[k] > balance_ratelimit:
                    last_balance[k] = now
                    # csched_load_balance / csched_runq_steal: first vCPU of higher priority on a busy peer's queue
                    peer = ist[_BIAS]
                    for _ in range(c):
                        peer = peer + 1 if peer + 1 < c else 0
                        if peer == k or idler[peer] or curr[peer] < 0:
                            continue
                        if rql[peer] > 0 and pri[runq[peer, 0]] > p:
                            ist[_BIAS] = peer
                            stolen = runq[peer, 0]
                            rql[peer] -= 1
                            for idx in range(rql[peer]):
                                runq[peer, idx] = runq[peer, idx + 1]
                            break
                if stolen >= 0:
                    snext = stolen
                    cpu[stolen] = k
                elif snext >= 0:
                    rql[k] -= 1
                    for idx in range(rql[k]):
                        runq[k, idx] = runq[k, idx + 1]
                else:
                    idler[k] = True
                    curr[k] = -1
                if snext >= 0:
                    idler[k] = False
                    if snext != scurr:
                        run_since[k] = now
                    started[snext] = now
                    curr[k] = snext
            if snext < 0:
                waitwake[k] = True
                continue
            p_u[k] = snext
            p_end[k] = now + length
        # a piece of the vCPU's current job: until it ends or the slice does
        u = p_u[k]
        job = jobof[u]
        if math.isnan(start[job]):
            start[job] = now
        work = remaining[job]
        left = p_end[k] - now
        limited = left < work
        run = left if limited else work
        p_job[k] = job
        p_work[k] = work
        p_run[k] = run
        p_limited[k] = limited
        p_now[k] = now
        ev_k[k] = _TIMEOUT
        ev_p[k] = _NORMAL
        ev_t[k] = now + run
        ev_e[k] = ist[_EID]
        ist[_EID] += 1


@jit
def _credit_chunk(arr_t, arr_vm, size, start, link, remaining, occupied, base, covered, cap, c, period, tick, per,
                  aligned, ratelimit, balance_ratelimit, weight, has_cap, capc, vm_of, vf, vi, vb, bq, bql, av, avl,
                  sdom, qhead, qtail, runq, rql, curr, pf, pb, pi, ev_t, ev_p, ev_e, ev_k, aeid, ist, fst, timer,
                  timer_f, scratch, scratch_sdom, scratch_v, fs, st, count, last, capped_at, seg, marks, t0_mark,
                  mark_time, mark_out, z, z_limit, pilot):
    """Resume :func:`run_credit` on the window of jobs ``base, base + 1, ...`` (bounded memory): the same
    event core and rules, with every state array carried from chunk to chunk (:meth:`CreditRun.bounded_state`),
    job numbers global (``jobof``, the pieces, the guest FIFOs), and instead of per-job records the running
    sums and path integrals of :mod:`.streaming` (arrivals, blocked arrivals and the number present at
    arrivals and departures; responses, waits, sizes and pCPU time at departures; the warm-up series and the
    marks).  Returns ``streaming.NEED_MORE`` when the next event lies beyond ``covered``, ``streaming.DONE``
    where records mode stops for the last mark (its done event: the events simpy takes before it at that
    instant still run, so the same departures and arrivals are counted); an arrival counts in the
    window when it comes after its start, as measure() counts them."""
    n = arr_t.size
    credit, started = vf[0], vf[1]
    pri, jobof, cpu = vi[0], vi[1], vi[2]
    active, parked = vb[0], vb[1]
    run_since, last_balance, p_end, p_now, p_work, p_run = pf[0], pf[1], pf[2], pf[3], pf[4], pf[5]
    idler, pending, waitwake, unsorted, p_limited = pb[0], pb[1], pb[2], pb[3], pb[4]
    p_u, p_job = pi[0], pi[1]
    TIMER, DONE = c, c + 1
    n_tick, n_acct = timer[0], timer[1]
    t_tick, t_acct, t_next = timer_f[0], timer_f[1], timer_f[2]
    in_system = st[_INSYS]
    i_next = st[_INEXT]
    ndep = st[_NDEP]
    now = fs[_NOW]
    done = False
    status = S_NEED_MORE
    while True:
        # the next event: (time, priority, id) smallest over the arrival and the slots
        best = -1
        bt = np.inf
        bp = _NORMAL
        be = 0
        if done:
            _close_mark(seg, count, last, capped_at, now, fs, st, t0_mark, mark_time, mark_out)
            status = S_DONE
            break
        i_loc = i_next - base
        if i_loc < n:
            bt = arr_t[i_loc]
            be = aeid[arr_vm[i_loc]]
            if i_loc + 1 < n and arr_t[i_loc + 1] == bt:
                be = first_created_to_front(arr_t, arr_vm, size, i_loc, n, aeid)  # simultaneous arrivals
                # those jobs have not arrived: all their work remains, now at their new places
                j = i_loc
                while j < n and arr_t[j] == bt:
                    remaining[j] = size[j]
                    j += 1
        for s in range(c + 2):
            if ev_k[s] == _NONE:
                continue
            t = ev_t[s]
            if t < bt or (t == bt and (ev_p[s] < bp or (ev_p[s] == bp and ev_e[s] < be))):
                best = s
                bt = t
                bp = ev_p[s]
                be = ev_e[s]
        if bt > covered:
            break
        now = bt
        if best == DONE:
            ev_k[DONE] = _NONE
            done = True
            continue
        if best < 0:
            # an arrival: admitted (or blocked at a full system) and handed to the guest
            job = i_next
            jl = job - base
            i_next += 1
            v = arr_vm[jl]
            gv = 1 + v if count.shape[0] > 1 else 0
            counted = now > fs[_T0] and now > 0.0  # measure() counts the arrivals in (t0, t1]
            if counted:
                seg[0, ARRIVED] += 1.0
                if gv:
                    seg[gv, ARRIVED] += 1.0
            if cap >= 0 and in_system >= cap:
                if counted:
                    seg[0, BLOCKED] += 1.0
                    if gv:
                        seg[gv, BLOCKED] += 1.0
            else:
                in_system += 1
                _change(seg, count, last, capped_at, 0, now, 1, 0, 0)
                if gv:
                    _change(seg, count, last, capped_at, gv, now, 1, 0, 0)
                if bql[v] > 0:  # a blocked vCPU of the VM (the one blocked longest) takes it and wakes
                    u = bq[v, 0]
                    bql[v] -= 1
                    for idx in range(bql[v]):
                        bq[v, idx] = bq[v, idx + 1]
                    jobof[u] = job
                    if not parked[u]:
                        # _wake(u, boost=True) with _insert, _tickle and _raise written out (every wake-up)
                        if pri[u] == UNDER:
                            pri[u] = BOOST
                        k = cpu[u]
                        p = pri[u]
                        m_k = rql[k]
                        at = m_k
                        for idx in range(m_k):
                            if p > pri[runq[k, idx]]:
                                at = idx
                                break
                        for idx in range(m_k, at, -1):
                            runq[k, idx] = runq[k, idx - 1]
                        runq[k, at] = u
                        rql[k] = m_k + 1
                        cur = curr[k]
                        anyone_idle = False
                        for q in range(c):
                            if idler[q]:
                                anyone_idle = True
                                break
                        target = -1
                        if cur < 0 or (not anyone_idle and p > pri[cur]):
                            target = k
                        elif anyone_idle:
                            q = ist[_LAST_TICKLE]
                            for _ in range(c):
                                q = q + 1 if q + 1 < c else 0
                                if idler[q]:
                                    break
                            ist[_LAST_TICKLE] = q
                            target = q
                        if target >= 0:
                            idler[target] = False
                            if not pending[target]:
                                pending[target] = True
                                if waitwake[target]:
                                    waitwake[target] = False
                                    ev_k[target] = _WAKE
                                    ev_p[target] = _NORMAL
                                else:
                                    ev_k[target] = _INTERRUPT
                                    ev_p[target] = _URGENT
                                ev_t[target] = now
                                ev_e[target] = ist[_EID]
                                ist[_EID] += 1
                else:
                    link[jl] = -1
                    if qtail[v] < 0:
                        qhead[v] = job
                    else:
                        link[qtail[v] - base] = job
                    qtail[v] = job
            aeid[v] = ist[_EID]  # the process's next timeout
            ist[_EID] += 1
            continue
        if best == TIMER:
            if t_tick <= t_next:
                # csched_tick on every busy pCPU (written out): end BOOST, burn credit, activate, sort the queue
                for k in range(c):
                    u = curr[k]
                    if u < 0:
                        continue  # the tick of an idle pCPU is stopped
                    if pri[u] == BOOST:
                        pri[u] = UNDER
                    credit[u] -= now - started[u]
                    started[u] = now
                    if not active[u]:
                        _acct_start(u, vm_of, active, av, avl, sdom, weight, ist, fst)
                    if unsorted[k]:
                        _sort_runq(k, pri, runq, rql, scratch)
                        unsorted[k] = False
                n_tick += 1
            if t_acct <= t_next:
                _account(now, c, period, has_cap, capc, weight, credit, pri, parked, jobof, cpu, curr, runq, rql,
                         idler, pending, waitwake, ev_t, ev_p, ev_e, ev_k, unsorted, vm_of, active, av, avl, sdom,
                         scratch_sdom, scratch_v, ist, fst)
                n_acct += 1
            t_tick, t_acct = _grid(n_tick, n_acct, tick, period, per, aligned)
            t_next = t_tick if t_tick < t_acct else t_acct
            ev_t[TIMER] = now + max(0.0, t_next - now)
            ev_e[TIMER] = ist[_EID]
            ist[_EID] += 1
            continue
        # pCPU k's process resumes
        k = best
        kind = ev_k[k]
        ev_k[k] = _NONE
        go_on = False  # True: run the vCPU's next piece; False: call _schedule
        if kind != _WAKE:
            # the end of a piece: its timeout, or an Interruption
            u = p_u[k]
            job = p_job[k]
            work = p_work[k]
            run = p_run[k]
            if kind == _TIMEOUT:
                ran = run
                stop = p_limited[k]
            else:
                ran = now - p_now[k]
                if ran > run:
                    ran = run
                stop = True
            jl = job - base
            occupied[jl] += ran
            rest = work - ran
            go_on = not stop
            if rest <= 1e-9 * size[jl]:
                remaining[jl] = 0.0
                # the job departs at ``now``: path, sums, warm-up series, marks (written out, as in streaming)
                in_system -= 1
                ndep += 1
                gv = 1 + arr_vm[jl] if count.shape[0] > 1 else 0
                resp = now - arr_t[jl]
                wait = start[jl] - arr_t[jl]
                _change(seg, count, last, capped_at, 0, now, -1, 0, 0)
                if gv:
                    _change(seg, count, last, capped_at, gv, now, -1, 0, 0)
                if now > fs[_T0]:
                    _departure_sums(seg, 0, resp, wait, size[jl], occupied[jl])
                    if gv:
                        _departure_sums(seg, gv, resp, wait, size[jl], occupied[jl])
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
                        # the last mark closes where run_until_departures stops: at its done event,
                        # succeed()-ed now (the events queued before it at this instant still run)
                        ev_k[DONE] = _TIMEOUT
                        ev_t[DONE] = now
                        ev_p[DONE] = _NORMAL
                        ev_e[DONE] = ist[_EID]
                        ist[_EID] += 1
                    else:
                        st[_NDEP] = ndep
                        _close_mark(seg, count, last, capped_at, now, fs, st, t0_mark, mark_time, mark_out)
                i = vm_of[u]
                if qhead[i] >= 0:  # the vCPU takes the VM's next job
                    nxt = qhead[i]
                    qhead[i] = link[nxt - base]
                    if qhead[i] < 0:
                        qtail[i] = -1
                    jobof[u] = nxt
                else:  # the VM has no work left: the vCPU blocks
                    jobof[u] = -1
                    bq[i, bql[i]] = u
                    bql[i] += 1
                    go_on = False
            else:
                remaining[jl] = rest
        if not go_on:
            # csched_schedule on pCPU k (written out: it runs at most piece ends)
            pending[k] = False
            scurr = curr[k]
            snext = -1
            length = period
            kept = False
            if scurr >= 0:
                credit[scurr] -= now - started[scurr]
                started[scurr] = now
                if jobof[scurr] >= 0 and not parked[scurr]:
                    rest = ratelimit - (now - run_since[k])
                    if rest > 1e-9 * ratelimit and now + rest > now:
                        kept = True  # rate limit: keep running until it has run ratelimit
                        snext = scurr
                        length = rest
                    else:
                        _insert(scurr, k, runq, rql, pri)
            if not kept:
                snext = runq[k, 0] if rql[k] > 0 else -1
                p = pri[snext] if snext >= 0 else IDLE
                stolen = -1
                if p <= OVER and c > 1 and now - last_balance[k] > balance_ratelimit:
                    last_balance[k] = now
                    # csched_load_balance / csched_runq_steal: first vCPU of higher priority on a busy peer's queue
                    peer = ist[_BIAS]
                    for _ in range(c):
                        peer = peer + 1 if peer + 1 < c else 0
                        if peer == k or idler[peer] or curr[peer] < 0:
                            continue
                        if rql[peer] > 0 and pri[runq[peer, 0]] > p:
                            ist[_BIAS] = peer
                            stolen = runq[peer, 0]
                            rql[peer] -= 1
                            for idx in range(rql[peer]):
                                runq[peer, idx] = runq[peer, idx + 1]
                            break
                if stolen >= 0:
                    snext = stolen
                    cpu[stolen] = k
                elif snext >= 0:
                    rql[k] -= 1
                    for idx in range(rql[k]):
                        runq[k, idx] = runq[k, idx + 1]
                else:
                    idler[k] = True
                    curr[k] = -1
                if snext >= 0:
                    idler[k] = False
                    if snext != scurr:
                        run_since[k] = now
                    started[snext] = now
                    curr[k] = snext
            if snext < 0:
                waitwake[k] = True
                continue
            p_u[k] = snext
            p_end[k] = now + length
        # a piece of the vCPU's current job: until it ends or the slice does
        u = p_u[k]
        job = jobof[u]
        jl = job - base
        if math.isnan(start[jl]):
            start[jl] = now
        work = remaining[jl]
        left = p_end[k] - now
        limited = left < work
        run = left if limited else work
        p_job[k] = job
        p_work[k] = work
        p_run[k] = run
        p_limited[k] = limited
        p_now[k] = now
        ev_k[k] = _TIMEOUT
        ev_p[k] = _NORMAL
        ev_t[k] = now + run
        ev_e[k] = ist[_EID]
        ist[_EID] += 1
    st[_INSYS] = in_system
    st[_INEXT] = i_next
    st[_NDEP] = ndep
    fs[_NOW] = now
    timer[0], timer[1] = n_tick, n_acct
    timer_f[0], timer_f[1], timer_f[2] = t_tick, t_acct, t_next
    return status
