"""Exceptions raised by virtmodel.

Every error is a :class:`VirtmodelError`, which is also a :class:`ValueError`,
so callers that already catch ``ValueError`` keep working.  Messages name the
parameter, the offending value and the rule that it breaks, e.g.
``InvalidParameter("service_rate must be > 0, got -1.0")``.
"""

from __future__ import annotations

__all__ = ["VirtmodelError", "InvalidParameter", "UnstableSystem", "NoClosedForm", "LifecycleError"]


class VirtmodelError(ValueError):
    """Base class of every error virtmodel raises on purpose."""


class InvalidParameter(VirtmodelError):
    """A parameter is outside its domain (wrong type, sign, range or shape)."""


class UnstableSystem(VirtmodelError):
    """The offered load reaches capacity (utilization >= 1): no steady state.

    Parameters
    ----------
    message : str
        Human-readable explanation naming the utilization.
    utilization : float or numpy.ndarray, optional
        The utilization that made the system unstable.
    """

    def __init__(self, message: str, utilization=None):
        super().__init__(message)
        self.utilization = utilization


class NoClosedForm(VirtmodelError):
    """No exact or approximate closed form covers this model.

    The message says which assumption fails (e.g. "service is not
    exponential, which M/M/c/K requires").
    """


class LifecycleError(VirtmodelError):
    """A VM lifecycle transition that its current state does not allow.

    The message names the VM, the event, its time and the state the VM was
    in (e.g. "cannot pause VM 'b' at t=120: it is stopped").
    """
