"""VM admission and placement on a cluster as a scenario kind: ``vm.predict``, ``vm.simulate``, ``vm.compare``.

A :class:`Cluster` is ``hosts`` hosts, each with ``host_cpus`` vCPU slots and
``host_memory`` of memory, fed by VM requests of several :class:`Flavour`\\ s
(Poisson arrivals, lifetimes of any distribution) or by a measured
:class:`ClusterTrace` (e.g. the Azure V1 requests, :meth:`ClusterTrace.azure_v1`).
A request is placed by ``placement`` on a host with room for its CPU and its
memory, or blocked.  Metrics: ``blocking_probability`` per flavour and
``"all"``, ``utilization`` (time-average share of the cluster's vCPU slots
in use).

``predict()`` is exact for one host (then every placement policy is the same
and the occupancy is product form): Kaufman–Roberts on its vCPU slots
(:func:`virtmodel.analytic.allocation.kaufman_roberts`) when memory never
binds, the two-resource stochastic knapsack
(:func:`virtmodel.analytic.allocation.multi_resource_loss`) when it does.
For several hosts it is Kaufman–Roberts on the pooled vCPU slots, an
optimistic approximation (a request that fits in the pool may fit on no
single host).
The gap, simulated blocking minus the pooled one, is the *fragmentation
cost* of splitting the pool into hosts (:meth:`Cluster.fragmentation_cost`).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._lazy import lazy
from ._validation import positive_int, sequence
from .dists import Distribution
from .errors import InvalidParameter

pd = lazy("pandas")

__all__ = ["Flavour", "ClusterTrace", "Cluster"]


def _positive_number(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value) or value <= 0:
        raise InvalidParameter(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Flavour:
    """A VM size with its Poisson request stream and its lifetime.

    Parameters
    ----------
    name : str
    vcpus : int
        vCPU slots one VM holds, >= 1.
    memory : float
        Memory one VM holds, >= 0 (any unit, the hosts' unit).
    arrival_rate : float
        Requests per time unit, > 0.
    lifetime : Distribution
        Time a placed VM stays (mean > 0).
    """

    name: str
    vcpus: int
    memory: float
    arrival_rate: float
    lifetime: Distribution

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise InvalidParameter(f"name must be a non-empty string, got {self.name!r}")
        object.__setattr__(self, "vcpus", positive_int("vcpus", self.vcpus))
        mem = self.memory
        if isinstance(mem, bool) or not isinstance(mem, (int, float, np.integer, np.floating)) \
                or not math.isfinite(mem) or mem < 0:
            raise InvalidParameter(f"memory of flavour {self.name!r} must be a finite number >= 0 (no negative "
                                   f"demand), got {mem!r}")
        object.__setattr__(self, "memory", float(mem))
        object.__setattr__(self, "arrival_rate", _positive_number("arrival_rate", self.arrival_rate))
        if not isinstance(self.lifetime, Distribution):
            raise InvalidParameter(f"lifetime must be a virtmodel.dists Distribution, got {self.lifetime!r}")
        if not self.lifetime.mean > 0:
            raise InvalidParameter(f"lifetime of flavour {self.name!r} must have a mean > 0, got "
                                   f"{self.lifetime.mean!r}")

    @property
    def offered_load(self) -> float:
        """Erlangs: arrival_rate x mean lifetime."""
        return self.arrival_rate * self.lifetime.mean


@dataclass(frozen=True, eq=False)
class ClusterTrace:
    """Measured VM requests: arrival times, sizes, lifetimes, flavour names.

    Requests with equal arrival times form a batch (first-fit-decreasing
    sorts inside it).  Validated at construction: times finite and
    non-decreasing, vCPUs and memory >= 0, lifetimes > 0.
    """

    arrival_times: np.ndarray
    vcpus: np.ndarray
    memory: np.ndarray
    lifetimes: np.ndarray
    flavours: np.ndarray
    source: str = ""

    def __post_init__(self):
        n = None
        for name in ("arrival_times", "vcpus", "memory", "lifetimes"):
            try:
                arr = np.asarray(getattr(self, name), dtype=float)
            except (TypeError, ValueError):
                raise InvalidParameter(f"{name} must be a 1-D array of numbers") from None
            if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
                raise InvalidParameter(f"{name} must be a non-empty 1-D array of finite numbers")
            if n is not None and arr.size != n:
                raise InvalidParameter(f"{name} must have one entry per request ({n}), got {arr.size}")
            n = arr.size
            arr = arr.copy()
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        flav = np.asarray(self.flavours).astype(str)
        if flav.shape != (n,):
            raise InvalidParameter(f"flavours must have one entry per request ({n}), got shape {flav.shape}")
        object.__setattr__(self, "flavours", flav)
        if np.any(np.diff(self.arrival_times) < 0):
            raise InvalidParameter("arrival_times must be non-decreasing (sort the trace by arrival)")
        bad = np.flatnonzero(self.lifetimes <= 0)
        if bad.size:
            raise InvalidParameter(f"lifetimes must be > 0, got {self.lifetimes[bad[0]]!r} at request {bad[0]} "
                                   f"({bad.size} such requests)")
        for name in ("vcpus", "memory"):
            arr = getattr(self, name)
            if np.any(arr < 0):
                raise InvalidParameter(f"{name} must be >= 0 (no negative demand), got {arr.min()!r}")

    def __len__(self) -> int:
        return int(self.arrival_times.size)

    def fitted_flavours(self, horizon_fraction=(0.0, 1.0)) -> list:
        """One :class:`Flavour` per flavour name: arrival rate = count / span, mean lifetime from the trace.

        Lifetimes get an exponential distribution of the trace's mean (the
        Kaufman–Roberts blocking depends on the lifetimes only through their
        mean).  Memory is the flavour's median memory, vCPUs its median.
        """
        from .dists import Exponential

        span = float(self.arrival_times[-1] - self.arrival_times[0])
        if span <= 0:
            raise InvalidParameter("the trace must span a positive time to fit arrival rates")
        out = []
        frame = pd.DataFrame({"f": self.flavours, "c": self.vcpus, "m": self.memory, "l": self.lifetimes})
        for name, g in frame.groupby("f", sort=True):
            out.append(Flavour(str(name), max(1, int(round(g.c.median()))), float(g.m.median()), len(g) / span,
                               Exponential(1.0 / float(g.l.mean()))))
        return out

    @classmethod
    def azure_v1(cls, frame=None) -> ClusterTrace:
        """The Azure Public Dataset V1 test requests (410,276 VMs; Cortez et al., SOSP 2017; CC-BY-4.0).

        ``frame``: the derived table (columns ``bin_end_s, tenant_batch,
        flavor, vcpus, mem_gb, censored (bool) or censored_flag (U/C), dur_bin_lo_s,
        dur_bin_hi_s``); default: ``virtmodel.data.load`` if available, else
        ``$VIRTMODEL_DATA/vm_workload/azure_v1_arrivals_lifetimes/v1.test_flat_derived.csv.gz``.

        Conversion (stated, not measured): arrivals are known to a 300-s bin;
        the tenant batches of a bin arrive at evenly spaced times inside it,
        the VMs of one batch together.  A lifetime is the middle of its
        duration bin; bin 0 ([0, 0] s, VMs that ended inside their first
        5-minute sample) gets 150 s.  A right-censored VM (still running at
        the end of the trace) keeps running past the last arrival.
        Time unit: seconds, from the first bin.
        """
        if frame is None:
            frame = _read_azure()
        need = {"bin_end_s", "tenant_batch", "flavor", "vcpus", "mem_gb", "dur_bin_lo_s", "dur_bin_hi_s"}
        if not need <= set(frame.columns) or not {"censored", "censored_flag"} & set(frame.columns):
            raise InvalidParameter(f"frame must have columns {sorted(need)}, got {list(frame.columns)}")
        bins = frame["bin_end_s"].to_numpy(dtype=float)
        batch = frame["tenant_batch"].to_numpy()
        key = pd.MultiIndex.from_arrays([bins, batch])
        codes, uniques = pd.factorize(key, sort=True)
        ub = np.asarray([u[0] for u in uniques])
        first = np.r_[True, ub[1:] != ub[:-1]]
        group_start = np.maximum.accumulate(np.where(first, np.arange(ub.size), 0))
        pos = np.arange(ub.size) - group_start
        count = np.bincount(np.cumsum(first) - 1)[np.cumsum(first) - 1]
        batch_time = ub - 300.0 + 300.0 * (pos + 0.5) / count
        times = batch_time[codes] - (ub.min() - 300.0)
        lo = frame["dur_bin_lo_s"].to_numpy(dtype=float)
        hi = frame["dur_bin_hi_s"].to_numpy(dtype=float)
        life = np.where(hi > 0, 0.5 * (lo + hi), 150.0)
        if "censored" in frame.columns:  # virtmodel.data.load: a bool column
            censored = frame["censored"].to_numpy(dtype=bool)
        else:  # the file itself: U / C
            censored = frame["censored_flag"].to_numpy() == "C"
        end = times.max()
        life = np.where(censored, np.maximum(life, end - times + 1.0), life)
        order = np.argsort(times, kind="stable")
        return cls(times[order], frame["vcpus"].to_numpy(dtype=float)[order],
                   frame["mem_gb"].to_numpy(dtype=float)[order], life[order],
                   frame["flavor"].to_numpy().astype(str)[order],
                   source="Azure Public Dataset V1 (Cortez et al., SOSP 2017), test split as flattened in "
                          "huaweicloud/trace_generation_rnn")


def _read_azure() -> pd.DataFrame:
    try:
        from . import data as _data  # the dataset registry, where present

        return _data.load("azure_v1")
    except Exception:  # noqa: BLE001  (no registry or no such name: fall back to the file)
        pass
    root = os.environ.get("VIRTMODEL_DATA")
    if not root:
        raise InvalidParameter("VIRTMODEL_DATA is not set: point it at the folder holding vm_workload/")
    path = Path(root) / "vm_workload" / "azure_v1_arrivals_lifetimes" / "v1.test_flat_derived.csv.gz"
    if not path.exists():
        raise InvalidParameter(f"no Azure V1 trace at {path}")
    return pd.read_csv(path)


@dataclass(frozen=True)
class Cluster:
    """Hosts with CPU and memory, VM requests of several flavours, a placement policy.

    Parameters
    ----------
    hosts : int
        Number of identical hosts, >= 1.
    host_cpus : int
        vCPU slots per host (reservations are not overcommitted), >= 1.
    host_memory : float
        Memory per host, > 0.
    flavours : sequence of Flavour, optional
        Poisson request streams (give these or ``trace``).
    trace : ClusterTrace, optional
        Measured requests, replayed as they are (every replication is the
        same run).
    placement : str, default "first_fit"
        ``first_fit``, ``best_fit``, ``worst_fit``, ``first_fit_decreasing``
        (batches) or ``dot_product`` (see :mod:`virtmodel.sim.cluster`).
    requests : int, default 100_000
        Requests simulated per replication (Poisson flavours).
    warmup : float, default 0.1
        Fraction of the requests at the start left out of the metrics.

    Raises
    ------
    InvalidParameter
        A flavour (or traced VM) larger than every host, duplicate flavour
        names, both or neither of ``flavours`` and ``trace``.

    Examples
    --------
    >>> import virtmodel as vm
    >>> from virtmodel.dists import Exponential
    >>> c = vm.Cluster(1, 8, 64.0, flavours=[vm.Flavour("small", 1, 2.0, 3.0, Exponential(1.0)),
    ...                                        vm.Flavour("large", 4, 8.0, 0.5, Exponential(1.0))])
    >>> p = vm.predict(c)
    >>> p.exact, round(p.value("blocking_probability", "large"), 4)
    (True, 0.4042)
    """

    hosts: int
    host_cpus: int
    host_memory: float
    flavours: tuple = ()
    trace: ClusterTrace | None = field(default=None, compare=False)
    placement: str = "first_fit"
    requests: int = 100_000
    warmup: float = 0.1

    def __post_init__(self):
        from .sim.cluster import POLICIES

        object.__setattr__(self, "hosts", positive_int("hosts", self.hosts))
        object.__setattr__(self, "host_cpus", positive_int("host_cpus", self.host_cpus))
        object.__setattr__(self, "host_memory", _positive_number("host_memory", self.host_memory))
        object.__setattr__(self, "requests", positive_int("requests", self.requests))
        if not (isinstance(self.warmup, (int, float)) and 0 <= self.warmup < 1):
            raise InvalidParameter(f"warmup must be a fraction in [0, 1), got {self.warmup!r}")
        if not isinstance(self.placement, str) or self.placement not in POLICIES:
            raise InvalidParameter(f"placement must be one of {sorted(POLICIES)}, got {self.placement!r}")
        flavours = () if self.flavours is None else sequence("flavours", self.flavours)
        object.__setattr__(self, "flavours", flavours)
        if (len(flavours) > 0) == (self.trace is not None):
            raise InvalidParameter("give exactly one of flavours (Poisson requests) and trace (measured requests)")
        if self.trace is not None:
            if not isinstance(self.trace, ClusterTrace):
                raise InvalidParameter(f"trace must be a ClusterTrace, got {type(self.trace).__name__}")
            big = (self.trace.vcpus > self.host_cpus) | (self.trace.memory > self.host_memory)
            if big.any():
                i = int(np.argmax(big))
                raise InvalidParameter(
                    f"request {i} (<{self.trace.vcpus[i]:g} vCPU, {self.trace.memory[i]:g} memory>) is larger than "
                    f"every host (<{self.host_cpus} vCPU, {self.host_memory:g} memory>): it could never be placed")
            return
        names = set()
        for f in flavours:
            if not isinstance(f, Flavour):
                raise InvalidParameter(f"flavours must be Flavour objects, got {f!r}")
            if f.name in names:
                raise InvalidParameter(f"flavour names must be unique, got {f.name!r} twice")
            names.add(f.name)
            if f.vcpus > self.host_cpus or f.memory > self.host_memory:
                raise InvalidParameter(
                    f"flavour {f.name!r} (<{f.vcpus} vCPU, {f.memory:g} memory>) is larger than every host "
                    f"(<{self.host_cpus} vCPU, {self.host_memory:g} memory>): it could never be placed")

    # ------------------------------------------------------------------ predict

    def _flavour_list(self):
        return list(self.flavours) if self.flavours else self.trace.fitted_flavours()

    def memory_binds(self) -> bool:
        """Whether memory can ever stop a request that the vCPU slots would admit on one host.

        False when a full host's worth of the most memory-hungry flavour
        (memory per vCPU) fits in its memory.
        """
        per_cpu = max(f.memory / f.vcpus for f in self._flavour_list())
        return per_cpu * self.host_cpus > self.host_memory * (1 + 1e-12)

    def pooled_blocking(self) -> dict:
        """Kaufman–Roberts blocking per flavour on the pooled vCPU slots (hosts x host_cpus)."""
        from .analytic.allocation import kaufman_roberts

        fl = self._flavour_list()
        b = kaufman_roberts(self.hosts * self.host_cpus, [f.offered_load for f in fl], [f.vcpus for f in fl])
        return {f.name: float(x) for f, x in zip(fl, b, strict=True)}

    def _memory_units(self):
        """Units per memory unit that make every flavour's memory and the host's an integer (or None)."""
        values = [self.host_memory] + [f.memory for f in self._flavour_list()]
        for per in (1, 2, 4, 8, 10, 16, 100):
            scaled = [v * per for v in values]
            if all(abs(x - round(x)) < 1e-9 * max(1.0, x) for x in scaled) and \
                    (self.host_cpus + 1) * (round(self.host_memory * per) + 1) <= 5_000_000:
                return per
        return None

    def predict(self):
        """Blocking per flavour and utilization as a :class:`~virtmodel.Prediction`.

        One host whose memory never binds: Kaufman–Roberts on its vCPU slots
        (exact).  One host whose memory binds: the two-resource stochastic
        knapsack (:func:`virtmodel.analytic.allocation.multi_resource_loss`,
        exact) when the memory sizes are whole multiples of a small unit
        (1, 1/2, ..., 1/100).  Several hosts, or a trace: Kaufman–Roberts on
        the pooled vCPU slots (``exact=False``: it ignores fragmentation
        across hosts and memory; flavours fitted to the trace).
        """
        from .analytic.allocation import kaufman_roberts_occupancy, multi_resource_loss
        from .analytic.solve import Prediction

        fl = self._flavour_list()
        rates = np.array([f.arrival_rate for f in fl])
        loads = [f.offered_load for f in fl]
        one_host = self.hosts == 1 and self.trace is None
        per = self._memory_units() if one_host and self.memory_binds() else None
        if per is not None:
            caps = (self.host_cpus, int(round(self.host_memory * per)))
            need = [[f.vcpus, int(round(f.memory * per))] for f in fl]
            b, q = multi_resource_loss(caps, loads, need)
            blocking = {f.name: float(x) for f, x in zip(fl, b, strict=True)}
            utilization = float(np.arange(caps[0] + 1) @ q.sum(axis=1) / caps[0])
            exact, model = True, "two-resource stochastic knapsack (vCPU slots and memory) on one host"
            source = "Ross, Multiservice Loss Models (Springer 1995), ch. 1 (product form on a coordinate-convex set)"
        else:
            blocking = self.pooled_blocking()
            slots = self.hosts * self.host_cpus
            occ = kaufman_roberts_occupancy(slots, loads, [f.vcpus for f in fl])
            utilization = float(np.arange(slots + 1) @ occ / slots)
            exact = one_host and not self.memory_binds()
            model = "Kaufman-Roberts on the pooled vCPU slots" + ("" if exact else " (pooled: ignores fragmentation"
                                                                   " across hosts and memory)")
            source = "Kaufman, IEEE Trans. Commun. 29(10), 1981, eq. (8); Roberts 1981"
        rows = [("blocking_probability", f.name, blocking[f.name]) for f in fl]
        total = float(sum(rates[i] * blocking[f.name] for i, f in enumerate(fl)) / rates.sum())
        rows.append(("blocking_probability", "all", total))
        rows.append(("utilization", "all", utilization))
        values = pd.DataFrame(rows, columns=["metric", "group", "value"])
        return Prediction(values, exact, model, source)

    # ------------------------------------------------------------------ simulate

    def requests_for(self, seed, replication):
        """(times, vcpus, memory, lifetimes, flavour index, names) of one replication's requests."""
        if self.trace is not None:
            tr = self.trace
            names, index = np.unique(tr.flavours, return_inverse=True)
            return tr.arrival_times, tr.vcpus, tr.memory, tr.lifetimes, index, list(names)
        from .sim.streams import system_rng

        fl = self.flavours
        rates = np.array([f.arrival_rate for f in fl])
        total = rates.sum()
        n = self.requests
        rng_arrival = system_rng(seed, replication, 0)
        times = np.cumsum(rng_arrival.exponential(1.0 / total, size=n))
        kind = rng_arrival.choice(len(fl), size=n, p=rates / total)  # thinning of the merged Poisson stream
        life = np.empty(n)
        for k, f in enumerate(fl):
            sel = kind == k
            life[sel] = f.lifetime.sample(system_rng(seed, replication, 1 + k), int(sel.sum()))
        life = np.maximum(life, 1e-300)
        cpus = np.array([f.vcpus for f in fl], dtype=float)[kind]
        mem = np.array([f.memory for f in fl], dtype=float)[kind]
        return times, cpus, mem, life, kind, [f.name for f in fl]

    def run(self, seed=0, replication=0):
        """One run: ``(placed host per request or -1, flavour index, flavour names, utilization, warm-up count)``."""
        from .sim.cluster import place_requests

        times, cpus, mem, life, kind, names = self.requests_for(seed, replication)
        warm = int(self.warmup * times.size)
        placed, util = place_requests(times, cpus, mem, life, np.full(self.hosts, float(self.host_cpus)),
                                      np.full(self.hosts, self.host_memory), self.placement, warm)
        return placed, kind, names, util, warm

    def replicate(self, seed, replication) -> dict:
        """One replication: blocking per flavour and overall, utilization (after the warm-up)."""
        placed, kind, names, util, warm = self.run(seed, replication)
        blocked = placed[warm:] < 0
        kind = kind[warm:]
        out = {}
        for k, name in enumerate(names):
            sel = kind == k
            out["blocking_probability", name] = float(blocked[sel].mean()) if sel.any() else 0.0
        out["blocking_probability", "all"] = float(blocked.mean())
        out["utilization", "all"] = util
        return out

    def fragmentation_cost(self, seed=0, replications=5) -> pd.DataFrame:
        """Simulated blocking minus pooled Kaufman–Roberts blocking, per flavour and ``"all"``.

        Columns ``group, simulated, pooled, fragmentation_cost``.
        """
        reps = [self.replicate(seed, r) for r in range(positive_int("replications", replications))]
        pooled = self.predict()
        rows = []
        for (metric, group) in reps[0]:
            if metric != "blocking_probability":
                continue
            sim = float(np.mean([r[metric, group] for r in reps]))
            try:
                pool = pooled.value(metric, group)
            except InvalidParameter:
                continue
            rows.append((group, sim, pool, sim - pool))
        return pd.DataFrame(rows, columns=["group", "simulated", "pooled", "fragmentation_cost"])
