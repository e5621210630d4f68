r"""Shared virtual I/O devices as a scenario kind: ``vm.predict``, ``vm.simulate``, ``vm.compare`` accept it.

An :class:`IOScenario` is one host device -- a disk, a storage array or a
NIC (:class:`Device`) -- whose requests come from the VMs' I/O streams
(:class:`IOVM` with ``io=``:class:`IOStream`: Poisson requests at a rate, a
size law, a read/write mix).  A request of size X keeps the device busy for

.. math:: S = a + X/B + \sum_{i=1}^{N} C_i

(per-request overhead a, bandwidth B, both possibly different for writes,
plus the exits N of the :class:`IOPath`, each of cost C).  The device is
shared by one of three configuration strategies:

* :class:`Static`: a fixed share of the device per VM (each VM its own
  M/G/1 queue at its share of the bandwidth; capacity a VM leaves idle is
  lost);
* :class:`Dynamic`: the whole device, work-conserving, in arrival order
  (``discipline="fcfs"``) or by weighted fair queueing (``"fair"``:
  generalized processor sharing of the device's time by the VMs' weights,
  as cgroup ``io.weight`` with BFQ or blk-iocost aims to give);
* :class:`Hybrid`: a guaranteed floor (a fraction of the device) per VM,
  and the rest shared by weights, work-conserving (an unused floor goes to
  the others).

Per-VM limits (``iops_limits``, ``bandwidth_limits``) are token buckets in
front of the device (:class:`TokenBucket`).

Metrics (group: the VM's name, or ``"all"``): ``utilization`` (share of the
device's time spent on the VM's requests), ``throughput`` (requests
completed per time unit), ``mean_response`` and ``p95_response`` (I/O
latency, arrival to completion, throttle delay included),
``mean_throttle_delay`` (time in the token bucket), and ``interference``
(mean response with the neighbours / mean response of the VM alone on the
whole device, the latter from the exact M/G/1 formula in both predict and
simulate).  Closed forms: :mod:`virtmodel.analytic.io`; simulator:
:mod:`virtmodel.sim.io`; derivations: :mod:`virtmodel.symbolic.io`.

Real mechanisms, read from their source:

* **Fair queueing** -- Linux BFQ (``block/bfq-iosched.c``) and blk-iocost
  (``block/blk-iocost.c``) give each cgroup a share of the device by its
  ``io.weight``; BFQ schedules budgets of sectors by B-WF2Q+, a packetised
  approximation of GPS, and blk-iocost charges each bio a modelled cost
  (per-IO plus per-page, sequential/random, read/write coefficients) against
  a virtual time advanced by the weights ("hierarchical weight",
  ``hweight_active``), and a group that uses less than its share donates
  the surplus by lowering its ``inuse`` weight (work conservation).
  Modelled: GPS of the device's time by the weights, with a per-request
  cost a + X/B that differs for reads and writes, as blk-iocost's linear
  cost model.  Simplified: fluid sharing (exact GPS, not its packetised
  WF2Q+ or vtime-budget approximation), no sequential/random distinction,
  no idling or budget timeouts.  Missing: blk-iocost's vrate adjustment from
  measured latency targets, BFQ's weight raising for interactive tasks, the
  device's internal parallelism (NCQ, several hardware queues).
* **Limits** -- Linux ``io.max`` (``block/blk-throttle.c``:
  ``tg_within_iops_limit``/``tg_within_bps_limit`` let a bio through only
  when the bytes or IOs allowed since the slice start cover it, else compute
  its wait) and QEMU's block throttling (``util/throttle.c``, read at its 2013 leaky-bucket form: a leaky
  bucket per limit, level leaking at ``avg`` per second, ``max`` the burst,
  a request delayed by (level - max)/avg).  Modelled: a token bucket of
  depth ``burst`` filled at ``rate``, FIFO, a request released as soon as
  the tokens it needs are there (IOPS: one token; bandwidth: its size, at
  most the depth: a request larger than the bucket waits for a full bucket
  and leaves it in debt), both buckets at once when both are set.
  Simplified: QEMU lets a request through while the level is at most
  ``max`` and only then adds its size, so its windows may carry one request
  more than this bucket; blk-throttle's slices (trimmed every
  ``throtl_slice``) are replaced by a continuous bucket.  Missing: separate
  read and write limits, QEMU's ``iops-size`` accounting of large requests
  as several IOs.
* **I/O paths** -- see :class:`IOPath`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ._lazy import lazy
from ._validation import nonnegative, positive, positive_int, probability, scalar, unique_names
from .analytic import io as A
from .dists import Deterministic, Distribution
from .errors import InvalidParameter, NoClosedForm, UnstableSystem

pd = lazy("pandas")

__all__ = ["IOStream", "IOVM", "Device", "IOPath", "TokenBucket", "Static", "Dynamic", "Hybrid", "IOScenario"]


def _law(name, value) -> Distribution:
    if isinstance(value, Distribution):
        return value
    if isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool):
        return Deterministic(scalar(positive, name, value))
    raise InvalidParameter(f"{name} must be a virtmodel.dists Distribution or a number > 0, got {value!r}")


@dataclass(frozen=True)
class IOStream:
    """A VM's I/O requests: Poisson at ``rate``, sizes from ``size``, a share ``read_fraction`` of reads.

    Parameters
    ----------
    rate : float
        Requests per time unit, > 0; ``math.inf``: the VM is always
        backlogged (it has a request waiting at every instant), the case in
        which fair queueing's long-run shares are defined.
    size : Distribution or float
        Request size, in the size unit of the device's bandwidth (a number:
        every request that size).
    read_fraction : float, default 1.0
        Probability that a request is a read (independent of its size).

    Examples
    --------
    >>> from virtmodel.dists import Exponential
    >>> IOStream(rate=50.0, size=Exponential(rate=1 / 64), read_fraction=0.7).size.mean
    64.0
    """

    rate: float
    size: Distribution | float
    read_fraction: float = 1.0

    def __post_init__(self):
        rate = self.rate
        if not (isinstance(rate, (int, float, np.floating, np.integer)) and not isinstance(rate, bool)
                and (rate == math.inf or (math.isfinite(rate) and rate > 0))):
            raise InvalidParameter(f"rate must be a number > 0 (math.inf: always backlogged), got {rate!r}")
        object.__setattr__(self, "rate", float(rate))
        object.__setattr__(self, "size", _law("size", self.size))
        object.__setattr__(self, "read_fraction", scalar(probability, "read_fraction", self.read_fraction))

    @property
    def backlogged(self) -> bool:
        """True when the VM always has a request waiting (``rate = inf``)."""
        return self.rate == math.inf


@dataclass(frozen=True)
class IOVM:
    """A VM as an I/O device sees it: a ``name`` (its metrics' group) and its request stream ``io``.

    Examples
    --------
    >>> IOVM("db", io=IOStream(rate=20.0, size=16.0)).io.rate
    20.0
    """

    name: str
    io: IOStream

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip() or self.name == "all":
            raise InvalidParameter(f"IOVM name must be a non-empty string other than 'all', got {self.name!r}")
        if not isinstance(self.io, IOStream):
            raise InvalidParameter(f"IOVM {self.name!r}: io must be an IOStream, got {self.io!r}")


@dataclass(frozen=True)
class Device:
    """A host I/O device: ``bandwidth`` (size units per time unit) and a fixed ``overhead`` per request.

    Parameters
    ----------
    bandwidth : float
        Read bandwidth B_r, > 0.
    overhead : float, default 0
        Read overhead a_r per request (time units), >= 0: command set-up,
        seek and rotation of a disk, DMA and interrupt of a NIC.
    write_bandwidth, write_overhead : float or None
        For writes; None: as for reads.
    kind : {"disk", "nic"}
        A label carried into reports (a storage array is a "disk").

    Examples
    --------
    >>> Device(bandwidth=500.0, overhead=0.1, write_bandwidth=250.0).write_bandwidth
    250.0
    """

    bandwidth: float
    overhead: float = 0.0
    write_bandwidth: float | None = None
    write_overhead: float | None = None
    kind: str = "disk"

    def __post_init__(self):
        object.__setattr__(self, "bandwidth", scalar(positive, "bandwidth", self.bandwidth))
        object.__setattr__(self, "overhead", scalar(nonnegative, "overhead", self.overhead))
        wb = self.bandwidth if self.write_bandwidth is None else scalar(positive, "write_bandwidth",
                                                                         self.write_bandwidth)
        wo = self.overhead if self.write_overhead is None else scalar(nonnegative, "write_overhead",
                                                                       self.write_overhead)
        object.__setattr__(self, "write_bandwidth", wb)
        object.__setattr__(self, "write_overhead", wo)
        if self.kind not in ("disk", "nic"):
            raise InvalidParameter(f"kind must be 'disk' or 'nic', got {self.kind!r}")


_PATHS = ("passthrough", "virtio", "emulated")


@dataclass(frozen=True)
class IOPath:
    """How a guest's request reaches the device: emulated, paravirtual (virtio) or pass-through.

    Parameters
    ----------
    kind : {"passthrough", "virtio", "emulated"}
    exits : int, default 0
        Emulated: exits per request (every access of the emulated device's
        registers traps to the hypervisor: e.g. an AHCI command writes the
        command slot and the issue register and reads the status, an e1000
        transmit writes the tail register).  Must be >= 1 for "emulated".
    batch : int, default 1
        Virtio: requests per notification (kick); >= 1.
    exit_cost : Distribution or float, default 0
        Time of one exit (world switch, the device model's handling, the
        cache refill), e.g. ``Virtualization.preset("hardware").exit_cost``.

    Notes
    -----
    The exits are handled by the device model (QEMU's main loop or one
    iothread per device; vhost for virtio-net), which takes requests one at
    a time, so their time is part of the device's service:
    :math:`S = a + X/B + \\sum_{i=1}^{N} C_i` with N = ``exits`` (emulated),
    N ~ Bernoulli(1/``batch``) (virtio), N = 0 (pass-through: VFIO/SR-IOV,
    the guest drives the device, no hypervisor on the data path).
    Virtio, read from Linux ``drivers/virtio/virtio_ring.c`` and
    ``include/uapi/linux/virtio_ring.h``: the driver adds buffers to the
    available ring and calls ``virtqueue_kick_prepare``, which notifies the
    device only if ``vring_need_event(avail_event, new, old)``, i.e. only
    when the device has asked to be woken at an index in [old, new) (event
    index suppression, VIRTIO_RING_F_EVENT_IDX): a device that is still
    processing does not need a kick, so one exit serves a batch of requests.
    Modelled: one exit per ``batch`` requests on average, each request
    notifying independently with probability 1/batch, which keeps the
    services i.i.d. (so Pollaczek-Khinchine stays exact).  Simplified: in
    the kernel the kick comes exactly when the device has gone idle
    (correlated with the queue; the exact single-queue model is M/G/1 with
    an exceptional first service, Welch, Oper. Res. 12, 1964); used-ring
    interrupts (completion notifications, suppressed the same way by
    ``used_event``) are not modelled.  Missing: the guest vCPU's own time
    for the exits (it is in the device's service here, as the issue asks),
    multi-queue devices, polling modes (vhost busy-poll, io_uring SQPOLL).

    Examples
    --------
    >>> IOPath.virtio(batch=8, exit_cost=0.01).mean_exit_time
    0.00125
    >>> IOPath.emulated(exits=4, exit_cost=0.01).mean_exit_time
    0.04
    """

    kind: str = "passthrough"
    exits: int = 0
    batch: int = 1
    exit_cost: Distribution | float = 0.0

    def __post_init__(self):
        if self.kind not in _PATHS:
            raise InvalidParameter(f"kind must be one of {list(_PATHS)}, got {self.kind!r}")
        if isinstance(self.exit_cost, Distribution):
            cost = self.exit_cost
        else:
            c = scalar(nonnegative, "exit_cost", self.exit_cost)
            cost = Deterministic(c) if c > 0 else None
        object.__setattr__(self, "exit_cost", cost if cost is not None else 0.0)
        if self.kind == "emulated":
            object.__setattr__(self, "exits", positive_int("exits", self.exits))
            if cost is None:
                raise InvalidParameter("exit_cost must be > 0 for an emulated path (every exit costs time), got 0")
        elif self.exits:
            raise InvalidParameter(f"exits is for kind='emulated', got exits={self.exits!r} with kind={self.kind!r}")
        object.__setattr__(self, "batch", positive_int("batch", self.batch))
        if self.kind != "virtio" and self.batch != 1:
            raise InvalidParameter(f"batch is for kind='virtio', got batch={self.batch!r} with kind={self.kind!r}")
        if self.kind == "virtio" and cost is None:
            raise InvalidParameter("exit_cost must be > 0 for a virtio path (a kick is an exit), got 0")

    @classmethod
    def emulated(cls, exits: int, exit_cost) -> IOPath:
        """A fully emulated device: ``exits`` traps per request."""
        return cls("emulated", exits=exits, exit_cost=exit_cost)

    @classmethod
    def virtio(cls, batch: int, exit_cost) -> IOPath:
        """A virtio device: one notification per ``batch`` requests."""
        return cls("virtio", batch=batch, exit_cost=exit_cost)

    @classmethod
    def passthrough(cls) -> IOPath:
        """Device assignment (VFIO, SR-IOV): no exits on the data path."""
        return cls("passthrough")

    @property
    def exit_count(self) -> Distribution | None:
        """N, exits per request (None for pass-through)."""
        if self.kind == "emulated":
            return Deterministic(float(self.exits))
        if self.kind == "virtio":
            return A.notifications(self.batch)
        return None

    @property
    def mean_exit_time(self) -> float:
        """E[N] E[C], the mean time of a request's exits."""
        n = self.exit_count
        return 0.0 if n is None else n.mean * self.exit_cost.mean


@dataclass(frozen=True)
class TokenBucket:
    """A token bucket: ``rate`` tokens per time unit, at most ``burst`` tokens stored (starts full).

    As an IOPS limit a request takes one token (``burst`` then counts
    requests and must be an integer); as a bandwidth limit it takes its size.

    Examples
    --------
    >>> TokenBucket(rate=100.0, burst=8).burst
    8.0
    """

    rate: float
    burst: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "rate", scalar(positive, "rate", self.rate))
        object.__setattr__(self, "burst", scalar(positive, "burst", self.burst))


def _vm_map(name, mapping, names, check):
    if mapping is None:
        return ()
    if not hasattr(mapping, "items"):
        raise InvalidParameter(f"{name} must be a mapping of VM name -> value, got {mapping!r}")
    unknown = sorted(set(mapping) - set(names))
    if unknown:
        raise InvalidParameter(f"{name} names unknown VMs {unknown}: every key must be one of {list(names)}")
    return tuple((k, check(f"{name}[{k!r}]", v)) for k, v in mapping.items())


def _number(check):
    return lambda name, v: scalar(check, name, v)


@dataclass(frozen=True)
class Static:
    """Static configuration: VM i owns a fixed fraction ``shares[i]`` of the device (default: equal shares).

    Shares are fractions in (0, 1] summing to at most 1 (a remainder is
    left unused).  Each VM is its own M/G/1 queue with service S/share.
    """

    shares: object = None
    name = "static"

    def __post_init__(self):
        if self.shares is not None and not hasattr(self.shares, "items"):
            raise InvalidParameter(f"shares must be a mapping of VM name -> fraction or None, got {self.shares!r}")


@dataclass(frozen=True)
class Dynamic:
    """Dynamic configuration: the whole device, work-conserving, ``"fcfs"`` or ``"fair"`` (weights; default 1)."""

    discipline: str = "fcfs"
    weights: object = None
    name = "dynamic"

    def __post_init__(self):
        if self.discipline not in ("fcfs", "fair"):
            raise InvalidParameter(f"discipline must be 'fcfs' or 'fair', got {self.discipline!r}")
        if self.weights is not None and self.discipline != "fair":
            raise InvalidParameter("weights are for discipline='fair', got weights with discipline='fcfs'")
        if self.weights is not None and not hasattr(self.weights, "items"):
            raise InvalidParameter(f"weights must be a mapping of VM name -> weight or None, got {self.weights!r}")


@dataclass(frozen=True)
class Hybrid:
    """Hybrid configuration: a guaranteed ``floors[i]`` (fraction of the device) plus fair sharing by ``weights``.

    A backlogged VM gets max(floor, t x weight) with the level t set so the
    backlogged VMs use the whole device (``water_fill``); a floor a VM does
    not use goes to the others.
    """

    floors: object = None
    weights: object = None
    name = "hybrid"

    def __post_init__(self):
        for attr in ("floors", "weights"):
            v = getattr(self, attr)
            if v is not None and not hasattr(v, "items"):
                raise InvalidParameter(f"{attr} must be a mapping of VM name -> value or None, got {v!r}")


@dataclass(frozen=True)
class IOScenario:
    """VMs' I/O streams on one shared device under a configuration strategy (a scenario kind).

    Parameters
    ----------
    device : Device
    vms : sequence of IOVM
    strategy : Static, Dynamic or Hybrid, default Dynamic("fcfs")
    path : IOPath, default pass-through
    iops_limits, bandwidth_limits : mapping of VM name -> TokenBucket, optional
        Per-VM caps in front of the device.
    horizon : float, default 20,000
        Simulated time per replication.
    warmup : float, default 0.1
        Fraction of the horizon cut as warm-up (a stated fixed fraction).

    Examples
    --------
    >>> import virtmodel as vm
    >>> from virtmodel.dists import Exponential
    >>> disk = vm.Device(bandwidth=1.0)
    >>> sc = vm.IOScenario(disk, [vm.IOVM("a", vm.IOStream(0.25, Exponential(1.0))),
    ...                           vm.IOVM("b", vm.IOStream(0.25, Exponential(1.0)))])
    >>> vm.predict(sc).value("mean_response", "a")          # M/M/1 at load 0.5
    2.0
    >>> round(vm.predict(sc).value("interference", "a"), 12)  # alone: 1 / (1 - 0.25)
    1.5
    """

    device: Device
    vms: tuple
    strategy: object = field(default_factory=Dynamic)
    path: IOPath = field(default_factory=IOPath)
    iops_limits: object = None
    bandwidth_limits: object = None
    horizon: float = 20_000.0
    warmup: float = 0.1

    def __post_init__(self):
        if not isinstance(self.device, Device):
            raise InvalidParameter(f"device must be a Device, got {self.device!r}")
        vms = tuple(self.vms) if not isinstance(self.vms, IOVM) else (self.vms,)
        if not vms:
            raise InvalidParameter("vms must hold at least one IOVM, got none")
        for v in vms:
            if not isinstance(v, IOVM):
                raise InvalidParameter(f"vms must be IOVM objects, got {v!r}")
        names = unique_names("VM", (v.name for v in vms))
        object.__setattr__(self, "vms", vms)
        if not isinstance(self.strategy, (Static, Dynamic, Hybrid)):
            raise InvalidParameter(f"strategy must be Static, Dynamic or Hybrid, got {self.strategy!r}")
        if not isinstance(self.path, IOPath):
            raise InvalidParameter(f"path must be an IOPath, got {self.path!r}")
        object.__setattr__(self, "horizon", scalar(positive, "horizon", self.horizon))
        w = scalar(nonnegative, "warmup", self.warmup)
        if w >= 1:
            raise InvalidParameter(f"warmup must be a fraction in [0, 1), got {w}")
        object.__setattr__(self, "warmup", w)

        def bucket(name, v):
            if not isinstance(v, TokenBucket):
                raise InvalidParameter(f"{name} must be a TokenBucket, got {v!r}")
            return v

        iops = dict(_vm_map("iops_limits", self.iops_limits, names, bucket))
        for k, b in iops.items():
            if not float(b.burst).is_integer():
                raise InvalidParameter(f"iops_limits[{k!r}].burst counts requests and must be an integer, "
                                       f"got {b.burst}")
        object.__setattr__(self, "iops_limits", iops)
        object.__setattr__(self, "bandwidth_limits",
                           dict(_vm_map("bandwidth_limits", self.bandwidth_limits, names, bucket)))
        self._check_strategy(names)
        for v in vms:
            if v.io.backlogged and isinstance(self.strategy, Dynamic) and self.strategy.discipline == "fcfs":
                raise InvalidParameter(
                    f"VM {v.name!r} is always backlogged (rate = inf): under FCFS it would hold the device for "
                    "ever; use Dynamic('fair'), Hybrid or Static")
            if v.io.backlogged and (v.name in self.iops_limits or v.name in self.bandwidth_limits):
                raise InvalidParameter(f"VM {v.name!r} is always backlogged (rate = inf) and limited: give it a "
                                       "finite rate above its cap instead")

    def _check_strategy(self, names):
        st = self.strategy
        if isinstance(st, Static):
            shares = dict(_vm_map("shares", st.shares, names, _number(positive)))
            if not shares:
                shares = {n: 1.0 / len(names) for n in names}
            missing = [n for n in names if n not in shares]
            if missing:
                raise InvalidParameter(f"shares must give every VM a fraction of the device, missing {missing}")
            total = math.fsum(shares.values())
            if total > 1 + 1e-12:
                raise InvalidParameter(f"shares must sum to at most 1 (fractions of one device), got {total:.6g}")
            object.__setattr__(self, "_shares", shares)
            return
        weights = dict(_vm_map("weights", st.weights, names, _number(positive)))
        object.__setattr__(self, "_weights", {n: weights.get(n, 1.0) for n in names})
        floors = {}
        if isinstance(st, Hybrid):
            floors = dict(_vm_map("floors", st.floors, names, _number(nonnegative)))
            total = math.fsum(floors.values())
            if total > 1 + 1e-12:
                raise InvalidParameter(f"floors must sum to at most 1 (fractions of one device), got {total:.6g}")
            for n, f in floors.items():
                cap = self._cap_share(n)
                if f > cap:
                    raise InvalidParameter(
                        f"floors[{n!r}] = {f:.6g} of the device is above what VM {n!r}'s limit lets it use "
                        f"({cap:.6g} of the device): a cap must not be below the reservation")
        object.__setattr__(self, "_floors", {n: floors.get(n, 0.0) for n in names})

    # ------------------------------------------------------------------ laws

    def _vm(self, name) -> IOVM:
        return next(v for v in self.vms if v.name == name)

    def classes(self, name):
        """[(probability, device-time law)] of the VM's reads and writes (probability 0 parts left out)."""
        v, d, p = self._vm(name), self.device, self.path
        out = []
        for prob, bw, oh in ((v.io.read_fraction, d.bandwidth, d.overhead),
                             (1.0 - v.io.read_fraction, d.write_bandwidth, d.write_overhead)):
            if prob > 0:
                out.append((prob, A.request_time(v.io.size, bw, oh, p.exit_count,
                                                 p.exit_cost if p.exit_count is not None else None)))
        return out

    def mean_service(self, name) -> float:
        """E[S_i], the mean device time of one of the VM's requests."""
        return math.fsum(p * s.mean for p, s in self.classes(name))

    def _cap_share(self, name) -> float:
        """Most of the device's time the VM's limits let it use (inf: no limit)."""
        cap = math.inf
        if name in self.iops_limits:
            cap = min(cap, self.iops_limits[name].rate * self.mean_service(name))
        if name in self.bandwidth_limits:
            cap = min(cap, self.bandwidth_limits[name].rate * self.mean_service(name) / self._vm(name).io.size.mean)
        return cap

    @property
    def strategy_name(self) -> str:
        """"static", "dynamic" or "hybrid"."""
        return self.strategy.name

    def shares(self) -> dict:
        """Static: each VM's fixed fraction of the device."""
        return dict(self._shares)

    def alone(self, name) -> float:
        """Mean response of the VM alone on the whole device, no limits (M/G/1, exact): interference's denominator."""
        v = self._vm(name)
        cls = self.classes(name)
        return A.fcfs_response([v.io.rate * p for p, _ in cls], [s for _, s in cls])[0].mean_wait + \
            self.mean_service(name)

    # ------------------------------------------------------------------ predict

    def predict_rows(self) -> list[tuple]:
        """Closed forms as ``(metric, group, value, exact)`` rows (see :meth:`predict`)."""
        from .analytic.io import (
            fcfs_response,
            guaranteed_shares,
            instantaneous_shares,
            long_run_shares,
            token_bucket_delay,
        )

        names = [v.name for v in self.vms]
        limited = set(self.iops_limits) | set(self.bandwidth_limits)
        rows = []
        throttle = {}
        for n in self.iops_limits:
            if n in self.bandwidth_limits:
                continue  # two buckets at once: no closed form for the delay
            b = self.iops_limits[n]
            throttle[n] = token_bucket_delay(self._vm(n).io.rate, b.rate, int(b.burst))
            rows.append(("mean_throttle_delay", n, throttle[n], True))
        st = self.strategy
        resp = {}
        if isinstance(st, Static):
            for n in names:
                v = self._vm(n)
                phi = self._shares[n]
                if v.io.backlogged:
                    rows += [("utilization", n, phi, True), ("throughput", n, phi / self.mean_service(n), True)]
                    continue
                cls = self.classes(n)
                lam = [v.io.rate * p for p, _ in cls]
                r = fcfs_response(lam, [A.scaled(s, 1.0 / phi) for _, s in cls])
                t = r[0].mean_wait + self.mean_service(n) / phi
                resp[n] = (t, True)
                rows += [("utilization", n, v.io.rate * self.mean_service(n), True),
                         ("throughput", n, v.io.rate, True)]
            util = math.fsum(r[2] for r in rows if r[0] == "utilization")
        elif isinstance(st, Dynamic) and st.discipline == "fcfs":
            lam, laws = [], []
            for n in names:
                for p, s in self.classes(n):
                    lam.append(self._vm(n).io.rate * p)
                    laws.append(s)
            r = fcfs_response(lam, laws)
            for n in names:
                resp[n] = (r[0].mean_wait + self.mean_service(n), True)
                rows += [("utilization", n, self._vm(n).io.rate * self.mean_service(n), True),
                         ("throughput", n, self._vm(n).io.rate, True)]
            util = math.fsum(x.utilization for x in r)
        else:
            w = np.array([self._weights[n] for n in names])
            f = np.array([self._floors[n] for n in names])
            demand = np.array([math.inf if self._vm(n).io.backlogged else self._vm(n).io.rate * self.mean_service(n)
                               for n in names])
            shares, exact = long_run_shares(demand, w, f)
            if not any(math.isinf(x) for x in demand) and demand.sum() >= 1:
                raise UnstableSystem(f"utilization of the device must be < 1 when no VM is backlogged, got "
                                     f"{demand.sum():.6g}", float(demand.sum()))
            guaranteed = guaranteed_shares(w, f)
            idle = [i for i, n in enumerate(names) if not self._vm(n).io.backlogged]
            for i, n in enumerate(names):
                v = self._vm(n)
                rows += [("utilization", n, shares[i], exact and not limited),
                         ("throughput", n, shares[i] / self.mean_service(n), exact and not limited)]
                if v.io.backlogged or shares[i] < demand[i]:
                    continue  # always backlogged, or overloaded: no steady-state latency
                if len(idle) == 1:  # every other VM backlogged: a constant rate whenever this one has work
                    rate, ok = float(instantaneous_shares(np.ones(len(names), dtype=bool), w, f)[i]), True
                else:  # GPS guarantee: an upper bound (Parekh & Gallager 1993)
                    rate, ok = float(guaranteed[i]), False
                cls = self.classes(n)
                try:
                    r = fcfs_response([v.io.rate * p for p, _ in cls], [A.scaled(s, 1.0 / rate) for _, s in cls])
                except UnstableSystem:
                    continue  # the bound is infinite
                resp[n] = (r[0].mean_wait + self.mean_service(n) / rate, ok)
            util = float(np.sum(shares))
        for n, (t, ok) in resp.items():
            # a throttled stream leaves its bucket smoother than Poisson, so the device stage has no closed
            # form for it (its latency is simulated only) and is approximate for the VMs sharing the device
            # with it (Poisson assumed); VMs on their own static partitions are unaffected
            if n in limited:
                continue
            ok = ok and (isinstance(st, Static) or not limited)
            rows += [("mean_response", n, t, ok), ("interference", n, t / self.alone(n), ok)]
        rows += [("utilization", "all", util, all(r[3] for r in rows if r[0] == "utilization")),
                 ("throughput", "all", math.fsum(r[2] for r in rows if r[0] == "throughput"),
                  all(r[3] for r in rows if r[0] == "throughput"))]
        rows += self._p95_rows(resp, limited)
        return rows

    def _p95_rows(self, resp, limited):
        """p95_response where the waiting-time transform inversion is exact (FCFS or static, no limits)."""
        from .analytic import tail

        st = self.strategy
        out = []
        if limited or not (isinstance(st, Static) or (isinstance(st, Dynamic) and st.discipline == "fcfs")):
            return out
        for n in resp:
            if isinstance(st, Static):
                phi = self._shares[n]
                mix = [(p, A.scaled(s, 1.0 / phi)) for p, s in self.classes(n)]
                lam = self._vm(n).io.rate
                merged = mix
            else:
                lam = math.fsum(v.io.rate for v in self.vms)
                merged = [(v.io.rate * p / lam, s) for v in self.vms for p, s in self.classes(v.name)]
                mix = self.classes(n)
            try:
                d = tail.MG1Response(lam, merged[0][1] if len(merged) == 1 else merged,
                                     mix[0][1] if len(mix) == 1 else mix)
                out.append(("p95_response", n, float(d.quantile(0.95)), True))
            except NoClosedForm:
                continue
        return out

    def predict(self):
        """Closed forms as a :class:`~virtmodel.Prediction`; ``exact`` only when every row is exact.

        Exact rows: utilization and throughput under every strategy without
        limits (fair sharing: see :func:`~virtmodel.analytic.io.long_run_shares`);
        ``mean_response`` and ``interference`` under FCFS (multi-class M/G/1)
        and static partitions (M/G/1 per VM); under fair or hybrid sharing
        for the one VM that is not backlogged when all others are;
        ``mean_throttle_delay`` for an IOPS limit on Poisson requests (a
        throttled VM's latency at the device has no closed form: its
        released stream is smoother than Poisson; simulate it);
        ``p95_response`` where the Pollaczek-Khinchine transform can be
        inverted (FCFS or static, pass-through, no overhead, size laws with
        a transform and no atom).  Otherwise the mean response under fair or
        hybrid sharing is the upper bound of an M/G/1 queue at the VM's
        guaranteed rate, and the VMs that share the device with a throttled
        VM are predicted as if its stream were still Poisson (approximate).  :meth:`predict_rows`
        gives each row's exactness; ``model`` names the approximate ones.
        """
        from .analytic.solve import Prediction

        rows = self.predict_rows()
        values = pd.DataFrame([(m, g, float(v)) for m, g, v, _ in rows], columns=["metric", "group", "value"])
        exact = all(r[3] for r in rows)
        model = f"shared I/O device ({self.device.kind}, {self.path.kind} path), {self._strategy_label()}"
        if not exact:
            loose = sorted({f"{m}[{g}]" for m, g, _, e in rows if not e})
            model += "; approximate rows: " + ", ".join(loose)
        return Prediction(values, exact, model, A.SOURCE_PK + "; " + A.SOURCE_GPS + "; " + A.SOURCE_TOKEN_BUCKET)

    def _strategy_label(self):
        st = self.strategy
        if isinstance(st, Static):
            return "static partition (M/G/1 per VM)"
        if isinstance(st, Dynamic):
            return "dynamic FCFS (multi-class M/G/1)" if st.discipline == "fcfs" else "dynamic fair queueing (GPS)"
        return "hybrid (floors + fair sharing)"

    def replicate(self, seed, replication) -> dict:
        """One simulated run: ``{(metric, group): value}`` (:func:`virtmodel.sim.io.io_replication`)."""
        from .sim.io import io_replication

        return io_replication(self, seed, replication)

