"""k-limited polling (k >= 2): the approximate per-VM waits of :func:`virtmodel.analytic.polling.k_limited_wait`.

The approximation is a heuristic of this package (no published k-limited approximation could be read
while writing it; module docstring of virtmodel.analytic.polling): Boxma & Meister's form with ``r/k``,
scaled by an approximate k-limited pseudo-conservation law that is exact for k = 1.  Checked here:
it satisfies that law to 1e-12; k = 1 is Boxma & Meister's approximation and the exact 1-limited law;
k -> infinity gives the exhaustive law and symmetric exhaustive waits; and its error against an exact
reference -- the truncated Markov chain of a two-queue exponential system with k-limited service -- is
measured and pinned (7.4 % and 4.6 % for k = 2 in the case below).  The simulation comparison is in
tests/sim/test_polling_k_limited.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from scipy.sparse.linalg import spsolve

import virtmodel as vm
from virtmodel.analytic import PollingSystem
from virtmodel.analytic.polling import boxma_meister_wait, k_limited_law, k_limited_wait
from virtmodel.dists import Deterministic, Erlang, Exponential, HyperExponential
from virtmodel.errors import InvalidParameter, NoClosedForm


def limited_ctmc(lam, mu, gamma_rates, limit, cap):
    """Mean waits of two queues under k-limited polling, by brute force (truncated CTMC).

    Exponential service (rates ``mu``) and switchovers (rates ``gamma_rates``, the switch away from
    queue i).  States ('V', i, c, n1, n2): serving queue i, c jobs already served in this visit;
    ('S', i, 0, n1, n2): switching away from queue i.  A visit ends when queue i is empty or ``limit``
    jobs have been served (arrivals during the visit count); ``limit`` None: exhaustive service.  Arrivals
    beyond ``cap`` per queue are lost.
    """
    index, states = {}, []

    def sid(state):
        if state not in index:
            index[state] = len(states)
            states.append(state)
        return index[state]

    def poll(i, n):
        return ("S", i, 0, *n) if n[i] == 0 else ("V", i, 0, *n)

    rows, cols, rates = [], [], []
    sid(("S", 1, 0, 0, 0))
    at = 0
    while at < len(states):
        state = states[at]
        i, served, n = state[1], state[2], list(state[3:])
        moves = []
        for j in range(2):
            if n[j] < cap:
                m = list(n)
                m[j] += 1
                moves.append((lam[j], (*state[:3], *m)))
        if state[0] == "V":
            m = list(n)
            m[i] -= 1
            more = m[i] > 0 and (limit is None or served + 1 < limit)
            count = 0 if limit is None else served + 1  # limit None: exhaustive service, no count kept
            moves.append((mu[i], ("V", i, count, *m) if more else ("S", i, 0, *m)))
        else:
            moves.append((gamma_rates[i], poll(1 - i, n)))
        for rate, nxt in moves:
            rows.append(at)
            cols.append(sid(nxt))
            rates.append(rate)
        at += 1
    size = len(states)
    q = sparse.coo_matrix((rates, (rows, cols)), shape=(size, size)).tocsr()
    q = q - sparse.diags(np.asarray(q.sum(axis=1)).ravel())
    system = sparse.vstack([sparse.csr_matrix(np.ones((1, size))), q.T.tocsr()[1:]]).tocsc()
    rhs = np.zeros(size)
    rhs[0] = 1.0
    pi = spsolve(system, rhs)
    number = [pi @ np.array([s[3 + j] for s in states]) for j in range(2)]
    return np.array([number[j] / lam[j] - 1.0 / mu[j] for j in range(2)])  # Little: W = L / lambda - E[S]


def moments(lam, services, switches):
    s1 = [d.mean for d in services]
    s2 = [d.moment(2) for d in services]
    r = sum(d.mean for d in switches)
    r2 = sum(d.variance for d in switches) + r**2
    return lam, s1, s2, r, r2


def law_gap(lam, s1, s2, r, r2, k):
    weights, rhs = k_limited_law(lam, s1, s2, r, r2, k)
    waits = k_limited_wait(lam, s1, s2, r, r2, k)
    return float(np.dot(weights * np.asarray(lam) * np.asarray(s1), waits)) / rhs - 1.0


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 5), k=st.integers(1, 6), load=st.floats(0.05, 0.9), seed=st.integers(0, 10**6))
def test_satisfies_its_law_to_1e_12(n, k, load, seed):
    rng = np.random.default_rng(seed)
    share = rng.dirichlet(np.ones(n))
    s1 = rng.uniform(0.2, 3.0, n)
    lam = load * share / s1
    s2 = s1**2 * rng.uniform(1.0, 4.0, n)
    rho = load
    r = float(rng.uniform(0.01, 1.0))
    headroom = (1.0 - rho) * k / float(lam.max())
    r = min(r, 0.9 * headroom)  # the k-limited stability condition rho + lambda_i r / k < 1
    r2 = r**2 * float(rng.uniform(1.0, 3.0))
    assert abs(law_gap(lam, s1, s2, r, r2, k)) < 1e-12
    assert np.all(k_limited_wait(lam, s1, s2, r, r2, k) > 0)


ASYM = [([0.2, 0.3, 0.1], [Exponential(1.0), Deterministic(1.0), Erlang(2, 1.0)],
         [Deterministic(0.1), Exponential(5.0), Deterministic(0.3)]),
        ([0.15, 0.35], [HyperExponential.balanced(1.0, 4.0), Exponential(1.5)], [Exponential(5.0)] * 2)]


@pytest.mark.parametrize("lam, services, switches", ASYM)
def test_k_one_is_boxma_meister_and_the_exact_one_limited_law(lam, services, switches):
    args = moments(lam, services, switches)
    np.testing.assert_allclose(k_limited_wait(*args, 1), boxma_meister_wait(*args), rtol=1e-13)
    weights, rhs = k_limited_law(*args, 1)
    exact = PollingSystem(lam, services, switches, "limited", limit=1)  # Boxma & Groenendijk (1987)
    np.testing.assert_allclose(weights, exact.pseudo_conservation_weights, rtol=1e-13)
    assert rhs == pytest.approx(exact.pseudo_conservation, rel=1e-13)


def test_k_one_symmetric_is_takagis_exact_formula():
    p = PollingSystem([0.2] * 3, [Exponential(1.0)] * 3, Exponential(10.0), "limited", limit=1)
    args = moments([0.2] * 3, [Exponential(1.0)] * 3, [Exponential(10.0)] * 3)
    np.testing.assert_allclose(k_limited_wait(*args, 1), p.symmetric_mean_wait, rtol=1e-13)


@pytest.mark.parametrize("lam, services, switches", ASYM)
def test_large_k_tends_to_the_exhaustive_law(lam, services, switches):
    args = moments(lam, services, switches)
    exhaustive = PollingSystem(lam, services, switches, "exhaustive")
    weights, rhs = k_limited_law(*args, 10**9)
    np.testing.assert_allclose(weights, 1.0, atol=1e-8)
    assert rhs == pytest.approx(exhaustive.pseudo_conservation, rel=1e-8)
    rho_i = np.asarray(lam) * np.asarray(args[1])
    assert float(rho_i @ k_limited_wait(*args, 10**9)) == pytest.approx(exhaustive.pseudo_conservation, rel=1e-8)


def test_large_k_symmetric_is_the_exhaustive_closed_form():
    services, switches = [Erlang(2, 2.0)] * 3, [Exponential(10.0)] * 3
    args = moments([0.25] * 3, services, switches)
    exhaustive = PollingSystem([0.25] * 3, services, switches, "exhaustive")
    np.testing.assert_allclose(k_limited_wait(*args, 10**9), exhaustive.symmetric_mean_wait, rtol=1e-8)


def test_waits_fall_as_k_grows():
    args = moments(*ASYM[0])
    waits = np.array([k_limited_wait(*args, k) for k in (1, 2, 3, 5, 10)])
    assert np.all(np.diff(waits, axis=0) < 0)


def test_ctmc_reads_k_limited_service_right():
    """The brute-force chain with k = 1 satisfies the exact 1-limited law (Boxma & Groenendijk 1987),
    so its visit rule is the one the law assumes; with no limit it is exhaustive service."""
    lam, mu, gam = [0.2, 0.4], [1.0, 1.0], [5.0, 5.0]
    exact = limited_ctmc(lam, mu, gam, 1, 25)
    p = PollingSystem(lam, [Exponential(1.0)] * 2, [Exponential(5.0)] * 2, "limited", limit=1)
    lhs = float(np.dot(p.pseudo_conservation_weights * p.utilization, exact))
    assert lhs == pytest.approx(p.pseudo_conservation, rel=1e-3)  # truncation at 25 jobs per queue
    big = limited_ctmc(lam, mu, gam, None, 25)
    np.testing.assert_allclose(big, PollingSystem(lam, [Exponential(1.0)] * 2, [Exponential(5.0)] * 2).mean_wait,
                               rtol=1e-3)


def test_error_against_the_exact_two_queue_chain():
    """k = 2, lambda = (0.2, 0.4), exponential service of mean 1 and switches of mean 0.2 (rho = 0.6).

    Exact (chain, 25 jobs per queue; 35 changes the waits by < 1e-4 relative): W = (1.7775, 2.7368).
    The heuristic gives (1.9091, 2.8636): +7.4 % and +4.6 %.  Its law's right-hand side, 1.26, exceeds
    the exact weighted sum, 1.196, by 5 %: the assumed jobs-left-behind term is too large here.
    Pinned so that a change to the approximation shows up; the bound is not a claim of accuracy elsewhere
    (for lambda = (0.3, 0.4), E[S] = (1, 0.5), switches of mean 0.3 and 0.7 the errors are +24 % and +2 %,
    measured with a 60-job chain while writing this; Boxma & Meister's k = 1 errors there are +12 % and -15 %).
    """
    lam, mu, gam = [0.2, 0.4], [1.0, 1.0], [5.0, 5.0]
    exact = limited_ctmc(lam, mu, gam, 2, 25)
    np.testing.assert_allclose(exact, [1.7775, 2.7368], rtol=2e-4)
    p = PollingSystem(lam, [Exponential(1.0)] * 2, [Exponential(5.0)] * 2, "limited", limit=2)
    np.testing.assert_allclose(p.mean_wait, [1.90909, 2.86364], rtol=1e-5)
    error = p.mean_wait / exact - 1.0
    np.testing.assert_allclose(error, [0.074, 0.046], atol=0.002)


def test_polling_system_and_predict_mark_it_approximate():
    lam, services, switches = ASYM[0]
    p = PollingSystem(lam, services, switches, "limited", limit=2)
    assert p.waits_exact is False
    np.testing.assert_allclose(p.mean_wait, k_limited_wait(*moments(lam, services, switches), 2), rtol=1e-14)
    for attr in ("pseudo_conservation", "pseudo_conservation_weights", "symmetric_mean_wait"):
        with pytest.raises(NoClosedForm, match="k = 2"):  # no exact law and no exact waits for k >= 2
            getattr(p, attr)
    vms = [vm.VM(f"vm{i}", Exponential(rate), s) for i, (rate, s) in enumerate(zip(lam, services, strict=True))]
    sc = vm.Scenario(1, vms, policy=vm.policies.Polling("limited", {f"vm{i}": d for i, d in enumerate(switches)}, 2))
    pred = vm.predict(sc)
    assert not pred.exact and "2-limited" in pred.model and "not from a paper" in pred.source
    for i in range(3):
        assert pred.value("mean_wait", f"vm{i}") == pytest.approx(p.mean_wait[i], rel=1e-14)
        assert pred.value("mean_queue_length", f"vm{i}") == pytest.approx(lam[i] * p.mean_wait[i], rel=1e-14)
    assert pred.value("utilization") == pytest.approx(sum(r * s.mean for r, s in zip(lam, services, strict=True)))


def test_bad_limit():
    with pytest.raises(InvalidParameter, match="limit"):
        k_limited_wait([0.2], [1.0], [2.0], 0.1, 0.01, 0)
