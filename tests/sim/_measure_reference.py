"""Reference for tests/sim/test_measure_fast.py: virtmodel/sim/measure.py as it was before the
numba kernels (commit ea4bcb3), verbatim apart from absolute imports and one later rule change made
in both: mean_queue_length of time-sliced policies and steal_time are clipped at 0 (their O(1/T)
window-edge error made them slightly negative when the true value is about 0).  Do not optimise this file:
it is what the fast measure() is compared with, number for number.

Original module docstring:
From per-job records to metric estimates over an observation window.

Per-customer metrics (``mean_wait``, ``mean_response``) average the jobs that
depart inside the window ``(t0, t1]``; time averages (``mean_number``,
``mean_queue_length``, ``utilization``) integrate the exact sample paths
rebuilt from arrival, start and departure times
(:func:`virtmodel.sim.stats.window_average`); for policies that serve jobs
in pieces (time slicing, preemption, sharing) ``utilization`` is the pCPU
time used by the jobs that departed in the window (switch overhead
included) per unit time and pCPU, and ``mean_queue_length`` is the mean
number present minus the mean number in service (L - work served per unit
time), the M/G/1 identity L_q = L - rho.  ``throughput`` counts
departures per unit time and ``blocking_probability`` is the share of
arrivals in the window that found the system full.

With abandonment (``Records.abandoned``, VMs with patience) every accepted
job leaves either served or abandoned: ``mean_wait`` and ``mean_response``
average all jobs leaving in the window (an abandoned job waited, and stayed,
exactly its patience), so Little's law L = lambda W holds with all leavers;
``mean_wait_served`` and ``mean_wait_abandoned`` split the waits,
``abandonment_probability`` is the share of leavers that abandoned, and
``throughput`` counts served jobs only.  ``mean_wait_abandoned`` is left
out when no job abandoned in the window (or, with batches, fewer than one
per batch).

With ``batches`` set, the same quantities are also returned per batch: the
window is cut into equal time bins for time averages and counts, and the
customers into equal consecutive batches for per-customer means (batch means
inside a single run).
"""

from __future__ import annotations

import numpy as np

from virtmodel.errors import InvalidParameter
from virtmodel.sim import stats
from virtmodel.sim.percentiles import percentiles

__all__ = ["measure", "Measurement"]


class Measurement:
    """Point estimates ``values[(metric, group)]``, optional ``batches[(metric, group)]``,
    and the Little's-law gap per group, ``(L - X W) / L``."""

    __slots__ = ("values", "batches", "littles_gap", "by_size")

    def __init__(self):
        self.values: dict[tuple[str, str], float] = {}
        self.batches: dict[tuple[str, str], np.ndarray] = {}
        self.littles_gap: dict[str, float] = {}
        #: group -> (jobs per size bin, sum of sizes, sum of responses)
        self.by_size: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def _groups(rec, names):
    yield "all", np.ones(rec.vm.shape, dtype=bool)
    if len(names) > 1:
        for i, name in enumerate(names):
            yield name, rec.vm == i


