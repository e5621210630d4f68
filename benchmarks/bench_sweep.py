"""Speed of parameter sweeps: process scaling and the Dask backend's per-point overhead.

Two measurements, side by side in one run:

* **scaling**: a CPU-bound sweep of ``--points`` points (each a pure-Python
  Lindley recursion of ``--size`` M/M/1 customers, about 0.5 s at the
  default size) on ``backend="processes"`` with 1 worker and with
  ``--workers`` workers.  On an idle 2-core machine the speedup with 2
  workers should be >= 1.8x (the points are independent; what is lost is
  pool start-up and the tail where one worker is idle).
* **overhead**: a trivial function over ``--trivial-points`` points, serial
  versus a Dask LocalCluster (``--workers`` single-threaded processes; its
  start-up time is reported separately), giving Dask's cost per point
  (scheduling, serialisation, the round trip).

Times are medians of ``--repeats`` runs.  Results are also checked to be
identical across backends.

    python benchmarks/bench_sweep.py [--points 16] [--size 2000000] [--workers 2] [--repeats 3]
    python benchmarks/bench_sweep.py --points 4 --size 2000 --trivial-points 20 --repeats 1   # smoke test
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import virtmodel as vm

try:
    from _machine import machine, median_time
except ImportError:  # run as a module
    from benchmarks._machine import machine, median_time


def lindley(i, size, rng):
    """Mean wait of ``size`` M/M/1 customers at load 0.8 by Lindley's recursion, in pure Python."""
    inter = rng.exponential(1 / 0.8, size).tolist()
    service = rng.exponential(1.0, size).tolist()
    w = total = 0.0
    for a, s in zip(inter, service, strict=True):
        w = max(0.0, w + s - a)
        total += w
    return {"mean_wait": total / size}


def trivial(i, rng):
    return {"x": float(i)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--points", type=int, default=16)
    p.add_argument("--size", type=int, default=2_000_000, help="customers per point (~0.5 s at 2,000,000)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--trivial-points", type=int, default=200)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    from dask.distributed import LocalCluster

    grid = {"i": list(range(args.points)), "size": [args.size]}

    def cpu(workers):
        return vm.sweep(lindley, grid, seed=1, backend="processes", workers=workers, progress=False)

    t_one_point, _ = median_time(lambda: lindley(0, args.size, np.random.default_rng(0)), 1)
    t1, df1 = median_time(lambda: cpu(1), args.repeats)
    tn, dfn = median_time(lambda: cpu(args.workers), args.repeats)
    pd.testing.assert_frame_equal(df1, dfn)

    trivial_grid = {"i": list(range(args.trivial_points))}
    t_serial, dfs = median_time(lambda: vm.sweep(trivial, trivial_grid, progress=False), args.repeats)
    t0 = time.perf_counter()
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        t_start = time.perf_counter() - t0
        vm.sweep(trivial, {"i": [0, 1]}, backend="dask", dask_address=cluster.scheduler_address,
                 progress=False)  # warm the workers (imports)
        t_dask, dfd = median_time(lambda: vm.sweep(trivial, trivial_grid, backend="dask",
                                                   dask_address=cluster.scheduler_address, progress=False),
                                  args.repeats)
    pd.testing.assert_frame_equal(dfs, dfd)

    n, m = args.points, args.trivial_points
    print(f"Machine: {machine()}")
    print(f"Median of {args.repeats} run(s); one CPU-bound point ({args.size:,} customers) takes "
          f"{t_one_point:.3f} s alone.\n")
    print("| measurement | configuration | wall time (s) | result |")
    print("|---|---|---:|---|")
    print(f"| CPU-bound sweep, {n} points | processes, 1 worker | {t1:.3f} | {n / t1:.2f} points/s |")
    print(f"| CPU-bound sweep, {n} points | processes, {args.workers} workers | {tn:.3f} | "
          f"speedup {t1 / tn:.2f}x (target >= 1.8x with 2 workers on an idle 2-core machine) |")
    print(f"| trivial sweep, {m} points | serial | {t_serial:.3f} | {1e3 * t_serial / m:.2f} ms/point |")
    print(f"| trivial sweep, {m} points | Dask LocalCluster, {args.workers} workers | {t_dask:.3f} | "
          f"overhead {1e3 * (t_dask - t_serial) / m:.2f} ms/point over serial |")
    print(f"| Dask LocalCluster start | {args.workers} worker processes | {t_start:.3f} | once per sweep "
          "without --dask ADDRESS |")


if __name__ == "__main__":
    main()
