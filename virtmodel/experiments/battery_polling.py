"""Validation-battery entries for cyclic polling (VMs time-sliced on one pCPU with world switches).

:func:`polling_checks` returns :class:`~virtmodel.experiments.validation.Check`
entries with exact closed forms: symmetric exhaustive and gated systems (exact
per-VM waits, Takagi 1986) and asymmetric exhaustive and gated systems (the
work-weighted wait from the Boxma-Groenendijk pseudo-conservation law).
"""

from __future__ import annotations

from ..dists import Deterministic, Exponential, HyperExponential
from ..policies import Polling
from ..scenario import VM, Scenario
from .validation import Check

__all__ = ["polling_checks"]


def _symmetric(discipline: str, load: float = 0.6, n: int = 3) -> Scenario:
    service = Exponential(1.0)
    lam = load / (n * service.mean)
    vms = [VM(f"vm{i}", Exponential(lam), service) for i in range(n)]
    return Scenario(1, vms, policy=Polling(discipline, switchover=Exponential(1 / 0.3)))


def _asymmetric(discipline: str, load: float = 0.7) -> Scenario:
    # work shares 2 : 5 : 7 of the load; exponential, deterministic and H2 (scv 4) jobs
    services = [Exponential(1.0), Deterministic(1.0), HyperExponential.balanced(2.0, 4.0)]
    shares = [2 / 14, 5 / 14, 7 / 14]
    vms = [VM(name, Exponential(share * load / s.mean), s)
           for name, share, s in zip(("a", "b", "c"), shares, services, strict=True)]
    return Scenario(1, vms, policy=Polling(discipline, switchover=Deterministic(0.3)))


def polling_checks() -> list[Check]:
    """Symmetric exhaustive/gated polling (3 VMs, load 0.6) and asymmetric pseudo-conservation (load 0.7)."""
    return [
        Check("polling exhaustive, 3 alike VMs, load 0.6", _symmetric("exhaustive")),
        Check("polling gated, 3 alike VMs, load 0.6", _symmetric("gated")),
        Check("polling exhaustive, 3 unlike VMs, load 0.7 (pseudo-conservation)", _asymmetric("exhaustive")),
        Check("polling gated, 3 unlike VMs, load 0.7 (pseudo-conservation)", _asymmetric("gated")),
    ]
