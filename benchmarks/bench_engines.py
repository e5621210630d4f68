"""Speed of the compiled (numba) engine against the simpy engine and a bare numba Lindley loop.

Five scenarios from issue 11, each measured in one run, side by side:

* **compiled, end to end**: ``vm.simulate(sc, customers=N, replications=R, seed=1,
  engine="compiled")`` with MSER-5 warm-up (pilot runs included in the time), the per-job
  Records and the full output analysis (``measure``: means, time averages, percentiles, batch
  and Little's-law diagnostics);
* **compiled, numpy measure**: the same call with the output analysis forced onto the all-numpy
  path of ``measure`` (``COMPILED_MIN_JOBS`` set above the run's size): the implementation before
  the measure kernels (``virtmodel/sim/_measure_numba.py``), kept in ``measure`` for short runs, so
  that the before/after ratio comes from one run of this script (both give the same numbers);
* **compiled, kernel**: one ``CompiledEngine`` replication of N departures: drawing the random
  numbers in numpy blocks plus the numba kernel, no output analysis;
* **simpy, end to end**: the same ``vm.simulate`` call with ``engine="simpy"`` on fewer customers
  (it is 10-40x slower; customers per second do not depend on N once N >> warm-up);
* **limit**: a bare numba Lindley loop over pre-drawn arrays (M/M/1 only), no output analysis,
  i.e. the fastest a one-pCPU FCFS simulation can go on this machine.

Customers per second count departures simulated in the kept replications (kept + warm-up
removed); end-to-end wall time also includes the warm-up pilots.  Compile time: the first call
of each kernel in a fresh process with the numba cache warm (``--compile``), and numba's import.

    python benchmarks/bench_engines.py [--customers 1000000] [--replications 10]
                                       [--simpy-customers 100000] [--only mm1,priority,rr,ps,mm16]
                                       (more keys: preemptive, srpt, psjf)
    python benchmarks/bench_engines.py --bounded 1e8      # 10^8 customers, vm.simulate(records=False)
    python benchmarks/bench_engines.py --measure-share --replications 4 --only mm1,priority,rr
    python benchmarks/bench_engines.py --versus /tmp/old --repeats 5 --only mm1,priority,rr
    python benchmarks/bench_engines.py --polling --repeats 5  # polling: compiled vs simpy, medians
    python benchmarks/bench_engines.py --proportional-share --repeats 3  # likewise for ProportionalShare
    python benchmarks/bench_engines.py --abandonment --repeats 3         # and for patience (Erlang A)
    python benchmarks/bench_engines.py --linux-fair --repeats 3          # and for LinuxFair (KVM EEVDF, cpu.max)

``--polling``: cyclic polling of three VMs on one pCPU (load 0.8, exponential jobs, exponential
switchovers of mean 0.1), exhaustive, gated and 2-limited, through ``vm.simulate``: compiled
(``--customers`` x ``--replications``) and simpy (``--simpy-customers`` x 2) alternately in this
process, ``--repeats`` times each; prints the medians of customers kept (customers x
replications) per wall second and per CPU second, and checks that both engines give the same
summary table on a common size.
``--proportional-share`` and ``--abandonment`` do the same for ProportionalShare at load 0.9
(weights 1:2:3 and 1:3 on one pCPU, exponential and H2 service; weights with vCPU ceilings on two
pCPUs) and for patience (the battery's Erlang A, M/M/2+M at load 1.2; two VMs with patience under
non-preemptive priority on four pCPUs); ``--linux-fair`` for LinuxFair (the validation battery's two
KVM checks, and three VMs with cpu.weight and cpu.max at load 0.8 on two pCPUs).

``--versus DIR``: before/after in one run.  ``DIR`` holds an older ``virtmodel`` package (e.g.
``git archive <commit> virtmodel | tar -x -C DIR``); each repeat times one ``vm.simulate`` call
(after a warm-up call in the same process) with the old code and with this checkout, in
alternating fresh processes, by the CPU time of the process; the script prints the medians, their
ratio and whether both gave the same summary table (``DataFrame.equals``).
"""

from __future__ import annotations

import argparse
import functools
import subprocess
import sys
import time

import numpy as np
from numba import njit

import virtmodel as vm
from virtmodel.dists import Exponential, HyperExponential
from virtmodel.sim.compiled import CompiledEngine

try:
    from _machine import machine
