"""Proportional-share and Xen-style credit schedulers for the simulator.

* :class:`ProportionalShareScheduler` — weighted generalized processor
  sharing between VMs, simulated exactly (fluid, no quantum).
* :class:`CreditScheduler` — a credit scheduler after Xen's
  (``sched_credit.c``; Cherkasova, Gupta & Vahdat, "Comparison of the three
  CPU schedulers in Xen", SIGMETRICS Perform. Eval. Rev. 35(2), 2007):
  weights, caps, BOOST/UNDER/OVER priorities, time slices and accounting.

Both serve the jobs of a VM FCFS, one job per vCPU: a VM with v vCPUs (the
pCPUs when ``VM.vcpus`` is None) runs at most v of its jobs at once, the
oldest ones.  Their long-run shares are predicted by
:func:`virtmodel.analytic.allocation.long_run_shares`.
"""

from __future__ import annotations

import heapq
import math
from collections import deque

import simpy

from ..policies import Credit, ProportionalShare
from .schedulers import Scheduler, implements

__all__ = ["ProportionalShareScheduler", "CreditScheduler", "share"]


def share(capacity, weights, limits):
    """Weighted max-min fair split of ``capacity`` with ceilings ``limits`` (pure Python, small n).

    Progressive filling (Bertsekas & Gallager 1992, §6.5.2): give every
    entity not yet satisfied capacity in proportion to its weight; those
    whose ceiling is below their portion get the ceiling, and the rest is
    shared again.  The same allocation as
    :func:`virtmodel.analytic.allocation.water_fill` with ``demands =
    limits``, without its checks and numpy overhead (it runs at every event).

    >>> share(1.0, [1.0, 3.0], [1.0, 1.0])
    [0.25, 0.75]
    >>> [round(x, 12) for x in share(2.0, [1.0, 1.0, 2.0], [0.1, 1.0, 1.0])]
    [0.1, 0.9, 1.0]
    """
    n = len(weights)
    x = [0.0] * n
    free = [i for i in range(n) if limits[i] > 0]
    left = capacity
    while free and left > 0:
        level = left / math.fsum(weights[i] for i in free)
        full = [i for i in free if limits[i] <= level * weights[i]]
        if not full:
            for i in free:
                x[i] = level * weights[i]
            break
        for i in full:
            x[i] = limits[i]
            left -= limits[i]
        free = [i for i in free if limits[i] > level * weights[i]]
    return x


