"""Wake-up latency under Xen's credit scheduler: the always-BOOST reference model.

A latency-sensitive VM (one vCPU, Poisson arrivals, short jobs) shares one
pCPU with a CPU hog under :class:`~virtmodel.policies.Credit`.  Whenever its
vCPU wakes UNDER it is BOOSTed and preempts the hog (``__runq_tickle``),
except that the hog keeps the pCPU until it has run the rate limit R since it
was put there (``csched_schedule``).  :func:`boost_wakeup_response` is the
mean response of that VM if *every* wake-up were BOOSTed; :class:`BoostLatency`
is the scenario kind that compares it with the simulation of
:class:`virtmodel.sim.credit.CreditScheduler` (``virtmodel validate --area
hypervisor``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._lazy import lazy
from .._validation import positive
from ..errors import InvalidParameter, UnstableSystem

pd = lazy("pandas")

__all__ = ["boost_wakeup_response", "BoostLatency"]


def boost_wakeup_response(arrival_rate, job, ratelimit=0.001):
    r"""Mean response of a BOOSTed VM beside a hog: M/D/1 with a rate-limit setup (broadcasts).

    The hog is put on the pCPU when the latency VM's vCPU blocks, so when
    the next job arrives the hog has run for the idle period A ~ Exp(lambda)
    (memoryless Poisson arrivals); the BOOSTed vCPU waits the setup
    D = max(0, R - A).  With setup times started by an arrival to an empty
    system, the M/G/1 mean response is (Takagi, *Queueing Analysis* vol. 1,
    1991, §2.3; Harchol-Balter, *Performance Modeling and Design of Computer
    Systems*, 2013, ch. 27)

    .. math:: E[T] = s + \frac{\lambda s^2}{2(1-\rho)}
              + \frac{2E[D] + \lambda E[D^2]}{2(1 + \lambda E[D])},

    with :math:`E[D] = R - (1 - e^{-\lambda R})/\lambda` and
    :math:`E[D^2] = R^2 - 2R/\lambda + 2(1 - e^{-\lambda R})/\lambda^2`.
    Assumes every wake-up is BOOSTed and the latency vCPU is never
    descheduled while it has work (its busy periods are far shorter than a
    time slice); Xen's accounting occasionally leaves it OVER for a period
    (then wake-ups wait for the hog's slice), so the simulated mean lies
    above this value: a reference, not an exact result.

    Parameters
    ----------
    arrival_rate : array_like
        Poisson arrival rate of the latency VM's jobs, > 0.
    job : array_like
        Its (deterministic) job length, > 0, with arrival_rate x job < 1.
    ratelimit : array_like, default 0.001
        The credit scheduler's rate limit R, >= 0 (Xen: 1 ms).

    Examples
    --------
    >>> round(float(boost_wakeup_response(200.0, 0.001)) * 1e3, 4)   # ms
    1.2232
    >>> round(float(boost_wakeup_response(200.0, 0.001, ratelimit=0.0)) * 1e3, 4)  # plain M/D/1
    1.125
    """
    lam = np.asarray(positive("arrival_rate", arrival_rate), dtype=float)
    s = np.asarray(positive("job", job), dtype=float)
    r = np.asarray(ratelimit, dtype=float)
    if np.any(~np.isfinite(r)) or np.any(r < 0):
        raise InvalidParameter(f"ratelimit must be finite and >= 0, got {ratelimit!r}")
    rho = lam * s
    if np.any(rho >= 1):
        raise UnstableSystem(f"arrival_rate x job must be < 1, got utilization {rho!r}")
    e = np.exp(-lam * r)
    mean_d = r - (1 - e) / lam
    mean_d2 = r * r - 2 * r / lam + 2 * (1 - e) / lam ** 2
    out = s + lam * s * s / (2 * (1 - rho)) + (2 * mean_d + lam * mean_d2) / (2 * (1 + lam * mean_d))
    return out if out.ndim else float(out)


@dataclass(frozen=True)
class BoostLatency:
    """Scenario kind: a latency-sensitive VM beside a CPU hog on one pCPU under Xen's credit scheduler.

    The latency VM ``"lat"`` (one vCPU) gets Poisson jobs of fixed length
    ``job`` at ``arrival_rate``; the hog (one vCPU) always has work.  Time
    unit: seconds (Xen's defaults: 30 ms slice, 10 ms tick, 1 ms rate
    limit).  ``predict()`` gives :func:`boost_wakeup_response` (exact=False);
    ``replicate(seed, r)`` simulates ``horizon`` seconds and returns the
    latency VM's mean response after the first ``warmup`` fraction.

    Examples
    --------
    >>> kind = BoostLatency()
    >>> round(kind.predict().value("mean_response", "lat") * 1e3, 3)
    1.223
    """

    arrival_rate: float = 200.0
    job: float = 0.001
    horizon: float = 30.0
    warmup: float = 0.1

    def __post_init__(self):
        for name in ("arrival_rate", "job", "horizon"):
            object.__setattr__(self, name, float(positive(name, getattr(self, name))))
        if not 0 <= self.warmup < 1:
            raise InvalidParameter(f"warmup must lie in [0, 1), got {self.warmup!r}")
        if self.arrival_rate * self.job >= 1:
            raise UnstableSystem(f"arrival_rate x job must be < 1, got {self.arrival_rate * self.job!r}")

    def scenario(self):
        """The queueing Scenario simulated: ``lat`` and ``hog`` (offered load 2) on one pCPU, Credit()."""
        from .. import policies
        from ..dists import Deterministic, Exponential
        from ..scenario import VM, Scenario

        hog_job = 0.005
        return Scenario(1, [VM("lat", Exponential(self.arrival_rate), Deterministic(self.job), vcpus=1),
                            VM("hog", Exponential(2 / hog_job), Exponential(1 / hog_job), vcpus=1)],
                        policy=policies.Credit(), allow_overload=True)

    def predict(self):
        from .solve import Prediction

        value = boost_wakeup_response(self.arrival_rate, self.job, self.scenario().policy.ratelimit)
        values = pd.DataFrame([("mean_response", "lat", value)], columns=["metric", "group", "value"])
        return Prediction(values, False, "Xen credit1 BOOST: always-BOOST reference, M/D/1 with rate-limit setup",
                          "Takagi, Queueing Analysis vol. 1 (1991), §2.3 (M/G/1 with setup times); Xen "
                          "credit.c csched_unit_wake, __runq_tickle, csched_schedule (rate limit)")

    def replicate(self, seed, replication) -> dict:
        """``{("mean_response", "lat"): mean response after the warm-up}`` of one simulated run (on the
        compiled engine, which gives the simpy model's numbers, where it supports the scenario)."""
        from ..sim.compiled import CompiledEngine, supports
        from ..sim.vmm import Hypervisor

        scenario = self.scenario()
        hv = (CompiledEngine if supports(scenario) else Hypervisor)(scenario, seed, replication)
        hv.run_until(self.horizon)
        rec = hv.records()
        order = rec.order
        keep = order[(rec.vm[order] == 0) & (rec.arrival[order] > self.warmup * self.horizon)]
        return {("mean_response", "lat"): float(np.mean(rec.depart[keep] - rec.arrival[keep]))}
