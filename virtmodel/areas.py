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
"""

from __future__ import annotations

from .analytic import allocation as _allocation  # noqa: F401  (ProportionalShare, Credit solvers)
from .analytic import linux_fair as _linux_fair  # noqa: F401  (LinuxFair solver)
from .analytic import polling as _polling  # noqa: F401  (Polling solver)

__all__: list[str] = []
