"""From per-job records to metric estimates over an observation window.

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

Runs of at least :data:`COMPILED_MIN_JOBS` jobs are measured by the numba
kernels of :mod:`virtmodel.sim._measure_numba`: the same per-job values in
the same order, summed by numpy, so the same numbers bit for bit
(``tests/sim/test_measure_fast.py`` compares them with the previous numpy
code), in one pass per group instead of dozens of full-size temporaries.
"""

from __future__ import annotations

import sys

import numpy as np

from ..errors import InvalidParameter
from . import stats
from .percentiles import percentiles

__all__ = ["measure", "Measurement", "COMPILED_MIN_JOBS"]

#: runs with at least this many jobs are measured by the numba kernels of
#: :mod:`virtmodel.sim._measure_numba` (the same numbers bit for bit, a few times
#: faster) once numba is loaded (a compiled run loads it), and from
#: :data:`IMPORT_NUMBA_JOBS` jobs on in any case; shorter ones by numpy alone,
#: which spares a simpy-only session importing numba (about 1 s) for little gain
COMPILED_MIN_JOBS = 20_000
IMPORT_NUMBA_JOBS = 500_000


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
    fast = _kernels(rec)
    if fast is None:
        # departed jobs in departure order, restricted to the window
        order = rec.order[dep[rec.order] > t0]
        dep_open = np.where(np.isnan(dep), np.inf, dep)
        started = ~np.isnan(start)
        start_open = np.where(started, start, np.inf)
    else:
        dep_open = started = start_open = None
    accepted = ~rec.blocked
    edges = np.linspace(t0, t1, batches + 1) if batches else None
    sliced = rec.occupied is not None
    out = Measurement()
    # with several VMs, every group's departures and window averages from one pass each
    every = _every_group(fast, rec, len(names), t0, t1, not sliced) if fast is not None and len(names) > 1 else None
    for index, (group, member) in enumerate(_groups(rec, names)):
        if every is not None:
            o, wait, resp = every[0][index]
        elif fast is None:
            o = order if group == "all" else order[member[order]]
            wait = start[o] - arr[o]
            resp = dep[o] - arr[o]
        else:
            # the same jobs, waits and responses in one pass (bit for bit), in scratch arrays that
            # the next group overwrites: copy o, wait or resp before keeping them in the output
            n = rec.order.size
            jobs, wait, resp = fast.scratch("jobs", n, np.int64), fast.scratch("wait", n), fast.scratch("resp", n)
            k = fast.group_departures(rec.order, arr, start, dep, rec.vm, index - 1, t0, jobs, wait, resp)
            o, wait, resp = jobs[:k], wait[:k], resp[:k]
        if resp.size == 0:
            raise InvalidParameter(
                f"no job of group {group!r} departed in the observation window; "
                "simulate more customers or a longer horizon"
            )
        v = out.values
        if fast is not None:
            # the window averages below, from one pass over the jobs (bit for bit)
            averages = every[1][index] if every is not None else _window_averages(fast, rec, index - 1, t0, t1,
                                                                                  not sliced)
        else:
            acc = accepted & member
            busy = acc & started
        if sliced:
            # work and pCPU time of the jobs that left in the window (edge error O(1/T))
            v["utilization", group] = rec.occupied[o].sum() / (pcpus * span)
        elif fast is not None:
            v["utilization", group] = averages["busy"] / pcpus
        else:
            v["utilization", group] = stats.window_average(start[busy], dep_open[busy], t0, t1) / pcpus
        v["throughput", group] = o.size / span
        v["mean_wait", group] = float(wait.mean())
        v["mean_response", group] = float(resp.mean())
        # p50/p95/p99 of wait and response of the jobs served (sim/percentiles.py)
        quantiles, batch_quantiles = percentiles(wait, resp, batches, fast)
        v.update({(k, group): x for k, x in quantiles.items()})
        out.batches.update({(k, group): x for k, x in batch_quantiles.items()})
        if fast is not None:
            v["mean_number", group] = averages["number"]
        else:
            v["mean_number", group] = stats.window_average(arr[acc], dep_open[acc], t0, t1)
        if sliced:
            # jobs present but not being served: L minus the mean number in service.  The second term
            # counts the work of the jobs that left in the window, so at the window's edges it can exceed
            # L by O(1/T) when the queue is nearly always empty: clipped at 0, never negative
            v["mean_queue_length", group] = max(0.0, v["mean_number", group] - rec.size[o].sum() / span)
        elif fast is not None:
            v["mean_queue_length", group] = averages["queue"]
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
            # binned averages of the jobs present, in service and waiting
            if fast is None:
                binned = [stats.binned_average(arr[acc], dep_open[acc], edges)]
                if not sliced:
                    binned += [stats.binned_average(start[busy], dep_open[busy], edges),
                               stats.binned_average(arr[acc], start_open[acc], edges)]
                departures = np.histogram(dep[o], edges)[0]
            else:
                # the same from one kernel pass (bit for bit, see _measure_numba)
                parts, covering = fast.binned_parts(arr, start, dep, rec.blocked, rec.vm, index - 1, edges,
                                                    not sliced)
                binned = [fast.binned_from_parts(parts, covering, edges, kind) for kind in range(3)]
                departures = fast.departure_counts(o, dep, edges)
            if sliced:
                b["utilization", group] = np.histogram(dep[o], edges, weights=rec.occupied[o])[0] / (
                    pcpus * width)
            else:
                b["utilization", group] = binned[1] / pcpus
            b["throughput", group] = departures / width
            b["mean_wait", group] = stats.batch_means(wait, batches)
            b["mean_response", group] = stats.batch_means(resp, batches)
            b["mean_number", group] = binned[0]
            if sliced:
                served = np.histogram(dep[o], edges, weights=rec.size[o])[0] / width
                b["mean_queue_length", group] = np.maximum(0.0, b["mean_number", group] - served)
            else:
                b["mean_queue_length", group] = binned[2]
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
        _vm_level(out, rec, t0, t1, names, pcpus, vcpus, accepted, dep_open, edges, fast)
    return out


