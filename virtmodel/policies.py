"""Scheduling policies as plain data.

A policy says *how* the hypervisor picks the next piece of work; it carries
parameters only.  The simulator turns each policy into a scheduler object
(:mod:`virtmodel.sim.schedulers`) and the analytic layer dispatches on the
policy's class (:mod:`virtmodel.analytic.solve`).  Policies are frozen
dataclasses, checked in ``__post_init__``, and check themselves against a
scenario in :meth:`Policy.validate` (for example that every VM they name
exists).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Policy", "FCFS", "SJF", "SRPT", "PSJF", "Priority", "ProcessorSharing", "RoundRobin",
    "DelayDependentPriority", "Polling", "ProportionalShare", "Credit", "LinuxFair",
]


@dataclass(frozen=True)
class Policy:
    """Base class of every scheduling policy."""

    #: whether an arrival may interrupt the job in service
    preemptive = False
    #: whether the policy never idles a pCPU while work is waiting
    work_conserving = True

    def validate(self, scenario) -> None:  # noqa: B027 - optional hook, default accepts
        """Check the policy against ``scenario``; raise InvalidParameter if it does not fit."""

    @property
    def name(self) -> str:
        return type(self).__name__


@dataclass(frozen=True)
class FCFS(Policy):
    """First come, first served: one queue shared by every VM, served in arrival order.

    Non-preemptive and work-conserving.  With Poisson arrivals the exact
    results are M/M/c (exponential service with a common rate) or M/G/1 (one
    pCPU, any service distribution); see :func:`virtmodel.predict`.

    Examples
    --------
    >>> FCFS()
    FCFS()
    """


def _positive_float(name, value, *, allow_zero=False):
    from ._validation import nonnegative, positive

    return float(nonnegative(name, value) if allow_zero else positive(name, value))


def _check_scalar(name, value):
    import numpy as np

    if np.ndim(value) != 0:
        from .errors import InvalidParameter

        raise InvalidParameter(f"{name} must be a single number, got {value!r}")


@dataclass(frozen=True)
class SJF(Policy):
    """Shortest job first, non-preemptive: job sizes are known on arrival.

    When a pCPU frees up it takes the waiting job with the smallest service
    requirement (ties in arrival order).  M/G/1 closed form: the integral over
    job sizes (Kleinrock 1976, vol. II, §3.7; Harchol-Balter 2013, §31.2).
    """


@dataclass(frozen=True)
class SRPT(Policy):
    """Shortest remaining processing time, preemptive-resume.

    The job with the least remaining work always runs; an arrival smaller
    than the running job's remainder preempts it.  M/G/1 mean response by
    Schrage & Miller (1966).
    """

    preemptive = True


@dataclass(frozen=True)
class PSJF(Policy):
    """Preemptive shortest job first: the job with the smallest *original* size runs.

    An arrival preempts the running job when its size is smaller than the
    running job's original size (Harchol-Balter 2013, §32.3).
    """

    preemptive = True


@dataclass(frozen=True)
class Priority(Policy):
    """Static priority by ``VM.priority`` (0 is the most important), FCFS within a class.

    Parameters
    ----------
    preemptive : bool, default False
        False: Cobham's non-preemptive priority; True: preemptive-resume (an
        arrival of a more important class interrupts the running job, which
        later resumes where it stopped).

    Examples
    --------
    >>> Priority(preemptive=True).preemptive
    True
    """

    preemptive: bool = False

    def __post_init__(self):
        if not isinstance(self.preemptive, bool):
            from .errors import InvalidParameter

            raise InvalidParameter(f"preemptive must be True or False, got {self.preemptive!r}")


@dataclass(frozen=True)
class ProcessorSharing(Policy):
    """Egalitarian processor sharing: n jobs on c pCPUs each run at rate min(1, c/n).

    The limit of round robin as the quantum goes to 0 with no switch cost.
    M/G/1-PS: E[T | x] = x / (1 - rho) for every service distribution
    (Kleinrock 1976, vol. II, §4.4).
    """

    preemptive = True


@dataclass(frozen=True)
class RoundRobin(Policy):
    """Round robin: each job runs for at most ``quantum``, then goes to the back of the queue.

    Parameters
    ----------
    quantum : float, default 0.1
        Time slice, > 0, in the scenario's time unit; ``RoundRobin()`` uses
        0.1, so give the quantum your hypervisor uses (e.g. Xen credit1's
        30 ms timeslice is ``quantum=0.03`` when times are in seconds).
    switch_cost : float, default 0.0
        pCPU time lost to a context (world) switch at every dispatch, >= 0.
        A job of size x therefore occupies a pCPU for x + ceil(x / quantum) *
        switch_cost, which lowers the capacity available to useful work.

    Examples
    --------
    >>> RoundRobin(quantum=0.1, switch_cost=0.001)
    RoundRobin(quantum=0.1, switch_cost=0.001)
    """

    quantum: float = 0.1
    switch_cost: float = 0.0
    preemptive = True

    def __post_init__(self):
        _check_scalar("quantum", self.quantum)
        _check_scalar("switch_cost", self.switch_cost)
        object.__setattr__(self, "quantum", _positive_float("quantum", self.quantum))
        cost = _positive_float("switch_cost", self.switch_cost, allow_zero=True)
        object.__setattr__(self, "switch_cost", cost)


@dataclass(frozen=True)
class DelayDependentPriority(Policy):
    """Kleinrock's delay-dependent priority: P_i(t) = a_i + b_i * (time waited).

    At each scheduling decision the waiting job with the largest current
    priority goes next (non-preemptive).  VMs missing from ``offset`` get
    a_i = 0; VMs missing from ``slope`` get b_i = 1.

    Parameters
    ----------
    offset : dict[str, float]
        a_i for VM name i (any real number).
    slope : dict[str, float]
        b_i > 0 for VM name i.

    Examples
    --------
    >>> DelayDependentPriority(slope={"web": 2.0, "batch": 1.0}).slope_of("web")
    2.0
    """

    offset: dict = field(default_factory=dict)
    slope: dict = field(default_factory=dict)

    def __post_init__(self):
        from ._validation import positive, real_array
        from .errors import InvalidParameter

        for attr, check in (("offset", real_array), ("slope", positive)):
            value = getattr(self, attr)
            if not isinstance(value, dict):
                raise InvalidParameter(f"{attr} must be a dict of VM name -> number, got {value!r}")
            clean = {}
            for key, v in value.items():
                if not isinstance(key, str):
                    raise InvalidParameter(f"{attr} keys must be VM names (str), got {key!r}")
                _check_scalar(f"{attr}[{key!r}]", v)
                clean[key] = float(check(f"{attr}[{key!r}]", v))
            object.__setattr__(self, attr, clean)

    def __hash__(self):
        return hash((tuple(sorted(self.offset.items())), tuple(sorted(self.slope.items()))))

    def validate(self, scenario) -> None:
        from .errors import InvalidParameter

        names = set(scenario.names)
        for attr in ("offset", "slope"):
            unknown = sorted(set(getattr(self, attr)) - names)
            if unknown:
                raise InvalidParameter(
                    f"{attr} names VMs that are not in the scenario: {unknown}; VMs are {sorted(names)}"
                )

    def offset_of(self, name: str) -> float:
        """a_i of VM ``name`` (0 when not given)."""
        return self.offset.get(name, 0.0)

    def slope_of(self, name: str) -> float:
        """b_i of VM ``name`` (1 when not given)."""
        return self.slope.get(name, 1.0)


def _weights(name, value, names=None, *, upper=None):
    """A dict VM name -> positive float (checked), for weights and caps."""
    from ._validation import positive
    from .errors import InvalidParameter

    if not isinstance(value, dict):
        raise InvalidParameter(f"{name} must be a dict of VM name -> number, got {value!r}")
    clean = {}
    for key, v in value.items():
        if not isinstance(key, str):
            raise InvalidParameter(f"{name} keys must be VM names (str), got {key!r}")
        _check_scalar(f"{name}[{key!r}]", v)
        clean[key] = float(positive(f"{name}[{key!r}]", v))
    return clean


def _unknown_names(policy, scenario, *attrs):
    from .errors import InvalidParameter

    names = set(scenario.names)
    for attr in attrs:
        unknown = sorted(set(getattr(policy, attr)) - names)
        if unknown:
            raise InvalidParameter(
                f"{attr} names VMs that are not in the scenario: {unknown}; VMs are {sorted(names)}")


@dataclass(frozen=True)
class Polling(Policy):
    """A pCPU that visits the VMs in cyclic order, paying a world switch per visit.

    Parameters
    ----------
    discipline : {"exhaustive", "gated", "limited"}
        At a visit the pCPU serves the VM's queue until it is empty
        (exhaustive), only the jobs present when it arrived (gated), or at
        most ``limit`` jobs (limited).
    switchover : Distribution or dict of str -> Distribution
        World-switch (switchover) time paid on every move from one VM to the
        next, empty queue or not: one law for every move, or one per VM
        ``{vm_name: Distribution}``, the time to move on after visiting that
        VM.  A mapping must name every VM of the scenario and no other
        (checked by :meth:`validate` when the Scenario is built).
    limit : int, optional
        Jobs per visit for ``"limited"`` (>= 1); must be None otherwise.

    Not work-conserving: the pCPU keeps cycling when every queue is empty.
    Analytic: stability, Boxma–Groenendijk pseudo-conservation law, exact
    per-VM mean waits for exhaustive and gated service, exact symmetric and
    approximate asymmetric 1-limited waits (:mod:`virtmodel.analytic.polling`).

    Examples
    --------
    >>> from virtmodel.dists import Deterministic
    >>> Polling("limited", switchover=Deterministic(0.01), limit=1).limit
    1
    >>> p = Polling("gated", switchover={"web": Deterministic(0.01), "db": Deterministic(0.05)})
    >>> [d.mean for d in p.switchovers(["web", "db"])]
    [0.01, 0.05]
    """

    discipline: str = "exhaustive"
    switchover: object = None
    limit: int | None = None
    work_conserving = False

    def __post_init__(self):
        from ._validation import positive_int
        from .dists import Distribution
        from .errors import InvalidParameter

        if self.discipline not in ("exhaustive", "gated", "limited"):
            raise InvalidParameter(
                f"discipline must be 'exhaustive', 'gated' or 'limited', got {self.discipline!r}")
        if isinstance(self.switchover, dict):
            if not self.switchover:
                raise InvalidParameter("switchover must name at least one VM when it is a dict, got {}")
            for key, law in self.switchover.items():
                if not isinstance(key, str):
                    raise InvalidParameter(f"switchover keys must be VM names (str), got {key!r}")
                if not isinstance(law, Distribution):
                    raise InvalidParameter(
                        f"switchover[{key!r}] must be a virtmodel.dists Distribution, got {law!r}")
            object.__setattr__(self, "switchover", dict(self.switchover))
        elif not isinstance(self.switchover, Distribution):
            raise InvalidParameter(
                "switchover must be a virtmodel.dists Distribution or a dict of VM name -> Distribution, "
                f"got {self.switchover!r}")
        if self.discipline == "limited":
            if self.limit is None:
                raise InvalidParameter("limit must be an integer >= 1 for discipline 'limited', got None")
            object.__setattr__(self, "limit", positive_int("limit", self.limit))
        elif self.limit is not None:
            raise InvalidParameter(f"limit must be None unless discipline is 'limited', got {self.limit!r}")

    def switchovers(self, names) -> tuple:
        """The switchover law paid after visiting each VM of ``names``, in that order.

        Raises
        ------
        InvalidParameter
            When a per-VM mapping misses one of ``names`` or names a VM not among them.
        """
        names = tuple(names)
        if not isinstance(self.switchover, dict):
            return (self.switchover,) * len(names)
        from .errors import InvalidParameter

        missing = [n for n in names if n not in self.switchover]
        unknown = sorted(set(self.switchover) - set(names))
        if missing or unknown:
            raise InvalidParameter(
                "switchover must give one law per VM and name no other: "
                f"missing {missing}, unknown {unknown}; VMs are {list(names)}")
        return tuple(self.switchover[n] for n in names)

    def validate(self, scenario) -> None:
        """Check that a per-VM switchover mapping names exactly the scenario's VMs."""
        self.switchovers(scenario.names)


