"""Queues with impatient customers: Erlang-A, the M/M/c+M queue (Palm 1943).

Jobs arrive as a Poisson stream at rate lambda, need exponential service at
rate mu on one of c servers (FCFS), and each has an exponential patience of
rate theta: a job still waiting when its patience runs out leaves unserved.
The number in system is a birth-death process with birth rate lambda and
death rate ``min(j, c) mu + (j - c)^+ theta`` in state j, stable for every
load because waiting jobs leave at a rate that grows with the queue.

Notation of Garnett, Mandelbaum & Reiman (2002) and Mandelbaum & Zeltyn
(2007): offered load a = lambda / mu, rho = lambda / (c mu), x = c mu / theta,
y = lambda / theta and

.. math:: A(x, y) = \\frac{x e^{y}}{y^{x}} \\gamma(x, y)
          = \\sum_{k \\ge 0} \\frac{y^k}{\\prod_{i=1}^{k} (x + i)},

with gamma the lower incomplete gamma function.  With B = B(c, a) Erlang's loss
formula, the probability that all servers are busy and the queue holds k jobs
is pi_{c+k} = pi_c t_k with t_k = y^k / prod_{i<=k} (x + i) and
pi_c = B / (1 + (A - 1) B), so

.. math:: P(W > 0) = \\frac{A B}{1 + (A - 1) B}, \\qquad
          E[Q] = \\pi_c \\sum_k k\\, t_k = \\pi_c\\,(x + A (y - x)), \\qquad
          P(Ab) = \\frac{\\theta E[Q]}{\\lambda} = \\theta E[W],

(the last two by Little's law and because waiting jobs abandon at rate theta
each), which is Garnett et al.'s
``P(Ab | W > 0) = 1 / (rho A) + 1 - 1 / rho``.  A job that finds k waiting
passes k + 1 stages; in stage m (m jobs ahead, itself included) the next
event comes at rate c mu + m theta and is its own abandonment with
probability theta / (c mu + m theta), so it is served with probability
``c mu / (c mu + (k + 1) theta)`` (the product telescopes) after a mean time
``sum_{m=1}^{k+1} 1 / (c mu + m theta)``; summing over k against pi_{c+k}
(PASTA) gives E[W; served], hence E[W | served] and E[W | abandoned].

The sums are evaluated term by term in log space (all terms positive, no
cancellation: ``x + A (y - x)`` cancels badly as theta -> 0), truncated where
the terms fall below e^-50 of the largest, so the result is exact to
rounding; as theta -> 0 with rho < 1 they tend to Erlang C (M/M/c), and for
theta = mu the chain is M/M/infinity (the number in system is
Poisson(lambda / mu)).

References
----------
C. Palm, "Intensitätsschwankungen im Fernsprechverkehr", Ericsson Technics 44
(1943).  O. Garnett, A. Mandelbaum and M. Reiman, "Designing a call center
with impatient customers", Manufacturing & Service Operations Management 4(3)
(2002) 208-227, section 3 and appendix.  A. Mandelbaum and S. Zeltyn, "The
M/M/n+G queue: summary of performance measures" (Technion note, 2007), the
M/M/n+M section.  L. Kleinrock, *Queueing Systems I* (1975), section 3.4
(M/M/infinity).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._validation import as_output, integer_array, positive
from ..errors import NoClosedForm
from .queues import _erlang_b_scalar

__all__ = ["MMcM", "erlang_a"]

#: terms below exp(-_TAIL) of the largest are dropped
_TAIL = 50.0
#: largest number of queue states summed before giving up
_MAX_TERMS = 1 << 24


def _erlang_a_scalar(lam: float, mu: float, c: int, theta: float) -> tuple:
    """(prob_wait, mean_queue_length, wait_served_sum, prob_served_waiting) for one parameter set.

    ``wait_served_sum`` is E[W; served] and ``prob_served_waiting`` is
    P(W > 0, served).
    """
    x, y = c * mu / theta, lam / theta
    b = _erlang_b_scalar(c, lam / mu)
    if b == 0.0:
        return 0.0, 0.0, 0.0, 0.0
    # log t_k = k log y - log prod_{i=1}^k (x + i); the largest term sits near k = y - x
    peak = max(y - x, 0.0)
    size = int(min(max(2.0 * peak + 64.0, 64.0), _MAX_TERMS))
    while True:
        k = np.arange(size + 1, dtype=float)
        # term by term, log(lambda / (c mu + i theta)): a difference of gammaln(x + k) would lose
        # log10(x) digits when theta is tiny
        log_t = np.concatenate(([0.0], np.cumsum(math.log(lam) - np.log(c * mu + k[1:] * theta))))
        top = float(log_t.max())
        if log_t[-1] < top - _TAIL and k[-1] > peak:
            break
        if size >= _MAX_TERMS:
            raise NoClosedForm(
                f"Erlang-A sums need more than {_MAX_TERMS} queue states for arrival_rate={lam}, "
                f"service_rate={mu}, servers={c}, abandonment_rate={theta}: patience far longer than the "
                "time the overload takes to build a queue")
        size = min(2 * size, _MAX_TERMS)
    w = np.exp(log_t - top)                        # t_k / e^top
    scaled_a = float(w.sum())                      # A / e^top
    # pi_c = B / (1 + (A - 1) B) = 1 / (1/B - 1 + A);  pi_c e^top = 1 / ((1/B - 1) e^-top + A e^-top)
    log_rest = math.log1p(-b) - math.log(b) - top if b < 1.0 else -math.inf
    pi_scaled = 1.0 / (math.exp(log_rest) + scaled_a) if log_rest < 700 else 0.0
    prob_wait = pi_scaled * scaled_a
    mean_queue = pi_scaled * float((k * w).sum())
    rates = c * mu + (k + 1.0) * theta              # c mu + (k+1) theta, k = jobs ahead
    stage_time = np.cumsum(1.0 / rates)             # sum_{m=1}^{k+1} 1 / (c mu + m theta)
    served = c * mu / rates
    prob_served_waiting = pi_scaled * float((w * served).sum())
    wait_served = pi_scaled * float((w * served * stage_time).sum())
    return prob_wait, mean_queue, wait_served, prob_served_waiting


_vectorised = np.vectorize(_erlang_a_scalar, otypes=[float, float, float, float])


@dataclass(frozen=True, eq=False)
class MMcM:
    """Erlang-A: the M/M/c+M queue (Poisson arrivals, exponential service and patience, c servers, FCFS).

    A job that has not started service when its exponential patience (rate
    ``abandonment_rate`` = 1 / mean patience) runs out leaves.  Formulas and
    sources in the module docstring (Garnett, Mandelbaum & Reiman 2002;
    Mandelbaum & Zeltyn 2007).  Exact; stable at every load.  All parameters
    broadcast.

    Parameters
    ----------
    arrival_rate, service_rate : float or array_like
        lambda > 0 and mu > 0 (per server).
    servers : int or array_like of int
        c >= 1.
    abandonment_rate : float or array_like
        theta > 0.

    Attributes
    ----------
    prob_wait : P(W > 0), the share of arrivals that find every server busy.
    abandonment_probability : P(Ab) = theta E[W].
    mean_wait : E[W] over all arrivals (an abandoning job waits its patience).
    mean_wait_served, mean_wait_abandoned : E[W | served], E[W | abandoned]
        (mean_wait_abandoned is NaN where P(Ab) = 0).
    mean_queue_length : E[Q] = lambda E[W].
    throughput : served per unit time, lambda (1 - P(Ab)).
    utilization : throughput / (c mu).
    mean_number : E[Q] + throughput / mu.
    mean_response : time in system over all arrivals, E[W] + (1 - P(Ab)) / mu
        (= mean_number / lambda, Little's law).

    Examples
    --------
    >>> q = MMcM(arrival_rate=2.0, service_rate=1.0, servers=2, abandonment_rate=1.0)
    >>> round(q.abandonment_probability, 12) == round(q.mean_wait * 1.0, 12)
    True
    >>> q.utilization < 1.0
    True
    """

    arrival_rate: object
    service_rate: object
    servers: object
    abandonment_rate: object

    exact = True

    def __post_init__(self):
        lam = positive("arrival_rate", self.arrival_rate)
        mu = positive("service_rate", self.service_rate)
        c = integer_array("servers", self.servers, minimum=1)
        theta = positive("abandonment_rate", self.abandonment_rate)
        for name, value in (("arrival_rate", lam), ("service_rate", mu), ("servers", c),
                            ("abandonment_rate", theta)):
            object.__setattr__(self, name, value)
        lam_b, mu_b, c_b, theta_b = np.broadcast_arrays(lam, mu, c, theta)
        prob_wait, queue, wait_served, served_waiting = _vectorised(lam_b, mu_b, c_b, theta_b)
        wait = queue / lam_b
        abandon = theta_b * wait
        no_abandon = abandon <= 0
        with np.errstate(divide="ignore", invalid="ignore"):
            wait_abandoned = np.where(no_abandon, np.nan, (wait - wait_served) / abandon)
        object.__setattr__(self, "_v", {
            "prob_wait": prob_wait, "mean_queue_length": queue, "mean_wait": wait,
            "abandonment_probability": abandon,
            "mean_wait_served": wait_served / (1.0 - abandon),
            "mean_wait_abandoned": wait_abandoned,
            "prob_served": (1.0 - prob_wait) + served_waiting,
            "throughput": lam_b * (1.0 - abandon),
            "utilization": lam_b * (1.0 - abandon) / (c_b * mu_b),
            "mean_number": queue + lam_b * (1.0 - abandon) / mu_b,
            "mean_response": wait + (1.0 - abandon) / mu_b,
        })

    def _get(self, name):
        return as_output(self._v[name])

    prob_wait = property(lambda self: self._get("prob_wait"), doc="P(W > 0).")
    abandonment_probability = property(lambda self: self._get("abandonment_probability"),
                                       doc="P(Ab) = theta E[W].")
    mean_wait = property(lambda self: self._get("mean_wait"), doc="E[W] over all arrivals.")
    mean_wait_served = property(lambda self: self._get("mean_wait_served"), doc="E[W | served].")
    mean_wait_abandoned = property(lambda self: self._get("mean_wait_abandoned"),
                                   doc="E[W | abandoned] (NaN where nobody abandons).")
    mean_queue_length = property(lambda self: self._get("mean_queue_length"), doc="E[Q] = lambda E[W].")
    throughput = property(lambda self: self._get("throughput"), doc="Served per unit time.")
    utilization = property(lambda self: self._get("utilization"), doc="Busy share of each server.")
    mean_number = property(lambda self: self._get("mean_number"), doc="Mean number in system.")
    mean_response = property(lambda self: self._get("mean_response"),
                             doc="Mean time in system over all arrivals (served or not).")
    prob_served = property(lambda self: self._get("prob_served"),
                           doc="P(served), summed state by state: equals 1 - P(Ab) (a check).")


def erlang_a(servers, offered_load, patience_ratio):
    """Erlang-A probability of abandonment, P(Ab), in the units of the service time.

    Parameters
    ----------
    servers : int or array_like of int
        c >= 1.
    offered_load : float or array_like
        a = lambda / mu > 0 (any value: abandonment keeps the queue stable).
    patience_ratio : float or array_like
        theta / mu = mean service time / mean patience, > 0.

    Returns
    -------
    float or numpy.ndarray
        P(Ab) of :class:`MMcM` with service rate 1.

    Examples
    --------
    >>> from scipy.stats import poisson
    >>> # theta = mu: M/M/infinity, P(Ab) = E[(N - c)^+] / a with N ~ Poisson(a)
    >>> c, a = 3, 2.0
    >>> exact = sum((j - c) * float(poisson.pmf(j, a)) for j in range(c, 200)) / a
    >>> abs(erlang_a(c, a, 1.0) - exact) < 1e-15
    True
    """
    return MMcM(offered_load, 1.0, servers, patience_ratio).abandonment_probability
