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

from dataclasses import dataclass

__all__ = ["Policy", "FCFS"]


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
