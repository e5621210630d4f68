"""Cyclic polling on one pCPU, compiled: the numba replay of :class:`~virtmodel.sim.polling.PollingScheduler`.

:func:`run_polling` replays the simpy polling process decision for decision:
at each visit to VM i the arrivals due so far are admitted (blocked at a full
system), VM i's FIFO queue is served by the discipline (exhaustive: until it
is empty, arrivals during the visit included; gated: the jobs present at the
polling instant; limited: at most ``limit`` jobs), the arrivals due by each
service's end are admitted *before* the departure is recorded, and then the
switchover after VM i is paid, empty queue or not.  While the next VM's queue
is empty and no arrival is due before the switchovers summed so far end, the
next switchover is added to the same move (the simpy model's lazy skip
through empty VMs, one ``timeout`` for the sum).  The float operations are
the simpy model's, in its order: a service ends at ``now + size``, a move at
``now + (R_1 + R_2 + ...)`` summed left to right, compared with the next
arrival as ``now + total < next_arrival``.

The switchover times are the simpy model's numbers: one stream
(:func:`~virtmodel.sim.streams.system_rng` with source
:data:`~virtmodel.sim.polling.SWITCHOVER`) for one law, or VM j's stream
(:func:`~virtmodel.sim.streams.vm_rng` with that source) for the move after
visiting VM j when there is one law per VM, drawn in numpy blocks of
:data:`~virtmodel.sim.streams.BLOCK` as :func:`~virtmodel.sim.streams.draws`
does.  :class:`SwitchoverDraws` draws them ahead, in Python; when the kernel
runs out of them it returns ``NEED_SWITCHOVERS`` and is run again with more
(a run is a pure function of the seed, so it restarts from time 0).

``tests/sim/test_compiled_polling.py`` proves it equal to the simpy model job
for job (every discipline, one law or one per VM, exponential, H2 and
deterministic service, unlimited or finite capacity, stop at a departure or
at a time).
"""

from __future__ import annotations

import numpy as np

from ...errors import InvalidParameter
from ..polling import SWITCHOVER, polling_laws
from ..streams import BLOCK, system_rng, vm_rng
from .kernels import NEED_MORE, OK, STOP_DEPARTURES, STOP_TIME, jit

__all__ = ["EXHAUSTIVE", "GATED", "LIMITED", "NEED_SWITCHOVERS", "MAX_SWITCHOVERS", "DISCIPLINE_CODE",
           "SwitchoverDraws", "PollingRun", "run_polling"]

EXHAUSTIVE, GATED, LIMITED = 0, 1, 2
#: the kernel's code of each :class:`~virtmodel.policies.Polling` discipline
DISCIPLINE_CODE = {"exhaustive": EXHAUSTIVE, "gated": GATED, "limited": LIMITED}
#: kernel status: a switchover stream ran out of drawn numbers (draw more, run again)
NEED_SWITCHOVERS = 2
#: most switchover times drawn for one run, all streams together (8 bytes each)
MAX_SWITCHOVERS = 500_000_000


