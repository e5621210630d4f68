"""Machine description and timing helpers shared by the benchmark scripts."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import statistics
import time


def machine() -> str:
    """One line: CPU model, cores, Python and key package versions, date."""
    import numpy
    import simpy

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy {numpy.__version__}, "
            f"simpy {simpy.__version__}, {_dt.date.today().isoformat()}")


def median_time(fn, repeats: int) -> tuple[float, object]:
    """Median wall time of ``repeats`` calls of ``fn`` and the last result."""
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def simulate_once(scenario, customers: int, engine: str = "simpy"):
    """One replication of ``customers`` departures with seed 1: the result and the departures simulated
    (the kept customers plus the warm-up removed), which is what customers per second count."""
    import virtmodel as vm

    res = vm.simulate(scenario, customers=customers, replications=1, seed=1, engine=engine)
    return res, customers + int(res.diagnostics["warmup_removed"].iloc[0])
