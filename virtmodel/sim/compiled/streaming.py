"""Bounded-memory runs: FCFS on one pCPU, statistics kept as running sums, no per-job records.

``vm.simulate(scenario, customers=N, records=False)`` (or :func:`simulate_streaming`)
simulates a one-VM FCFS queue on one pCPU (M/G/1, G/G/1 with any drawable distributions) for
as many customers as wanted in memory that does not grow with the run, apart from the MSER-5
statistic: the random numbers are drawn in chunks (numpy blocks, the
same streams and the same numbers as the simpy model), a numba kernel carries the state (the
pCPU's last departure) from chunk to chunk and keeps

* for the warm-up truncation ``d``, in a first pass: with R = 1 the means of five consecutive
  responses of the first ``customers`` departures (what MSER-5 needs: ``customers / 5`` floats,
  160 MB for 10^8), so that ``d`` is exactly what :func:`virtmodel.sim.stats.mser5` finds on
  the full series; with R >= 2 the running sum over the replications of their pilot response
  series (:func:`ensemble_warmup`: ``N / 4`` floats), so that ``d`` is the ensemble truncation
  of :func:`virtmodel.simulate`; or a fixed fraction;
* in a second pass, per segment between marks (the end of warm-up and the ends of the batches)
  the sums of responses, waits, busy time and size x wait, and at each mark the departure time
  and the work still owed to the jobs queued then (sum of T - a_i over the jobs that arrived
  before T and have not left), so that the time integrals of the number in system and in
  queue over the window (t0, t1] are exact.

Same start and departure instants as the simpy model (the one-pCPU FCFS case of
:func:`~virtmodel.sim.compiled.kernels.run_whole`, watcher wake-ups included), so the point
estimates equal ``measure()`` on the Records of the same run (tests check it to 1e-9
relative).  Intervals: with R >= 2 over replication means; with R = 1 batch means of equal
consecutive customer batches (the oldest ``N mod batches`` customers left out, as in
:func:`~virtmodel.sim.stats.batch_means`), time averages over each batch's time span (where
``measure()`` cuts time into equal bins).  Percentiles are not kept (they need the whole
series).  The warm-up rule is that of :func:`virtmodel.simulate` with per-job records, and so
is the number removed.
"""

from __future__ import annotations

import math

import numpy as np

from ..._validation import positive_int
from ...errors import InvalidParameter
from ...policies import FCFS
from .. import stats
from ..measure import Measurement
from ..stats import MSER_BATCH
from ..streams import ARRIVAL, BLOCK, SERVICE, vm_rng
from .kernels import _watcher_wake, jit
from .support import unsupported_reason

__all__ = ["simulate_streaming", "simulate_bounded", "bounded_reason", "stream_replication", "ensemble_warmup",
           "mser5_from_means"]

#: jobs per chunk, and arrivals kept beyond a chunk to integrate the queue at a mark
CHUNK = 1 << 20
LOOKAHEAD = 1 << 16

# float state: last departure, segment sums (response, wait, busy, size * wait), 5-sum of responses
_D, _P, _W, _B, _SW, _Z = range(6)
# int state: departures so far, next mark, 5-means written
_K, _M, _ZN = range(3)


@jit
def _fcfs1_chunk(a, s, jobs, fstate, istate, marks, mark_out, z, z_limit, pilot, pilot_limit):
    """Process ``jobs`` jobs of ``a``/``s`` (arrival instants, sizes); ``a`` holds lookahead beyond.

    ``mark_out[j]`` gets (T, sum response, sum wait, busy, sum size*wait, queue integral) at
    mark j; the first ``pilot_limit`` responses are added to ``pilot`` (departure k to
    ``pilot[k - 1]``).  Returns 0, or 1 when the lookahead ran out (more than LOOKAHEAD jobs
    queued).
    """
    d_prev = fstate[_D]
    seg_p = fstate[_P]
    seg_w = fstate[_W]
    seg_b = fstate[_B]
    seg_sw = fstate[_SW]
    z_acc = fstate[_Z]
    k = istate[_K]
    mi = istate[_M]
    zn = istate[_ZN]
    nmarks = marks.size
    for i in range(jobs):
        ai = a[i]
        if k == 0:
            start = _watcher_wake(0.0, ai)
        elif ai <= d_prev:
            start = d_prev
        else:
            start = _watcher_wake(d_prev, ai)
        d = start + s[i]
        resp = d - ai
        wait = start - ai
        k += 1
        if k <= pilot_limit:
            pilot[k - 1] += resp
        if k <= z_limit:
            z_acc += resp
            if k % 5 == 0:
                z[zn] = z_acc / 5.0
                zn += 1
                z_acc = 0.0
        seg_p += resp
        seg_w += wait
        seg_b += d - start
        seg_sw += s[i] * wait
        if mi < nmarks and k == marks[mi]:
            q = 0.0
            i2 = i + 1
            while i2 < a.size and a[i2] < d:
                q += d - a[i2]
                i2 += 1
            if i2 == a.size:
                return 1
            mark_out[mi, 0] = d
            mark_out[mi, 1] = seg_p
            mark_out[mi, 2] = seg_w
            mark_out[mi, 3] = seg_b
            mark_out[mi, 4] = seg_sw
            mark_out[mi, 5] = q
            seg_p = 0.0
            seg_w = 0.0
            seg_b = 0.0
            seg_sw = 0.0
            mi += 1
        d_prev = d
    fstate[_D] = d_prev
    fstate[_P] = seg_p
    fstate[_W] = seg_w
    fstate[_B] = seg_b
    fstate[_SW] = seg_sw
    fstate[_Z] = z_acc
    istate[_K] = k
    istate[_M] = mi
    istate[_ZN] = zn
    return 0