except ImportError:  # run as a module
    from benchmarks._machine import machine


def scenarios():
    exp = Exponential(1.0)
    return {
        "mm1": ("M/M/1 FCFS, load 0.9", vm.Scenario(1, [vm.VM("a", Exponential(0.9), exp)])),
        "priority": ("two-class priority (non-preemptive), load 0.9", vm.Scenario(
            1, [vm.VM("hi", Exponential(0.45), exp, priority=0), vm.VM("lo", Exponential(0.45), exp, priority=1)],
            policy=vm.policies.Priority())),
        "preemptive": ("two-class preemptive priority, load 0.9", vm.Scenario(
            1, [vm.VM("hi", Exponential(0.45), exp, priority=0), vm.VM("lo", Exponential(0.45), exp, priority=1)],
            policy=vm.policies.Priority(preemptive=True))),
        "srpt": ("SRPT, two VMs, load 0.9", vm.Scenario(
            1, [vm.VM("a", Exponential(0.45), exp), vm.VM("b", Exponential(0.45), exp)], policy=vm.policies.SRPT())),
        "psjf": ("PSJF, two VMs, load 0.9", vm.Scenario(
            1, [vm.VM("a", Exponential(0.45), exp), vm.VM("b", Exponential(0.45), exp)], policy=vm.policies.PSJF())),
        "rr": ("round robin q=0.1, M/M/1 load 0.9", vm.Scenario(
            1, [vm.VM("a", Exponential(0.9), exp)], policy=vm.policies.RoundRobin(quantum=0.1))),
        "ps": ("processor sharing, M/M/1 load 0.9", vm.Scenario(
            1, [vm.VM("a", Exponential(0.9), exp)], policy=vm.policies.ProcessorSharing())),
        "mm16": ("M/M/16 FCFS, load 0.9", vm.Scenario(16, [vm.VM("a", Exponential(16 * 0.9), exp)])),
    }


@njit(cache=True)
def lindley_loop(inter, service):
    """Bare Lindley recursion W_n = max(0, W_{n-1} + S_{n-1} - A_n); returns the mean wait."""
    w = 0.0
    total = 0.0
    for i in range(1, inter.size):
        w = w + service[i - 1] - inter[i]
        if w < 0.0:
            w = 0.0
        total += w
    return total / inter.size


def timed(fn):
    """(wall seconds, CPU seconds of this process, result): the machine is shared, so CPU time
    says more about the code than wall time does."""
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w0, time.process_time() - c0, out


def end_to_end(sc, customers, replications, engine, numpy_measure=False):
    from virtmodel.sim import measure as measure_module

    threshold = measure_module.COMPILED_MIN_JOBS
    if numpy_measure:
        measure_module.COMPILED_MIN_JOBS = float("inf")
    try:
        wall, cpu, res = timed(lambda: vm.simulate(sc, customers=customers, replications=replications, seed=1,
                                                   engine=engine))
    finally:
        measure_module.COMPILED_MIN_JOBS = threshold
    simulated = replications * customers + int(res.diagnostics.groupby("replication")["warmup_removed"].first().sum())
    return simulated / wall, simulated / cpu, wall, res


def kernel_only(sc, customers):
    def run():
        eng = CompiledEngine(sc, 1, 0)
        eng.run_until_departures(customers)
        return eng.records()

    wall, cpu, _ = timed(run)
    return customers / wall, customers / cpu


def streaming(sc, customers, replications):
    """Bounded memory (``records=False``): both passes (MSER-5 pilot, then the window) counted."""
    wall, cpu, res = timed(lambda: vm.simulate(sc, customers=customers, replications=replications, seed=1,
                                               records=False))
    simulated = replications * customers + int(res.diagnostics["warmup_removed"].sum())
    return simulated / wall, simulated / cpu, res


def limit(customers):
    rng = np.random.default_rng(1)
    inter = rng.exponential(1 / 0.9, customers)
    service = rng.exponential(1.0, customers)
    lindley_loop(inter[:10], service[:10])
    t0 = time.perf_counter()
    lindley_loop(inter, service)
    loop = time.perf_counter() - t0
    return customers / loop, loop


