"""Every plug-in area, imported once by the package so that it registers itself.

Solvers register with :func:`virtmodel.analytic.solve.solves` where they are
defined; the dispatcher (:func:`virtmodel.predict`) looks them up and imports
none of them.  This module is the one place that imports them, so imports run
one way (area -> dispatcher/registry, never dispatcher -> area -> dispatcher)
and a new policy's solver touches its own file plus one line here (DESIGN.md,
"Plug-ins: one way in"; issue 13 item 5).

>>> import virtmodel as vm
>>> from virtmodel.analytic.solve import _SOLVERS
>>> vm.policies.Polling in _SOLVERS and vm.policies.LinuxFair in _SOLVERS
True

Validation battery areas register the same way, with
:func:`virtmodel.experiments.registry.battery_area`; the order of their
imports below is the order of ``virtmodel validate``'s areas.
"""

from __future__ import annotations

from .analytic import allocation as _allocation  # noqa: F401  (ProportionalShare, Credit solvers)
from .analytic import linux_fair as _linux_fair  # noqa: F401  (LinuxFair solver)
from .analytic import polling as _polling  # noqa: F401  (Polling solver)

# validation battery areas (virtmodel.experiments.registry.battery_area), in the order validate runs them
# isort: off
from .experiments import battery_queues as _battery_queues  # noqa: F401
from .experiments import battery_scheduling as _battery_scheduling  # noqa: F401
from .experiments import battery_polling as _battery_polling  # noqa: F401
from .experiments import battery_allocation as _battery_allocation  # noqa: F401
from .experiments import battery_hypervisor as _battery_hypervisor  # noqa: F401
from .experiments import battery_admission as _battery_admission  # noqa: F401
from .experiments import battery_clock as _battery_clock  # noqa: F401
from .experiments import battery_lifecycle as _battery_lifecycle  # noqa: F401
from .experiments import battery_io as _battery_io  # noqa: F401
# isort: on

__all__: list[str] = []
