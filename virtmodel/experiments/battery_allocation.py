"""Validation checks for long-run CPU shares: ProportionalShare and Credit.

Each scenario has a saturated host (``allow_overload=True``): some VMs
always have work, so only their long-run shares (``utilization``,
``throughput``) are predicted, by the weighted water-filling of
:func:`virtmodel.analytic.allocation.long_run_shares` (exactly for
ProportionalShare; for Credit, Xen's accounting with weight per active vCPU,
marked approximate -- see ``docs/xen_credit1.md``).  Every VM
departs jobs at a positive rate, so the battery's ``simulate(customers=N)``
works (N departures in total).  Credit scenarios use seconds and 5 ms jobs
against Xen's 30 ms time slice and 10 ms tick.
"""

from __future__ import annotations

from dataclasses import replace

from .. import policies as P
from ..dists import Exponential, HyperExponential
from ..scenario import VM, Scenario
from .registry import Check, battery_area

__all__ = ["allocation_checks"]

_JOB = 0.005  # seconds

#: run length of the share checks (x the battery's customers)
SHARE_LENGTH = 0.35


def _vms(rates, vcpus, service):
    return [VM(f"vm{i}", Exponential(r), service, vcpus=v) for i, (r, v) in enumerate(zip(rates, vcpus, strict=True))]


@battery_area("allocation")
def allocation_checks() -> list[Check]:
    """Long-run shares: weights, a light VM, vCPU ceilings, caps (non-work-conserving)."""
    exp = Exponential(1.0)
    h2 = HyperExponential.balanced(1.0, 4.0)
    job = Exponential(1 / _JOB)
    checks = [
        Check("proportional share 1:2:3, light VM, exp",
              Scenario(1, _vms([1.0, 1.0, 0.1], [1, 1, 1], exp),
                       policy=P.ProportionalShare({"vm0": 1, "vm1": 2, "vm2": 3}), allow_overload=True)),
        Check("proportional share 1:3, H2 scv 4",
              Scenario(1, _vms([1.0, 1.0], [1, 1], h2),
                       policy=P.ProportionalShare({"vm0": 1, "vm1": 3}), allow_overload=True)),
        Check("proportional share, 2 pCPUs, vCPU ceiling",
              Scenario(2, _vms([2.0, 2.0, 2.0], [1, 2, 2], exp),
                       policy=P.ProportionalShare({"vm0": 3}), allow_overload=True)),
        Check("credit 256:512:768, light VM, 5 ms jobs",
              Scenario(1, _vms([300, 300, 20], [1, 1, 1], job),
                       policy=P.Credit({"vm0": 256, "vm1": 512, "vm2": 768}), allow_overload=True)),
        Check("credit caps 20%/30% (host idles 40%), 5 ms jobs",
              Scenario(1, _vms([300, 300, 20], [1, 1, 1], job),
                       policy=P.Credit(caps={"vm0": 20, "vm1": 30}), allow_overload=True)),
        Check("credit 1:3 on 2 pCPUs, light VM, 5 ms jobs",
              Scenario(2, _vms([400, 400, 40], [2, 2, 1], job),
                       policy=P.Credit({"vm0": 100, "vm1": 300}), allow_overload=True)),
    ]
    # simpy only (about 10 microseconds a customer): a third of the battery's customers per replication keeps the
    # area's cost as it was with 10 replications; shares settle within a few accounting periods
    return [replace(c, length=SHARE_LENGTH) for c in checks]