def measure(rec, t0: float, t1: float, names, pcpus: int, losses=False, batches: int | None = None,
            size_bins=None, vcpus=None):
    """Estimate every metric over the window ``(t0, t1]`` of the run in ``rec``.

    Parameters
    ----------
    rec : virtmodel.sim.vmm.Records
    t0, t1 : float
        Window start (end of warm-up) and end.
    names : sequence of str
        VM names, indexed by ``rec.vm``; with more than one VM each gets its
        own group beside ``"all"``.
    pcpus : int
        Number of pCPUs (utilization is per pCPU).
    losses : bool
        Jobs can be lost (finite capacity, stopped VMs): also estimate
        ``blocking_probability``.
    batches : int or None
        Also return batch values for a batch-means interval.
    vcpus : sequence of int or None
        vCPUs per VM (None entries: no limit, i.e. ``pcpus``), for steal time.
    size_bins : array_like or None
        Edges of job-size bins: also collect, per group, the count, total
        size and total response of the departed jobs in each bin (for
        E[T | size]).
    """
    if not t1 > t0:
        raise InvalidParameter(f"observation window must have t1 > t0, got ({t0}, {t1})")
    span = t1 - t0
    arr, dep, start = rec.arrival, rec.depart, rec.start
    # departed jobs in departure order, restricted to the window
    order = rec.order[dep[rec.order] > t0]
    dep_open = np.where(np.isnan(dep), np.inf, dep)
    started = ~np.isnan(start)
    start_open = np.where(started, start, np.inf)
    accepted = ~rec.blocked
    edges = np.linspace(t0, t1, batches + 1) if batches else None
    sliced = rec.occupied is not None
    out = Measurement()
    for group, member in _groups(rec, names):
        o = order if group == "all" else order[member[order]]
        wait = start[o] - arr[o]
        resp = dep[o] - arr[o]
        if resp.size == 0:
            raise InvalidParameter(
                f"no job of group {group!r} departed in the observation window; "
                "simulate more customers or a longer horizon"
            )
        acc = accepted & member
        busy = acc & started
        v = out.values
        if sliced:
            # work and pCPU time of the jobs that left in the window (edge error O(1/T))
            v["utilization", group] = rec.occupied[o].sum() / (pcpus * span)
        else:
            v["utilization", group] = stats.window_average(start[busy], dep_open[busy], t0, t1) / pcpus
        v["throughput", group] = o.size / span
        v["mean_wait", group] = float(wait.mean())
        v["mean_response", group] = float(resp.mean())
        # p50/p95/p99 of wait and response of the jobs served (sim/percentiles.py)
        quantiles, batch_quantiles = percentiles(wait, resp, batches)
        v.update({(k, group): x for k, x in quantiles.items()})
        out.batches.update({(k, group): x for k, x in batch_quantiles.items()})
        v["mean_number", group] = stats.window_average(arr[acc], dep_open[acc], t0, t1)
        if sliced:
            # jobs present but not being served: L minus the mean number in service
            v["mean_queue_length", group] = max(0.0, v["mean_number", group] - rec.size[o].sum() / span)
        else:
            v["mean_queue_length", group] = stats.window_average(arr[acc], start_open[acc], t0, t1)
        if losses:
            came = (arr > t0) & (arr <= t1) & member
            v["blocking_probability", group] = float(rec.blocked[came].mean()) if came.any() else 0.0
        if group == "all":
            # E[S W] / E[S]: the work-weighted wait of Kleinrock's conservation law (sum_i rho_i W_i / rho
            # for class-based policies; the job-level form also holds when the order depends on sizes)
            x = rec.size[o]
            v["work_weighted_wait", group] = float((x * wait).sum() / x.sum())
            if batches:
                out.batches["work_weighted_wait", group] = (stats.batch_means(x * wait, batches)
                                                            / stats.batch_means(x, batches))
        if size_bins is not None:
            x = rec.size[o]
            out.by_size[group] = (np.histogram(x, size_bins)[0], np.histogram(x, size_bins, weights=x)[0],
                                  np.histogram(x, size_bins, weights=resp)[0])
        number = v["mean_number", group]
        flow = v["throughput", group] * v["mean_response", group]
        out.littles_gap[group] = (number - flow) / number if number > 0 else 0.0
        if batches:
            if resp.size < batches:
                raise InvalidParameter(
                    f"batch means need at least {batches} departures per group, group {group!r} "
                    f"has {resp.size}; simulate more customers or use replications >= 2"
                )
            b = out.batches
            width = np.diff(edges)
            if sliced:
                b["utilization", group] = np.histogram(dep[o], edges, weights=rec.occupied[o])[0] / (
                    pcpus * width)
            else:
                b["utilization", group] = stats.binned_average(start[busy], dep_open[busy], edges) / pcpus
            b["throughput", group] = np.histogram(dep[o], edges)[0] / width
            b["mean_wait", group] = stats.batch_means(wait, batches)
            b["mean_response", group] = stats.batch_means(resp, batches)
            b["mean_number", group] = stats.binned_average(arr[acc], dep_open[acc], edges)
            if sliced:
                served = np.histogram(dep[o], edges, weights=rec.size[o])[0] / width
                b["mean_queue_length", group] = np.maximum(0.0, b["mean_number", group] - served)
            else:
                b["mean_queue_length", group] = stats.binned_average(arr[acc], start_open[acc], edges)
            if losses:
                came = (arr > t0) & (arr <= t1) & member
                arrivals = np.histogram(arr[came], edges)[0]
                lost = np.histogram(arr[came & rec.blocked], edges)[0]
                if np.any(arrivals == 0):
                    raise InvalidParameter(
                        f"a batch of group {group!r} saw no arrivals; simulate more customers "
                        "or use replications >= 2"
                    )
                b["blocking_probability", group] = lost / arrivals
        if rec.abandoned is not None:
            _abandonment(out, rec, t0, t1, group, o, member, accepted, batches, edges)
    if len(names) > 1:
        _vm_level(out, rec, t0, t1, names, pcpus, vcpus, accepted, dep_open, edges)
    return out


