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

__all__ = ["BootStormModel", "CREATE", "CONFIGURE", "BOOT"]

#: system random-source ids of the three stages
CREATE, CONFIGURE, BOOT = 100, 101, 102


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
