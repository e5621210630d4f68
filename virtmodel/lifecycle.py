"""Boot storms as a scenario kind: ``vm.predict``, ``vm.simulate`` and ``vm.compare`` accept them.

A :class:`BootStorm` starts ``n_vms`` VMs at time 0; each is created,
configured and booted, the boots sharing ``slots`` boot slots.  The metric is
``makespan`` (group ``"all"``): the time until the last VM is up.  The closed
forms live in :mod:`virtmodel.analytic.lifecycle`, the simpy model in
:mod:`virtmodel.sim.lifecycle`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ._validation import positive_int
from .dists import Distribution
from .errors import InvalidParameter

__all__ = ["BootStorm"]


@dataclass(frozen=True)
class BootStorm:
    """N VMs started at once: create -> configure -> boot on ``slots`` boot slots.

    Parameters
    ----------
    n_vms : int
        Number of VMs, >= 1.
    boot : Distribution
        Boot time of one VM (i.i.d. over VMs).
    slots : int or None, default None
        Boots that may run at once (FIFO in the order VMs are ready); None:
        all in parallel; 1: sequential.
    create, configure : Distribution or None
        Optional stages before the boot, run for all VMs at once.

    Examples
    --------
    >>> import virtmodel as vm
    >>> from virtmodel.dists import Exponential
    >>> storm = vm.BootStorm(4, boot=Exponential(1.0), slots=2)
    >>> vm.predict(storm).value("makespan")        # (4 - 2)/2 + H_2
    2.5
    >>> res = vm.simulate(storm, replications=200, seed=1)
    >>> low, high = res.ci("makespan")
    >>> bool(low < 2.5 < high)
    True
    """

    n_vms: int
    boot: Distribution
    slots: int | None = None
    create: Distribution | None = None
    configure: Distribution | None = None

    def __post_init__(self):
        object.__setattr__(self, "n_vms", positive_int("n_vms", self.n_vms))
        if not isinstance(self.boot, Distribution):
            raise InvalidParameter(f"boot must be a virtmodel.dists Distribution, got {self.boot!r}")
        if self.slots is not None:
            object.__setattr__(self, "slots", positive_int("slots", self.slots))
        for name in ("create", "configure"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Distribution):
                raise InvalidParameter(f"{name} must be a virtmodel.dists Distribution or None, got {value!r}")

    def predict(self):
        """The closed-form mean makespan as a :class:`~virtmodel.Prediction`.

        Raises
        ------
        NoClosedForm
            Where :func:`virtmodel.analytic.lifecycle.boot_storm_makespan` has none.
        """
        from .analytic.lifecycle import boot_storm_makespan
        from .analytic.solve import Prediction

        m = boot_storm_makespan(self.n_vms, self.boot, self.slots, self.create, self.configure)
        values = pd.DataFrame([("makespan", "all", float(m.value))], columns=["metric", "group", "value"])
        return Prediction(values, m.exact, m.model, m.source)

    def replicate(self, seed, replication) -> dict:
        """One simulated storm: ``{("makespan", "all"): makespan}``."""
        from .sim.lifecycle import BootStormModel

        return {("makespan", "all"): BootStormModel(self, seed, replication).run()}
