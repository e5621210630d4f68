"""``simulate(scenario, ...)``: seeded replications of the simpy model with intervals.

Methodology (DESIGN.md, "Simulation methodology"):

* ``customers=N`` counts departures per replication *after* warm-up removal:
  with R >= 2 replications, a pilot of each replication (its first
  max(N/4, min(N, 2000)) departures) gives response-time series whose
  ensemble average MSER-5 truncates at d (Welch-style: one point for all
  replications, which avoids the selection bias of per-run MSER on short
  runs); then every replication runs to N + d departures and the first d are
  dropped, so N remain.  With R = 1, MSER-5 looks at the run's own first N
  departures.  With a fixed ``warmup`` fraction f it runs ceil(N / (1 - f))
  departures and drops the first part.  ``horizon=T`` simulates T time units
  and drops the warm-up in the same way.
* R >= 2 replications give Student-t intervals over the R replication means
  (R - 1 degrees of freedom); R = 1 gives batch means inside the run.
* Little's law is checked on every run (``SimResult.diagnostics``).
* Replication r uses streams spawned from ``SeedSequence(seed)`` with key r,
  so results do not depend on ``workers``.
"""

from __future__ import annotations

import math
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from tqdm.auto import tqdm

from .._lazy import lazy
from .._validation import nonnegative, positive, positive_int, probability
from ..errors import InvalidParameter
from ..scenario import Scenario
from . import stats
from .fastpath import FastFCFS
from .measure import _kernels as _measure_kernels
from .measure import measure
from .percentiles import PERCENTILES
from .results import SimResult
from .trust import warn_if_untrusted
from .vmm import Hypervisor

pd = lazy("pandas")

__all__ = ["simulate", "run_replication", "resolve_engine", "pilot_length"]



def _compiled_engine(scenario, seed, replication):
    from .compiled import CompiledEngine  # numba is imported on the first compiled run only

    return CompiledEngine(scenario, seed, replication)


_ENGINES = {"simpy": Hypervisor, "fast": FastFCFS, "compiled": _compiled_engine}


def resolve_engine(scenario, engine: str) -> str:
    """The engine that runs ``scenario``: ``"auto"`` becomes ``"compiled"`` where the numba
    kernels are proven equal to the simpy model for it (:func:`virtmodel.sim.compiled.supports`),
    else ``"simpy"``; ``"compiled"`` for a scenario it cannot run raises, naming what is missing."""
    from .compiled import unsupported_reason

    if engine == "auto":
        return "compiled" if unsupported_reason(scenario) is None else "simpy"
    if engine == "compiled":
        reason = unsupported_reason(scenario)
        if reason is not None:
            raise InvalidParameter(
                f"engine='compiled' cannot simulate this scenario: {reason}; use engine='simpy' "
                "(the reference model) or engine='auto' (compiled where supported, simpy otherwise)")
    return engine


def _check_bins(size_bins, replications):
    if size_bins is None:
        return None
    edges = nonnegative("size_bins", size_bins)
    if edges.ndim != 1 or edges.size < 2 or not np.all(np.diff(edges) > 0):
        raise InvalidParameter(f"size_bins must be >= 2 increasing bin edges, got {size_bins!r}")
    if replications < 2:
        raise InvalidParameter(
            f"size_bins needs replications >= 2 (intervals over replications), got {replications}")
    return edges


def _check(scenario, customers, horizon, replications, seed, warmup, batches, workers, engine):
    if not isinstance(scenario, Scenario):
        raise InvalidParameter(f"scenario must be a virtmodel.Scenario, got {scenario!r}")
    if (customers is None) == (horizon is None):
        raise InvalidParameter(
            f"give exactly one of customers or horizon, got customers={customers!r}, horizon={horizon!r}"
        )
    if customers is not None:
        customers = positive_int("customers", customers)
    if horizon is not None:
        horizon = float(positive("horizon", horizon))
    replications = positive_int("replications", replications)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy)
    elif isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidParameter(f"seed must be a non-negative integer or None, got {seed!r}")
    if warmup != "mser5":
        if isinstance(warmup, str):
            raise InvalidParameter(f"warmup must be 'mser5' or a fraction in [0, 1), got {warmup!r}")
        warmup = float(probability("warmup", warmup))
        if warmup >= 1:
            raise InvalidParameter(f"warmup must be 'mser5' or a fraction in [0, 1), got {warmup!r}")
    batches = positive_int("batches", batches)
    if batches < 2:
        raise InvalidParameter(f"batches must be >= 2, got {batches!r}")
    workers = positive_int("workers", workers)
    if not isinstance(engine, str) or engine not in (*_ENGINES, "auto"):
        raise InvalidParameter(f"engine must be one of {sorted((*_ENGINES, 'auto'))}, got {engine!r}")
    return customers, horizon, replications, int(seed), warmup, batches, workers


