"""Battery entries for shared I/O devices (issue 17): FCFS, static, fair and hybrid sharing, paths, token buckets.

``io_checks()`` returns :class:`~virtmodel.experiments.registry.Check`
entries whose scenarios are :class:`virtmodel.IOScenario` (a scenario kind:
``simulate`` runs ``replications`` replications of the scenario's own
``horizon`` and ignores ``customers``).  Every prediction here is exact:
multi-class M/G/1 FCFS with read/write classes and virtio notifications,
the p95 latency from the inverted Pollaczek-Khinchine transform, static
partitions with an emulated path, fair queueing against backlogged
neighbours (water-filling shares and the M/G/1 latency at the GPS rate),
hybrid floors with every VM backlogged, and the token-bucket delay.  The
area also runs the VM-to-VM network checks of
:mod:`virtmodel.experiments.battery_network` (Jackson tandems), so that
``virtmodel validate --area io`` covers storage and network.  Relative
half-widths of the mean latencies at 30 replications, 95 % level,
measured: 0.6-1.0 % (family-wise: 1.6-2.3 %); the storage checks run
3.5-6.5x the battery's replications for 1 % family-wise at the default size.
"""

from __future__ import annotations

import math

from ..dists import Exponential, Uniform
from ..io import IOVM, Device, Dynamic, Hybrid, IOPath, IOScenario, IOStream, Static, TokenBucket
from .registry import Check, battery_area

__all__ = ["io_checks"]

EXP1 = Exponential(1.0)
DISK = Device(bandwidth=1.0, overhead=0.1, write_bandwidth=0.5)


def _storage() -> list[Check]:
    fcfs = IOScenario(DISK, [IOVM("a", IOStream(0.2, EXP1, 0.7)), IOVM("b", IOStream(0.15, Exponential(2.0))),
                             IOVM("c", IOStream(0.1, Uniform(0.5, 1.5), 0.5))],
                      path=IOPath.virtio(4, 0.05), horizon=100_000.0)
    nic = IOScenario(Device(1.0, kind="nic"),
                     [IOVM("a", IOStream(0.3, EXP1)), IOVM("b", IOStream(0.2, Exponential(0.5)))], horizon=300_000.0)
    static = IOScenario(DISK, [IOVM("a", IOStream(0.2, EXP1, 0.7)), IOVM("b", IOStream(0.25, EXP1))],
                        strategy=Static({"a": 0.4, "b": 0.6}), path=IOPath.emulated(3, 0.02), horizon=400_000.0)
    fair = IOScenario(DISK, [IOVM("a", IOStream(0.12, EXP1)), IOVM("b", IOStream(math.inf, EXP1)),
                             IOVM("c", IOStream(math.inf, Uniform(0.5, 1.5)))],
                      strategy=Dynamic("fair", {"a": 1, "b": 1, "c": 2}), horizon=150_000.0)
    hybrid = IOScenario(DISK, [IOVM("a", IOStream(math.inf, EXP1)), IOVM("b", IOStream(math.inf, EXP1)),
                               IOVM("c", IOStream(math.inf, EXP1))],
                        strategy=Hybrid(floors={"a": 0.5}, weights={"b": 1, "c": 3}), horizon=20_000.0)
    throttle = IOScenario(Device(1.0), [IOVM("a", IOStream(0.3, EXP1))], strategy=Static(),
                          iops_limits={"a": TokenBucket(0.5, 2)}, horizon=300_000.0)
    # replications x the battery's, so that every mean latency detects a 1 % error at the default size (0.8 %
    # from a measured run at 30 replications, where they detected 1.6-2.3 %); a replication costs 0.01-0.03 s
    return [
        Check("io: FCFS disk, 3 VMs, reads/writes, virtio kicks every 4 (M/G/1, load 0.54)", fcfs, replications=3.5),
        Check("io: FCFS NIC, pass-through, exponential sizes (mean and p95, load 0.7)", nic, replications=3.5),
        Check("io: static partition 0.4/0.6, emulated path (M/G/1 per VM)", static, replications=6.5),
        Check("io: fair queueing 1:1:2 against two backlogged VMs (water filling, M/G/1 at the GPS rate)", fair,
              replications=6),
        Check("io: hybrid floor 0.5 + weights 1:3, all backlogged (long-run shares)", hybrid),
        Check("io: IOPS token bucket depth 2 (E[(W_MD1 - (b-1)/r)^+])", throttle, replications=6.5),
    ]


@battery_area("io")
def io_checks() -> list[Check]:
    """Shared disks and NICs (FCFS, static, fair, hybrid, paths, token buckets) and VM-to-VM network tandems."""
    from .battery_network import network_checks

    return _storage() + network_checks()
