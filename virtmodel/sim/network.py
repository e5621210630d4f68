"""Exact simulation of packet flows through a network of FCFS single-server stations.

Every station is FCFS with one server, and a packet visits each station of
its path at most once.  Then a station's departures follow from the arrival
times at it, sorted, by Lindley's recursion
:math:`D_k = \\max(A_k, D_{k-1}) + S_k` -- no other state matters.  Two
engines use that:

* ``"events"`` (the reference, and ``"compiled"``, the same loop in numba): one heap of pending arrivals, processed in
  global time order; a packet's departure is fixed the moment it arrives
  (nothing arriving later can overtake it at an FCFS station).  Exact for
  any routes, including station graphs with cycles (a host's vswitch
  carries both directions, so two VMs talking across hosts form one).
* ``"vector"``: where the stations form an acyclic graph (feed-forward),
  stations are taken in topological order and each one's Lindley recursion
  is vectorised in numpy, :math:`D_k = C_k + \\max_{i\\le k}(A_i - C_{i-1})`
  with :math:`C_k` the cumulative service.  Packets merging from several
  upstream stations are ordered by arrival time (ties by packet index), as
  in the event engine, which gives the same packets, order and times
  (tested to 1e-9).

Randomness: ``SeedSequence(seed, spawn_key=(replication, flow, source))``,
one stream per flow and source (0 interarrivals, 1 packet sizes, 2 + k the
size drawn at hop k under ``service_times="independent"``), drawn in numpy
blocks; the same seed gives the same packets whatever the engine.

Output analysis: the horizon is ``packets / total rate``; arrivals are
generated 2 % beyond it so that packets arriving just before the horizon
meet their true competitors; the first ``warmup`` share of the horizon is
discarded.  Per replication: mean and 95th percentile of the end-to-end
delay of the packets arriving in the window, throughput (packets leaving
the network in the window per unit time), mean number in the network and
per-station utilization (time-integrals over the window); replications give
Student-t intervals (:func:`virtmodel.simulate`).
"""

from __future__ import annotations

import heapq
import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import VirtmodelWarning
from .compiled.kernels import _heap_pop, _heap_push, jit
from .streams import BLOCK, _entropy

__all__ = ["NetworkRun", "simulate_network", "network_metrics", "acyclic_order", "ENGINES"]

#: arrivals are generated this share beyond the horizon (edge effect at the end of the window)
_OVERRUN = 0.02
#: below this many measured packets of a flow in a replication, a VirtmodelWarning says so
_FEW_PACKETS = 100


@dataclass
class NetworkRun:
    """One replication's per-packet and per-visit record (flat arrays; visits in path order per packet)."""

    horizon: float
    window_start: float
    flow: np.ndarray          # per packet: flow index
    arrival: np.ndarray       # per packet: arrival at its first station
    exit: np.ndarray          # per packet: last departure plus trailing propagation
    offset: np.ndarray        # per packet: index of its first visit in the visit arrays
    station: np.ndarray       # per visit: station index
    service: np.ndarray       # per visit: service time
    latency: np.ndarray       # per visit: propagation after the station
    start: np.ndarray         # per visit: service start
    depart: np.ndarray        # per visit: departure
    engine: str


def _rng(seed, replication, flow, source):
    return np.random.default_rng(np.random.SeedSequence(_entropy(seed), spawn_key=(replication, flow, source)))


def _arrivals(law, rng, until):
    """Arrival times of a renewal process on [0, until), drawn in blocks."""
    times, last = [], 0.0
    while last < until:
        block = law.sample(rng, BLOCK)
        cum = last + np.cumsum(block)
        times.append(cum)
        last = float(cum[-1])
    t = np.concatenate(times)
    return t[t < until]


