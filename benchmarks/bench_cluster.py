"""Speed of the cluster simulator: the whole Azure V1 test trace (410,276 VM requests) through 10, 100, 1,000 hosts.

Hosts of 64 vCPU slots and 512 GB.  Each run is the full replay
(``Cluster.replicate``: placement loop, blocking per flavour, utilization);
the trace is loaded once (its load time is reported apart) and the numba
kernel is compiled (or loaded from its cache) before timing.  The baseline
is a plain-Python placement loop (heapq of departures, a list scan of the
hosts per request) over the same trace at 100 hosts (first fit), measured
in the same run; requests per second compare the two.
Needs ``VIRTMODEL_DATA``.  Medians of ``--repeats`` runs.

    VIRTMODEL_DATA=/work/shared/data python benchmarks/bench_cluster.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import heapq
import time

import virtmodel as vm

try:
    from _machine import machine, median_time
except ImportError:  # run as a module
    from benchmarks._machine import machine, median_time

HOST_CPUS, HOST_MEMORY = 64, 512.0


def python_first_fit(trace, n, hosts):
    """Plain-Python first fit with a heap of departures: the baseline."""
    free_c, free_m = [float(HOST_CPUS)] * hosts, [HOST_MEMORY] * hosts
    t, c, m, life = (trace.arrival_times[:n].tolist(), trace.vcpus[:n].tolist(), trace.memory[:n].tolist(),
                     trace.lifetimes[:n].tolist())
    heap, placed = [], [-1] * n
    for k in range(n):
        while heap and heap[0][0] <= t[k]:
            _, j = heapq.heappop(heap)
            free_c[placed[j]] += c[j]
            free_m[placed[j]] += m[j]
        for h in range(hosts):
            if free_c[h] >= c[k] and free_m[h] >= m[k]:
                placed[k] = h
                free_c[h] -= c[k]
                free_m[h] -= m[k]
                heapq.heappush(heap, (t[k] + life[k], k))
                break
    return placed


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--baseline-requests", type=int, default=None, help="default: the whole trace")
    args = p.parse_args(argv)
    print(machine())
    t0 = time.perf_counter()
    trace = vm.ClusterTrace.azure_v1()
    print(f"trace: {len(trace):,} requests, loaded and converted in {time.perf_counter() - t0:.2f} s")
    t0 = time.perf_counter()
    vm.Cluster(2, HOST_CPUS, HOST_MEMORY, trace=vm.ClusterTrace([0.0], [1], [1.0], [1.0], ["a"])).replicate(0, 0)
    print(f"numba kernel ready (compile or cache load) in {time.perf_counter() - t0:.2f} s\n")

    n = args.baseline_requests or len(trace)
    base_s, _ = median_time(lambda: python_first_fit(trace, n, 100), 1)
    base_rate = n / base_s
    print("| simulator | hosts | policy | requests | wall s | requests/s | vs baseline | blocking |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    print(f"| plain Python first fit (baseline) | 100 | first_fit | {n:,} | {base_s:.2f} | {base_rate:,.0f} | "
          f"1.00x | - |")
    for hosts in (10, 100, 1000):
        for policy in ("first_fit", "best_fit", "dot_product", "first_fit_decreasing"):
            cluster = vm.Cluster(hosts, HOST_CPUS, HOST_MEMORY, trace=trace, placement=policy)
            wall, out = median_time(lambda cluster=cluster: cluster.replicate(0, 0), args.repeats)
            rate = len(trace) / wall
            print(f"| virtmodel Cluster.replicate | {hosts:,} | {policy} | {len(trace):,} | {wall:.2f} | "
                  f"{rate:,.0f} | {rate / base_rate:.1f}x | {out['blocking_probability', 'all']:.4f} |")


if __name__ == "__main__":
    main()
