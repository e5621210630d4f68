"""Scheduler implementations: the policies of :mod:`virtmodel.policies` in the simulator.

Every scheduler has the same small set of hooks, called by the pCPU loops of
:class:`virtmodel.sim.vmm.Hypervisor`:

``add(job)``
    a job has arrived (job ids are integers indexing the hypervisor's tables;
    jobs are admitted in arrival order, ties between VMs in VM order);
``next_job()``
    the job to run next, or ``None`` when nothing waits;
``slice_for(job)``
    how much work to run before handing it back (its remaining work unless
    the policy slices time);
``put_back(job)``
    a job left the pCPU unfinished (end of quantum, or preempted);
``key(job)`` / ``running_key(job, done)``
    preemptive policies: urgency of a waiting job and of a running job that
    has done ``done`` work in its current slice (smaller is more urgent); an
    arrival preempts the least urgent running job when its key is smaller;
``__len__()``
    number of jobs waiting.

Class attributes: ``mode`` ("whole": a job runs to completion; "sliced": in
pieces; "shared": the scheduler serves jobs itself, processor sharing;
"custom": the scheduler runs its own process per pCPU, ``pcpu(k)``),
``preemptive`` (arrivals may interrupt a running job, so they need events of
their own), ``switch_cost`` (pCPU time lost at every dispatch).

Adding a policy means one class here registered with :func:`implements`.
"""

from __future__ import annotations

import heapq
import math
from collections import deque

from .._registry import registrar
from ..errors import NoClosedForm
from ..policies import (
    FCFS,
    PSJF,
    SJF,
    SRPT,
    DelayDependentPriority,
    Priority,
    ProcessorSharing,
    RoundRobin,
)

__all__ = ["Scheduler", "make_scheduler", "implements"]

#: Relative time resolution of a float clock: ulp(t) <= 2^-52 t < 2.3e-16 t.  The sharing schedulers
#: (PSScheduler, ProportionalShareScheduler and their compiled replays) count a job as finished when
#: the time to its completion is below ``TIME_RESOLUTION * now``: a timer that near would fire at
#: ``now`` itself (``now + d == now`` once d <= ulp(now) / 2), the clock could not advance and the run
#: would loop for ever.  This decides only for a clock far larger than the work done (V < 2.3e-4 t:
#: a system or VM almost always idle); elsewhere the ``1e-12 |V|`` tolerance is the larger.
TIME_RESOLUTION = 2.3e-16

_REGISTRY: dict[type, type] = {}


#: ``@implements(PolicyClass)`` registers a scheduler class for that policy
implements = registrar(_REGISTRY)


def make_scheduler(policy, hypervisor):
    """Instantiate the scheduler that implements ``policy`` for ``hypervisor``."""
    if type(policy) is FCFS and any(vm.vcpus is not None for vm in hypervisor.scenario.vms):
        return VCPUFCFSScheduler(policy, hypervisor)
    try:
        cls = _REGISTRY[type(policy)]
    except KeyError:
        raise NoClosedForm(f"policy {policy!r} has no simulator implementation") from None
    return cls(policy, hypervisor)


class Scheduler:
    """Base class: holds the policy and the hypervisor's job tables."""

    mode = "whole"
    preemptive = False
    switch_cost = 0.0
    #: custom schedulers that serve a job in several pieces set this True
    custom_in_pieces = False

    @property
    def in_pieces(self) -> bool:
        """Whether a job may be served in several pieces (then per-job pCPU time is tracked)."""
        return self.mode in ("sliced", "shared") or (self.mode == "custom" and self.custom_in_pieces)

    @property
    def needs_arrival_events(self) -> bool:
        """Whether arrivals must be events (else the hypervisor admits them lazily)."""
        return self.preemptive or self.mode == "shared"

    def __init__(self, policy, hypervisor):
        self.policy = policy
        self.hv = hypervisor

    def slice_for(self, job: int) -> float:
        table = self.hv.remaining if self.hv.sliced else self.hv.size
        return table[job]

    def put_back(self, job: int) -> None:
        self.add(job)

    def key(self, job: int):  # pragma: no cover - preemptive schedulers override
        raise NotImplementedError

    def running_key(self, job: int, done: float):
        return self.key(job)

    def dispatches(self, work: float) -> int:
        """Dispatches (each paying ``switch_cost``) in a piece of ``work``: one."""
        return 1


