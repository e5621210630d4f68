"""Battery entries for the queues area: single-station FCFS queues with exact closed forms.

:func:`queue_checks` returns :class:`~virtmodel.experiments.registry.Check`
entries: M/M/1 at loads 0.5, 0.8 and 0.95, M/M/4, M/D/1, M/H2/1 (scv 4),
M/M/1/10, the Erlang loss system M/M/3/3, Erlang-A (M/M/2+M) and two VMs
sharing one pCPU (an M/G/1 with a mixed service law).
"""

from __future__ import annotations

from dataclasses import replace

from ..dists import Deterministic, Exponential, HyperExponential
from ..scenario import VM, Scenario
from .registry import Check, battery_area

__all__ = ["queue_checks"]

#: replications of every queues check, x the battery's (60 at the default size): the family-wise
#: Student-t factor falls from 4.9 (30) to 4.5 (60) for the same customers in total
REPLICATIONS = 2


def _single(load, service, servers=1, capacity=None):
    lam = load * servers / service.mean
    return Scenario(servers, [VM("vm", Exponential(lam), service)], capacity=capacity)


@battery_area("queues")
def queue_checks() -> list[Check]:
    """Single-station FCFS queues: M/M/1, M/M/4, M/D/1, M/H2/1, M/M/1/10, Erlang loss, Erlang-A, two VMs.

    Run lengths (the third argument; every check runs REPLICATIONS x the battery's replications) are
    sized from a measured run so that each mean delay detects a 1 % error at the default size (sized
    for 0.8 %, as in :data:`~virtmodel.experiments.battery_scheduling.LENGTHS`, and raised where the
    re-sized run measured above 0.9 %), M/M/1 at load 0.95 included (about 35 CPU-s).
    """
    exp1 = Exponential(1.0)
    checks = [
        Check("M/M/1 load 0.5", _single(0.5, exp1), 5),
        Check("M/M/1 load 0.8", _single(0.8, exp1), 15),
        Check("M/M/1 load 0.95", _single(0.95, exp1), 135),
        Check("M/M/4 load 0.8", _single(0.8, exp1, servers=4), 25),
        Check("M/D/1 load 0.8", _single(0.8, Deterministic(1.0)), 8),
        Check("M/H2/1 scv 4 load 0.7", _single(0.7, HyperExponential.balanced(1.0, 4.0)), 15),
        Check("M/M/1/10 load 0.9", _single(0.9, exp1, capacity=10), 2),
        Check("M/M/3/3 Erlang loss load 0.7", _single(0.7, exp1, servers=3, capacity=3), 0.5),
        Check("M/M/2+M Erlang-A load 1.2 (patience mean 2)", Scenario(2, [
            VM("vm", Exponential(2.4), exp1, patience=Exponential(0.5))]), 0.85),
        Check("two VMs on one pCPU (exp + H2)", Scenario(1, [
            VM("web", Exponential(0.4), exp1),
            VM("batch", Exponential(0.2), HyperExponential.balanced(2.0, 4.0)),
        ]), 35),
    ]
    return [replace(c, replications=REPLICATIONS) for c in checks]
