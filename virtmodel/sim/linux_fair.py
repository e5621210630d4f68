"""KVM vCPU threads under Linux's fair scheduler (EEVDF) with cgroup v2 ``cpu.weight`` and ``cpu.max``.

:class:`LinuxFairScheduler` simulates :class:`virtmodel.policies.LinuxFair`
event by event (one central state machine, no process per pCPU, like
:class:`~virtmodel.sim.credit.ProportionalShareScheduler`): the events are
arrivals, job completions, the end of a thread's EEVDF request, a cgroup
running out of quota, and the ``cpu.max`` period boundaries.

What the host sees
------------------
The host scheduler sees *threads*, not jobs.  VM i (a cgroup) has v_i vCPU
threads (``VM.vcpus``, else the pCPUs).  A thread is runnable while it holds
one of the VM's jobs; when its job ends it takes the VM's next waiting job
at once, with no scheduling decision (job boundaries inside a running vCPU
are invisible and free), and it sleeps only when the VM has no work left.

Modelled (Linux >= 6.6, ``kernel/sched/fair.c``)
------------------------------------------------
* **EEVDF** (Stoica & Abdel-Wahab 1995; ``pick_eevdf``): each runnable
  thread has a virtual runtime v that grows by ``dt * 1024 / w`` while it
  runs (``update_curr``, ``calc_delta_fair``) and a virtual deadline
  d = v + r * 1024 / w (``update_deadline``, r = the base slice).  The
  virtual time V is the load-weighted mean of the runnable threads'
  v (``avg_vruntime``); a thread is *eligible* when v <= V (lag
  w (V - v) >= 0, ``entity_eligible``).  A free pCPU runs the eligible
  waiting thread with the earliest deadline.  A running thread keeps its
  pCPU until it has used its request (v reaches d: a new deadline and a
  new pick, ``RUN_TO_PARITY``), it sleeps, its cgroup is throttled, or a
  waking thread preempts it: a wake-up preempts a running thread that is
  no longer eligible when the woken thread is the EEVDF pick
  (``check_preempt_wakeup_fair`` with ``pick_eevdf``'s eligibility test
  before the slice protection).
* **Lag across sleeps** (``update_entity_lag``, ``place_entity`` with
  ``PLACE_LAG``): a sleeping thread keeps its lag V - v, clamped to
  +-max(2 r, tick) x 1024 / w, and is placed on wake-up at
  v = V - lag (W + w) / W so that its lag survives its own weight's pull
  on V; its deadline is v + r x 1024 / w.
* **cgroup weights** (``cpu.weight`` -> kernel weight x 1024 / 100,
  ``sched_weight_from_cgroup``): a VM's weight is split equally among its
  runnable threads (what ``calc_group_shares`` does when each thread sits
  on its own CPU); a change of split reweights the others keeping their
  lag in service units (``reweight_eevdf``: V - v and d - V scale by
  w_old / w_new).
* **Bandwidth control** (``cpu.max``: ``__refill_cfs_bandwidth_runtime``,
  ``account_cfs_rq_runtime``, ``throttle_cfs_rq``, ``sched_cfs_period_timer``):
  the cgroup's runtime pool holds ``quota`` at the start of each period
  (periods k x period from time 0; unused runtime carried over up to
  ``burst``: runtime = min(runtime + quota, quota + burst)); every running
  thread of the VM draws from it; when it is empty every thread of the VM
  is dequeued (throttled, lag kept as for a sleep) until the next refill,
  even if pCPUs idle.  A thread waking in a throttled cgroup stays
  throttled (``check_enqueue_throttle``).

Simplified, with the expected effect
------------------------------------
* One global run queue for all pCPUs (ideal load balancing) instead of
  per-CPU run queues, ``select_task_rq`` and periodic load balancing: no
  pCPU idles while a thread is runnable and unthrottled; real hosts lose a
  little throughput and latency to imbalance.  When every waiting thread is
  ineligible (possible only with several pCPUs, when the eligible ones run
  elsewhere), the one with the smallest v runs (a per-CPU kernel run
  queue always has an eligible thread).
* The cgroup's hierarchy is flattened: threads compete directly with
  weight w_i / (runnable threads of VM i) instead of through a per-CPU
  group entity; the long-run shares are the same.
* Runtime is drawn from one global pool, exactly: the kernel hands it out
  to per-CPU run queues in 5 ms slices (``sysctl_sched_cfs_bandwidth_slice``)
  and notices an empty pool at the next ``update_curr`` (a tick, up to
  4 ms late), so real throttling starts a little later and per-CPU
  leftovers (returned after 5.4's slack timer) are ignored: quotas are
  enforced slightly more tightly than in Linux.
* Requests end exactly at the deadline (as with ``HRTICK``), not at the
  next tick; no context-switch, migration or cache cost; the period timers
  of all VMs are in phase (Linux gives each a random offset).

Missing
-------
``DELAY_DEQUEUE``/``DELAY_ZERO`` (6.12: a sleeping thread with negative lag
stays queued until eligible), ``PREEMPT_SHORT`` and custom slices
(``sched_attr``), ``PLACE_DEADLINE_INITIAL`` (threads exist from time 0),
SCHED_IDLE/SCHED_BATCH, real-time classes, the ``fair_server``, CPU
affinity/pinning, SMT, the guest's own scheduler (jobs in a VM are FCFS),
halt-polling and the host threads of I/O (QEMU, vhost).

Compiled
--------
:mod:`virtmodel.sim.compiled.linux_fair` replays this scheduler job for job
(the same decisions, float operations and order of simultaneous events;
``tests/sim/test_compiled_linux_fair.py``), so ``engine="auto"`` runs it
compiled.  A change here needs the same change there.
"""

