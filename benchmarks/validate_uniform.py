"""Issue 11's criterion literally: every check of the validation battery at 500,000 customers x 10
replications (each check's length and replications factor set to 1), workers=2, through run_battery.

Prints wall and CPU seconds (this process and its workers) and the family-wise verdict; writes the
table to ``validate_uniform.csv`` in the working directory.  ``python benchmarks/validate_uniform.py``
"""
import dataclasses
import resource
import time

from virtmodel.experiments.validation import battery, run_battery

checks = [dataclasses.replace(c, length=1, replications=1.0) for c in battery()]
w0 = time.perf_counter()
tab = run_battery(checks, customers=500_000, replications=10, seed=2026, workers=2, progress=False)
wall = time.perf_counter() - w0
ru_s, ru_c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = ru_s.ru_utime + ru_s.ru_stime + ru_c.ru_utime + ru_c.ru_stime
tab.to_csv("validate_uniform.csv", index=False)
ex = tab[tab.exact]
print(f"wall {wall:.1f} s, cpu {cpu:.1f} s, exact rows {len(ex)}, outside 95 % {(~ex.agrees).sum()}, "
      f"fail {(~ex.passes).sum()}")