def run_replication(scenario, seed, replication, customers=None, horizon=None, warmup="mser5",
                    batches=None, engine="simpy", size_bins=None, removed=None):
    """One replication: run, remove warm-up, measure.

    ``removed`` (an int) fixes the number of departures dropped as warm-up
    (chosen across replications by :func:`simulate`); otherwise ``warmup``
    decides: ``"mser5"`` on this run's own response times, or a fraction.

    Returns a dict with the :class:`~virtmodel.sim.measure.Measurement`
    (``measurement``), ``warmup_removed``, ``window`` and ``departures``.
    """
    model = _ENGINES[resolve_engine(scenario, engine)](scenario, seed, replication)
    if customers is not None:
        _check_trace(scenario, customers, 0)
        if removed is None and warmup == "mser5":
            model.run_until_departures(customers)
            removed = stats.mser5(model.records().responses())
        elif removed is None:
            removed = math.ceil(customers / (1 - warmup)) - customers
        _check_trace(scenario, customers, removed)
        model.run_until_departures(customers + removed)
        rec = model.records()
        t1 = rec.now
    else:
        _check_trace_horizon(scenario, horizon)
        model.run_until(horizon)
        rec = model.records()
        t1 = horizon
        if removed is None and warmup == "mser5":
            removed = stats.mser5(rec.responses())
        elif removed is None:
            removed = int(np.searchsorted(rec.depart[rec.order], warmup * horizon, side="right"))
        removed = min(removed, rec.order.size)
    if warmup == "mser5" or customers is not None:
        t0 = float(rec.depart[rec.order[removed - 1]]) if removed > 0 else 0.0
    else:
        t0 = warmup * horizon
    losses = scenario.capacity is not None or any(e.verb == "stop" for e in scenario.events)
    m = measure(rec, t0, t1, scenario.names, scenario.pcpus, losses, batches, size_bins,
                [vm.vcpus for vm in scenario.vms])
    kept = rec.order.size - removed
    return {"measurement": m, "warmup_removed": int(removed), "window": (t0, t1), "departures": kept}


def _check_trace(scenario, customers, removed):
    """A replayed trace must hold the departures the run keeps plus those removed as warm-up."""
    jobs = [v.trace_jobs for v in scenario.vms]
    if None in jobs or not scenario.replays:
        return
    total = sum(jobs)
    if removed >= total:
        raise InvalidParameter(
            f"the trace ({total} jobs) is shorter than the warm-up ({removed} departures removed): "
            "use a longer trace or a smaller warmup fraction")
    if customers + removed > total:
        raise InvalidParameter(
            f"the trace holds {total} jobs, fewer than customers={customers} plus the warm-up removed "
            f"({removed}): ask for at most {total - removed} customers")


def _check_trace_horizon(scenario, horizon):
    """A horizon past the end of a replayed arrival trace would measure an emptying system."""
    ends = [math.fsum(v.arrival.values) for v in scenario.vms if v.trace_jobs is not None]
    if ends and horizon > max(ends):
        raise InvalidParameter(
            f"horizon={horizon!r} runs past the last arrival of the trace (t={max(ends)!r}); "
            "give a horizon within the trace")


