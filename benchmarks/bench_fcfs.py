"""Speed of the FCFS simulators: M/M/1 at load 0.9, 1,000,000 customers.

Three simulators of the same queue, measured side by side in one run:

* **baseline**: a straightforward simpy model, as in simpy's own examples: a
  ``simpy.Resource`` and one process per customer, random numbers drawn one
  at a time (``Generator.exponential()``), waits appended to a list;
* **virtmodel simpy**: ``vm.simulate(..., engine="simpy")`` (one process per
  pCPU, lazy arrivals, block-drawn random numbers, MSER-5 and the full
  output analysis included in the time);
* **virtmodel fast**: ``engine="fast"`` (Lindley's recursion in numpy).

Customers per second count simulated departures (warm-up included for
virtmodel).  Each is the median of ``--repeats`` runs; the ratio to the
baseline is what BENCHMARKS.md records, since the machines are shared.

    python benchmarks/bench_fcfs.py [--customers 1000000] [--repeats 3]
"""

from __future__ import annotations

import argparse

import numpy as np
import simpy

import virtmodel as vm
from virtmodel.dists import Exponential

try:
    from _machine import machine, median_time, simulate_once
except ImportError:  # run as a module
    from benchmarks._machine import machine, median_time, simulate_once


def baseline_mm1(customers: int, arrival_rate: float, service_rate: float, seed: int) -> float:
    """Straightforward simpy M/M/1: Resource + one process per customer. Returns the mean wait."""
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    cpu = simpy.Resource(env, capacity=1)
    waits = []

    def customer(service):
        arrived = env.now
        with cpu.request() as req:
            yield req
            waits.append(env.now - arrived)
            yield env.timeout(service)

    def source():
        for _ in range(customers):
            yield env.timeout(rng.exponential(1 / arrival_rate))
            env.process(customer(rng.exponential(1 / service_rate)))

    env.process(source())
    env.run()
    return float(np.mean(waits))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--load", type=float, default=0.9)
    args = p.parse_args(argv)
    n, lam = args.customers, args.load
    sc = vm.Scenario(1, [vm.VM("vm", Exponential(lam), Exponential(1.0))])

    def ours(engine):
        return simulate_once(sc, n, engine)

    t_base, w_base = median_time(lambda: baseline_mm1(n, lam, 1.0, 1), args.repeats)
    t_simpy, (res_simpy, n_simpy) = median_time(lambda: ours("simpy"), args.repeats)
    t_fast, (res_fast, n_fast) = median_time(lambda: ours("fast"), args.repeats)
    rows = [("baseline simpy (Resource + process per customer)", n / t_base, t_base),
            ("virtmodel simpy (engine='simpy')", n_simpy / t_simpy, t_simpy),
            ("virtmodel fast path (engine='fast', Lindley)", n_fast / t_fast, t_fast)]
    base_rate = rows[0][1]
    print(f"M/M/1 FCFS, load {lam}, {n:,} customers, median of {args.repeats}")
    print(f"Machine: {machine()}\n")
    print("| simulator | customers/s | wall s | vs baseline |")
    print("|---|---:|---:|---:|")
    for name, rate, t in rows:
        print(f"| {name} | {rate:,.0f} | {t:.2f} | {rate / base_rate:.2f}x |")
    exact = lam / (1 - lam)
    print(f"\nmean wait: baseline {w_base:.3f}, virtmodel simpy {res_simpy.mean('mean_wait'):.3f} "
          f"{res_simpy.ci('mean_wait')}, fast {res_fast.mean('mean_wait'):.3f}; exact {exact:.3f}")


if __name__ == "__main__":
    main()
