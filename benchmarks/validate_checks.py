"""Re-run chosen checks of the validation battery exactly as `virtmodel validate` runs them.

Each check gets the battery's own seed (``seed + index`` in the whole battery) and size
(customers x ``Check.length``, replications x ``Check.replications``, per-job records or bounded
memory as :func:`~virtmodel.experiments.validation.runs_bounded` picks), and its mean delays
(``mean_wait``, ``mean_response``) are judged at the whole battery's family-wise level
``1 - 0.05 / exact_rows``.  Prints, per check, the largest detectable error (the family-wise
relative half-width), the mean-delay rows outside their family-wise interval, every exact row
simulated (utilization shares, probabilities...) and how many of those fall outside it, the
engine that ran it and the CPU seconds.  Use it
to size or re-size a few checks without running the whole battery::

    python benchmarks/validate_checks.py "load 0.95" --size default --workers 2

``--uniform`` runs issue 11's criterion instead (500,000 customers x 10 replications, every check's
length and replications factor 1, as ``benchmarks/validate_uniform.py``); ``--engine`` runs every
chosen check on one engine (to time the simpy model against a compiled kernel in one tree).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

import virtmodel as vm
from virtmodel.experiments.validation import SIZES, _run_check, battery, check_replications, runs_bounded


def _timed(job):
    """Simulate one check as validate does (workers=1 on a pool process); also its CPU and wall seconds."""
    cpu, wall = time.process_time(), time.perf_counter()
    res = _run_check(job)
    return res, time.process_time() - cpu, time.perf_counter() - wall


def _report(check, pred, res, level, length, records, cpu, wall) -> str:
    worst, outside, rows, rows_outside = 0.0, 0, 0, 0
    simulated = set(zip(res.summary["metric"], res.summary["group"], strict=True))
    for row in pred.values.itertuples():
        if not pred.exact or (row.metric, row.group) not in simulated:
            continue
        low, high = res.ci(row.metric, row.group, level=level)
        rows += 1
        rows_outside += not low <= row.value <= high
        if row.metric not in ("mean_wait", "mean_response") or row.value <= 0:
            continue
        worst = max(worst, (high - low) / 2 / row.value)
        outside += not low <= row.value <= high
    how = res.engine if records else f"{res.engine}, bounded memory"
    return (f"{check.label} [{how}]: length {length:g}, largest mean-delay detectable error "
            f"{100 * worst:.2f} %, outside {outside}; every exact row: {rows}, outside {rows_outside}; "
            f"{cpu:.0f} CPU-s, {wall:.0f} s wall")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("match", nargs="+", help="run the checks whose label contains every one of these")
    parser.add_argument("--any", action="store_true", help="... any one of these instead")
    parser.add_argument("--exact", action="store_true", help="... is one of these instead")
    parser.add_argument("--size", choices=sorted(SIZES), default="default")
    parser.add_argument("--seed", type=int, default=2026, help="the battery's root seed (validate's default)")
    parser.add_argument("--workers", type=int, default=2, help="checks side by side, as validate runs them")
    parser.add_argument("--area", action="append", help="only the checks of this area (repeatable)")
    parser.add_argument("--uniform", action="store_true", help="500,000 x 10, length and replication factors 1")
    parser.add_argument("--engine", choices=("auto", "simpy", "compiled"), default=None,
                        help="run every chosen check on this engine (default: the check's own)")
    args = parser.parse_args()
    customers, replications = (500_000, 10) if args.uniform else SIZES[args.size]
    checks = battery()
    exact_rows = sum(len(p.values) for p in (vm.predict(c.scenario) for c in checks) if p.exact)
    level = 1 - 0.05 / exact_rows
    print(f"family-wise level 1 - 0.05/{exact_rows} over the whole battery's exact rows (an upper bound: "
          "validate counts only the rows it simulates)", flush=True)
    chosen = {c.label for c in battery(args.area)} if args.area else None
    matches = any if args.any or args.exact else all
    jobs, about = [], []
    for index, check in enumerate(checks):
        found = (m == check.label if args.exact else m in check.label for m in args.match)
        if not matches(found) or (chosen is not None and check.label not in chosen):
            continue
        pred = vm.predict(check.scenario)
        sized = dataclasses.replace(check, length=1.0, replications=1.0) if args.uniform else check
        sized = dataclasses.replace(sized, engine=args.engine or check.engine)
        records = not runs_bounded(sized, customers, pred)  # as validate
        jobs.append((sized, int(customers * sized.length), check_replications(sized, customers, replications),
                     args.seed + index, records))
        about.append((check, pred, sized.length, records))
    if args.workers == 1:
        done = ((i, _timed(job)) for i, job in enumerate(jobs))
    else:  # whole checks side by side on one pool, each simulated with workers=1 (as run_battery does)
        pool = ProcessPoolExecutor(max_workers=args.workers)
        futures = {pool.submit(_timed, job): i for i, job in enumerate(jobs)}
        done = ((futures[f], f.result()) for f in as_completed(futures))
    for i, (res, cpu, wall) in done:
        check, pred, length, records = about[i]
        print(_report(check, pred, res, level, length, records, cpu, wall), flush=True)


if __name__ == "__main__":
    main()
