"""Power of ``virtmodel validate``: per area, the relative half-width each exact row achieved.

The smallest relative error a row can detect is its family-wise relative half-width (the
analytic value moved by more than that leaves the interval when the estimate sits at its
expectation).  Prints a markdown table: per area, the exact rows, and the median and largest
family-wise relative half-width over the exact rows with a non-zero value (and over the
mean-delay rows alone).  Used for docs/validation_power.md.

    python3 benchmarks/validation_power.py quick [area ...]
    python3 benchmarks/validation_power.py default queues scheduling
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np
from scipy import stats

from virtmodel.experiments.validation import AREAS, SIZES, battery, run_battery

DELAYS = ("mean_wait", "mean_response")


def area_power(area: str, size: str) -> dict:
    customers, replications = SIZES[size]
    t = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tab = run_battery(battery([area]), customers=customers, replications=replications, progress=False)
    level = tab.attrs["family_level"]
    # 95 % interval -> family-wise interval (Student-t over the replications)
    widen = stats.t.ppf(1 - (1 - level) / 2, replications - 1) / stats.t.ppf(0.975, replications - 1)
    ex = tab[tab.exact & (tab.analytic != 0)]
    rel = (ex.ci_high - ex.ci_low) / 2 / ex.analytic.abs() * widen
    delays = rel[ex.metric.isin(DELAYS)]
    return dict(area=area, rows=len(ex), passes=bool(tab.passes.all()),
                median=float(np.median(rel)) if len(rel) else np.nan,
                max=float(rel.max()) if len(rel) else np.nan,
                delay_median=float(np.median(delays)) if len(delays) else np.nan,
                delay_max=float(delays.max()) if len(delays) else np.nan, cpu=time.process_time() - t)


def main(argv):
    size = argv[0] if argv else "quick"
    areas = argv[1:] or AREAS
    print(f"size={size} {SIZES[size]}")
    print("| area | exact rows | all pass | median rel. half-width | largest | mean delays: median | largest | CPU s |")
    print("|---|---|---|---|---|---|---|---|")
    for area in areas:
        r = area_power(area, size)
        print(f"| {r['area']} | {r['rows']} | {r['passes']} | {r['median']:.2%} | {r['max']:.2%} | "
              f"{r['delay_median']:.2%} | {r['delay_max']:.2%} | {r['cpu']:.0f} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
