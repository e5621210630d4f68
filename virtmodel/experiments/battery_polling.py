"""Validation-battery entries for cyclic polling (VMs time-sliced on one pCPU with world switches).

:func:`polling_checks` returns :class:`~virtmodel.experiments.registry.Check`
entries with exact closed forms: symmetric exhaustive and gated systems
(Takagi 1986) and asymmetric exhaustive and gated systems, whose exact per-VM
waits come from the buffer-occupancy method (Takagi 1988) and whose
work-weighted wait is the Boxma-Groenendijk pseudo-conservation law.  Four of
the asymmetric settings have unequal loads, unequal service laws (Erlang, H2,
exponential, deterministic, lognormal) and a switchover law per VM.
"""

from __future__ import annotations

from ..dists import Deterministic, Erlang, Exponential, HyperExponential, LogNormal, Uniform
from ..policies import Polling
from ..scenario import VM, Scenario
from .registry import Check, battery_area

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


def _per_vm_switch(discipline: str, load: float) -> Scenario:
    # unequal loads 1 : 2 : 3, Erlang-3, H2 (scv 4) and exponential jobs, one switchover law per VM
    services = [Erlang(3, 3.0), HyperExponential.balanced(1.0, 4.0), Exponential(2.0)]
    shares = [1 / 6, 2 / 6, 3 / 6]
    vms = [VM(name, Exponential(share * load / s.mean), s)
           for name, share, s in zip(("erlang", "h2", "exp"), shares, services, strict=True)]
    switch = {"erlang": Deterministic(0.05), "h2": Exponential(1 / 0.2), "exp": Uniform(0.1, 0.5)}
    return Scenario(1, vms, policy=Polling(discipline, switchover=switch))


def _two_unlike(discipline: str) -> Scenario:
    # a heavy H2 (scv 4) VM and a light Erlang-2 VM at load 0.75, very unequal switchovers
    vms = [VM("heavy", Exponential(0.6), HyperExponential.balanced(1.0, 4.0)),
           VM("light", Exponential(0.3), Erlang(2, 4.0))]
    switch = {"heavy": Erlang(2, 20.0), "light": LogNormal(0.5, 1.0)}
    return Scenario(1, vms, policy=Polling(discipline, switchover=switch))


@battery_area("polling")
def polling_checks() -> list[Check]:
    """Symmetric exhaustive/gated polling (3 VMs, load 0.6) and asymmetric exact per-VM waits.

    Run lengths: the symmetric checks detect a 1 % error in their mean waits at the default size;
    the asymmetric ones run 6x (about 1.2-2 %: 1 % would need 3-7x more, measured, at about
    4 microseconds per customer on one core; docs/validation_power.md).
    """
    return [
        Check("polling exhaustive, 3 alike VMs, load 0.6", _symmetric("exhaustive"), 4),
        Check("polling gated, 3 alike VMs, load 0.6", _symmetric("gated"), 3),
        Check("polling exhaustive, 3 unlike VMs, load 0.7", _asymmetric("exhaustive"), 6),
        Check("polling gated, 3 unlike VMs, load 0.7", _asymmetric("gated"), 6),
        Check("polling exhaustive, Erlang/H2/exp VMs, per-VM switches, load 0.6", _per_vm_switch("exhaustive", 0.6), 6),
        Check("polling gated, Erlang/H2/exp VMs, per-VM switches, load 0.8", _per_vm_switch("gated", 0.8), 6),
        Check("polling exhaustive, heavy H2 + light Erlang VM, per-VM switches, load 0.75",
              _two_unlike("exhaustive"), 6),
        Check("polling gated, heavy H2 + light Erlang VM, per-VM switches, load 0.75", _two_unlike("gated"), 6),
    ]