class SwitchoverDraws:
    """The switchover times of one replication, drawn ahead block by block as the simpy model draws them.

    ``streams`` rows: one row (the system stream) for one law, one row per VM (VM j's stream,
    the move after visiting VM j) for a law per VM; ``stream_of[j]`` is the row VM j's moves
    read.  ``table`` holds the drawn numbers (each row's first ``count[row]``; the table grows by
    half when a row needs more room, each block is written into place).
    """

    def __init__(self, policy, names, seed, replication):
        laws = policy.switchovers(names)
        if isinstance(policy.switchover, dict):
            self._streams = [(law, vm_rng(seed, replication, j, SWITCHOVER)) for j, law in enumerate(laws)]
            self.stream_of = np.arange(len(laws), dtype=np.int64)
        else:
            self._streams = [(policy.switchover, system_rng(seed, replication, SWITCHOVER))]
            self.stream_of = np.zeros(len(laws), dtype=np.int64)
        #: mean time of one cycle's switchovers (every VM's law once)
        self.cycle_mean = float(sum(law.mean for law in laws))
        self.count = np.zeros(len(self._streams), dtype=np.int64)
        self.table = np.empty((len(self._streams), 0))

    def extend_to(self, per_stream: int, rows=None) -> None:
        """Draw whole blocks until each row in ``rows`` (all: None) has at least ``per_stream`` numbers."""
        need = -(-max(int(per_stream), 1) // BLOCK) * BLOCK
        if need > self.table.shape[1]:
            room = need if self.table.shape[1] == 0 else max(need, self.table.shape[1] * 3 // 2)
            table = np.empty((len(self._streams), room))
            table[:, :self.table.shape[1]] = self.table
            self.table = table
        for r, (law, rng) in enumerate(self._streams):
            if rows is not None and r not in rows:
                continue
            have = int(self.count[r])
            row = self.table[r]
            while have < per_stream:
                row[have:have + BLOCK] = law.sample(rng, BLOCK)
                have += BLOCK
            self.count[r] = have


class PollingRun:
    """What :class:`~virtmodel.sim.compiled.engine.CompiledEngine` needs to run a polling scenario.

    Checks the scenario as the simpy scheduler does (:func:`~virtmodel.sim.polling.polling_laws`:
    one pCPU, stable queues), holds the switchover draws of the replication and runs
    :func:`run_polling`, drawing more switchover times until the kernel has enough.

    Raises
    ------
    InvalidParameter
        More than one pCPU, or switchovers so short that the run would need more than
        :data:`MAX_SWITCHOVERS` of them (memory of gigabytes, hours of simulation).
    UnstableSystem
        As the simpy model (queues that cannot be stable).
    """

    #: switchover draws made ahead, as a multiple of the expected number (more are drawn when short)
    ahead = 1.05

    def __init__(self, scenario, seed, replication):
        policy = scenario.policy
        polling_laws(scenario)
        self.names = scenario.names
        #: the share of time the pCPU spends switching (at least 2 %; a finite capacity may overload it)
        self.switching = max(1.0 - sum(v.arrival_rate * v.service.mean for v in scenario.vms), 0.02)
        self.draws = SwitchoverDraws(policy, scenario.names, seed, replication)
        self.discipline = DISCIPLINE_CODE[policy.discipline]
        self.limit = int(policy.limit) if policy.limit is not None else -1
        self.used = np.zeros(self.draws.count.size, dtype=np.int64)

    def run(self, arr_t, arr_vm, size, n, covered, cap, stop_kind, count, horizon, start, depart, blocked, order):
        """:func:`run_polling` over the arrivals known up to ``covered``; draws switchovers as needed."""
        draws = self.draws
        # the pCPU switches a share 1 - rho of the time, one law after another: about that time over a
        # cycle's switchovers, times the VMs for the system stream (one draw per VM), moves per stream
        per_cycle = len(self.names) if draws.count.size == 1 else 1
        expected = (covered * self.switching / draws.cycle_mean * per_cycle * self.ahead + 64
                    if draws.cycle_mean > 0 else float("inf"))
        if not expected * draws.count.size <= MAX_SWITCHOVERS:
            raise InvalidParameter(
                f"Polling switchovers too short for this run: the mean switchover time of a cycle is "
                f"{draws.cycle_mean:.6g}, and the {n:,} arrivals known (up to time {covered:.6g}) would need "
                f"about {expected * draws.count.size:.3g} switchover draws (more than {MAX_SWITCHOVERS:.0e}); "
                "simulate fewer customers or use longer switchovers")
        draws.extend_to(int(expected))
        while True:
            status, jobs, departed, now = run_polling(
                arr_t, arr_vm, size, n, covered, cap, self.discipline, self.limit, draws.table, draws.count,
                draws.stream_of, stop_kind, count, horizon, start, depart, blocked, order, self.used)
            if status != NEED_SWITCHOVERS:
                return status, jobs, departed, now
            out = [r for r in range(draws.count.size) if self.used[r] >= draws.count[r]]
            grown = int(draws.count.max()) * 2 + BLOCK
            if grown * draws.count.size > MAX_SWITCHOVERS:
                raise InvalidParameter(
                    f"Polling switchovers too short for this run: it needs more than {MAX_SWITCHOVERS:.0e} "
                    "switchover draws; simulate fewer customers or use longer switchovers")
            draws.extend_to(grown, rows=out)
            start[:] = np.nan
            depart[:] = np.nan
            blocked[:] = False


@jit
def _admit(upto, i_next, n, arr_t, arr_vm, cap, in_system, blocked, qhead, qtail, qlen, link):
    """Admit every arrival with time <= ``upto`` to its VM's FIFO list (blocked at a full system)."""
    while i_next < n and arr_t[i_next] <= upto:
        job = i_next
        i_next += 1
        if cap >= 0 and in_system >= cap:
            blocked[job] = True
            continue
        in_system += 1
        v = arr_vm[job]
        link[job] = -1
        if qtail[v] < 0:
            qhead[v] = job
        else:
            link[qtail[v]] = job
        qtail[v] = job
        qlen[v] += 1
    return i_next, in_system


@jit
def _pop(v, qhead, qtail, qlen, link):
    job = qhead[v]
    qhead[v] = link[job]
    if qhead[v] < 0:
        qtail[v] = -1
    qlen[v] -= 1
    return job


@jit
def run_polling(arr_t, arr_vm, size, n, covered, cap, discipline, limit, switch, switch_count, stream_of,
                stop_kind, stop_count, stop_time, start, depart, blocked, order, switch_used):
    """Cyclic polling of ``stream_of.size`` VMs on one pCPU (see the module docstring).

    ``discipline``: EXHAUSTIVE, GATED or LIMITED (``limit`` jobs per visit);
    ``switch[r, :switch_count[r]]``: the drawn switchover times of stream r,
    ``stream_of[v]``: the stream of the move after visiting VM v;
    ``switch_used`` (output): how many numbers each stream gave.  Other
    arguments and the result as for the kernels of :mod:`.kernels`; the
    status is ``NEED_SWITCHOVERS`` when a stream ran out.
    """
    nvm = stream_of.size
    qhead = np.full(nvm, -1, dtype=np.int64)
    qtail = np.full(nvm, -1, dtype=np.int64)
    qlen = np.zeros(nvm, dtype=np.int64)
    link = np.empty(n, dtype=np.int64)
    for r in range(switch_used.size):
        switch_used[r] = 0
    in_system = 0
    i_next = 0
    ndep = 0
    now = 0.0
    if stop_kind == STOP_TIME and stop_time > covered:
        return NEED_MORE, 0, 0, 0.0
    i = 0
    # the next event is at ``end``: the end of job ``serving``'s service, or (serving < 0) the start
    # of a visit to VM i; the first visit is to VM 0 at time 0
    serving = -1
    end = 0.0
    todo = -1
    served = 0
    while True:
        if stop_kind == STOP_TIME and end >= stop_time:
            now = stop_time  # the arrivals up to the end are admitted, as records() does
            i_next, in_system = _admit(now, i_next, n, arr_t, arr_vm, cap, in_system, blocked,
                                       qhead, qtail, qlen, link)
            return OK, i_next, ndep, now
        if end >= covered:
            return NEED_MORE, i_next, ndep, now
        now = end
        # the arrivals due (during a service: before its departure is recorded)
        i_next, in_system = _admit(now, i_next, n, arr_t, arr_vm, cap, in_system, blocked, qhead, qtail, qlen, link)
        stop_here = False
        if serving >= 0:
            depart[serving] = now
            order[ndep] = serving
            ndep += 1
            in_system -= 1
            served += 1
            serving = -1
            stop_here = stop_kind == STOP_DEPARTURES and ndep >= stop_count
        else:
            # a visit to VM i. exhaustive: no bound (-1); gated: the jobs present now; limited: ``limit``
            todo = qlen[i] if discipline == GATED else (limit if discipline == LIMITED else -1)
            served = 0
        if qlen[i] > 0 and (todo < 0 or served < todo):
            serving = _pop(i, qhead, qtail, qlen, link)
            start[serving] = now
            end = now + size[serving]
        if stop_here:
            # simpy stops once the process has gone on to its next yield: the visit's next job (if
            # any) has started at this instant
            return OK, i_next, ndep, now
        if serving >= 0:
            continue
        # the switchover after VM i, and while the next VM's queue is empty and no arrival is due before
        # the move ends, the next one added to it (now < covered, so arr_t[i_next] is known)
        total = 0.0
        while True:
            r = stream_of[i]
            if switch_used[r] >= switch_count[r]:
                return NEED_SWITCHOVERS, i_next, ndep, now
            total += switch[r, switch_used[r]]  # 0.0 + x == x: the first draw as simpy takes it
            switch_used[r] += 1
            i = i + 1 if i + 1 < nvm else 0
            if not (qlen[i] == 0 and now + total < arr_t[i_next]):
                break
        end = now + total
