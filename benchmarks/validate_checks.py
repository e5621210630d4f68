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
import resource
import time

import virtmodel as vm
from virtmodel.experiments.validation import SIZES, battery, check_replications, runs_bounded


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("match", nargs="+", help="run the checks whose label contains every one of these")
    parser.add_argument("--size", choices=sorted(SIZES), default="default")
    parser.add_argument("--seed", type=int, default=2026, help="the battery's root seed (validate's default)")
    parser.add_argument("--workers", type=int, default=2)
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
          "validate counts only the rows it simulates)")
    chosen = {c.label for c in battery(args.area)} if args.area else None
    for index, check in enumerate(checks):
        if not all(m in check.label for m in args.match) or (chosen is not None and check.label not in chosen):
            continue
        cpu, wall = _cpu(), time.perf_counter()
        pred = vm.predict(check.scenario)
        sized = dataclasses.replace(check, length=1.0, replications=1.0) if args.uniform else check
        length = sized.length
        engine = args.engine or check.engine
        records = not runs_bounded(dataclasses.replace(sized, engine=engine), customers, pred)  # as validate
        res = vm.simulate(check.scenario, customers=int(customers * length),
                          replications=check_replications(sized, customers, replications),
                          seed=args.seed + index, workers=args.workers, engine=engine, records=records)
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
        print(f"{check.label} [{how}]: length {length:g}, largest mean-delay detectable error "
              f"{100 * worst:.2f} %, outside {outside}; every exact row: {rows}, outside {rows_outside}; "
              f"{_cpu() - cpu:.0f} CPU-s, {time.perf_counter() - wall:.0f} s wall", flush=True)


if __name__ == "__main__":
    main()