def pilot_length(customers: int) -> int:
    """Departures in each replication's MSER-5 pilot: max(min(N, 2000), N // 4)."""
    return max(min(customers, 2_000), customers // 4)


def pilot_responses(scenario, seed, replication, customers=None, horizon=None, engine="simpy"):
    """Response times, in departure order, of the first ``customers`` departures
    (or of the departures before ``horizon``) of one replication."""
    model = _ENGINES[resolve_engine(scenario, engine)](scenario, seed, replication)
    if customers is not None:
        model.run_until_departures(customers)
    else:
        model.run_until(horizon)
    rec = model.records()
    fast = _measure_kernels(rec)  # the numba kernels on long runs: the same numbers, one pass
    return rec.responses() if fast is None else fast.responses(rec.order, rec.arrival, rec.depart)


def ensemble_truncation(series) -> int:
    """MSER-5 on the average of the replications' response series (Welch-style ensemble).

    Choosing one truncation point from the ensemble average, rather than one
    per replication from the very data that is then kept, avoids the
    selection bias of per-run MSER on short runs (it tends to cut a prefix
    that happens to be high).  Series are cut to the shortest one.

    ``series`` may be any iterable (a generator of pilots as they finish): they are added up
    one after the other into one running sum, cut to the shortest series so far, so only one
    series is held besides the sum (R pilots of N/4 responses each used to be held together:
    3 GB for 60 x 6.8 M).  The sum of the rows in order, divided by their number, is what
    ``np.mean(rows, axis=0)`` computes, bit for bit (it reduces along the outer axis row by row).
    """
    total = None
    count = 0
    for x in series:
        x = np.asarray(x, dtype=float)
        if total is None:
            total = x.copy()
        else:
            total = total[:min(total.size, x.size)]
            total += x[:total.size]
        count += 1
    if total is None or total.size == 0:
        return 0
    return stats.mser5(total / count)


def _job(args):
    return run_replication(*args)


def _kind_job(args):
    kind, seed, r = args
    return kind.replicate(seed, r)


def _simulate_kind(kind, replications, seed, workers, progress) -> SimResult:
    """Simulate a scenario kind that is not a queueing Scenario (e.g. a boot storm).

    Such an object has ``replicate(seed, replication) -> {(metric, group):
    value}`` (one independent run, streams from ``SeedSequence(seed)`` with
    spawn key ``replication``) and ``predict()``.  Intervals are Student-t
    over the replications (R >= 2).
    """
    replications = positive_int("replications", replications)
    if replications < 2:
        raise InvalidParameter(f"replications must be >= 2 for {type(kind).__name__}, got {replications}")
    workers = positive_int("workers", workers)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy)
    elif isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidParameter(f"seed must be a non-negative integer or None, got {seed!r}")
    bar = dict(total=replications, desc="replications", disable=not progress, leave=False)
    outputs = _map(_kind_job, [(kind, int(seed), r) for r in range(replications)], workers, bar)
    keys = list(outputs[0])
    per_rep = pd.DataFrame([(r, m, g, out[m, g]) for r, out in enumerate(outputs) for m, g in keys],
                           columns=["replication", "metric", "group", "value"])
    rows = []
    for m, g in keys:
        iv = stats.replication_interval([out[m, g] for out in outputs])
        rows.append((m, g, iv.mean, iv.low, iv.high, iv.n))
    summary = pd.DataFrame(rows, columns=["metric", "group", "mean", "ci_low", "ci_high", "n"])
    empty = pd.DataFrame(columns=["batch", "metric", "group", "value"])
    diag = pd.DataFrame(columns=["replication", "group", "littles_law_gap", "warmup_removed", "window_start",
                                 "window_end", "departures"])
    return SimResult(summary=summary, per_replication=per_rep, batches=empty, diagnostics=diag, customers=None,
                     horizon=None, replications=replications, seed=int(seed), warmup="none",
                     method="replications", engine=f"{type(kind).__name__}.replicate")


def _pilot_job(args):
    return pilot_responses(*args)


def _map(fn, jobs, workers, bar):
    return list(_imap(fn, jobs, workers, bar))


