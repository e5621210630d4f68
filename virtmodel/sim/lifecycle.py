"""The simpy model of a boot storm: N VMs are created, configured and booted.

One process per VM (a boot storm has few VMs and no steady state):
create -> configure -> acquire one of ``slots`` boot slots (a
:class:`simpy.Resource`, FIFO in the order the VMs become ready) -> boot ->
release.  The makespan is the time the last VM finishes booting.

Random numbers: one Generator per stage, from
:func:`virtmodel.sim.streams.system_rng` (``SeedSequence(seed,
spawn_key=(replication, 1, source))``), each drawing the N values of its
stage in one block; VM i takes the i-th value.  A replication's makespan is
therefore a function of (seed, replication) alone.
"""

from __future__ import annotations

import numpy as np
import simpy

from .streams import system_rng

__all__ = ["BootStormModel", "CREATE", "CONFIGURE", "BOOT", "link_completion_times", "install_replication",
           "bring_up_replication", "provisioning_replication"]

#: system random-source ids of the three stages
CREATE, CONFIGURE, BOOT = 100, 101, 102
#: random-source ids of the issue-16 stages: image sizes, module loads, on-demand overheads, inits
IMAGE, LOAD, OVERHEAD, INIT = 103, 104, 105, 106


class BootStormModel:
    """One replication of a :class:`virtmodel.BootStorm`.

    Parameters
    ----------
    storm : virtmodel.BootStorm
    seed : int
    replication : int

    Examples
    --------
    >>> from virtmodel import BootStorm
    >>> from virtmodel.dists import Deterministic
    >>> BootStormModel(BootStorm(4, Deterministic(1.0), slots=2), seed=1, replication=0).run()
    2.0
    """

    def __init__(self, storm, seed, replication):
        self.storm = storm
        self.env = simpy.Environment()
        n = storm.n_vms
        self.slots = simpy.Resource(self.env, capacity=n if storm.slots is None else min(storm.slots, n))
        zeros = np.zeros(n)
        self.create = zeros if storm.create is None else storm.create.sample(
            system_rng(seed, replication, CREATE), n)
        self.configure = zeros if storm.configure is None else storm.configure.sample(
            system_rng(seed, replication, CONFIGURE), n)
        self.boot = storm.boot.sample(system_rng(seed, replication, BOOT), n)
        self.booted = np.full(n, np.nan)

    def vm(self, i):
        """Process of VM ``i``: create, configure, wait for a boot slot, boot."""
        env = self.env
        yield env.timeout(self.create[i])
        yield env.timeout(self.configure[i])
        with self.slots.request() as slot:
            yield slot
            yield env.timeout(self.boot[i])
        self.booted[i] = env.now

    def run(self) -> float:
        """Run to the end and return the makespan."""
        for i in range(self.storm.n_vms):
            self.env.process(self.vm(i))
        self.env.run()
        return float(np.max(self.booted))


# ---------------------------------------------------------------------------
# installs over a shared link, host bring-up, provisioning (issue 16)
# ---------------------------------------------------------------------------


def link_completion_times(arrivals, sizes, bandwidth, slots=None, stream_bandwidth=None) -> np.ndarray:
    """Exact event-driven simulation of transfers on a shared link; returns each transfer's end.

    Transfer i arrives at ``arrivals[i]`` with ``sizes[i]`` to move.  At most
    ``slots`` run at once (FIFO by arrival, ties by index); the n running
    ones each move at min(bandwidth / n, stream_bandwidth).  Between events
    (an arrival or the next completion given the current number running)
    the rates are constant, so the simulation is exact: processor sharing,
    not a round robin with a small quantum.

    Examples
    --------
    >>> link_completion_times([0.0, 0.0, 0.0], [3.0, 1.0, 2.0], 1.0)
    array([6., 3., 5.])
    """
    arrivals = np.asarray(arrivals, float)
    sizes = np.asarray(sizes, float)
    n = sizes.size
    order = np.lexsort((np.arange(n), arrivals))
    k = n if slots is None else int(slots)
    cap = np.inf if stream_bandwidth is None else float(stream_bandwidth)
    left = sizes.copy()
    done = np.full(n, np.nan)
    running: list[int] = []
    queue_pos, nxt_arrival, t = 0, 0, 0.0
    queued: list[int] = []
    while queue_pos < n or running or queued:
        while nxt_arrival < n and arrivals[order[nxt_arrival]] <= t:
            queued.append(int(order[nxt_arrival]))
            nxt_arrival += 1
        while queued and len(running) < k:
            running.append(queued.pop(0))
            queue_pos += 1
        next_arrival = arrivals[order[nxt_arrival]] if nxt_arrival < n else np.inf
        if not running:
            t = next_arrival
            continue
        rate = min(bandwidth / len(running), cap)
        idx = np.array(running)
        rem = left[idx]
        first = int(np.argmin(rem))
        t_done = t + rem[first] / rate
        if next_arrival < t_done:  # an arrival first: everyone moves (next_arrival - t) * rate
            left[idx] = rem - (next_arrival - t) * rate
            t = next_arrival
            continue
        # the smallest finishes (and any equal to it, to rounding); no float drift can leave it running
        left[idx] = rem - rem[first]
        finished = left[idx] <= 1e-12 * sizes[idx]
        finished[first] = True
        t = t_done
        done[idx[finished]] = t
        running = [i for i, f in zip(running, finished, strict=True) if not f]
    return done