_COMPILE = """
import time
t0 = time.perf_counter()
import numba  # noqa: F401
t_numba = time.perf_counter() - t0
import virtmodel as vm
from virtmodel.dists import Exponential
from virtmodel.sim.compiled import CompiledEngine
exp = Exponential(1.0)
cases = [("whole", vm.policies.FCFS()), ("preemptive", vm.policies.SRPT()),
         ("round_robin", vm.policies.RoundRobin(0.1)), ("processor_sharing", vm.policies.ProcessorSharing()),
         ("polling", vm.policies.Polling("gated", Exponential(10.0)))]
for label, pol in cases:
    sc = vm.Scenario(1, [vm.VM("a", Exponential(0.5), exp), vm.VM("b", Exponential(0.3), exp)], policy=pol)
    t0 = time.perf_counter()
    e = CompiledEngine(sc, 1, 0); e.run_until_departures(100); e.records()
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    e = CompiledEngine(sc, 1, 1); e.run_until_departures(100); e.records()
    print(f"{label}: first call {first:.3f} s, second {time.perf_counter() - t0:.4f} s")
print(f"numba import {t_numba:.3f} s")
"""


def polling_scenario(discipline):
    """Three VMs (loads 0.16 / 0.24 / 0.40) polled on one pCPU, exponential switchovers of mean 0.1."""
    exp = Exponential(1.0)
    vms = [vm.VM(name, Exponential(share * 0.8), exp) for name, share in zip("abc", (0.2, 0.3, 0.5), strict=True)]
    policy = vm.policies.Polling(discipline, switchover=Exponential(10.0), limit=2 if discipline == "limited" else None)
    return vm.Scenario(1, vms, policy=policy)


def side_by_side(title, cases, customers, simpy_customers, replications, repeats):
    """Medians over ``repeats`` alternating runs of customers kept per second, compiled and simpy, for each
    ``(label, scenario)`` of ``cases``; and whether both engines give the same summary on a common size."""
    import warnings

    warnings.simplefilter("ignore", vm.errors.VirtmodelWarning)  # the short common-size runs warn, by design
    print(f"Machine: {machine()}")
    print(f"compiled: {customers:,} customers x {replications}; simpy: {simpy_customers:,} x 2; "
          f"medians of {repeats} alternating runs; customers kept (customers x replications) per "
          "wall second / per CPU second of the process\n")
    print(f"| {title} | compiled end to end | simpy end to end | compiled / simpy (wall) "
          "| compiled / simpy (CPU) | same summary |")
    print("|---|---:|---:|---:|---:|---|")
    for label, sc in cases:
        kw = dict(customers=20_000, replications=2, seed=3)
        same = vm.simulate(sc, engine="compiled", **kw).summary.equals(vm.simulate(sc, engine="simpy", **kw).summary)
        rates = {"compiled": [], "simpy": []}
        for _ in range(repeats):
            for engine, n, r in (("compiled", customers, replications), ("simpy", simpy_customers, 2)):
                wall, cpu, _ = timed(functools.partial(vm.simulate, sc, customers=n, replications=r, seed=1,
                                                       engine=engine))
                rates[engine].append((n * r / wall, n * r / cpu))
        (cw, cc), (sw, scpu) = (np.median(np.array(rates[e]), axis=0) for e in ("compiled", "simpy"))
        print(f"| {label} | {cw:,.0f} / {cc:,.0f} | {sw:,.0f} / {scpu:,.0f} | {cw / sw:.1f}x | {cc / scpu:.1f}x "
              f"| {same} |", flush=True)


def polling(customers, simpy_customers, replications, repeats):
    """:func:`side_by_side` for exhaustive, gated and 2-limited polling (:func:`polling_scenario`)."""
    cases = [(d if d != "limited" else "2-limited", polling_scenario(d)) for d in ("exhaustive", "gated", "limited")]
    side_by_side("polling, 3 VMs, load 0.8", cases, customers, simpy_customers, replications, repeats)