def _imap(fn, jobs, workers, bar, chunksize=None):
    """``fn(job)`` for each job, yielded in job order as they finish (``workers`` processes)."""
    if workers == 1 or len(jobs) == 1:
        yield from (fn(j) for j in tqdm(jobs, **bar))
        return
    # many short jobs (storms of a scenario kind: 3,000 replications of 0.2 ms) go in chunks of about
    # 1/8 of a worker's share: one message per chunk instead of per job (CPU 1.2 -> 0.5 s for 3,000
    # provisioning runs on 2 workers); results come back in job order either way
    if chunksize is None:
        chunksize = max(1, len(jobs) // (8 * workers))
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
        yield from tqdm(pool.map(fn, jobs, chunksize=chunksize), **bar)


def simulate(scenario, customers=None, horizon=None, replications=10, seed=None, warmup="mser5",
             batches=20, workers=1, engine="auto", progress=False, size_bins=None,
             records=True) -> SimResult:
    """Simulate ``scenario`` as seeded replications and estimate every metric with a 95 % CI.

    Parameters
    ----------
    scenario : virtmodel.Scenario
    customers : int, optional
        Departures kept per replication after warm-up removal.
    horizon : float, optional
        Simulated time per replication (give exactly one of the two).
    replications : int, default 10
        R >= 2: Student-t interval over replication means; R = 1: batch means.
    seed : int, optional
        Root of every random stream; None draws fresh entropy (recorded in
        the result, so any run can be repeated).
    warmup : "mser5" or float in [0, 1)
        MSER-5 truncation (White 1997), on the ensemble average of pilot runs
        when R >= 2, or a fixed fraction to drop.
    batches : int, default 20
        Number of batches when ``replications == 1``.
    workers : int, default 1
        Processes to run replications on; results are identical for any value.
    engine : {"auto", "simpy", "compiled", "fast"}, default "auto"
        ``"simpy"``: the reference model; ``"compiled"``: the numba kernels
        (:mod:`virtmodel.sim.compiled`; same jobs, order and times as simpy for
        the same seed; raises for a scenario they do not implement);
        ``"auto"``: compiled where supported, else simpy; ``"fast"``: the
        vectorised Lindley path (FCFS, one pCPU only).  ``SimResult.engine``
        says which ran.
    progress : bool
        Show a tqdm bar over replications.
    size_bins : array_like, optional
        Job-size bin edges: also estimate the conditional mean response
        E[T | size in bin] per group (``SimResult.conditional``), with
        intervals over replications (needs replications >= 2).
    records : bool, default True
        Keep per-job records (arrival, start and departure of every job) and
        measure from them: every metric, percentiles included.  ``False``
        runs in bounded memory (:mod:`virtmodel.sim.compiled.streaming`):
        running sums per batch instead of per-job arrays, so 10^8 customers
        fit in a few hundred MB; the same warm-up rule, jobs and estimates
        (to rounding) but no percentiles or ``size_bins``.  Needs
        ``customers`` and a scenario the compiled engine simulates (every
        compiled policy, polling included, any pCPUs, VMs and capacity; else
        InvalidParameter).

    Returns
    -------
    SimResult

    Warns
    -----
    VirtmodelWarning
        Once per call, listing every reason, when the run is too short to
        trust or the system is overloaded (:mod:`virtmodel.sim.trust`); the
        numbers are unchanged.

    Examples
    --------
    >>> import virtmodel as vm
    >>> from virtmodel.dists import Exponential
    >>> sc = vm.Scenario(1, [vm.VM("a", Exponential(0.5), Exponential(1.0))])
    >>> res = vm.simulate(sc, customers=20_000, replications=5, seed=1)
    >>> low, high = res.ci("mean_response")
    >>> bool(low < 2.0 < high)   # M/M/1 at load 0.5: mean response 2
    True
    """
    if not isinstance(scenario, Scenario) and callable(getattr(scenario, "replicate", None)):
        return _simulate_kind(scenario, replications, seed, workers, progress)
    customers, horizon, replications, seed, warmup, batches, workers = _check(
        scenario, customers, horizon, replications, seed, warmup, batches, workers, engine
    )
    if not isinstance(records, (bool, np.bool_)):
        raise InvalidParameter(f"records must be True or False, got {records!r}")
    if not records:
        return _simulate_bounded(scenario, customers, horizon, replications, seed, warmup, batches, workers,
                                 engine, progress, size_bins)
    engine = resolve_engine(scenario, engine)
    edges = _check_bins(size_bins, replications)
    if scenario.replays and replications != 1:
        raise InvalidParameter(
            f"a replayed trace (dists.Sequential, VM.from_trace) is one sample path: replications must be 1 "
            f"(the interval then comes from batch means inside the run), got {replications}")
    batch_arg = batches if replications == 1 else None
    bar = dict(total=replications, desc="replications", disable=not progress, leave=False)
    removed = None
    if warmup == "mser5" and replications >= 2:
        # one truncation point for all replications, from a pilot of a quarter of the run
        pilot_c = pilot_length(customers) if customers is not None else None
        pilot_h = horizon / 4 if horizon is not None else None
        pilot_jobs = [(scenario, seed, r, pilot_c, pilot_h, engine) for r in range(replications)]
        # summed as they come: one pilot series in memory at a time, not R of them
        removed = ensemble_truncation(_imap(_pilot_job, pilot_jobs, workers, dict(bar, desc="warm-up pilot")))
    jobs = [(scenario, seed, r, customers, horizon, warmup, batch_arg, engine, edges, removed)
            for r in range(replications)]
    outputs = _map(_job, jobs, workers, bar)
    result = _summarise(outputs, scenario, customers, horizon, replications, seed, warmup, engine, edges)
    warn_if_untrusted(result, scenario)  # one VirtmodelWarning when the run is too short to trust
    return result


def _simulate_bounded(scenario, customers, horizon, replications, seed, warmup, batches, workers, engine,
                      progress, size_bins) -> SimResult:
    """``simulate(..., records=False)``: the bounded-memory runs of :mod:`.compiled.streaming`."""
    from .compiled import streaming

    if engine not in ("auto", "compiled"):
        raise InvalidParameter(f"records=False runs on the compiled engine, got engine={engine!r}; "
                               "use engine='auto' or 'compiled', or records=True")
    if customers is None:
        raise InvalidParameter(f"records=False needs customers=N (a number of departures), got horizon={horizon!r}; "
                               "use customers, or records=True for a horizon")
    if size_bins is not None:
        raise InvalidParameter("size_bins needs the per-job records (E[T | size] per bin): use records=True")
    reason = streaming.bounded_reason(scenario)
    if reason is not None:
        raise InvalidParameter(f"records=False cannot simulate this scenario: {reason}; use records=True "
                               "(per-job records, any scenario)")
    result = streaming.simulate_bounded(scenario, customers, replications, seed, warmup,
                                        batches if replications == 1 else None, workers, progress=progress)
    warn_if_untrusted(result, scenario)
    return result


def _conditional(outputs, edges) -> pd.DataFrame:
    """E[T | size bin] per group: mean over replications of each replication's bin mean."""
    cols = ["group", "size_low", "size_high", "mean_size", "mean_response", "ci_low", "ci_high", "n", "jobs"]
    if edges is None:
        return pd.DataFrame(columns=cols)
    rows = []
    for group in outputs[0]["measurement"].by_size:
        counts = np.array([o["measurement"].by_size[group][0] for o in outputs], dtype=float)
        sizes = np.array([o["measurement"].by_size[group][1] for o in outputs])
        resp = np.array([o["measurement"].by_size[group][2] for o in outputs])
        for j in range(edges.size - 1):
            have = counts[:, j] > 0
            if have.sum() < 2:
                continue  # too few replications saw this bin for an interval
            iv = stats.replication_interval(resp[have, j] / counts[have, j])
            rows.append((group, edges[j], edges[j + 1], sizes[have, j].sum() / counts[have, j].sum(),
                         iv.mean, iv.low, iv.high, int(have.sum()), int(counts[:, j].sum())))
    return pd.DataFrame(rows, columns=cols)


def _summarise(outputs, scenario, customers, horizon, replications, seed, warmup, engine, edges=None):
    # a metric that some replication could not estimate (a percentile of too few departures) is left out
    keys = [k for k in outputs[0]["measurement"].values if all(k in o["measurement"].values for o in outputs)]
    per_rep = pd.DataFrame(
        [(r, metric, group, out["measurement"].values[metric, group])
         for r, out in enumerate(outputs) for metric, group in keys],
        columns=["replication", "metric", "group", "value"],
    )
    rows = []
    for metric, group in keys:
        if replications >= 2:
            iv = stats.replication_interval([o["measurement"].values[metric, group] for o in outputs])
            mean = iv.mean
        else:
            iv = stats.student_t_interval(outputs[0]["measurement"].batches[metric, group],
                                          method="batch means")
            mean = outputs[0]["measurement"].values[metric, group]
            if metric.split("_", 1)[0] in PERCENTILES:
                # sectioning (Asmussen & Glynn 2007, §III.5): centre on the whole run's quantile, the
                # half-width from the batch quantiles (a batch quantile is biased for short batches)
                half = (iv.high - iv.low) / 2
                iv = stats.Interval(mean, mean - half, mean + half, half, iv.n, "sectioning", iv.level)
        rows.append((metric, group, mean, iv.low, iv.high, iv.n))
    summary = pd.DataFrame(rows, columns=["metric", "group", "mean", "ci_low", "ci_high", "n"])
    batch_rows = [] if replications >= 2 else [
        (b, metric, group, float(x))
        for (metric, group), values in outputs[0]["measurement"].batches.items()
        for b, x in enumerate(values)
    ]
    batch_frame = pd.DataFrame(batch_rows, columns=["batch", "metric", "group", "value"])
    diag = pd.DataFrame(
        [(r, group, gap, o["warmup_removed"], o["window"][0], o["window"][1], o["departures"])
         for r, o in enumerate(outputs) for group, gap in o["measurement"].littles_gap.items()],
        columns=["replication", "group", "littles_law_gap", "warmup_removed", "window_start",
                 "window_end", "departures"],
    )
    return SimResult(
        summary=summary, per_replication=per_rep, batches=batch_frame, diagnostics=diag,
        conditional=_conditional(outputs, edges), customers=customers,
        horizon=horizon, replications=replications, seed=seed, warmup=warmup,
        method="replications" if replications >= 2 else (
            "batch means (trace replay: one sample path)" if scenario.replays else "batch means"), engine=engine,
    )