@implements(ProportionalShare)
class ProportionalShareScheduler(Scheduler):
    """Weighted GPS between VMs, FCFS within a VM, simulated exactly.

    VM i with n_i jobs serves its oldest m_i = min(n_i, v_i) jobs, each at
    rate r_i / m_i, where the rates r = (r_i) water-fill the pCPUs by weight
    among the VMs with work, each VM at most m_i pCPUs
    (:func:`share`); so a job never runs faster than one pCPU.  Each VM
    keeps a virtual clock V_i that advances at its per-job rate r_i / m_i; a
    job entering service at V_i with size x finishes when V_i reaches
    V_i + x.  Events happen only at arrivals and at the next completion (the
    earliest (finish - V_i) m_i / r_i over the VMs); a timer made stale by
    an arrival is ignored when it fires, as in
    :class:`~virtmodel.sim.schedulers.PSScheduler`.  ``start`` is when a
    job enters service (gets a vCPU).
    """

    mode = "shared"
    preemptive = False

    def __init__(self, policy, hypervisor):
        super().__init__(policy, hypervisor)
        sc = hypervisor.scenario
        self.c = c = sc.pcpus
        self.weights = [policy.weight_of(v.name) for v in sc.vms]
        self.vcpus = [min(v.vcpus or c, c) for v in sc.vms]
        n = len(sc.vms)
        self.waiting = [deque() for _ in range(n)]
        self.serving = [[] for _ in range(n)]
        self.clock = [0.0] * n
        self.rate = [0.0] * n  # per-job rate r_i / m_i
        self.last = 0.0
        self.version = 0
        self.count = 0

    def _advance(self, now):
        dt = now - self.last
        if dt > 0:
            clock, rate = self.clock, self.rate
            for i, q in enumerate(rate):
                if q:
                    clock[i] += dt * q
        self.last = now

    def _rates(self):
        serving = self.serving
        active = [i for i, s in enumerate(serving) if s]
        rate = [0.0] * len(serving)
        if active:
            alloc = share(self.c, [self.weights[i] for i in active], [len(serving[i]) for i in active])
            for i, r in zip(active, alloc, strict=True):
                rate[i] = r / len(serving[i])
        self.rate = rate

    def _arm(self):
        self.version += 1
        self._rates()
        best = math.inf
        for i, s in enumerate(self.serving):
            if s:
                d = (s[0][0] - self.clock[i]) / self.rate[i]
                if d < best:
                    best = d
        if best == math.inf:
            return
        timer = self.hv.env.timeout(max(0.0, best))
        version = self.version
        timer.callbacks.append(lambda _event: self._fire(version))

    def _enter(self, i, now):
        """Move VM i's oldest waiting jobs into service while it has a free vCPU."""
        hv, waiting, serving = self.hv, self.waiting[i], self.serving[i]
        while waiting and len(serving) < self.vcpus[i]:
            job = waiting.popleft()
            hv.start[job] = now
            heapq.heappush(serving, (self.clock[i] + hv.size[job], job))

    def _fire(self, version):
        if version != self.version:
            return  # stale: an arrival rescheduled the next completion
        hv = self.hv
        now = hv.env.now
        self._advance(now)
        for i, serving in enumerate(self.serving):
            if not serving:
                continue
            v = self.clock[i]
            tol = 1e-12 * max(1.0, abs(v))
            done = False
            while serving and serving[0][0] <= v + tol:
                _, job = heapq.heappop(serving)
                hv.occupied[job] = hv.size[job]
                hv.remaining[job] = 0.0
                self.count -= 1
                hv.depart_job(job, now)
                done = True
            if done:
                self._enter(i, now)
        self._arm()

    def add(self, job):
        hv = self.hv
        now = hv.env.now
        self._advance(now)
        i = hv.vm[job]
        self.waiting[i].append(job)
        self.count += 1
        self._enter(i, now)
        self._arm()

    def next_job(self):  # pragma: no cover - no pCPU loop in shared mode
        return None

    def __len__(self) -> int:
        return self.count


BOOST, UNDER, OVER, PARKED = 0, 1, 2, 3


