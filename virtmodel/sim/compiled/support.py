"""Which scenarios the compiled engine simulates: a whitelist, nothing else.

A scenario is supported only when its policy is one the kernels implement
(with every policy field known), every VM field is one the kernels handle
(fields added to :class:`~virtmodel.scenario.VM` or
:class:`~virtmodel.scenario.Scenario` later are unsupported unless left at
their default, found with :func:`dataclasses.fields`), every distribution
can be drawn in blocks ahead of time, interarrival times have a density (so
simultaneous events have probability zero: the kernels do not replay the
order in which simpy's event queue takes exactly simultaneous events; the
credit and LinuxFair kernels do, and take lattice interarrivals too), and
the simpy model still uses the
scheduler class whose decisions the kernels replay.  Anything else makes
``engine="compiled"`` raise and ``engine="auto"`` fall back to simpy.
"""

from __future__ import annotations

import dataclasses

from ... import dists
from ...policies import (
    FCFS,
    PSJF,
    SJF,
    SRPT,
    Credit,
    DelayDependentPriority,
    LinuxFair,
    Polling,
    Priority,
    ProcessorSharing,
    ProportionalShare,
    RoundRobin,
)
from ...scenario import Scenario

__all__ = ["unsupported_reason", "supports", "KERNEL_OF"]

#: policy class -> (kernel family, the fields the kernel knows, simpy scheduler class name it replays)
KERNEL_OF = {
    FCFS: ("whole", set(), "FCFSScheduler"),
    SJF: ("whole", set(), "SJFScheduler"),
    Priority: (None, {"preemptive"}, "PriorityScheduler"),  # whole or preemptive, by the flag
    DelayDependentPriority: ("whole", {"offset", "slope"}, "DelayDependentScheduler"),
    SRPT: ("preemptive", set(), "SRPTScheduler"),
    PSJF: ("preemptive", set(), "PSJFScheduler"),
    RoundRobin: ("round_robin", {"quantum", "switch_cost"}, "RoundRobinScheduler"),
    ProcessorSharing: ("processor_sharing", set(), "PSScheduler"),
    Polling: ("polling", {"discipline", "switchover", "limit"}, "PollingScheduler"),
    Credit: ("credit", {"weights", "caps", "timeslice", "tick", "ratelimit", "balance_ratelimit", "seconds_per_unit"},
             "CreditScheduler"),
    ProportionalShare: ("proportional_share", {"weights"}, "ProportionalShareScheduler"),
    LinuxFair: ("linux_fair", {"weights", "quota", "period", "burst", "base_slice", "seconds_per_unit"},
                "LinuxFairScheduler"),
}

#: VM fields the kernels handle; lifecycle fields only when unused (no stages, no events)
_VM_FIELDS = {"name", "arrival", "service", "priority", "vcpus", "patience"}  # patience: abandonment.patience_reason
_VM_LIFECYCLE = {"create", "configure", "boot", "warm_boot"}
_SCENARIO_FIELDS = {"pcpus", "vms", "policy", "capacity", "allow_overload"}

#: distributions whose ``sample`` is a pure function of the generator (drawn in blocks ahead of time)
_DRAWABLE = tuple(getattr(dists, name) for name in (
    "Exponential", "Erlang", "Gamma", "Deterministic", "HyperExponential", "LogNormal", "Uniform", "Empirical",
) if hasattr(dists, name))
#: integer laws allowed as the I/O exits of an ExitInflated service (sampled as the simpy model does)
_COUNTS = tuple(getattr(dists, name) for name in ("Poisson",) if hasattr(dists, name))
#: interarrival laws with a density: simultaneous events then have probability zero.  With lattice
#: interarrivals (Deterministic, Empirical) arrivals and departures coincide exactly, and the order
#: in which simpy's event queue takes simultaneous events (event ids across processes) is not replayed
_CONTINUOUS = tuple(getattr(dists, name) for name in (
    "Exponential", "Erlang", "Gamma", "HyperExponential", "LogNormal", "Uniform",
) if hasattr(dists, name))
#: kernel families that replay simpy's order of simultaneous events (its event ids) and so take lattice
#: interarrivals too: the credit kernel's event core (:mod:`.credit`), the LinuxFair kernel (:mod:`.linux_fair`)
_ORDERS_TIES = ("credit", "linux_fair")


def _default(f):
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def _changed(obj, f) -> bool:
    default = _default(f)
    value = getattr(obj, f.name)
    if default is dataclasses.MISSING:
        return True
    try:
        return bool(value != default)
    except Exception:  # noqa: BLE001 - an incomparable value is a change
        return True


