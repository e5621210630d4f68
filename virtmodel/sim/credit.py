"""Proportional-share and Xen credit1 schedulers for the simulator.

* :class:`ProportionalShareScheduler` -- weighted generalized processor
  sharing between VMs, simulated exactly (fluid, no quantum).
* :class:`CreditScheduler` -- Xen's credit scheduler (credit1) as
  ``xen/common/sched/credit.c`` runs it: credit and weight per active vCPU,
  BOOST/UNDER/OVER, ticks, accounting, caps, the rate limit, per-pCPU run
  queues with tickling and stealing (Cherkasova, Gupta & Vahdat,
  "Comparison of the three CPU schedulers in Xen", SIGMETRICS Perform. Eval.
  Rev. 35(2), 2007, for the behaviour; the source for the rules).

In both the hypervisor schedules vCPUs, not jobs: a VM with v vCPUs (one per
pCPU when ``VM.vcpus`` is None) serves its jobs FCFS, one job per vCPU, and a
job ending inside a running vCPU costs nothing.  Their long-run shares are
predicted by :func:`virtmodel.analytic.allocation.long_run_shares`.
"""

from __future__ import annotations

import heapq
import math
from collections import deque

import simpy

from ..policies import Credit, ProportionalShare
from .schedulers import TIME_RESOLUTION, Scheduler, implements

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

    **What the hypervisor sees**: each VM's number of busy vCPUs (m_i,
    below) and its weight -- not jobs.  Sharing is fluid, so there is no
    time slice or run queue position to lose: a job ending inside a busy
    vCPU hands the vCPU to the VM's next job at no cost, and the VM's rate
    changes only when its number of busy vCPUs does.

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
    job enters service (gets a vCPU).  The compiled engine replays it job
    for job (:mod:`virtmodel.sim.compiled.proportional_share`).
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
            tol = max(1e-12 * max(1.0, abs(v)), TIME_RESOLUTION * now * self.rate[i])  # as PSScheduler
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


#: Xen's priorities (credit.c: CSCHED_PRI_TS_BOOST, _TS_UNDER, _TS_OVER, CSCHED_PRI_IDLE); larger is more urgent
BOOST, UNDER, OVER, IDLE = 0, -1, -2, -64


