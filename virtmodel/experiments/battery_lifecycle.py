"""Validation-battery entries for the VM lifecycle before the first run (issue 16).

:func:`lifecycle_checks` returns :class:`~virtmodel.experiments.registry.Check`
entries: OS installs over a shared image server (processor sharing on the
link, k slots, capped streams) and from local ISO images, host bring-up
(static and dynamic module loading, hybrid and sequential initialisation of a
component DAG) and provisioning storms end to end (one exact composition and
one with bounds, ``exact=False``).  All are scenario kinds: ``simulate`` runs
them as independent replications and ignores ``customers``.
"""

from __future__ import annotations

from dataclasses import replace

from ..dists import Deterministic, Exponential, Uniform
from ..lifecycle import Component, HostBringUp, InstallFromMedia, InstallFromServer, InstallStorm, Module, Provisioning
from .registry import Check, battery_area

__all__ = ["lifecycle_checks"]


def _host(loading, initialisation):
    modules = [Module(f"m{i}", Uniform(0.5 * (i + 1), 1.5 * (i + 1))) for i in range(4)]
    components = [Component("mmu", Exponential(1.0)), Component("timers", Exponential(2.0)),
                  Component("devices", Uniform(0.5, 1.5), after=["mmu", "timers"]),
                  Component("net", Exponential(1.0))]
    needs = {"vm0": ["m2"], "vm1": ["m0", "m2"], "vm2": ["m3"]}
    return HostBringUp(modules, components, loading=loading, initialisation=initialisation, vm_modules=needs,
                       on_demand_overhead=Exponential(4.0))


#: replications of each check, x the battery's: one replication is one storm or one bring-up (0.04-0.2 ms of
#: CPU), sized so that every mean completion time, makespan, host-ready time and first-start delay detects a
#: 1 % error at the default size (0.8 % from a measured run at 100x, where they detected 0.5-4.0 %;
#: docs/validation_power.md); the bounds check (approximate, never fails) keeps 100x
REPLICATIONS = {
    "install: 20 VMs, uniform images, shared server (PS)": 100,
    "install: 20 VMs, exponential images, server with 4 slots": 620,
    "install: 20 VMs, exponential images, 4 capped streams": 560,
    "install: 20 VMs from local ISO images": 100,
    "bring-up: static loading, hybrid initialisation": 200,
    "bring-up: dynamic loading, sequential initialisation": 1800,
    "provisioning: dynamic host, 10 VMs, network install, exp boots on 3 slots": 2500,
    "provisioning: random configure and images (bounds)": 100,
}


@battery_area("lifecycle")
def lifecycle_checks() -> list[Check]:
    """Installs (PS, k slots, capped, ISO), bring-up (static/dynamic loading), provisioning (exact, bounds)."""
    host = HostBringUp([Module("kvm", Uniform(0.5, 1.5)), Module("vhost", Exponential(1.0))],
                       [Component("init", Uniform(0.5, 1.5))], loading="dynamic")
    checks = [
        Check("install: 20 VMs, uniform images, shared server (PS)", InstallStorm(20, InstallFromServer(
            Uniform(1.0, 3.0), 2.0))),
        Check("install: 20 VMs, exponential images, server with 4 slots",
              InstallStorm(20, InstallFromServer(Exponential(1.0), 2.0, slots=4))),
        Check("install: 20 VMs, exponential images, 4 capped streams",
              InstallStorm(20, InstallFromServer(Exponential(0.5), 10.0, slots=4, stream_bandwidth=2.0))),
        Check("install: 20 VMs from local ISO images", InstallStorm(20, InstallFromMedia(Uniform(1.0, 3.0), 0.5))),
        Check("bring-up: static loading, hybrid initialisation", _host("static", "hybrid")),
        Check("bring-up: dynamic loading, sequential initialisation", _host("dynamic", "sequential")),
        Check("provisioning: dynamic host, 10 VMs, network install, exp boots on 3 slots",
              Provisioning(10, Exponential(1.0), host=host, needs=["vhost"], configure=Deterministic(0.5),
                           install=InstallFromServer(2.0, 8.0), boot_slots=3)),
        Check("provisioning: random configure and images (bounds)",
              Provisioning(10, Exponential(1.0), host=host, needs=["vhost"], configure=Exponential(2.0),
                           install=InstallFromServer(Exponential(0.5), 8.0), boot_slots=3)),
    ]
    return [replace(c, replications=REPLICATIONS[c.label]) for c in checks]
