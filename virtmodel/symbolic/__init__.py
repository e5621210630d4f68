"""virtmodel.symbolic: sympy derivations of the closed-form results (the *derive* layer).

>>> from virtmodel.symbolic import derive, derivations
>>> "mg1.mean_wait" in derivations()
True
>>> d = derive("mm1.mean_response")
>>> d(arrival_rate=0.5, service_rate=1.0)
2.0
"""

from . import (
    abandonment,  # noqa: F401  (registers the Erlang-A derivation)
    allocation,  # noqa: F401  (registers the allocation derivations: Kaufman-Roberts, DRF, idle memory tax)
    clock,  # noqa: F401  (registers the guest-clock derivations: NTP on-wire, Allan, holdover, lost ticks)
    io,  # noqa: F401  (registers the shared I/O device derivations: request times, FCFS, partitions, GPS)
    lifecycle,  # noqa: F401  (registers the boot-storm derivations)
    network,  # noqa: F401  (registers the VM-network derivations: Jackson tandem, sojourn CDF, sync asymmetry)
    overhead,  # noqa: F401  (registers the virtualization-overhead derivations)
    polling,  # noqa: F401  (registers the polling derivations)
    queues,  # noqa: F401  (registers the queueing derivations)
    scheduling,  # noqa: F401  (registers the scheduling-policy derivations)
    tail,  # noqa: F401  (registers the waiting- and response-time tail derivations)
)
from .derivation import Derivation, Step, derivations, derive

# The registering decorator is virtmodel.symbolic.derivation.derivation; it is not re-exported here
# so that ``virtmodel.symbolic.derivation`` stays the module.
__all__ = ["Derivation", "Step", "derivations", "derive"]
