r"""Closed forms for packet flows through a network of FCFS stations (issue 17, item 3).

A flow's packets visit a tandem of single-server FCFS stations (virtual
switch, NIC, links; :mod:`virtmodel.network`), shared with other flows.

**Exact: open Jackson networks.**  With Poisson flows and, at every station,
exponential service of one rate :math:`\mu_j` for every packet whatever its
flow, drawn independently at each station, the network is an open Jackson
network (Jackson 1963; with fixed routes per flow, a Kelly network, Kelly
1979, Thm 3.1).  Its stationary distribution is the product of M/M/1
marginals, :math:`p(n) = \prod_j (1-\rho_j)\rho_j^{n_j}` with
:math:`\rho_j = \lambda_j/\mu_j`, :math:`\lambda_j` the total rate through
station j.  By the arrival theorem a packet sees each station in
equilibrium, so its mean sojourn there is the M/M/1 sojourn and

.. math:: E[T_f] = \sum_{j \in \text{path}(f)} \frac{1}{\mu_j - \lambda_j} + \ell_f

(:math:`\ell_f` the fixed propagation; Kleinrock 1975, vol. 1, §4.8,
eq. 4.87 for the product form; Jackson 1963).  On a path that no packet can
leave and rejoin (*overtake-free*), the sojourn times at its stations are
moreover independent (Walrand & Varaiya 1980; Reich 1957 for tandems), so
the end-to-end delay is hypoexponential: the sum of independent
:math:`\mathrm{Exp}(\mu_j - \lambda_j)` (its quantiles:
:func:`hypoexponential_quantile`).

**Not exact** when a packet keeps its size across stations (its service
times are then correlated along the path: Kleinrock's *independence
assumption* fails, Kleinrock 1964), when flows sharing a station have
different mean sizes or a per-packet overhead, or when arrivals are not
Poisson.  virtmodel then uses Whitt's QNA (Whitt 1983), a two-moment
decomposition: each station is a GI/G/1 queue whose arrival process is
summarised by its rate and squared coefficient of variation (SCV), with

* superposition (asymptotic method, QNA eq. 31): :math:`c_a^2 = \sum_f (\lambda_f/\lambda) c_f^2`;
* departure (QNA eq. 39, one server): :math:`c_d^2 = \rho^2 c_s^2 + (1-\rho^2) c_a^2`;
* splitting by flow share :math:`p = \lambda_f/\lambda` (QNA eq. 41): :math:`c^2 = p c_d^2 + 1 - p`;
* waiting time (QNA eqs. 44-45, Kraemer & Langenbach-Belz):
  :math:`W_q = E[S]\frac{\rho}{1-\rho}\frac{c_a^2 + c_s^2}{2} g`, with
  :math:`g = \exp\!\big(-\frac{2(1-\rho)(1-c_a^2)^2}{3\rho(c_a^2+c_s^2)}\big)`
  when :math:`c_a^2 < 1`, else 1.

With Poisson arrivals at a station QNA's :math:`W_q` is Pollaczek-Khinchine's
(exact for the first station of every path); with exponential service of
one rate everywhere it reduces to the Jackson formula above.

References
----------
Jackson, J. R. (1963). Jobshop-like queueing systems. *Management Science* 10(1), 131-142.
Kelly, F. P. (1979). *Reversibility and Stochastic Networks*. Wiley, Ch. 3.
Kleinrock, L. (1964). *Communication Nets: Stochastic Message Flow and Delay*. McGraw-Hill.
Kleinrock, L. (1975). *Queueing Systems, Vol. 1: Theory*. Wiley, §4.8.
Reich, E. (1957). Waiting times when queues are in tandem. *Ann. Math. Stat.* 28(3), 768-773.
Walrand, J. & Varaiya, P. (1980). Sojourn times and the overtaking condition in Jacksonian
networks. *Adv. Appl. Prob.* 12(4), 1000-1018.
Whitt, W. (1983). The queueing network analyzer. *Bell System Tech. J.* 62(9), 2779-2815.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize

from .._validation import as_output, nonnegative, positive, probability, real_array
from ..errors import InvalidParameter, UnstableSystem

__all__ = [
    "jackson_tandem_response",
    "hypoexponential_cdf",
    "hypoexponential_quantile",
    "qna_wait",
    "qna_departure_scv",
    "qna_split_scv",
    "network_prediction",
    "JACKSON_SOURCE",
    "QNA_SOURCE",
]

JACKSON_SOURCE = ("Jackson (1963), Management Science 10(1); Kelly (1979), Reversibility and Stochastic Networks, "
                  "Thm 3.1; Kleinrock (1975), Queueing Systems vol. 1, §4.8, eq. 4.87; sojourn independence on "
                  "overtake-free paths: Walrand & Varaiya (1980), Adv. Appl. Prob. 12(4)")
QNA_SOURCE = "Whitt (1983), The queueing network analyzer, Bell System Tech. J. 62(9), eqs. 31, 39, 41, 44-45"


def jackson_tandem_response(arrival_rates, service_rates, latency=0.0):
    r"""Mean delay through M/M/1 stations of an open Jackson network: :math:`\sum_j 1/(\mu_j-\lambda_j)+\ell`.

    Parameters
    ----------
    arrival_rates, service_rates : array_like
        Total arrival rate :math:`\lambda_j` and service rate :math:`\mu_j`
        of each station on the path (last axis), broadcasting.
    latency : float or array_like, default 0
        Fixed propagation delay :math:`\ell` added.

    Exact for an open Jackson network (Jackson 1963; Kleinrock 1975,
    vol. 1, §4.8).

    Raises
    ------
    UnstableSystem
        When some station has :math:`\lambda_j \ge \mu_j`.

    Examples
    --------
    >>> jackson_tandem_response([0.5, 0.5], [1.0, 2.0])      # 1/(1 - 0.5) + 1/(2 - 0.5)
    2.6666666666666665
    """
    lam = nonnegative("arrival_rates", arrival_rates)
    mu = positive("service_rates", service_rates)
    lat = nonnegative("latency", latency)
    rho = lam / mu
    if np.any(rho >= 1):
        raise UnstableSystem(f"every station must have arrival_rate < service_rate, got utilization "
                             f"{np.max(rho):.6g}", utilization=np.max(rho))
    return as_output(np.sum(1.0 / (mu - lam), axis=-1) + lat)


#: beyond this many terms the uniformized series gives way to scipy's matrix exponential
_UNIFORMIZATION_TERMS = 100_000


def _rates(rates):
    rates = positive("rates", rates)
    if rates.ndim != 1 or rates.size == 0:
        raise InvalidParameter(f"rates must be a non-empty 1-d sequence, got {rates!r}")
    return rates


def _survival(rates, horizon):
    r"""``sf(t)`` of the hypoexponential for 0 <= t <= horizon, by uniformization.

    The sum is phase-type with the bidiagonal generator G (:math:`-r_j` on
    the diagonal, :math:`r_j` above it) started in phase 1.  Uniformized at
    :math:`\Lambda = \max_j r_j` with :math:`P = I + G/\Lambda`,
    :math:`P(X > t) = \sum_n e^{-\Lambda t}(\Lambda t)^n/n!\; s_n`,
    :math:`s_n = e_1^\top P^n \mathbf 1` (Neuts 1981, §2.2; Grassmann
    1977): every term is >= 0, so it is evaluated without cancellation,
    truncated where the Poisson tail is below 1e-16.
    """
    from scipy import stats

    lam = float(rates.max())
    keep = 1.0 - rates / lam
    move = rates[:-1] / lam
    count = int(lam * horizon + 12.0 * np.sqrt(lam * horizon) + 60)
    if count > _UNIFORMIZATION_TERMS:  # rates far apart: the matrix exponential directly
        from scipy import linalg

        generator = np.diag(-rates) + np.diag(rates[:-1], 1)
        return lambda t: float(linalg.expm(generator * t)[0].sum())
    v = np.zeros(rates.size)
    v[0] = 1.0
    mass = np.empty(count)
    for n in range(count):
        mass[n] = v.sum()
        v = np.concatenate(([0.0], v[:-1] * move)) + v * keep
    steps = np.arange(count)

    def sf(t):
        return float(np.dot(stats.poisson.pmf(steps, lam * t), mass))

    return sf


def hypoexponential_cdf(t, rates):
    r"""P(X_1 + ... + X_k <= t) for independent :math:`X_j \sim \mathrm{Exp}(r_j)` (rates may repeat).

    Phase-type with a bidiagonal generator, evaluated by uniformization
    (Neuts 1981, §2.2; Grassmann 1977), a sum of nonnegative terms.

    >>> round(hypoexponential_cdf(1.0, [1.0, 1.0]), 10)     # Erlang-2: 1 - 2/e
    0.2642411177
    """
    rates = _rates(rates)
    t = nonnegative("t", t)
    sf = _survival(rates, float(np.max(t)) if t.size else 0.0)
    out = np.array([1.0 - sf(x) for x in np.ravel(t)])
    return as_output(np.clip(out, 0.0, 1.0).reshape(t.shape))


def hypoexponential_quantile(q, rates):
    """The q-quantile of a sum of independent exponentials of the given ``rates`` (root of the CDF, brentq).

    >>> round(hypoexponential_quantile(0.5, [1.0]), 10)     # ln 2
    0.6931471806
    """
    q = float(probability("q", q))
    if not 0 < q < 1:
        raise InvalidParameter(f"q must lie in (0, 1), got {q}")
    rates = _rates(rates)
    hi = float(np.sum(1.0 / rates))
    while True:
        sf = _survival(rates, hi)
        if 1.0 - sf(hi) >= q:
            break
        hi *= 2.0
    return float(optimize.brentq(lambda x: 1.0 - sf(x) - q, 0.0, hi, xtol=1e-14, rtol=1e-13))


def qna_wait(utilization, mean_service, arrival_scv, service_scv):
    r"""QNA's GI/G/1 mean wait (Whitt 1983, eqs. 44-45, Kraemer & Langenbach-Belz correction).

    .. math:: W_q = E[S]\,\frac{\rho}{1-\rho}\,\frac{c_a^2 + c_s^2}{2}\,g(\rho, c_a^2, c_s^2)

    with :math:`g = \exp(-2(1-\rho)(1-c_a^2)^2/(3\rho(c_a^2+c_s^2)))` for
    :math:`c_a^2 < 1` and 1 otherwise.  Exact (Pollaczek-Khinchine) for
    :math:`c_a^2 = 1`; an approximation otherwise.

    >>> qna_wait(0.5, 1.0, 1.0, 1.0)     # M/M/1: rho/(mu - lambda)
    1.0
    """
    rho = real_array("utilization", utilization)
    if np.any((rho <= 0) | (rho >= 1)):
        raise InvalidParameter(f"utilization must lie in (0, 1), got {rho}")
    es = positive("mean_service", mean_service)
    ca2 = nonnegative("arrival_scv", arrival_scv)
    cs2 = nonnegative("service_scv", service_scv)
    total = ca2 + cs2
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(ca2 < 1, np.exp(-2 * (1 - rho) * (1 - ca2) ** 2 / (3 * rho * np.where(total > 0, total, 1))),
                     1.0)
    return as_output(es * rho / (1 - rho) * total / 2 * g)


def qna_departure_scv(utilization, arrival_scv, service_scv):
    r"""SCV of a single-server station's departures: :math:`\rho^2 c_s^2 + (1-\rho^2) c_a^2` (Whitt 1983, eq. 39).

    >>> qna_departure_scv(0.5, 1.0, 1.0)
    1.0
    """
    rho = probability("utilization", utilization)
    return as_output(rho**2 * nonnegative("service_scv", service_scv)
                     + (1 - rho**2) * nonnegative("arrival_scv", arrival_scv))


def qna_split_scv(share, departure_scv):
    r"""SCV of the share p of a stream of SCV :math:`c^2` thinned at random: :math:`p c^2 + 1 - p` (Whitt 1983, eq. 41).

    >>> qna_split_scv(0.25, 1.0)
    1.0
    """
    p = probability("share", share)
    return as_output(p * nonnegative("departure_scv", departure_scv) + 1 - p)


def _jackson_exact(scenario, m1) -> tuple[bool, str]:
    """Whether the network is an open Jackson network, and if not the first assumption that fails."""
    for f in scenario.flows:
        if not f.poisson:
            return False, f"flow {f.name!r} is not Poisson"
    for f in scenario.flows:
        if type(f.size).__name__ != "Exponential":
            return False, f"flow {f.name!r}'s packet sizes are not exponential"
    names = [s.name for s in scenario.stations()]
    for j, s in enumerate(scenario.stations()):
        if s.overhead > 0:
            return False, f"station {s.name} has a per-packet overhead (service not exponential)"
        means = m1[:, j][m1[:, j] > 0]
        if np.ptp(means) > 1e-12 * means.max():
            return False, f"flows through {names[j]} have different mean service times (FCFS is not product-form)"
    if scenario.service_times == "packet" and any(len(scenario.path(f.name)) > 1 for f in scenario.flows):
        return False, ("a packet keeps its size along its path (service_times='packet'): its service times are "
                       "correlated, so Kleinrock's independence assumption fails")
    return True, ""


def _qna(rates, m1, m2, ca2_first, paths, tol=1e-13, max_iter=10_000):
    """QNA fixed point: per-station arrival SCV, utilization, mean wait.

    ``paths[i]`` is flow i's list of station indices.  The flows' arrival SCVs
    at their stations solve a linear system whose coefficients are < 1 in
    sum; it is solved by fixed-point iteration.
    """
    n_st = m1.shape[1]
    lam_j = rates @ (m1 > 0)
    rho = rates @ m1
    es = np.divide(rho, lam_j, out=np.zeros(n_st), where=lam_j > 0)
    es2 = np.divide(rates @ m2, lam_j, out=np.zeros(n_st), where=lam_j > 0)
    cs2 = np.maximum(np.divide(es2, es**2, out=np.ones(n_st), where=es > 0) - 1.0, 0.0)  # rounding below 0
    flow_scv = [np.full(len(p), ca2_first[i]) for i, p in enumerate(paths)]
    for _ in range(max_iter):
        ca2 = np.zeros(n_st)
        for i, p in enumerate(paths):
            ca2[p] += rates[i] * flow_scv[i]
        ca2 = np.divide(ca2, lam_j, out=np.ones(n_st), where=lam_j > 0)
        cd2 = rho**2 * cs2 + (1 - rho**2) * ca2
        change = 0.0
        for i, p in enumerate(paths):
            new = flow_scv[i].copy()
            share = rates[i] / lam_j[p[:-1]]
            new[1:] = share * cd2[p[:-1]] + 1 - share
            change = max(change, float(np.max(np.abs(new - flow_scv[i]))) if len(p) > 1 else 0.0)
            flow_scv[i] = new
        if change < tol:
            break
    wait = np.zeros(n_st)
    used = lam_j > 0
    wait[used] = qna_wait(rho[used], es[used], ca2[used], cs2[used])
    return rho, wait, ca2, cs2


def network_prediction(scenario):
    """Closed-form metrics of a :class:`~virtmodel.network.NetworkScenario` as a :class:`~virtmodel.Prediction`.

    Per flow: ``mean_response`` (the sum of the mean sojourns along its path
    plus propagation), ``throughput`` (its rate), ``mean_number`` (Little's
    law), and ``p95_response`` where the network is Jackson and the path
    overtake-free (hypoexponential plus propagation); per station
    ``utilization``; per sync pair ``delay_asymmetry`` and
    ``sync_offset_error``.  ``exact`` is True for an open Jackson network
    (see the module docstring), and for Poisson flows whose paths have one
    station each (every station an M/G/1 queue: Pollaczek-Khinchine);
    otherwise the numbers are QNA's and ``exact=False`` (utilization and
    throughput are exact in either case).
    With ``allow_overload=True`` an overloaded station gives inf delays.
    """
    from .solve import Prediction

    flows = scenario.flows
    stations = scenario.stations()
    index = {s.name: j for j, s in enumerate(stations)}
    rates = np.array([f.rate for f in flows])
    m1, m2 = scenario.service_moments()
    paths = [np.array([index[s] for s in scenario.path(f.name)]) for f in flows]
    rho_all = rates @ m1
    exact, why = _jackson_exact(scenario, m1)
    rows = [("utilization", s.name, float(r)) for s, r in zip(stations, rho_all, strict=True)]
    overloaded = rho_all >= 1
    if np.any(overloaded) and not scenario.allow_overload:
        j = int(np.argmax(rho_all))
        raise UnstableSystem(f"station {stations[j].name} must have utilization < 1, got {rho_all[j]:.6g}",
                             utilization=rho_all[j])
    sojourn = np.full(m1.shape, np.inf)
    mg1 = False
    if exact:
        mu = np.divide(1.0, m1.max(axis=0))
        lam = rates @ (m1 > 0)
        with np.errstate(divide="ignore"):
            per_station = np.where(overloaded, np.inf, 1.0 / np.maximum(mu - lam, 0.0))
        sojourn = np.where(m1 > 0, per_station[None, :], 0.0)
        model = "open Jackson network: sum of M/M/1 sojourns along each path"
        source = JACKSON_SOURCE
    else:
        ok = ~overloaded
        if np.any(ok):
            sub = np.flatnonzero(ok)
            remap = -np.ones(len(stations), dtype=int)
            remap[sub] = np.arange(len(sub))
            keep = [i for i, p in enumerate(paths) if np.all(ok[p])]
            ca2_first = np.array([float(f.arrival.scv) for f in flows])
            if keep:
                _, wait, _, _ = _qna(rates[keep], m1[np.ix_(keep, sub)], m2[np.ix_(keep, sub)], ca2_first[keep],
                                     [remap[paths[i]] for i in keep])
                full_wait = np.full(len(stations), np.inf)
                full_wait[sub] = wait
                sojourn = np.where(m1 > 0, full_wait[None, :] + m1, 0.0)
        if all(f.poisson for f in flows) and all(len(p) == 1 for p in paths):
            # one station per path, Poisson superposition: each station is an M/G/1 queue and QNA's wait is
            # Pollaczek-Khinchine's, exact for FCFS whatever the classes' service laws (Kleinrock 1975, eq. 5.105)
            model, source, mg1 = "M/G/1 per station (Pollaczek-Khinchine), one station per path", QNA_SOURCE, True
        else:
            model, source, mg1 = f"QNA two-moment decomposition (approximate: {why})", QNA_SOURCE, False
    for i, f in enumerate(flows):
        resp = float(np.sum(sojourn[i, paths[i]])) + scenario.latency(f.name)
        rows += [("mean_response", f.name, resp), ("throughput", f.name, float(rates[i])),
                 ("mean_number", f.name, float(rates[i] * resp))]
        if exact and np.isfinite(resp) and scenario.overtake_free(f.name):
            q95 = hypoexponential_quantile(0.95, 1.0 / sojourn[i, paths[i]])
            rows.append(("p95_response", f.name, q95 + scenario.latency(f.name)))
    means = {f.name: float(np.sum(sojourn[i, paths[i]])) + scenario.latency(f.name) for i, f in enumerate(flows)}
    for req, rep in scenario.sync:
        asym = means[req] - means[rep]
        rows += [("delay_asymmetry", f"{req}/{rep}", asym), ("sync_offset_error", f"{req}/{rep}", asym / 2)]
    values = pd.DataFrame(rows, columns=["metric", "group", "value"])
    return Prediction(values, bool(exact or mg1), model, source)
