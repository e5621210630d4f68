"""Vectorised fast path for FCFS on one pCPU: Lindley's recursion in numpy.

For a single FCFS server the waiting time of customer n obeys Lindley's
recursion (Lindley 1952; Asmussen, *Applied Probability and Queues*, 2nd ed.,
2003, §III.6)

    W_0 = 0,   W_n = max(0, W_{n-1} + S_{n-1} - A_n),

with S the service times and A_n the time between arrivals n-1 and n.  Its
solution is a running minimum of partial sums, P_n = sum_{k<=n} (S_{k-1} - A_k),
W_n = P_n - min(0, min_{k<=n} P_k), which numpy computes with ``cumsum`` and
``minimum.accumulate``.  :class:`FastFCFS` draws the same numbers as the simpy
model (same streams, same blocks), merges the VMs' arrival streams, and
returns the same :class:`~virtmodel.sim.vmm.Records`; the tests prove the
waits agree customer by customer.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InvalidParameter
from ..policies import FCFS
from .streams import ARRIVAL, SERVICE, draw_n, vm_rng
from .vmm import Records

__all__ = ["lindley_waits", "FastFCFS", "supports"]

_CHUNK = 1 << 16


def lindley_waits(interarrivals, services) -> np.ndarray:
    """Waiting times of a FCFS single-server queue that starts empty.

    Parameters
    ----------
    interarrivals : array_like
        ``interarrivals[n]`` is the time between arrivals n-1 and n
        (``interarrivals[0]``, the first arrival's time, does not matter).
    services : array_like
        Service time of each customer, same length.

    Examples
    --------
    >>> lindley_waits([0.0, 1.0, 1.0], [3.0, 1.0, 1.0]).tolist()
    [0.0, 2.0, 2.0]
    """
    a = np.asarray(interarrivals, dtype=float)
    s = np.asarray(services, dtype=float)
    if a.shape != s.shape or a.ndim != 1:
        raise InvalidParameter(
            f"interarrivals and services must be 1-d and of equal length, got shapes {a.shape} and {s.shape}"
        )
    waits = np.zeros(s.size)
    if s.size < 2:
        return waits
    steps = s[:-1] - a[1:]
    carry = 0.0
    # chunks keep the partial sums small, so rounding does not grow with n
    for lo in range(0, steps.size, _CHUNK):
        partial = carry + np.cumsum(steps[lo : lo + _CHUNK])
        w = partial - np.minimum(np.minimum.accumulate(partial), 0.0)
        waits[lo + 1 : lo + 1 + w.size] = w
        carry = w[-1]
    return waits


def supports(scenario) -> bool:
    """Whether the fast path simulates ``scenario`` exactly (FCFS, one pCPU, no capacity limit,
    no patience, no replayed trace)."""
    return (isinstance(scenario.policy, FCFS) and scenario.pcpus == 1 and scenario.capacity is None
            and not scenario.has_patience and not scenario.replays)


class FastFCFS:
    """Drop-in for :class:`~virtmodel.sim.vmm.Hypervisor` for FCFS on one pCPU.

    Same constructor and the ``run_until_departures`` / ``run_until`` /
    ``records`` methods; the state at the stopping time is rebuilt from the
    vectorised recursion.
    """

    def __init__(self, scenario, seed, replication: int = 0):
        if not supports(scenario):
            raise InvalidParameter(
                f"engine='fast' needs FCFS on one pCPU without a capacity limit, patience or replayed trace, "
                f"got policy {scenario.policy!r}, pcpus={scenario.pcpus}, capacity={scenario.capacity}, "
                f"patience={scenario.has_patience}, trace={scenario.replays}"
            )
        self.scenario = scenario
        self.seed = seed
        self.replication = replication
        self._stop: tuple[str, float] = ("time", 0.0)
        self.departures = 0

    def run_until_departures(self, count: int) -> None:
        self._stop = ("departures", count)
        self.departures = count

    def run_until(self, time: float) -> None:
        self._stop = ("time", float(time))

    def _arrivals(self, per_vm: list[int]):
        times, vms, sizes, covered = [], [], [], math.inf
        for i, vm in enumerate(self.scenario.vms):
            t = np.cumsum(draw_n(vm.arrival, vm_rng(self.seed, self.replication, i, ARRIVAL), per_vm[i]))
            times.append(t)
            sizes.append(draw_n(vm.service, vm_rng(self.seed, self.replication, i, SERVICE), per_vm[i]))
            vms.append(np.full(t.size, i, dtype=np.int64))
            covered = min(covered, t[-1])
        t = np.concatenate(times)
        order = np.argsort(t, kind="stable")
        keep = order[t[order] <= covered]
        return t[keep], np.concatenate(vms)[keep], np.concatenate(sizes)[keep], covered

    def records(self) -> Records:
        kind, stop = self._stop
        rate = self.scenario.arrival_rate
        guess = stop * 1.1 + 64 if kind == "departures" else stop * rate * 1.1 + 64
        while True:
            per_vm = [int(guess * vm.arrival_rate / rate) + 64 for vm in self.scenario.vms]
            arr, vm, size, covered = self._arrivals(per_vm)
            inter = np.diff(arr, prepend=0.0)
            start = arr + lindley_waits(inter, size)
            depart = start + size
            if kind == "departures":
                if arr.size >= stop and depart[stop - 1] < covered:
                    now = depart[stop - 1]
                    break
            elif covered > stop:
                now = stop
                break
            guess *= 2
        keep = arr <= now
        arr, vm, size, start, depart = arr[keep], vm[keep], size[keep], start[keep], depart[keep]
        # a start equal to ``now`` may round one ulp above it in the partial sums
        start = np.where(start <= now * (1 + 1e-12), start, np.nan)
        depart = np.where(depart <= now, depart, np.nan)
        order = np.flatnonzero(~np.isnan(depart))  # one FCFS server: departures in arrival order
        return Records(arr, vm, size, start, depart, np.zeros(arr.size, dtype=bool), order, float(now))
