"""CompiledEngine: a drop-in for :class:`~virtmodel.sim.vmm.Hypervisor` that runs numba kernels.

The random numbers are drawn here, in Python, exactly as the simpy model
draws them: for VM i one Generator per source from ``SeedSequence(seed)``
with spawn key ``(replication, 0, i, source)`` (:func:`~virtmodel.sim.streams.vm_rng`),
numpy blocks of :data:`~virtmodel.sim.streams.BLOCK` values, arrival
instants as the running float sum of the gaps.  The kernels
(:mod:`virtmodel.sim.compiled.kernels`) then replay the simpy model's
decisions on these arrays and return the same per-job
:class:`~virtmodel.sim.vmm.Records`, so :func:`virtmodel.sim.measure.measure`
and the output analysis are reused unchanged.

Stopping works like :class:`~virtmodel.sim.fastpath.FastFCFS`: each call
to :meth:`CompiledEngine.records` runs the kernel from time 0 to the stop
asked for (the run is a pure function of the seed, so this is the state the
simpy model would be in); when the pre-drawn arrivals do not reach far
enough, more blocks are drawn and the kernel runs again.
"""

from __future__ import annotations

import math

import numpy as np

from ...errors import InvalidParameter
from ...policies import FCFS, Priority
from ..streams import ARRIVAL, BLOCK, SERVICE, vm_rng
from ..vmm import Records
from . import abandonment as ab
from . import kernels as k
from . import linux_fair as lk
from . import polling as pk
from .support import KERNEL_OF, unsupported_reason

__all__ = ["CompiledEngine", "MAX_SLICES"]

#: most round-robin slices one job may need before the run is refused
MAX_SLICES = 1e9
#: most round-robin slices a whole run may need (about 10^8 slices take a second)
MAX_TOTAL_SLICES = 1e11


