"""The validation battery behind ``virtmodel validate``.

Each entry is a scenario with a closed form; the battery predicts and
simulates every one and reports, row by row, whether the analytic value lies
inside the simulated 95 % interval.

With dozens of rows, some exact values fall outside their 95 % intervals by
chance alone (about 5 % of them).  The verdict is therefore a family-wise
test: an exact row *fails* when its value lies outside the Bonferroni
interval at level 1 - 0.05/m (m = number of exact rows), so a correct model
fails the battery with probability at most 5 %, while a wrong formula, far
outside, still fails.  The table shows both the 95 % interval
(``agrees``) and the family-wise verdict (``passes``).

The checks come from the battery's *areas*, which register themselves in
:mod:`virtmodel.experiments.registry` (``@battery_area("name")`` in
``battery_<name>.py``, imported once by :mod:`virtmodel.areas`); this module
looks them up and imports none.  Adding an area: see that registry module.
"""

from __future__ import annotations

import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed

import pandas as pd
from tqdm.auto import tqdm

from ..analytic.solve import predict
from ..errors import InvalidParameter
from ..sim.run import simulate
from .registry import BATTERY_AREAS, Check, area_checks, battery_areas

# AREAS is read through the module __getattr__ below (the registry, at each use)
__all__ = ["Check", "AREAS", "battery", "run_battery", "SIZES", "engine_sample", "runs_bounded"]  # noqa: F822

#: customers per replication and replications for each battery size
#: (each check scales them by its ``length`` and ``replications``; docs/validation_power.md gives the
#: relative error each size detects: default about 1 % in mean delays, full 0.3 %).  ``--full`` is 15x
#: the default's customers x replications: the default detects at most 0.99 % (measured), and
#: 0.99 % / sqrt(15) x t(89) / t(59) = 0.25 %; at 10x (500,000 x 30, until 2026-12) it measured up to
#: about 0.35 % at the whole battery's family-wise level (queues)
SIZES = {"quick": (20_000, 10), "default": (50_000, 30), "full": (500_000, 45)}

#: above the default size, a replication of more customers than this runs in bounded memory even
#: where its prediction has percentiles, which the bounded-memory kernels do not estimate (per-job
#: records take about 90 bytes a customer for one VM, 160 for two: 6-11 GB a replication here)
RECORDS_LIMIT = 70_000_000


def __getattr__(name):
    """``AREAS``: the registered areas, in order (read at each use, so an area registered later is listed)."""
    if name == "AREAS":
        return battery_areas()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def battery(areas=None) -> list[Check]:
    """The validation battery: every check of ``areas`` (default: all of :data:`AREAS`), area by area.

    The areas register themselves (:func:`~virtmodel.experiments.registry.battery_area`,
    imported once by :mod:`virtmodel.areas`); this function looks them up and
    imports none.  In order: ``"queues"`` (single-station FCFS queues,
    ``battery_queues``), ``"scheduling"`` (every scheduling policy at loads
    0.5, 0.8 and 0.95 with exponential and H2 service, ``battery_scheduling``),
    ``"polling"``, ``"allocation"``, ``"hypervisor"``, ``"admission"``,
    ``"clock"``, ``"lifecycle"`` and any area registered after them; each
    ``battery_<area>.py`` module's docstring says what its checks cover.
    How to add an area: :mod:`virtmodel.experiments.registry`.
    """
    known = battery_areas()
    areas = known if areas is None else tuple(areas)
    unknown = sorted(set(areas) - set(known))
    if unknown:
        raise InvalidParameter(f"areas must be among {list(known)}, got {unknown}")
    return [check for area in known if area in areas for check in area_checks(area)]


#: the checks of :func:`engine_sample`: FCFS on one and four pCPUs and with a finite capacity,
#: gated polling, KVM's cpu.max throttling, and every scheduling policy with exponential service at load 0.8
ENGINE_SAMPLE = ("M/M/1 load 0.8", "M/M/4 load 0.8", "M/M/1/10 load 0.9", "polling gated, 3 alike VMs, load 0.6",
                 "KVM cpu.max 10 ms / 100 ms: isolated 25 ms requests (throttling closed form)")


