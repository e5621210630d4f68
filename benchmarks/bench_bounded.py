"""Bounded memory (``vm.simulate(..., records=False)``): peak RSS and speed against per-job records.

Issue 11 item 3: one replication of 10^8 customers at load 0.9 in under 2 GB, its mean response
inside its interval of the exact value.  Two scenarios beyond the one-VM M/M/1 of
``bench_engines.py --bounded``:

* ``mm16``: M/M/16 FCFS, load 0.9 (exact: Erlang C);
* ``priority``: two VMs on 4 pCPUs under non-preemptive priority, load 0.9 (VM ``hi`` 0.3, ``lo``
  0.6; exact: the M/M/c non-preemptive priority formulas of ``vm.predict``);
* ``preemptive`` (with ``--only``): the same two VMs on one pCPU, preemptive-resume priority;
* ``ps`` (with ``--only``): M/M/2 processor sharing, load 0.9;
* ``polling`` (with ``--only``): two alike VMs under exhaustive polling on one pCPU, load 0.9,
  exponential switchovers of mean 0.1 (exact: symmetric polling, buffer-occupancy method).

Each run is one fresh process under ``/usr/bin/time -v`` (peak RSS: "Maximum resident set size"),
``vm.simulate(sc, customers=N, replications=1, seed=2026, records=...)`` after a 20,000-customer
call in the same process that loads the cached kernels.  The baseline, measured in the same
invocation, is the per-job path (``records=True``) at ``--baseline`` customers (10^7 by default:
at 10^8 its arrays alone would take several GB), next to the bounded path at the same size, so
memory per customer and speed compare side by side.

    python benchmarks/bench_bounded.py [--customers 1e8] [--baseline 1e7] [--only mm16,priority,preemptive,ps,polling]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time

import virtmodel as vm
from virtmodel.dists import Exponential

try:
    from _machine import machine
except ImportError:  # run as a module
    from benchmarks._machine import machine


def scenarios():
    exp = Exponential(1.0)
    return {
        "mm16": ("M/M/16 FCFS, load 0.9", vm.Scenario(16, [vm.VM("a", Exponential(0.9 * 16), exp)])),
        "priority": ("two VMs, 4 pCPUs, non-preemptive priority, load 0.9",
                     vm.Scenario(4, [vm.VM("hi", Exponential(1.2), exp, priority=0),
                                     vm.VM("lo", Exponential(2.4), exp, priority=1)],
                                 policy=vm.policies.Priority())),
        "preemptive": ("two VMs, 1 pCPU, preemptive priority, load 0.9",
                       vm.Scenario(1, [vm.VM("hi", Exponential(0.3), exp, priority=0),
                                       vm.VM("lo", Exponential(0.6), exp, priority=1)],
                                   policy=vm.policies.Priority(preemptive=True))),
        "ps": ("M/M/2 processor sharing, load 0.9",
               vm.Scenario(2, [vm.VM("a", Exponential(1.8), exp)], policy=vm.policies.ProcessorSharing())),
        "polling": ("two VMs, exhaustive polling, switchover mean 0.1, load 0.9",
                    vm.Scenario(1, [vm.VM("a", Exponential(0.45), exp), vm.VM("b", Exponential(0.45), exp)],
                                policy=vm.policies.Polling("exhaustive", switchover=Exponential(10.0)))),
    }


def child(key, customers, records):
    """In the measured process: one replication; prints a JSON line."""
    sc = scenarios()[key][1]
    vm.simulate(sc, customers=20_000, replications=1, seed=1, records=records)  # load the cached kernels
    wall, cpu = time.perf_counter(), time.process_time()
    res = vm.simulate(sc, customers=customers, replications=1, seed=2026, records=records)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rows = res.summary[res.summary.metric == "mean_response"]
    out = {"wall": wall, "cpu": cpu, "removed": int(res.diagnostics["warmup_removed"].iloc[0]),
           "groups": {r.group: [r.mean, r.ci_low, r.ci_high] for r in rows.itertuples()}}
    print(json.dumps(out))


def measured(key, customers, records):
    """Run :func:`child` under ``/usr/bin/time -v``: its JSON plus the peak RSS in MB."""
    cmd = ["/usr/bin/time", "-v", sys.executable, __file__, "--child", key, str(customers), str(int(records))]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["rss_mb"] = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1)) / 1024
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--customers", type=float, default=1e8)
    p.add_argument("--baseline", type=float, default=1e7)
    p.add_argument("--only", default="mm16,priority")
    p.add_argument("--child", nargs=3, metavar=("KEY", "N", "RECORDS"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return child(args.child[0], int(args.child[1]), bool(int(args.child[2])))
    big, small = int(args.customers), int(args.baseline)
    print(f"Machine: {machine()}\n")
    print("M customers/s: customers kept per CPU second (R = 1: the MSER-5 pass over the first N and the\n"
          "measured pass over N + warm-up both counted, in either mode)\n")
    print("| scenario | records | customers | CPU s | M customers/s (CPU) | peak RSS MB | mean response "
          "(95 % batch means) | exact | inside |")
    print("|---|---|---:|---:|---:|---:|---|---|---|")
    for key in args.only.split(","):
        label, sc = scenarios()[key]
        exact = vm.predict(sc)
        runs = [(True, small), (False, small), (False, big)]
        results = {}
        for records, n in runs:
            r = measured(key, n, records)
            results[records, n] = r
            for group, (mean, lo, hi) in r["groups"].items():
                want = exact.value("mean_response", group)
                print(f"| {label} | {records} | {n:,} (+{r['removed']:,} warm-up) | {r['cpu']:.1f} | "
                      f"{n / r['cpu'] / 1e6:.2f} | {r['rss_mb']:.0f} | {group}: {mean:.5f} "
                      f"({lo:.5f}, {hi:.5f}) | {want:.5f} | {lo <= want <= hi} |")
        base, same = results[True, small], results[False, small]
        print(f"\n{label}: at {small:,} customers bounded/records peak RSS {same['rss_mb'] / base['rss_mb']:.2f}x, "
              f"CPU {same['cpu'] / base['cpu']:.2f}x; records=False at {big:,}: {results[False, big]['rss_mb']:.0f} MB "
              f"({results[False, big]['rss_mb'] / base['rss_mb']:.2f}x the records run at {small:,})\n")


if __name__ == "__main__":
    main()
