"""Scripted VM lifecycle events: pause, resume, stop and start VMs at given times.

Each VM moves through the states

    created -> configuring -> booting -> running <-> paused;  running/paused -> stopped -> booting

A VM with ``create``, ``configure`` or ``boot`` times starts at time 0 in
``created`` and becomes ``running`` when those stages end; a VM without them
is ``running`` from the start.  A :class:`Scenario` carries a script of
events; construction replays it through the state machine and refuses an
impossible transition with a :class:`~virtmodel.errors.LifecycleError` that
names the state the VM was in.  Stages in progress (create, configure,
boot) count as "starting": a pause or a stop may be scripted during them.

In the simulator (:class:`virtmodel.sim.vmm.Hypervisor`):

* work arriving while a VM is not running (starting or paused) waits; when
  the VM starts running or resumes, its waiting jobs rejoin the scheduler
  in arrival order, behind work already queued (a waking vCPU joins the
  run queue);
* a pause takes effect at the end of the VM's current service piece (a
  whole job under run-to-completion policies, a quantum under round robin);
* a stopped VM refuses arrivals, and the jobs it held are lost; both count
  as blocked (``blocking_probability``);
* ``Start(warm=True)`` boots from a snapshot with the VM's ``warm_boot``
  time, otherwise with its cold ``boot`` time.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._validation import nonnegative, positive, scalar
from .errors import InvalidParameter, LifecycleError

__all__ = ["Pause", "Resume", "Stop", "Start", "replay", "STATES"]

STATES = ("created", "configuring", "booting", "running", "paused", "stopped")


@dataclass(frozen=True)
class _Event:
    vm: str
    at: float

    def __post_init__(self):
        if not isinstance(self.vm, str) or not self.vm:
            raise InvalidParameter(f"{type(self).__name__}: vm must be a VM name, got {self.vm!r}")
        object.__setattr__(self, "at", scalar(nonnegative, f"{type(self).__name__}({self.vm!r}): at", self.at))

    verb = "?"


@dataclass(frozen=True)
class Pause(_Event):
    """Pause VM ``vm`` at time ``at``; with ``duration``, resume it ``duration`` later.

    Examples
    --------
    >>> Pause("b", at=100.0, duration=50.0)
    Pause(vm='b', at=100.0, duration=50.0)
    """

    duration: float | None = None
    verb = "pause"

    def __post_init__(self):
        super().__post_init__()
        if self.duration is not None:
            object.__setattr__(self, "duration", scalar(positive, f"Pause({self.vm!r}): duration", self.duration))


@dataclass(frozen=True)
class Resume(_Event):
    """Resume the paused VM ``vm`` at time ``at``."""

    verb = "resume"


@dataclass(frozen=True)
class Stop(_Event):
    """Stop VM ``vm`` at time ``at`` (running or paused); its waiting jobs are lost."""

    verb = "stop"


@dataclass(frozen=True)
class Start(_Event):
    """Start the stopped VM ``vm`` at time ``at``: it boots (warm from a snapshot if ``warm``)."""

    warm: bool = False
    verb = "start"

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.warm, bool):
            raise InvalidParameter(f"Start({self.vm!r}): warm must be True or False, got {self.warm!r}")


# logical states for the replay: "starting" covers created/configuring/booting
_ALLOWED = {
    "pause": {"running", "starting"},
    "resume": {"paused"},
    "stop": {"running", "paused", "starting"},
    "start": {"stopped"},
}
_AFTER = {"pause": "paused", "resume": "running", "stop": "stopped", "start": "starting"}


def expand(events):
    """The script with each ``Pause(duration=d)`` followed by its ``Resume``, sorted by time (stable)."""
    out = []
    for e in events:
        out.append(e)
        if isinstance(e, Pause) and e.duration is not None:
            out.append(Resume(e.vm, e.at + e.duration))
    return sorted(out, key=lambda e: e.at)


def replay(events, vms) -> tuple:
    """Check a script against the state machine; return it expanded and sorted.

    Raises
    ------
    InvalidParameter
        An entry is not an event, or names a VM that is not in ``vms``.
    LifecycleError
        A transition the VM's state does not allow (the message names the state).
    """
    by_name = {v.name: v for v in vms}
    for e in events:
        if not isinstance(e, _Event):
            raise InvalidParameter(f"events must be Pause/Resume/Stop/Start objects, got {e!r}")
        if e.vm not in by_name:
            raise InvalidParameter(f"{e!r} names a VM that is not in the scenario; VMs are {sorted(by_name)}")
        if isinstance(e, Start) and e.warm and by_name[e.vm].warm_boot is None:
            raise InvalidParameter(f"{e!r} asks for a warm boot but VM {e.vm!r} has no warm_boot time")
    script = expand(events)
    state = {v.name: ("starting" if v.has_stages else "running") for v in vms}
    for e in script:
        now = state[e.vm]
        if now not in _ALLOWED[e.verb]:
            raise LifecycleError(f"cannot {e.verb} VM {e.vm!r} at t={e.at:g}: it is {now}")
        state[e.vm] = _AFTER[e.verb]
    return tuple(script)