def _packets(scenario, seed, replication, until):
    """Per packet (sorted by arrival, ties by flow): flow, arrival and its visits' station/service/latency."""
    stations = {s.name: j for j, s in enumerate(scenario.stations())}
    per_flow = []
    for i, f in enumerate(scenario.flows):
        route = scenario._route(f.name)
        t = _arrivals(f.arrival, _rng(seed, replication, i, 0), until)
        n, hops = len(t), len(route)
        if scenario.service_times == "packet" or hops == 1:
            size = np.asarray(f.size.sample(_rng(seed, replication, i, 1), n), float)
            sizes = np.repeat(size[:, None], hops, axis=1)
        else:
            sizes = np.column_stack([f.size.sample(_rng(seed, replication, i, 2 + k), n) for k in range(hops)])
        band = np.array([s.bandwidth for s, _ in route])
        over = np.array([s.overhead for s, _ in route])
        svc = over + sizes / band
        st = np.array([stations[s.name] for s, _ in route])
        lat = np.array([lat for _, lat in route])
        per_flow.append((t, svc, st, lat))
    arrival = np.concatenate([t for t, *_ in per_flow])
    flow = np.concatenate([np.full(len(t), i) for i, (t, *_) in enumerate(per_flow)])
    order = np.lexsort((flow, arrival))
    hops = np.concatenate([np.full(len(t), len(st)) for t, _, st, _ in per_flow])[order]
    offset = np.concatenate(([0], np.cumsum(hops)[:-1]))
    # visits in packet order, each packet's visits in path order
    flow_sorted = flow[order]
    within = np.concatenate([np.arange(len(t)) for t, *_ in per_flow])[order]
    service = np.empty(int(hops.sum()))
    station = np.empty(int(hops.sum()), dtype=np.int64)
    latency = np.empty(int(hops.sum()))
    for i, (_, svc, st, lat) in enumerate(per_flow):
        mine = np.flatnonzero(flow_sorted == i)
        idx = offset[mine][:, None] + np.arange(len(st))[None, :]
        service[idx] = svc[within[mine]]
        station[idx] = st[None, :]
        latency[idx] = lat[None, :]
    return flow_sorted, arrival[order], hops, offset, station, service, latency


def _events(arrival, offset, last, station, service, latency, n_stations):
    """The reference engine: arrivals in global time order from one heap; returns (start, depart) per visit.

    A pending arrival is (time, visit index); visits are numbered packet by
    packet in path order, so ties go to the lower packet, as in every engine.
    """
    n = len(arrival)
    start = [0.0] * len(service)
    depart = [0.0] * len(service)
    free = [0.0] * n_stations
    arr, off, end_of = arrival.tolist(), offset.tolist(), last.tolist()
    st, svc, lat = station.tolist(), service.tolist(), latency.tolist()
    heap: list = []
    pop, push = heapq.heappop, heapq.heappush
    k = 0
    while k < n or heap:
        if heap and (k >= n or heap[0] < (arr[k], off[k])):
            t, v = pop(heap)
        else:
            t, v = arr[k], off[k]
            k += 1
        s = st[v]
        b = free[s]
        begin = t if t > b else b
        end = begin + svc[v]
        free[s] = end
        start[v] = begin
        depart[v] = end
        if not end_of[v]:
            push(heap, (end + lat[v], v + 1))
    return np.array(start), np.array(depart)


@jit
def _events_compiled(arrival, offset, last, station, service, latency, n_stations):  # pragma: no cover (numba)
    """:func:`_events` compiled with numba: the same heap order, the same floating-point operations."""
    n = arrival.size
    start = np.empty(service.size)
    depart = np.empty(service.size)
    free = np.zeros(n_stations)
    hk = np.empty(n)
    hj = np.empty(n, dtype=np.int64)
    m = 0
    k = 0
    while k < n or m > 0:
        if m > 0 and (k >= n or hk[0] < arrival[k] or (hk[0] == arrival[k] and hj[0] < offset[k])):
            t = hk[0]
            v, m = _heap_pop(hk, hj, m)
        else:
            t = arrival[k]
            v = offset[k]
            k += 1
        s = station[v]
        b = free[s]
        begin = t if t > b else b
        end = begin + service[v]
        free[s] = end
        start[v] = begin
        depart[v] = end
        if not last[v]:
            m = _heap_push(hk, hj, m, end + latency[v], v + 1)
    return start, depart


def acyclic_order(scenario):
    """Station indices in a topological order of the station graph, or None if it has a cycle."""
    stations = {s.name: j for j, s in enumerate(scenario.stations())}
    succ = {j: set() for j in stations.values()}
    indeg = dict.fromkeys(stations.values(), 0)
    for f in scenario.flows:
        path = [stations[s] for s in scenario.path(f.name)]
        for a, b in zip(path[:-1], path[1:], strict=True):
            if b not in succ[a]:
                succ[a].add(b)
                indeg[b] += 1
    ready = sorted(j for j, d in indeg.items() if d == 0)
    order = []
    while ready:
        j = ready.pop(0)
        order.append(j)
        for b in sorted(succ[j]):
            indeg[b] -= 1
            if indeg[b] == 0:
                ready.append(b)
    return order if len(order) == len(stations) else None


