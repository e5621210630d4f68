"""VMs time-sliced on one pCPU as a cyclic polling system with world-switch (switchover) times.

The pCPU visits the VMs' FIFO queues in cyclic order 0, 1, ..., N-1, 0, ...
At a visit it serves queue i by its *discipline* and then pays the
switchover (world switch) ``R_i`` to move to queue i+1, whether or not there
was work: the pCPU never idles, it keeps cycling.  Queue i receives Poisson
arrivals of rate ``lambda_i`` whose jobs need ``S_i`` of CPU time.

Notation (Takagi 1986; Boxma & Groenendijk 1987): ``rho_i = lambda_i E[S_i]``,
``rho = sum rho_i``; ``R = R_0 + ... + R_{N-1}`` is the total switchover of one
cycle, ``r = E[R] = sum E[R_i]`` and, the switchovers being independent,
``E[R^2] = sum Var[R_i] + r^2``; ``W_0 = sum lambda_i E[S_i^2] / 2`` is the mean
residual work.  ``W_i`` is the mean wait of a queue-i job before its service
starts (the waits of polling theory are exactly ``mean_wait``).

Results (all exact under the assumptions: Poisson arrivals, i.i.d. service per
queue, independent switchovers, one server):

* **Stability** (Takagi 1986; survey: Boon, van der Mei & Winands,
  Surveys in OR and Management Science 16 (2011) 67-82): exhaustive and gated, ``rho < 1``; k-limited,
  ``rho + lambda_i r / k < 1`` for every queue i (a visit serves at most k
  jobs, so queue i needs ``lambda_i E[C] <= k`` jobs per cycle of mean
  length ``E[C] = r / (1 - rho)``).
* **Mean cycle time** ``E[C] = r / (1 - rho)`` for every discipline (flow
  balance: per cycle queue i brings ``rho_i E[C]`` of work).
* **Pseudo-conservation law** (Boxma & Groenendijk, "Pseudo-conservation laws
  in cyclic-service systems", J. Appl. Prob. 24 (1987) 949-964; Boxma,
  Queueing Systems 5 (1989) 185-214): from the work
  decomposition ``V = V_{M/G/1} + Y`` (work in the polling system = work in
  the M/G/1 queue with the same arrivals + work at an arbitrary epoch of a
  switchover interval),

  .. math:: \\sum_i \\rho_i W_i = \\frac{\\rho W_0}{1-\\rho} + \\rho\\frac{E[R^2]}{2r}
            + \\frac{r}{2(1-\\rho)}\\Bigl(\\rho^2 - \\sum_i \\rho_i^2\\Bigr) + Z,

  with ``Z = 0`` for exhaustive service and ``Z = r/(1-rho) sum rho_i^2`` for
  gated service.  For 1-limited service (Boxma & Meister, SIGMETRICS 1986;
  Boxma & Groenendijk 1987) the law weighs the waits:

  .. math:: \\sum_i \\rho_i\\Bigl(1 - \\frac{\\lambda_i r}{1-\\rho}\\Bigr) W_i
            = \\frac{\\rho W_0}{1-\\rho} + \\rho\\frac{E[R^2]}{2r}
            + \\frac{r}{2(1-\\rho)}\\Bigl(\\rho^2 + \\sum_i \\rho_i^2\\Bigr).

  For k-limited service with k >= 2 no exact law of this form exists (the
  discipline term involves unknown visit probabilities).
* **Symmetric systems** (every queue alike: ``lambda, E[S], E[S^2]`` and a
  switchover of mean ``r_1`` and variance ``delta^2`` per queue) have equal
  waits, so the law gives each one (Takagi 1986, ch. 4; Takagi, ACM
  Computing Surveys 20 (1988) 5-28), with ``rho = N lambda E[S]``:

  .. math:: W_{exh} = \\frac{\\delta^2}{2r_1} + \\frac{N\\lambda E[S^2] + r_1 (N - \\rho)}{2(1-\\rho)}, \\quad
            W_{gated} = \\frac{\\delta^2}{2r_1} + \\frac{N\\lambda E[S^2] + r_1 (N + \\rho)}{2(1-\\rho)},

  .. math:: W_{1-lim} = \\frac{\\delta^2}{2r_1}
            + \\frac{N\\lambda E[S^2] + r_1 (N + \\rho) + N\\lambda\\delta^2}{2(1 - \\rho - N\\lambda r_1)}.

  With N = 1 the exhaustive result is the M/G/1 queue with multiple
  vacations, ``W = lambda E[S^2]/(2(1-rho)) + E[V^2]/(2E[V])`` (Fuhrmann &
  Cooper 1985).

The mean waits of exhaustive and gated systems depend on the service and
switchover distributions only through their first two moments (Ferguson &
Aminetzah 1985; Takagi 1988), which is what "alike" means here; for 1-limited
service the queues must have equal service and switchover distributions.
Per-queue waits of an asymmetric system need a linear system of N^2 equations
(Ferguson & Aminetzah 1985; Winands, Adan & van Houtum 2006) and are not
implemented; :attr:`PollingSystem.work_weighted_wait` gives their exact
work-weighted mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import _fmt, positive_int
from ..dists import Distribution
from ..errors import InvalidParameter, NoClosedForm, UnstableSystem
from .scheduling import _moments, _PerClassRates, _rates, _services

__all__ = ["PollingSystem", "check_polling_stability"]

DISCIPLINES = ("exhaustive", "gated", "limited")

BOXMA_GROENENDIJK = ("Boxma & Groenendijk, 'Pseudo-conservation laws in cyclic-service systems', "
                     "J. Appl. Prob. 24 (1987) 949-964")
TAKAGI = "Takagi, Analysis of Polling Systems, MIT Press (1986); Takagi, ACM Comput. Surv. 20 (1988) 5-28"
STABILITY = ("Takagi (1986); Boon, van der Mei & Winands, 'Applications of polling systems', "
             "Surveys in OR and Management Science 16 (2011) 67-82")

# Relative tolerance for "the queues are alike" (symmetric system).
_SYMMETRY_RTOL = 1e-12


def _discipline(discipline, limit):
    if discipline not in DISCIPLINES:
        raise InvalidParameter(f"discipline must be 'exhaustive', 'gated' or 'limited', got {discipline!r}")
    if discipline == "limited":
        if limit is None:
            raise InvalidParameter("limit must be an integer >= 1 for discipline 'limited', got None")
        return positive_int("limit", limit)
    if limit is not None:
        raise InvalidParameter(f"limit must be None unless discipline is 'limited', got {limit!r}")
    return None


def check_polling_stability(arrival_rates, service_means, total_switchover_mean, discipline, limit=None,
                            names=None) -> None:
    """Raise :class:`UnstableSystem` unless the polling system has a steady state.

    Exhaustive and gated: ``rho < 1``.  k-limited: ``rho + lambda_i r / k < 1``
    for every queue i, with ``r`` the mean total switchover of a cycle
    (Takagi 1986; Boon, van der Mei & Winands 2011).  The
    condition depends on the arrival rates only, so it holds for renewal
    arrivals too (the simulator uses it).

    Parameters
    ----------
    arrival_rates, service_means : sequence of float
        Per queue.
    total_switchover_mean : float
        ``r = sum_i E[R_i]``.
    discipline : {"exhaustive", "gated", "limited"}
    limit : int or None
        k for ``"limited"``.
    names : sequence of str, optional
        Queue (VM) names for the message.

    Examples
    --------
    Load 0.6 is fine for exhaustive service, but 1-limited service needs
    0.6 + 0.3 * 0.5 / 1 = 0.75 < 1 (it is) and fails with a longer switch:

    >>> check_polling_stability([0.3, 0.3], [1.0, 1.0], 0.5, "limited", limit=1)
    >>> check_polling_stability([0.3, 0.3], [1.0, 1.0], 1.5, "limited", limit=1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    virtmodel.errors.UnstableSystem: k-limited polling (k = 1) needs rho + lambda_i E[R] / k < 1 ...
    """
    lam = np.asarray(arrival_rates, dtype=float)
    rho_i = lam * np.asarray(service_means, dtype=float)
    rho = float(rho_i.sum())
    if not rho < 1:
        raise UnstableSystem(
            f"{discipline} polling has no steady state: utilization rho = sum lambda_i E[S_i] must be < 1, "
            f"got rho = {rho:.6g}", utilization=rho)
    if discipline == "limited":
        need = rho + lam * total_switchover_mean / limit
        worst = int(np.argmax(need))
        if not need[worst] < 1:
            label = names[worst] if names is not None else worst
            raise UnstableSystem(
                f"k-limited polling (k = {limit}) needs rho + lambda_i E[R] / k < 1 for every queue i, "
                f"got {need[worst]:.6g} for queue {label!r} (rho = {rho:.6g}, lambda_i = {lam[worst]:.6g}, "
                f"E[R] = {total_switchover_mean:.6g})", utilization=rho)


def _close(values) -> bool:
    values = np.asarray(values, dtype=float)
    return bool(np.all(np.abs(values - values[0]) <= _SYMMETRY_RTOL * np.abs(values[0])))


@dataclass(frozen=True, eq=False)
class PollingSystem(_PerClassRates):
    """One pCPU cycling over N VM queues with switchover (world-switch) times; exact mean results.

    Parameters
    ----------
    arrival_rates : sequence of float
        Poisson arrival rate ``lambda_i`` of each queue, > 0.
    services : sequence of Distribution
        Service time ``S_i`` of each queue (only ``.mean`` and ``.moment(2)`` are used).
    switchovers : Distribution or sequence of Distribution
        Switchover ``R_i`` from queue i to queue i+1 (one per queue), or one
        distribution used for every switch.
    discipline : {"exhaustive", "gated", "limited"}, default "exhaustive"
    limit : int or None
        Jobs per visit (k >= 1) for ``"limited"``; None otherwise.

    Attributes (properties)
    -----------------------
    ``utilization`` / ``throughput`` (per queue, exact), ``overall_*``,
    ``mean_cycle``, ``pseudo_conservation`` (the right-hand side of the law),
    ``pseudo_conservation_weights``, ``work_weighted_wait``, ``symmetric``
    and, for symmetric systems, ``mean_wait``, ``mean_response``,
    ``mean_number``, ``mean_queue_length`` per queue.  See the module
    docstring for the formulas and their sources.

    Raises
    ------
    InvalidParameter
        Bad rates, distributions, discipline or limit.
    UnstableSystem
        ``rho >= 1`` (exhaustive, gated) or ``rho + lambda_i r / k >= 1`` for some
        queue (k-limited); the message names the condition.

    Examples
    --------
    Three alike VMs at total load 0.6, exponential service of mean 1 and a
    deterministic world switch of 0.1 per queue (Takagi's symmetric formula:
    0 + (3 * 0.2 * 2 + 0.1 * (3 - 0.6)) / (2 * 0.4) = 1.8):

    >>> from virtmodel.dists import Deterministic, Exponential
    >>> p = PollingSystem([0.2] * 3, [Exponential(1.0)] * 3, Deterministic(0.1))
    >>> round(p.mean_cycle, 12), p.mean_wait.round(12).tolist()
    (0.75, [1.8, 1.8, 1.8])
    >>> round(p.work_weighted_wait, 12)
    1.8
    """

    arrival_rates: object
    services: object
    switchovers: object
    discipline: str = "exhaustive"
    limit: int | None = None

    def __post_init__(self):
        limit = _discipline(self.discipline, self.limit)
        lam = _rates(self.arrival_rates)
        n = lam.size
        services = _services(self.services, n, need_distribution=False)
        sw = self.switchovers
        if isinstance(sw, Distribution):
            sw = (sw,) * n
        elif not hasattr(sw, "__iter__"):
            raise InvalidParameter(
                f"switchovers must be a Distribution or a sequence of them (one per queue), got {sw!r}")
        sw = tuple(sw)
        if len(sw) != n:
            raise InvalidParameter(
                f"switchovers must have one entry per queue ({n}, the length of arrival_rates), got {len(sw)}")
        for i, d in enumerate(sw):
            if not isinstance(d, Distribution):
                raise InvalidParameter(f"switchovers[{i}] must be a virtmodel.dists Distribution, got {d!r}")
        s1, s2 = _moments(services, 1), _moments(services, 2)
        if not np.all(np.isfinite(s2)):
            raise InvalidParameter(f"service second moments E[S_i^2] must be finite, got {_fmt(s2)}")
        r1 = np.array([d.mean for d in sw], dtype=float)
        rvar = np.array([d.variance for d in sw], dtype=float)
        if not np.all(np.isfinite(rvar)):
            raise InvalidParameter(f"switchover variances must be finite, got {_fmt(rvar)}")
        lam.flags.writeable = False
        set_ = object.__setattr__
        set_(self, "arrival_rates", lam)
        set_(self, "services", services)
        set_(self, "switchovers", sw)
        set_(self, "limit", limit)
        r = float(r1.sum())
        check_polling_stability(lam, s1, r, self.discipline, limit)
        set_(self, "_s1", s1)
        set_(self, "_s2", s2)
        set_(self, "_r1", r1)
        set_(self, "_rvar", rvar)
        set_(self, "_rho", lam * s1)
        set_(self, "_r", r)

    # -- basic quantities -------------------------------------------------------------
    @property
    def queues(self) -> int:
        """Number of queues (VMs), N."""
        return int(self.arrival_rates.size)

    @property
    def overall_utilization(self) -> float:
        """Share of time the pCPU does useful work, ``rho``; the rest, ``1 - rho``, is switching."""
        return float(self._rho.sum())

    @property
    def overall_throughput(self) -> float:
        """Total completions per unit time, ``sum lambda_i``."""
        return float(self.arrival_rates.sum())

    @property
    def total_switchover_mean(self) -> float:
        """``r = E[R] = sum_i E[R_i]``, the mean switchover time of a cycle."""
        return self._r

    @property
    def total_switchover_second_moment(self) -> float:
        """``E[R^2] = sum_i Var[R_i] + r^2`` (independent switchovers)."""
        return float(self._rvar.sum() + self._r**2)

    @property
    def mean_cycle(self) -> float:
        """Mean cycle time ``E[C] = r / (1 - rho)`` (Takagi 1986), any discipline."""
        return self._r / (1.0 - self.overall_utilization)

    # -- pseudo-conservation law ------------------------------------------------------
    def _law_unavailable(self) -> str | None:
        if self.discipline == "limited" and self.limit != 1:
            return (f"k-limited polling with k = {self.limit} has no exact pseudo-conservation law "
                    "(only k = 1 has one, Boxma & Groenendijk 1987)")
        return None

    @property
    def pseudo_conservation(self) -> float:
        """Right-hand side of the pseudo-conservation law (Boxma & Groenendijk 1987).

        ``sum_i w_i rho_i W_i`` with the weights :attr:`pseudo_conservation_weights`
        (all 1 for exhaustive and gated service).

        Raises
        ------
        NoClosedForm
            For k-limited service with k >= 2.
        """
        reason = self._law_unavailable()
        if reason:
            raise NoClosedForm(reason)
        rho = self.overall_utilization
        r = self._r
        w0 = float(np.sum(self.arrival_rates * self._s2)) / 2.0
        squares = float(np.sum(self._rho**2))
        base = rho * w0 / (1.0 - rho) + rho * self.total_switchover_second_moment / (2.0 * r)
        if self.discipline == "exhaustive":
            return base + r / (2.0 * (1.0 - rho)) * (rho**2 - squares)
        if self.discipline == "gated":
            return base + r / (2.0 * (1.0 - rho)) * (rho**2 - squares) + r / (1.0 - rho) * squares
        return base + r / (2.0 * (1.0 - rho)) * (rho**2 + squares)  # 1-limited

    @property
    def pseudo_conservation_weights(self) -> np.ndarray:
        """Weights ``w_i`` of the law ``sum_i w_i rho_i W_i = pseudo_conservation``.

        1 for exhaustive and gated service; ``1 - lambda_i r / (1 - rho)`` for
        1-limited service (positive exactly when the system is stable).
        """
        reason = self._law_unavailable()
        if reason:
            raise NoClosedForm(reason)
        if self.discipline == "limited":
            return self._readonly(1.0 - self.arrival_rates * self._r / (1.0 - self.overall_utilization))
        return self._readonly(np.ones(self.queues))

    @property
    def work_weighted_wait(self) -> float:
        """``sum_i rho_i W_i / rho``, the mean wait weighted by work (exact).

        Exhaustive and gated: the pseudo-conservation law divided by rho.
        1-limited: only where every queue has the same arrival rate (then the
        law's weights are all equal).

        Raises
        ------
        NoClosedForm
            k-limited with k >= 2, or 1-limited with unequal arrival rates.
        """
        weights = self.pseudo_conservation_weights
        if not _close(weights):
            raise NoClosedForm(
                "1-limited polling gives sum_i rho_i W_i exactly only when every queue has the same arrival "
                f"rate; the law weighs the queues by 1 - lambda_i r/(1 - rho) = {_fmt(weights)}")
        return float(self.pseudo_conservation / (weights[0] * self.overall_utilization))

    # -- symmetric systems ------------------------------------------------------------
    def _asymmetry(self) -> str | None:
        """Why the queues are not alike (None when they are)."""
        if self.discipline == "limited":
            if self.limit != 1:
                return f"k-limited polling with k = {self.limit} has no exact mean waits, even when symmetric"
            if len(set(self.services)) > 1 or len(set(self.switchovers)) > 1:
                return ("1-limited mean waits are exact here for symmetric systems only: every queue needs "
                        "the same service and switchover distribution")
        checks = (("arrival rates", self.arrival_rates), ("service means", self._s1),
                  ("service second moments", self._s2), ("switchover means", self._r1),
                  ("switchover variances", self._rvar))
        for what, values in checks:
            if not _close(values):
                return (f"per-queue mean waits are exact here for symmetric systems only, but the queues' "
                        f"{what} differ: {_fmt(values)}")
        return None

    @property
    def symmetric(self) -> bool:
        """Whether the queues are alike, so that the exact per-queue waits below apply."""
        return self._asymmetry() is None

    @property
    def mean_wait(self) -> np.ndarray:
        """Mean wait before service of each queue (symmetric systems; Takagi 1986, ch. 4).

        Raises
        ------
        NoClosedForm
            When the system is not symmetric (or is k-limited with k >= 2).
        """
        reason = self._asymmetry()
        if reason:
            raise NoClosedForm(reason)
        n = self.queues
        lam, es2 = float(self.arrival_rates[0]), float(self._s2[0])
        r1, delta2 = float(self._r1[0]), float(self._rvar[0])
        rho = self.overall_utilization
        residual = delta2 / (2.0 * r1)
        if self.discipline == "exhaustive":
            w = residual + (n * lam * es2 + r1 * (n - rho)) / (2.0 * (1.0 - rho))
        elif self.discipline == "gated":
            w = residual + (n * lam * es2 + r1 * (n + rho)) / (2.0 * (1.0 - rho))
        else:
            w = residual + (n * lam * es2 + r1 * (n + rho) + n * lam * delta2) / (
                2.0 * (1.0 - rho - n * lam * r1))
        return self._readonly(np.full(n, w))

    @property
    def mean_response(self) -> np.ndarray:
        """``W_i + E[S_i]`` per queue (symmetric systems)."""
        return self._readonly(self.mean_wait + self._s1)

    @property
    def mean_number(self) -> np.ndarray:
        """``lambda_i (W_i + E[S_i])`` per queue (Little's law; symmetric systems)."""
        return self._readonly(self.arrival_rates * self.mean_response)

    @property
    def mean_queue_length(self) -> np.ndarray:
        """``lambda_i W_i`` waiting jobs per queue (Little's law; symmetric systems)."""
        return self._readonly(self.arrival_rates * self.mean_wait)


# --------------------------------------------------------------------------- predict(Scenario)

from ..policies import Polling  # noqa: E402 - below the model, which needs no policy
from .solve import Prediction, _frame, solves  # noqa: E402


def _polling_model(scenario) -> PollingSystem:
    policy = scenario.policy
    bad = [v.name for v in scenario.vms if not v.poisson]
    if bad:
        raise NoClosedForm(f"Polling needs Poisson arrivals, but the arrivals of VM(s) {bad} are not Poisson")
    if scenario.capacity is not None:
        raise NoClosedForm(f"Polling is implemented for unlimited capacity only, got capacity={scenario.capacity}")
    if scenario.pcpus != 1:
        raise NoClosedForm(
            f"Polling has a closed form for one pCPU cycling over the VMs only, got pcpus={scenario.pcpus}")
    return PollingSystem([v.arrival_rate for v in scenario.vms], [v.service for v in scenario.vms],
                         policy.switchover, policy.discipline, policy.limit)


@solves(Polling)
def _polling(scenario) -> Prediction:
    """Polling on one pCPU: exact utilization and throughput; exact waits where the theory gives them."""
    model = _polling_model(scenario)
    kind = model.discipline if model.discipline != "limited" else f"{model.limit}-limited"
    names = scenario.names
    several = len(names) > 1
    util, thr = model.utilization, model.throughput
    rows = [("utilization", "all", model.overall_utilization), ("throughput", "all", model.overall_throughput)]
    if several:
        for i, name in enumerate(names):
            rows += [("utilization", name, float(util[i])), ("throughput", name, float(thr[i]))]
    if model.symmetric:
        wait, resp = model.mean_wait, model.mean_response
        number, qlen = model.mean_number, model.mean_queue_length
        lam = model.overall_throughput
        rows += [("mean_wait", "all", float(wait[0])),
                 ("mean_response", "all", float(np.dot(thr, resp)) / lam),
                 ("mean_number", "all", float(number.sum())),
                 ("mean_queue_length", "all", float(qlen.sum()))]
        if several:
            rows.append(("work_weighted_wait", "all", float(wait[0])))
            for i, name in enumerate(names):
                rows += [("mean_wait", name, float(wait[i])), ("mean_response", name, float(resp[i])),
                         ("mean_number", name, float(number[i])), ("mean_queue_length", name, float(qlen[i]))]
        name = f"M/G/1 cyclic polling, {kind}, symmetric (exact per-VM waits)"
        source = f"{TAKAGI} (symmetric systems); {BOXMA_GROENENDIJK}; stability: {STABILITY}"
    else:
        has_law = True
        try:
            rows.append(("work_weighted_wait", "all", model.work_weighted_wait))
        except NoClosedForm:
            has_law = False
        name = (f"M/G/1 cyclic polling, {kind} (pseudo-conservation law: work-weighted wait)" if has_law
                else f"M/G/1 cyclic polling, {kind} (utilization and throughput only)")
        source = f"{BOXMA_GROENENDIJK} (pseudo-conservation law); stability: {STABILITY}"
    rows = [(m, g, float(v)) for m, g, v in rows]
    return Prediction(_frame(rows), True, name, source)
