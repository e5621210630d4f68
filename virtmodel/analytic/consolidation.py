"""Server consolidation: N VMs on dedicated pCPUs, pooled on shared pCPUs, or overcommitted.

N identical VMs, each with Poisson arrivals of rate lambda and exponential
service of rate mu (per-VM load rho = lambda / mu), run FCFS:

* **dedicated**: each VM pinned to its own pCPU, N independent M/M/1 queues:
  :math:`T_{ded} = 1/(\\mu - \\lambda)`;
* **pooled**: the N VMs share N pCPUs with no vCPU limit, one M/M/N queue of
  rate N lambda: :math:`T_{pool} = C(N, N\\rho)/(N\\mu - N\\lambda) + 1/\\mu`
  (Erlang C);
* **overcommitted**: N single-vCPU VMs on c < N pCPUs.  No closed form (the
  vCPU limit makes the system non-work-conserving); :func:`overcommit_lower_bound`
  gives :math:`\\max(1/(\\mu - \\lambda),\\ T_{M/M/c}(N\\lambda, \\mu))`: a VM
  never runs more than one job, and the pooled M/M/c has the largest possible
  departure rate :math:`\\min(n, c)\\mu` in every state.

The *consolidation gain* :math:`T_{ded} / T_{pool} \\ge 1` is the classical
economy of scale of resource pooling (Kleinrock, *Queueing Systems*, vol. II,
1976, §5.1 on the advantage of a single fast / shared facility; Harchol-Balter,
*Performance Modeling and Design of Computer Systems*, 2013, §14.7 on
M/M/k versus k M/M/1).  It grows with N and with the load: it tends to 1 as
rho -> 0 (nobody waits either way) and to N as rho -> 1 (both waits blow up
as 1/(1 - rho), the pooled one with N times the service capacity).  The scenario-level counterparts (with
simulation) are ``VM(vcpus=1)`` on ``Scenario(pcpus=N)`` (dedicated, exact via
:func:`virtmodel.predict`) and VMs without vCPU limits (pooled, M/M/c).

All functions broadcast over their arguments.

Examples
--------
>>> round(consolidation_gain(2, 0.5), 12)     # M/M/1: 2; M/M/2 at load 0.5: 4/3
1.5
"""

from __future__ import annotations

import numpy as np

from .._validation import as_output, integer_array, positive, probability
from ..errors import InvalidParameter
from .queues import MM1, MMc

__all__ = ["dedicated_response", "pooled_response", "consolidation_gain", "overcommit_lower_bound"]


def _args(n_vms, load, service_rate):
    n = integer_array("n_vms", n_vms, minimum=1)
    rho = probability("load", load, open_low=True)
    mu = positive("service_rate", service_rate)
    return n, rho, mu


def dedicated_response(n_vms, load, service_rate=1.0, unstable="raise"):
    """Mean response of N VMs each on its own pCPU (N x M/M/1): 1 / (mu - lambda).

    ``load`` is the per-VM utilization rho = lambda / mu in (0, 1].
    ``n_vms`` only broadcasts (the answer does not depend on it).
    """
    n, rho, mu = _args(n_vms, load, service_rate)
    resp = MM1(rho * mu, mu, unstable=unstable).mean_response
    return as_output(np.broadcast_to(resp, np.broadcast_shapes(n.shape, np.shape(resp))))


def pooled_response(n_vms, load, service_rate=1.0, unstable="raise"):
    """Mean response of N VMs pooled on N shared pCPUs (M/M/N with rate N lambda)."""
    n, rho, mu = _args(n_vms, load, service_rate)
    return MMc(n * rho * mu, mu, n, unstable=unstable).mean_response


def consolidation_gain(n_vms, load, service_rate=1.0):
    """T_dedicated / T_pooled: how much faster N VMs respond when their N pCPUs are pooled (>= 1).

    The ratio does not depend on ``service_rate`` (time scales out).

    Examples
    --------
    >>> import numpy as np
    >>> g = consolidation_gain(4, np.array([0.2, 0.5, 0.9]))
    >>> bool(np.all(np.diff(g) > 0)) and bool(g[0] > 1)
    True
    """
    return as_output(np.asarray(dedicated_response(n_vms, load, service_rate))
                     / np.asarray(pooled_response(n_vms, load, service_rate)))


def overcommit_lower_bound(n_vms, pcpus, load, service_rate=1.0):
    """Lower bound on the mean response of N single-vCPU VMs on ``pcpus`` < N pCPUs.

    :math:`\\max(1/(\\mu - \\lambda), T_{M/M/c}(N\\lambda, \\mu))` with
    :math:`\\lambda = \\rho\\mu`; requires N rho < c (stability of the host).

    Raises
    ------
    InvalidParameter
        If some ``pcpus`` exceeds ``n_vms`` (then the VMs are not overcommitted).
    UnstableSystem
        If N rho >= c.
    """
    n, rho, mu = _args(n_vms, load, service_rate)
    c = integer_array("pcpus", pcpus, minimum=1)
    if np.any(c > n):
        raise InvalidParameter(f"pcpus must be <= n_vms for overcommitted vCPUs, got pcpus={pcpus!r}, "
                               f"n_vms={n_vms!r}")
    own = np.asarray(MM1(rho * mu, mu).mean_response)
    pooled = np.asarray(MMc(n * rho * mu, mu, c).mean_response)
    return as_output(np.maximum(own, pooled))