def _abandonment(out, rec, t0, t1, group, served, member, accepted, batches, edges):
    """Metrics of a run with abandonment for one group (see the module docstring).

    ``served`` are the group's jobs served and departed in the window, in
    departure order; abandoned jobs leave at ``rec.depart`` (arrival + patience).
    """
    arr, dep, start = rec.arrival, rec.depart, rec.start
    gone = np.flatnonzero(rec.abandoned & member & (dep > t0) & (dep <= t1))
    gone = gone[np.argsort(dep[gone], kind="stable")]
    wait_served = start[served] - arr[served]
    wait_gone = dep[gone] - arr[gone]
    leave = np.concatenate((dep[served], dep[gone]))
    by_leave = np.argsort(leave, kind="stable")
    waits = np.concatenate((wait_served, wait_gone))[by_leave]
    stays = np.concatenate((dep[served] - arr[served], wait_gone))[by_leave]
    flags = np.concatenate((np.zeros(served.size), np.ones(gone.size)))[by_leave]
    queue_exit = np.where(np.isnan(start), np.where(rec.abandoned, dep, np.inf), start)
    v = out.values
    v["mean_wait", group] = float(waits.mean())
    v["mean_response", group] = float(stays.mean())
    v["mean_wait_served", group] = float(wait_served.mean())
    if gone.size and gone.size >= (batches or 1):
        v["mean_wait_abandoned", group] = float(wait_gone.mean())
    v["abandonment_probability", group] = float(flags.mean())
    acc = accepted & member
    v["mean_queue_length", group] = stats.window_average(arr[acc], queue_exit[acc], t0, t1)
    number = v["mean_number", group]
    flow = leave.size / (t1 - t0) * v["mean_response", group]
    out.littles_gap[group] = (number - flow) / number if number > 0 else 0.0
    if batches:
        b = out.batches
        b["mean_wait", group] = stats.batch_means(waits, batches)
        b["mean_response", group] = stats.batch_means(stays, batches)
        b["mean_wait_served", group] = stats.batch_means(wait_served, batches)
        b["abandonment_probability", group] = stats.batch_means(flags, batches)
        b["mean_queue_length", group] = stats.binned_average(arr[acc], queue_exit[acc], edges)
        if ("mean_wait_abandoned", group) in v:
            b["mean_wait_abandoned", group] = stats.batch_means(wait_gone, batches)


def _vm_level(out, rec, t0, t1, names, pcpus, vcpus, accepted, dep_open, edges):
    """Steal time per VM: the share of its vCPU time that it wanted to run but did not.

    (E[min(N_i, v_i)] - E[busy pCPUs of i]) / v_i, with N_i its jobs present
    and v_i its vCPUs (the pCPUs when unlimited); for ``"all"`` the same over
    all VMs' vCPUs.
    """
    v, b = out.values, out.batches
    times = np.array([t0, t1]) if edges is None else edges
    want_all = np.zeros(times.size - 1)
    busy_all = np.zeros(times.size - 1)
    caps = 0
    for i, name in enumerate(names):
        cap = (vcpus[i] if vcpus is not None and vcpus[i] is not None else None) or pcpus
        acc = accepted & (rec.vm == i)
        want = np.diff(stats.capped_occupancy(rec.arrival[acc], dep_open[acc], cap, times)) / np.diff(times)
        busy = b["utilization", name] * pcpus if edges is not None else np.array([v["utilization", name] * pcpus])
        window_want = want.mean() if edges is not None else want[0]
        v["steal_time", name] = max(0.0, float((window_want - v["utilization", name] * pcpus) / cap))
        if edges is not None:
            b["steal_time", name] = np.maximum(0.0, (want - busy) / cap)
        want_all += want
        busy_all += busy
        caps += cap
    v["steal_time", "all"] = max(0.0, float((want_all.mean() - v["utilization", "all"] * pcpus) / caps))
    if edges is not None:
        b["steal_time", "all"] = np.maximum(0.0, (want_all - busy_all) / caps)
