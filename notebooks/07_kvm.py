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
# # KVM: vCPU threads under Linux's fair scheduler, cgroup weights and `cpu.max`
#
# Under KVM every vCPU is a host thread scheduled by Linux's fair scheduler
# (EEVDF since 6.6).  A VM is a cgroup: `cpu.weight` sets its share,
# `cpu.max = "quota period"` caps its CPU time per period.  The cap is a
# well-known source of latency: a VM that uses 7 % of a CPU on average is
# still *throttled* whenever a request needs more than its quota within one
# period.  Time unit: the second.
#
# 1. throttling: the response time of a request under `cpu.max`, closed form
#    and bound against the simulator;
# 2. long-run shares under `cpu.weight` and `cpu.max` (water-filling);
# 3. a latency-sensitive VM beside a CPU hog: weights vs a quota.
#
# `VIRTMODEL_NB_CUSTOMERS` scales the run lengths (the tests use fewer).

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import virtmodel as vm
from virtmodel import plotting
from virtmodel.analytic import linux_fair as lf
from virtmodel.dists import Deterministic, Exponential, Uniform
from virtmodel.experiments.compare import agreement_summary, family_wise

CUSTOMERS = int(os.environ.get("VIRTMODEL_NB_CUSTOMERS", 20_000))
REPLICATIONS = 4
SEED = 2026

# %% [markdown]
# ## 1. Throttling under `cpu.max`
#
# A request of x seconds of CPU arrives at phase u of a period with the
# quota q unspent (one vCPU, nothing else on its pCPU).  It runs
# min(q, p - u) in the first period and q in each later one, sitting out
# p - q in between: the mean over a uniform phase is a closed form
# (`lf.mean_throttled_response`) and the worst case is
# x + (ceil(x/q) - 1)(p - q) (`lf.throttling_delay_bound`).  The simulator
# (EEVDF + CFS bandwidth control) runs isolated requests spaced so that each
# meets a full quota.

# %%
quota, period = 0.010, 0.100
sizes = np.linspace(0.001, 0.045, 200)
curve = pd.DataFrame({"size": sizes,
                      "mean": [lf.mean_throttled_response(x, quota, period) for x in sizes],
                      "worst": [x + lf.throttling_delay_bound(x, quota, period) for x in sizes]})
points = []
for k, x in enumerate([0.005, 0.015, 0.025, 0.035]):
    low = x + lf.throttling_delay_bound(x, quota, period) + period
    sc = vm.Scenario(1, [vm.VM("kvm", Uniform(low, low + period), Deterministic(x), vcpus=1)],
                     policy=vm.policies.LinuxFair(quota={"kvm": quota}, period=period))
    res = vm.simulate(sc, customers=max(200, CUSTOMERS // 40), replications=REPLICATIONS, seed=SEED + k)
    lo, hi = res.ci("mean_response")
    points.append(dict(size=x, sim_mean=res.mean("mean_response"), ci_low=lo, ci_high=hi,
                       analytic=lf.mean_throttled_response(x, quota, period),
                       utilization=res.mean("utilization")))
points = pd.DataFrame(points)
with plotting.paper_style():
    fig, ax = plt.subplots()
    ax.plot(curve["size"] * 1e3, curve["mean"] * 1e3, label="mean (closed form)")
    ax.plot(curve["size"] * 1e3, curve["worst"] * 1e3, "--", label="worst case (bound)")
    ax.plot(curve["size"] * 1e3, curve["size"] * 1e3, ":", color="grey", label="no limit")
    ax.errorbar(points["size"] * 1e3, points["sim_mean"] * 1e3,
                yerr=[(points["sim_mean"] - points["ci_low"]) * 1e3, (points["ci_high"] - points["sim_mean"]) * 1e3],
                fmt="o", color="black", label="simulated (95 % CI)")
    ax.set_xlabel("request CPU time x (ms)")
    ax.set_ylabel("response time (ms)")
    ax.set_title("cpu.max = 10 ms / 100 ms")
    ax.legend()
    plt.show()
points.round(4)

# %% [markdown]
# ## 2. Long-run shares: `cpu.weight` and `cpu.max`
#
# Saturated VMs share the pCPUs by weight, each capped by its vCPUs and by
# quota / period: the water-filling of `lf.fair_shares`, exact in the long
# run when every VM always has work.  Here 2 pCPUs, weights 100:300:100,
# vm1 capped at one CPU.

# %%
job = Exponential(1 / 0.005)
vms = [vm.VM(f"vm{i}", Exponential(400.0), job, vcpus=v) for i, v in enumerate((2, 2, 1))]
shares = vm.Scenario(2, vms, policy=vm.policies.LinuxFair(weights={"vm0": 100, "vm1": 300, "vm2": 100},
                                                          quota={"vm1": 0.010}, period=0.010),
                     allow_overload=True)
horizon = max(2.0, CUSTOMERS / 2500)
tab = vm.compare(shares, horizon=horizon, warmup=0.25, replications=REPLICATIONS, seed=SEED)
long_run = family_wise(tab[tab.metric == "utilization"])
print(agreement_summary(long_run, "long-run shares"))
long_run[["group", "analytic", "sim_mean", "ci_low", "ci_high", "agrees", "exact"]].round(4)

# %% [markdown]
# ## 3. A latency-sensitive VM beside a CPU hog
#
# 1 ms requests at 20 per second share one pCPU with a hog.  With equal
# weights EEVDF lets the waking vCPU (positive lag, early deadline) preempt
# the hog, so requests wait about one of the hog's requests at most.  Capping
# the *small* VM with `cpu.max = 4 ms / 100 ms` (twice its average use of
# 2 ms per 100 ms) throttles it in every period whose requests need more than
# 4 ms, about one period in twenty
# (`lf.period_demand_exceeds_quota`, for a period that starts empty): the
# requests caught in such a period wait for the next one, so the mean response
# grows although the VM uses half its quota on average (longer runs,
# `VIRTMODEL_NB_CUSTOMERS`, narrow the interval).

# %%
rows = []
print("P(a period's requests need more than 4 ms) =",
      round(lf.period_demand_exceeds_quota(20.0, Deterministic(0.001), 0.004, 0.100), 4))
for label, quota_small in (("equal weights, no quota", None), ("cpu.max 4 ms / 100 ms on the small VM", 0.004)):
    policy = vm.policies.LinuxFair(quota={} if quota_small is None else {"small": quota_small}, period=0.100)
    sc = vm.Scenario(1, [vm.VM("small", Exponential(20.0), Deterministic(0.001), vcpus=1),
                         vm.VM("hog", Exponential(1000.0), job, vcpus=1)], policy=policy, allow_overload=True)
    res = vm.simulate(sc, horizon=max(5.0, CUSTOMERS / 1000), warmup=0.2, replications=REPLICATIONS, seed=SEED)
    lo, hi = res.ci("mean_response", "small")
    rows.append(dict(setting=label, mean_response_ms=1e3 * res.mean("mean_response", "small"),
                     ci_low_ms=1e3 * lo, ci_high_ms=1e3 * hi,
                     cpu_share_small=res.mean("utilization", "small")))
pd.DataFrame(rows).round(3)
