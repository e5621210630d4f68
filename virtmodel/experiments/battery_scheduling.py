"""Battery entries for the scheduling area: every scheduling policy on one pCPU shared by two VMs.

:func:`scheduling_checks` returns :class:`~virtmodel.experiments.registry.Check`
entries: two VMs (priority 0 and 1) splitting the load evenly on one pCPU,
under SJF, SRPT, PSJF, non-preemptive and preemptive priority, processor
sharing, round robin (with and without a switch cost) and delay-dependent
priority, at loads 0.5, 0.8 and 0.95 with exponential and with
high-variance (H2, scv 4) service.
"""

from __future__ import annotations

import numpy as np

from .. import policies as P
from ..dists import Exponential, HyperExponential
from ..scenario import VM, Scenario
from .registry import Check, battery_area

__all__ = ["scheduling_checks"]


#: run lengths (x the battery's customers) at loads 0.5, 0.8 and 0.95 per (policy, service), each with
#: REPLICATIONS x the battery's replications: sized from a measured default run (docs/validation_power.md;
#: length_new = length_old x (detectable error / 0.8 %)^2 / 2, the 0.8 % leaving room for the +-13 %
#: noise of a 30-replication estimate; where the re-sized run then measured above 0.9 %, raised again
#: from that run) so that every mean delay detects a 1 % error at the default size.  Load 0.95: 1 %
#: where it costs at most about 60 CPU-s (SJF, SRPT and PSJF with exponential service,
#: delay-dependent exp); the others would need 70-370 CPU-s each (priority H2 174 s, preemptive
#: priority H2 367 s; measured at workers=1 on the shared 2-core machine), so they run about 30 CPU-s
#: and detect 1.4-3.8 % (docs/validation_power.md gives every figure).  Measured at load 0.95 (largest
#: mean delay, family-wise; exp / H2): SJF 0.84 / 0.88 %, SRPT 0.86 / 1.69 %, PSJF 0.79 / 1.87 %,
#: priority 1.46 / 1.97 %, preemptive 1.86 / 3.75 %, PS 1.39 / 2.56 %, RR 1.76 %, RR with switch
#: cost 1.86 %, delay-dependent 0.91 / 2.45 %; 1 % would cost (exp / H2, CPU-s) priority 110 / 174,
#: preemptive 113 / 367, PS 74 / 149, RR 70-86, SRPT - / 118, PSJF - / 121, delay-dependent - / 151.
#: Then every load-0.95 check above 1.6 % was lengthened by (measured / 1.5 %)^2 so that a 2 % error
#: fails every row (the project's power rule), measured at the default size and the battery's seeds
#: (all rows inside their family-wise intervals; largest mean delay, CPU-s with workers=2 on the
#: shared machine): SRPT H2 1.39 % (45 s), PSJF H2 1.43 % (49), priority H2 1.69 % (87), preemptive
#: exp 1.64 % (51), preemptive H2 1.37 % (236), PS H2 1.38 % (111), RR 1.59 % (41), RR with switch
#: cost 1.59 % (50), delay-dependent H2 1.57 % (106).
#: Then (issue 18: validate detects 1 %) the 11 load-0.95 checks still above 1 % were lengthened by
#: (measured / 0.85 %)^2 from those figures (priority exp 1.46 % at 70 and PS exp 1.39 % at 50 from
#: the default run): SRPT H2 40 -> 107, PSJF H2 40 -> 113, priority exp 70 -> 207, H2 120 -> 474,
#: preemptive exp 46 -> 171, H2 160 -> 416, PS exp 50 -> 134, H2 130 -> 343, RR 48 -> 168, RR with
#: switch cost 54 -> 189, delay-dependent H2 160 -> 546; re-run at the default size and the battery's
#: seeds: every row inside its family-wise interval, largest mean delay 0.69-0.96 %, about 2,670 CPU-s
#: for the 11 (was about 900; docs/validation_power.md gives every check).
#: Round robin with H2 service has no exact form (the PS approximation, rows never fail): it runs only
#: long enough to show the approximation's error
LENGTHS = {
    ("SJF", "exp"): (4, 10, 70), ("SJF", "H2 scv 4"): (9, 8.5, 70),
    ("SRPT", "exp"): (0.6, 4, 70), ("SRPT", "H2 scv 4"): (2, 8, 107),
    ("PSJF", "exp"): (0.7, 4.5, 50), ("PSJF", "H2 scv 4"): (2.5, 10, 113),
    ("priority", "exp"): (6, 20, 207), ("priority", "H2 scv 4"): (20, 45, 474),
    ("preemptive priority", "exp"): (1.3, 13.5, 171), ("preemptive priority", "H2 scv 4"): (8, 38, 416),
    ("PS", "exp"): (2, 8, 134), ("PS", "H2 scv 4"): (5, 40, 343),
    ("RR q=0.1", "exp"): (1.5, 10, 168), ("RR q=0.1", "H2 scv 4"): (1, 3, 5),
    ("RR q=0.1 switch 0.005", "exp"): (2, 9, 189), ("RR q=0.1 switch 0.005", "H2 scv 4"): (1, 3, 5),
    ("delay-dependent b=(2,1)", "exp"): (5, 15, 120), ("delay-dependent b=(2,1)", "H2 scv 4"): (20, 40, 546),
}

#: replications of every scheduling check, x the battery's (60 at the default size): for the same
#: customers in total, the family-wise Student-t factor falls from 4.9 (30) to 4.5 (60), 16 % less CPU
REPLICATIONS = 2


@battery_area("scheduling")
def scheduling_checks() -> list[Check]:
    """Two VMs (priority 0 and 1) splitting the load evenly on one pCPU, under each policy."""
    policies = [
        ("SJF", P.SJF()), ("SRPT", P.SRPT()), ("PSJF", P.PSJF()),
        ("priority", P.Priority(preemptive=False)), ("preemptive priority", P.Priority(preemptive=True)),
        ("PS", P.ProcessorSharing()), ("RR q=0.1", P.RoundRobin(0.1)),
        ("RR q=0.1 switch 0.005", P.RoundRobin(0.1, switch_cost=0.005)),
        ("delay-dependent b=(2,1)", P.DelayDependentPriority(slope={"a": 2.0, "b": 1.0})),
    ]
    services = [("exp", Exponential(1.0)), ("H2 scv 4", HyperExponential.balanced(1.0, 4.0))]
    checks = []
    for label, policy in policies:
        for service_label, service in services:
            for load in (0.5, 0.8, 0.95):
                # with a switch cost the pCPU also carries overhead: keep the total load as stated
                work = load
                if isinstance(policy, P.RoundRobin) and policy.switch_cost:
                    work = load / (1 + _mean_dispatches(service, policy.quantum) * policy.switch_cost)
                lam = work / service.mean / 2
                vms = [VM("a", Exponential(lam), service, priority=0),
                       VM("b", Exponential(lam), service, priority=1)]
                sc = Scenario(1, vms, policy=policy)
                length = LENGTHS[label, service_label][(0.5, 0.8, 0.95).index(load)]
                checks.append(Check(f"{label}, {service_label}, load {load}", sc, length,
                                    replications=REPLICATIONS))
    return checks


def _mean_dispatches(service, quantum):
    """E[ceil(X / quantum)] = sum_k P(X > k quantum), the dispatches a job needs under round robin."""
    k = np.arange(0, 200_000)
    return float(np.sum(1 - np.asarray(service.cdf(k * quantum))))