class _HeapScheduler(Scheduler):
    """Waiting jobs in a heap ordered by ``(key(job), job)``: ties in arrival order."""

    def __init__(self, policy, hypervisor):
        super().__init__(policy, hypervisor)
        self.heap: list = []

    def add(self, job: int) -> None:
        heapq.heappush(self.heap, (self.key(job), job))

    def next_job(self):
        return heapq.heappop(self.heap)[1] if self.heap else None

    def __len__(self) -> int:
        return len(self.heap)


@implements(FCFS)
class FCFSScheduler(Scheduler):
    """One FIFO queue for all VMs."""

    def __init__(self, policy, hypervisor):
        super().__init__(policy, hypervisor)
        self.queue = deque()
        self.add = self.queue.append  # bound method: one attribute lookup on the hot path

    def next_job(self):
        return self.queue.popleft() if self.queue else None

    def __len__(self) -> int:
        return len(self.queue)


class VCPUFCFSScheduler(Scheduler):
    """FCFS with vCPU limits (two-level scheduling).

    Each VM queues its jobs FIFO; the hypervisor runs the oldest waiting job
    among the VMs that still have a free vCPU (VM.vcpus jobs at most run at
    once).  With the VMs' vCPUs no more than the pCPUs, each VM is its own
    M/G/n queue on dedicated CPUs; with more vCPUs than pCPUs they compete.
    """

    def __init__(self, policy, hypervisor):
        super().__init__(policy, hypervisor)
        vms = hypervisor.scenario.vms
        self.queues = [deque() for _ in vms]
        self.limit = [vm.vcpus if vm.vcpus is not None else float("inf") for vm in vms]
        self.running = [0] * len(vms)

    def add(self, job):
        self.queues[self.hv.vm[job]].append(job)

    def next_job(self):
        best, best_job = -1, 0
        for i, q in enumerate(self.queues):
            if q and self.running[i] < self.limit[i] and (best < 0 or q[0] < best_job):
                best, best_job = i, q[0]
        if best < 0:
            return None
        self.running[best] += 1
        return self.queues[best].popleft()

    def on_depart(self, job):
        self.running[self.hv.vm[job]] -= 1

    def __len__(self) -> int:
        """Waiting jobs that could start now (their VM has a free vCPU)."""
        return sum(len(q) for i, q in enumerate(self.queues) if self.running[i] < self.limit[i])


@implements(SJF)
class SJFScheduler(_HeapScheduler):
    """Non-preemptive shortest job first: smallest size next."""

    def key(self, job):
        return self.hv.size[job]


@implements(Priority)
class PriorityScheduler(_HeapScheduler):
    """Static priority by VM.priority (0 first), FCFS within a class; preemptive-resume optional."""

    def __init__(self, policy, hypervisor):
        super().__init__(policy, hypervisor)
        self.preemptive = policy.preemptive
        self.mode = "sliced" if policy.preemptive else "whole"
        self.class_of = [vm.priority for vm in hypervisor.scenario.vms]

    def key(self, job):
        return self.class_of[self.hv.vm[job]]


@implements(SRPT)
class SRPTScheduler(_HeapScheduler):
    """Shortest remaining processing time, preemptive-resume."""

    mode = "sliced"
    preemptive = True

    def key(self, job):
        return self.hv.remaining[job]

    def running_key(self, job, done):
        return self.hv.remaining[job] - done


@implements(PSJF)
class PSJFScheduler(_HeapScheduler):
    """Preemptive shortest job first: smallest original size runs."""

    mode = "sliced"
    preemptive = True

    def key(self, job):
        return self.hv.size[job]


@implements(RoundRobin)
class RoundRobinScheduler(Scheduler):
    """Round robin: at most ``quantum`` of work per dispatch, then to the back of the queue.

    Arrivals during a slice join the queue before the job whose slice ends
    (they arrived earlier).  Every dispatch costs ``switch_cost``.
    """

    mode = "sliced"

    def __init__(self, policy, hypervisor):
        super().__init__(policy, hypervisor)
        self.queue = deque()
        self.add = self.put_back = self.queue.append
        self.quantum = policy.quantum
        self.switch_cost = policy.switch_cost
        self.merge = hypervisor.scenario.pcpus == 1 and not hypervisor.scenario.has_lifecycle

    def next_job(self):
        return self.queue.popleft() if self.queue else None

    def slice_for(self, job):
        """One quantum, or the rest of the job; with nobody waiting, several quanta at once.

        On one pCPU with lazy arrivals the next arrival time is known: while
        the queue is empty the job keeps the pCPU quantum after quantum, so
        its slices up to the end of the quantum in which the next job arrives
        are merged into one timeout (the arrival is then queued before the
        job is put back, as with one timeout per quantum).  The sample path
        is the same; only the number of events drops.
        """
        hv = self.hv
        left, q = hv.remaining[job], self.quantum
        if left <= q:
            return left
        if self.queue or not self.merge or not hv.lazy_arrivals:
            return q
        quanta = max(1, math.ceil((hv._next_arrival - hv.env.now) / (q + self.switch_cost)))
        return min(left, quanta * q)

    def dispatches(self, work):
        """Dispatches (each paying the switch cost) in a piece of ``work``."""
        return max(1, math.ceil(work / self.quantum - 1e-9))

    def __len__(self) -> int:
        return len(self.queue)


