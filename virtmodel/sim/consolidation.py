"""Trace-driven consolidation: hosts needed against overcommit, and the time hosts spend at 100 % CPU.

VM CPU demand series (cores, one column per 5-minute interval) from real
traces (:func:`cpu_demand`: PlanetLab, Bitbrains, Google) are packed onto
hosts of ``host_cores`` cores in two ways:

* **static** (:func:`static_consolidation`): each VM reserves its nominal
  size divided by the overcommit ratio κ; the reservations are packed once
  by first fit decreasing and never move.  κ = 1 is no overcommit.
* **dynamic** (:func:`dynamic_consolidation`): every interval the VMs are
  re-packed by first fit decreasing on the demand *measured in the
  previous interval*, filling hosts up to ``threshold`` x capacity (the
  reactive consolidation of Beloglazov & Buyya, CCPE 24(13), 2012, with a
  static utilization threshold and last-value prediction).

Both report the mean number of active hosts and the SLA-violation metric of
Beloglazov & Buyya (2012), *SLATAH*: the share of active host-intervals
in which the host's demand reaches its capacity (the host runs at 100 %
CPU and its VMs get less than they ask).  Modelled: CPU only, 5-minute
demand averages, free and instantaneous migrations (so the dynamic
figures are the best a reactive policy can do; the migration count and
its performance cost of about 10 % of a VM's CPU during migration are not
modelled), one host type.

:func:`pack_vectors` packs VMs with CPU *and* memory sizes (Google's
trace) by first fit, first fit decreasing, best fit or dot product among
the open hosts (Panigrahy et al., Microsoft Research 2011), against the
lower bound max over resources of ⌈Σ sizes / capacity⌉.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numba
import numpy as np
import pandas as pd

from ..errors import InvalidParameter

__all__ = ["cpu_demand", "google_vectors", "static_consolidation", "dynamic_consolidation", "pack_vectors",
           "ffd_assign"]


# --------------------------------------------------------------------------- data


def _load(name, **options):
    """``virtmodel.data.load`` where present, else the file under ``$VIRTMODEL_DATA`` read directly."""
    try:
        from .. import data as _data

        return _data.load(name, **options)
    except ImportError:
        pass
    root = os.environ.get("VIRTMODEL_DATA")
    if not root:
        raise InvalidParameter("VIRTMODEL_DATA is not set: point it at the folder holding vm_workload/")
    base = Path(root) / "vm_workload"
    if name == "planetlab":
        return pd.read_csv(base / "planetlab_comon_2011_cloudsim" / "planetlab_cpu_util_5min.csv.gz")
    if name == "google_gcd":
        return pd.read_csv(base / "google_gcd_1600vm" / "gcd_vms_long.csv.gz")
    if name == "bitbrains":
        frames = []
        for i in range(1, 51):
            f = pd.read_csv(base / "bitbrains_rnd_2013-07" / f"{i}.csv.gz", sep=";\t", engine="python")
            f.columns = [c.strip() for c in f.columns]
            frames.append(pd.DataFrame({"vm": i, "time_unix_s": f.iloc[:, 0], "cpu_cores": f.iloc[:, 1],
                                        "cpu_capacity_mhz": f.iloc[:, 2], "cpu_usage_mhz": f.iloc[:, 3]}))
        return pd.concat(frames, ignore_index=True)
    raise InvalidParameter(f"name must be planetlab, bitbrains or google_gcd, got {name!r}")


def cpu_demand(name, day=None):
    """CPU demand of each VM per 5-minute interval, in cores, and each VM's nominal size in cores.

    * ``"planetlab"``: one day (``day``, default the first) of the PlanetLab
      VMs of Beloglazov & Buyya (2012); a VM is one core, demand = util/100.
    * ``"google_gcd"``: the 1,600 Google "VMs" over 24 h; nominal 1 core,
      demand = cpu_util_pct/100.
    * ``"bitbrains"``: the 50 Bitbrains Rnd VMs (July 2013), demand =
      usage MHz / (capacity MHz / cores), nominal = their cores; times
      floored to 300 s and aligned on the intervals every VM covers, VMs
      that are all zero dropped.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Demand, VMs x intervals; nominal size per VM.
    """
    if name == "planetlab":
        wide = _load("planetlab", form="wide") if _has_registry() else _load("planetlab")
        days = sorted(wide["day"].astype(str).unique())
        pick = days[0] if day is None else str(day)
        if pick not in days:
            raise InvalidParameter(f"day must be one of {days}, got {day!r}")
        rows = wide[wide["day"].astype(str) == pick]
        cols = [c for c in wide.columns if c.startswith("u")]
        demand = rows[cols].to_numpy(dtype=float) / 100.0
        return demand, np.ones(demand.shape[0])
    if name == "google_gcd":
        long = _load("google_gcd")
        wide = long.pivot_table(index="vm", columns="t_index_5min", values="cpu_util_pct", observed=True)
        demand = wide.to_numpy(dtype=float) / 100.0
        return np.nan_to_num(demand), np.ones(demand.shape[0])
    if name == "bitbrains":
        f = _load("bitbrains")
        per_core = f["cpu_capacity_mhz"] / f["cpu_cores"]
        f = f.assign(cores=np.where(per_core > 0, f["cpu_usage_mhz"] / per_core, 0.0),
                     slot=(f["time_unix_s"] // 300).astype(np.int64))
        wide = f.pivot_table(index="vm", columns="slot", values="cores", aggfunc="mean")
        size = f.groupby("vm")["cpu_cores"].max().reindex(wide.index).to_numpy(dtype=float)
        covered = wide.notna().all(axis=0)
        wide = wide.loc[:, covered]
        keep = wide.to_numpy().sum(axis=1) > 0
        return wide.to_numpy(dtype=float)[keep], size[keep]
    raise InvalidParameter(f"name must be planetlab, bitbrains or google_gcd, got {name!r}")


def _has_registry():
    try:
        from .. import data  # noqa: F401

        return True
    except ImportError:
        return False


def google_vectors(quantile=0.95):
    """(cpu, memory) size of each Google VM: the ``quantile`` of its utilisation over the day, in nominal units."""
    long = _load("google_gcd")
    g = long.groupby("vm", observed=True)
    cpu = g["cpu_util_pct"].quantile(quantile).to_numpy() / 100.0
    mem = g["mem_util_pct"].quantile(quantile).to_numpy() / 100.0
    return cpu, mem


# --------------------------------------------------------------------------- packing kernels


@numba.njit(cache=True)
def _ffd_kernel(sizes, order, capacity):
    n = sizes.size
    assign = np.empty(n, np.int64)
    free = np.empty(n)
    bins = 0
    for k in range(n):
        i = order[k]
        s = sizes[i]
        b = 0
        while b < bins and free[b] + 1e-12 < s:
            b += 1
        if b == bins:
            free[b] = capacity
            bins += 1
        free[b] -= s
        assign[i] = b
    return assign, bins


def ffd_assign(sizes, capacity):
    """First fit decreasing of 1-D ``sizes`` into bins of ``capacity``: (bin of each item, bins used).

    Items larger than a bin get a bin of their own (an overloaded host).
    """
    s = np.ascontiguousarray(sizes, dtype=float)
    order = np.argsort(-s, kind="stable")
    return _ffd_kernel(s, order, float(capacity))


def _check(demand, nominal, host_cores):
    d = np.asarray(demand, dtype=float)
    if d.ndim != 2 or d.size == 0 or not np.all(np.isfinite(d)) or np.any(d < 0):
        raise InvalidParameter("demand must be a non-empty VMs x intervals array of finite numbers >= 0")
    nom = np.broadcast_to(np.asarray(nominal, dtype=float), (d.shape[0],))
    if not np.all(nom > 0):
        raise InvalidParameter("nominal sizes must be > 0")
    if not (isinstance(host_cores, (int, float)) and math.isfinite(host_cores) and host_cores > 0):
        raise InvalidParameter(f"host_cores must be a finite number > 0, got {host_cores!r}")
    if np.any(nom > host_cores):
        raise InvalidParameter(f"a VM's nominal size ({nom.max():g} cores) must fit on one host "
                               f"({host_cores:g} cores)")
    return d, nom


def _sla(loads, capacity):
    """Share of active host-intervals at 100 % (demand >= capacity) and mean utilisation of active hosts."""
    at_full = loads >= capacity * (1 - 1e-9)
    return float(at_full.mean()), float(np.minimum(loads, capacity).mean() / capacity)


def static_consolidation(demand, nominal, host_cores, overcommit) -> dict:
    """Static placement with overcommit ratio κ: reservations nominal/κ packed once by FFD.

    Returns ``{"hosts": hosts used, "slatah": share of host-intervals at
    100 % CPU, "utilization": mean CPU utilisation of the hosts}``.
    """
    d, nom = _check(demand, nominal, host_cores)
    if not (isinstance(overcommit, (int, float)) and overcommit >= 1):
        raise InvalidParameter(f"overcommit must be a number >= 1, got {overcommit!r}")
    assign, bins = ffd_assign(nom / overcommit, host_cores)
    loads = np.zeros((bins, d.shape[1]))
    np.add.at(loads, assign, d)
    slatah, util = _sla(loads, host_cores)
    return {"hosts": float(bins), "slatah": slatah, "utilization": util}


def dynamic_consolidation(demand, nominal, host_cores, threshold) -> dict:
    """Re-pack every interval by FFD on the previous interval's demand, hosts filled to ``threshold``.

    Returns ``{"hosts": mean active hosts, "slatah": share of active
    host-intervals at 100 % CPU, "utilization": mean utilisation}``.
    """
    d, _ = _check(demand, nominal, host_cores)
    if not (isinstance(threshold, (int, float)) and 0 < threshold <= 1):
        raise InvalidParameter(f"threshold must be in (0, 1], got {threshold!r}")
    steps = d.shape[1]
    hosts, full, util = [], [], []
    for t in range(steps):
        seen = d[:, max(t - 1, 0)]
        assign, bins = ffd_assign(np.minimum(seen, host_cores * threshold), host_cores * threshold)
        load = np.bincount(assign, weights=d[:, t], minlength=bins)
        hosts.append(bins)
        full.append(np.sum(load >= host_cores * (1 - 1e-9)))
        util.append(np.minimum(load, host_cores).sum() / host_cores)
    hosts = np.asarray(hosts, dtype=float)
    return {"hosts": float(hosts.mean()), "slatah": float(np.sum(full) / hosts.sum()),
            "utilization": float(np.sum(util) / hosts.sum())}


@numba.njit(cache=True)
def _vector_kernel(cpu, mem, order, cap_c, cap_m, policy):
    n = cpu.size
    free_c = np.empty(n)
    free_m = np.empty(n)
    assign = np.empty(n, np.int64)
    bins = 0
    for k in range(n):
        i = order[k]
        c = cpu[i]
        m = mem[i]
        best = -1
        score = 0.0
        for b in range(bins):
            if free_c[b] + 1e-12 < c or free_m[b] + 1e-12 < m:
                continue
            if policy == 0:
                best = b
                break
            if policy == 1:  # best fit: least normalised room left
                s = -((free_c[b] - c) / cap_c + (free_m[b] - m) / cap_m)
            else:  # dot product of demand and free capacity
                s = (c / cap_c) * (free_c[b] / cap_c) + (m / cap_m) * (free_m[b] / cap_m)
            if best < 0 or s > score + 1e-12:
                best = b
                score = s
        if best < 0:
            best = bins
            free_c[best] = cap_c
            free_m[best] = cap_m
            bins += 1
        free_c[best] -= c
        free_m[best] -= m
        assign[i] = best
    return assign, bins


def pack_vectors(cpu, mem, host_cpu, host_memory, policy="first_fit_decreasing") -> dict:
    """Pack VMs with (CPU, memory) sizes onto as few hosts as the policy finds; hosts open only when needed.

    Policies: ``first_fit`` (given order), ``first_fit_decreasing`` (by the
    larger of the two normalised sizes), ``best_fit_decreasing`` and
    ``dot_product`` (same order; among the open hosts the one with least
    normalised room left, or the largest dot product of normalised demand
    and free capacity; Panigrahy et al., "Heuristics for vector bin
    packing", 2011).

    Returns ``{"hosts": hosts used, "lower_bound": max over resources of
    ceil(sum / capacity), "assign": host of each VM}``.
    """
    c = np.ascontiguousarray(cpu, dtype=float)
    m = np.ascontiguousarray(mem, dtype=float)
    if c.shape != m.shape or c.ndim != 1 or np.any(c < 0) or np.any(m < 0):
        raise InvalidParameter("cpu and mem must be 1-D arrays of one length, >= 0 (no negative demand)")
    if np.any(c > host_cpu) or np.any(m > host_memory):
        raise InvalidParameter("a VM larger than every host cannot be packed")
    size = np.maximum(c / host_cpu, m / host_memory)
    codes = {"first_fit": 0, "first_fit_decreasing": 0, "best_fit_decreasing": 1, "dot_product": 2}
    if policy not in codes:
        raise InvalidParameter(f"policy must be one of {sorted(codes)}, got {policy!r}")
    order = np.arange(c.size) if policy == "first_fit" else np.argsort(-size, kind="stable")
    assign, bins = _vector_kernel(c, m, order, float(host_cpu), float(host_memory), codes[policy])
    lower = max(math.ceil(c.sum() / host_cpu - 1e-9), math.ceil(m.sum() / host_memory - 1e-9))
    return {"hosts": int(bins), "lower_bound": int(lower), "assign": assign}