@implements(Credit)
class CreditScheduler(Scheduler):
    """Xen's credit scheduler (credit1), vCPU by vCPU, after ``xen/common/sched/credit.c``.

    **What the hypervisor sees.**  vCPUs, not jobs.  VM i has v_i vCPUs
    (``VM.vcpus``, else one per pCPU); inside the guest its jobs queue FCFS
    and each vCPU runs one job at a time.  A vCPU whose job ends takes the
    guest's next job at no cost and *keeps running*: job boundaries are
    invisible to Xen and never requeue the vCPU.  A vCPU leaves its pCPU
    only when the VM has no work left for it (it *blocks*), when its time
    slice ends, when a waking vCPU of higher priority preempts it, or when
    it is parked by its cap.  A job arriving at a VM with a blocked vCPU
    *wakes* that vCPU (the one blocked longest); otherwise it waits in the
    guest queue for a vCPU of its VM.

    **Modelled as Xen does it** (line numbers: credit.c at xen-project/xen
    c447b73, see ``docs/xen_credit1.md``):

    * *Credit and weight per vCPU* (``csched_acct``).  Every accounting
      period T (``timeslice``, Xen 30 ms; credit is kept in time units, Xen's
      CSCHED_CREDITS_PER_MSEC = 10 makes T worth 300 credits) c T of credit
      is dealt among the *active* vCPUs: the weight total is w_i summed per
      active vCPU (``__csched_unit_acct_start``), a VM's fair share is
      credit_total w_i n_i / weight_total with n_i its active vCPUs, at most
      its peak n_i T (plus its part of a negative system balance), at most
      its cap; what a VM at its peak cannot take is handed on to the VMs
      after it in the active list, and such VMs move to the list's head
      (Xen's order-dependent rule, not an exact water-filling); each active
      vCPU gets an equal part of its VM's share.
    * *Busy-vCPU rules.*  A vCPU becomes active when a tick finds it running
      (``csched_unit_acct``); at accounting a vCPU with credit above T stops
      being active (earns nothing, its weight leaves the total) and its
      credit is halved; credit below -T is raised to -T (the floor).
    * *Priorities.*  UNDER (credit >= 0) or OVER (< 0), set only at
      accounting; a vCPU that wakes while UNDER (and not parked) becomes
      BOOST (``csched_unit_wake``); the 10 ms ``tick`` (``csched_tick``,
      on the grid of multiples of ``tick``, only on busy pCPUs) burns the
      running vCPU's credit and turns BOOST into UNDER *without
      descheduling it*; running burns credit for the exact time run
      (``burn_credits``).
    * *Per-pCPU run queues* (``__runq_insert``: by priority, FIFO within
      one), re-sorted UNDER-before-OVER at each pCPU's first tick after an
      accounting (``csched_runq_sort``).
    * *Wake-up tickling* (``__runq_tickle``): a waking vCPU joins the queue
      of the pCPU it last ran on; that pCPU is tickled if it is idle, or if
      no pCPU is idle and the vCPU outranks the one running there (BOOST
      over UNDER/OVER: preemption); otherwise one idle pCPU is tickled
      (round robin, ``tickle_one_idle_cpu``), which then steals the vCPU.
    * *Stealing* (``csched_load_balance``, ``csched_runq_steal``): only
      when the next local vCPU is OVER or the pCPU would idle, at most once
      per ``balance_ratelimit`` per pCPU, taking the first vCPU of strictly
      higher priority from a busy peer's queue, peers in round-robin order
      from ``balance_bias``.  An idle pCPU does nothing until tickled.
    * *Rate limit* (``csched_schedule``): a runnable vCPU that has run for
      less than ``ratelimit`` (1 ms) since it was put on the pCPU keeps it
      until it has run that long, whatever tickled the pCPU.
    * *Caps* (``csched_acct``): a capped VM's peak is cap T; at accounting a
      vCPU whose credit is below -(its part of the cap) is *parked* (paused:
      descheduled, off its queue) and is unparked, without BOOST, at the
      first accounting that finds its credit >= 0.

    **Differences from Xen that remain, with their expected effect.**

    * Credit is a real number, not integer credits with ``residual``; the
      rounding-up divisions of ``csched_acct`` are exact divisions: a
      difference below 1 credit (0.1 ms) per vCPU and period, < 0.3 % of a
      share.
    * Ticks and accounting are instantaneous and happen together on a
      global grid (ticks first, then accounting, when they coincide); in Xen
      the master's accounting timer drifts against the per-pCPU tick
      timers, which re-arm ``tick`` after they fire.  Effect: only on which
      tick a vCPU's BOOST ends or it becomes active.
    * No affinity, soft affinity, NUMA nodes, SMT siblings or cpupools: every
      vCPU may run on every pCPU and stealing looks at one node; the
      ``_csched_cpu_pick`` migration of a running vCPU at a tick
      (``csched_unit_acct``) is not modelled (with no topology every pCPU
      is equivalent, so it would only move vCPUs to idle pCPUs, which
      tickling and stealing already do).
    * A tickle takes effect at once: no IPI, softirq or context-switch
      latency (a few microseconds in Xen), so simulated wake-up latencies
      are lower by that much.
    * No yield, no tasklets, no ``vcpu_migration_delay`` (cache-hot)
      rule, no context-switch cost, no ``CSCHED_MIN_TIMER`` granularity of
      the rate-limit timer: a vCPU within its rate limit runs exactly until
      it is reached.
    * Initial placement: vCPU u (counting all VMs' vCPUs in order) starts on
      pCPU u mod c, instead of ``csched_res_pick``'s idlest pCPU.
    * The guest is FCFS with one job per vCPU and no guest scheduler
      preemption, idle polling or IPIs; the vCPU a job wakes is the one
      blocked longest.

    Every VM's credit balance is bounded by the floor and the halving, but
    long-run use equals long-run credit only while no balance reaches
    them; :func:`virtmodel.analytic.allocation.long_run_shares` gives the
    shares that Xen's accounting deals out (weight per active vCPU) and
    says when they are exact.

    ``engine="compiled"`` (and ``"auto"``) replays this scheduler job for
    job in numba (:mod:`virtmodel.sim.compiled.credit`), including the order
    in which simpy takes the events of one instant; a change here must be
    made there too (``tests/sim/test_compiled_credit.py`` fails otherwise).
    """

    mode = "custom"
    custom_in_pieces = True
    preemptive = False  # wake-ups preempt through the scheduler's own tickles, not the hypervisor's rule
    needs_arrival_events = True  # a wake-up happens at the arrival instant: arrivals are events

    def __init__(self, policy, hypervisor):
        super().__init__(policy, hypervisor)
        sc = hypervisor.scenario
        self.c = c = sc.pcpus
        self.period = policy.timeslice
        self.tick = policy.tick
        self.ratelimit = policy.ratelimit
        self.balance_ratelimit = policy.balance_ratelimit
        n = len(sc.vms)
        self.weight = [policy.weight_of(v.name) for v in sc.vms]
        caps = [policy.cap_of(v.name) for v in sc.vms]
        self.cap = [None if k is None else k / 100.0 * self.period for k in caps]  # credit cap per period
        counts = [policy.vcpus_of(sc, v.name) for v in sc.vms]
        self.vm_of = vm_of = [i for i, v in enumerate(counts) for _ in range(v)]
        m = len(vm_of)
        # per vCPU
        self.credit = [0.0] * m
        self.pri = [UNDER] * m
        self.active = [False] * m
        self.parked = [False] * m
        self.job: list = [None] * m  # the guest job the vCPU is running (None: blocked)
        self.cpu = [u % c for u in range(m)]  # pCPU whose run queue the vCPU belongs to
        self.started = [0.0] * m  # burn_credits' start_time
        # per VM
        self.queue = [deque() for _ in range(n)]  # guest run queue: jobs waiting for a vCPU of the VM
        self.blocked = [deque(u for u in range(m) if vm_of[u] == i) for i in range(n)]
        self.active_vcpus: list[list[int]] = [[] for _ in range(n)]
        self.active_sdom: list[int] = []  # VMs with an active vCPU, in Xen's prv->active_sdom order
        self.weight_total = 0.0
        self.credit_balance = 0.0
        # per pCPU
        self.runq: list[list[int]] = [[] for _ in range(c)]
        self.curr: list = [None] * c
        self.run_since = [0.0] * c  # when curr was put on the pCPU (state_entry_time, for the rate limit)
        self.idler = [True] * c  # prv->idlers
        self.pending = [False] * c  # a reschedule was raised and not yet handled
        self.wakeup: list = [None] * c  # the event an idle pCPU waits on
        self.last_balance = [0.0] * c
        self.unsorted = [False] * c
        self.balance_bias = 0
        self.last_tickle = 0
        self.waiting = 0

    # -- the guest: jobs onto vCPUs -------------------------------------------
    def add(self, job):
        i = self.hv.vm[job]
        self.waiting += 1
        idle = self.blocked[i]
        if idle:
            u = idle.popleft()
            self.job[u] = job
            if not self.parked[u]:
                self._wake(u, boost=True)
        else:
            self.queue[i].append(job)

    def next_job(self):  # pragma: no cover - the pCPU processes call _schedule
        return None

    def __len__(self) -> int:
        return self.waiting

    # -- run queues, wake-up, tickle, steal ------------------------------------
    def _insert(self, u, k):
        """__runq_insert: behind every vCPU of the same or higher priority."""
        rq, pri = self.runq[k], self.pri
        p = pri[u]
        for idx, other in enumerate(rq):
            if p > pri[other]:
                rq.insert(idx, u)
                return
        rq.append(u)

    def _wake(self, u, boost):
        """csched_unit_wake: BOOST if UNDER (not when unparking), queue on its pCPU, tickle."""
        if boost and self.pri[u] == UNDER:
            self.pri[u] = BOOST
        self._insert(u, self.cpu[u])
        self._tickle(u)

    def _tickle(self, u):
        """__runq_tickle (no affinity): its own pCPU if idle or preemptible, else one idle pCPU."""
        k = self.cpu[u]
        cur = self.curr[k]
        idler = self.idler
        anyone_idle = True in idler
        if cur is None or (not anyone_idle and self.pri[u] > self.pri[cur]):
            self._raise(k)
        elif anyone_idle:
            c, p = self.c, self.last_tickle
            for _ in range(c):
                p = p + 1 if p + 1 < c else 0
                if idler[p]:
                    break
            self.last_tickle = p
            self._raise(p)

    def _raise(self, k):
        """Raise SCHEDULE_SOFTIRQ on pCPU k: wake it if idle, else interrupt what it runs."""
        self.idler[k] = False
        if self.pending[k]:
            return
        self.pending[k] = True
        wake = self.wakeup[k]
        if wake is not None:
            self.wakeup[k] = None
            wake.succeed()
        else:
            self.hv._pcpus[k].interrupt()

    def _steal(self, k, pri_next):
        """csched_load_balance / csched_runq_steal: first vCPU of higher priority on a busy peer's queue."""
        c, curr, idler, runqs, pri = self.c, self.curr, self.idler, self.runq, self.pri
        peer = self.balance_bias
        for _ in range(c):
            peer = peer + 1 if peer + 1 < c else 0
            if peer == k or idler[peer] or curr[peer] is None:
                continue
            rq = runqs[peer]
            if rq and pri[rq[0]] > pri_next:
                self.balance_bias = peer
                return rq.pop(0)
        return None

    def _schedule(self, k, now):
        """csched_schedule on pCPU k: (vCPU, how long at most) or None to idle."""
        self.pending[k] = False
        scurr = self.curr[k]
        if scurr is not None:
            self.credit[scurr] -= now - self.started[scurr]
            self.started[scurr] = now
            if self.job[scurr] is not None and not self.parked[scurr]:
                rest = self.ratelimit - (now - self.run_since[k])
                if rest > 1e-9 * self.ratelimit and now + rest > now:
                    return scurr, rest  # rate limit: keep running until it has run ratelimit
                self._insert(scurr, k)
        runq = self.runq[k]
        snext = runq[0] if runq else None
        p = self.pri[snext] if snext is not None else IDLE
        stolen = None
        if p <= OVER and self.c > 1 and now - self.last_balance[k] > self.balance_ratelimit:
            self.last_balance[k] = now
            stolen = self._steal(k, p)
        if stolen is not None:
            snext = stolen
            self.cpu[stolen] = k
        elif snext is not None:
            runq.pop(0)
        else:
            self.idler[k] = True
            self.curr[k] = None
            return None
        self.idler[k] = False
        if snext != scurr:
            self.run_since[k] = now
        self.started[snext] = now
        self.curr[k] = snext
        return snext, self.period

    # -- ticks and accounting -----------------------------------------------------
    def _acct_start(self, u):
        i = self.vm_of[u]
        self.active[u] = True
        if not self.active_vcpus[i]:
            self.active_sdom.insert(0, i)
        self.active_vcpus[i].append(u)
        self.weight_total += self.weight[i]

    def _acct_stop(self, u):
        i = self.vm_of[u]
        self.active[u] = False
        self.active_vcpus[i].remove(u)
        if not self.active_vcpus[i]:
            self.active_sdom.remove(i)
        self.weight_total -= self.weight[i]
        if not self.active_sdom:
            self.weight_total = 0.0  # no rounding residue

    def _ticks(self, now):
        """csched_tick on every busy pCPU: end BOOST, burn credit, activate, sort the queue."""
        pri, credit, started, active = self.pri, self.credit, self.started, self.active
        for k, u in enumerate(self.curr):
            if u is None:
                continue  # the tick of an idle pCPU is stopped
            if pri[u] == BOOST:
                pri[u] = UNDER
            credit[u] -= now - started[u]
            started[u] = now
            if not active[u]:
                self._acct_start(u)
            if self.unsorted[k]:
                self.unsorted[k] = False
                rq = self.runq[k]
                rq[:] = [v for v in rq if pri[v] >= UNDER] + [v for v in rq if pri[v] < UNDER]

    def _account(self):
        """csched_acct: deal c T of credit among the active vCPUs by weight; priorities, caps, bounds."""
        T = self.period
        weight_total = self.weight_total
        credit_total = self.c * T
        balance = self.credit_balance
        if balance < 0:
            credit_total -= balance
        if not self.active_sdom or weight_total <= 0:
            self.credit_balance = 0.0
            return
        weight_left = weight_total
        credit_balance = 0.0
        extra = False
        credit, pri, parked = self.credit, self.pri, self.parked
        for i in list(self.active_sdom):
            vcpus = self.active_vcpus[i]
            n = len(vcpus)
            w = self.weight[i]
            weight_left -= w * n
            peak = n * T
            if balance < 0:
                peak += -balance * w * n / weight_total
            cap = self.cap[i]
            if cap is not None:
                peak = min(peak, cap)
                cap_per_vcpu = cap / n
            fair = credit_total * w * n / weight_total
            if fair < peak:
                extra = True
            else:
                if weight_left > 1e-12 * weight_total:  # others get what this VM cannot take
                    credit_total += (fair - peak) * weight_total / weight_left
                if extra:
                    self.active_sdom.remove(i)
                    self.active_sdom.insert(0, i)
                fair = peak
            fair /= n
            for u in list(vcpus):
                cr = credit[u] + fair
                if cr < 0:
                    pri[u] = OVER
                    if cap is not None and cr < -cap_per_vcpu and not parked[u]:
                        self._park(u)
                    if cr < -T:
                        cr = -T
                else:
                    pri[u] = UNDER
                    if parked[u]:
                        self._unpark(u)
                    if cr > T:
                        self._acct_stop(u)
                        cr /= 2
                credit[u] = cr
                credit_balance += cr
        self.credit_balance = credit_balance
        self.unsorted = [True] * self.c

    def _park(self, u):
        self.parked[u] = True
        k = self.cpu[u]
        if self.curr[k] == u:
            self._raise(k)  # descheduled now
        elif u in self.runq[k]:
            self.runq[k].remove(u)

    def _unpark(self, u):
        self.parked[u] = False
        k = self.cpu[u]
        if self.job[u] is not None and self.curr[k] != u and u not in self.runq[k]:
            self._wake(u, boost=False)  # the PARKED flag is cleared after the wake: no BOOST

    def _timers(self):
        """Ticks on the grid of multiples of ``tick``, accounting every ``timeslice`` (after the ticks)."""
        env = self.hv.env
        tick, T = self.tick, self.period
        per = round(T / tick)
        aligned = abs(T / tick - per) <= 1e-9 * per
        n_tick = n_acct = 1
        while True:
            t_tick = n_tick * tick
            t_acct = (n_acct * per) * tick if aligned else n_acct * T
            t = t_tick if t_tick < t_acct else t_acct
            yield env.timeout(max(0.0, t - env.now))
            if t_tick <= t:
                self._ticks(env.now)
                n_tick += 1
            if t_acct <= t:
                self._account()
                n_acct += 1

    # -- the pCPU -------------------------------------------------------------------
    def pcpu(self, k):
        hv = self.hv
        env = hv.env
        if k == 0:
            env.process(self._timers())
        timeout, event = env.timeout, env.event
        start, size, remaining, occupied, depart_job = hv.start, hv.size, hv.remaining, hv.occupied, hv.depart_job
        jobs, queue, blocked, vm_of = self.job, self.queue, self.blocked, self.vm_of
        schedule = self._schedule
        isnan = math.isnan
        while True:
            picked = schedule(k, env.now)
            if picked is None:
                self.wakeup[k] = wake = event()
                yield wake
                continue
            u, length = picked
            now = env.now
            end = now + length
            q = queue[vm_of[u]]
            while True:  # the vCPU runs its VM's jobs back to back: job ends are invisible to Xen
                job = jobs[u]
                if isnan(start[job]):
                    start[job] = now
                    self.waiting -= 1
                work = remaining[job]
                left = end - now
                limited = left < work
                run = left if limited else work
                try:
                    yield timeout(run)
                    ran = run
                    stop = limited
                except simpy.Interrupt:
                    ran = env.now - now
                    if ran > run:
                        ran = run
                    stop = True
                now = env.now
                occupied[job] += ran
                rest = work - ran
                if rest <= 1e-9 * size[job]:
                    remaining[job] = 0.0
                    depart_job(job, now)
                    if q:
                        jobs[u] = q.popleft()
                    else:
                        jobs[u] = None  # the VM has no work left: the vCPU blocks
                        blocked[vm_of[u]].append(u)
                        break
                else:
                    remaining[job] = rest
                if stop:
                    break
