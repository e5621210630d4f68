"""The polling scheduler: one pCPU visits the VMs' FIFO queues in cyclic order, paying a world switch.

A ``"custom"`` scheduler (see :mod:`virtmodel.sim.vmm`): it runs its own pCPU
process.  At each visit to VM i the pCPU admits the arrivals due so far
(:meth:`~virtmodel.sim.vmm.Hypervisor.admit_until`) and serves VM i's queue
by the policy's discipline, each job whole (non-preemptive):

* ``"exhaustive"``: until the queue is empty, jobs arriving during the visit included;
* ``"gated"``: only the jobs present at the polling instant;
* ``"limited"``: until the queue is empty or ``limit`` jobs are served.

It then pays the switchover to VM i+1, whether or not there was work: the
pCPU never idles.  With one switchover law (``Polling(switchover=law)``) the
times come from a dedicated system stream
(:func:`~virtmodel.sim.streams.system_rng` with source :data:`SWITCHOVER`);
with one law per VM (``switchover={name: law}``) the move after visiting VM i
draws from VM i's law, on VM i's own stream
(:func:`~virtmodel.sim.streams.vm_rng` with source :data:`SWITCHOVER`).  Empty visits while no
arrival is due change nothing, so consecutive switchovers over empty queues
are summed into one ``timeout`` (lazy arrivals only); the sample path is the
one the visit-by-visit loop would give.
"""

from __future__ import annotations

from collections import deque

from ..analytic.polling import check_polling_stability
from ..errors import InvalidParameter
from ..policies import Polling
from .schedulers import Scheduler, implements
from .streams import draws, system_rng, vm_rng

__all__ = ["PollingScheduler", "SWITCHOVER", "polling_laws"]

#: system stream source of the polling switchover times (ASCII "P")
SWITCHOVER = 80


def polling_laws(scenario) -> tuple:
    """The switchover law paid after visiting each VM of a polling ``scenario``, once it is checked.

    Raises
    ------
    InvalidParameter
        When the scenario has more than one pCPU (a polling server is one pCPU).
    UnstableSystem
        When the queues cannot be stable (``rho >= 1``, or for k-limited
        service ``rho + lambda_i E[R] / k >= 1`` for some VM), unless the
        scenario has a finite capacity or allows overload.
    """
    sc, policy = scenario, scenario.policy
    if sc.pcpus != 1:
        raise InvalidParameter(
            f"pcpus must be 1 for Polling (one pCPU cycles over the VMs), got pcpus={sc.pcpus}")
    laws = policy.switchovers(sc.names)
    if sc.capacity is None and not sc.allow_overload:
        check_polling_stability([v.arrival_rate for v in sc.vms], [v.service.mean for v in sc.vms],
                                sum(law.mean for law in laws), policy.discipline, policy.limit,
                                names=sc.names)
    return laws


@implements(Polling)
class PollingScheduler(Scheduler):
    """Cyclic polling with switchover times on one pCPU.

    Raises
    ------
    InvalidParameter, UnstableSystem
        As :func:`polling_laws` (more than one pCPU; queues that cannot be stable).
    """

    mode = "custom"

    def __init__(self, policy, hypervisor):
        super().__init__(policy, hypervisor)
        sc = hypervisor.scenario
        #: the switchover law paid after visiting each VM, in VM order
        self.laws = polling_laws(sc)
        self.queues = [deque() for _ in sc.vms]
        self.count = 0

    def add(self, job: int) -> None:
        self.queues[self.hv.vm[job]].append(job)
        self.count += 1

    def next_job(self):  # pragma: no cover - the custom pCPU process picks jobs itself
        return None

    def __len__(self) -> int:
        return self.count

    def pcpu(self, k):
        """The pCPU process: visit, serve by the discipline, switch over; forever."""
        hv = self.hv
        env = hv.env
        timeout = env.timeout
        admit, depart = hv.admit_until, hv.depart_job
        start, size = hv.start, hv.size
        queues = self.queues
        n = len(queues)
        if isinstance(self.policy.switchover, dict):  # one law and one stream per VM
            streams = [draws(law, vm_rng(hv.seed, hv.replication, j, SWITCHOVER))
                       for j, law in enumerate(self.laws)]
        else:  # one law, one system stream (the same sample paths as before per-VM laws existed)
            streams = [draws(self.policy.switchover, system_rng(hv.seed, hv.replication, SWITCHOVER))] * n
        discipline = self.policy.discipline
        limit = self.policy.limit if discipline == "limited" else None
        lazy = hv.lazy_arrivals
        i = 0
        while True:
            now = env.now
            admit(now)
            q = queues[i]
            if q:
                # exhaustive: no bound; gated: the jobs present now; limited: at most ``limit``
                todo = len(q) if discipline == "gated" else limit
                served = 0
                while q and (todo is None or served < todo):
                    job = q.popleft()
                    self.count -= 1
                    start[job] = now
                    yield timeout(size[job])
                    now = env.now
                    admit(now)  # arrivals during the service join their queues first
                    depart(job, now)
                    served += 1
            # switch over to the next VM (the law of the VM just visited); skip through empty VMs
            # while no arrival is due
            total = next(streams[i])
            i = i + 1 if i + 1 < n else 0
            if lazy:
                while not queues[i] and now + total < hv._next_arrival:
                    total += next(streams[i])
                    i = i + 1 if i + 1 < n else 0
            yield timeout(total)