def _vector(arrival, offset, last, station, service, latency, order):
    """Station by station in topological order, Lindley's recursion vectorised; returns (start, depart).

    Visits are numbered packet by packet, so sorting a station's visits by
    (arrival time, visit index) is the events engines' tie rule.
    """
    arrive = np.full(len(service), np.nan)
    arrive[offset] = arrival
    start = np.empty(len(service))
    depart = np.empty(len(service))
    for j in order:
        visits = np.flatnonzero(station == j)
        a = arrive[visits]
        srt = np.lexsort((visits, a))
        visits, a = visits[srt], a[srt]
        s = service[visits]
        cum = np.cumsum(s)
        d = cum + np.maximum.accumulate(a - (cum - s))
        start[visits] = d - s
        depart[visits] = d
        more = ~last[visits]
        arrive[visits[more] + 1] = d[more] + latency[visits[more]]
    return start, depart


ENGINES = ("auto", "events", "compiled", "vector")


def simulate_network(scenario, seed, replication, engine: str = "auto") -> NetworkRun:
    """One replication of ``scenario`` (a :class:`~virtmodel.network.NetworkScenario`).

    ``engine``: ``"events"`` (the reference, pure Python), ``"compiled"``
    (the same event loop in numba), ``"vector"`` (acyclic station graphs
    only) or ``"auto"`` (vector where the station graph is acyclic, compiled
    otherwise).  All give the same packets, order and times.
    """
    from ..errors import InvalidParameter

    if engine not in ENGINES:
        raise InvalidParameter(f"engine must be one of {list(ENGINES)}, got {engine!r}")
    total = sum(f.rate for f in scenario.flows)
    horizon = scenario.packets / total
    flow, arrival, hops, offset, station, service, latency = _packets(scenario, seed, replication,
                                                                      horizon * (1 + _OVERRUN))
    n_st = len(scenario.stations())
    last_visit = offset + hops - 1
    is_last = np.zeros(len(service), dtype=np.bool_)
    is_last[last_visit] = True
    order = acyclic_order(scenario) if engine in ("auto", "vector") else None
    if engine == "vector" and order is None:
        raise InvalidParameter("engine 'vector' needs an acyclic station graph; this scenario's has a cycle "
                               "(use 'events' or 'compiled')")
    if order is not None:
        start, depart = _vector(arrival, offset, is_last, station, service, latency, order)
        used = "vector"
    elif engine == "events":
        start, depart = _events(arrival, offset, is_last, station, service, latency, n_st)
        used = "events"
    else:
        start, depart = _events_compiled(arrival, offset.astype(np.int64), is_last, station, service, latency, n_st)
        used = "compiled"
    return NetworkRun(horizon, scenario.warmup * horizon, flow, arrival, depart[last_visit] + latency[last_visit],
                      offset, station, service, latency, start, depart, used)


def _overlap(lo, hi, a, b):
    return np.clip(np.minimum(hi, b) - np.maximum(lo, a), 0.0, None)


def network_metrics(scenario, run: NetworkRun) -> dict:
    """``{(metric, group): value}`` of one replication (see :mod:`virtmodel.network`)."""
    a, b = run.window_start, run.horizon
    length = b - a
    out = {}
    means = {}
    for i, f in enumerate(scenario.flows):
        mine = run.flow == i
        measured = mine & (run.arrival >= a) & (run.arrival < b)
        resp = run.exit[measured] - run.arrival[measured]
        if resp.size < _FEW_PACKETS:
            warnings.warn(f"flow {f.name!r} had {resp.size} packets in the measured window of a replication "
                          f"(fewer than {_FEW_PACKETS}): its estimates are unreliable (NaN when none); raise "
                          f"packets (now {scenario.packets}) or the flow's rate", VirtmodelWarning, stacklevel=2)
        means[f.name] = float(np.mean(resp)) if resp.size else float("nan")
        out["mean_response", f.name] = means[f.name]
        out["p95_response", f.name] = float(np.quantile(resp, 0.95)) if resp.size else float("nan")
        out["throughput", f.name] = float(np.count_nonzero(mine & (run.exit >= a) & (run.exit < b)) / length)
        out["mean_number", f.name] = float(np.sum(_overlap(run.arrival[mine], run.exit[mine], a, b)) / length)
    busy = np.bincount(run.station, weights=_overlap(run.start, run.depart, a, b),
                       minlength=len(scenario.stations())) / length
    for j, s in enumerate(scenario.stations()):
        out["utilization", s.name] = float(busy[j])
    for req, rep in scenario.sync:
        asym = means[req] - means[rep]
        out["delay_asymmetry", f"{req}/{rep}"] = asym
        out["sync_offset_error", f"{req}/{rep}"] = asym / 2
    return out