@implements(Credit)
class CreditScheduler(Scheduler):
    """A Xen-style credit scheduler (one global run queue, exact credit burn).

    Model, per VM i with weight w_i, vCPUs v_i (``VM.vcpus``, else the
    pCPUs) and cap k_i (percent of a pCPU, optional):

    * **Jobs and vCPUs.**  A VM's jobs queue FCFS; each of its v_i vCPUs
      holds one job at a time.  A vCPU with a job is *runnable* (or
      running); a VM's vCPU that gets a job while idle *wakes up*.
    * **Credits.**  Every accounting period T (= ``timeslice``; Xen: 3
      ticks = 30 ms) the scheduler hands out c T of credit (c pCPUs) by
      weight: the water-filling of :func:`share` with ceilings
      min(L_i T, V_i T - max(b_i, 0)), where L_i = min(v_i, c, k_i / 100),
      V_i = min(v_i, c) and b_i is the balance (less credit promised to
      running pieces); so a VM earns at most L_i T a period, a balance never
      exceeds one period's worth of running all its vCPUs, V_i T, and credit
      a VM cannot take goes to the others.  Running burns credit at the
      exact time run (running pieces are debited up to the accounting
      instant).
    * **Priorities.**  BOOST for a vCPU that wakes up with credit left
      (b_i > 0), UNDER while b_i > 0, OVER when b_i <= 0.  A waking BOOST
      vCPU preempts a running UNDER or OVER vCPU (an OVER one first) when no
      pCPU is idle; BOOST lasts for at most one ``tick`` of running.
    * **Dispatch.**  A free pCPU runs the first runnable vCPU of the most
      urgent non-empty priority (FIFO, round robin within a priority) for
      min(timeslice, its job's remaining work); a vCPU that finishes a job
      takes the VM's next job and goes to the tail of its priority.
    * **Caps.**  A capped VM earns at most k_i / 100 x T credit per period
      (its ceiling L_i) and may not run OVER: when its credit is spent
      (running pieces are cut to fit) it is *parked*, not runnable, until the
      next accounting, even if a pCPU idles: non-work-conserving.

    Differences from Xen's credit scheduler (documented on purpose):
    one global run queue instead of per-pCPU queues with work stealing (ideal
    load balancing); credits burnt for the exact time run instead of
    sampled at 10 ms ticks (as Xen >= 4.2's ``burn_credits``); the accounting
    period equals ``timeslice``; credits are given to every VM, idle or not,
    and a VM's excess over one period's worth is handed to the others in the
    same accounting (Xen hands out credit among *active* VMs, halves the
    credit of a VM above one period's worth and stops it earning, and
    bounds credit below); a capped VM is parked the moment its credit is
    spent instead of when found negative at a tick or accounting; a vCPU finishing a job goes to the tail of its queue
    instead of finishing its slice; no rate limit, no context-switch cost,
    no vCPU affinity.  These keep every VM's credit balance bounded, so in
    the long run each VM uses exactly the credit it is given: the
    weighted water-filling predicted by
    :func:`virtmodel.analytic.allocation.long_run_shares`.
    """

    mode = "custom"
    custom_in_pieces = True
    preemptive = True  # arrivals are events: a waking vCPU may preempt

    def __init__(self, policy, hypervisor):
        super().__init__(policy, hypervisor)
        sc = hypervisor.scenario
        self.c = c = sc.pcpus
        n = len(sc.vms)
        self.timeslice = policy.timeslice
        self.tick = policy.tick
        self.weights = [policy.weight_of(v.name) for v in sc.vms]
        self.vcpus = [v.vcpus or c for v in sc.vms]
        caps = [policy.cap_of(v.name) for v in sc.vms]
        self.ceiling = [min(self.vcpus[i], c, (caps[i] / 100.0) if caps[i] is not None else math.inf)
                        for i in range(n)]
        self.capped = [caps[i] is not None for i in range(n)]
        self.clip = [min(v, c) for v in self.vcpus]
        self.balance = [0.0] * n
        self.reserved = [0.0] * n  # credit promised to running pieces of capped VMs
        self.parked = [False] * n
        self.parked_jobs = [[] for _ in range(n)]
        self.queue = [deque() for _ in range(n)]  # jobs waiting for a vCPU
        self.oncpu = [0] * n  # vCPUs holding a job
        self.runq = (deque(), deque(), deque())  # BOOST, UNDER, OVER
        self.boosted: set[int] = set()
        self.priority_of_running: dict[int, int] = {}
        self.pieces: list = [None] * c
        self._woke = -1
        self.waiting = 0

    # -- hooks used by the hypervisor's eager arrivals -----------------------
    def add(self, job):
        i = self.hv.vm[job]
        self.waiting += 1
        if self.oncpu[i] < self.vcpus[i]:
            self.oncpu[i] += 1
            if self.balance[i] > 0:  # wakes up with credit: BOOST
                self.boosted.add(job)
                self.runq[BOOST].append(job)
                self._woke = job
            else:
                self.runq[OVER].append(job)
        else:
            self.queue[i].append(job)

    def key(self, job):
        """Urgency of an arriving job: BOOST when its arrival woke a vCPU, else it never preempts."""
        return BOOST if job == self._woke and not self.parked[self.hv.vm[job]] else PARKED

    def running_key(self, job, done):
        return self.priority_of_running.get(job, OVER)

    def next_job(self):
        """The vCPU (job) to run next and its priority, or None; parks jobs of parked VMs."""
        vm, parked, balance, capped = self.hv.vm, self.parked, self.balance, self.capped
        runq = self.runq
        for p in (BOOST, UNDER, OVER):
            q = runq[p]
            while q:
                job = q.popleft()
                i = vm[job]
                if parked[i] or (capped[i] and balance[i] - self.reserved[i] <= 1e-12):
                    parked[i] = True  # out of credit: a capped VM may not run OVER
                    self.parked_jobs[i].append(job)
                    continue
                if p == UNDER and balance[i] <= 0:
                    runq[OVER].append(job)
                    continue
                return job, p
        return None

    def __len__(self) -> int:
        return self.waiting

    # -- accounting ------------------------------------------------------------
    def _account(self):
        T, c = self.timeslice, self.c
        balance, ceiling, reserved = self.balance, self.ceiling, self.reserved
        now = self.hv.env.now
        for piece in self.pieces:  # debit the running pieces up to now
            if piece is not None:
                i, began, debited = piece
                d = now - began - debited
                if d > 0:
                    balance[i] -= d
                    if self.capped[i]:
                        reserved[i] -= d
                    piece[2] += d
        # room: at most L_i T a period, and a balance (less credit promised to running pieces)
        # never above one period's worth of running all the VM's vCPUs
        clip = self.clip
        room = [max(0.0, min(ceiling[i] * T, clip[i] * T - max(balance[i] - reserved[i], 0.0)))
                for i in range(len(balance))]
        grant = share(c * T, self.weights, room)
        for i, g in enumerate(grant):
            balance[i] += g
        runq = self.runq
        for i, jobs in enumerate(self.parked_jobs):
            self.parked[i] = False
            if jobs:
                runq[UNDER].extend(jobs)
                jobs.clear()
        # priorities changed: re-sort the UNDER and OVER queues (Xen's runq_sort), keeping the order
        vm = self.hv.vm
        merged = list(runq[UNDER]) + list(runq[OVER])
        runq[UNDER].clear()
        runq[OVER].clear()
        for job in merged:
            runq[UNDER if balance[vm[job]] > 0 else OVER].append(job)
        idle = self.hv._idle
        while idle:
            idle.pop().succeed()

    def _accounting(self):
        env, T = self.hv.env, self.timeslice
        while True:
            self._account()
            yield env.timeout(T)

    # -- the pCPU ----------------------------------------------------------------
    def pcpu(self, k):
        hv = self.hv
        env = hv.env
        if k == 0:
            env.process(self._accounting())
        timeout = env.timeout
        start, size, remaining, occupied, vm = hv.start, hv.size, hv.remaining, hv.occupied, hv.vm
        running, began = hv.running, hv._slice_began
        runq, boosted, queue = self.runq, self.boosted, self.queue
        balance, reserved, capped = self.balance, self.reserved, self.capped
        prio_running = self.priority_of_running
        pieces = self.pieces
        timeslice, tick = self.timeslice, self.tick
        nan_check = math.isnan
        while True:
            if hv.lazy_arrivals:
                hv.admit_until(env.now)
            picked = self.next_job()
            if picked is None:
                yield hv.go_idle()
                continue
            job, p = picked
            i = vm[job]
            now = env.now
            if nan_check(start[job]):
                start[job] = now
                self.waiting -= 1
            work = remaining[job]
            run = work if work < timeslice else timeslice
            if p == BOOST and run > tick:
                run = tick
            if capped[i]:
                avail = balance[i] - reserved[i]
                if run > avail:
                    run = avail if avail > 0 else 0.0
                reserved[i] += run
            running[k], began[k] = job, now
            prio_running[job] = p
            pieces[k] = piece = [i, now, 0.0]  # VM, start, part already debited at an accounting
            try:
                yield timeout(run)
                running[k] = None
                ran = run  # nominal: the clock's rounding must not leave a residue of work
            except simpy.Interrupt:
                ran = env.now - now
                if ran > run:
                    ran = run
            end = env.now
            pieces[k] = None
            del prio_running[job]
            occupied[job] += ran
            debited = piece[2]
            balance[i] -= ran - debited
            if capped[i]:
                reserved[i] -= run - debited
                if balance[i] - reserved[i] <= 1e-12:
                    self.parked[i] = True
            boosted.discard(job)
            left = work - ran
            if ran == work or left <= 1e-9 * size[job]:
                remaining[job] = 0.0
                hv.depart_job(job, end)
                q = queue[i]
                if q:
                    nxt = q.popleft()
                    runq[UNDER if balance[i] > 0 else OVER].append(nxt)
                else:
                    self.oncpu[i] -= 1
            else:
                remaining[job] = left
                runq[UNDER if balance[i] > 0 else OVER].append(job)