def _capped_occupancy(fast, rec, vm_index, acc, cap, times):
    """``stats.capped_occupancy(arrival[acc], depart_open[acc], cap, times)`` bit for bit from one
    streaming kernel pass (no sort, no arrays); runs with abandonment, or whose arrivals or
    departures of the VM are not in order, go to ``capped_occupancy`` itself."""
    t = np.asarray(times, dtype=float)
    out = np.empty(t.size)
    if rec.abandoned is None and fast.capped_integral(rec.arrival, rec.depart, rec.blocked, rec.vm, rec.order,
                                                       vm_index, float(cap), t, out):
        return out
    ends = np.where(np.isnan(rec.depart[acc]), np.inf, rec.depart[acc])
    return stats.capped_occupancy(rec.arrival[acc], ends, cap, times)


def _kernels(rec):
    """The numba kernels module when this run is long enough for them (see COMPILED_MIN_JOBS), else None."""
    n = rec.arrival.size
    if n < COMPILED_MIN_JOBS or (n < IMPORT_NUMBA_JOBS and "numba" not in sys.modules):
        return None
    from . import _measure_numba

    return _measure_numba


def _window_averages(fast, rec, group, t0, t1, need_busy):
    """``window_average`` over ``(t0, t1)`` of the jobs present (``number``), waiting (``queue``)
    and, with ``need_busy``, in service (``busy``) of group index ``group`` (-1: all), from
    one kernel pass; the overlaps are summed by numpy as in :func:`stats.window_average`."""
    lo, hi = float(t0), float(t1)
    n = rec.arrival.size
    number, busy, queue = (fast.scratch(name, n if name == "number" or need_busy else 0)
                           for name in ("number", "busy", "queue"))
    kn, kb, kq = fast.window_overlaps(rec.arrival, rec.start, rec.depart, rec.blocked, rec.vm, group, lo, hi,
                                      need_busy, need_busy, number, busy, queue)
    out = {"number": float(number[:kn].sum() / (hi - lo))}
    if need_busy:
        out["busy"] = float(busy[:kb].sum() / (hi - lo))
        out["queue"] = float(queue[:kq].sum() / (hi - lo))
    return out


