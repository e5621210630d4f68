"""Random streams for the simulator: one Generator per source, drawn in blocks.

Seeds follow one rule everywhere: ``SeedSequence(seed)`` is spawned per
replication and then per random source.  The spawn keys are written out
explicitly (``spawn_key=(replication, ...)``), which is what
``SeedSequence(seed).spawn(R)[r].spawn(...)`` produces, but without
depending on how many children an object has already spawned.  That makes a
replication's numbers a function of ``(seed, replication)`` alone, whatever
process or worker runs it.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

__all__ = ["BLOCK", "vm_rng", "system_rng", "draws", "draw_n"]

#: how many numbers a stream draws from numpy at a time
BLOCK = 4096

_VM, _SYSTEM = 0, 1
ARRIVAL, SERVICE, LIFECYCLE, PATIENCE = 0, 1, 2, 3


def _entropy(seed):
    if isinstance(seed, np.random.SeedSequence):
        return seed.entropy
    return seed


def vm_rng(seed, replication: int, vm_index: int, source: int) -> np.random.Generator:
    """Generator of ``source`` (ARRIVAL or SERVICE) of VM ``vm_index`` in ``replication``."""
    ss = np.random.SeedSequence(_entropy(seed), spawn_key=(replication, _VM, vm_index, source))
    return np.random.default_rng(ss)


def system_rng(seed, replication: int, source: int) -> np.random.Generator:
    """Generator of a system-wide source (switch costs, clock noise, ...) in ``replication``."""
    ss = np.random.SeedSequence(_entropy(seed), spawn_key=(replication, _SYSTEM, source))
    return np.random.default_rng(ss)


def draws(dist, rng: np.random.Generator, block: int = BLOCK) -> Iterator[float]:
    """Endless iterator of floats from ``dist``, sampled ``block`` at a time.

    A :class:`~virtmodel.dists.Sequential` (a measured trace) is replayed
    instead, value by value, without touching ``rng``; unless it cycles the
    iterator ends with the trace.
    """
    replay = getattr(dist, "replay", None)
    if replay is not None:
        return replay()
    return _draws(dist, rng, block)


def _draws(dist, rng, block):
    sample = dist.sample
    while True:
        yield from sample(rng, block).tolist()


def draw_n(dist, rng: np.random.Generator, n: int, block: int = BLOCK) -> np.ndarray:
    """The first ``n`` numbers that :func:`draws` would give, as an array.

    Drawn in the same blocks, so the numbers are identical even for
    distributions whose sampler consumes the generator block-wise.
    """
    nblocks = -(-n // block)
    return np.concatenate([dist.sample(rng, block) for _ in range(max(nblocks, 1))])[:n]