def engine_sample(engines=("simpy", "compiled")) -> list[Check]:
    """One check per policy, run once on each engine (``virtmodel validate --engines``).

    The FCFS, polling and KVM (LinuxFair) checks of :data:`ENGINE_SAMPLE` and, for every policy of the
    ``"scheduling"`` area, its check with exponential service at load 0.8,
    limited to the scenarios the compiled engine supports
    (:func:`virtmodel.sim.compiled.supports`); each appears once per engine,
    labelled ``"<check> [engine]"`` and simulated with that ``engine``, so the
    table's ``engine`` column and the label say which simulator made the row,
    and both rows of a policy face the same closed form.
    """
    from ..sim.compiled import supports

    picked = [c for area in ("queues", "polling", "hypervisor") for c in BATTERY_AREAS[area]()
              if c.label in ENGINE_SAMPLE]
    picked += [c for c in BATTERY_AREAS["scheduling"]() if c.label.endswith(", exp, load 0.8")]
    return [Check(f"{c.label} [{engine}]", c.scenario, c.length, engine, c.replications)
            for c in picked if supports(c.scenario) for engine in engines]


def check_replications(check: Check, customers: int, replications: int) -> int:
    """Replications of ``check``: ``replications x check.replications``, at least 2.

    A scenario kind (a ``replicate`` method: boot storms, clocks, I/O, networks, clusters) runs
    replications of a fixed length and ignores ``customers``; above the default size (``--full``)
    it takes ``customers / SIZES["default"][0]`` times the replications instead, so that its
    half-widths shrink with the battery's size like those of the queueing checks.
    """
    count = replications * check.replications
    default_customers = SIZES["default"][0]
    if customers > default_customers and hasattr(check.scenario, "replicate"):
        count *= customers / default_customers
    return max(2, round(count))


def runs_bounded(check: Check, customers: int, prediction) -> bool:
    """Whether :func:`run_battery` simulates ``check`` with ``records=False`` (bounded memory).

    Only above the default size (``--full``; ``customers`` is the battery's per replication, before
    ``check.length``): every check that the bounded-memory kernels simulate
    (:func:`virtmodel.sim.compiled.streaming.bounded_reason`) and whose ``prediction`` has only
    metrics they estimate (:data:`~virtmodel.sim.compiled.streaming.BOUNDED_METRICS`: no
    percentiles), and those whose replications exceed :data:`RECORDS_LIMIT` customers, whose
    per-job records would not fit in memory (their percentile rows are then not simulated; the
    table's ``attrs["rows_not_simulated"]`` counts them).  At the quick and default sizes every
    check keeps its per-job records, so their tables do not change.  Bounded memory is also the
    faster path for most long runs (0.3-0.8x the CPU of per-job records for 15 of the 18
    scheduling checks at load 0.95, 2 x 2 million customers; preemptive priority exp about 1x,
    round robin exp 1.9x).
    """
    from ..sim.compiled import streaming

    if customers <= SIZES["default"][0] or check.engine not in ("auto", "compiled"):
        return False
    if hasattr(check.scenario, "replicate") or streaming.bounded_reason(check.scenario) is not None:
        return False
    estimated = set(prediction.values["metric"]) <= streaming.BOUNDED_METRICS
    return estimated or customers * check.length > RECORDS_LIMIT


def _run_check(job):
    """Simulate one check (``job``: check, customers, replications, seed, records) on this process."""
    check, customers, replications, seed, records = job
    return simulate(check.scenario, customers=customers, replications=replications, seed=seed, workers=1,
                    engine=check.engine, records=records)


