"""KVM vCPU threads under Linux EEVDF with ``cpu.weight`` and ``cpu.max``, compiled: the numba replay
of :class:`~virtmodel.sim.linux_fair.LinuxFairScheduler`.

:func:`run_linux_fair` is the simpy scheduler's state machine written out over flat arrays (the
mechanism, and what is modelled, simplified and missing, are in :mod:`virtmodel.sim.linux_fair`):
per thread its state (sleeping, queued, running, throttled), job, weight, virtual runtime,
virtual deadline, lag and pCPU; per VM (cgroup) its runtime pool, throttled flag, next
``cpu.max`` refill and FIFO of waiting jobs.  Every transition is the simpy method's, in its
order and with its float operations: ``avg_vruntime`` summed over the runnable threads in thread
order, the lag clamp ``min(max(V - v, -limit), limit)`` with ``limit = max(2 r, tick) x 1024 / w``,
placement ``v = V - lag (W + w) / W`` and ``d = v + r x 1024 / w``, reweighting
``v = V - (V - v) w_old / w_new`` with V taken once before the loop, picks (eligible
``v <= V + 1e-12 max(1, |V|)`` with the earliest deadline, ties to the lower thread; else the
smallest v), wake-up preemption of the running thread with the latest deadline among the
ineligible ones, refills ``runtime = min(runtime + q x periods, q + burst)`` with
``periods = floor((now - at) / period + 1e-9) + 1``, and the tolerances of ``_fire``
(``1e-12 max(1, now)``; a job is done when its remaining work is at most
``max(1e-9 x size, tol)``; a cgroup is throttled when its runtime is at most ``tol x threads``).

The events are the simpy model's: one arrival per VM pending (eager arrivals: shared mode needs
them) and one live timer, re-armed after every change at ``now + max(0, best)`` (earlier timers
are stale and do nothing, so they are not kept).  Events at the same instant are taken in simpy's
order, by creation (simpy's event ids; all of these events have NORMAL priority): each event gets a
number from one counter at the moment simpy would create it (the VMs' first arrivals at time 0 in
VM order; the timer inside an arrival's ``add``, that VM's next arrival right after it; the timer
at the end of each timer callback), and of an arrival and the timer at one instant the lower number
goes first.  Arrivals of several VMs at one instant (lattice interarrivals: Deterministic,
Empirical, which :mod:`.support` admits for this kernel) go by their numbers too, not by the merged
stream's VM order: the one simpy takes first is moved to the front of its group (job ids are the
order of admission, as in simpy).  Periodic refills need no number of their own: they are not
events but a bound on the one timer, so a refill that coincides with a completion, a request end
or an empty pool is handled in that same callback, in ``_fire``'s order.

A run stopped at a departure count ends as ``run_until_departures`` does: after the whole timer
callback that reached the count (its other departures and dispatches included) and after any
arrivals at that same instant (created before the stop event); a run stopped at a time ``T`` takes
every event before ``T`` and none at ``T`` (simpy's stop event is urgent).

``tests/sim/test_compiled_linux_fair.py`` proves it equal to the simpy model job for job.

A vCPU thread that has never run takes its cgroup's weight when it first wakes, also when it wakes
into a throttled cgroup and is placed only at the refill (the reference model once divided by the
still-zero weight there; both were mended together).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ...errors import InvalidParameter
from ..linux_fair import NICE_0_LOAD
from .kernels import NEED_MORE, OK, STOP_DEPARTURES, STOP_TIME, first_created_to_front, jit

__all__ = ["LinuxFairRun", "run_linux_fair", "TOO_MANY_EVENTS", "MAX_EVENTS"]

SLEEPING, QUEUED, RUNNING, THROTTLED = 0, 1, 2, 3
#: kernel status: more events than the bound computed for the run (a safeguard against a loop)
TOO_MANY_EVENTS = 4
#: most scheduler events one run may need before it is refused (about 10^7 events take a second)
MAX_EVENTS = 1e11

_INF = np.inf


def _transition(fn):
    """:func:`~virtmodel.sim.compiled.kernels.jit` without numba's reference counting (``_nrt=False``)
    for the transitions the kernel calls: they allocate nothing, and the kernel holds every array
    they get for the whole call.  With reference counting each array argument costs an atomic
    increment and decrement per call (measured with perf: 85 % of the kernel's time, inlined or not);
    without it the kernel alone runs the battery's two KVM checks (200,000 departures, CPU) in 0.067
    and 0.070 s instead of 0.42 and 0.19 s (inlined, ``inline="always"``) or 0.54 and 0.25 s (plain calls)."""
    for options in ({"cache": True, "_nrt": False}, {"_nrt": False}, {"cache": True}):
        try:
            return njit(**options)(fn)
        except (RuntimeError, KeyError, TypeError):  # no cache location (see kernels.jit); an older numba
            continue
    return njit(fn)


@_transition
def _advance(dt, running, weight, vruntime, remaining, tjob, vm_of, has_quota, runtime):
    """``_advance``: the running threads ran ``dt`` (virtual runtime, their jobs' work, their cgroups' runtime)."""
    if dt > 0:
        for k in range(running.size):
            t = running[k]
            if t < 0:
                continue
            vruntime[t] += dt * NICE_0_LOAD / weight[t]
            remaining[tjob[t]] -= dt
            if has_quota[vm_of[t]]:
                runtime[vm_of[t]] -= dt


@_transition
def _avg_vruntime(state, weight, vruntime, exclude):
    """(sum of w v, sum of w) over the runnable threads but ``exclude``, in thread order."""
    total = 0.0
    load = 0.0
    for t in range(state.size):
        s = state[t]
        if (s == QUEUED or s == RUNNING) and t != exclude:
            w = weight[t]
            total += w * vruntime[t]
            load += w
    return total, load


@_transition
def _dequeue(t, new_state, lag_span, state, weight, vruntime, vlag, cpu, running):
    """``_dequeue``: thread t leaves the run queue keeping its lag, clamped to +-limit."""
    total, load = _avg_vruntime(state, weight, vruntime, -1)
    avg = total / load
    limit = lag_span * NICE_0_LOAD / weight[t]
    lag = avg - vruntime[t]
    if -limit > lag:
        lag = -limit
    if limit < lag:
        lag = limit
    vlag[t] = lag
    if state[t] == RUNNING:
        running[cpu[t]] = -1
        cpu[t] = -1
    state[t] = new_state


@_transition
def _place(t, base_slice, state, weight, vruntime, deadline, vlag):
    """``_place``: v = V - lag (W + w) / W (alone: its own clock), deadline v + r x 1024 / w."""
    total, load = _avg_vruntime(state, weight, vruntime, t)
    if load > 0.0:
        avg = total / load
        lag = vlag[t] * (load + weight[t]) / load
    else:
        avg = vruntime[t] + vlag[t]
        lag = 0.0
    vruntime[t] = avg - lag
    deadline[t] = vruntime[t] + base_slice * NICE_0_LOAD / weight[t]
    state[t] = QUEUED


@_transition
def _reweight(i, vm_first, vm_threads, group_weight, state, weight, vruntime, deadline):
    """``_reweight``: VM i's weight split equally among its runnable threads, lag kept."""
    first = vm_first[i]
    end = first + vm_threads[i]
    count = 0
    for t in range(first, end):
        if state[t] == QUEUED or state[t] == RUNNING:
            count += 1
    if count == 0:
        return
    w_new = group_weight[i] / count
    same = True
    for t in range(first, end):
        if (state[t] == QUEUED or state[t] == RUNNING) and weight[t] != w_new:
            same = False
            break
    if same:
        return
    total, load = _avg_vruntime(state, weight, vruntime, -1)
    known = load > 0.0
    avg = total / load if known else 0.0
    for t in range(first, end):
        if state[t] == QUEUED or state[t] == RUNNING:
            w_old = weight[t]
            if w_old > 0.0 and known:
                ratio = w_old / w_new
                vruntime[t] = avg - (avg - vruntime[t]) * ratio
                deadline[t] = avg + (deadline[t] - avg) * ratio
            weight[t] = w_new


@_transition
def _pick(state, weight, vruntime, deadline):
    """``_pick`` (``pick_eevdf``): the eligible queued thread with the earliest deadline, else the smallest v."""
    queued = False
    for t in range(state.size):
        if state[t] == QUEUED:
            queued = True
            break
    if not queued:
        return -1
    total, load = _avg_vruntime(state, weight, vruntime, -1)
    avg = total / load
    bound = avg + 1e-12 * max(1.0, abs(avg))
    best = -1
    for t in range(state.size):
        if state[t] == QUEUED and vruntime[t] <= bound and (best < 0 or deadline[t] < deadline[best]):
            best = t
    if best >= 0:
        return best
    for t in range(state.size):
        if state[t] == QUEUED and (best < 0 or vruntime[t] < vruntime[best]):
            best = t
    return best


@_transition
def _throttle(i, vm_first, vm_threads, lag_span, throttled, state, weight, vruntime, vlag, cpu, running):
    """``_throttle``: every runnable thread of VM i is dequeued until the next refill."""
    throttled[i] = True
    for t in range(vm_first[i], vm_first[i] + vm_threads[i]):
        if state[t] == QUEUED or state[t] == RUNNING:
            _dequeue(t, THROTTLED, lag_span, state, weight, vruntime, vlag, cpu, running)


@_transition
def _refill(now, vm_first, vm_threads, group_weight, quota, period, burst, base_slice, runtime, refill_at,
            throttled, state, weight, vruntime, deadline, vlag):
    """``_refill``: the ``cpu.max`` boundaries passed by ``now``; unthrottled threads are placed again.

    Returns (whether the reference model gets through it, the next refill instant)."""
    due = now + 1e-12 * max(1.0, now)
    for i in range(refill_at.size):
        at = refill_at[i]
        if at > due:
            continue
        q = quota[i]
        periods = math.floor((now - at) / period[i] + 1e-9) + 1.0
        runtime[i] = min(runtime[i] + q * periods, q + burst[i])
        refill_at[i] = at + periods * period[i]
        if throttled[i] and runtime[i] > 0:
            throttled[i] = False
            for t in range(vm_first[i], vm_first[i] + vm_threads[i]):
                if state[t] == THROTTLED:
                    _place(t, base_slice, state, weight, vruntime, deadline, vlag)
            _reweight(i, vm_first, vm_threads, group_weight, state, weight, vruntime, deadline)
    return refill_at.min()


@_transition
def _dispatch(now, state, weight, vruntime, deadline, cpu, running, tjob, start):
    """``_dispatch``: fill the free pCPUs with EEVDF picks; a job's start is its first pCPU."""
    for k in range(running.size):
        if running[k] >= 0:
            continue
        t = _pick(state, weight, vruntime, deadline)
        if t < 0:
            break
        running[k] = t
        cpu[t] = k
        state[t] = RUNNING
        job = tjob[t]
        if start[job] != start[job]:
            start[job] = now


@_transition
def _next_timer(last, state, running, tjob, remaining, weight, vruntime, deadline, vm_of, has_quota, runtime,
                refill_at, throttled, per_vm):
    """``_arm``'s delay: the next completion, request end (when contended), empty pool or due refill."""
    best = _INF
    contended = False
    for t in range(state.size):
        if state[t] == QUEUED:
            contended = True
            break
    per_vm[:] = 0
    for k in range(running.size):
        t = running[k]
        if t < 0:
            continue
        best = min(best, remaining[tjob[t]])
        if contended:
            best = min(best, (deadline[t] - vruntime[t]) * weight[t] / NICE_0_LOAD)
        i = vm_of[t]
        if has_quota[i]:
            per_vm[i] += 1
    for i in range(per_vm.size):
        if per_vm[i] > 0:
            best = min(best, runtime[i] / per_vm[i], refill_at[i] - last)
    for i in range(per_vm.size):
        if throttled[i]:
            best = min(best, refill_at[i] - last)
    return best


@jit
def run_linux_fair(arr_t, arr_vm, size, n, covered, c, cap, vm_first, vm_threads, group_weight, has_quota,
                   quota, period, burst, base_slice, tick, max_events,
                   stop_kind, stop_count, stop_time, start, depart, blocked, order, occupied):
    """EEVDF + ``cpu.max`` over the VMs' vCPU threads on ``c`` pCPUs (see the module docstring).

    VM i's threads are ``vm_first[i] ... vm_first[i] + vm_threads[i] - 1``; ``group_weight`` the
    kernel weights (cpu.weight x 1024 / 100); ``has_quota``, ``quota``, ``period``, ``burst``
    its ``cpu.max``; ``base_slice`` and ``tick`` the EEVDF request and scheduler tick.  Other
    arguments and the result as for the kernels of :mod:`.kernels`; the status is
    :data:`TOO_MANY_EVENTS` past ``max_events`` events.
    """
    nvm = vm_first.size
    nthreads = 0
    for i in range(nvm):
        nthreads += vm_threads[i]
    vm_of = np.empty(nthreads, dtype=np.int64)
    for i in range(nvm):
        for t in range(vm_first[i], vm_first[i] + vm_threads[i]):
            vm_of[t] = i
    state = np.zeros(nthreads, dtype=np.int64)
    tjob = np.full(nthreads, -1, dtype=np.int64)
    weight = np.zeros(nthreads)
    vruntime = np.zeros(nthreads)
    deadline = np.zeros(nthreads)
    vlag = np.zeros(nthreads)
    cpu = np.full(nthreads, -1, dtype=np.int64)
    running = np.full(c, -1, dtype=np.int64)
    runtime = np.empty(nvm)
    refill_at = np.empty(nvm)
    throttled = np.zeros(nvm, dtype=np.bool_)
    per_vm = np.zeros(nvm, dtype=np.int64)
    qhead = np.full(nvm, -1, dtype=np.int64)
    qtail = np.full(nvm, -1, dtype=np.int64)
    link = np.empty(max(n, 1), dtype=np.int64)
    remaining = np.empty(max(n, 1))
    for i in range(nvm):
        runtime[i] = quota[i] if has_quota[i] else _INF
        refill_at[i] = period[i] if has_quota[i] else _INF
    next_refill = refill_at.min() if nvm > 0 else _INF
    lag_span = max(2.0 * base_slice, tick)
    # simpy's event ids: the VMs' first arrivals are created at time 0 in VM order, then one number
    # per event created (the timer armed inside an arrival's add before that VM's next arrival)
    arr_seq = np.arange(nvm, dtype=np.int64)
    seq = nvm
    fire = _INF
    timer_seq = 0
    last = 0.0
    in_system = 0
    i_next = 0
    ndep = 0
    now = 0.0
    events = 0
    stopping = False
    if stop_kind == STOP_TIME and stop_time > covered:
        return NEED_MORE, 0, 0, 0.0
    if stop_kind == STOP_DEPARTURES and stop_count <= 0:
        return OK, 0, 0, 0.0  # run_until_departures(0) returns at once
    while True:
        ta = _INF
        if i_next < n:
            ta = arr_t[i_next]
            if i_next + 1 < n and arr_t[i_next + 1] == ta:
                first_created_to_front(arr_t, arr_vm, size, i_next, n, arr_seq)  # simultaneous arrivals
        arrival = ta < fire or (ta == fire and ta < _INF and arr_seq[arr_vm[i_next]] < timer_seq)
        t_ev = ta if arrival else fire
        if stopping:
            # run_until_departures: the stop event was created inside the callback that reached the
            # count; only the arrivals at that instant (created before it) still come first
            if not (arrival and ta == now):
                break
        elif stop_kind == STOP_TIME:
            if t_ev >= stop_time:
                now = stop_time
                break
        elif t_ev > covered:
            return NEED_MORE, i_next, ndep, now
        events += 1
        if events > max_events:
            return TOO_MANY_EVENTS, i_next, ndep, now
        if arrival:
            now = ta
            job = i_next
            i_next += 1
            v = arr_vm[job]
            if cap >= 0 and in_system >= cap:
                blocked[job] = True
            else:
                in_system += 1
                remaining[job] = size[job]
                idle = -1
                for t in range(vm_first[v], vm_first[v] + vm_threads[v]):
                    if state[t] == SLEEPING:
                        idle = t
                        break
                if idle < 0:
                    # every vCPU of the VM holds a job: it waits in the guest (FIFO)
                    link[job] = -1
                    if qtail[v] < 0:
                        qhead[v] = job
                    else:
                        link[qtail[v]] = job
                    qtail[v] = job
                else:
                    _advance(now - last, running, weight, vruntime, remaining, tjob, vm_of, has_quota, runtime)
                    last = now
                    if next_refill <= now:
                        next_refill = _refill(now, vm_first, vm_threads, group_weight, quota, period, burst,
                                                  base_slice, runtime, refill_at, throttled, state, weight,
                                                  vruntime, deadline, vlag)
                    # _wake
                    t = idle
                    tjob[t] = job
                    if weight[t] == 0.0:
                        weight[t] = group_weight[v]
                    if has_quota[v] and not throttled[v] and runtime[v] <= 0.0:
                        _throttle(v, vm_first, vm_threads, lag_span, throttled, state, weight, vruntime, vlag,
                                  cpu, running)
                    if throttled[v]:
                        state[t] = THROTTLED
                    else:
                        _place(t, base_slice, state, weight, vruntime, deadline, vlag)
                        _reweight(v, vm_first, vm_threads, group_weight, state, weight, vruntime, deadline)
                        # _maybe_preempt: only with every pCPU busy and t the EEVDF pick
                        busy = True
                        for k in range(c):
                            if running[k] < 0:
                                busy = False
                                break
                        if busy and _pick(state, weight, vruntime, deadline) == t:
                            total, load = _avg_vruntime(state, weight, vruntime, -1)
                            avg = total / load
                            bound = avg + 1e-12 * max(1.0, abs(avg))
                            victim = -1
                            for k in range(c):
                                r = running[k]
                                if vruntime[r] > bound and (victim < 0 or deadline[r] > deadline[victim]
                                                            or (deadline[r] == deadline[victim] and r > victim)):
                                    victim = r
                            if victim >= 0:
                                running[cpu[victim]] = -1
                                cpu[victim] = -1
                                state[victim] = QUEUED
                    _dispatch(now, state, weight, vruntime, deadline, cpu, running, tjob, start)
                    best = _next_timer(last, state, running, tjob, remaining, weight, vruntime, deadline, vm_of,
                                       has_quota, runtime, refill_at, throttled, per_vm)
                    fire = now + max(0.0, best) if best < _INF else _INF
                    timer_seq = seq
                    seq += 1
            arr_seq[v] = seq  # the VM's next arrival
            seq += 1
            continue
        # the live timer (_fire)
        now = fire
        _advance(now - last, running, weight, vruntime, remaining, tjob, vm_of, has_quota, runtime)
        last = now
        tol = 1e-12 * max(1.0, now)
        if next_refill <= now + tol:
            next_refill = _refill(now, vm_first, vm_threads, group_weight, quota, period, burst, base_slice,
                                      runtime, refill_at, throttled, state, weight, vruntime, deadline, vlag)
        for k in range(c):
            t = running[k]
            if t < 0:
                continue
            i = vm_of[t]
            job = tjob[t]
            # job boundaries inside a running vCPU cost nothing: take the next job and keep running
            while job >= 0 and remaining[job] <= max(1e-9 * size[job], tol):
                occupied[job] = size[job]
                depart[job] = now
                order[ndep] = job
                ndep += 1
                in_system -= 1
                if stop_kind == STOP_DEPARTURES and ndep >= stop_count:
                    stopping = True
                job = qhead[i]
                if job >= 0:
                    qhead[i] = link[job]
                    if qhead[i] < 0:
                        qtail[i] = -1
                    if start[job] != start[job]:
                        start[job] = now
                tjob[t] = job
            if job < 0:
                _dequeue(t, SLEEPING, lag_span, state, weight, vruntime, vlag, cpu, running)
                _reweight(i, vm_first, vm_threads, group_weight, state, weight, vruntime, deadline)
                continue
            if (deadline[t] - vruntime[t]) * weight[t] / NICE_0_LOAD <= tol:
                deadline[t] = vruntime[t] + base_slice * NICE_0_LOAD / weight[t]  # request used up
                contended = False
                for u in range(nthreads):
                    if state[u] == QUEUED:
                        contended = True
                        break
                if contended:  # a new pick (skipped when nothing else is queued)
                    running[k] = -1
                    cpu[t] = -1
                    state[t] = QUEUED
        for i in range(nvm):
            if has_quota[i] and not throttled[i] and runtime[i] <= tol * vm_threads[i]:
                active = False
                for t in range(vm_first[i], vm_first[i] + vm_threads[i]):
                    if state[t] == QUEUED or state[t] == RUNNING:
                        active = True
                        break
                if active:
                    runtime[i] = 0.0
                    _throttle(i, vm_first, vm_threads, lag_span, throttled, state, weight, vruntime, vlag,
                              cpu, running)
        _dispatch(now, state, weight, vruntime, deadline, cpu, running, tjob, start)
        best = _next_timer(last, state, running, tjob, remaining, weight, vruntime, deadline, vm_of, has_quota,
                           runtime, refill_at, throttled, per_vm)
        fire = now + max(0.0, best) if best < _INF else _INF
        timer_seq = seq
        seq += 1
    return OK, i_next, ndep, now


class LinuxFairRun:
    """What :class:`~virtmodel.sim.compiled.engine.CompiledEngine` needs to run a LinuxFair scenario.

    Holds the policy's per-VM numbers as the simpy scheduler computes them (kernel weight
    ``cpu.weight x 1024 / 100``, ``cpu.max`` quota, period and burst, the base slice for the
    pCPUs, the tick; VM i has ``vcpus`` threads, else one per pCPU) and runs
    :func:`run_linux_fair`.

    Raises
    ------
    InvalidParameter
        A base slice or ``cpu.max`` period so short that the run would need more than
        :data:`MAX_EVENTS` scheduler events; a run that reaches the point where the simpy model
        divides by a zero weight (a vCPU thread that never ran woke into a throttled cgroup).
    """

    def __init__(self, scenario, seed, replication):
        policy = scenario.policy
        self.c = c = scenario.pcpus
        names = scenario.names
        counts = [v.vcpus or c for v in scenario.vms]
        self.vm_threads = np.array(counts, dtype=np.int64)
        self.vm_first = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
        self.group_weight = np.array([policy.weight_of(name) * NICE_0_LOAD / 100.0 for name in names])
        quotas = [policy.quota_of(name) for name in names]
        self.has_quota = np.array([q is not None for q in quotas], dtype=np.bool_)
        self.quota = np.array([q if q is not None else 0.0 for q in quotas], dtype=float)
        self.period = np.array([policy.period_of(name) for name in names], dtype=float)
        self.burst = np.array([policy.burst_of(name) for name in names], dtype=float)
        self.base_slice = float(policy.slice_for(c))
        self.tick = float(policy.tick)
        #: scheduler events per unit of time, at most: a request end per base slice on each pCPU,
        #: a throttle, a refill and a pool-empty timer per period of each capped VM
        self.rate = c / self.base_slice + float(sum(3.0 / p for p, q in zip(self.period, quotas, strict=True)
                                                    if q is not None))

    def run(self, arr_t, arr_vm, size, n, covered, cap, stop_kind, count, horizon, start, depart, blocked, order,
            occupied):
        """:func:`run_linux_fair` over the arrivals known up to ``covered``."""
        bound = 2.0 * (2.0 * n + covered * self.rate) + 1e6
        if not bound <= MAX_EVENTS:
            raise InvalidParameter(
                f"LinuxFair base_slice={self.base_slice:.6g} or a cpu.max period (shortest "
                f"{float(self.period[self.has_quota].min()) if self.has_quota.any() else math.inf:.6g}) is too short "
                f"for this run: its {n:,} arrivals (up to time {covered:.6g}) may need about {bound:.3g} scheduler "
                f"events (more than {MAX_EVENTS:.0e}, hours of simulation); simulate fewer customers or use a "
                "longer base slice / period (seconds_per_unit sets the Linux defaults' unit)")
        status, jobs, departed, now = run_linux_fair(
            arr_t, arr_vm, size, n, covered, self.c, cap, self.vm_first, self.vm_threads, self.group_weight,
            self.has_quota, self.quota, self.period, self.burst, self.base_slice, self.tick, bound,
            stop_kind, count, horizon, start, depart, blocked, order, occupied)
        if status == TOO_MANY_EVENTS:
            raise InvalidParameter(
                f"LinuxFair run stopped after {bound:.3g} scheduler events at time {now:.6g}, more than this "
                "scenario can need; this is a defect of the compiled kernel: use engine='simpy'")
        return status, jobs, departed, now