@dataclass(frozen=True)
class ProportionalShare(Policy):
    """Generalized processor sharing by weight: busy VMs share the pCPUs as w_i / sum of busy w.

    Each VM with work is a runnable entity that gets a share of the pCPUs
    proportional to its weight (at most its vCPUs' worth); within a VM, jobs
    are served FCFS.  The long-run share of a saturated host is the
    weight-proportional water-filling of capacity capped by each VM's demand
    (:func:`virtmodel.analytic.allocation.water_fill`).  VMs missing from
    ``weights`` get weight 1.

    Examples
    --------
    >>> ProportionalShare(weights={"web": 2.0, "batch": 1.0}).weight_of("web")
    2.0
    """

    weights: dict = field(default_factory=dict)
    preemptive = True  # an arrival changes every busy VM's rate at once, like processor sharing

    def __post_init__(self):
        object.__setattr__(self, "weights", _weights("weights", self.weights))

    def __hash__(self):
        return hash(tuple(sorted(self.weights.items())))

    def validate(self, scenario) -> None:
        _unknown_names(self, scenario, "weights")

    def weight_of(self, name: str) -> float:
        """Weight of VM ``name`` (1 when not given)."""
        return self.weights.get(name, 1.0)


#: Xen credit1 defaults, in seconds (xen/common/sched/credit.c: CSCHED_DEFAULT_TSLICE_MS,
#: CSCHED_TICKS_PER_TSLICE; core.c SCHED_DEFAULT_RATELIMIT_US; CSCHED_DEFAULT_LOAD_BALANCE_RATELIMIT_US)
_XEN_TSLICE_S, _XEN_TICKS_PER_TSLICE, _XEN_RATELIMIT_S, _XEN_BALANCE_RATELIMIT_S = 0.030, 3, 0.001, 0.001