from __future__ import annotations

import math
from collections import deque

from ..policies import LinuxFair
from .schedulers import Scheduler, implements

__all__ = ["LinuxFairScheduler"]

NICE_0_LOAD = 1024.0
SLEEPING, QUEUED, RUNNING, THROTTLED = 0, 1, 2, 3


@implements(LinuxFair)
class LinuxFairScheduler(Scheduler):
    """EEVDF over the VMs' vCPU threads with cgroup weights and ``cpu.max`` throttling.

    See the module docstring for what is modelled, simplified and missing.
    Thread t of VM i is index ``first[i] + k``; per-thread state lives in
    flat lists.  ``start`` is when a job first runs; ``occupied`` is its
    pCPU time (its size: no switch cost).
    """

    mode = "shared"
    preemptive = False

    def __init__(self, policy, hypervisor):
        super().__init__(policy, hypervisor)
        sc = hypervisor.scenario
        self.c = c = sc.pcpus
        names = sc.names
        self.slice = policy.slice_for(c)
        self.tick = policy.tick
        self.group_weight = [policy.weight_of(n) * NICE_0_LOAD / 100.0 for n in names]
        self.quota = [policy.quota_of(n) for n in names]
        self.period = [policy.period_of(n) for n in names]
        self.burst = [policy.burst_of(n) for n in names]
        self.runtime = [q if q is not None else math.inf for q in self.quota]
        self.throttled = [False] * len(names)
        self.throttle_count = [0] * len(names)
        self.throttled_time = [0.0] * len(names)
        self._throttled_since = [0.0] * len(names)
        self.vm_of: list[int] = []
        self.threads: list[list[int]] = []
        for i, v in enumerate(sc.vms):
            n = v.vcpus or c
            self.threads.append(list(range(len(self.vm_of), len(self.vm_of) + n)))
            self.vm_of += [i] * n
        n_threads = len(self.vm_of)
        self.state = [SLEEPING] * n_threads
        self.job = [-1] * n_threads          # the job a thread holds
        self.weight = [0.0] * n_threads
        self.vruntime = [0.0] * n_threads
        self.deadline = [0.0] * n_threads
        self.vlag = [0.0] * n_threads
        self.cpu = [-1] * n_threads          # pCPU of a running thread
        self.waiting = [deque() for _ in names]  # jobs of each VM not held by a thread
        self.running: list[int] = [-1] * c  # thread on each pCPU
        self.remaining: dict[int, float] = {}
        self.last = 0.0
        self.version = 0
        self.count = 0
        self._next_refill = min((p for p, q in zip(self.period, self.quota, strict=True) if q is not None),
                                default=math.inf)
        self._refill_at = [p if q is not None else math.inf
                           for p, q in zip(self.period, self.quota, strict=True)]

    # -- EEVDF bookkeeping -------------------------------------------------------
    def _active(self):
        """Threads on the run queue (queued or running)."""
        state = self.state
        return [t for t in range(len(state)) if state[t] == QUEUED or state[t] == RUNNING]

    def _avg_vruntime(self, exclude=-1):
        """V: the load-weighted mean virtual runtime of the runnable threads (``avg_vruntime``)."""
        total = load = 0.0
        for t in self._active():
            if t != exclude:
                w = self.weight[t]
                total += w * self.vruntime[t]
                load += w
        return (total / load, load) if load > 0 else (None, 0.0)

    def _vslice(self, t):
        return self.slice * NICE_0_LOAD / self.weight[t]

    def _lag_limit(self, t):
        return max(2.0 * self.slice, self.tick) * NICE_0_LOAD / self.weight[t]

    def _dequeue(self, t, new_state):
        """Take thread t off the run queue (sleep or throttle), keeping its clamped lag."""
        avg, _ = self._avg_vruntime()
        limit = self._lag_limit(t)
        self.vlag[t] = min(max(avg - self.vruntime[t], -limit), limit)
        if self.state[t] == RUNNING:
            self.running[self.cpu[t]] = -1
            self.cpu[t] = -1
        self.state[t] = new_state

    def _place(self, t):
        """``place_entity``: put thread t back at v = V - lag (W + w) / W, deadline v + r/w."""
        avg, load = self._avg_vruntime(exclude=t)
        if avg is None:
            avg = self.vruntime[t] + self.vlag[t]  # alone: its own clock (only differences matter)
            lag = 0.0
        else:
            lag = self.vlag[t] * (load + self.weight[t]) / load
        self.vruntime[t] = avg - lag
        self.deadline[t] = self.vruntime[t] + self._vslice(t)
        self.state[t] = QUEUED

    def _reweight(self, i):
        """Split VM i's weight equally among its runnable threads (``reweight_eevdf`` keeps lag)."""
        threads = [t for t in self.threads[i] if self.state[t] in (QUEUED, RUNNING)]
        if not threads:
            return
        w_new = self.group_weight[i] / len(threads)
        if all(self.weight[t] == w_new for t in threads):
            return
        avg, _ = self._avg_vruntime()
        for t in threads:
            w_old = self.weight[t]
            if w_old > 0 and avg is not None:
                ratio = w_old / w_new
                self.vruntime[t] = avg - (avg - self.vruntime[t]) * ratio
                self.deadline[t] = avg + (self.deadline[t] - avg) * ratio
            self.weight[t] = w_new

    def _pick(self):
        """``pick_eevdf`` over the waiting threads: eligible (v <= V) with the earliest deadline."""
        queued = [t for t in range(len(self.state)) if self.state[t] == QUEUED]
        if not queued:
            return -1
        avg, _ = self._avg_vruntime()
        tol = 1e-12 * max(1.0, abs(avg))
        eligible = [t for t in queued if self.vruntime[t] <= avg + tol]
        if eligible:
            return min(eligible, key=lambda t: (self.deadline[t], t))
        return min(queued, key=lambda t: (self.vruntime[t], t))

    # -- time ----------------------------------------------------------------------
    def _advance(self, now):
        dt = now - self.last
        if dt > 0:
            for t in self.running:
                if t < 0:
                    continue
                self.vruntime[t] += dt * NICE_0_LOAD / self.weight[t]
                job = self.job[t]
                self.remaining[job] -= dt
                i = self.vm_of[t]
                if self.quota[i] is not None:
                    self.runtime[i] -= dt
        self.last = now

    def _arm(self):
        self.version += 1
        best = math.inf
        per_vm = {}
        contended = QUEUED in self.state  # alone, a thread's request ends without a re-pick (nr_queued == 1)
        for t in self.running:
            if t < 0:
                continue
            best = min(best, self.remaining[self.job[t]])
            if contended:
                best = min(best, (self.deadline[t] - self.vruntime[t]) * self.weight[t] / NICE_0_LOAD)
            i = self.vm_of[t]
            if self.quota[i] is not None:
                per_vm[i] = per_vm.get(i, 0) + 1
        for i, n in per_vm.items():
            best = min(best, self.runtime[i] / n, self._refill_at[i] - self.last)
        for i, throttled in enumerate(self.throttled):
            # a period boundary matters only to a cgroup that is throttled or drawing runtime; an idle
            # one is refilled lazily (all the boundaries it slept through at once) when it wakes
            if throttled:
                best = min(best, self._refill_at[i] - self.last)
        if best == math.inf:
            return
        timer = self.hv.env.timeout(max(0.0, best))
        version = self.version
        timer.callbacks.append(lambda _event: self._fire(version))

    # -- transitions -----------------------------------------------------------------
    def _wake(self, t, job):
        """Thread t takes ``job``; it joins the run queue unless its cgroup is throttled."""
        i = self.vm_of[t]
        self.job[t] = job
        if self.weight[t] == 0.0:
            # a thread has a weight from its creation (Linux sets se->load at fork), also one that
            # first wakes into a throttled cgroup and is placed only at the refill
            self.weight[t] = self.group_weight[i]
        if self.quota[i] is not None and not self.throttled[i] and self.runtime[i] <= 0.0:
            self._throttle(i, self.hv.env.now)  # check_enqueue_throttle: no runtime left this period
        if self.throttled[i]:
            self.state[t] = THROTTLED
            return
        self._place(t)
        self._reweight(i)
        self._maybe_preempt(t)

    def _maybe_preempt(self, t):
        """A wake-up preempts a running thread that is no longer eligible if t is the EEVDF pick."""
        if -1 in self.running or self._pick() != t:
            return
        avg, _ = self._avg_vruntime()
        tol = 1e-12 * max(1.0, abs(avg))
        victims = [r for r in self.running if r >= 0 and self.vruntime[r] > avg + tol]
        if victims:
            r = max(victims, key=lambda r: (self.deadline[r], r))
            self.running[self.cpu[r]] = -1
            self.cpu[r] = -1
            self.state[r] = QUEUED

    def _throttle(self, i, now):
        self.throttled[i] = True
        self.throttle_count[i] += 1
        self._throttled_since[i] = now
        for t in self.threads[i]:
            if self.state[t] in (QUEUED, RUNNING):
                self._dequeue(t, THROTTLED)

    def _refill(self, now):
        for i, at in enumerate(self._refill_at):
            if at > now + 1e-12 * max(1.0, now):  # not due yet
                continue
            q = self.quota[i]
            periods = math.floor((now - at) / self.period[i] + 1e-9) + 1  # boundaries passed
            self.runtime[i] = min(self.runtime[i] + q * periods, q + self.burst[i])
            self._refill_at[i] = at + periods * self.period[i]
            if self.throttled[i] and self.runtime[i] > 0:
                self.throttled[i] = False
                self.throttled_time[i] += now - self._throttled_since[i]
                for t in self.threads[i]:
                    if self.state[t] == THROTTLED:
                        self._place(t)
                self._reweight(i)
        self._next_refill = min(self._refill_at)

    def _fire(self, version):
        if version != self.version:
            return  # stale: another event rescheduled the next one
        hv = self.hv
        now = hv.env.now
        self._advance(now)
        tol = 1e-12 * max(1.0, now)  # below the clock's resolution: due now
        if self._next_refill <= now + tol:
            self._refill(now)
        for k in range(self.c):
            t = self.running[k]
            if t < 0:
                continue
            i = self.vm_of[t]
            job = self.job[t]
            # job boundaries inside a running vCPU cost nothing: take the next job and keep running
            while job >= 0 and self.remaining[job] <= max(1e-9 * hv.size[job], tol):
                del self.remaining[job]
                hv.occupied[job] = hv.size[job]
                hv.remaining[job] = 0.0
                self.count -= 1
                hv.depart_job(job, now)
                job = self._take(i, now)
                self.job[t] = job
            if job < 0:
                self._dequeue(t, SLEEPING)
                self._reweight(i)
                continue
            if (self.deadline[t] - self.vruntime[t]) * self.weight[t] / NICE_0_LOAD <= tol:
                self.deadline[t] = self.vruntime[t] + self._vslice(t)  # request used up (update_deadline)
                if QUEUED in self.state:  # resched: a new pick (skipped when nothing else is queued)
                    self.running[k] = -1
                    self.cpu[t] = -1
                    self.state[t] = QUEUED
        for i, q in enumerate(self.quota):
            if q is not None and not self.throttled[i] and self.runtime[i] <= tol * len(self.threads[i]):
                if any(self.state[t] in (QUEUED, RUNNING) for t in self.threads[i]):
                    self.runtime[i] = 0.0
                    self._throttle(i, now)
        self._dispatch(now)
        self._arm()

    def _take(self, i, now):
        """The VM's next waiting job for a thread that finished one (or -1)."""
        if not self.waiting[i]:
            return -1
        job = self.waiting[i].popleft()
        if self.hv.start[job] != self.hv.start[job]:  # NaN: it runs from now on
            self.hv.start[job] = now
        return job

    def _dispatch(self, now):
        """Fill free pCPUs with EEVDF picks."""
        hv = self.hv
        for k in range(self.c):
            if self.running[k] >= 0:
                continue
            t = self._pick()
            if t < 0:
                break
            self.running[k] = t
            self.cpu[t] = k
            self.state[t] = RUNNING
            job = self.job[t]
            if hv.start[job] != hv.start[job]:  # NaN: first time on a pCPU
                hv.start[job] = now

    # -- hooks -------------------------------------------------------------------------
    def add(self, job):
        hv = self.hv
        i = hv.vm[job]
        self.count += 1
        self.remaining[job] = hv.size[job]
        idle = [t for t in self.threads[i] if self.state[t] == SLEEPING]
        if not idle:  # every vCPU of the VM is busy: the job waits in the guest, the host sees nothing
            self.waiting[i].append(job)
            return
        now = hv.env.now
        self._advance(now)
        if self._next_refill <= now:
            self._refill(now)
        self._wake(idle[0], job)
        self._dispatch(now)
        self._arm()

    def next_job(self):  # pragma: no cover - no pCPU loop in shared mode
        return None

    def __len__(self) -> int:
        return self.count
