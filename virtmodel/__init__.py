"""virtmodel: performance models of virtualized systems, derived, predicted and simulated.

>>> import virtmodel as vm
>>> from virtmodel.dists import Exponential
>>> sc = vm.Scenario(pcpus=1, vms=[vm.VM("web", Exponential(0.5), Exponential(1.0))])
>>> vm.predict(sc).value("mean_response")
2.0
"""

__version__ = "0.1.0"

from . import analytic, areas, data, dists, errors, events, io, policies  # noqa: F401  (areas registers the plug-ins)
from .analytic.solve import Prediction, predict
from .clock import ClockScenario
from .cluster import Cluster, ClusterTrace, Flavour
from .errors import InvalidParameter, LifecycleError, NoClosedForm, UnstableSystem, VirtmodelError, VirtmodelWarning
from .experiments.compare import compare
from .experiments.sweep import sweep
from .io import IOVM, Device, IOPath, IOScenario, IOStream, TokenBucket
from .lifecycle import (
    BootStorm,
    Component,
    HostBringUp,
    InstallFromMedia,
    InstallFromServer,
    InstallStorm,
    Module,
    Provisioning,
)
from .network import Flow, Link, NetworkHost, NetworkScenario, Topology
from .overhead import Virtualization
from .scenario import VM, Scenario
from .sim.results import SimResult
from .sim.run import simulate

#: loaded on first use, so that ``import virtmodel`` loads neither matplotlib nor sympy (issue 12)
_LAZY = {"plotting": (".plotting", None), "symbolic": (".symbolic", None),
         "Derivation": (".symbolic", "Derivation"), "derivations": (".symbolic", "derivations"),
         "derive": (".symbolic", "derive")}


def __getattr__(name):
    """``virtmodel.plotting`` (matplotlib) and ``virtmodel.derive`` & co. (sympy) are imported on first use."""
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = importlib.import_module(module, __name__)
        value = value if attr is None else getattr(value, attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'virtmodel' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "Scenario", "VM", "policies", "dists", "analytic", "errors", "events", "plotting",
    "predict", "Prediction", "simulate", "SimResult", "compare", "sweep",
    "derive", "derivations", "Derivation",
    "VirtmodelError", "InvalidParameter", "UnstableSystem", "NoClosedForm", "LifecycleError", "VirtmodelWarning",
    "Virtualization", "BootStorm", "ClockScenario",
    "HostBringUp", "Module", "Component", "InstallFromServer", "InstallFromMedia", "InstallStorm", "Provisioning",
    "Cluster", "ClusterTrace", "Flavour",
    "IOScenario", "IOVM", "IOStream", "Device", "IOPath", "TokenBucket", "io",
    "NetworkScenario", "Topology", "NetworkHost", "Link", "Flow",
    "data",
]
