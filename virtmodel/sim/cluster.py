"""VM admission and placement on a cluster of hosts with CPU and memory capacities.

One pass over the requests in arrival order with a heap of departures: a
request frees nothing and takes nothing until it is placed; when it arrives,
every VM whose lifetime ended at or before that time has left.  A request
that fits on no host is *blocked* (lost, the Erlang loss convention), never
an error.  The loop is a numba kernel (the whole 410,276-request Azure V1
trace through 100 hosts takes well under a second; see
``benchmarks/bench_cluster.py``).

Placement policies (``POLICIES``), over the hosts with room for both the
CPU and the memory of the request:

* ``first_fit``: the lowest-numbered host;
* ``best_fit``: the host left with the least free capacity, measured as
  the sum of free CPU and free memory, each as a fraction of the host's
  capacity (ties: lowest number);
* ``worst_fit``: the host left with the most free capacity (same measure);
* ``first_fit_decreasing``: requests that arrive together (one batch:
  same arrival time) are sorted by decreasing size (the larger of the
  CPU and memory fractions of a host) and placed first fit; across batches
  it is first fit;
* ``dot_product``: the host maximising the alignment
  :math:`(c/C_h)(f^c_h/C_h) + (m/M_h)(f^m_h/M_h)` of the request's demand
  with the host's free capacity (Panigrahy et al., "Heuristics for vector
  bin packing", Microsoft Research 2011; Grandl et al., "Multi-resource
  packing for cluster schedulers" (Tetris), SIGCOMM 2014), a
  multi-resource policy that packs complementary VMs together.

Modelled: admission (blocking) and placement of CPU and memory
reservations, lifetimes, batches.  Not modelled: migration, overcommit of
the reservations, time-varying utilisation inside a VM (see the
consolidation study in notebook 05), failures.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["POLICIES", "place_requests", "batch_order"]

#: placement policy name -> kernel code
POLICIES = {"first_fit": 0, "best_fit": 1, "worst_fit": 2, "dot_product": 3, "first_fit_decreasing": 0}

_EPS = 1e-9


@numba.njit(cache=True)
def _heap_push(ht, hi, size, t, j):
    k = size
    ht[k] = t
    hi[k] = j
    while k > 0:
        parent = (k - 1) // 2
        if ht[parent] <= ht[k]:
            break
        ht[parent], ht[k] = ht[k], ht[parent]
        hi[parent], hi[k] = hi[k], hi[parent]
        k = parent
    return size + 1


@numba.njit(cache=True)
def _heap_pop(ht, hi, size):
    size -= 1
    ht[0] = ht[size]
    hi[0] = hi[size]
    k = 0
    while True:
        left = 2 * k + 1
        if left >= size:
            break
        small = left
        right = left + 1
        if right < size and ht[right] < ht[left]:
            small = right
        if ht[k] <= ht[small]:
            break
        ht[k], ht[small] = ht[small], ht[k]
        hi[k], hi[small] = hi[small], hi[k]
        k = small
    return size


@numba.njit(cache=True)
def _best_score(policy, c, m, free_c, free_m, inv_c, inv_m, inv_c2, inv_m2, scores):
    """Host with the highest score among those with room (-1: none); ties (within 1e-12) to the lowest index.

    Two passes, the first branch-free so that it vectorises: best fit scores minus the normalised free
    capacity left, worst fit plus it, dot product the alignment of demand and free capacity.
    """
    nh = free_c.size
    top = -np.inf
    for h in range(nh):
        fits = (free_c[h] + _EPS >= c) & (free_m[h] + _EPS >= m)
        if policy == 3:
            s = c * free_c[h] * inv_c2[h] + m * free_m[h] * inv_m2[h]
        else:
            s = (free_c[h] - c) * inv_c[h] + (free_m[h] - m) * inv_m[h]
            if policy == 1:
                s = -s
        s = s if fits else -np.inf
        scores[h] = s
        top = max(top, s)
    if top == -np.inf:
        return -1
    for h in range(nh):
        if scores[h] >= top - 1e-12:
            return h
    return -1


@numba.njit(cache=True)
def _kernel(times, cpu, mem, life, host_cpu, host_mem, policy, start):
    """Place every request; returns (host per request or -1, CPU-time integral and window after ``start``)."""
    n = times.size
    nh = host_cpu.size
    free_c = host_cpu.copy()
    free_m = host_mem.copy()
    inv_c = 1.0 / host_cpu
    inv_m = 1.0 / host_mem
    inv_c2 = inv_c * inv_c
    inv_m2 = inv_m * inv_m
    placed = np.full(n, -1, np.int64)
    scores = np.empty(nh)
    ht = np.empty(n)
    hi = np.empty(n, np.int64)
    size = 0
    used = 0.0
    area = 0.0
    t0 = times[start] if start < n else times[n - 1]
    last = t0
    for k in range(n):
        t = times[k]
        while size > 0 and ht[0] <= t:
            d = ht[0]
            j = hi[0]
            size = _heap_pop(ht, hi, size)
            if d > t0:
                area += used * (d - max(last, t0))
                last = d
            h = placed[j]
            free_c[h] += cpu[j]
            free_m[h] += mem[j]
            used -= cpu[j]
        if t > t0:
            area += used * (t - max(last, t0))
            last = t
        c = cpu[k]
        m = mem[k]
        if policy == 0:
            best = -1
            for h in range(nh):
                if free_c[h] + _EPS >= c and free_m[h] + _EPS >= m:
                    best = h
                    break
        else:
            best = _best_score(policy, c, m, free_c, free_m, inv_c, inv_m, inv_c2, inv_m2, scores)
        if best >= 0:
            placed[k] = best
            free_c[best] -= c
            free_m[best] -= m
            used += c
            size = _heap_push(ht, hi, size, t + life[k], k)
    end = times[n - 1]
    return placed, area, max(end - t0, 0.0)


def batch_order(times, cpu, mem, host_cpu, host_mem) -> np.ndarray:
    """Order of the requests for first-fit-decreasing: by time, and by decreasing size within a batch.

    Requests with the same arrival time form a batch; size is the larger of
    the CPU and memory fractions of the largest host.
    """
    size = np.maximum(cpu / np.max(host_cpu), mem / np.max(host_mem))
    return np.lexsort((-size, times))


def place_requests(times, cpu, mem, lifetimes, host_cpu, host_mem, policy="first_fit", warmup_requests=0):
    """Run the placement loop.

    Parameters
    ----------
    times : numpy.ndarray
        Arrival times, non-decreasing.
    cpu, mem, lifetimes : numpy.ndarray
        Per request: vCPUs, memory and lifetime (> 0).
    host_cpu, host_mem : numpy.ndarray
        Capacity of each host.
    policy : str
        One of :data:`POLICIES`.
    warmup_requests : int
        Requests at the start whose time is excluded from the utilization
        window (they are still placed).

    Returns
    -------
    (numpy.ndarray, float)
        Host of each request in the *given* order (-1: blocked) and the
        time-average CPU utilization of the cluster after the warm-up.
    """
    times = np.ascontiguousarray(times, dtype=float)
    cpu = np.ascontiguousarray(cpu, dtype=float)
    mem = np.ascontiguousarray(mem, dtype=float)
    lifetimes = np.ascontiguousarray(lifetimes, dtype=float)
    host_cpu = np.ascontiguousarray(host_cpu, dtype=float)
    host_mem = np.ascontiguousarray(host_mem, dtype=float)
    order = None
    if policy == "first_fit_decreasing":
        order = batch_order(times, cpu, mem, host_cpu, host_mem)
        if np.all(order == np.arange(order.size)):
            order = None
    if order is not None:
        placed_sorted, area, window = _kernel(times[order], cpu[order], mem[order], lifetimes[order],
                                              host_cpu, host_mem, POLICIES[policy], int(warmup_requests))
        placed = np.empty_like(placed_sorted)
        placed[order] = placed_sorted
    else:
        placed, area, window = _kernel(times, cpu, mem, lifetimes, host_cpu, host_mem, POLICIES[policy],
                                       int(warmup_requests))
    utilization = area / (window * host_cpu.sum()) if window > 0 else float("nan")
    return placed, float(utilization)