class _Stream:
    """One VM's arrival instants and job sizes, drawn block by block as the simpy model does.

    ``times`` and ``sizes`` are the drawn prefixes of two buffers that grow by half when more
    is needed; each block is written into place and the arrival instants are accumulated in
    place, so a draw makes no temporary arrays the size of the run.  What was handed out
    (Records hold views of ``times[:jobs]``) is never written again.
    """

    def __init__(self, vm, seed, replication, index):
        self.vm = vm
        self._arrival_rng = vm_rng(seed, replication, index, ARRIVAL)
        self._service_rng = vm_rng(seed, replication, index, SERVICE)
        self._time_buffer = np.empty(0)
        self._size_buffer = np.empty(0)
        self.times = self._time_buffer
        self.sizes = self._size_buffer

    def extend_to(self, count: int) -> None:
        """Draw whole blocks until at least ``count`` arrivals are known."""
        have = self.times.size
        if have >= count:
            return
        total = have + -(-(count - have) // BLOCK) * BLOCK
        if total > self._time_buffer.size:
            room = total if have == 0 else max(total, have + have // 2)
            times, sizes = np.empty(room), np.empty(room)
            times[:have] = self.times
            sizes[:have] = self.sizes
            self._time_buffer, self._size_buffer = times, sizes
        gaps = self._time_buffer[have:total]
        sizes = self._size_buffer[have:total]
        arrival, service = self.vm.arrival, self.vm.service
        for b in range(0, total - have, BLOCK):
            gaps[b:b + BLOCK] = arrival.sample(self._arrival_rng, BLOCK)
            sizes[b:b + BLOCK] = service.sample(self._service_rng, BLOCK)
        # the running float sum t_k = t_{k-1} + gap_k from the last instant, as env.timeout and
        # _arrival_times compute it (np.cumsum adds in sequence)
        gaps[0] = (float(self.times[-1]) if have else 0.0) + gaps[0]
        np.cumsum(gaps, out=gaps)
        self.times = self._time_buffer[:total]
        self.sizes = self._size_buffer[:total]


class CompiledEngine:
    """Simulate ``scenario`` with the numba kernels; same interface as ``Hypervisor``.

    Parameters
    ----------
    scenario : virtmodel.Scenario
        Must pass :func:`~virtmodel.sim.compiled.support.unsupported_reason`.
    seed : int
    replication : int

    Raises
    ------
    InvalidParameter
        The scenario has a feature the kernels do not implement (named in
        the message; use ``engine="simpy"`` or ``"auto"``), or a round-robin
        quantum so small that a job would need more than 10^9 slices, or polling
        switchovers so short that a run would need more than 5 * 10^8 of them.
    UnstableSystem
        Polling whose queues cannot be stable (as the simpy model).

    Examples
    --------
    >>> from virtmodel import Scenario, VM
    >>> from virtmodel.dists import Exponential
    >>> eng = CompiledEngine(Scenario(1, [VM("a", Exponential(0.5), Exponential(1.0))]), seed=1)
    >>> eng.run_until_departures(100)
    >>> eng.records().order.size
    100
    """

    def __init__(self, scenario, seed, replication: int = 0):
        reason = unsupported_reason(scenario)
        if reason is not None:
            raise InvalidParameter(
                f"engine='compiled' cannot simulate this scenario: {reason}; "
                "use engine='simpy' (the reference model) or engine='auto' (compiled where supported)")
        self.scenario = scenario
        self.seed, self.replication = seed, replication
        self._streams = [_Stream(vm, seed, replication, i) for i, vm in enumerate(scenario.vms)]
        self._stop: tuple[str, float] = ("time", 0.0)
        self._cached: tuple | None = None
        self.departures = 0
        self._setup(scenario)

    def _setup(self, scenario):
        policy = scenario.policy
        family = KERNEL_OF[type(policy)][0]
        if type(policy) is Priority:
            family = "preemptive" if policy.preemptive else "whole"
        self.family = family
        vms = scenario.vms
        self._vm_key = np.array([float(v.priority) for v in vms])
        self._offset = np.zeros(len(vms))
        self._slope = np.ones(len(vms))
        self._limit = np.full(len(vms), np.iinfo(np.int64).max, dtype=np.int64)
        name = type(policy).__name__
        if family == "whole":
            if type(policy) is FCFS and any(v.vcpus is not None for v in vms):
                self._code = k.VCPU_FCFS
                self._limit = np.array([v.vcpus if v.vcpus is not None else np.iinfo(np.int64).max
                                        for v in vms], dtype=np.int64)
            else:
                self._code = {"FCFS": k.FCFS, "Priority": k.PRIORITY, "SJF": k.SJF,
                              "DelayDependentPriority": k.DELAY_DEPENDENT}[name]
            if name == "DelayDependentPriority":
                self._offset = np.array([policy.offset_of(v.name) for v in vms], dtype=float)
                self._slope = np.array([policy.slope_of(v.name) for v in vms], dtype=float)
        elif family == "preemptive":
            self._code = {"Priority": k.PREEMPTIVE_PRIORITY, "SRPT": k.SRPT, "PSJF": k.PSJF}[name]
        elif family == "polling":
            self._polling = pk.PollingRun(scenario, self.seed, self.replication)
        elif family == "linux_fair":
            self._linux_fair = lk.LinuxFairRun(scenario, self.seed, self.replication)
        elif family == "credit":
            from .credit import CreditRun

            self._credit = CreditRun(scenario)
        elif family == "proportional_share":
            from .proportional_share import ProportionalShareRun

            self._proportional_share = ProportionalShareRun(scenario)
        self._cap = -1 if scenario.capacity is None else int(scenario.capacity)
        self._patience = None
        if scenario.has_patience:
            from .abandonment import Patience

            self._patience = Patience(scenario, self.seed, self.replication)

    # -- the Hypervisor interface ---------------------------------------------------
    def run_until_departures(self, count: int) -> None:
        """Stop at the ``count``-th departure (since time 0)."""
        self._stop = ("departures", int(count))
        self.departures = int(count)

    def run_until(self, time: float) -> None:
        """Stop at simulated time ``time``."""
        self._stop = ("time", float(time))

    def records(self) -> Records:
        """The per-job tables at the stop, equal to the simpy model's."""
        if self._cached is not None and self._cached[0] == self._stop:
            return self._cached[1]
        rec = self._run(*self._stop)
        self._cached = (self._stop, rec)
        return rec

    # -- running ----------------------------------------------------------------------
    def _merged(self):
        """Arrivals of all VMs up to the time every stream covers, merged in time order."""
        streams = self._streams
        covered = min(s.times[-1] for s in streams)
        if len(streams) == 1:
            s = streams[0]
            return s.times, np.zeros(s.times.size, dtype=np.int64), s.sizes, covered
        counts = np.array([np.searchsorted(s.times, covered, side="right") for s in streams], dtype=np.int64)
        offsets = np.concatenate(([0], np.cumsum([s.times.size for s in streams])[:-1])).astype(np.int64)
        times = np.concatenate([s.times for s in streams])
        sizes = np.concatenate([s.sizes for s in streams])
        t, v, x = k.merge_streams(times, counts, sizes, offsets, int(counts.sum()))
        return t, v, x, covered

    def _draw(self, total: float) -> None:
        """Make sure about ``total`` arrivals over all VMs are drawn (split by arrival rate)."""
        rate = self.scenario.arrival_rate
        for s in self._streams:
            s.extend_to(int(total * s.vm.arrival_rate / rate) + 64)

    def _run(self, kind, stop):
        if kind == "time":
            horizon = stop
            for s in self._streams:
                s.extend_to(int(horizon * s.vm.arrival_rate * 1.05) + 64)
                while s.times[-1] <= horizon:
                    s.extend_to(s.times.size + max(BLOCK, s.times.size // 4))
        else:
            self._draw(stop * 1.02 + 256)
        while True:
            arr_t, arr_vm, size, covered = self._merged()
            n = arr_t.size
            if self.family == "round_robin":
                quantum = self.scenario.policy.quantum
                if n and float(size.max()) / quantum > MAX_SLICES:
                    raise InvalidParameter(
                        f"RoundRobin quantum={quantum!r} is too small for the job sizes: a job of size "
                        f"{float(size.max()):.6g} needs more than {MAX_SLICES:.0e} slices; use a quantum of at "
                        f"least {float(size.max()) / MAX_SLICES:.3g}, or ProcessorSharing() for the limit "
                        "of a vanishing quantum")
                if n and float(size.sum()) / quantum > MAX_TOTAL_SLICES:
                    raise InvalidParameter(
                        f"RoundRobin quantum={quantum!r} is too small for this run: its {n:,} jobs need about "
                        f"{float(size.sum()) / quantum:.3g} slices (more than {MAX_TOTAL_SLICES:.0e}, hours of "
                        "simulation); use a larger quantum, fewer customers, or ProcessorSharing() for the "
                        "limit of a vanishing quantum")
            start = np.full(n, np.nan)
            depart = np.full(n, np.nan)
            blocked = np.zeros(n, dtype=np.bool_)
            order = np.empty(n, dtype=np.int64)
            occupied = np.zeros(n) if self.family not in ("whole", "polling") else None
            stop_kind = k.STOP_TIME if kind == "time" else k.STOP_DEPARTURES
            count = int(stop) if kind != "time" else 0
            horizon = float(stop) if kind == "time" else 0.0
            c, cap = self.scenario.pcpus, self._cap
            if self.family == "whole":
                deadline = ab.NO_DEADLINE if self._patience is None else self._patience.deadlines(arr_t, arr_vm)
                status, jobs, departed, now = k.run_whole(
                    arr_t, arr_vm, size, n, covered, c, cap, self._code, self._vm_key, self._offset,
                    self._slope, self._limit, stop_kind, count, horizon, start, depart, blocked, order, deadline)
            elif self.family == "preemptive":
                status, jobs, departed, now = k.run_preemptive(
                    arr_t, arr_vm, size, n, covered, c, cap, self._code, self._vm_key,
                    stop_kind, count, horizon, start, depart, blocked, order, occupied)
            elif self.family == "round_robin":
                pol = self.scenario.policy
                status, jobs, departed, now = k.run_round_robin(
                    arr_t, arr_vm, size, n, covered, c, cap, float(pol.quantum), float(pol.switch_cost),
                    stop_kind, count, horizon, start, depart, blocked, order, occupied)
            elif self.family == "polling":
                status, jobs, departed, now = self._polling.run(
                    arr_t, arr_vm, size, n, covered, cap, stop_kind, count, horizon, start, depart, blocked, order)
            elif self.family == "linux_fair":
                status, jobs, departed, now = self._linux_fair.run(
                    arr_t, arr_vm, size, n, covered, cap, stop_kind, count, horizon, start, depart, blocked, order,
                    occupied)
            elif self.family == "credit":
                status, jobs, departed, now = self._credit.run(
                    arr_t, arr_vm, size, n, covered, cap, stop_kind, count, horizon, start, depart, blocked, order,
                    occupied)
            elif self.family == "proportional_share":
                status, jobs, departed, now = self._proportional_share.run(
                    arr_t, arr_vm, size, n, covered, cap, stop_kind, count, horizon, start, depart, blocked, order,
                    occupied)
            else:
                status, jobs, departed, now = k.run_processor_sharing(
                    arr_t, arr_vm, size, n, covered, c, cap,
                    stop_kind, count, horizon, start, depart, blocked, order, occupied)
            if status == k.STUCK:
                raise InvalidParameter(k.stuck_message(type(self.scenario.policy).__name__, now))
            if status == k.OK:
                break
            # not enough arrivals drawn: extrapolate from the progress made, with a margin
            per_departure = max(jobs, 1) / max(departed, 1)
            target = max(n * 1.5, count * per_departure * 1.1 + 1024)
            if not math.isfinite(target):
                target = n * 2
            self._draw(target)
        # views, not copies: nothing writes into Records, and a stream's arrays are replaced
        # (never written) when more is drawn
        rec = Records(
            arrival=arr_t[:jobs], vm=arr_vm[:jobs], size=size[:jobs],
            start=start[:jobs], depart=depart[:jobs], blocked=blocked[:jobs], order=order[:departed],
            now=float(now), occupied=None if occupied is None else occupied[:jobs],
        )
        return rec if self._patience is None else ab.complete(rec, deadline[:jobs])  # patience: family "whole"
