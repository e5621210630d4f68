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
    "DelayDependentPriority", "Polling", "ProportionalShare", "Credit",
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
    quantum : float
        Time slice, > 0.
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
    switchover : Distribution
        World-switch (switchover) time paid on every move from one VM to the
        next, empty queue or not.
    limit : int, optional
        Jobs per visit for ``"limited"`` (>= 1); must be None otherwise.

    Not work-conserving: the pCPU keeps cycling when every queue is empty.
    Analytic: stability, Boxma–Groenendijk pseudo-conservation law, exact
    symmetric mean waits (:mod:`virtmodel.analytic.polling`).

    Examples
    --------
    >>> from virtmodel.dists import Deterministic
    >>> Polling("limited", switchover=Deterministic(0.01), limit=1).limit
    1
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
        if not isinstance(self.switchover, Distribution):
            raise InvalidParameter(
                f"switchover must be a virtmodel.dists Distribution, got {self.switchover!r}")
        if self.discipline == "limited":
            if self.limit is None:
                raise InvalidParameter("limit must be an integer >= 1 for discipline 'limited', got None")
            object.__setattr__(self, "limit", positive_int("limit", self.limit))
        elif self.limit is not None:
            raise InvalidParameter(f"limit must be None unless discipline is 'limited', got {self.limit!r}")


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


@dataclass(frozen=True)
class Credit(Policy):
    """A credit scheduler modelled on Xen's: weights, caps, time slices and accounting ticks.

    Every ``tick`` the running VM is debited; every accounting period
    (``timeslice``) credits are handed out in proportion to weight.  VMs with
    credit left are UNDER, those without are OVER; a VM that wakes up from
    idle is BOOSTed ahead of both.  The pCPU runs the most urgent runnable VM
    for up to ``timeslice``.  A cap (percent of one pCPU, at most
    100 x vcpus) parks the VM once it has used its cap in the period, which
    makes the scheduler non-work-conserving.

    Parameters
    ----------
    weights : dict[str, float]
        Weight per VM (> 0; default 256 as in Xen for VMs not named).
    caps : dict[str, float]
        Cap per VM in percent of one pCPU, in (0, 100 * vcpus]; absent: no cap.
    timeslice : float, default 0.030
        Longest run of a VM before the pCPU reschedules (and the accounting period).
    tick : float, default 0.010
        Accounting tick (< timeslice).

    Examples
    --------
    >>> Credit(weights={"a": 512}, caps={"b": 50}).cap_of("b")
    50.0
    """

    weights: dict = field(default_factory=dict)
    caps: dict = field(default_factory=dict)
    timeslice: float = 0.030
    tick: float = 0.010
    work_conserving = False

    def __post_init__(self):
        from .errors import InvalidParameter

        object.__setattr__(self, "weights", _weights("weights", self.weights))
        object.__setattr__(self, "caps", _weights("caps", self.caps))
        _check_scalar("timeslice", self.timeslice)
        _check_scalar("tick", self.tick)
        object.__setattr__(self, "timeslice", _positive_float("timeslice", self.timeslice))
        object.__setattr__(self, "tick", _positive_float("tick", self.tick))
        if not self.tick <= self.timeslice:
            raise InvalidParameter(f"tick must be <= timeslice ({self.timeslice}), got {self.tick!r}")

    def __hash__(self):
        return hash((tuple(sorted(self.weights.items())), tuple(sorted(self.caps.items())),
                     self.timeslice, self.tick))

    def validate(self, scenario) -> None:
        from .errors import InvalidParameter

        _unknown_names(self, scenario, "weights", "caps")
        for name, cap in self.caps.items():
            vcpus = scenario.vm(name).vcpus or 1
            if not cap <= 100.0 * vcpus:
                raise InvalidParameter(
                    f"caps[{name!r}] must lie in (0, 100 * vcpus] = (0, {100 * vcpus}], got {cap!r}")

    def weight_of(self, name: str) -> float:
        """Weight of VM ``name`` (256, Xen's default, when not given)."""
        return self.weights.get(name, 256.0)

    def cap_of(self, name: str) -> float | None:
        """Cap of VM ``name`` in percent of one pCPU, or None."""
        return self.caps.get(name)
