"""Speed of the simulator per scheduling policy, and round robin against a naive simpy model.

* **RR baseline**: a straightforward simpy round robin, one process per
  customer that requests the CPU (a ``simpy.Resource``) for one quantum at a
  time and re-queues at the back until its work is done; random numbers
  drawn one at a time.
* **virtmodel**: ``vm.simulate`` of the same M/M/1 round robin (quantum 0.1,
  load 0.8), full pipeline (warm-up removal and output analysis included).
* Every policy of :mod:`virtmodel.policies` on the same two-VM scenario at
  load 0.8: customers per second.

Medians of ``--repeats`` runs; ratios are against the baseline measured in
the same run.

    python benchmarks/bench_policies.py [--customers 200000] [--repeats 3]
"""

from __future__ import annotations

import argparse

import numpy as np
import simpy

import virtmodel as vm
from virtmodel.dists import Exponential, HyperExponential

try:
    from _machine import machine, median_time, simulate_once
except ImportError:  # run as a module
    from benchmarks._machine import machine, median_time, simulate_once


def baseline_rr(customers: int, arrival_rate: float, service_rate: float, quantum: float, seed: int) -> float:
    """Naive simpy round robin: a process per customer, one Resource request per quantum."""
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    cpu = simpy.Resource(env, capacity=1)
    responses = []

    def customer(size):
        arrived, left = env.now, size
        while left > 0:
            with cpu.request() as req:
                yield req
                run = min(quantum, left)
                yield env.timeout(run)
                left -= run
        responses.append(env.now - arrived)

    def source():
        for _ in range(customers):
            yield env.timeout(rng.exponential(1 / arrival_rate))
            env.process(customer(rng.exponential(1 / service_rate)))

    env.process(source())
    env.run()
    return float(np.mean(responses))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--customers", type=int, default=200_000)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    n, load, quantum = args.customers, 0.8, 0.1
    print(f"Machine: {machine()}")
    print(f"{n:,} customers per run, median of {args.repeats}\n")

    rr = vm.Scenario(1, [vm.VM("vm", Exponential(load), Exponential(1.0))], policy=vm.policies.RoundRobin(quantum))

    def ours(sc):
        return simulate_once(sc, n)

    t_base, r_base = median_time(lambda: baseline_rr(n, load, 1.0, quantum, 1), args.repeats)
    t_rr, (res_rr, n_rr) = median_time(lambda: ours(rr), args.repeats)
    print("Round robin, quantum 0.1, M/M/1 at load 0.8")
    print("| simulator | customers/s | wall s | vs baseline |")
    print("|---|---:|---:|---:|")
    print(f"| naive simpy RR (process per customer, Resource per quantum) | {n / t_base:,.0f} | {t_base:.2f} | 1.00x |")
    print(f"| virtmodel RoundRobin(0.1) | {n_rr / t_rr:,.0f} | {t_rr:.2f} | {(n_rr / t_rr) / (n / t_base):.2f}x |")
    print(f"\nmean response: baseline {r_base:.3f}, virtmodel {res_rr.mean('mean_response'):.3f} "
          f"{tuple(round(x, 3) for x in res_rr.ci('mean_response'))}; exact {1 / (1 - load):.3f}\n")

    P = vm.policies
    policies = [P.FCFS(), P.SJF(), P.Priority(), P.Priority(preemptive=True), P.SRPT(), P.PSJF(),
                P.ProcessorSharing(), P.RoundRobin(quantum), P.RoundRobin(quantum, switch_cost=0.001),
                P.DelayDependentPriority(slope={"web": 2.0, "batch": 1.0})]
    vms = [vm.VM("web", Exponential(0.5), Exponential(1.0), priority=0),
           vm.VM("batch", Exponential(0.15), HyperExponential.balanced(2.0, 4.0), priority=1)]
    print("Every policy, two VMs on one pCPU at load 0.8 (web: exponential; batch: H2, scv 4)")
    print("| policy | customers/s | wall s | vs FCFS |")
    print("|---|---:|---:|---:|")
    fcfs_rate = None
    for pol in policies:
        t, (res, done) = median_time(lambda pol=pol: ours(vm.Scenario(1, vms, policy=pol)), args.repeats)
        rate = done / t
        fcfs_rate = fcfs_rate or rate
        print(f"| {pol!r} | {rate:,.0f} | {t:.2f} | {rate / fcfs_rate:.2f}x |")


if __name__ == "__main__":
    main()
