# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Single-station queues: derive, predict, simulate
#
# The foundation of virtmodel, on the classic queues a hypervisor's pCPUs
# form: every closed form three ways.
#
# 1. the sympy derivation of Pollaczek–Khinchine, ready for the paper;
# 2. the numeric closed forms, broadcasting over parameter arrays, and
#    Erlang C for 10,000 servers;
# 3. the simpy simulation against theory, with honest intervals, and the
#    fast Lindley path that gives the same waits.
#
# `VIRTMODEL_NB_CUSTOMERS` sets the run length (default 20,000 customers per
# replication).

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Math, display

import virtmodel as vm
from virtmodel import plotting
from virtmodel.dists import Deterministic, Exponential, HyperExponential
from virtmodel.experiments.compare import agreement_summary, family_wise

CUSTOMERS = int(os.environ.get("VIRTMODEL_NB_CUSTOMERS", 20_000))
REPLICATIONS = 5
SEED = 2026

# %% [markdown]
# ## 1. The derivation
#
# `vm.derive(name)` returns the steps of a derivation with sympy; `.latex()`
# is the paper's `align*` block and `.lambdify()` a numpy function of the
# public parameter names.

# %%
d = vm.derive("mg1.mean_wait")
for step in d.steps:
    print(step.description)
display(Math(__import__("sympy").latex(d.result)))
pk = d.lambdify()
pk(arrival_rate=0.8, service_mean=1.0, service_second_moment=2.0)  # M/M/1 at load 0.8: 4.0

# %% [markdown]
# ## 2. Closed forms that broadcast
#
# The numeric models take arrays, and Erlang B/C use a stable recursion, so
# ten thousand servers are no problem.

# %%
loads = np.linspace(0.05, 0.95, 19)
mmc = vm.analytic.MMc(arrival_rate=4 * loads, service_rate=1.0, servers=4)
with plotting.paper_style():
    fig, ax = plt.subplots()
    for c in (1, 2, 4, 8):
        ax.plot(loads, vm.analytic.MMc(arrival_rate=c * loads, service_rate=1.0, servers=c).mean_wait,
                label=f"M/M/{c}")
    ax.set_xlabel("load per server $\\rho$")
    ax.set_ylabel("mean wait (time units, mean service 1)")
    ax.set_yscale("log")
    ax.legend(frameon=False)
    plt.show()
vm.analytic.erlang_c(10_000, 9_000), vm.analytic.erlang_b(10_000, np.array([9_000.0, 9_900.0, 10_000.0]))

# %% [markdown]
# ## 3. Simulation against theory
#
# M/G/1 FCFS at load 0.8 with three service laws of mean 1: deterministic
# (scv 0), exponential (1) and hyperexponential (4).  The mean wait grows
# linearly with the service time's squared coefficient of variation, as
# Pollaczek–Khinchine says.  The intervals are family-wise: `family_wise`
# widens each to the Bonferroni level 1 - 0.05/m over the table's m exact
# rows, so "every row agrees" is a 95 % statement about the whole table
# (per-row 95 % intervals would miss one row in twenty by chance).

# %%
rows = []
for k, (label, service) in enumerate([("M/D/1", Deterministic(1.0)), ("M/M/1", Exponential(1.0)),
                                      ("M/H2/1 scv 4", HyperExponential.balanced(1.0, 4.0))]):
    sc = vm.Scenario(1, [vm.VM("vm", Exponential(0.8), service)])
    tab = vm.compare(sc, customers=CUSTOMERS, replications=REPLICATIONS, seed=SEED + k)
    tab.insert(0, "queue", label)
    rows.append(tab[tab.metric.isin(["mean_wait", "mean_number", "utilization"])])
queues = family_wise(pd.concat(rows, ignore_index=True))
print(agreement_summary(queues, "M/G/1 against Pollaczek-Khinchine"))
queues[["queue", "metric", "analytic", "sim_mean", "ci_low", "ci_high", "agrees"]].round(3)

# %% [markdown]
# The fast path (Lindley's recursion in numpy) draws the same random numbers
# and gives the same result, tens of times faster.  At load 0.9 a run of
# this size is short (the relaxation time is about 1/(1 - rho)^2 = 100
# services): its interval is wide, so the table shows it, and a fast-path
# run 20 times longer with 20 replications, whose interval is a few per cent.

# %%
sc = vm.Scenario(1, [vm.VM("vm", Exponential(0.9), Exponential(1.0))])
simpy_run = vm.simulate(sc, customers=CUSTOMERS, replications=REPLICATIONS, seed=SEED)
fast_run = vm.simulate(sc, customers=CUSTOMERS, replications=REPLICATIONS, seed=SEED, engine="fast")
long_run = vm.simulate(sc, customers=20 * CUSTOMERS, replications=20, seed=SEED, engine="fast")
exact_wait = vm.analytic.MM1(0.9, 1.0).mean_wait
pd.DataFrame([(label, run.customers, run.replications, run.mean("mean_wait"),
               *run.ci("mean_wait"), exact_wait)
              for label, run in [("simpy", simpy_run), ("fast", fast_run), ("fast, 20x longer", long_run)]],
             columns=["engine", "customers", "replications", "mean_wait", "ci_low", "ci_high", "analytic"]).round(3)
