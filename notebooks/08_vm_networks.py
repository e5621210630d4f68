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
# # VM-to-VM networks: latency along a path, same host vs across hosts, and clock sync
#
# A packet from one VM to another crosses a tandem of FCFS queues: the
# virtual switch on its host and, across hosts, the NIC's transmit path, each
# link of the route and the receiving NIC and vswitch (`vm.NetworkScenario`).
# With Poisson flows and exponential service drawn independently at each
# station the network is Jackson's, and the mean end-to-end latency is the sum
# of M/M/1 sojourns (exact); a real packet keeps its size along the path, and
# then that sum is only Kleinrock's independence approximation.
#
# 1. latency against load along a cross-host path: Jackson vs simulation, with
#    independent and with per-packet (correlated) service times;
# 2. the same pair of VMs on one host and on two hosts;
# 3. asymmetric load: the delay asymmetry and the NTP offset error it causes,
#    handed to the clock model.
#
# Time unit: microseconds; sizes in kB; bandwidths in kB/us (1 kB/us = 8 Gb/s).
# `VIRTMODEL_NB_CUSTOMERS` below 20,000 (the tests use 3,000) shortens every run.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import virtmodel as vm
from virtmodel.dists import Exponential

SMALL = int(os.environ.get("VIRTMODEL_NB_CUSTOMERS", 20_000)) < 20_000
PACKETS = 5_000 if SMALL else 100_000
REPLICATIONS = 3 if SMALL else 10
SEED = 2026


def topology(vswitch=2.5, nic=1.25, link=1.25, latency=5.0):
    """Two hosts (vswitch 20 Gb/s, NIC and link 10 Gb/s) joined by one link of 5 us propagation."""
    return vm.Topology([vm.NetworkHost("h1", vswitch, nic), vm.NetworkHost("h2", vswitch, nic)],
                       [vm.Link("h1", "h2", link, latency=latency)])


def row(x, sc, metric, group):
    pred = vm.predict(sc)
    res = vm.simulate(sc, replications=REPLICATIONS, seed=SEED)
    return dict(x=x, analytic=pred.value(metric, group), exact=pred.exact, sim=res.mean(metric, group),
                low=res.ci(metric, group)[0], high=res.ci(metric, group)[1])


# %% [markdown]
# ## 1. Latency against load along a path (1.5 kB mean packets)

# %%
size = Exponential(1 / 1.5)
loads = [0.2, 0.4, 0.6, 0.8]
rows = []
for mode in ("independent", "packet"):
    for u in loads:
        rate = u * 1.25 / 1.5  # link utilization u
        sc = vm.NetworkScenario(topology(), {"a": "h1", "b": "h2"}, [vm.Flow("a", "b", rate, size)],
                                service_times=mode, packets=PACKETS)
        rows.append(dict(mode=mode, **row(u, sc, "mean_response", "a->b")))
latency = pd.DataFrame(rows)
latency

# %%
fig, ax = plt.subplots(figsize=(5, 3.4))
jackson = latency[latency["mode"] == "independent"]
ax.plot(jackson["x"], jackson["analytic"], "k-", label="Jackson (sum of M/M/1 sojourns)")
for mode, marker in (("independent", "o"), ("packet", "s")):
    pts = latency[latency["mode"] == mode]
    ax.errorbar(pts["x"], pts["sim"], yerr=[pts["sim"] - pts["low"], pts["high"] - pts["sim"]], fmt=marker,
                capsize=3, label=f"simulated, service times {mode} (95 % CI)")
ax.set_xlabel("link utilization")
ax.set_ylabel("mean end-to-end latency (us)")
ax.set_title(f"h1 -> h2, {REPLICATIONS} x {PACKETS:,} packets")
ax.legend(fontsize=7)
fig.tight_layout()