def proportional_share_scenarios():
    """ProportionalShare at load 0.9: weights on one pCPU (exponential, H2 scv 4), vCPU ceilings on two."""
    exp, h2 = Exponential(1.0), HyperExponential.balanced(1.0, 4.0)
    share = vm.policies.ProportionalShare

    def vms(rates, service, vcpus=None):
        vcpus = vcpus or [None] * len(rates)
        return [vm.VM(f"vm{i}", Exponential(r), service, vcpus=v)
                for i, (r, v) in enumerate(zip(rates, vcpus, strict=True))]

    return [
        ("weights 1:2:3, 3 VMs, 1 pCPU, exp", vm.Scenario(1, vms((0.4, 0.4, 0.1), exp),
                                                         policy=share({"vm0": 1, "vm1": 2, "vm2": 3}))),
        ("weights 1:3, 2 VMs, 1 pCPU, H2 scv 4", vm.Scenario(1, vms((0.45, 0.45), h2),
                                                             policy=share({"vm0": 1, "vm1": 3}))),
        ("weights 3:1:1, vCPUs 1/2/2, 2 pCPUs, exp", vm.Scenario(2, vms((0.6, 0.6, 0.6), exp, (1, 2, 2)),
                                                                 policy=share({"vm0": 3}))),
    ]


def abandonment_scenarios():
    """Erlang A (the validation battery's M/M/2+M at load 1.2, patience mean 2) and two VMs with patience
    under non-preemptive priority on 4 pCPUs."""
    exp = Exponential(1.0)
    return [
        ("Erlang A, M/M/2+M load 1.2, FCFS", vm.Scenario(2, [vm.VM("vm", Exponential(2.4), exp,
                                                                   patience=Exponential(0.5))])),
        ("2 VMs with patience, priority, 4 pCPUs, load 1.1", vm.Scenario(4, [
            vm.VM("hi", Exponential(2.2), exp, priority=0, patience=Exponential(1.0)),
            vm.VM("lo", Exponential(2.2), exp, priority=1, patience=Exponential(0.5))],
            policy=vm.policies.Priority())),
    ]


def linux_fair_scenarios():
    """LinuxFair (seconds): the validation battery's two KVM checks (isolated 25 ms requests under cpu.max
    10 ms / 100 ms; saturated VMs with cpu.weight 1:3:1 and cpu.max on two pCPUs) and three VMs at load
    0.8 on two pCPUs with 5 ms jobs (cpu.weight 100:300:100, cpu.max 0.8 CPU per 100 ms on the one at 0.6)."""
    from virtmodel.experiments.battery_hypervisor import hypervisor_checks

    cases = [(c.label.split(" (")[0] + " (battery)", c.scenario) for c in hypervisor_checks()
             if c.label.startswith("KVM")]
    job = Exponential(1 / 0.005)
    rates_vcpus = ((80.0, 2), (120.0, 2), (120.0, 1))
    vms = [vm.VM(f"vm{i}", Exponential(r), job, vcpus=v) for i, (r, v) in enumerate(rates_vcpus)]
    policy = vm.policies.LinuxFair(weights={"vm0": 100, "vm1": 300, "vm2": 100}, quota={"vm2": 0.08}, period=0.1)
    return cases + [("cpu.weight 1:3:1, cpu.max 0.8 CPU, 2 pCPUs, load 0.8", vm.Scenario(2, vms, policy=policy))]


