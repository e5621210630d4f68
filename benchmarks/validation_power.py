"""Power of ``virtmodel validate``: per area, the smallest relative error each exact row detects.

Reads the table ``virtmodel validate`` writes (its ``detectable_error`` column: the family-wise
interval's half-width relative to the analytic value, i.e. the smallest relative error in the
analytic value that leaves the interval when the estimate sits at its expectation) and prints a
markdown table: per area, the exact rows, whether all pass, and the median and largest detectable
error over the exact rows with a non-zero value, and over the mean-delay rows alone
(``mean_wait``, ``mean_response``).  Used for docs/validation_power.md.

    python3 -m virtmodel validate --quick --out data/validate/quick.csv
    python3 benchmarks/validation_power.py data/validate/quick.csv
"""

from __future__ import annotations

import sys

import pandas as pd

from virtmodel.experiments.validation_summary import DELAYS, area_of_checks


def power_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per area: exact rows, all pass, median/largest detectable error (all rows, mean delays)."""
    area_of = area_of_checks(None)
    area = table["check"].map(area_of).fillna("engines")
    rows = []
    for name in dict.fromkeys(area):
        part = table[(area == name) & table["exact"].astype(bool)]
        det = part["detectable_error"].dropna()
        delays = part.loc[part["metric"].isin(DELAYS), "detectable_error"].dropna()
        rows.append(dict(area=name, exact_rows=len(part), all_pass=bool(part["passes"].all()),
                         median=det.median(), largest=det.max(), delays_median=delays.median(),
                         delays_largest=delays.max()))
    return pd.DataFrame(rows)


def main(argv):
    table = pd.read_csv(argv[0])
    power = power_table(table)
    print("| area | exact rows | all pass | detectable error: median | largest | mean delays: median | largest |")
    print("|---|---|---|---|---|---|---|")
    for r in power.itertuples(index=False):
        cells = [f"{v:.2%}" if v == v else "-" for v in (r.median, r.largest, r.delays_median, r.delays_largest)]
        print(f"| {r.area} | {r.exact_rows} | {'yes' if r.all_pass else 'NO'} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
