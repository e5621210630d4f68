"""One description of a system: the VMs, the pCPUs they share and the policy.

:class:`Scenario` is what :func:`virtmodel.predict`, :func:`virtmodel.simulate`
and :func:`virtmodel.compare` accept.  Construction checks everything, so a
scenario that exists is one that every layer can work with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ._validation import nonnegative_int, positive_int, unique_names
from .dists import Distribution
from .errors import InvalidParameter, UnstableSystem
from .policies import FCFS, Policy

__all__ = ["VM", "Scenario"]


@dataclass(frozen=True)
class VM:
    """A virtual machine as the hypervisor sees it: a stream of jobs.

    Parameters
    ----------
    name : str
        Unique, non-empty name; it is the ``group`` of the VM's metrics.
    arrival : Distribution
        Interarrival times of the VM's jobs (a renewal process);
        ``Exponential(rate)`` gives Poisson arrivals at that rate.
    service : Distribution
        Service requirement of each job (CPU time at full speed).
    priority : int, default 0
        Class for priority policies; 0 is the most important.
    vcpus : int or None, default None
        Virtual CPUs: at most this many of the VM's jobs run at once (the
        hypervisor maps the VM's vCPUs onto pCPUs).  None: no limit beyond
        the pCPUs.
    create, configure, boot : Distribution or None
        Lifecycle stage times: a VM with any of them starts at time 0 and
        runs only once they are over (work arriving before waits).  ``boot``
        is the cold boot, also used by a later ``Start`` event.
    warm_boot : Distribution or None
        Boot time from a snapshot, for ``Start(warm=True)`` events.
    patience : Distribution or None
        How long each job is willing to wait: a job that has not started
        service when its patience runs out leaves (abandons) and is never
        served (Palm's model; ``Exponential`` patience with exponential
        service and Poisson arrivals is Erlang-A, M/M/c+M).  Metrics then
        include ``abandonment_probability``, ``mean_wait_served`` and
        ``mean_wait_abandoned``.  None: jobs wait for ever.

    See Also
    --------
    VM.from_trace : a VM whose jobs replay a measured trace.

    Examples
    --------
    >>> from virtmodel.dists import Exponential
    >>> VM("web", arrival=Exponential(rate=0.4), service=Exponential(rate=1.0)).offered_load
    0.4
    """

    name: str
    arrival: Distribution
    service: Distribution
    priority: int = 0
    vcpus: int | None = None
    create: Distribution | None = None
    configure: Distribution | None = None
    boot: Distribution | None = None
    warm_boot: Distribution | None = None
    patience: Distribution | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip():
            raise InvalidParameter(f"VM name must be a non-empty string, got {self.name!r}")
        for attr in ("arrival", "service"):
            value = getattr(self, attr)
            if not isinstance(value, Distribution):
                raise InvalidParameter(
                    f"VM {self.name!r}: {attr} must be a virtmodel.dists Distribution, got {value!r}"
                )
        object.__setattr__(self, "priority", nonnegative_int(f"VM {self.name!r}: priority", self.priority))
        if self.vcpus is not None:
            object.__setattr__(self, "vcpus", positive_int(f"VM {self.name!r}: vcpus", self.vcpus))
        for attr in ("create", "configure", "boot", "warm_boot", "patience"):
            value = getattr(self, attr)
            if value is not None and not isinstance(value, Distribution):
                raise InvalidParameter(
                    f"VM {self.name!r}: {attr} must be a virtmodel.dists Distribution or None, got {value!r}")

    @classmethod
    def from_trace(cls, name, arrival_times, sizes, **kwargs) -> VM:
        """A VM whose jobs replay a measured trace: job k arrives at ``arrival_times[k]`` with size ``sizes[k]``.

        Both become :class:`~virtmodel.dists.Sequential` distributions (the
        interarrival gaps, the first one measured from time 0, and the sizes),
        so the trace runs through any policy unchanged.  A trace is one
        sample path: :func:`virtmodel.simulate` takes ``replications=1`` for
        it and gives batch-means intervals (``SimResult.method`` says so); the
        run may not ask for more jobs than the trace holds.

        Parameters
        ----------
        name : str
        arrival_times : sequence of float
            Finite, >= 0 and strictly increasing (shift a trace to start near
            0; the time unit is the model's).
        sizes : sequence of float
            Service requirements, finite and >= 0, one per arrival.
        **kwargs
            Any other :class:`VM` field (``patience``, ``priority``, ``vcpus``...).

        Raises
        ------
        InvalidParameter
            Not 1-d numbers, lengths differ, times not strictly increasing
            (names the first offending index) or negative, negative sizes.

        Notes
        -----
        The simulator rebuilds the arrival instants as the running float sum
        of the gaps, which reproduces the given times exactly except possibly
        for the last bit of an instant more than twice its predecessor
        (Sterbenz's lemma covers the rest).

        Examples
        --------
        >>> v = VM.from_trace("log", [0.5, 1.0, 3.0], [0.2, 0.4, 0.3])
        >>> v.arrival.values, v.trace_jobs
        ((0.5, 0.5, 2.0), 3)
        """
        import numpy as np

        from .dists import Sequential

        def column(label, values):
            if isinstance(values, (str, bytes)) or values is None:
                raise InvalidParameter(f"VM {name!r}: {label} must be a 1-d sequence of numbers, got {values!r}")
            try:
                arr = np.asarray(values, dtype=float)
            except (TypeError, ValueError):
                raise InvalidParameter(
                    f"VM {name!r}: {label} must be a 1-d sequence of numbers, got {values!r}") from None
            if arr.ndim != 1 or arr.size == 0:
                raise InvalidParameter(
                    f"VM {name!r}: {label} must be a non-empty 1-d sequence, got shape {arr.shape}")
            if not np.all(np.isfinite(arr)):
                bad = int(np.flatnonzero(~np.isfinite(arr))[0])
                raise InvalidParameter(f"VM {name!r}: {label} must be finite, got {label}[{bad}]={float(arr[bad])!r}")
            if np.any(arr < 0):
                bad = int(np.flatnonzero(arr < 0)[0])
                raise InvalidParameter(f"VM {name!r}: {label} must be >= 0, got {label}[{bad}]={float(arr[bad])!r}")
            return arr

        times = column("arrival_times", arrival_times)
        size = column("sizes", sizes)
        if times.size != size.size:
            raise InvalidParameter(
                f"VM {name!r}: sizes must have one value per arrival ({times.size}), got {size.size}")
        steps = np.diff(times)
        if np.any(steps <= 0):
            bad = int(np.flatnonzero(steps <= 0)[0]) + 1
            raise InvalidParameter(
                f"VM {name!r}: arrival_times must be strictly increasing, got arrival_times[{bad}]="
                f"{float(times[bad])!r} <= arrival_times[{bad - 1}]={float(times[bad - 1])!r}")
        gaps = np.diff(times, prepend=0.0)
        return cls(name, arrival=Sequential(gaps), service=Sequential(size), **kwargs)

    @property
    def trace_jobs(self) -> int | None:
        """Number of jobs when the arrivals replay a finite trace (a non-cycling Sequential), else None."""
        from .dists import Sequential

        if isinstance(self.arrival, Sequential) and not self.arrival.cycle:
            return len(self.arrival)
        return None

    @property
    def replays(self) -> bool:
        """Whether arrivals or service replay measured values (a Sequential): one sample path."""
        from .dists import Sequential

        return isinstance(self.arrival, Sequential) or isinstance(self.service, Sequential)

    @property
    def has_stages(self) -> bool:
        """Whether the VM is created, configured or booted before it runs."""
        return any(getattr(self, a) is not None for a in ("create", "configure", "boot"))

    @property
    def arrival_rate(self) -> float:
        """Long-run arrival rate, 1 / E[interarrival]."""
        return 1.0 / self.arrival.mean

    @property
    def offered_load(self) -> float:
        """Work brought per unit time, arrival_rate * E[service]."""
        return self.arrival_rate * self.service.mean

    @property
    def poisson(self) -> bool:
        """True when arrivals are a Poisson process (exponential interarrivals)."""
        from .dists import Exponential

        return isinstance(self.arrival, Exponential)


@dataclass(frozen=True)
class Scenario:
    """VMs sharing ``pcpus`` physical CPUs under one scheduling policy.

    Parameters
    ----------
    pcpus : int
        Number of identical physical CPUs (servers), >= 1.
    vms : sequence of VM
        At least one VM; names must be unique.
    policy : Policy, default FCFS()
        How the hypervisor orders the work (see :mod:`virtmodel.policies`).
    capacity : int or None, default None
        Most jobs in the system at once (waiting and in service), >= pcpus;
        arrivals finding it full are lost.  None means unlimited.
    events : sequence of Pause, Resume, Stop, Start
        Scripted lifecycle events (:mod:`virtmodel.events`), checked against
        the VM state machine at construction.
    allow_overload : bool, default False
        Accept an offered load >= pcpus (for long-run CPU shares of a
        saturated host, simulated over a ``horizon``): queues then grow
        without bound and only shares and throughputs are meaningful.

    Raises
    ------
    InvalidParameter
        Bad types, no VMs, duplicate names, capacity < pcpus.
    UnstableSystem
        Unlimited capacity and offered load >= pcpus (utilization >= 1).

    Examples
    --------
    >>> from virtmodel.dists import Exponential
    >>> sc = Scenario(pcpus=1, vms=[VM("a", Exponential(0.5), Exponential(1.0))])
    >>> sc.utilization
    0.5
    """

    pcpus: int
    vms: tuple
    policy: Policy = field(default_factory=FCFS)
    capacity: int | None = None
    events: tuple = ()
    allow_overload: bool = False

    def __post_init__(self):
        object.__setattr__(self, "pcpus", positive_int("pcpus", self.pcpus))
        if isinstance(self.vms, VM) or not hasattr(self.vms, "__iter__"):
            raise InvalidParameter(f"vms must be a sequence of VM, got {self.vms!r}")
        vms = tuple(self.vms)
        if not vms:
            raise InvalidParameter("vms must hold at least one VM, got an empty sequence")
        for v in vms:
            if not isinstance(v, VM):
                raise InvalidParameter(f"vms must contain only VM objects, got {v!r}")
        unique_names("VM", (v.name for v in vms))
        object.__setattr__(self, "vms", vms)
        if not isinstance(self.policy, Policy):
            raise InvalidParameter(f"policy must be a virtmodel.policies Policy, got {self.policy!r}")
        if self.capacity is not None:
            cap = nonnegative_int("capacity", self.capacity)
            if cap < self.pcpus:
                raise InvalidParameter(f"capacity must be >= pcpus ({self.pcpus}), got {self.capacity!r}")
            object.__setattr__(self, "capacity", cap)
        from .events import replay

        if isinstance(self.events, (str, bytes)) or not hasattr(self.events, "__iter__"):
            raise InvalidParameter(f"events must be a sequence of lifecycle events, got {self.events!r}")
        object.__setattr__(self, "events", replay(tuple(self.events), vms))
        if not isinstance(self.allow_overload, bool):
            raise InvalidParameter(f"allow_overload must be True or False, got {self.allow_overload!r}")
        self.policy.validate(self)
        if (self.capacity is None and not self.allow_overload and not self.utilization < 1
                and not all(v.patience is not None for v in vms)):  # abandonment keeps a queue stable
            raise UnstableSystem(
                f"utilization must be < 1 for a steady state, got {self.utilization:.6g} "
                f"(offered load {self.offered_load:.6g} on {self.pcpus} pCPU(s)); "
                "set a finite capacity, lower the load, or pass allow_overload=True",
                utilization=self.utilization,
            )

    @property
    def has_lifecycle(self) -> bool:
        """Whether any VM has lifecycle stages or events (the simulator then tracks VM states)."""
        return bool(self.events) or any(v.has_stages for v in self.vms)

    @property
    def has_patience(self) -> bool:
        """Whether some VM's jobs abandon (``VM.patience``)."""
        return any(v.patience is not None for v in self.vms)

    @property
    def replays(self) -> bool:
        """Whether some VM replays a measured trace (:class:`~virtmodel.dists.Sequential`)."""
        return any(v.replays for v in self.vms)

    @property
    def names(self) -> tuple[str, ...]:
        """VM names in declaration order."""
        return tuple(v.name for v in self.vms)

    def vm(self, name: str) -> VM:
        """The VM called ``name``."""
        for v in self.vms:
            if v.name == name:
                return v
        raise InvalidParameter(f"VM name must be one of {list(self.names)}, got {name!r}")

    @property
    def arrival_rate(self) -> float:
        """Total arrival rate of all VMs."""
        return math.fsum(v.arrival_rate for v in self.vms)

    @property
    def offered_load(self) -> float:
        """Total offered work per unit time (in pCPUs' worth)."""
        return math.fsum(v.offered_load for v in self.vms)

    @property
    def utilization(self) -> float:
        """Offered load per pCPU."""
        return self.offered_load / self.pcpus