def _every_group(fast, rec, nvm, t0, t1, need_busy):
    """``([(o, wait, resp) per group], [window averages per group])`` for "all" and each of ``nvm``
    VMs, what :func:`_window_averages` and the kernel ``group_departures`` give group by group,
    from two kernel passes (the same values in the same order, summed by numpy the same way)."""
    n, m = rec.arrival.size, rec.order.size
    first, count = np.empty(nvm, dtype=np.int64), np.empty(nvm, dtype=np.int64)
    bufs = [fast.scratch(name, m, np.int64 if "jobs" in name else np.float64)
            for name in ("jobs", "wait", "resp", "vm_jobs", "vm_wait", "vm_resp")]
    k = fast.every_group_departures(rec.order, rec.arrival, rec.start, rec.depart, rec.vm, nvm, float(t0),
                                    *bufs, first, count)
    departures = [tuple(b[:k] for b in bufs[:3])]
    departures += [tuple(b[first[v]:first[v] + count[v]] for b in bufs[3:]) for v in range(nvm)]
    lo, hi = float(t0), float(t1)
    size = n if need_busy else 0
    overlaps = [fast.scratch(name, n if name.endswith("number") else size)
                for name in ("number", "busy", "queue", "vm_number", "vm_busy", "vm_queue")]
    kept = np.empty((nvm, 3), dtype=np.int64)
    kn, kb, kq = fast.every_window_overlaps(rec.arrival, rec.start, rec.depart, rec.blocked, rec.vm, nvm, lo, hi,
                                            need_busy, *overlaps, first, kept)
    ranges = [(0, kn, kb, kq)] + [(first[v], *kept[v]) for v in range(nvm)]
    averages = []
    for index, (at, n_number, n_busy, n_queue) in enumerate(ranges):
        number, busy, queue = overlaps[:3] if index == 0 else overlaps[3:]
        base = 0 if index == 0 else at
        out = {"number": float(number[base:base + n_number].sum() / (hi - lo))}
        if need_busy:
            out["busy"] = float(busy[base:base + n_busy].sum() / (hi - lo))
            out["queue"] = float(queue[base:base + n_queue].sum() / (hi - lo))
        averages.append(out)
    return departures, averages


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


def _vm_level(out, rec, t0, t1, names, pcpus, vcpus, accepted, dep_open, edges, fast=None):
    """Steal time per VM: the share of its vCPU time that it wanted to run but did not.

    (E[min(N_i, v_i)] - E[busy pCPUs of i]) / v_i, with N_i its jobs present
    and v_i its vCPUs (the pCPUs when unlimited); for ``"all"`` the same over
    all VMs' vCPUs.
    """
    v, b = out.values, out.batches
    times = np.array([t0, t1]) if edges is None else edges
    want_all = np.zeros(times.size - 1)
    busy_all = np.zeros(times.size - 1)
    vm_caps = [(vcpus[i] if vcpus is not None and vcpus[i] is not None else None) or pcpus
               for i in range(len(names))]
    every = None
    if fast is not None and rec.abandoned is None:
        # every VM's capped occupancy from one pass (bit for bit the per-VM kernel's)
        every = np.empty((len(names), times.size))
        if not fast.capped_integrals(rec.arrival, rec.depart, rec.blocked, rec.vm, rec.order,
                                     np.array(vm_caps, dtype=float), np.asarray(times, dtype=float), every):
            every = None
    caps = 0
    for i, name in enumerate(names):
        cap = vm_caps[i]
        if every is not None:
            occupancy = every[i]
        elif fast is None:
            acc = accepted & (rec.vm == i)
            occupancy = stats.capped_occupancy(rec.arrival[acc], dep_open[acc], cap, times)
        else:
            occupancy = _capped_occupancy(fast, rec, i, accepted & (rec.vm == i), cap, times)
        want = np.diff(occupancy) / np.diff(times)
        busy = b["utilization", name] * pcpus if edges is not None else np.array([v["utilization", name] * pcpus])
        window_want = want.mean() if edges is not None else want[0]
        # wanted minus served vCPU time: the two window averages' O(1/T) edge errors (time-sliced
        # policies measure service from the jobs that left in the window) can make it slightly
        # negative when nothing is stolen; steal time is clipped at 0
        v["steal_time", name] = max(0.0, float((window_want - v["utilization", name] * pcpus) / cap))
        if edges is not None:
            b["steal_time", name] = np.maximum(0.0, (want - busy) / cap)
        want_all += want
        busy_all += busy
        caps += cap
    v["steal_time", "all"] = max(0.0, float((want_all.mean() - v["utilization", "all"] * pcpus) / caps))
    if edges is not None:
        b["steal_time", "all"] = np.maximum(0.0, (want_all - busy_all) / caps)
