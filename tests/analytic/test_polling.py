"""Tests of virtmodel.analytic.polling: cyclic polling with switchover times.

Sections: textbook values (worked by hand from the cited formulas); reductions
(one queue = M/G/1 with multiple vacations; symmetric waits = pseudo-conservation
law / rho); exact asymmetric waits (buffer-occupancy method: equal to the
symmetric closed forms and to the pseudo-conservation law to 1e-12, and to a
brute-force Markov chain); the 1-limited approximation; properties
(hypothesis); stability; bad input; predict(Scenario).

No published table of asymmetric exhaustive/gated mean waits could be found
in the sources available while writing this (Takagi's 1986 book and 1988
survey, Sarkar & Zangwill 1989 and Boxma & Meister 1986 were not reachable),
so the independent check of the asymmetric waits is a brute-force numerical
solution: the truncated continuous-time Markov chain of a two-queue system
with exponential service and switchover times, solved with a sparse solver.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from scipy.sparse.linalg import spsolve

import virtmodel as vm
from virtmodel.analytic import MG1, PollingSystem
from virtmodel.analytic.polling import boxma_meister_wait, buffer_occupancy, check_polling_stability
from virtmodel.dists import Deterministic, Erlang, Exponential, Gamma, HyperExponential, Uniform
from virtmodel.errors import InvalidParameter, NoClosedForm, UnstableSystem

EXP1 = Exponential(1.0)
SWITCH = Deterministic(0.1)


def gamma(mean, scv):
    """Gamma law with the given mean and squared coefficient of variation."""
    return Gamma(1.0 / scv, rate=1.0 / (scv * mean))


# --------------------------------------------------------------------------- textbook values


def test_symmetric_exhaustive_by_hand():
    # Takagi (1986), symmetric exhaustive: W = d^2/(2 r1) + (N lam E[S^2] + r1 (N - rho)) / (2 (1 - rho)).
    # N = 3, lam = 0.2, exponential service of mean 1 (E[S^2] = 2), switchover 0.1 fixed (d^2 = 0):
    # rho = 0.6, W = (1.2 + 0.1 * 2.4) / 0.8 = 1.8;  E[C] = 0.3 / 0.4 = 0.75.
    p = PollingSystem([0.2] * 3, [EXP1] * 3, Deterministic(0.1))
    assert p.mean_cycle == pytest.approx(0.75, rel=1e-14)
    np.testing.assert_allclose(p.mean_wait, 1.8, rtol=1e-14)
    np.testing.assert_allclose(p.mean_response, 2.8, rtol=1e-14)
    np.testing.assert_allclose(p.mean_number, 0.56, rtol=1e-14)
    np.testing.assert_allclose(p.mean_queue_length, 0.36, rtol=1e-14)
    assert p.overall_utilization == pytest.approx(0.6)
    assert p.overall_throughput == pytest.approx(0.6)


def test_symmetric_gated_by_hand():
    # gated: r1 (N + rho) instead of r1 (N - rho); exponential switchover of mean 0.1 (d^2 = 0.01):
    # W = 0.01 / 0.2 + (1.2 + 0.1 * 3.6) / 0.8 = 0.05 + 1.95 = 2.0
    p = PollingSystem([0.2] * 3, [EXP1] * 3, Exponential(10.0), "gated")
    np.testing.assert_allclose(p.mean_wait, 2.0, rtol=1e-13)


def test_symmetric_one_limited_by_hand():
    # Takagi (1986), symmetric 1-limited:
    # W = d^2/(2 r1) + (N lam E[S^2] + r1 (N + rho) + N lam d^2) / (2 (1 - rho - N lam r1))
    # with the numbers above and d^2 = 0: (1.2 + 0.36) / (2 * (1 - 0.6 - 0.06)) = 1.56 / 0.68
    p = PollingSystem([0.2] * 3, [EXP1] * 3, Deterministic(0.1), "limited", limit=1)
    np.testing.assert_allclose(p.mean_wait, 1.56 / 0.68, rtol=1e-13)


def test_pseudo_conservation_by_hand():
    # Boxma & Groenendijk (1987) with lam = (0.2, 0.3), E[S] = (1, 1), E[S^2] = (2, 1) (exp, det),
    # switchover 0.5 fixed per queue: rho = 0.5, W0 = (0.4 + 0.3)/2 = 0.35, r = 1, E[R^2] = 1,
    # sum rho_i^2 = 0.13.  Exhaustive: 0.5*0.35/0.5 + 0.5*1/2 + 1/(2*0.5)*(0.25 - 0.13) = 0.35 + 0.25 + 0.12
    p = PollingSystem([0.2, 0.3], [EXP1, Deterministic(1.0)], Deterministic(0.5))
    assert p.pseudo_conservation == pytest.approx(0.72, rel=1e-13)
    assert p.work_weighted_wait == pytest.approx(1.44, rel=1e-13)
    # gated adds r/(1 - rho) sum rho_i^2 = 0.26
    g = PollingSystem([0.2, 0.3], [EXP1, Deterministic(1.0)], Deterministic(0.5), "gated")
    assert g.pseudo_conservation == pytest.approx(0.98, rel=1e-13)
    # 1-limited: rho W0/(1-rho) + rho E[R^2]/(2r) + r/(2(1-rho)) (rho^2 + sum rho_i^2) = 0.35 + 0.25 + 0.38
    lim = PollingSystem([0.2, 0.3], [EXP1, Deterministic(1.0)], Deterministic(0.5), "limited", limit=1)
    assert lim.pseudo_conservation == pytest.approx(0.98, rel=1e-13)
    np.testing.assert_allclose(lim.pseudo_conservation_weights, [1 - 0.2 / 0.5, 1 - 0.3 / 0.5], rtol=1e-13)


def test_pseudo_conservation_random_switchover_by_hand():
    # The example above with RANDOM switchovers of the same means, so that the variance term of the
    # Boxma & Groenendijk (1987, J. Appl. Probab. 24, 949-964) pseudo-conservation law, as restated in
    # Takagi's 1988 survey (ACM Computing Surveys 20(1)):
    #   sum rho_i W_i = rho W0 / (1 - rho) + rho E[R^2] / (2 r) + r / (2 (1 - rho)) (rho^2 - sum rho_i^2)
    # (exhaustive; gated adds r / (1 - rho) sum rho_i^2) is checked by hand.  R = R_1 + R_2 is the total
    # switchover of a cycle, the R_i independent: E[R^2] = r^2 + Var R_1 + Var R_2.
    # R_1 exponential of mean 0.5 (Var 0.25), R_2 uniform on [0, 1] (mean 0.5, Var 1/12):
    # r = 1, E[R^2] = 1 + 0.25 + 1/12 = 4/3, so rho E[R^2] / (2 r) = 0.5 * (4/3) / 2 = 1/3
    # (deterministic switchovers: 0.25; the variance adds rho Var R / (2 r) = 0.5 * (1/3) / 2 = 1/12).
    # Exhaustive: 0.35 + 1/3 + 0.12 = 0.80333...;  gated: + 1 / 0.5 * 0.13 = 0.26 -> 1.06333...;
    # 1-limited: 0.35 + 1/3 + (0.25 + 0.13) = 1.06333...
    switch = [Exponential(2.0), Uniform(0.0, 1.0)]
    services = [EXP1, Deterministic(1.0)]
    p = PollingSystem([0.2, 0.3], services, switch)
    assert p.total_switchover_second_moment == pytest.approx(4 / 3, rel=1e-13)
    assert p.pseudo_conservation == pytest.approx(0.35 + 1 / 3 + 0.12, rel=1e-13)
    assert p.work_weighted_wait == pytest.approx((0.35 + 1 / 3 + 0.12) / 0.5, rel=1e-13)
    g = PollingSystem([0.2, 0.3], services, switch, "gated")
    assert g.pseudo_conservation == pytest.approx(0.35 + 1 / 3 + 0.12 + 0.26, rel=1e-13)
    lim = PollingSystem([0.2, 0.3], services, switch, "limited", limit=1)
    assert lim.pseudo_conservation == pytest.approx(0.35 + 1 / 3 + 0.38, rel=1e-13)
    # the exact per-VM waits (buffer-occupancy method, computed from the switchover moments, not from the
    # law) satisfy the hand-worked law: the variance reaches the per-VM waits, not only the law's formula
    for system, law in ((p, 0.35 + 1 / 3 + 0.12), (g, 0.35 + 1 / 3 + 0.38)):
        assert float(np.dot([0.2, 0.3], system.mean_wait)) == pytest.approx(law, rel=1e-12)


def test_total_switchover_moments():
    p = PollingSystem([0.1, 0.1], [EXP1, EXP1], [Deterministic(0.5), Exponential(2.0)])
    assert p.total_switchover_mean == pytest.approx(1.0)
    assert p.total_switchover_second_moment == pytest.approx(0.25 + 1.0)  # Var = 0 + 0.25, r^2 = 1


# --------------------------------------------------------------------------- reductions


@pytest.mark.parametrize("service", [EXP1, Deterministic(1.0), HyperExponential.balanced(1.0, 4.0)])
@pytest.mark.parametrize("vacation", [Deterministic(0.3), Exponential(2.0), Uniform(0.1, 0.9)])
@pytest.mark.parametrize("load", [0.2, 0.7])
def test_one_queue_is_mg1_with_multiple_vacations(service, vacation, load):
    # Fuhrmann & Cooper (1985): W = W_{M/G/1} + E[V^2]/(2E[V]); gated service adds rho E[V]/(1-rho)
    lam = load / service.mean
    mg1 = MG1(lam, service).mean_wait
    residual = vacation.moment(2) / (2 * vacation.mean)
    exh = PollingSystem([lam], [service], vacation)
    gated = PollingSystem([lam], [service], vacation, "gated")
    assert exh.mean_wait[0] == pytest.approx(mg1 + residual, rel=1e-12)
    assert gated.mean_wait[0] == pytest.approx(mg1 + residual + load * vacation.mean / (1 - load), rel=1e-12)
    assert exh.symmetric and gated.symmetric


moments = st.tuples(st.floats(0.2, 3.0), st.floats(0.05, 5.0))  # (mean, scv)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 10), load=st.floats(1e-3, 0.97), service=moments, switch=moments,
       discipline=st.sampled_from(["exhaustive", "gated", "limited"]))
def test_symmetric_waits_satisfy_pseudo_conservation(n, load, service, switch, discipline):
    s, sw = gamma(*service), gamma(*switch)
    lam = load / (n * s.mean)
    limit = 1 if discipline == "limited" else None
    try:
        p = PollingSystem([lam] * n, [s] * n, sw, discipline, limit)
    except UnstableSystem:
        assert discipline == "limited" and load + lam * n * sw.mean >= 1
        return
    w = p.mean_wait
    # the general (buffer-occupancy) solution equals Takagi's symmetric closed forms to 1e-12
    np.testing.assert_allclose(w, p.symmetric_mean_wait, rtol=1e-12)
    weights = p.pseudo_conservation_weights
    assert float(np.sum(weights * p.utilization * w)) == pytest.approx(p.pseudo_conservation, rel=1e-12)
    assert p.work_weighted_wait == pytest.approx(w[0], rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(rates=st.lists(st.floats(0.01, 1.0), min_size=2, max_size=5), load=st.floats(0.05, 0.95),
       switch=moments)
def test_gated_exceeds_exhaustive_by_the_gate_term(rates, load, switch):
    services = [gamma(1.0 + i, 1.0) for i in range(len(rates))]
    lam = np.array(rates) * load / np.dot(rates, [s.mean for s in services])
    exh = PollingSystem(lam, services, gamma(*switch))
    gated = PollingSystem(lam, services, gamma(*switch), "gated")
    rho_i = exh.utilization
    gate = exh.total_switchover_mean / (1 - exh.overall_utilization) * np.sum(rho_i**2)
    assert gated.pseudo_conservation - exh.pseudo_conservation == pytest.approx(gate, rel=1e-9)
    assert exh.work_weighted_wait == pytest.approx(exh.pseudo_conservation / exh.overall_utilization)


def test_single_switchover_equals_list():
    a = PollingSystem([0.1, 0.2], [EXP1, Erlang(2, 2.0)], Exponential(4.0), "gated")
    b = PollingSystem([0.1, 0.2], [EXP1, Erlang(2, 2.0)], [Exponential(4.0)] * 2, "gated")
    assert a.pseudo_conservation == b.pseudo_conservation and a.mean_cycle == b.mean_cycle


def test_symmetric_needs_only_two_moments_for_exhaustive():
    # Ferguson & Aminetzah (1985): exhaustive/gated waits depend on two moments only
    p = PollingSystem([0.2, 0.2], [EXP1, Gamma(1.0, rate=1.0)], [Exponential(5.0), Gamma(1.0, rate=5.0)])
    assert p.symmetric


# --------------------------------------------------------------------------- asymmetric systems


def law_gap(p):
    """Relative gap of sum_i w_i rho_i W_i from the pseudo-conservation law."""
    lhs = float(np.sum(p.pseudo_conservation_weights * p.utilization * p.mean_wait))
    return abs(lhs - p.pseudo_conservation) / p.pseudo_conservation


def unlike(n, load, seed, discipline):
    """n unlike queues: random rates, gamma services (scv 0.1-8) and switchovers (scv 0-4) per queue."""
    rng = np.random.default_rng(seed)
    services = [gamma(m, c) for m, c in zip(rng.uniform(0.1, 3.0, n), rng.uniform(0.1, 8.0, n), strict=True)]
    switches = [Deterministic(m) if c == 0 else gamma(m, c)
                for m, c in zip(rng.uniform(0.01, 2.0, n), rng.choice([0.0, 0.5, 1.0, 4.0], n), strict=True)]
    shares = rng.dirichlet(np.ones(n))
    lam = shares * load / np.array([s.mean for s in services])
    return PollingSystem(lam, services, switches, discipline)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 8), load=st.floats(0.02, 0.97), seed=st.integers(0, 2**32 - 1),
       discipline=st.sampled_from(["exhaustive", "gated"]))
def test_asymmetric_exact_waits_satisfy_pseudo_conservation(n, load, seed, discipline):
    # Boxma & Groenendijk (1987): sum_i rho_i W_i is known exactly; the per-VM waits must add up to it
    p = unlike(n, load, seed, discipline)
    assert p.waits_exact and not p.symmetric
    assert law_gap(p) < 1e-12
    w = p.mean_wait
    assert np.all(w > 0)
    np.testing.assert_allclose(p.mean_number, p.arrival_rates * (w + p._s1), rtol=1e-15)


def test_asymmetric_waits_worked_example():
    # 2 VMs: lambda = (0.2, 0.3), exponential and deterministic service of mean 1, deterministic switches
    # 0.2 and 0.8.  Values from the buffer-occupancy solution, checked against the pseudo-conservation law
    # (0.2 W_1 + 0.3 W_2 = 0.72 exhaustive, 0.98 gated; see test_pseudo_conservation_by_hand).
    services = [EXP1, Deterministic(1.0)]
    switches = [Deterministic(0.2), Deterministic(0.8)]
    exh = PollingSystem([0.2, 0.3], services, switches)
    gated = PollingSystem([0.2, 0.3], services, switches, "gated")
    assert 0.2 * exh.mean_wait[0] + 0.3 * exh.mean_wait[1] == pytest.approx(0.72, rel=1e-12)
    assert 0.2 * gated.mean_wait[0] + 0.3 * gated.mean_wait[1] == pytest.approx(0.98, rel=1e-12)
    # exhaustive favours the heavier VM (it is served until empty), gated less so
    assert exh.mean_wait[1] < exh.mean_wait[0]
    # the waits depend on the switchover means only through their sum r (Takagi 1988, exhaustive and
    # gated), but on which VM's switch is variable: move the variance and the per-VM waits move
    for discipline in ("exhaustive", "gated"):
        one = PollingSystem([0.2, 0.3, 0.1], [*services, Erlang(2, 2.0)],
                            [Deterministic(0.1), Deterministic(0.2), Deterministic(0.7)], discipline)
        other = PollingSystem([0.2, 0.3, 0.1], [*services, Erlang(2, 2.0)],
                              [Deterministic(0.7), Deterministic(0.1), Deterministic(0.2)], discipline)
        np.testing.assert_allclose(one.mean_wait, other.mean_wait, rtol=1e-12)
        a = PollingSystem([0.2, 0.3], services, [Exponential(2.0), Deterministic(0.5)], discipline)
        b = PollingSystem([0.2, 0.3], services, [Deterministic(0.5), Exponential(2.0)], discipline)
        assert a.pseudo_conservation == pytest.approx(b.pseudo_conservation, rel=1e-14)
        assert abs(a.mean_wait[0] - b.mean_wait[0]) > 0.03 and law_gap(a) < 1e-12 and law_gap(b) < 1e-12


def test_buffer_occupancy_first_moments():
    # flow balance: at queue i's poll, queue i holds lambda_i E[I_i] (exhaustive: the intervisit time
    # E[I_i] = r (1 - rho_i)/(1 - rho)) or lambda_i E[C] (gated: a whole cycle, E[C] = r/(1 - rho))
    p = unlike(4, 0.8, 7, "exhaustive")
    g = unlike(4, 0.8, 7, "gated")
    lam, rho_i, r = p.arrival_rates, p.utilization, p.total_switchover_mean
    idx = np.arange(4)
    np.testing.assert_allclose(p.buffer_occupancy[0][idx, idx], lam * r * (1 - rho_i) / (1 - 0.8), rtol=1e-12)
    np.testing.assert_allclose(g.buffer_occupancy[0][idx, idx], lam * r / (1 - 0.8), rtol=1e-12)
    second = g.buffer_occupancy[1]
    np.testing.assert_allclose(second, np.transpose(second, (0, 2, 1)), rtol=1e-15)
    with pytest.raises(InvalidParameter, match="discipline"):
        buffer_occupancy([0.1], [1.0], [2.0], [0.1], [0.01], "limited")


def polling_ctmc(lam, mu, gamma_rates, discipline, cap):
    """Brute force: the truncated CTMC of two queues, exponential service (mu) and switchovers (gamma_rates).

    States ('V', i, g, n1, n2): serving queue i, g gated jobs left (gated only); ('S', i, n1, n2):
    switching away from queue i.  Arrivals beyond ``cap`` per queue are lost (truncation).  Returns
    the mean number of jobs of each queue.
    """
    index, states = {}, []

    def sid(state):
        if state not in index:
            index[state] = len(states)
            states.append(state)
        return index[state]

    def poll(i, n):  # the server arrives at queue i, whose content is n[i]
        if n[i] == 0:
            return ("S", i, n[0], n[1])
        return ("V", i, n[i] if discipline == "gated" else 0, n[0], n[1])

    rows, cols, rates = [], [], []
    sid(("S", 1, 0, 0))
    k = 0
    while k < len(states):
        state = states[k]
        i, n = state[1], list(state[-2:])
        moves = []
        for j in range(2):
            if n[j] < cap:
                m = list(n)
                m[j] += 1
                moves.append((lam[j], state[:-2] + tuple(m)))
        if state[0] == "V":
            m = list(n)
            m[i] -= 1
            more = state[2] > 1 if discipline == "gated" else m[i] > 0
            moves.append((mu[i], ("V", i, state[2] - 1 if discipline == "gated" else 0, *m) if more
                          else ("S", i, *m)))
        else:
            moves.append((gamma_rates[i], poll(1 - i, n)))
        for rate, nxt in moves:
            rows.append(k)
            cols.append(sid(nxt))
            rates.append(rate)
        k += 1
    size = len(states)
    q = sparse.coo_matrix((rates, (rows, cols)), shape=(size, size)).tocsr()
    q = q - sparse.diags(np.asarray(q.sum(axis=1)).ravel())
    system = sparse.vstack([sparse.csr_matrix(np.ones((1, size))), q.T.tocsr()[1:]]).tocsc()
    rhs = np.zeros(size)
    rhs[0] = 1.0
    pi = spsolve(system, rhs)
    return pi @ np.array([s[-2] for s in states]), pi @ np.array([s[-1] for s in states])


@pytest.mark.parametrize("discipline, cap, rel", [("exhaustive", 40, 1e-6), ("gated", 20, 2e-5)])
def test_asymmetric_waits_equal_brute_force_markov_chain(discipline, cap, rel):
    # lambda = (0.3, 0.4), E[S] = (1, 0.5), exponential switches of mean 0.3 and 0.7 (load 0.5).  The
    # truncation error falls geometrically with cap (gated, cap 18 / 22 / 30: 5e-6 / 2e-7 / 4e-10).
    lam, mu, gam = [0.3, 0.4], [1.0, 2.0], [1 / 0.3, 1 / 0.7]
    number = polling_ctmc(lam, mu, gam, discipline, cap)
    brute = [number[i] / lam[i] - 1 / mu[i] for i in range(2)]  # Little: W = L / lambda - E[S]
    p = PollingSystem(lam, [Exponential(m) for m in mu], [Exponential(g) for g in gam], discipline)
    np.testing.assert_allclose(p.mean_wait, brute, rtol=rel)
    assert abs(brute[0] - brute[1]) > 0.1  # unlike VMs: the check is not a symmetric one


@pytest.mark.parametrize("discipline, expected", [
    ("exhaustive", [0.476962383126767, 0.479587953903023, 0.475592520113068]),
    ("gated", [0.561601459703463, 0.562779821430099, 0.564904433152153]),
])
def test_asymmetric_waits_equal_line_solver_station_time_method(discipline, expected):
    """An independent implementation: the LINE solver's regression values (imperial-qore/line-solver,
    jar/src/test/java/jline/api/PollingAPITest.java at commit dbaa00141099044efbef1cda4f4553eb2dc8d1f6,
    test_polling_qsys_exhaustive / test_polling_qsys_gated), computed by Ferguson & Aminetzah's station-time
    method as reported by Takagi (ACM Computing Surveys 20(1), 1988, eqs. (15) and (20)): N(N-1) and N^2
    linear equations, not the buffer-occupancy system solved here.

    Their case, in kpctoolbox's parameters (MEAN first): arrivals of rate 1 at each of three queues (LINE
    uses only the rate; here they are Poisson), services map_erlang(0.1, 2), map_erlang(0.1, 3),
    map_hyperexp(0.1, 2) (mean 0.1, scv 2: E[S^2] = 0.03; a balanced H2 here, theirs has p = 0.99, and
    the mean waits depend on the first two moments only), switchovers map_erlang(0.2, 2) after every queue.
    The queues differ only in their service laws' second moments, which the exact waits must follow.
    Their printed 15 digits are matched to 1e-12 relative.  (No published table of asymmetric mean waits
    was reachable; see the module docstring.)
    """
    services = [Erlang(2, 20.0), Erlang(3, 30.0), HyperExponential.balanced(0.1, 2.0)]
    assert [s.moment(2) for s in services] == pytest.approx([0.015, 0.04 / 3, 0.03], rel=1e-12)
    p = PollingSystem([1.0, 1.0, 1.0], services, [Erlang(2, 10.0)] * 3, discipline)
    np.testing.assert_allclose(p.mean_wait, expected, rtol=1e-12)


def test_one_queue_with_switchover_list_is_vacation_model():
    # one queue, Erlang vacation: the general solver gives Fuhrmann & Cooper's W exactly
    sw = Erlang(3, 10.0)
    for discipline, extra in (("exhaustive", 0.0), ("gated", 0.6 * sw.mean / 0.4)):
        p = PollingSystem([0.6], [Deterministic(1.0)], [sw], discipline)
        expected = MG1(0.6, Deterministic(1.0)).mean_wait + sw.moment(2) / (2 * sw.mean) + extra
        assert p.mean_wait[0] == pytest.approx(expected, rel=1e-12)


# --------------------------------------------------------------------------- 1-limited: Boxma-Meister


def test_one_limited_unequal_rates_has_no_work_weighted_wait():
    p = PollingSystem([0.2, 0.3], [EXP1, EXP1], Deterministic(0.1), "limited", limit=1)
    with pytest.raises(NoClosedForm, match="same arrival rate"):
        _ = p.work_weighted_wait
    q = PollingSystem([0.2, 0.2], [EXP1, Deterministic(1.5)], Deterministic(0.1), "limited", limit=1)
    assert q.work_weighted_wait == pytest.approx(q.pseudo_conservation / (q.pseudo_conservation_weights[0] * 0.5))
    with pytest.raises(NoClosedForm, match="same service and switchover distribution"):
        _ = q.symmetric_mean_wait


def test_boxma_meister_approximation():
    # Boxma & Meister (1986): W_i = K (1 - rho + rho_i)/(1 - rho - lambda_i r), K from the exact 1-limited
    # law.  By hand: lambda = (0.2, 0.3), E[S] = 1 (E[S^2] = 2, 1), switch 0.5 each -> rho = 0.5, r = 1,
    # law = 0.98 (test_pseudo_conservation_by_hand), sum rho_i^2 = 0.13, K = 0.5 * 0.98 / 0.38;
    # W = K (0.7/0.3, 0.8/0.2).
    p = PollingSystem([0.2, 0.3], [EXP1, Deterministic(1.0)], Deterministic(0.5), "limited", limit=1)
    assert not p.waits_exact
    k = 0.5 * 0.98 / 0.38
    np.testing.assert_allclose(p.mean_wait, [k * 0.7 / 0.3, k * 0.8 / 0.2], rtol=1e-13)
    assert law_gap(p) < 1e-13
    # symmetric: the approximation is Takagi's exact formula
    s = PollingSystem([0.2] * 3, [EXP1] * 3, Deterministic(0.1), "limited", limit=1)
    assert s.waits_exact
    np.testing.assert_allclose(boxma_meister_wait([0.2] * 3, [1.0] * 3, [2.0] * 3, 0.3, 0.09),
                               s.mean_wait, rtol=1e-13)


def test_k_limited_has_no_law():
    # no exact law or waits for k >= 2; the approximate waits are tested in test_polling_k_limited.py
    p = PollingSystem([0.2, 0.2], [EXP1, EXP1], Deterministic(0.1), "limited", limit=2)
    for attr in ("pseudo_conservation", "pseudo_conservation_weights", "work_weighted_wait",
                 "symmetric_mean_wait"):
        with pytest.raises(NoClosedForm, match="k = 2"):
            getattr(p, attr)
    assert p.waits_exact is False and p.mean_wait.shape == (2,)
    assert p.mean_cycle == pytest.approx(0.2 / 0.6)


# --------------------------------------------------------------------------- stability


@pytest.mark.parametrize("discipline", ["exhaustive", "gated", "limited"])
def test_overload_is_unstable(discipline):
    with pytest.raises(UnstableSystem, match="rho = 1") as info:
        PollingSystem([0.5, 0.5], [EXP1, EXP1], Deterministic(0.1), discipline,
                      1 if discipline == "limited" else None)
    assert info.value.utilization == pytest.approx(1.0)


def test_limited_stability_condition():
    # rho = 0.6, r = 2 * 0.5 = 1: 1-limited needs 0.6 + lam_i * 1 / 1 < 1 -> fails for lam_i = 0.4
    with pytest.raises(UnstableSystem, match=r"rho \+ lambda_i E\[R\] / k < 1.*got 1 for queue 1"):
        PollingSystem([0.2, 0.4], [EXP1, Deterministic(1.0)], Deterministic(0.5), "limited", limit=1)
    # k = 2 halves the requirement: 0.6 + 0.4 / 2 = 0.8 < 1
    PollingSystem([0.2, 0.4], [EXP1, Deterministic(1.0)], Deterministic(0.5), "limited", limit=2)
    # exhaustive only needs rho < 1
    PollingSystem([0.2, 0.4], [EXP1, Deterministic(1.0)], Deterministic(0.5))
    with pytest.raises(UnstableSystem, match="'web'"):
        check_polling_stability([0.2, 0.4], [1.0, 1.0], 1.0, "limited", 1, names=["db", "web"])


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(discipline="fifo"), "discipline"),
    (dict(discipline="limited"), "limit must be an integer >= 1"),
    (dict(discipline="limited", limit=0), "limit"),
    (dict(discipline="gated", limit=2), "limit must be None"),
    (dict(switchovers=[Deterministic(0.1)]), "one entry per queue (2"),
    (dict(switchovers=0.1), "switchovers must be a Distribution"),
    (dict(switchovers=[0.1, 0.1]), "switchovers[0]"),
    (dict(switchovers={"a": Deterministic(0.1), "b": Deterministic(0.1)}), "got a dict"),
    (dict(names=["a"]), "names must have one entry per queue"),
    (dict(services=[EXP1]), "one entry per class"),
    (dict(arrival_rates=[0.1, -0.1]), "arrival_rates must be > 0"),
])
def test_bad_input(kwargs, fragment):
    args = dict(arrival_rates=[0.1, 0.2], services=[EXP1, EXP1], switchovers=Deterministic(0.1))
    args.update(kwargs)
    with pytest.raises(InvalidParameter) as info:
        PollingSystem(**args)
    assert fragment in str(info.value)


# --------------------------------------------------------------------------- predict(Scenario)


def polling_scenario(rates, services, discipline="exhaustive", switchover=SWITCH, limit=None, **kw):
    vms = [vm.VM(f"vm{i}", Exponential(lam), s) for i, (lam, s) in enumerate(zip(rates, services, strict=True))]
    return vm.Scenario(kw.pop("pcpus", 1), vms, policy=vm.policies.Polling(discipline, switchover, limit), **kw)


def test_predict_symmetric():
    pred = vm.predict(polling_scenario([0.2] * 3, [EXP1] * 3))
    assert pred.exact and "symmetric" in pred.model
    for group in ("all", "vm0", "vm1", "vm2"):
        assert pred.value("mean_wait", group) == pytest.approx(1.8)
        assert pred.value("mean_response", group) == pytest.approx(2.8)
    assert pred.value("mean_number") == pytest.approx(3 * 0.56)
    assert pred.value("mean_queue_length") == pytest.approx(3 * 0.36)
    assert pred.value("work_weighted_wait") == pytest.approx(1.8)
    assert pred.value("utilization") == pytest.approx(0.6)


@pytest.mark.parametrize("discipline", ["exhaustive", "gated"])
def test_predict_asymmetric_exact_per_vm(discipline):
    switch = {"vm0": Deterministic(0.2), "vm1": Erlang(2, 2.5)}
    sc = polling_scenario([0.2, 0.3], [EXP1, HyperExponential.balanced(1.0, 4.0)], discipline, switchover=switch)
    pred = vm.predict(sc)
    model = PollingSystem([0.2, 0.3], [EXP1, HyperExponential.balanced(1.0, 4.0)],
                          [Deterministic(0.2), Erlang(2, 2.5)], discipline)
    assert pred.exact and "exact per-VM waits" in pred.model and "Takagi" in pred.source
    for i, name in enumerate(["vm0", "vm1"]):
        assert pred.value("mean_wait", name) == pytest.approx(model.mean_wait[i], rel=1e-14)
        assert pred.value("mean_response", name) == pytest.approx(model.mean_wait[i] + 1.0, rel=1e-14)
        assert pred.value("mean_number", name) == pytest.approx(model.mean_number[i], rel=1e-14)
        assert pred.value("mean_queue_length", name) == pytest.approx(model.mean_queue_length[i], rel=1e-14)
    assert pred.value("mean_wait") == pytest.approx((0.2 * model.mean_wait[0] + 0.3 * model.mean_wait[1]) / 0.5)
    assert pred.value("work_weighted_wait") == pytest.approx(model.pseudo_conservation / 0.5, rel=1e-12)
    assert pred.value("utilization", "vm1") == pytest.approx(0.3)


def test_predict_one_limited_and_k_limited_are_approximate():
    lim = vm.predict(polling_scenario([0.2, 0.3], [EXP1, EXP1], "limited", limit=1))
    assert not lim.exact and "Boxma-Meister" in lim.model and "Boxma & Meister" in lim.source
    assert lim.value("mean_wait", "vm1") > lim.value("mean_wait", "vm0")  # the busier VM waits longer
    two = vm.predict(polling_scenario([0.2, 0.3], [EXP1, EXP1], "limited", limit=2))
    assert not two.exact and "mean_wait" in set(two.values["metric"]) and "not from a paper" in two.source
    assert two.value("mean_wait", "vm1") < lim.value("mean_wait", "vm1")  # two jobs per visit: shorter waits


def test_predict_one_vm_is_vacation_model():
    pred = vm.predict(polling_scenario([0.5], [EXP1], switchover=Exponential(5.0)))
    assert pred.value("mean_wait") == pytest.approx(1.0 + 0.2)  # M/M/1 wait + E[V^2]/(2E[V]) = 0.2
    assert "work_weighted_wait" not in set(pred.values["metric"])


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(pcpus=2), "pcpus=2"),
    (dict(capacity=10), "capacity=10"),
])
def test_predict_no_closed_form(kwargs, fragment):
    with pytest.raises(NoClosedForm, match=fragment):
        vm.predict(polling_scenario([0.2, 0.2], [EXP1, EXP1], **kwargs))


def test_switchover_mapping_must_name_every_vm_and_no_other():
    laws = {"vm0": Deterministic(0.1)}
    with pytest.raises(InvalidParameter, match=r"missing \['vm1'\]"):
        polling_scenario([0.2, 0.2], [EXP1, EXP1], switchover=laws)
    laws = {"vm0": Deterministic(0.1), "vm1": Deterministic(0.1), "vm7": Deterministic(0.1)}
    with pytest.raises(InvalidParameter, match=r"unknown \['vm7'\]"):
        polling_scenario([0.2, 0.2], [EXP1, EXP1], switchover=laws)
    with pytest.raises(InvalidParameter, match="switchover\\['vm0'\\] must be a virtmodel.dists Distribution"):
        vm.policies.Polling("gated", {"vm0": 0.1})
    with pytest.raises(InvalidParameter, match="at least one VM"):
        vm.policies.Polling("gated", {})
    with pytest.raises(InvalidParameter, match="Distribution or a dict"):
        vm.policies.Polling("gated", 0.1)
    # the error is a VirtmodelError (and a ValueError)
    assert issubclass(InvalidParameter, vm.errors.VirtmodelError)


def test_unstable_asymmetric_raises():
    with pytest.raises(UnstableSystem, match="utilization must be < 1"):
        polling_scenario([0.5, 0.6], [EXP1, EXP1], "gated", switchover={"vm0": SWITCH, "vm1": SWITCH})
    with pytest.raises(UnstableSystem, match="rho = 1.05"):
        PollingSystem([0.5, 0.55], [EXP1, EXP1], [SWITCH, Deterministic(0.3)], "exhaustive")


def test_predict_needs_poisson():
    vms = [vm.VM("a", Deterministic(5.0), EXP1), vm.VM("b", Exponential(0.2), EXP1)]
    sc = vm.Scenario(1, vms, policy=vm.policies.Polling("gated", Deterministic(0.1)))
    with pytest.raises(NoClosedForm, match=r"Poisson.*\['a'\]"):
        vm.predict(sc)


def test_predict_unstable_limited():
    # rho + lambda_i r / k = 0.6 + 0.3 * 1.4 > 1, although rho = 0.6 < 1
    sc = polling_scenario([0.3, 0.3], [EXP1, EXP1], "limited", switchover=Deterministic(0.7), limit=1)
    with pytest.raises(UnstableSystem, match="k-limited"):
        vm.predict(sc)
    assert math.isfinite(vm.predict(polling_scenario([0.3, 0.3], [EXP1, EXP1], "gated",
                                                     switchover=Deterministic(0.4))).value("utilization"))