def _fifo_slots(ready, durations, slots) -> np.ndarray:
    """End times of jobs ready at ``ready`` on ``slots`` servers, FIFO by ready time (ties by index)."""
    n = len(durations)
    k = n if slots is None else min(int(slots), n)
    free = np.zeros(k)
    end = np.empty(n)
    for i in np.lexsort((np.arange(n), ready)):
        j = int(np.argmin(free))
        free[j] = max(free[j], ready[i]) + durations[i]
        end[i] = free[j]
    return end


def _sizes(install, n, rng) -> np.ndarray:
    s = install.sizes(n)
    return s.astype(float) if isinstance(s, np.ndarray) else s.sample(rng, n)


def _install_ends(install, starts, sizes) -> np.ndarray:
    if install.kind == "media":
        return starts + sizes / install.read_rate
    return link_completion_times(starts, sizes, install.bandwidth, install.slots, install.stream_bandwidth)


def install_replication(storm, seed, replication) -> np.ndarray:
    """Install end times of the N VMs of one replication of an :class:`virtmodel.InstallStorm`."""
    n = storm.n_vms
    sizes = _sizes(storm.install, n, system_rng(seed, replication, IMAGE))
    return _install_ends(storm.install, np.zeros(n), sizes)


def _init_time(host, times) -> float:
    from ..analytic.lifecycle import dag_levels, list_schedule

    comps = host.components
    if not comps:
        return 0.0
    if host.initialisation == "sequential" or host.cores == 1:
        return float(np.sum(times))
    index = {c.name: i for i, c in enumerate(comps)}
    if host.initialisation == "parallel":
        return float(list_schedule(times, [[index[p] for p in c.after] for c in comps], host.cores).max())
    total = 0.0
    for level in dag_levels({c.name: c.after for c in comps}):
        idx = [index[x] for x in level]
        total += float(list_schedule(times[idx], [[]] * len(idx), host.cores).max())
    return total


def bring_up_replication(host, seed, replication, needs=None):
    """One host bring-up: (host ready time, {vm: first-start delay})."""
    load = np.array([_one(m.load_time, seed, replication, LOAD, i) for i, m in enumerate(host.modules)])
    extra = np.zeros(len(host.modules)) if host.on_demand_overhead is None else host.on_demand_overhead.sample(
        system_rng(seed, replication, OVERHEAD), len(host.modules))
    init = np.array([_one(c.init_time, seed, replication, INIT, i) for i, c in enumerate(host.components)])
    static = set(host.static_modules)
    names = [m.name for m in host.modules]
    ready = float(sum(x for x, name in zip(load, names, strict=True) if name in static))
    ready += _init_time(host, init)
    index = {name: i for i, name in enumerate(names)}
    clock, loaded, delays = 0.0, {}, {}
    for vm_name, vm_needs in (host.vm_modules if needs is None else needs):
        for m in vm_needs:
            if m not in static and m not in loaded:
                clock += load[index[m]] + extra[index[m]]
                loaded[m] = clock
        delays[vm_name] = max((loaded[m] for m in vm_needs if m in loaded), default=0.0)
    return ready, delays


def _one(dist, seed, replication, source, i) -> float:
    """One draw for item i of a source: its own child stream, so adding items keeps earlier draws."""
    ss = np.random.SeedSequence(seed if not isinstance(seed, np.random.SeedSequence) else seed.entropy,
                                spawn_key=(replication, 1, source, i))
    return float(dist.sample(np.random.default_rng(ss), 1)[0])


def provisioning_replication(prov, seed, replication) -> dict:
    """One provisioning storm: the stage end times {"host", "configure", "install", "boot"} (last VM)."""
    n = prov.n_vms
    t0 = 0.0
    if prov.host is not None:
        ready, delays = bring_up_replication(prov.host, seed, replication, needs=(("storm", prov.needs),))
        t0 = ready + delays["storm"]
    else:
        ready = 0.0
    conf = np.zeros(n) if prov.configure is None else prov.configure.sample(
        system_rng(seed, replication, CONFIGURE), n)
    configured = t0 + conf
    if prov.install is None:
        installed = configured
    else:
        sizes = _sizes(prov.install, n, system_rng(seed, replication, IMAGE))
        installed = _install_ends(prov.install, configured, sizes)
    boots = prov.boot.sample(system_rng(seed, replication, BOOT), n)
    booted = _fifo_slots(installed, boots, prov.boot_slots)
    return {"host_ready": ready, "host": t0, "configure": float(configured.max()),
            "install": float(installed.max()), "boot": float(booted.max())}
