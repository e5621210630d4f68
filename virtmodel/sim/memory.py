"""Memory overcommit over time: the idle memory tax sets targets, the balloon and swapping reclaim.

A host of ``memory`` machine memory runs VMs with configured sizes L_i
(what the guest sees), reservations, shares S_i and working sets W_i(t)
that change over time.  Each step (Waldspurger, "Memory resource management
in VMware ESX Server", OSDI 2002, §3-§5):

1. the reclamation *target* of each VM is the idle-memory-tax allocation
   P*_i (:func:`virtmodel.analytic.allocation.idle_memory_tax`) for the
   current working sets; nothing is reclaimed while Σ L_i fits;
2. the *balloon* driver in the guest inflates toward L_i − P*_i (the guest
   gives up the pages it can spare; its own paging decides which), at most
   ``balloon_rate`` per step and at most ``max_balloon`` x L_i in all (ESX's
   default cap is 65 %), and deflates as the target rises;
3. what the balloon has not reclaimed yet the hypervisor *swaps*:
   X_i = max(0, L_i − B_i − P*_i) guest pages lose their backing,
   chosen at random (ESX swaps randomly, as it cannot see the guest's LRU).

A VM's working-set pages are then missing with probability

.. math:: m_i = 1 - \\Bigl(1 - \\frac{X_i}{L_i - B_i}\\Bigr)\\,
          \\min\\Bigl(1, \\frac{L_i - B_i}{W_i}\\Bigr),

the first factor the hypervisor's random swapping, the second the guest's
own paging when the balloon leaves it less than its working set.  With
``accesses_per_unit`` working-set page touches per unit of work, each miss
costing ``swap_latency``, work is slowed by ``1 + accesses x m_i x
swap_latency`` (the swapping latency penalty).

Modelled: targets by shares and the idle tax, the balloon's rate and cap,
random hypervisor swapping, guest paging below the working set.  Simplified:
working sets are known exactly (ESX estimates them by sampling), one step
per measurement interval, a miss costs one fixed latency.  Missing: page
sharing, compression, the ESX free-memory states (high/soft/hard/low) that
choose between ballooning and swapping, swap-in prefetch.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..analytic.allocation import idle_memory_tax
from ..errors import InvalidParameter

__all__ = ["simulate_memory"]


def simulate_memory(memory, sizes, working_sets, shares=None, reservations=None, tax_rate=0.75,
                    balloon_rate=math.inf, max_balloon=0.65, accesses_per_unit=0.0,
                    swap_latency=0.0) -> pd.DataFrame:
    """Run the reclamation loop over the working-set series; one row per VM and step.

    Parameters
    ----------
    memory : float
        Machine memory of the host, > 0.
    sizes : array_like
        Configured memory L_i of each VM (>= its reservation).
    working_sets : array_like
        VMs x steps array of working sets, 0 <= W_i(t) <= L_i.
    shares, reservations : array_like, optional
        Memory shares (default 1) and reservations (default 0; their sum
        must fit in ``memory``).
    tax_rate : float
        Idle memory tax τ in [0, 1).
    balloon_rate : float
        Most memory one balloon inflates or deflates per step (> 0).
    max_balloon : float
        Largest balloon as a fraction of L_i, in [0, 1].
    accesses_per_unit, swap_latency : float
        Working-set page touches per unit of work and the cost of one miss.

    Returns
    -------
    pandas.DataFrame
        Columns ``step, vm, working_set, target, balloon, swapped, miss, slowdown``.

    Examples
    --------
    Two 1,000-MB VMs on 1,200 MB; VM 1's working set grows from 200 to
    800 MB.  With an instant balloon nothing is swapped:

    >>> w = [[200, 800], [300, 300]]
    >>> out = simulate_memory(1200, [1000, 1000], w)
    >>> out[out.step == 1].swapped.tolist()
    [0.0, 0.0]
    """
    mem = float(memory)
    if not (math.isfinite(mem) and mem > 0):
        raise InvalidParameter(f"memory must be a finite number > 0, got {memory!r}")
    size = np.atleast_1d(np.asarray(sizes, dtype=float))
    if size.ndim != 1 or not np.all(np.isfinite(size)) or np.any(size <= 0):
        raise InvalidParameter(f"sizes must be a 1-D array of finite numbers > 0, got {sizes!r}")
    ws = np.asarray(working_sets, dtype=float)
    if ws.ndim != 2 or ws.shape[0] != size.size or ws.shape[1] == 0:
        raise InvalidParameter(f"working_sets must be a VMs x steps array with {size.size} rows, got shape {ws.shape}")
    if not np.all(np.isfinite(ws)) or np.any(ws < 0):
        raise InvalidParameter("working_sets must be finite and >= 0 (no negative demand)")
    if np.any(ws > size[:, None] * (1 + 1e-12)):
        raise InvalidParameter("working_sets must not exceed the VM's configured size")
    res = np.zeros(size.size) if reservations is None else np.asarray(reservations, dtype=float)
    if np.any(res > size):
        i = int(np.argmax(res > size))
        raise InvalidParameter(f"sizes[{i}] = {size[i]!r} (the VM's limit) must be >= reservations[{i}] ({res[i]!r})")
    if not (balloon_rate > 0):
        raise InvalidParameter(f"balloon_rate must be > 0, got {balloon_rate!r}")
    if not (0 <= max_balloon <= 1):
        raise InvalidParameter(f"max_balloon must be in [0, 1], got {max_balloon!r}")
    if accesses_per_unit < 0 or swap_latency < 0:
        raise InvalidParameter("accesses_per_unit and swap_latency must be >= 0")
    shares = np.ones(size.size) if shares is None else shares
    balloon = np.zeros(size.size)
    rows = []
    for t in range(ws.shape[1]):
        w = ws[:, t]
        target = idle_memory_tax(mem, shares, w, tax_rate, reservations=res, limits=size)
        want = np.clip(size - target, 0.0, max_balloon * size)
        step = np.clip(want - balloon, -balloon_rate, balloon_rate)
        balloon = balloon + step
        usable = size - balloon
        swapped = np.maximum(0.0, usable - target)
        backed = 1 - np.divide(swapped, usable, out=np.ones_like(usable), where=usable > 0)
        resident = backed * np.minimum(1.0, np.divide(usable, w, out=np.ones_like(w), where=w > 0))
        miss = np.where(w > 0, 1 - resident, 0.0)
        slowdown = 1 + accesses_per_unit * miss * swap_latency
        for i in range(size.size):
            rows.append((t, i, w[i], target[i], balloon[i], swapped[i], miss[i], slowdown[i]))
    return pd.DataFrame(rows, columns=["step", "vm", "working_set", "target", "balloon", "swapped", "miss",
                                       "slowdown"])