def _polling_reason(scenario) -> str | None:
    """What the polling kernel cannot replay: several pCPUs, switchover laws not drawn in blocks."""
    if scenario.pcpus != 1:
        return f"Polling runs on one pCPU, got pcpus={scenario.pcpus}"
    policy = scenario.policy
    laws = policy.switchover.items() if isinstance(policy.switchover, dict) else [("every VM", policy.switchover)]
    for name, law in laws:
        if type(law) not in _DRAWABLE:
            return (f"Polling switchover law {type(law).__name__} ({name}) is not drawn ahead by the compiled "
                    f"engine (supported: {', '.join(d.__name__ for d in _DRAWABLE)})")
    return None


def unsupported_reason(scenario) -> str | None:
    """Why the compiled engine cannot simulate ``scenario`` (None when it can).

    Examples
    --------
    >>> import virtmodel as vm
    >>> from virtmodel.dists import Exponential
    >>> sc = vm.Scenario(1, [vm.VM("a", Exponential(0.5), Exponential(1.0))])
    >>> unsupported_reason(sc) is None
    True
    """
    if not isinstance(scenario, Scenario):
        return f"the compiled engine simulates a virtmodel.Scenario, got {type(scenario).__name__}"
    if type(scenario) is not Scenario:
        return f"Scenario subclass {type(scenario).__name__} is not compiled"
    policy = scenario.policy
    entry = KERNEL_OF.get(type(policy))
    if entry is None:
        return f"policy {type(policy).__name__} has no compiled kernel"
    _, known, scheduler = entry
    for f in dataclasses.fields(policy):
        if f.name not in known and _changed(policy, f):
            return f"policy field {type(policy).__name__}.{f.name}={getattr(policy, f.name)!r} is not compiled"
    from .. import schedulers

    impl = schedulers._REGISTRY.get(type(policy))
    if impl is None or impl.__name__ != scheduler:
        return (f"the simpy model simulates {type(policy).__name__} with "
                f"{getattr(impl, '__name__', None)}, the kernel replays {scheduler}")
    if type(policy) is Polling:
        reason = _polling_reason(scenario)
        if reason is not None:
            return reason
    for f in dataclasses.fields(scenario):
        if f.name == "events":
            if scenario.events:
                return "lifecycle events are not compiled"
        elif f.name not in _SCENARIO_FIELDS and _changed(scenario, f):
            return f"Scenario.{f.name}={getattr(scenario, f.name)!r} is not compiled"
    for vm in scenario.vms:
        for f in dataclasses.fields(vm):
            if f.name in _VM_FIELDS:
                continue
            if f.name in _VM_LIFECYCLE:
                if getattr(vm, f.name) is not None:
                    return f"VM {vm.name!r}: lifecycle stage {f.name} is not compiled"
            elif _changed(vm, f):
                return f"VM {vm.name!r}: {f.name}={getattr(vm, f.name)!r} is not compiled"
        for attr in ("arrival", "service"):
            dist = getattr(vm, attr)
            if not _drawable(dist):
                return (f"VM {vm.name!r}: {attr} distribution {_law_name(dist)} is not drawn ahead "
                        f"by the compiled engine (supported: {', '.join(d.__name__ for d in _DRAWABLE)}, "
                        "and ExitInflated of those)")
        if type(vm.arrival) not in _CONTINUOUS and entry[0] not in _ORDERS_TIES:
            return (f"VM {vm.name!r}: interarrival distribution {type(vm.arrival).__name__} makes events "
                    "coincide exactly, and the compiled engine does not replay how simpy orders simultaneous "
                    f"events (continuous interarrivals: {', '.join(d.__name__ for d in _CONTINUOUS)})")
    from .abandonment import patience_reason

    return patience_reason(scenario, entry[0] or ("preemptive" if policy.preemptive else "whole"))


def _drawable(dist) -> bool:
    """Whether ``dist.sample(rng, n)`` is a pure function of the generator, so that a block drawn ahead
    is the block the simpy model draws: a law of :data:`_DRAWABLE`, or
    :class:`~virtmodel.overhead.ExitInflated` (virtualization exits) built from such laws, whose
    ``sample`` draws S, the exit counts and their costs from the one generator, block by block."""
    from ...overhead import ExitInflated

    if type(dist) is ExitInflated:
        return (_drawable(dist.base) and _drawable(dist.exit_cost)
                and (dist.io_exits is None or type(dist.io_exits) in _COUNTS))
    return type(dist) in _DRAWABLE


def _law_name(dist) -> str:
    """The class name of ``dist``, with the parts of an ExitInflated law (to say which part is not drawn ahead)."""
    from ...overhead import ExitInflated

    if type(dist) is ExitInflated:
        parts = [_law_name(dist.base), _law_name(dist.exit_cost)] + ([] if dist.io_exits is None else
                                                                      [_law_name(dist.io_exits)])
        return f"ExitInflated({', '.join(parts)})"
    return type(dist).__name__


def supports(scenario) -> bool:
    """Whether ``engine="compiled"`` simulates ``scenario`` (what ``engine="auto"`` checks)."""
    return unsupported_reason(scenario) is None
