"""Exceptions raised by virtmodel.

Every error is a :class:`VirtmodelError`, which is also a :class:`ValueError`,
so callers that already catch ``ValueError`` keep working.  Messages name the
parameter, the offending value and the rule that it breaks, e.g.
``InvalidParameter("service_rate must be > 0, got -1.0")``.
"""

from __future__ import annotations

__all__ = ["VirtmodelError", "InvalidParameter", "UnstableSystem", "NoClosedForm", "LifecycleError",
           "VirtmodelWarning"]


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


class VirtmodelWarning(UserWarning):
    """A result was computed but should not be trusted as it is; the message says what to do.

    Emitted, for example, by :func:`virtmodel.simulate` when a run is too
    short for its load (the MSER-5 warm-up cut near the end of its search
    range, Little's law off by more than 5 %, a confidence half-width above
    half the mean, heavy-tailed service sampled too thinly for its interval)
    or the system is overloaded.  The numbers are never
    changed; silence it with ``warnings.filterwarnings("ignore",
    category=virtmodel.VirtmodelWarning)`` once you have read it.
    """
