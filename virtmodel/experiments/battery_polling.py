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

__all__ = ["polling_checks", "ASYMMETRIC_SIZES"]


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


#: (customers, replications) factors of the asymmetric checks.  Sized in three passes: from the default
#: run before the compiled polling kernel (lengths 6, 30 replications) for 0.9 % at the whole battery's
#: family-wise level (1 - 0.05/1,568 rows); from the first run at those sizes (``--area polling``:
#: largest mean-delay detectable error 1.09 %, gated/unlike) 1.2x longer, 2x for gated/unlike, which
#: gave at most 0.79 % with ``--area polling``, about 0.92 % at the whole battery's level (its
#: Student-t factor is 1.16-1.19x that of the area's 188 rows); then 1.3x that, for about 0.8 % in the
#: whole battery, because the replication means of the H2 and lognormal systems scatter and their
#: half-widths vary by about +-20 % from seed to seed (the battery's seeds are ``seed + index``).  More
#: replications rather than more customers: a smaller t factor (4.5 with 90 replications against 4.9
#: with 30, whole battery) and less memory per replication (``--full``: at most 21.5 M customers).
ASYMMETRIC_SIZES = {
    ("exhaustive", "unlike"): (32, 3), ("gated", "unlike"): (17, 3),
    ("exhaustive", "per-VM"): (17, 3), ("gated", "per-VM"): (37, 3),
    ("exhaustive", "two"): (43, 3), ("gated", "two"): (24, 3),
}


@battery_area("polling")
def polling_checks() -> list[Check]:
    """Symmetric exhaustive/gated polling (3 VMs, load 0.6) and asymmetric exact per-VM waits.

    Run lengths: every check's mean waits and responses detect about 0.7 % at the default size
    with ``--area polling``, about 0.8 % family-wise over the whole battery
    (:data:`ASYMMETRIC_SIZES`; the symmetric checks run 7x and 8x the customers).  They run on the compiled engine
    (:mod:`virtmodel.sim.compiled.polling`, job for job the simpy model), about 0.17 microseconds
    of CPU per customer simulated (the simpy model: about 2.9); docs/validation_power.md.
    """
    def sized(label, scenario, kind):
        length, replications = ASYMMETRIC_SIZES[scenario.policy.discipline, kind]
        return Check(label, scenario, length, replications=replications)

    return [
        Check("polling exhaustive, 3 alike VMs, load 0.6", _symmetric("exhaustive"), 7),
        Check("polling gated, 3 alike VMs, load 0.6", _symmetric("gated"), 8),
        sized("polling exhaustive, 3 unlike VMs, load 0.7", _asymmetric("exhaustive"), "unlike"),
        sized("polling gated, 3 unlike VMs, load 0.7", _asymmetric("gated"), "unlike"),
        sized("polling exhaustive, Erlang/H2/exp VMs, per-VM switches, load 0.6", _per_vm_switch("exhaustive", 0.6),
              "per-VM"),
        sized("polling gated, Erlang/H2/exp VMs, per-VM switches, load 0.8", _per_vm_switch("gated", 0.8), "per-VM"),
        sized("polling exhaustive, heavy H2 + light Erlang VM, per-VM switches, load 0.75",
              _two_unlike("exhaustive"), "two"),
        sized("polling gated, heavy H2 + light Erlang VM, per-VM switches, load 0.75", _two_unlike("gated"), "two"),
    ]
