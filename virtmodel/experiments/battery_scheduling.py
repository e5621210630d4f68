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
from .registry import HEAVY, Check, battery_area

__all__ = ["scheduling_checks"]


#: run lengths (x the battery's customers) at loads 0.5 and 0.8, per policy: sized from a measured
#: run (``python3 benchmarks/validation_power.py size``) so that each mean delay detects a 1 % error
#: at the default size, exponential and H2 alike; load 0.95 runs HEAVY (about 1.5-3 %)
LENGTHS = {"SJF": (8, 20), "SRPT": (4, 15), "PSJF": (5, 20), "priority": (12, 60), "preemptive priority": (8, 60),
           "PS": (4, 40), "RR q=0.1": (3, 25), "RR q=0.1 switch 0.005": (3, 25), "delay-dependent b=(2,1)": (10, 60)}


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
                length = HEAVY if load >= 0.95 else LENGTHS[label][0 if load <= 0.5 else 1]
                checks.append(Check(f"{label}, {service_label}, load {load}", sc, length))
    return checks


def _mean_dispatches(service, quantum):
    """E[ceil(X / quantum)] = sum_k P(X > k quantum), the dispatches a job needs under round robin."""
    k = np.arange(0, 200_000)
    return float(np.sum(1 - np.asarray(service.cdf(k * quantum))))
