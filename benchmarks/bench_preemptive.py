"""The compiled preemptive kernel (preemptive priority, SRPT, PSJF) against an older copy of it.

Before/after in one process, so that both sides see the same machine load:

* **kernel**: ``run_preemptive`` of each module on the same drawn arrays (one ``CompiledEngine``'s
  merged arrivals), ``--customers`` departures, best CPU time of 3; every start, departure,
  blocked flag, departure order and pCPU time compared with ``==``;
* **end to end**: ``vm.simulate(sc, customers, replications, seed=1, engine="compiled")``
  (MSER-5 pilots, Records and the whole output analysis in the time) with
  ``kernels.run_preemptive`` set to the old or the new function, alternately, ``--repeats``
  times each; medians of customers simulated per CPU second; the summary tables compared
  (``DataFrame.equals``).  M/M/1 FCFS (a kernel neither side changes) runs the same way as a
  gauge of the noise.

The old kernel comes from a copy of an older ``virtmodel/sim/compiled/kernels.py``::

    git show 2ff5717:virtmodel/sim/compiled/kernels.py > /tmp/old_kernels.py   # before 307e1aa
    python benchmarks/bench_preemptive.py /tmp/old_kernels.py --customers 1000000 --replications 4
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
import types
import warnings
from pathlib import Path

import numpy as np

import virtmodel as vm
from virtmodel.dists import Exponential, HyperExponential
from virtmodel.sim.compiled import CompiledEngine, kernels

try:
    from _machine import machine
except ImportError:  # run as a module
    from benchmarks._machine import machine


def kernel_cases():
    """Two VMs on one pCPU at load 0.95 (the battery's hardest), and several pCPUs and VMs."""
    P = vm.policies
    exp, h2 = Exponential(1.0), HyperExponential.balanced(1.0, 4.0)

    def two(policy, service, load=0.95, pcpus=1, vms=2, capacity=None):
        lam = load * pcpus / service.mean / vms
        return vm.Scenario(pcpus, [vm.VM(f"v{i}", Exponential(lam), service, priority=i) for i in range(vms)],
                           policy=policy, capacity=capacity)

    return {
        "preemptive priority, 2 VMs, exp, load 0.95": two(P.Priority(preemptive=True), exp),
        "preemptive priority, 2 VMs, H2 scv 4, load 0.95": two(P.Priority(preemptive=True), h2),
        "SRPT, 2 VMs, H2 scv 4, load 0.95": two(P.SRPT(), h2),
        "PSJF, 2 VMs, H2 scv 4, load 0.95": two(P.PSJF(), h2),
        "preemptive priority, 3 VMs on 3 pCPUs, exp, load 0.9": two(P.Priority(preemptive=True), exp, 0.9, 3, 3),
        "SRPT, 2 VMs on 3 pCPUs, H2, load 0.9, capacity 20": two(P.SRPT(), h2, 0.9, 3, 2, 20),
        "preemptive priority, 10 VMs on 2 pCPUs (heap), H2, load 0.9": vm.Scenario(
            2, [vm.VM(f"v{i}", Exponential(0.18), h2, priority=i % 4) for i in range(10)],
            policy=P.Priority(preemptive=True)),
    }


def end_to_end_cases():
    exp = Exponential(1.0)
    P = vm.policies

    def two(policy):
        return vm.Scenario(1, [vm.VM("a", Exponential(0.45), exp, priority=0),
                               vm.VM("b", Exponential(0.45), exp, priority=1)], policy=policy)

    return {
        "M/M/1 FCFS, load 0.9 (unchanged kernel: noise gauge)": vm.Scenario(1, [vm.VM("a", Exponential(0.9), exp)]),
        "two-class preemptive priority, load 0.9": two(P.Priority(preemptive=True)),
        "SRPT, two VMs, load 0.9": two(P.SRPT()),
        "PSJF, two VMs, load 0.9": two(P.PSJF()),
    }


def _kernel_run(fn, sc, customers):
    eng = CompiledEngine(sc, 7, 0)
    eng._draw(customers * 1.05 + 1000)
    t, v, x, covered = eng._merged()
    n = t.size
    best, out, res = np.inf, None, None
    for _ in range(3):
        out = [np.full(n, np.nan), np.full(n, np.nan), np.zeros(n, np.bool_), np.empty(n, np.int64), np.zeros(n)]
        c0 = time.process_time()
        res = fn(t, v, x, n, covered, sc.pcpus, eng._cap, eng._code, eng._vm_key, kernels.STOP_DEPARTURES,
                 customers, 0.0, *out)
        best = min(best, time.process_time() - c0)
    status, jobs, departed, _ = res
    if status != kernels.OK:
        raise RuntimeError("not enough arrivals drawn")
    start, depart, blocked, order, occupied = out
    return best, res, (start[:jobs], depart[:jobs], blocked[:jobs], order[:departed], occupied[:jobs])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("old", help="path of an older kernels.py")
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--replications", type=int, default=4)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    spec = importlib.util.spec_from_file_location("old_kernels", Path(args.old).resolve())
    old = importlib.util.module_from_spec(spec)
    sys.modules["old_kernels"] = old
    spec.loader.exec_module(old)
    new = types.SimpleNamespace(run_preemptive=kernels.run_preemptive)
    print(f"Machine: {machine()}\n")
    print(f"Kernel alone, {args.customers:,} departures, CPU time, best of 3\n")
    print("| scenario | old kernel (M/s) | new kernel (M/s) | new / old | same jobs |")
    print("|---|---:|---:|---:|---|")
    for label, sc in kernel_cases().items():
        t_old, r_old, o_old = _kernel_run(old.run_preemptive, sc, args.customers)
        t_new, r_new, o_new = _kernel_run(new.run_preemptive, sc, args.customers)
        same = r_old == r_new and all(np.array_equal(a, b, equal_nan=True) for a, b in zip(o_old, o_new, strict=True))
        n = args.customers
        print(f"| {label} | {n / t_old / 1e6:.2f} | {n / t_new / 1e6:.2f} | {t_old / t_new:.2f}x | {same} |",
              flush=True)
    print(f"\nEnd to end, vm.simulate {args.customers:,} x {args.replications}, seed 1, CPU time, median of "
          f"{args.repeats} alternating runs\n")
    print("| scenario | old kernel (M customers/s) | new kernel (M customers/s) | new / old | same summary |")
    print("|---|---:|---:|---:|---|")
    try:
        for label, sc in end_to_end_cases().items():
            rates, tables = {"old": [], "new": []}, {}
            for side in (old, new):  # load (or compile) both before timing
                kernels.run_preemptive = side.run_preemptive
                vm.simulate(sc, customers=30_000, replications=2, seed=1, engine="compiled")
            for _ in range(args.repeats):
                for name, side in (("old", old), ("new", new)):
                    kernels.run_preemptive = side.run_preemptive
                    c0 = time.process_time()
                    res = vm.simulate(sc, customers=args.customers, replications=args.replications, seed=1,
                                      engine="compiled")
                    cpu = time.process_time() - c0
                    removed = int(res.diagnostics.groupby("replication")["warmup_removed"].first().sum())
                    rates[name].append((args.replications * args.customers + removed) / cpu / 1e6)
                    tables[name] = res.summary
            before, after = statistics.median(rates["old"]), statistics.median(rates["new"])
            print(f"| {label} | {before:.2f} | {after:.2f} | {after / before:.2f}x | "
                  f"{tables['old'].equals(tables['new'])} |", flush=True)
    finally:
        kernels.run_preemptive = new.run_preemptive


if __name__ == "__main__":
    main()