# %% [markdown]
# With sizes redrawn at each station the simulation sits on Jackson's sum.
# A real packet keeps its size, and the NIC, the link and the receiving NIC
# have the same bandwidth.  At light and moderate load short packets bunch up
# behind long ones downstream, and the true latency is above the independence
# approximation (about +9 to +12 % at 10 x 100,000 packets); at heavy load the
# first of those stations spaces the packets by their own service times, the
# next ones rarely make them wait again, and the approximation is too
# pessimistic (about -10 % at 0.8).  Either way the gap is the price of
# Kleinrock's assumption, which is why `predict` says `exact=False` here.

# %% [markdown]
# ## 2. Same host vs across hosts

# %%
rows = []
for placement, where in (({"a": "h1", "b": "h1"}, "same host"), ({"a": "h1", "b": "h2"}, "two hosts")):
    sc = vm.NetworkScenario(topology(), placement, [vm.Flow("a", "b", 0.5, size)], service_times="independent",
                            packets=PACKETS)
    rows.append(dict(where=where, path=" -> ".join(sc.path("a->b")), **row(where, sc, "mean_response", "a->b")))
pd.DataFrame(rows).drop(columns="x")

# %% [markdown]
# On one host the packet is one memory copy through the vswitch; across hosts
# it queues at five stations and pays the propagation.

# %% [markdown]
# ## 3. Asymmetric load and the NTP offset error
#
# A client VM on h1 synchronises to a server VM on h2 (request and reply
# flows).  A bulk flow loads the h1 -> h2 direction only: requests queue
# behind it, replies do not.  NTP assumes equal one-way delays, so its offset
# estimate is off by half the difference (RFC 5905, §8).

# %%
rows = []
for bulk in [0.1, 0.3, 0.5, 0.7]:
    sc = vm.NetworkScenario(
        topology(), {"c": "h1", "s": "h2", "bulk": "h1", "sink": "h2"},
        [vm.Flow("c", "s", 0.05, size, name="req"), vm.Flow("s", "c", 0.05, size, name="rep"),
         vm.Flow("bulk", "sink", bulk * 1.25 / 1.5, size)],
        service_times="independent", sync=[("req", "rep")], packets=PACKETS)
    rows.append(row(bulk, sc, "sync_offset_error", "req/rep"))
    path = sc.sync_path("req", "rep")
    for column, window in (("clock_model", 1), ("clock_filter8", 8)):
        clock = vm.ClockScenario(n_vms=2, horizon=640.0, step=64.0, sync=path.ntp(64.0, filter_length=window))
        rows[-1][column] = vm.predict(clock).value("sync_offset_error")
sync = pd.DataFrame(rows)
sync

# %%
fig, ax = plt.subplots(figsize=(5, 3.4))
ax.plot(sync["x"], sync["analytic"], "k-", label="Jackson: (E d_to - E d_from) / 2")
ax.plot(sync["x"], sync["clock_model"], "c--", label="ClockScenario over sync_path (NTP, no filter)")
ax.plot(sync["x"], sync["clock_filter8"], "m:", label="ClockScenario, NTP min-delay filter of 8 (approx.)")
ax.errorbar(sync["x"], sync["sim"], yerr=[sync["sim"] - sync["low"], sync["high"] - sync["sim"]], fmt="o",
            capsize=3, label="simulated (95 % CI)")
ax.set_xlabel("bulk load on the h1 -> h2 link")
ax.set_ylabel("mean NTP offset error (us)")
ax.set_title("delay asymmetry -> clock offset error")
ax.legend(fontsize=7)
fig.tight_layout()

# %% [markdown]
# The closed form, the simulation and the clock model fed with
# `sync_path(...)` agree; the offset error grows like the forward queueing
# delay, about 1/(1 - rho) at the loaded link.  `sync_path(...).ntp()` hands
# these one-way delays to `vm.ClockScenario` for the full NTP discipline
# (filter, PLL), where the exponential shape of the delay is a mean-matched
# approximation.  With NTP's minimum-delay filter over 8 exchanges the
# error shrinks (dotted line): the filter picks exchanges that found the
# loaded link nearly idle -- how much depends on the delay's shape, which the
# clock model takes as exponential here.

# %%
assert np.all(np.diff(sync["analytic"]) > 0)