def mser5_from_means(z) -> int:
    """MSER-5 truncation (as :func:`virtmodel.sim.stats.mser5`) from the five-means ``z`` of a series.

    Examples
    --------
    >>> import numpy as np
    >>> from virtmodel.sim.stats import mser5
    >>> y = np.r_[np.full(50, 10.0), np.tile([0.0, 1.0], 500)]
    >>> mser5_from_means(y.reshape(-1, 5).mean(axis=1)) == mser5(y) == 50
    True
    """
    z = np.ascontiguousarray(z, dtype=float)
    if z.size < 2:
        return 0
    return int(MSER_BATCH * _mser_argmin(z, float(z.mean())))


@jit
def _mser_argmin(z, mean):
    """argmin over d <= min(k // 2, k - 2) of MSER(d), with no array of size k allocated:
    the suffix sums of the centred means run from the back, as numpy's reversed cumsum does."""
    k = z.size
    same = True
    for j in range(1, k):
        if z[j] != z[0]:
            same = False
            break
    if same:
        return 0
    dmax = min(k // 2, k - 2)
    s1 = 0.0
    s2 = 0.0
    best = 0
    best_crit = np.inf
    for j in range(k - 1, -1, -1):
        c = z[j] - mean
        s1 += c
        s2 += c * c
        if j <= dmax:
            m = float(k - j)
            sse = s2 - s1 ** 2 / m
            if sse < 0.0:
                sse = 0.0
            crit = sse / (m * m)
            if crit <= best_crit:  # going down in d: ties go to the smaller d
                best_crit = crit
                best = j
    return best


def bounded_reason(scenario) -> str | None:
    """Why ``scenario`` cannot run in bounded memory (None when it can)."""
    reason = unsupported_reason(scenario)
    if reason is None and not (type(scenario.policy) is FCFS and scenario.pcpus == 1 and len(scenario.vms) == 1
                               and scenario.capacity is None and scenario.vms[0].vcpus is None):
        reason = (f"bounded-memory runs cover one VM under FCFS on one pCPU without a capacity limit, got "
                  f"{len(scenario.vms)} VM(s), policy {scenario.policy!r}, pcpus={scenario.pcpus}, "
                  f"capacity={scenario.capacity}")
    return reason


def _check(scenario):
    reason = bounded_reason(scenario)
    if reason is not None:
        raise InvalidParameter(f"simulate_streaming cannot simulate this scenario: {reason}; "
                               "use vm.simulate (engine='auto') instead")


def _run_pass(scenario, seed, replication, jobs, marks, z=None, chunk=CHUNK, pilot=None):
    """Simulate ``jobs`` departures chunk by chunk; returns the mark table (marks x 6).

    ``z``: receives the five-means of the first ``5 * z.size`` responses; ``pilot``: the first
    ``pilot.size`` responses are added to it, element by element."""
    vm = scenario.vms[0]
    arrival_rng = vm_rng(seed, replication, 0, ARRIVAL)
    service_rng = vm_rng(seed, replication, 0, SERVICE)
    chunk = max(BLOCK, chunk // BLOCK * BLOCK)
    a = np.empty(0)
    s = np.empty(0)
    last = 0.0
    fstate = np.zeros(6)
    istate = np.zeros(3, dtype=np.int64)
    marks = np.asarray(marks, dtype=np.int64)
    mark_out = np.full((marks.size, 6), np.nan)
    z_out = np.empty(0) if z is None else z
    z_limit = 0 if z is None else MSER_BATCH * z.size
    pilot_out = np.empty(0) if pilot is None else pilot
    done = 0
    while done < jobs:
        need = min(chunk, jobs - done) + LOOKAHEAD
        if a.size < need:
            blocks = -(-(need - a.size) // BLOCK)
            gaps = np.concatenate([vm.arrival.sample(arrival_rng, BLOCK) for _ in range(blocks)])
            sizes = np.concatenate([vm.service.sample(service_rng, BLOCK) for _ in range(blocks)])
            times = np.cumsum(np.concatenate(([last], gaps)))[1:]  # the simpy model's running float sum
            last = float(times[-1])
            a = np.concatenate((a, times))
            s = np.concatenate((s, sizes))
        step = min(chunk, jobs - done)
        if _fcfs1_chunk(a, s, step, fstate, istate, marks, mark_out, z_out, z_limit, pilot_out, pilot_out.size):
            raise InvalidParameter(f"more than {LOOKAHEAD} jobs queued at a batch boundary: the system is "
                                   "overloaded for a bounded-memory run; lower the load")
        a = a[step:]
        s = s[step:]
        done += step
    return mark_out


def stream_replication(scenario, seed, replication, customers, batches=None, removed=None, chunk=CHUNK):
    """One bounded-memory replication: ``{"measurement", "warmup_removed", "window", "departures"}``.

    The same dictionary as :func:`virtmodel.sim.run.run_replication` (for ``_summarise``),
    with the metrics ``utilization, throughput, mean_wait, mean_response, mean_number,
    mean_queue_length, work_weighted_wait`` of group ``"all"``.
    """
    _check(scenario)
    customers = positive_int("customers", customers)
    if removed is None:
        z = np.empty(customers // MSER_BATCH)
        _run_pass(scenario, seed, replication, customers, [], z=z, chunk=chunk)
        removed = mser5_from_means(z) if customers >= 2 * MSER_BATCH else 0
        del z
    drop, size = 0, customers
    if batches:
        size = customers // batches
        if size < 1:
            raise InvalidParameter(f"batch means need at least {batches} departures, got customers={customers}")
        drop = customers - batches * size
    marks = [removed] + ([removed + drop] if drop else [])
    marks += [removed + drop + size * (b + 1) for b in range(batches or 1)]
    marks = [m for m in marks if m > 0]
    out = _run_pass(scenario, seed, replication, removed + customers, marks, chunk=chunk)
    if removed == 0:  # time 0 as the first mark: nothing before it, nobody queued
        out = np.vstack((np.zeros((1, 6)), out))
    t0, t1 = float(out[0, 0]), float(out[-1, 0])
    span = t1 - t0
    seg = out[1:]
    window = seg[int(bool(drop)):] if batches else seg
    p, w, b, sw = (float(seg[:, j].sum()) for j in (1, 2, 3, 4))
    queue_change = float(out[-1, 5] - out[0, 5])
    m = Measurement()
    v = m.values
    v["utilization", "all"] = b / span
    v["throughput", "all"] = customers / span
    v["mean_wait", "all"] = w / customers
    v["mean_response", "all"] = p / customers
    v["mean_number", "all"] = (p + queue_change) / span
    v["mean_queue_length", "all"] = (w + queue_change) / span
    v["work_weighted_wait", "all"] = sw / b  # busy time d - start is the size, to rounding
    number, flow = v["mean_number", "all"], v["throughput", "all"] * v["mean_response", "all"]
    m.littles_gap["all"] = (number - flow) / number if number > 0 else 0.0
    if batches:
        ends = out[int(bool(drop)):, :]  # marks bounding the batches
        spans = np.diff(ends[:, 0])
        q = ends[:, 5]
        bt = m.batches
        bt["utilization", "all"] = window[:, 3] / spans
        bt["throughput", "all"] = size / spans
        bt["mean_wait", "all"] = window[:, 2] / size
        bt["mean_response", "all"] = window[:, 1] / size
        bt["mean_number", "all"] = (window[:, 1] + np.diff(q)) / spans
        bt["mean_queue_length", "all"] = (window[:, 2] + np.diff(q)) / spans
        bt["work_weighted_wait", "all"] = window[:, 4] / window[:, 3]
    return {"measurement": m, "warmup_removed": int(removed), "window": (t0, t1), "departures": customers}


def _job(args):
    return stream_replication(*args)


def _pilot_job(args):
    scenario, seed, replication, length, chunk = args
    series = np.zeros(length)
    _run_pass(scenario, seed, replication, length, [], chunk=chunk, pilot=series)
    return series


def ensemble_warmup(scenario, seed, replications, customers, workers=1, chunk=CHUNK) -> int:
    """The warm-up that :func:`virtmodel.simulate` removes with R >= 2 replications, in bounded memory.

    :func:`virtmodel.sim.run.ensemble_truncation` (MSER-5 on the average over the replications
    of their pilot response series, :func:`virtmodel.sim.run.pilot_length` departures each),
    with the average kept as one running sum: replication r's responses are added to it in
    replication order, which is how ``np.mean(series, axis=0)`` adds them, so the truncation
    is the same number.  Memory: the sum (8 bytes per pilot departure) and, with several
    workers, one series per worker at a time.
    """
    from ..run import _map, pilot_length

    length = pilot_length(customers)
    total = np.zeros(length)
    for first in range(0, replications, workers):
        group = range(first, min(first + workers, replications))
        if workers == 1:
            _run_pass(scenario, seed, first, length, [], chunk=chunk, pilot=total)
            continue
        for series in _map(_pilot_job, [(scenario, seed, r, length, chunk) for r in group], workers,
                           dict(disable=True)):
            total += series
    return stats.mser5(total / replications)


def simulate_bounded(scenario, customers, replications, seed, warmup="mser5", batches=None, workers=1,
                     chunk=CHUNK, progress=False):
    """:func:`virtmodel.simulate` with ``records=False`` (arguments already checked there).

    The same warm-up rule as the per-job path (one ensemble MSER-5 truncation for R >= 2, MSER-5
    on the run's own first N departures for R = 1, or a fixed fraction), the same intervals.
    """
    from ..run import _map, _summarise

    _check(scenario)
    removed = None
    if warmup == "mser5" and replications >= 2:
        removed = ensemble_warmup(scenario, seed, replications, customers, workers, chunk)
    elif warmup != "mser5":
        removed = math.ceil(customers / (1 - warmup)) - customers
    jobs = [(scenario, seed, r, customers, batches, removed, chunk) for r in range(replications)]
    outputs = _map(_job, jobs, workers, dict(total=replications, desc="replications", disable=not progress,
                                             leave=False))
    return _summarise(outputs, scenario, customers, None, replications, seed, warmup, "compiled")


def simulate_streaming(scenario, customers, replications=1, seed=None, batches=20, workers=1, chunk=CHUNK):
    """Simulate one-VM FCFS on one pCPU in bounded memory (10^8 customers in a few hundred MB).

    The same as ``vm.simulate(scenario, customers=..., records=False)`` (which see), with the
    chunk size exposed for tests.

    Parameters
    ----------
    scenario : virtmodel.Scenario
        One VM, FCFS, one pCPU, no capacity limit, drawable distributions.
    customers : int
        Departures kept per replication (after MSER-5 warm-up removal).
    replications : int, default 1
        R >= 2: Student-t over replication means; R = 1: batch means.
    seed : int, optional
    batches : int, default 20
        Batches when ``replications == 1``.
    workers : int, default 1
        Processes for the replications (the numbers do not depend on it).
    chunk : int
        Jobs simulated per kernel call (rounded down to whole blocks).

    Returns
    -------
    SimResult
        ``engine="compiled"``, ``method`` as in :func:`virtmodel.simulate`; metrics
        ``utilization, throughput, mean_wait, mean_response, mean_number,
        mean_queue_length, work_weighted_wait`` (no percentiles).

    Examples
    --------
    >>> import virtmodel as vm
    >>> from virtmodel.dists import Exponential
    >>> sc = vm.Scenario(1, [vm.VM("a", Exponential(0.5), Exponential(1.0))])
    >>> res = simulate_streaming(sc, customers=200_000, replications=1, seed=3)
    >>> low, high = res.ci("mean_response")
    >>> bool(low < 2.0 < high)
    True
    """
    _check(scenario)
    customers = positive_int("customers", customers)
    replications = positive_int("replications", replications)
    workers = positive_int("workers", workers)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy)
    batch_arg = positive_int("batches", batches) if replications == 1 else None
    return simulate_bounded(scenario, customers, replications, int(seed), "mser5", batch_arg, workers, chunk)
