"""Battery entries for the admission area: cluster admission (loss) and the host allocation strategies.

``admission_checks()`` returns :class:`~virtmodel.experiments.registry.Check`
entries:

* one pooled host (:class:`virtmodel.Cluster` with ``hosts=1`` and memory
  that never binds): the simulated blocking of every flavour against
  Kaufman–Roberts (exact), with exponential and with lognormal (scv 4)
  lifetimes (insensitivity), one flavour against Erlang B, and a host
  whose memory binds against the two-resource stochastic knapsack;
* the *minimum* strategy (each VM on its reserved pCPUs only: dedicated
  M/M/r per VM) and the *dynamic* one (the pCPUs pooled and shared
  work-conservingly: M/M/c), the two latency closed forms of
  :func:`virtmodel.analytic.allocation.host_strategies`, as Scenarios.

Cluster checks are scenario kinds: ``simulate`` runs them as
``replications`` runs of ``Cluster.requests`` requests and ignores
``customers``.
"""

from __future__ import annotations

from ..cluster import Cluster, Flavour
from ..dists import Exponential, LogNormal
from ..scenario import VM, Scenario
from .registry import Check, battery_area

__all__ = ["admission_checks"]


def _flavours(lifetime):
    return [Flavour("small", 1, 1.0, 6.0, lifetime), Flavour("medium", 2, 4.0, 1.5, lifetime),
            Flavour("large", 4, 8.0, 0.6, lifetime)]


def _loss_checks() -> list[Check]:
    return [
        Check("one host, 16 slots, flavours 1/2/4 vCPU, exp lifetimes (Kaufman-Roberts)",
              Cluster(1, 16, 1e6, flavours=_flavours(Exponential(1.0)), requests=100_000)),
        Check("one host, 16 slots, flavours 1/2/4 vCPU, lognormal lifetimes scv 4 (Kaufman-Roberts)",
              Cluster(1, 16, 1e6, flavours=_flavours(LogNormal(1.0, 4.0)), requests=100_000)),
        Check("one host, 16 slots and 32 GB, memory binds (two-resource stochastic knapsack)",
              Cluster(1, 16, 32.0, requests=100_000, flavours=[
                  Flavour("cpu", 2, 1.0, 3.0, Exponential(1.0)), Flavour("mem", 1, 6.0, 2.0, Exponential(1.0)),
                  Flavour("mix", 4, 4.5, 0.8, Exponential(1.0))])),
        Check("one host, 10 slots, one flavour (Erlang B)",
              Cluster(1, 10, 1e6, flavours=[Flavour("a", 1, 1.0, 7.0, Exponential(1.0))], requests=100_000)),
    ]


def _strategy_checks(load=0.7) -> list[Check]:
    """Two VMs, reservations 2 pCPUs each, on a host of 4 pCPUs, per-VM load ``load`` of its reservation."""
    lam = 2 * load

    def vms(vcpus):
        return [VM(name, Exponential(lam), Exponential(1.0), vcpus=vcpus) for name in ("a", "b")]

    # sized for a 1 % error in each VM's mean wait at the default size (0.8 % from a measured run)
    return [
        Check(f"minimum allocation: 2 VMs on their 2 reserved pCPUs each (M/M/2 per VM), load {load}",
              Scenario(4, vms(2)), 26, replications=2),
        Check(f"dynamic allocation: 2 VMs sharing 4 pooled pCPUs (M/M/4), load {load}", Scenario(4, vms(None)), 16,
              replications=2),
    ]


@battery_area("admission")
def admission_checks() -> list[Check]:
    """Pooled-host blocking against Kaufman-Roberts / Erlang B; minimum vs dynamic latency."""
    return _loss_checks() + _strategy_checks()
