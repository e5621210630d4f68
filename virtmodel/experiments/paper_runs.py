"""The experiments behind the paper's figures, as module-level sweep functions.

:mod:`virtmodel.experiments.reproduce` runs each of them through
:func:`virtmodel.sweep` with a store, so a rerun reuses every finished point
and the numbers depend only on the seed, the point and the replication (not
on the number of worker processes).  Each function is either
``fn(**point, rng) -> {metric: value | {group: value}}`` (one replication)
or ``fn(**point) -> scenario`` (predicted and simulated by the sweep).
"""

from __future__ import annotations

import functools

import numpy as np

from .. import policies as P
from ..dists import Exponential, HyperExponential

__all__ = ["SLOWDOWN_POLICIES", "slowdown_service", "slowdown_scenario", "slowdown_edges", "slowdown_point",
           "consolidation_point", "clock_poll_scenario", "clock_paths", "azure_trace", "azure_point",
           "battery_scenario", "AZURE_HOST", "AZURE_METHODS"]

#: the policies of the slowdown figure (two VMs, priority 0 and 1, on one pCPU)
SLOWDOWN_POLICIES = {"FCFS": P.FCFS(), "SJF": P.SJF(), "SRPT": P.SRPT(), "PS": P.ProcessorSharing()}


def slowdown_service():
    """High-variance service: balanced two-phase hyperexponential, mean 1, scv 4."""
    return HyperExponential.balanced(1.0, 4.0)


def slowdown_scenario(policy: str, load: float):
    """Two VMs (priority 0 and 1) splitting ``load`` evenly on one pCPU under ``policy``."""
    from ..scenario import VM, Scenario

    service = slowdown_service()
    lam = load / service.mean / 2
    vms = [VM("a", Exponential(lam), service, priority=0), VM("b", Exponential(lam), service, priority=1)]
    return Scenario(1, vms, policy=SLOWDOWN_POLICIES[policy])


def slowdown_edges(bins: int = 8, top: float = 0.999) -> np.ndarray:
    """Job-size bin edges: 0 and the service law's quantiles at k/bins x ``top`` (equal shares of jobs)."""
    from scipy.optimize import brentq

    service = slowdown_service()
    qs = np.linspace(0.0, top, bins + 1)[1:]
    edges = [brentq(lambda x, q=q: float(service.cdf(x)) - q, 1e-12, 1e3, xtol=1e-12) for q in qs]
    return np.array([0.0, *edges])


def _seed(rng) -> int:
    return int(rng.integers(2**62))


def slowdown_point(policy, load, customers, replications, rng):
    """E[T | size bin] of one policy: ``replications`` seeded replications with Student-t intervals per bin.

    Returns metrics ``mean_size``, ``mean_response``, ``ci_low``, ``ci_high``
    with one group per size bin (``"bin0"``, ...), from
    :attr:`SimResult.conditional` (group ``"all"``).
    """
    from ..sim.run import simulate

    res = simulate(slowdown_scenario(policy, load), customers=int(customers), replications=int(replications),
                   seed=_seed(rng), size_bins=slowdown_edges())
    cond = res.conditional[res.conditional["group"] == "all"].reset_index(drop=True)
    keys = [f"bin{int(np.searchsorted(slowdown_edges(), low))}" for low in cond["size_low"]]
    return {col: dict(zip(keys, cond[col].astype(float), strict=True))
            for col in ("mean_size", "mean_response", "ci_low", "ci_high")}


def consolidation_point(n_vms, load, customers, rng):
    """One replication of N VMs on N dedicated pCPUs (``vcpus=1``: N x M/M/1) and pooled (M/M/N).

    Both layouts run on the same seed (common random numbers: the same
    arrivals and jobs), so the gain T_dedicated / T_pooled of a replication
    compares like with like; the sweep's replications give its interval.
    """
    from ..scenario import VM, Scenario
    from ..sim.run import simulate

    seed = _seed(rng)
    out = {}
    for layout, vcpus in (("dedicated", 1), ("pooled", None)):
        vms = [VM(f"vm{i}", Exponential(load), Exponential(1.0), vcpus=vcpus) for i in range(int(n_vms))]
        res = simulate(Scenario(int(n_vms), vms), customers=int(customers), replications=1, seed=seed)
        out[layout] = res.mean("mean_response")
    return {"mean_response": out, "gain": out["dedicated"] / out["pooled"]}


def clock_paths():
    """The NTP paths of the poll-interval experiment: 1 ms + Exp(0.4 ms) out, 1 ms + Exp(0.2 ms) back."""
    from ..analytic.clock import PathDelay

    return PathDelay(1e-3, 4e-4), PathDelay(1e-3, 2e-4)


def clock_poll_scenario(poll, hours, n_vms):
    """``n_vms`` guests with a good oscillator, NTP at ``poll`` seconds, measured over the second half of ``hours``."""
    from ..analytic.clock import Oscillator
    from ..clock import NTP, ClockScenario

    to, back = clock_paths()
    return ClockScenario(n_vms=int(n_vms), horizon=3600.0 * hours, warmup=3600.0 * hours / 2,
                         oscillator=Oscillator(random_walk_fm=1e-18, white_pm=1e-6),
                         sync=NTP(float(poll), to_server=to, from_server=back))


@functools.lru_cache(maxsize=1)
def azure_trace():
    """The Azure V1 requests (:meth:`ClusterTrace.azure_v1`), read once per process."""
    from ..cluster import ClusterTrace

    return ClusterTrace.azure_v1()


#: the hosts of the Azure figure: vCPU slots and memory (GB)
AZURE_HOST = (64, 512.0)
#: the methods of the Azure figure: two placements replayed, and the pooled closed form
AZURE_METHODS = ("first_fit", "dot_product", "kaufman_roberts_pooled")


def azure_point(hosts, method, host_cpus=AZURE_HOST[0], host_memory=AZURE_HOST[1]):
    """Blocking of the Azure V1 requests on ``hosts`` hosts: a trace replay, or Kaufman-Roberts pooled.

    ``method`` is a placement (``"first_fit"``, ``"dot_product"``: the
    410,276 requests replayed once, a deterministic sample path) or
    ``"kaufman_roberts_pooled"`` (:meth:`Cluster.predict`: every flavour's rate
    and mean lifetime fitted to the trace, the hosts' slots pooled).
    """
    from ..cluster import Cluster

    if method == "kaufman_roberts_pooled":
        pred = Cluster(int(hosts), host_cpus, host_memory, trace=azure_trace()).predict()
        return {"blocking_probability": pred.value("blocking_probability", "all")}
    out = Cluster(int(hosts), host_cpus, host_memory, trace=azure_trace(), placement=method).replicate(0, 0)
    return {"blocking_probability": out["blocking_probability", "all"], "utilization": out["utilization", "all"]}


@functools.lru_cache(maxsize=1)
def _battery_by_label():
    from .validation import battery

    checks = battery()
    table = {c.label: c for c in checks}
    if len(table) != len(checks):
        raise RuntimeError("the validation battery has two checks with the same label")
    return table


def battery_scenario(check):
    """The scenario of the validation battery's check labelled ``check``."""
    return _battery_by_label()[check].scenario