def _run_check_recording(job):
    """:func:`_run_check` in a worker process, with the warnings it raised (shown again by the parent)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = _run_check(job)
    return out, [(str(w.message), w.category, w.filename, w.lineno) for w in caught]


def _run_checks_in_parallel(jobs, workers, bar):
    """``[_run_check(job) for job in jobs]`` on one pool of ``workers`` processes, in the order of ``jobs``.

    A worker's warnings are issued again here, in the order of the checks,
    so that filters and ``catch_warnings`` around :func:`run_battery` see
    them as they would with ``workers=1``.
    """
    outputs = [None] * len(jobs)
    registry = {}  # "default"-action deduplication across the battery, as one module's registry would
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool, tqdm(**bar) as progress_bar:
        futures = {pool.submit(_run_check_recording, job): i for i, job in enumerate(jobs)}
        try:
            for future in as_completed(futures):
                outputs[futures[future]] = future.result()
                progress_bar.update()
        except BaseException:  # a failing check (or Ctrl-C) stops the battery: the queued checks do not run
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    for _, caught in outputs:
        for message, category, filename, lineno in caught:
            warnings.warn_explicit(message, category, filename, lineno, registry=registry)
    return [out for out, _ in outputs]


def run_battery(checks=None, customers=50_000, replications=10, seed=2026, workers=1,
                progress=True) -> pd.DataFrame:
    """Predict and simulate every check; return the tidy comparison table.

    Columns: ``check, model, exact, metric, group, analytic, sim_mean, ci_low,
    ci_high, rel_error, half_width, detectable_error, agrees, passes,
    customers, replications, seed, engine`` (``engine``: which simulator
    made the row, ``SimResult.engine``).  ``agrees``: analytic inside the
    95 % interval; ``passes``: inside the family-wise (Bonferroni) interval
    over all exact rows, and always True for approximate models.
    ``half_width``: the 95 % interval's half-width relative to the analytic
    value; ``detectable_error``: the family-wise interval's relative
    half-width, the smallest relative error in the analytic value that
    fails the row when the simulated mean sits at its expectation (an
    error of that size fails with probability about 1/2, one of twice
    that size almost surely; both NaN where the analytic value is 0).
    Each check gets its own seed, ``seed + index``.  Above the default size
    (``--full``) the checks that :func:`runs_bounded` picks run with
    ``records=False`` (bounded memory; ``table.attrs["bounded_checks"]``),
    and ``table.attrs["rows_not_simulated"]`` counts the predicted rows they
    could not estimate.

    ``workers`` > 1 runs whole checks side by side, each on one process of a
    pool kept for the whole battery (every check is simulated with
    ``workers=1``, whose numbers are those of any ``workers``, so the table
    is the same for every value): a pool per ``simulate`` call paid process
    start-up, loading the compiled kernels in each new process and a barrier
    after the warm-up pilots, check after check.
    """
    checks = battery() if checks is None else list(checks)
    # predictions in this process (some hold local functions, which a pool cannot send back)
    predictions = [predict(check.scenario) for check in checks]
    jobs = [(check, int(customers * check.length), check_replications(check, customers, replications), seed + i,
             not runs_bounded(check, customers, pred))
            for i, (check, pred) in enumerate(zip(checks, predictions, strict=True))]
    bar = dict(total=len(jobs), desc="validate", disable=not progress)
    if workers == 1 or len(jobs) <= 1:
        outputs = [_run_check(job) for job in tqdm(jobs, **bar)]
    else:
        outputs = _run_checks_in_parallel(jobs, workers, bar)
    done = [(check, pred, res, s) for (check, _, _, s, _), pred, res in zip(jobs, predictions, outputs, strict=True)]
    m = sum(int(p.exact) * len(p.values.merge(r.summary, on=["metric", "group"])) for _, p, r, _ in done)
    family_level = 1 - 0.05 / max(m, 1)
    rows = []
    for check, pred, res, s in done:
        tab = pred.values.merge(res.summary, on=["metric", "group"])
        for row in tab.itertuples(index=False):
            lo, hi = row.ci_low, row.ci_high
            flo, fhi = res.ci(row.metric, row.group, level=family_level)
            analytic = row.value
            rel = abs(row.mean - analytic) / abs(analytic) if analytic != 0 else abs(row.mean)
            scale = abs(analytic) if analytic != 0 else float("nan")
            rows.append(dict(
                check=check.label, model=pred.model, exact=pred.exact, metric=row.metric,
                group=row.group, analytic=analytic, sim_mean=row.mean, ci_low=lo, ci_high=hi,
                rel_error=rel, half_width=(hi - lo) / 2 / scale, detectable_error=(fhi - flo) / 2 / scale,
                agrees=bool(lo <= analytic <= hi),
                passes=bool(flo <= analytic <= fhi) or not pred.exact,
                customers=int(customers * check.length), replications=res.replications, seed=s,
                engine=res.engine,
            ))
    table = pd.DataFrame(rows)
    table.attrs["family_level"] = family_level
    # checks simulated in bounded memory, and the predicted rows they could not estimate (percentiles)
    table.attrs["bounded_checks"] = [check.label for check, *_, records in jobs if not records]
    table.attrs["rows_not_simulated"] = sum(
        len(p.values) - len(p.values.merge(r.summary, on=["metric", "group"]))
        for (_, p, r, _), (*_, records) in zip(done, jobs, strict=True) if not records)
    return table
