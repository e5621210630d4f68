"""Speed of the Credit scheduler: 8 VMs on 2 pCPUs, against FCFS on the same scenario.

Time unit: seconds.  Eight VMs with Poisson arrivals of 40 jobs/s each and
exponential jobs of 5 ms (total load 0.8 of 2 pCPUs), Xen's defaults (30 ms
time slice, 10 ms tick), weights 256/512 alternating, one VM capped at 30 %.
Both simulators run the full pipeline (``vm.simulate``, one replication,
warm-up removal and output analysis included); customers per second counts
every departure simulated, the warm-up included.  Medians of ``--repeats``
runs, ratios against FCFS measured in the same run.  ``--clock cpu`` times
with the process's CPU time instead of the wall clock (steadier on a shared
machine).  The credit scheduler is Xen's credit1 (issue 20: vCPUs scheduled,
per-pCPU run queues, ticks, rate limit).

Credit runs on each engine of ``--engines`` (default: the simpy model and the compiled kernel,
:mod:`virtmodel.sim.compiled.credit`, which gives the same jobs and times), FCFS on the simpy model;
the last column says how much faster each engine is than the simpy credit model in the same run.

    python benchmarks/bench_credit.py [--customers 1000000] [--repeats 3] [--clock wall|cpu]
                                      [--engines simpy,compiled]
    python benchmarks/bench_credit.py --bounded 1e8 [--records]   # one run, CPU time and peak RSS

``--bounded N``: one replication of N customers of the same Credit scenario (seed 2026) with
``records=False`` (bounded memory; ``--records``: with per-job records instead), in this process
only: CPU seconds, peak RSS (``getrusage``) and the mean response with its 95 % batch-means interval.
"""

from __future__ import annotations

import argparse
import statistics
import time

import virtmodel as vm
from virtmodel.dists import Exponential

try:
    from _machine import machine, median_time, simulate_once
except ImportError:  # run as a module
    from benchmarks._machine import machine, median_time, simulate_once

JOB = 0.005  # seconds
VMS = 8
PCPUS = 2
LOAD = 0.8


def scenario(policy):
    rate = LOAD * PCPUS / JOB / VMS
    vms = [vm.VM(f"vm{i}", Exponential(rate), Exponential(1 / JOB)) for i in range(VMS)]
    return vm.Scenario(PCPUS, vms, policy=policy)


def _median_cpu_time(fn, repeats):
    """Median CPU time (this process) of ``repeats`` calls of ``fn`` and the last result."""
    times, out = [], None
    for _ in range(repeats):
        t0 = time.process_time()
        out = fn()
        times.append(time.process_time() - t0)
    return statistics.median(times), out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    p.add_argument("--engines", default="simpy,compiled", help="engines to run Credit on, comma-separated")
    p.add_argument("--bounded", type=float, default=None, metavar="N", help="only: one run of N customers")
    p.add_argument("--records", action="store_true", help="with --bounded: keep per-job records")
    args = p.parse_args(argv)
    if args.bounded:
        return bounded(int(args.bounded), args.records)
    n = args.customers
    print(f"Machine: {machine()}")
    print(f"{n:,} customers per run, median of {args.repeats} ({args.clock} clock); {VMS} VMs on {PCPUS} "
          f"pCPUs, 5 ms jobs, load {LOAD}\n")
    credit = vm.policies.Credit(weights={f"vm{i}": 256.0 * (1 + i % 2) for i in range(VMS)}, caps={"vm7": 30})

    timer = median_time if args.clock == "wall" else _median_cpu_time
    print(f"| scheduler | engine | customers/s | {args.clock} s | vs FCFS | vs Credit on simpy | mean response (ms) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    base = credit_simpy = None
    runs = [("FCFS", vm.policies.FCFS(), "simpy")] + [("Credit (Xen credit1)", credit, engine)
                                                     for engine in args.engines.split(",")]
    for label, pol, engine in runs:
        t, (res, done) = timer(lambda pol=pol, engine=engine: simulate_once(scenario(pol), n, engine), args.repeats)
        rate = done / t
        base = base or rate
        if pol is credit and engine == "simpy":
            credit_simpy = rate
        versus = f"{rate / credit_simpy:.2f}x" if credit_simpy and pol is credit else ""
        print(f"| {label} | {res.engine} | {rate:,.0f} | {t:.2f} | {rate / base:.2f}x | {versus} | "
              f"{1e3 * res.mean('mean_response'):.2f} |")


def bounded(customers, records):
    """One replication of ``customers`` (seed 2026), bounded memory unless ``records``: CPU time, peak RSS."""
    import resource

    credit = vm.policies.Credit(weights={f"vm{i}": 256.0 * (1 + i % 2) for i in range(VMS)}, caps={"vm7": 30})
    sc = scenario(credit)
    t = time.process_time()
    res = vm.simulate(sc, customers=customers, replications=1, seed=2026, records=records)
    cpu = time.process_time() - t
    low, high = res.ci("mean_response", "all")
    print(f"{customers:,} customers, records={records}: {cpu:.1f} CPU-s, peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB, mean response "
          f"{1e3 * res.mean('mean_response'):.4f} ms ({1e3 * low:.4f}, {1e3 * high:.4f}), engine {res.engine}")


if __name__ == "__main__":
    main()