@implements(DelayDependentPriority)
class DelayDependentScheduler(Scheduler):
    """Kleinrock's delay-dependent priority, non-preemptive.

    At a decision at time t the waiting job with the largest
    a_i + b_i (t - arrival) goes next.  Within one VM the oldest job always
    has the largest priority, so only the head of each VM's FIFO competes:
    O(number of VMs) per decision.  Ties go to the earlier arrival.
    """

    def __init__(self, policy, hypervisor):
        super().__init__(policy, hypervisor)
        names = hypervisor.scenario.names
        self.queues = [deque() for _ in names]
        self.offset = [policy.offset_of(n) for n in names]
        self.slope = [policy.slope_of(n) for n in names]
        self.count = 0

    def add(self, job):
        self.queues[self.hv.vm[job]].append(job)
        self.count += 1

    def next_job(self):
        if not self.count:
            return None
        now, arrival = self.hv.env.now, self.hv.arrival
        best, best_p, best_job = -1, 0.0, 0
        for i, q in enumerate(self.queues):
            if q:
                head = q[0]
                p = self.offset[i] + self.slope[i] * (now - arrival[head])
                if best < 0 or p > best_p or (p == best_p and head < best_job):
                    best, best_p, best_job = i, p, head
        self.count -= 1
        return self.queues[best].popleft()

    def __len__(self) -> int:
        return self.count


@implements(ProcessorSharing)
class PSScheduler(Scheduler):
    """Egalitarian processor sharing on c pCPUs, simulated exactly.

    With n jobs present each is served at rate r(n) = min(1, c/n).  A virtual
    clock V advances at that rate, so a job arriving at virtual time V_a with
    size x leaves when V reaches V_a + x; the jobs sit in a heap by that
    virtual finish time.  Each arrival and each completion is one event: the
    next completion is scheduled at (V_finish - V) / r(n) and any earlier,
    now stale, timer is ignored when it fires.  No quantum approximation.
    """

    mode = "shared"
    preemptive = False

    def __init__(self, policy, hypervisor):
        super().__init__(policy, hypervisor)
        self.heap: list = []
        self.virtual = 0.0
        self.last = 0.0
        self.version = 0
        self.c = hypervisor.scenario.pcpus

    def _advance(self, now):
        n = len(self.heap)
        if n:
            self.virtual += (now - self.last) * (1.0 if n <= self.c else self.c / n)
        self.last = now

    def _arm(self):
        self.version += 1
        if not self.heap:
            return
        n = len(self.heap)
        rate = 1.0 if n <= self.c else self.c / n
        delay = max(0.0, (self.heap[0][0] - self.virtual) / rate)
        timer = self.hv.env.timeout(delay)
        version = self.version
        timer.callbacks.append(lambda _event: self._fire(version))

    def _fire(self, version):
        if version != self.version:
            return  # stale: an arrival rescheduled the next completion
        hv = self.hv
        now = hv.env.now
        self._advance(now)
        heap = self.heap
        n = len(heap)
        # due: within the virtual clock's tolerance, or closer than the work done in one ulp of ``now``
        # (a timer that near cannot fire later than now: the clock could not advance, the run would hang)
        tol = max(1e-12 * max(1.0, abs(self.virtual)), TIME_RESOLUTION * now * (1.0 if n <= self.c else self.c / n))
        while heap and heap[0][0] <= self.virtual + tol:
            _, job = heapq.heappop(heap)
            hv.occupied[job] = hv.size[job]
            hv.remaining[job] = 0.0
            hv.depart_job(job, now)
        self._arm()

    def add(self, job):
        hv = self.hv
        now = hv.env.now
        self._advance(now)
        hv.start[job] = now
        heapq.heappush(self.heap, (self.virtual + hv.size[job], job))
        self._arm()

    def next_job(self):  # pragma: no cover - no pCPU loop in shared mode
        return None

    def __len__(self) -> int:
        return len(self.heap)
