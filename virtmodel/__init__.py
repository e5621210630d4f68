"""virtmodel: performance models of virtualized systems, derived, predicted and simulated.

>>> import virtmodel as vm
>>> from virtmodel.dists import Exponential
>>> sc = vm.Scenario(pcpus=1, vms=[vm.VM("web", Exponential(0.5), Exponential(1.0))])
>>> vm.predict(sc).value("mean_response")
2.0
"""

__version__ = "0.1.0"

from . import analytic, data, dists, errors, events, plotting, policies
from .analytic.solve import Prediction, predict
from .clock import ClockScenario
from .cluster import Cluster, ClusterTrace, Flavour
from .errors import InvalidParameter, LifecycleError, NoClosedForm, UnstableSystem, VirtmodelError, VirtmodelWarning
from .experiments.compare import compare
from .experiments.sweep import sweep
from .lifecycle import BootStorm
from .overhead import Virtualization
from .scenario import VM, Scenario
from .sim.results import SimResult
from .sim.run import simulate
from .symbolic import Derivation, derivations, derive

__all__ = [
    "Scenario", "VM", "policies", "dists", "analytic", "errors", "events", "plotting",
    "predict", "Prediction", "simulate", "SimResult", "compare", "sweep",
    "derive", "derivations", "Derivation",
    "VirtmodelError", "InvalidParameter", "UnstableSystem", "NoClosedForm", "LifecycleError", "VirtmodelWarning",
    "Virtualization", "BootStorm", "ClockScenario",
    "Cluster", "ClusterTrace", "Flavour",
    "data",
]
