"""Scheduler implementations: the policies of :mod:`virtmodel.policies` in the simulator.

Every scheduler has the same small set of hooks, called by the pCPU loop of
:class:`virtmodel.sim.vmm.Hypervisor`:

``add(job)``
    a job has arrived (job ids are integers indexing the hypervisor's tables);
``next_job()``
    the job to run next, or ``None`` when nothing waits;
``slice_for(job)``
    how long to run it before handing it back (its remaining work for a
    non-preemptive policy);
``__len__()``
    number of jobs waiting.

Jobs are admitted in arrival order (ties between VMs broken by VM order).

Adding a policy means one class here registered with :func:`implements`.
"""

from __future__ import annotations

from collections import deque

from ..errors import NoClosedForm
from ..policies import FCFS

__all__ = ["Scheduler", "FCFSScheduler", "make_scheduler", "implements"]

_REGISTRY: dict[type, type] = {}


def implements(policy_cls):
    """Class decorator registering a scheduler for ``policy_cls``."""

    def deco(cls):
        _REGISTRY[policy_cls] = cls
        return cls

    return deco


def make_scheduler(policy, hypervisor):
    """Instantiate the scheduler that implements ``policy`` for ``hypervisor``."""
    try:
        cls = _REGISTRY[type(policy)]
    except KeyError:
        raise NoClosedForm(f"policy {policy!r} has no simulator implementation") from None
    return cls(policy, hypervisor)


class Scheduler:
    """Base class: holds the policy and the hypervisor's job tables.

    ``needs_arrival_events`` is False for policies that decide only when a
    pCPU frees up (non-preemptive ones); the hypervisor then admits arrivals
    lazily (see :mod:`virtmodel.sim.vmm`).  Preemptive schedulers set it True.
    """

    needs_arrival_events = False

    def __init__(self, policy, hypervisor):
        self.policy = policy
        self.hv = hypervisor

    def add(self, job: int) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def next_job(self):  # pragma: no cover - interface
        raise NotImplementedError

    def slice_for(self, job: int) -> float:
        return self.hv.size[job]

    def __len__(self) -> int:  # pragma: no cover - interface
        raise NotImplementedError


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