@dataclass(frozen=True)
class Credit(Policy):
    """Xen's credit scheduler (credit1): weights, caps, time slices, ticks, BOOST, rate limit.

    The hypervisor schedules *vCPUs*, not jobs: a vCPU runs its VM's work
    until the VM has none left (it blocks), its time slice ends, or a waking
    BOOSTed vCPU preempts it.  Every accounting period (``timeslice``, Xen's
    30 ms) credit is handed out by weight *per active vCPU*; every ``tick``
    (10 ms) the running vCPU is debited and loses BOOST.  vCPUs with credit
    are UNDER, those without OVER; a vCPU that wakes while UNDER is BOOSTed.
    A cap (percent of one pCPU) parks the VM's vCPUs at accounting once they
    overspend it, which makes the scheduler non-work-conserving.  Simulated
    by :class:`virtmodel.sim.credit.CreditScheduler` (every remaining
    difference from Xen is listed there, and in ``docs/xen_credit1.md``).

    Parameters
    ----------
    weights : dict[str, float]
        Weight per VM (> 0; default 256 as in Xen for VMs not named).
    caps : dict[str, float]
        Cap per VM in percent of one pCPU, in (0, 100 * vcpus]; absent: no
        cap.  A VM without ``vcpus`` has one vCPU per pCPU (as in the
        simulator).
    timeslice : float or None
        Time slice and accounting period, in model time units; None: Xen's
        30 ms (``CSCHED_DEFAULT_TSLICE_MS``), i.e. ``0.030 /
        seconds_per_unit``.
    tick : float or None
        Credit tick (<= timeslice); None: Xen's timeslice / 3 (10 ms).
    ratelimit : float or None
        Least time a vCPU runs before a wake-up may preempt it (>= 0, <=
        timeslice; 0 disables); None: Xen's 1 ms (``sched_ratelimit_us``).
    balance_ratelimit : float or None
        Least time between two attempts of one pCPU to steal work (>= 0);
        None: Xen's 1 ms (``load-balance-ratelimit``).
    seconds_per_unit : float, default 1.0
        What one model time unit is, in seconds.  Only the defaults above
        (Xen's, in seconds) are converted with it; values given explicitly
        are in model units.  The default 1.0 means the model's time unit is
        the second (so ``Credit().timeslice == 0.03``); with jobs in
        milliseconds use ``seconds_per_unit=1e-3`` (then timeslice 30.0).

    Examples
    --------
    >>> Credit(weights={"a": 512}, caps={"b": 50}).cap_of("b")
    50.0
    >>> p = Credit()
    >>> p.timeslice, p.tick, p.ratelimit
    (0.03, 0.01, 0.001)
    >>> Credit(seconds_per_unit=1e-3).timeslice   # time unit: the millisecond
    30.0
    """

    weights: dict = field(default_factory=dict)
    caps: dict = field(default_factory=dict)
    timeslice: float | None = None
    tick: float | None = None
    ratelimit: float | None = None
    balance_ratelimit: float | None = None
    seconds_per_unit: float = 1.0
    work_conserving = False

    def __post_init__(self):
        from .errors import InvalidParameter

        object.__setattr__(self, "weights", _weights("weights", self.weights))
        object.__setattr__(self, "caps", _weights("caps", self.caps))
        _check_scalar("seconds_per_unit", self.seconds_per_unit)
        unit = _positive_float("seconds_per_unit", self.seconds_per_unit)
        object.__setattr__(self, "seconds_per_unit", unit)
        if self.timeslice is None:
            object.__setattr__(self, "timeslice", _XEN_TSLICE_S / unit)
        _check_scalar("timeslice", self.timeslice)
        object.__setattr__(self, "timeslice", _positive_float("timeslice", self.timeslice))
        if self.tick is None:
            object.__setattr__(self, "tick", self.timeslice / _XEN_TICKS_PER_TSLICE)
        _check_scalar("tick", self.tick)
        object.__setattr__(self, "tick", _positive_float("tick", self.tick))
        for attr, default in (("ratelimit", _XEN_RATELIMIT_S), ("balance_ratelimit", _XEN_BALANCE_RATELIMIT_S)):
            value = getattr(self, attr)
            if value is None:  # Xen's default; like Xen, a rate limit above the time slice becomes the slice
                value = default / unit if attr != "ratelimit" else min(default / unit, self.timeslice)
            _check_scalar(attr, value)
            object.__setattr__(self, attr, _positive_float(attr, value, allow_zero=True))
        if not self.tick <= self.timeslice:
            raise InvalidParameter(f"tick must be <= timeslice ({self.timeslice}), got {self.tick!r}")
        if not self.ratelimit <= self.timeslice:
            raise InvalidParameter(f"ratelimit must be <= timeslice ({self.timeslice}), got {self.ratelimit!r}")

    def __hash__(self):
        return hash((tuple(sorted(self.weights.items())), tuple(sorted(self.caps.items())),
                     self.timeslice, self.tick, self.ratelimit, self.balance_ratelimit, self.seconds_per_unit))

    def validate(self, scenario) -> None:
        from .errors import InvalidParameter

        _unknown_names(self, scenario, "weights", "caps")
        for name, cap in self.caps.items():
            vcpus = self.vcpus_of(scenario, name)
            if not cap <= 100.0 * vcpus:
                raise InvalidParameter(
                    f"caps[{name!r}] must lie in (0, 100 * vcpus] = (0, {100 * vcpus}], got {cap!r}")

    @staticmethod
    def vcpus_of(scenario, name: str) -> int:
        """vCPUs of VM ``name``: ``VM.vcpus``, or one per pCPU when None (as the simulator gives it)."""
        return scenario.vm(name).vcpus or scenario.pcpus

    def weight_of(self, name: str) -> float:
        """Weight of VM ``name`` (256, Xen's default, when not given)."""
        return self.weights.get(name, 256.0)

    def cap_of(self, name: str) -> float | None:
        """Cap of VM ``name`` in percent of one pCPU, or None."""
        return self.caps.get(name)


