"""The simpy model of a hypervisor: pCPUs that serve the jobs of VMs.

One process per pCPU asks the scheduler for the next job and runs it with a
single ``timeout``; there is never a process per customer.  Per-job facts go
into flat lists indexed by job id (arrival, VM, size, first start, departure)
and become numpy arrays in :meth:`Hypervisor.records`.

Arrivals come in one of two ways, chosen by the scheduler:

* **eager** (``Scheduler.needs_arrival_events = True``, e.g. preemptive
  policies): one process per VM wakes at each arrival and hands the job to
  the scheduler, which may preempt.
* **lazy** (non-preemptive policies, whose decisions happen only when a pCPU
  frees up): each VM's arrival times are known in advance (a renewal stream),
  so a pCPU that finishes a job first moves every arrival up to the current
  time into the scheduler, then picks.  Only when a pCPU is idle does an
  arrival need an event of its own: a single watcher process sleeps until
  the next arrival and wakes the idle pCPUs.  Every job sees the same state
  at its arrival as in the eager model (blocking is decided with the number
  in system at the arrival instant, since the pCPU ingests arrivals *before*
  recording its departure), and the per-job results agree; the tests prove it.
  At load 0.9 this halves the number of simpy events per customer.

The pCPU loop comes in several forms, chosen by the scheduler's ``mode``:
``"whole"`` (a job runs to completion: FCFS, SJF, non-preemptive priority,
delay-dependent priority) and ``"sliced"`` (a job runs for ``slice_for(job)``
plus the policy's switch cost, and goes back to the scheduler unfinished:
round robin; or until an arrival preempts it: SRPT, PSJF, preemptive
priority).  Processor sharing (``"shared"``) has no pCPU loop at all: it is
simulated exactly with a virtual-time clock, one event at each arrival and
at the next completion (see :class:`~virtmodel.sim.schedulers.PSScheduler`).
A ``"custom"`` scheduler (polling, credit) runs its own process per pCPU,
``scheduler.pcpu(k)``, using :meth:`Hypervisor.admit_until`,
:meth:`Hypervisor.depart_job` and the job tables.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from itertools import chain, repeat

import numpy as np
import simpy

from . import credit as _credit  # noqa: F401  (registers the ProportionalShare and Credit schedulers)
from . import linux_fair as _linux_fair  # noqa: F401  (registers the LinuxFair scheduler)
from . import polling as _polling  # noqa: F401  (registers the Polling scheduler)
from .schedulers import make_scheduler
from .streams import ARRIVAL, BLOCK, LIFECYCLE, PATIENCE, SERVICE, draws, vm_rng

__all__ = ["Hypervisor", "Records"]


@dataclass(frozen=True)
class Records:
    """Per-job tables of one run (numpy arrays, one entry per arrival so far).

    ``start`` and ``depart`` are NaN for jobs not yet started / departed and
    for blocked jobs; ``blocked`` marks arrivals refused at a full system;
    ``order`` lists the departed jobs in departure order; ``now`` is the
    simulated time at which the tables were taken.  ``occupied`` (policies
    that serve a job in pieces: time slicing, preemption, sharing) is the
    pCPU time each job has used so far, switch overhead included; it is None
    when every job runs from ``start`` to ``depart`` in one piece.
    ``abandoned`` (VMs with patience) marks jobs that left unserved when
    their patience ran out; their ``depart`` is that instant and they are
    not in ``order`` (which lists served jobs); None without patience.
    """

    arrival: np.ndarray
    vm: np.ndarray
    size: np.ndarray
    start: np.ndarray
    depart: np.ndarray
    blocked: np.ndarray
    order: np.ndarray
    now: float
    occupied: np.ndarray | None = None
    abandoned: np.ndarray | None = None

    def responses(self) -> np.ndarray:
        """Response times of the departed jobs, in departure order."""
        return self.depart[self.order] - self.arrival[self.order]


def _arrival_times(dist, rng, vm_index):
    """(time, vm_index) pairs of a renewal stream, computed block-wise.

    The times equal the sequential float sums ``t_k = t_{k-1} + dt_k`` that
    the eager process produces with ``env.timeout(dt)``.
    """
    t = 0.0
    sample = dist.sample
    while True:
        times = np.cumsum(np.concatenate(([t], sample(rng, BLOCK))))[1:]
        yield from zip(times.tolist(), repeat(vm_index))
        t = float(times[-1])


def _trace_arrival_times(dist, vm_index):
    """(time, vm_index) pairs of a replayed trace (a Sequential of gaps): the
    running float sum, as the eager process computes it; ends with the trace."""
    t = 0.0
    for dt in dist.replay():
        t += dt
        yield t, vm_index


def _trace_sizes(vm):
    """The service times of a VM whose service is a Sequential; a clear error when they run out."""
    yield from draws(vm.service, None)
    from ..errors import InvalidParameter

    raise InvalidParameter(
        f"VM {vm.name!r}: its service trace (Sequential of {len(vm.service)} values) ran out: it needs one "
        "value per job; give as many sizes as arrivals, simulate fewer jobs, or pass cycle=True")


class Hypervisor:
    """A host with ``scenario.pcpus`` pCPUs running the VMs of ``scenario``.

    Parameters
    ----------
    scenario : virtmodel.Scenario
    seed : int
        Entropy of the root SeedSequence.
    replication : int
        Replication index; with ``seed`` it fixes every random stream.
    lazy_arrivals : bool or None
        Force the arrival mode (None: what the scheduler asks for).

    Examples
    --------
    >>> from virtmodel import Scenario, VM
    >>> from virtmodel.dists import Exponential
    >>> hv = Hypervisor(Scenario(1, [VM("a", Exponential(0.5), Exponential(1.0))]), seed=1)
    >>> hv.run_until_departures(100)
    >>> hv.departures
    100
    """

    def __init__(self, scenario, seed, replication: int = 0, lazy_arrivals: bool | None = None):
        self.scenario = scenario
        self.seed, self.replication = seed, replication  # for schedulers with streams of their own
        self.env = env = simpy.Environment()
        self.arrival: list[float] = []
        self.vm: list[int] = []
        self.size: list[float] = []
        self.start: list[float] = []
        self.depart: list[float] = []
        self.blocked: list[int] = []
        self.order: list[int] = []
        self.remaining: list[float] = []
        self.occupied: list[float] = []
        self.in_system = 0
        self.departures = 0
        self._capacity = scenario.capacity if scenario.capacity is not None else math.inf
        self._target = math.inf
        self._done = env.event()
        self._idle: list[simpy.Event] = []
        self.scheduler = sched = make_scheduler(scenario.policy, self)
        self.sliced = sched.in_pieces
        c = scenario.pcpus
        self.running: list[int | None] = [None] * c
        self._slice_began = [0.0] * c
        self._pcpus: list[simpy.Process] = []
        self._sizes = [draws(vm.service, vm_rng(seed, replication, i, SERVICE))
                       if not hasattr(vm.service, "replay") else _trace_sizes(vm)
                       for i, vm in enumerate(scenario.vms)]
        self.lifecycle = scenario.has_lifecycle
        self.patient = scenario.has_patience
        self.deadline: list[float] | None = None
        if self.patient:
            self._start_patience(sched)
        if self.lifecycle:
            self._start_lifecycle(sched)
            lazy_arrivals = False  # states change at arrivals' instants: admit each one as an event
        if lazy_arrivals is None:
            lazy_arrivals = not self.scheduler.needs_arrival_events
        self.lazy_arrivals = lazy_arrivals
        if lazy_arrivals:
            streams = [_arrival_times(vm.arrival, vm_rng(seed, replication, i, ARRIVAL), i)
                       if not hasattr(vm.arrival, "replay") else _trace_arrival_times(vm.arrival, i)
                       for i, vm in enumerate(scenario.vms)]
            self._feed = streams[0] if len(streams) == 1 else heapq.merge(*streams)
            if scenario.replays:  # a trace ends: then the next arrival is never
                self._feed = chain(self._feed, repeat((math.inf, -1)))
            self._next_arrival, self._next_vm = next(self._feed)
            self._watch = None
            env.process(self._watcher())
        else:
            for i, vm in enumerate(scenario.vms):
                env.process(self._arrivals(i, draws(vm.arrival, vm_rng(seed, replication, i, ARRIVAL))))
        if sched.mode == "custom":
            self._pcpus = [env.process(sched.pcpu(k)) for k in range(c)]
        elif sched.mode != "shared":
            loop = self._pcpu_sliced if sched.mode == "sliced" else self._pcpu
            self._pcpus = [env.process(loop(k)) for k in range(c)]

    # -- arrivals ----------------------------------------------------------
    def _admit(self, t, vm_index):
        """Record an arrival at time ``t`` and hand it to the scheduler.

        Returns the job id, or None when the system is full and it is blocked.
        """
        job = len(self.arrival)
        self.arrival.append(t)
        self.vm.append(vm_index)
        x = next(self._sizes[vm_index])
        self.size.append(x)
        self.start.append(math.nan)
        self.depart.append(math.nan)
        if self.patient:
            self.deadline.append(t + next(self._patience[vm_index]))
        if self.sliced:
            self.remaining.append(x)
            self.occupied.append(0.0)
        if self.in_system >= self._capacity or (self.lifecycle and self.state[vm_index] == "stopped"):
            self.blocked.append(job)
            return None
        self.in_system += 1
        if self.lifecycle and self.state[vm_index] != "running":
            self._parked[vm_index].append(job)  # the VM is starting or paused: the job waits
            return None
        self.scheduler.add(job)
        return job

    def admit_until(self, now):
        """Admit every arrival due by ``now`` (lazy mode; a no-op in eager mode).

        Schedulers that run their own pCPU process (``mode = "custom"``) call
        this before each decision.
        """
        if self.lazy_arrivals and self._next_arrival <= now:
            self._ingest(now)

    def _ingest(self, now):
        """Lazy mode: admit every arrival with time <= ``now`` (the body of
        :meth:`_admit`, inlined: this loop runs once per customer)."""
        t, i = self._next_arrival, self._next_vm
        feed, sizes, add = self._feed, self._sizes, self.scheduler.add
        arrival, vm, size, start, depart = self.arrival, self.vm, self.size, self.start, self.depart
        capacity, nan = self._capacity, math.nan
        in_system = self.in_system
        sliced, remaining, occupied = self.sliced, self.remaining, self.occupied
        deadline, patience = self.deadline, self._patience if self.patient else None
        while t <= now:
            job = len(arrival)
            arrival.append(t)
            vm.append(i)
            x = next(sizes[i])
            size.append(x)
            start.append(nan)
            depart.append(nan)
            if deadline is not None:
                deadline.append(t + next(patience[i]))
            if sliced:
                remaining.append(x)
                occupied.append(0.0)
            if in_system >= capacity:
                self.blocked.append(job)
            else:
                in_system += 1
                add(job)
            t, i = next(feed)
        self.in_system = in_system
        self._next_arrival, self._next_vm = t, i

    def _watcher(self):
        """Lazy mode: while some pCPU is idle, wake at each arrival and dispatch."""
        env = self.env
        idle, sched = self._idle, self.scheduler
        while True:
            if not idle:
                self._watch = env.event()
                yield self._watch
            due = self._next_arrival
            if due == math.inf:
                return  # the trace is over: no more arrivals to watch for
            delay = due - env.now
            if env.now + delay < due:  # rounding: never wake an ulp before the arrival
                delay = math.nextafter(delay, math.inf)
            yield env.timeout(delay)
            # a pCPU departing at this same instant may already have admitted
            # it: admit up to ``due`` only, never the next (future) arrival
            self._ingest(due)
            self._wake(len(sched))

    def _arrivals(self, vm_index, inter):
        """Eager mode: one process per VM, one event per arrival."""
        env = self.env
        timeout = env.timeout
        admit, idle = self._admit, self._idle
        preemptive = self.scheduler.preemptive
        for dt in inter:
            yield timeout(dt)
            job = admit(env.now, vm_index)
            if job is None:
                continue
            if idle:
                idle.pop().succeed()
            elif preemptive:
                self._maybe_preempt(job)

    def _maybe_preempt(self, job):
        """Interrupt the pCPU running the least urgent job if ``job`` beats it."""
        sched, now = self.scheduler, self.env.now
        worst_k, worst = -1, None
        for k, running in enumerate(self.running):
            if running is None:
                continue
            done = max(0.0, now - self._slice_began[k] - sched.switch_cost)
            key = sched.running_key(running, done)
            if worst is None or key > worst:
                worst_k, worst = k, key
        if worst is not None and sched.key(job) < worst:
            self.running[worst_k] = None  # one interrupt per slice
            self._pcpus[worst_k].interrupt()

    def depart_job(self, job, now):
        """Record the departure of ``job`` at ``now`` (for schedulers that serve jobs themselves)."""
        self.depart[job] = now
        self.order.append(job)
        self.in_system -= 1
        self.departures += 1
        if self.departures >= self._target:
            self._target = math.inf
            self._done.succeed()

    # -- pCPUs ---------------------------------------------------------------
    def _wake(self, jobs: int):
        """Wake one idle pCPU per waiting job (at most)."""
        idle = self._idle
        while idle and jobs > 0:
            idle.pop().succeed()
            jobs -= 1

    def go_idle(self):
        """Register the calling pCPU as idle; return the event that wakes it (custom schedulers use it too)."""
        wake = self.env.event()
        self._idle.append(wake)
        if self.lazy_arrivals and self._watch is not None:  # the watcher sleeps until a pCPU idles
            watch, self._watch = self._watch, None
            watch.succeed()
        return wake

    def _pcpu(self, k):
        env = self.env
        timeout = env.timeout
        sched = self.scheduler
        next_job, slice_for = self._next_job if self.lifecycle else sched.next_job, sched.slice_for
        if self.patient:
            next_job = self._next_patient_job
        start, depart = self.start, self.depart
        departed = self.order.append
        notify = getattr(sched, "on_depart", None)
        lazy = self.lazy_arrivals
        ingest = self._ingest if lazy else None
        while True:
            job = next_job()
            if job is None:
                yield self.go_idle()
                continue
            start[job] = env.now
            yield timeout(slice_for(job))
            now = env.now
            if lazy and self._next_arrival <= now:
                ingest(now)
            depart[job] = now
            departed(job)
            if notify is not None:
                notify(job)
            self.in_system -= 1
            self.departures += 1
            if self.departures >= self._target:
                self._target = math.inf
                self._done.succeed()

    def _pcpu_sliced(self, k):
        """A pCPU that runs jobs in slices: ``switch_cost`` + ``slice_for(job)``,
        cut short by a preemption; unfinished jobs go back to the scheduler."""
        env = self.env
        timeout = env.timeout
        sched = self.scheduler
        next_job = self._next_job if self.lifecycle else sched.next_job
        slice_for, put_back = sched.slice_for, sched.put_back
        switch = sched.switch_cost
        start, size, remaining, occupied = self.start, self.size, self.remaining, self.occupied
        running, began = self.running, self._slice_began
        lazy = self.lazy_arrivals
        while True:
            job = next_job()
            if job is None:
                yield self.go_idle()
                continue
            now = env.now
            if start[job] != start[job]:  # NaN: first service
                start[job] = now
            work = slice_for(job)
            running[k], began[k] = job, now
            try:
                yield timeout(switch * sched.dispatches(work) + work if switch else work)
                running[k] = None
            except simpy.Interrupt:
                work = min(work, max(0.0, env.now - now - switch))
            end = env.now
            occupied[job] += end - now
            left = remaining[job] - work
            if lazy and self._next_arrival <= end:
                self._ingest(end)
            if left <= 1e-9 * size[job]:
                remaining[job] = 0.0
                self.depart_job(job, end)
            else:
                remaining[job] = left
                put_back(job)

    # -- patience (abandonment) ----------------------------------------------------
    def _start_patience(self, sched):
        """Each job draws a patience at arrival (stream PATIENCE of its VM); one not started
        by ``arrival + patience`` abandons.

        Abandonment is applied lazily but exactly: an abandoned job takes no
        pCPU time, so it only matters when a pCPU picks the next job; the
        pick skips (and drops) every job whose deadline has passed, which
        leaves the same waiting set as if each had left at its deadline.
        Exact for the policies whose decisions are taken only when a pCPU
        picks (``mode = "whole"``: FCFS, SJF, non-preemptive priority,
        delay-dependent priority, FCFS with vCPU limits).  The compiled
        engine replays it job for job (:mod:`virtmodel.sim.compiled.abandonment`).
        """
        from ..errors import InvalidParameter

        if sched.mode != "whole" or self.lifecycle or self.scenario.capacity is not None:
            raise InvalidParameter(
                "patience (abandonment) is simulated for non-preemptive policies that run each job to "
                "completion (FCFS, SJF, Priority(preemptive=False), DelayDependentPriority), without "
                "lifecycle events or a capacity limit; not implemented for policy "
                f"{self.scenario.policy!r}, capacity={self.scenario.capacity!r}, "
                f"lifecycle={self.lifecycle}")
        self.deadline = []
        self._patience = [draws(v.patience, vm_rng(self.seed, self.replication, i, PATIENCE))
                          if v.patience is not None else repeat(math.inf)
                          for i, v in enumerate(self.scenario.vms)]

    def _next_patient_job(self):
        """next_job with abandonment: drop waiting jobs whose patience ran out before now."""
        sched, now, deadline = self.scheduler, self.env.now, self.deadline
        notify = getattr(sched, "on_depart", None)
        while True:
            job = sched.next_job()
            if job is None or deadline[job] >= now:
                return job
            if notify is not None:
                notify(job)  # it will never run: give back its vCPU
            self.in_system -= 1

    # -- lifecycle (see virtmodel.events) ----------------------------------------
    def _start_lifecycle(self, sched):
        if sched.mode not in ("whole", "sliced"):
            from ..errors import InvalidParameter

            raise InvalidParameter(
                f"lifecycle stages and events are simulated for policies with a pCPU loop; "
                f"policy {self.scenario.policy!r} serves jobs in its own way")
        vms = self.scenario.vms
        self.state = ["created" if v.has_stages else "running" for v in vms]
        self._hold = [False] * len(vms)       # a pause scripted while the VM is starting
        self._epoch = [0] * len(vms)          # bumped by stop/start: stale stage processes give up
        self._parked = [[] for _ in vms]
        self._stage_rng = [vm_rng(self.seed, self.replication, i, LIFECYCLE) for i in range(len(vms))]
        self.transitions: list[tuple[float, str, str]] = []  # (time, VM, new state)
        for i, v in enumerate(vms):
            if v.has_stages:
                self.env.process(self._stages(i, [("created", v.create), ("configuring", v.configure),
                                                  ("booting", v.boot)]))
        if self.scenario.events:
            self.env.process(self._script())

    def _set_state(self, i, state):
        self.state[i] = state
        self.transitions.append((self.env.now, self.scenario.vms[i].name, state))

    def _stages(self, i, stages):
        epoch = self._epoch[i]
        for state, dist in stages:
            if dist is None:
                continue
            self._set_state(i, state)
            yield self.env.timeout(float(dist.sample(self._stage_rng[i], 1)[0]))
            if self._epoch[i] != epoch:
                return  # stopped meanwhile
        if self._hold[i]:
            self._set_state(i, "paused")
        else:
            self._set_state(i, "running")
            self._release(i)

    def _script(self):
        env = self.env
        for event in self.scenario.events:
            if event.at > env.now:
                yield env.timeout(event.at - env.now)
            i = self.scenario.names.index(event.vm)
            state, verb = self.state[i], event.verb
            starting = state in ("created", "configuring", "booting")
            if verb == "pause":
                if starting:
                    self._hold[i] = True
                else:
                    self._set_state(i, "paused")
            elif verb == "resume":
                if starting:
                    self._hold[i] = False
                else:
                    self._set_state(i, "running")
                    self._release(i)
            elif verb == "stop":
                self._epoch[i] += 1
                self._hold[i] = False
                self._set_state(i, "stopped")
                for job in self._parked[i]:
                    self._lose(job)
                self._parked[i] = []
            else:  # start
                self._epoch[i] += 1
                vm = self.scenario.vms[i]
                boot = vm.warm_boot if event.warm else vm.boot
                env.process(self._stages(i, [("booting", boot)]))

    def _release(self, i):
        """The VM runs again: its waiting jobs rejoin the scheduler, idle pCPUs wake."""
        parked, self._parked[i] = self._parked[i], []
        for job in parked:
            self.scheduler.add(job)
        self._wake(len(self.scheduler))

    def _lose(self, job):
        self.blocked.append(job)
        self.in_system -= 1

    def _next_job(self):
        """next_job for lifecycle mode: jobs of VMs that are not running are held or lost."""
        sched = self.scheduler
        notify = getattr(sched, "on_depart", None)
        while True:
            job = sched.next_job()
            if job is None:
                return None
            i = self.vm[job]
            state = self.state[i]
            if state == "running":
                return job
            if notify is not None:
                notify(job)  # it will not run now: give back its vCPU
            if state == "stopped":
                self._lose(job)
            else:
                self._parked[i].append(job)

    # -- running ---------------------------------------------------------------
    def run_until_departures(self, count: int) -> None:
        """Advance until ``count`` jobs (in total, since time 0) have departed."""
        if self.departures >= count:
            return
        self._done = self.env.event()
        self._target = count
        try:
            self.env.run(until=self._done)
        except RuntimeError as exc:  # simpy: no events left, i.e. a replayed trace is over
            if not self.scenario.replays:
                raise
            from ..errors import InvalidParameter

            raise InvalidParameter(
                f"the trace ends after {self.departures} departures; the run needs {count} (customers plus "
                "the warm-up removed): simulate fewer customers, or give a horizon") from exc

    def run_until(self, time: float) -> None:
        """Advance the clock to ``time``."""
        self.env.run(until=time)
        if self.lazy_arrivals and self._next_arrival <= time:
            self._ingest(time)

    def records(self) -> Records:
        """The per-job tables as numpy arrays."""
        blocked = np.zeros(len(self.arrival), dtype=bool)
        blocked[self.blocked] = True
        now = float(self.env.now)
        if self.lazy_arrivals and self._next_arrival <= now:
            self._ingest(now)
        depart, abandoned = np.asarray(self.depart, dtype=float), None
        if self.patient:
            deadline = np.asarray(self.deadline, dtype=float)
            abandoned = np.isnan(np.asarray(self.start, dtype=float)) & ~blocked & (deadline <= now)
            depart[abandoned] = deadline[abandoned]  # they left when their patience ran out
        return Records(
            arrival=np.asarray(self.arrival, dtype=float),
            vm=np.asarray(self.vm, dtype=np.int64),
            size=np.asarray(self.size, dtype=float),
            start=np.asarray(self.start, dtype=float),
            depart=depart,
            blocked=blocked,
            order=np.asarray(self.order, dtype=np.int64),
            now=now,
            occupied=np.asarray(self.occupied, dtype=float) if self.sliced else None,
            abandoned=abandoned,
        )
