"""Customer patience (abandonment, Erlang A) on the compiled engine: the simpy model's rule, replayed.

In the simpy model (:meth:`virtmodel.sim.vmm.Hypervisor._start_patience`) every
arriving job draws a patience from its VM's ``PATIENCE`` stream
(:func:`~virtmodel.sim.streams.vm_rng`, numpy blocks of
:data:`~virtmodel.sim.streams.BLOCK`; a VM without ``patience`` never
abandons) and gets the deadline ``arrival + patience``.  Abandonment is
applied when a pCPU picks its next job (``_next_patient_job``): every job
the policy hands it whose deadline is before now leaves unserved (its vCPU
given back under vCPU limits) and the pCPU asks again.  An abandoned job
takes no pCPU time, so this leaves the same waiting set as if each had left
at its deadline: exact for the non-preemptive policies that decide only when
a pCPU picks.  At the stop, the jobs not started whose deadline is not after
the stop time are marked ``Records.abandoned``, with ``depart`` = their
deadline (and they are not in ``order``).

Here :class:`Patience` draws the same numbers, block by block, merges them
into the deadlines of the merged arrivals, and :func:`complete` marks the
abandoned jobs as ``Hypervisor.records`` does; the pick itself is the
``deadline`` argument of :func:`~virtmodel.sim.compiled.kernels.run_whole`.
So :func:`virtmodel.sim.measure.measure` gets the same tables and gives the
same abandonment probability, waits of the served and of the abandoned
jobs, and throughput.

Supported (:func:`patience_reason`): the ``"whole"`` family, i.e. FCFS (with
or without vCPU limits), SJF, non-preemptive Priority and
DelayDependentPriority, on any number of pCPUs, with patience laws drawn in
blocks ahead of time.  Refused with a reason: a finite capacity, lifecycle
events, and preemptive, sliced or shared policies (the simpy model refuses
them too, so ``engine="auto"`` gives its error); every other compiled family,
polling included, because its kernel has no patience step; and
``records=False`` (the bounded-memory kernels have none either).

``tests/sim/test_compiled_abandonment.py`` proves it job for job against the
simpy model.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..streams import BLOCK, PATIENCE, vm_rng

__all__ = ["Patience", "complete", "patience_reason", "NO_DEADLINE"]

#: the ``deadline`` argument of :func:`~virtmodel.sim.compiled.kernels.run_whole` without patience
NO_DEADLINE = np.empty(0)


def patience_reason(scenario, family) -> str | None:
    """Why the compiled engine cannot simulate ``scenario``'s patience (None when it can, or it has none).

    ``family``: the kernel family of its policy (Priority resolved to "whole" or "preemptive").
    """
    if not scenario.has_patience:
        return None
    from .support import _DRAWABLE, _drawable, _law_name

    if family != "whole":
        return (f"patience (abandonment) is compiled for the non-preemptive policies that run each job whole "
                f"(FCFS, SJF, Priority(preemptive=False), DelayDependentPriority), not for "
                f"{type(scenario.policy).__name__} (kernel family {family!r})")
    if scenario.capacity is not None:
        return f"patience (abandonment) with a finite capacity (capacity={scenario.capacity!r}) is not simulated"
    for vm in scenario.vms:
        if vm.patience is not None and not _drawable(vm.patience):
            return (f"VM {vm.name!r}: patience distribution {_law_name(vm.patience)} is not drawn ahead by the "
                    f"compiled engine (supported: {', '.join(d.__name__ for d in _DRAWABLE)})")
    return None


class Patience:
    """The patience draws of one replication, per VM, as the simpy model draws them (stream ``PATIENCE``).

    ``deadlines(arr_t, arr_vm)`` gives the merged arrivals' deadlines ``arrival + patience``
    (infinite for a VM without patience); the draws grow block by block as the arrivals do.
    """

    def __init__(self, scenario, seed, replication):
        self._laws = [vm.patience for vm in scenario.vms]
        self._rngs = [vm_rng(seed, replication, i, PATIENCE) if law is not None else None
                      for i, law in enumerate(self._laws)]
        self._buffers = [np.empty(0) for _ in self._laws]  # drawn numbers: the first _count[i] of each
        self._count = [0] * len(self._laws)

    def drawn(self, i, count) -> np.ndarray:
        """The first ``count`` (or more) patience times of VM i, drawing whole blocks into place as needed."""
        have = self._count[i]
        if have < count:
            total = have + -(-(count - have) // BLOCK) * BLOCK
            if total > self._buffers[i].size:  # grow by half at least, keeping what was drawn
                grown = np.empty(max(total, have + have // 2))
                grown[:have] = self._buffers[i][:have]
                self._buffers[i] = grown
            law, rng, buffer = self._laws[i], self._rngs[i], self._buffers[i]
            for b in range(have, total, BLOCK):
                buffer[b:b + BLOCK] = law.sample(rng, BLOCK)
            self._count[i] = total
        return self._buffers[i][:self._count[i]]

    def deadlines(self, arr_t, arr_vm) -> np.ndarray:
        """``arr_t + patience`` for the merged arrivals (each VM's k-th arrival takes its k-th patience)."""
        if len(self._laws) == 1:
            return arr_t + self.drawn(0, arr_t.size)[:arr_t.size]  # t + patience, as _admit adds them
        deadline = np.full(arr_t.size, np.inf)
        for i, law in enumerate(self._laws):
            if law is None:
                continue
            mine = np.flatnonzero(arr_vm == i)
            deadline[mine] = arr_t[mine] + self.drawn(i, mine.size)[:mine.size]
        return deadline


def complete(rec, deadline):
    """``rec`` with the abandoned jobs marked as :meth:`~virtmodel.sim.vmm.Hypervisor.records` marks them:
    not started, not blocked, deadline not after ``rec.now``; their ``depart`` is the deadline."""
    abandoned = np.isnan(rec.start) & ~rec.blocked & (deadline <= rec.now)
    depart = np.where(abandoned, deadline, rec.depart)
    return dataclasses.replace(rec, depart=depart, abandoned=abandoned)