#: Linux defaults, in seconds: cpu.max period (100 ms), scheduler tick (HZ=250), base slice per CPU factor
_LINUX_PERIOD_S, _LINUX_TICK_S, _LINUX_BASE_SLICE_S = 0.100, 0.004, 0.0007


@dataclass(frozen=True)
class LinuxFair(Policy):
    """KVM: each VM's vCPUs are host threads under Linux's fair scheduler (EEVDF) in a cgroup v2.

    Every VM is a cgroup with ``cpu.weight`` (``weights``) and optionally a
    bandwidth limit ``cpu.max`` = ``quota`` per ``period``; its vCPUs are
    host threads that run the VM's work (FCFS) until the VM has none left,
    their EEVDF request (``base_slice``) ends, a waking thread preempts them
    or the cgroup's quota for the period is spent (*throttled* until the next
    period).  Simulated by :class:`virtmodel.sim.linux_fair.LinuxFairScheduler`;
    long-run shares and the ``cpu.max`` throttling delay are predicted by
    :mod:`virtmodel.analytic.linux_fair`.

    Parameters
    ----------
    weights : dict[str, float]
        ``cpu.weight`` per VM, in [1, 10000] (default 100 for VMs not named);
        the kernel weight is cpu.weight x 1024 / 100.
    quota : dict[str, float]
        ``cpu.max`` quota per VM: CPU time (all its threads together) per
        period, in model time units, > 0 (absent: ``max``, no limit).  A
        quota above the period lets several vCPUs run (quota/period CPUs).
    period : float or dict[str, float] or None
        ``cpu.max`` period per VM (one number for all); None: Linux's default
        100 ms.
    burst : dict[str, float]
        ``cpu.max.burst`` per VM, >= 0 (default 0): unused quota carried
        into the next period, at most this much.
    base_slice : float or None
        EEVDF request size r (``sysctl_sched_base_slice``); None: Linux's
        default 0.7 ms x (1 + log2(min(pcpus, 8))).
    seconds_per_unit : float, default 1.0
        What one model time unit is, in seconds; the Linux defaults above
        (given in seconds) are converted with it.  ``quota``, ``period``,
        ``burst`` and ``base_slice`` given explicitly are in model units.

    Examples
    --------
    >>> p = LinuxFair(weights={"db": 200}, quota={"web": 0.05}, period=0.1)
    >>> p.weight_of("db"), p.weight_of("web"), p.quota_of("web"), p.period_of("web")
    (200.0, 100.0, 0.05, 0.1)
    >>> LinuxFair(seconds_per_unit=1e-3).period_of("any")     # 100 ms in milliseconds
    100.0
    """

    weights: dict = field(default_factory=dict)
    quota: dict = field(default_factory=dict)
    period: object = None
    burst: dict = field(default_factory=dict)
    base_slice: float | None = None
    seconds_per_unit: float = 1.0
    work_conserving = False  # a throttled VM leaves pCPUs idle

    def __post_init__(self):
        from .errors import InvalidParameter

        _check_scalar("seconds_per_unit", self.seconds_per_unit)
        object.__setattr__(self, "seconds_per_unit", _positive_float("seconds_per_unit", self.seconds_per_unit))
        weights = _weights("weights", self.weights)
        for name, w in weights.items():
            if not 1.0 <= w <= 10_000.0:
                raise InvalidParameter(f"weights[{name!r}] (cpu.weight) must lie in [1, 10000], got {w!r}")
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "quota", _weights("quota", self.quota))
        if not isinstance(self.burst, dict):
            raise InvalidParameter(f"burst must be a dict of VM name -> number, got {self.burst!r}")
        burst = {}
        for key, v in self.burst.items():
            if not isinstance(key, str):
                raise InvalidParameter(f"burst keys must be VM names (str), got {key!r}")
            _check_scalar(f"burst[{key!r}]", v)
            burst[key] = _positive_float(f"burst[{key!r}]", v, allow_zero=True)
        object.__setattr__(self, "burst", burst)
        if isinstance(self.period, dict):
            object.__setattr__(self, "period", _weights("period", self.period))
        elif self.period is not None:
            _check_scalar("period", self.period)
            object.__setattr__(self, "period", _positive_float("period", self.period))
        if self.base_slice is not None:
            _check_scalar("base_slice", self.base_slice)
            object.__setattr__(self, "base_slice", _positive_float("base_slice", self.base_slice))

    def __hash__(self):
        period = tuple(sorted(self.period.items())) if isinstance(self.period, dict) else self.period
        return hash((tuple(sorted(self.weights.items())), tuple(sorted(self.quota.items())), period,
                     tuple(sorted(self.burst.items())), self.base_slice, self.seconds_per_unit))

    def validate(self, scenario) -> None:
        from .errors import InvalidParameter

        _unknown_names(self, scenario, "weights", "quota", "burst")
        if isinstance(self.period, dict):
            _unknown_names(self, scenario, "period")
        for name, b in self.burst.items():  # Linux (tg_set_cfs_bandwidth) refuses a burst above the quota
            q = self.quota_of(name)
            if b > 0 and (q is None or b > q):
                raise InvalidParameter(f"burst[{name!r}] must be <= the VM's quota ({q!r}), got {b!r}")

    def weight_of(self, name: str) -> float:
        """``cpu.weight`` of VM ``name`` (100, the cgroup v2 default, when not given)."""
        return self.weights.get(name, 100.0)

    def quota_of(self, name: str) -> float | None:
        """``cpu.max`` quota of VM ``name`` per period (model units), or None for ``max``."""
        return self.quota.get(name)

    def period_of(self, name: str) -> float:
        """``cpu.max`` period of VM ``name`` (model units; Linux's 100 ms by default)."""
        if isinstance(self.period, dict):
            if name in self.period:
                return self.period[name]
        elif self.period is not None:
            return self.period
        return _LINUX_PERIOD_S / self.seconds_per_unit

    def burst_of(self, name: str) -> float:
        """``cpu.max.burst`` of VM ``name`` (model units; 0 by default)."""
        return self.burst.get(name, 0.0)

    def limit_of(self, name: str) -> float:
        """Long-run CPU ceiling from ``cpu.max``: quota / period pCPUs (inf for ``max``)."""
        q = self.quota_of(name)
        return float("inf") if q is None else q / self.period_of(name)

    def slice_for(self, pcpus: int) -> float:
        """EEVDF base slice r in model units (Linux: 0.7 ms x (1 + ilog2(min(pcpus, 8))))."""
        if self.base_slice is not None:
            return self.base_slice
        factor = 1 + (min(int(pcpus), 8).bit_length() - 1)
        return _LINUX_BASE_SLICE_S * factor / self.seconds_per_unit

    @property
    def tick(self) -> float:
        """Scheduler tick (HZ = 250: 4 ms) in model units; bounds the lag kept across a sleep."""
        return _LINUX_TICK_S / self.seconds_per_unit