def bounded(customers):
    """One replication of ``customers`` in bounded memory; peak RSS from getrusage (Linux: KiB)."""
    import resource

    sc = scenarios()["mm1"][1]
    wall, cpu, res = timed(lambda: vm.simulate(sc, customers=customers, replications=1, seed=2026, records=False))
    lo, hi = res.ci("mean_response")
    print(f"Machine: {machine()}")
    print(f"M/M/1 load 0.9, {customers:,} customers, one replication, bounded memory: {wall:.1f} s wall, "
          f"{cpu:.1f} s CPU; mean response {res.mean('mean_response'):.5f}, 95 % batch-means interval "
          f"({lo:.5f}, {hi:.5f}), exact 10, inside: {lo <= 10.0 <= hi}; warm-up removed "
          f"{int(res.diagnostics['warmup_removed'].iloc[0])}; peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def measure_share(keys, customers, replications):
    """CPU time of ``vm.simulate`` and the share of it in ``measure`` (and its percentiles), with the
    measure kernels and with the all-numpy path (before), in this process (``--measure-share``)."""
    from virtmodel.sim import measure as measure_module
    from virtmodel.sim import run

    spent = {"measure": 0.0, "percentiles": 0.0}

    def clocked(fn, key):
        def wrapper(*args, **kwargs):
            c0 = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[key] += time.process_time() - c0
        return wrapper

    saved = run.measure, measure_module.percentiles, measure_module.COMPILED_MIN_JOBS
    run.measure = clocked(run.measure, "measure")
    measure_module.percentiles = clocked(measure_module.percentiles, "percentiles")
    try:
        for key in keys:
            label, sc = scenarios()[key]
            vm.simulate(sc, customers=30_000, replications=2, seed=1, engine="compiled")  # load the kernels
            for before in (True, False):
                spent.update(measure=0.0, percentiles=0.0)
                measure_module.COMPILED_MIN_JOBS = float("inf") if before else saved[2]
                c0 = time.process_time()
                vm.simulate(sc, customers=customers, replications=replications, seed=1, engine="compiled")
                total = time.process_time() - c0
                print(f"{label}, {'numpy measure (before)' if before else 'measure kernels (after)'}: "
                      f"{total:.2f} s CPU, measure {spent['measure']:.2f} s ({spent['measure'] / total:.0%}), "
                      f"of which percentiles {spent['percentiles']:.2f} s ({spent['percentiles'] / total:.0%})")
    finally:
        run.measure, measure_module.percentiles, measure_module.COMPILED_MIN_JOBS = saved


_ONE_CALL = """
import pickle, sys, time, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, {bench!r})
import virtmodel as vm
from bench_engines import scenarios
sc = scenarios()[{key!r}][1]
vm.simulate(sc, customers=30_000, replications=2, seed=1, engine="compiled")  # load the kernels
c0 = time.process_time()
res = vm.simulate(sc, customers={customers}, replications={replications}, seed=1, engine="compiled")
cpu = time.process_time() - c0
simulated = {replications} * {customers} + int(res.diagnostics.groupby("replication")["warmup_removed"].first().sum())
sys.stdout.buffer.write(pickle.dumps((cpu, simulated, res.summary, vm.__file__)))
"""


def versus(old, keys, customers, replications, repeats):
    """Customers/s (CPU time) of ``vm.simulate`` with the package in ``old`` and with this checkout,
    alternating fresh processes; medians over ``repeats``, and the summaries compared."""
    import os
    import pickle
    import statistics
    from pathlib import Path

    here = Path(__file__).resolve().parent
    checkout = str(here.parent)
    print(f"Machine: {machine()}")
    print(f"vm.simulate(engine='compiled'), {customers:,} customers x {replications} replications, seed 1; "
          f"CPU time of the process, median of {repeats} alternating runs\n")
    print("| scenario | before (customers/s) | after (customers/s) | after / before | same summary |")
    print("|---|---:|---:|---:|---|")
    for key in keys:
        rates = {"before": [], "after": []}
        tables = {}
        for _ in range(repeats):
            for label, path in (("before", old), ("after", checkout)):
                env = dict(os.environ, PYTHONPATH=path)
                code = _ONE_CALL.format(bench=str(here), key=key, customers=customers, replications=replications)
                out = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, check=True)
                cpu, simulated, summary, where = pickle.loads(out.stdout)
                if not where.startswith(str(Path(path).resolve())):
                    raise RuntimeError(f"{label}: imported virtmodel from {where}, not from {path}")
                rates[label].append(simulated / cpu)
                tables[label] = summary
        before, after = statistics.median(rates["before"]), statistics.median(rates["after"])
        same = tables["before"].equals(tables["after"])
        print(f"| {scenarios()[key][0]} | {before:,.0f} | {after:,.0f} | {after / before:.2f}x | {same} |",
              flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--replications", type=int, default=10)
    p.add_argument("--simpy-customers", type=int, default=100_000)
    p.add_argument("--only", default="mm1,priority,preemptive,rr,ps,mm16")
    p.add_argument("--no-compile", action="store_true", help="skip the fresh-process compile-time check")
    p.add_argument("--bounded", type=float, default=None, metavar="N",
                   help="only: one bounded-memory replication of N customers (e.g. 1e8), M/M/1 load 0.9, "
                        "seed 2026; prints its time, interval and peak RSS")
    p.add_argument("--versus", metavar="DIR", default=None,
                   help="only: before/after against the virtmodel package in DIR (see the module docstring)")
    p.add_argument("--repeats", type=int, default=5, help="alternating runs per side with --versus or --polling")
    p.add_argument("--polling", action="store_true",
                   help="only: polling (exhaustive, gated, 2-limited), compiled vs simpy, medians of --repeats")
    p.add_argument("--proportional-share", action="store_true",
                   help="only: ProportionalShare (weights, vCPU ceilings), compiled vs simpy, medians of --repeats")
    p.add_argument("--abandonment", action="store_true",
                   help="only: patience (Erlang A, priority with patience), compiled vs simpy, medians of --repeats")
    p.add_argument("--linux-fair", action="store_true",
                   help="only: LinuxFair (KVM EEVDF, cpu.weight, cpu.max), compiled vs simpy, medians of --repeats")
    p.add_argument("--measure-share", action="store_true",
                   help="only: CPU time of simulate and the share of measure in it, before and after the "
                        "measure kernels (use with --customers, --replications, --only)")
    args = p.parse_args(argv)
    if args.versus:
        return versus(args.versus, args.only.split(","), args.customers, args.replications, args.repeats)
    if args.measure_share:
        return measure_share(args.only.split(","), args.customers, args.replications)
    if args.bounded:
        return bounded(int(args.bounded))
    if args.polling:
        return polling(args.customers, args.simpy_customers, args.replications, args.repeats)
    if args.proportional_share:
        return side_by_side("proportional share, load 0.9", proportional_share_scenarios(), args.customers,
                            args.simpy_customers, args.replications, args.repeats)
    if args.abandonment:
        return side_by_side("patience (abandonment)", abandonment_scenarios(), args.customers,
                            args.simpy_customers, args.replications, args.repeats)
    if args.linux_fair:
        return side_by_side("LinuxFair (KVM EEVDF, cpu.max)", linux_fair_scenarios(), args.customers,
                            args.simpy_customers, args.replications, args.repeats)
    n, r = args.customers, args.replications
    print(f"Machine: {machine()}")
    print(f"compiled: {n:,} customers x {r} replications; simpy: {args.simpy_customers:,} x 2\n")
    # warm: load the cached kernels once in this process (compile time is measured separately)
    for _, sc in scenarios().values():
        e = CompiledEngine(sc, 1, 0)
        e.run_until_departures(100)
        e.records()
        # and the measure kernels (runs of >= COMPILED_MIN_JOBS jobs)
        vm.simulate(sc, customers=30_000, replications=2, seed=1, engine="compiled")
    print("customers/s by wall time / by CPU time of the process\n")
    print("| scenario | compiled end to end | compiled end to end, numpy measure (before) "
          "| after / before (CPU) | compiled kernel (draws + loop) "
          "| simpy end to end | compiled / simpy (end to end, CPU) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    table = scenarios()
    for key in args.only.split(","):
        label, sc = table[key]
        rate_c, cpu_c, wall_c, res = end_to_end(sc, n, r, "compiled")
        rate_o, cpu_o, _, res_o = end_to_end(sc, n, r, "compiled", numpy_measure=True)
        if not res.summary.equals(res_o.summary):
            raise AssertionError(f"{key}: the measure kernels changed a number")
        rate_k, cpu_k = kernel_only(sc, n)
        rate_s, cpu_s, _, _ = end_to_end(sc, args.simpy_customers, 2, "simpy")
        print(f"| {label} | {rate_c:,.0f} / {cpu_c:,.0f} | {rate_o:,.0f} / {cpu_o:,.0f} | {cpu_c / cpu_o:.2f}x "
              f"| {rate_k:,.0f} / {cpu_k:,.0f} | {rate_s:,.0f} / {cpu_s:,.0f} "
              f"| {cpu_c / cpu_s:.1f}x |", flush=True)
    rate_b, cpu_b, res_b = streaming(table["mm1"][1], n, r)
    lo, hi = res_b.ci("mean_response")
    print(f"\nM/M/1 load 0.9 in bounded memory (vm.simulate(records=False), {n:,} x {r}, no per-job records): "
          f"{rate_b:,.0f} / {cpu_b:,.0f} customers/s; mean response {res_b.mean('mean_response'):.4f} "
          f"({lo:.4f}, {hi:.4f}), exact 10")
    rate_l, wall_l = limit(n * r)
    print(f"limit: bare numba Lindley loop, M/M/1 load 0.9, {n * r:,} customers: {rate_l:,.0f} customers/s "
          f"({wall_l:.2f} s, random numbers drawn beforehand and not timed)")
    if not args.no_compile:
        print("\ncompile time, fresh process, numba cache warm:")
        out = subprocess.run([sys.executable, "-c", _COMPILE], capture_output=True, text=True, check=True)
        print(out.stdout.strip())


if __name__ == "__main__":
    main()
