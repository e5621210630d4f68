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

Results (exact under the assumptions: Poisson arrivals, i.i.d. service per
queue, independent switchovers, one server; the one approximation, for
asymmetric 1-limited waits, is marked):

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

* **Asymmetric exhaustive and gated systems: exact per-queue waits** by the
  buffer-occupancy method (Cooper & Murray 1969; Cooper 1970; Takagi 1986,
  ch. 3; Takagi 1988, §3; Levy & Sidi 1990).  Let ``X^(i)`` be the vector of
  queue contents at the polling epoch of queue i, with first moments
  ``m_i = E[X^(i)]`` and factorial second moments
  ``G_i = E[X^(i) X^(i)^T] - diag(m_i)`` (entries ``f_i(j,k)``; on the
  diagonal ``E[X_j(X_j - 1)]``).  Queue i
  holds ``x_i`` jobs at its polling epoch; its visit lasts
  ``V = B_1 + ... + B_{x_i}`` with ``B`` a busy period of the M/G/1 queue
  (lambda_i, S_i) for exhaustive service (``E[B] = E[S_i]/(1-rho_i)``,
  ``E[B^2] = E[S_i^2]/(1-rho_i)^3``) and ``B = S_i`` for gated service.
  During ``V`` queue j gets Poisson(``a_j V``) jobs, ``a = lambda`` except
  ``a_i = 0`` for exhaustive service (queue i is empty when it ends); the
  switchover ``R_i`` then brings Poisson(``lambda_j R_i``) to every queue.  So
  ``X^(i+1) = D_i X^(i) + N(V) + N(R_i)`` with ``D_i`` the identity without
  its i-th one, and, with ``P_i = D_i + E[B] a e_i^T``:

  .. math:: m_{i+1} = P_i m_i + \\lambda E[R_i],

  .. math:: G_{i+1} = P_i G_i P_i^T + m_{i,i} E[B^2]\\, a a^T
            + E[R_i]\\bigl(P_i m_i \\lambda^T + \\lambda (P_i m_i)^T\\bigr)
            + E[R_i^2]\\, \\lambda\\lambda^T

  (the first- and second-moment equations of the buffer-occupancy method, obtained
  by differentiating Takagi's PGF recursion
  ``F_{i+1}(z) = R_i^*(sum_j lambda_j(1-z_j)) F_i(z_1, ..., B_i^*(sum_j a_j (1-z_j)), ..., z_N)``
  once and twice at z = 1; with factorial moments every term is positive,
  so nothing cancels in light traffic).  Going once round the cycle,
  ``m_0 = Q m_0 + c`` and ``G_0 = Q G_0 Q^T + C`` with ``Q = P_{N-1} ... P_0``: a linear system
  and a Stein (discrete Lyapunov) equation, solved with numpy and
  :func:`scipy.linalg.solve_discrete_lyapunov`; the other epochs follow by
  the recursion.  The diagonal factorial moment
  ``f_i(i,i) = E[X_i^(i)(X_i^(i) - 1)]`` then gives the waits
  (Takagi 1988, eqs. for exhaustive and gated service; Levy & Sidi 1990):

  .. math:: W_i^{exh} = \\frac{f_i(i,i)}{2\\lambda_i f_i(i)} + \\frac{\\lambda_i E[S_i^2]}{2(1-\\rho_i)}
            = \\frac{E[I_i^2]}{2E[I_i]} + \\frac{\\lambda_i E[S_i^2]}{2(1-\\rho_i)}, \\qquad
            W_i^{gated} = (1+\\rho_i)\\frac{f_i(i,i)}{2\\lambda_i f_i(i)} = (1+\\rho_i)\\frac{E[C_i^2]}{2E[C]},

  since the jobs at queue i's polling epoch are the Poisson arrivals of the
  intervisit time ``I_i`` (exhaustive) or of the cycle ``C_i`` between two
  polls of queue i (gated): ``f_i(i) = lambda_i E[I_i]``,
  ``f_i(i,i) = lambda_i^2 E[I_i^2]``.  The exhaustive wait is the
  Fuhrmann–Cooper decomposition (M/G/1 wait plus the residual intervisit
  time); the gated one is the residual cycle plus the work of the queue-i
  jobs that arrived earlier in the same cycle.  This is the same solution as
  Takagi's (1988, eq. 15 and eq. 20) system for the cross-moments of the visit
  times: the two agree to rounding (checked while writing this module), and
  the tests check it against the symmetric formulas, the pseudo-conservation
  law, the one-queue vacation model and a brute-force Markov chain.
* **Asymmetric 1-limited systems: Boxma & Meister's approximation**
  (Boxma & Meister, "Waiting-time approximations for cyclic-service systems
  with switch-over times", Performance Evaluation Review 14(1) (1986)
  254-262, SIGMETRICS/Performance '86; also Boxma & Meister 1987), not exact:

  .. math:: W_i \\approx \\frac{1-\\rho+\\rho_i}{1-\\rho-\\lambda_i r}\\;
            \\frac{1-\\rho}{\\rho(1-\\rho) + \\sum_j\\rho_j^2}\\;
            \\Bigl[\\frac{\\rho W_0}{1-\\rho} + \\rho\\frac{E[R^2]}{2r}
            + \\frac{r}{2(1-\\rho)}\\Bigl(\\rho^2 + \\sum_j\\rho_j^2\\Bigr)\\Bigr],

  the form ``W_i = K (1-rho+rho_i)/(1-rho-lambda_i r)`` with K fixed by the
  exact 1-limited pseudo-conservation law, so the approximation satisfies the
  law exactly and equals Takagi's symmetric formula in symmetric systems.
  Boxma & Meister report errors of a few per cent except in heavy, very
  asymmetric traffic.
* **k-limited service, k >= 2: a heuristic of this module** (not taken from
  a paper: no published k-limited approximation could be read and checked
  while writing it).  The work decomposition gives, for any discipline,
  ``sum_i rho_i W_i = [exhaustive right-hand side] + sum_i E[M_i]`` with
  ``M_i`` the work left at queue i when a visit to it ends (Boxma &
  Groenendijk 1987).  For k-limited service
  ``E[M_i] = E[S_i] E[N_i]`` where ``N_i``, the jobs left behind, has
  ``E[N_i] = E[X_i] - lambda_i E[C] (1 - rho_i)`` (``X_i`` the jobs found at
  the polling epoch; ``lambda_i E[C]`` jobs are served per visit), and
  ``E[X_i]`` is unknown for k >= 2 -- hence no exact law.  For k = 1,
  ``E[N_i] = lambda_i E[C] (lambda_i W_i + rho_i)`` for every queue (checked
  on a brute-force Markov chain while writing this) and summing it gives the
  exact 1-limited law; the heuristic assumes
  ``E[N_i] = lambda_i E[C] (lambda_i W_i + rho_i) / k`` (a visit clears up
  to k jobs; for k = 2 in the two-queue case below this gives 0.056 and
  0.299 jobs where the chain has 0.035 and 0.256), which gives the
  *approximate* law

  .. math:: \\sum_i \\rho_i\\Bigl(1 - \\frac{\\lambda_i r}{k(1-\\rho)}\\Bigr) W_i
            = \\frac{\\rho W_0}{1-\\rho} + \\rho\\frac{E[R^2]}{2r}
            + \\frac{r}{2(1-\\rho)}\\Bigl(\\rho^2 - \\sum_i\\rho_i^2\\Bigr)
            + \\frac{r}{k(1-\\rho)}\\sum_i\\rho_i^2,

  exact for k = 1 (the 1-limited law above) and tending to the exhaustive
  law as k -> infinity; its weights are positive exactly when the k-limited
  stability condition holds.  The waits then take Boxma & Meister's form with
  ``r`` replaced by ``r / k``,
  ``W_i = K (1-rho+rho_i)/(1-rho-lambda_i r/k)``, K fixed by that law
  (:func:`k_limited_wait`; k = 1 is :func:`boxma_meister_wait` itself).
  Marked ``exact=False``.  Measured errors (k = 2): +7.4 % and +4.6 %
  against the exact two-queue Markov chain of
  tests/analytic/test_polling_k_limited.py; +10 %, -4 % and +28 % against
  simulation in a three-VM case of tests/sim/test_polling_k_limited.py (the
  worst for a lightly loaded VM with long service and switchover).  It
  tends to overestimate: its law's right-hand side exceeded the exact
  weighted sum by 5 % in the two-queue case.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import _fmt, positive_int
from ..dists import Distribution
from ..errors import InvalidParameter, NoClosedForm, UnstableSystem
from .scheduling import _moments, _PerClassRates, _rates, _services

__all__ = ["PollingSystem", "check_polling_stability", "buffer_occupancy", "boxma_meister_wait", "k_limited_wait",
           "k_limited_law"]

DISCIPLINES = ("exhaustive", "gated", "limited")

BUFFER_OCCUPANCY = ("buffer-occupancy method: Takagi, Analysis of Polling Systems, MIT Press (1986), ch. 3; "
                    "Takagi, ACM Comput. Surv. 20 (1988) 5-28, eqs. 15 and 20; Levy & Sidi, IEEE Trans. Commun. "
                    "38 (1990) 1750-1760")
BOXMA_MEISTER = ("Boxma & Meister, 'Waiting-time approximations for cyclic-service systems with switch-over times', "
                 "Perform. Eval. Rev. 14(1) (1986) 254-262")
BOXMA_GROENENDIJK = ("Boxma & Groenendijk, 'Pseudo-conservation laws in cyclic-service systems', "
                     "J. Appl. Prob. 24 (1987) 949-964")
K_LIMITED = ("k-limited heuristic of virtmodel.analytic.polling (not from a paper): Boxma & Meister's form "
             "with r/k, scaled by an approximate k-limited pseudo-conservation law that is exact for k = 1")
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


def buffer_occupancy(arrival_rates, service_means, service_second_moments, switchover_means,
                     switchover_second_moments, discipline):
    """First and factorial second moments of the queue contents at every polling epoch (exhaustive or gated).

    Solves the buffer-occupancy equations of the module docstring: the
    first-moment recursion ``m_{i+1} = P_i m_i + lambda E[R_i]`` round the
    cycle (a linear system) and the second-moment recursion (a Stein
    equation, :func:`scipy.linalg.solve_discrete_lyapunov`).

    Parameters
    ----------
    arrival_rates, service_means, service_second_moments : sequence of float
        ``lambda_i``, ``E[S_i]``, ``E[S_i^2]`` per queue.
    switchover_means, switchover_second_moments : sequence of float
        ``E[R_i]``, ``E[R_i^2]`` of the switchover after queue i.
    discipline : {"exhaustive", "gated"}

    Returns
    -------
    first : ndarray, shape (N, N)
        ``first[i, j]`` = mean number of queue-j jobs at the polling epoch of queue i.
    second : ndarray, shape (N, N, N)
        ``second[i, j, k]`` = ``f_i(j,k)``, the factorial moment ``E[X_j X_k] - [j = k] E[X_j]`` at the
        polling epoch of queue i.

    Examples
    --------
    One queue is the M/G/1 queue with multiple vacations: the jobs found at a
    poll are the arrivals during the vacation (exhaustive), lambda E[R]:

    >>> first, second = buffer_occupancy([0.5], [1.0], [2.0], [0.4], [0.2], "exhaustive")
    >>> round(float(first[0, 0]), 12), round(float(second[0, 0, 0]), 12)   # lambda E[R], lambda^2 E[R^2]
    (0.2, 0.05)
    """
    from scipy.linalg import solve_discrete_lyapunov

    lam = np.asarray(arrival_rates, dtype=float)
    s1 = np.asarray(service_means, dtype=float)
    s2 = np.asarray(service_second_moments, dtype=float)
    r1 = np.asarray(switchover_means, dtype=float)
    r2 = np.asarray(switchover_second_moments, dtype=float)
    n = lam.size
    rho_i = lam * s1
    if discipline == "exhaustive":  # a visit is x_i busy periods of the M/G/1 queue (lambda_i, S_i)
        b1, b2 = s1 / (1.0 - rho_i), s2 / (1.0 - rho_i) ** 3
    elif discipline == "gated":  # a visit is x_i services
        b1, b2 = s1, s2
    else:
        raise InvalidParameter(f"discipline must be 'exhaustive' or 'gated' here, got {discipline!r}")
    eye = np.eye(n)
    lam_outer = np.outer(lam, lam)
    maps, noise = [], []
    for i in range(n):
        a = lam.copy()  # arrival rates counted during the visit of queue i
        if discipline == "exhaustive":
            a[i] = 0.0  # queue i is empty when an exhaustive visit ends
        keep = eye.copy()
        keep[i, i] = 0.0  # the x_i jobs present leave during the visit
        maps.append(keep + b1[i] * np.outer(a, eye[i]))
        noise.append(b2[i] * np.outer(a, a))

    def first_step(i, m):
        return maps[i] @ m + lam * r1[i]

    def second_step(i, m, mm):
        pm = maps[i] @ m
        return (maps[i] @ mm @ maps[i].T + m[i] * noise[i] + r1[i] * (np.outer(pm, lam) + np.outer(lam, pm))
                + r2[i] * lam_outer)

    cycle = eye.copy()
    offset = np.zeros(n)
    for i in range(n):
        cycle = maps[i] @ cycle
        offset = first_step(i, offset)
    # each solve with one step of iterative refinement (the residual solved again and added): with a
    # nearly idle queue beside a busy one the plain solves were off by 1e-9 relative (hypothesis found
    # lambda_1 = 5.6e-5, E[S_1] = 26 against E[S_2] = 0.25), the refined ones agree with the exact
    # derivation to 1e-15
    fixed = eye - cycle
    first = np.linalg.solve(fixed, offset)
    first = [first + np.linalg.solve(fixed, offset - fixed @ first)]
    for i in range(n - 1):
        first.append(first_step(i, first[-1]))
    constant = np.zeros((n, n))
    for i in range(n):
        constant = second_step(i, first[i], constant)
    second = solve_discrete_lyapunov(cycle, constant)  # X = C X C^T + Q
    second = [second + solve_discrete_lyapunov(cycle, constant - second + cycle @ second @ cycle.T)]
    for i in range(n - 1):
        second.append(second_step(i, first[i], second[-1]))
    second = [(mm + mm.T) / 2.0 for mm in second]
    return np.array(first), np.array(second)


def boxma_meister_wait(arrival_rates, service_means, service_second_moments, total_switchover_mean,
                       total_switchover_second_moment) -> np.ndarray:
    """Boxma & Meister's (1986) approximate mean waits of asymmetric 1-limited polling (not exact).

    ``W_i = K (1 - rho + rho_i) / (1 - rho - lambda_i r)`` with ``K`` chosen so
    that the exact 1-limited pseudo-conservation law holds (module docstring).

    Examples
    --------
    Symmetric systems get Takagi's exact formula (the numbers of
    :class:`PollingSystem`'s 1-limited example, 1.56 / 0.68):

    >>> round(float(boxma_meister_wait([0.2] * 3, [1.0] * 3, [2.0] * 3, 0.3, 0.09)[0]), 12)
    2.294117647059
    """
    lam = np.asarray(arrival_rates, dtype=float)
    rho_i = lam * np.asarray(service_means, dtype=float)
    rho = float(rho_i.sum())
    r, r2 = float(total_switchover_mean), float(total_switchover_second_moment)
    w0 = float(np.sum(lam * np.asarray(service_second_moments, dtype=float))) / 2.0
    squares = float(np.sum(rho_i**2))
    law = rho * w0 / (1.0 - rho) + rho * r2 / (2.0 * r) + r / (2.0 * (1.0 - rho)) * (rho**2 + squares)
    scale = (1.0 - rho) * law / (rho * (1.0 - rho) + squares)
    return scale * (1.0 - rho + rho_i) / (1.0 - rho - lam * r)


def k_limited_law(arrival_rates, service_means, service_second_moments, total_switchover_mean,
                  total_switchover_second_moment, limit) -> tuple[np.ndarray, float]:
    """Weights and right-hand side of the approximate k-limited law ``sum_i w_i rho_i W_i = rhs``.

    ``w_i = 1 - lambda_i r / (k (1 - rho))``; ``rhs`` as in the module
    docstring (exact for k = 1: Boxma & Groenendijk 1987; a heuristic for k >= 2).
    """
    lam = np.asarray(arrival_rates, dtype=float)
    rho_i = lam * np.asarray(service_means, dtype=float)
    rho = float(rho_i.sum())
    r, r2, k = float(total_switchover_mean), float(total_switchover_second_moment), float(limit)
    w0 = float(np.sum(lam * np.asarray(service_second_moments, dtype=float))) / 2.0
    squares = float(np.sum(rho_i**2))
    rhs = (rho * w0 / (1.0 - rho) + rho * r2 / (2.0 * r) + r / (2.0 * (1.0 - rho)) * (rho**2 - squares)
           + r / (k * (1.0 - rho)) * squares)
    return 1.0 - lam * r / (k * (1.0 - rho)), rhs


def k_limited_wait(arrival_rates, service_means, service_second_moments, total_switchover_mean,
                   total_switchover_second_moment, limit) -> np.ndarray:
    """Approximate mean waits of k-limited polling (a heuristic of this module, not exact).

    ``W_i = K (1 - rho + rho_i) / (1 - rho - lambda_i r / k)`` with ``K``
    chosen so that the approximate k-limited law (:func:`k_limited_law`,
    module docstring) holds:
    ``K = (1 - rho) rhs / (rho (1 - rho) + sum_j rho_j^2)``.  For k = 1 this is
    Boxma & Meister's (1986) approximation and the law is exact; for k >= 2
    neither is (see the module docstring for the assumption made).

    Examples
    --------
    k = 1 is Boxma & Meister's approximation:

    >>> args = ([0.2, 0.3], [1.0, 1.0], [2.0, 2.0], 0.5, 0.25)
    >>> bool(np.allclose(k_limited_wait(*args, 1), boxma_meister_wait(*args), rtol=1e-13))
    True
    >>> [round(float(w), 4) for w in k_limited_wait(*args, 2)]
    [1.5351, 1.8576]
    """
    k = positive_int("limit", limit)
    lam = np.asarray(arrival_rates, dtype=float)
    rho_i = lam * np.asarray(service_means, dtype=float)
    rho = float(rho_i.sum())
    r = float(total_switchover_mean)
    _, rhs = k_limited_law(arrival_rates, service_means, service_second_moments, r,
                           total_switchover_second_moment, k)
    scale = (1.0 - rho) * rhs / (rho * (1.0 - rho) + float(np.sum(rho_i**2)))
    return scale * (1.0 - rho + rho_i) / (1.0 - rho - lam * r / k)


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
    names : sequence of str, optional
        Queue (VM) names, for error messages only.

    Notes
    -----
    Properties: ``utilization`` / ``throughput`` (per queue, exact), ``overall_*``,
    ``mean_cycle``, ``pseudo_conservation`` (the right-hand side of the law),
    ``pseudo_conservation_weights``, ``work_weighted_wait``, ``symmetric``,
    ``waits_exact`` and ``mean_wait``, ``mean_response``, ``mean_number``,
    ``mean_queue_length`` per queue: exact for exhaustive and gated service
    (any asymmetry; buffer-occupancy method) and for symmetric 1-limited
    service; Boxma & Meister's approximation for asymmetric 1-limited service
    (``waits_exact`` is then False).  ``buffer_occupancy`` gives the moments
    of the queue contents at the polling epochs.  See the module docstring
    for the formulas and their sources.

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

    Two unlike VMs, one law per switch (exact per-VM waits; their work-weighted
    sum is the pseudo-conservation law):

    >>> q = PollingSystem([0.2, 0.3], [Exponential(1.0), Deterministic(1.0)],
    ...                   [Deterministic(0.2), Deterministic(0.8)], "gated")
    >>> q.mean_wait.round(6).tolist(), q.waits_exact
    ([1.907644, 1.994904], True)
    >>> bool(abs(q.utilization @ q.mean_wait - q.pseudo_conservation) < 1e-12)
    True
    """

    arrival_rates: object
    services: object
    switchovers: object
    discipline: str = "exhaustive"
    limit: int | None = None
    names: tuple | None = None

    def __post_init__(self):
        limit = _discipline(self.discipline, self.limit)
        lam = _rates(self.arrival_rates)
        n = lam.size
        services = _services(self.services, n, need_distribution=False)
        sw = self.switchovers
        if isinstance(sw, Distribution):
            sw = (sw,) * n
        elif isinstance(sw, dict):
            raise InvalidParameter(
                "switchovers must be a Distribution or a sequence of them in queue order, got a dict; a "
                "{vm_name: law} mapping belongs in vm.policies.Polling, whose Scenario knows the VM order")
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
        if self.names is not None:
            set_(self, "names", tuple(self.names))
            if len(self.names) != n:
                raise InvalidParameter(f"names must have one entry per queue ({n}), got {len(self.names)}")
        check_polling_stability(lam, s1, r, self.discipline, limit, names=self.names)
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
        """Whether the queues are alike (Takagi's symmetric formulas apply)."""
        return self._asymmetry() is None

    @property
    def waits_exact(self) -> bool:
        """Whether :attr:`mean_wait` is exact: exhaustive, gated, or symmetric 1-limited service.

        False for asymmetric 1-limited service (Boxma & Meister's approximation)
        and for k-limited service with k >= 2 (:func:`k_limited_wait`, a heuristic).
        """
        if self.discipline in ("exhaustive", "gated"):
            return True
        if self.limit != 1:
            return False
        return self.symmetric

    @property
    def buffer_occupancy(self) -> tuple[np.ndarray, np.ndarray]:
        """``(first, second)`` moments of the queue contents at the polling epochs (exhaustive, gated).

        ``first[i, j]``: mean number of queue-j jobs when the pCPU polls queue
        i; ``second[i, j, k]``: the factorial moment ``f_i(j,k)`` then.  See :func:`buffer_occupancy`.

        Raises
        ------
        NoClosedForm
            For k-limited service.
        """
        if self.discipline not in ("exhaustive", "gated"):
            raise NoClosedForm("the buffer-occupancy moments are implemented for exhaustive and gated service")
        cached = self.__dict__.get("_occupancy")
        if cached is None:
            cached = buffer_occupancy(self.arrival_rates, self._s1, self._s2, self._r1,
                                      self._rvar + self._r1**2, self.discipline)
            object.__setattr__(self, "_occupancy", cached)
        return cached

    @property
    def mean_wait(self) -> np.ndarray:
        """Mean wait before service of each queue.

        Exhaustive and gated: exact for any (asymmetric) system, from the
        buffer-occupancy moments ``f_i(i) = E[X_i]`` and
        ``f_i(i,i) = E[X_i(X_i - 1)]`` at queue i's polling epoch:
        ``W_i = f_i(i,i)/(2 lambda_i f_i(i)) + lambda_i E[S_i^2]/(2(1-rho_i))``
        (exhaustive) and ``W_i = (1+rho_i) f_i(i,i)/(2 lambda_i f_i(i))``
        (gated) (Takagi 1988; module docstring).  1-limited: Takagi's exact
        symmetric formula, else Boxma & Meister's (1986) approximation
        (:attr:`waits_exact` False).  k-limited, k >= 2: the approximation
        :func:`k_limited_wait` (not exact, even when symmetric).
        """
        exact = self.waits_exact
        if self.discipline in ("exhaustive", "gated"):
            first, second = self.buffer_occupancy
            idx = np.arange(self.queues)
            found = first[idx, idx]  # f_i(i)
            factorial = second[idx, idx, idx]  # f_i(i, i)
            lam, rho_i = self.arrival_rates, self._rho
            residual = factorial / (2.0 * lam * found)
            if self.discipline == "exhaustive":
                return self._readonly(residual + lam * self._s2 / (2.0 * (1.0 - rho_i)))
            return self._readonly((1.0 + rho_i) * residual)
        if self.limit != 1:
            return self._readonly(k_limited_wait(self.arrival_rates, self._s1, self._s2, self._r,
                                                 self.total_switchover_second_moment, self.limit))
        if not exact:
            return self._readonly(boxma_meister_wait(self.arrival_rates, self._s1, self._s2, self._r,
                                                     self.total_switchover_second_moment))
        n = self.queues
        lam, es2 = float(self.arrival_rates[0]), float(self._s2[0])
        r1, delta2 = float(self._r1[0]), float(self._rvar[0])
        rho = self.overall_utilization
        w = delta2 / (2.0 * r1) + (n * lam * es2 + r1 * (n + rho) + n * lam * delta2) / (
            2.0 * (1.0 - rho - n * lam * r1))
        return self._readonly(np.full(n, w))

    @property
    def symmetric_mean_wait(self) -> np.ndarray:
        """Takagi's (1986, ch. 4) closed forms for symmetric systems, per queue.

        Exhaustive: ``delta^2/(2 r_1) + (N lambda E[S^2] + r_1 (N - rho))/(2(1 - rho))``; gated:
        ``r_1 (N + rho)`` instead; 1-limited as in the module docstring.

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
        """``W_i + E[S_i]`` per queue."""
        return self._readonly(self.mean_wait + self._s1)

    @property
    def mean_number(self) -> np.ndarray:
        """``lambda_i (W_i + E[S_i])`` jobs in system per queue (Little's law)."""
        return self._readonly(self.arrival_rates * self.mean_response)

    @property
    def mean_queue_length(self) -> np.ndarray:
        """``lambda_i W_i`` waiting jobs per queue (Little's law)."""
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
                         policy.switchovers(scenario.names), policy.discipline, policy.limit,
                         names=scenario.names)


@solves(Polling)
def _polling(scenario) -> Prediction:
    """Polling on one pCPU: exact utilization and throughput; per-VM waits exact or approximate.

    Exhaustive and gated: exact per-VM waits (buffer-occupancy method).
    1-limited: exact when symmetric, Boxma & Meister's approximation otherwise
    (``exact=False``).  k-limited (k >= 2): exact utilization and throughput,
    per-VM waits from the heuristic :func:`k_limited_wait` (``exact=False``).
    """
    model = _polling_model(scenario)
    kind = model.discipline if model.discipline != "limited" else f"{model.limit}-limited"
    names = scenario.names
    several = len(names) > 1
    util, thr = model.utilization, model.throughput
    rows = [("utilization", "all", model.overall_utilization), ("throughput", "all", model.overall_throughput)]
    if several:
        for i, name in enumerate(names):
            rows += [("utilization", name, float(util[i])), ("throughput", name, float(thr[i]))]
    try:
        exact = model.waits_exact
    except NoClosedForm:
        name = f"M/G/1 cyclic polling, {kind} (utilization and throughput only)"
        source = f"stability: {STABILITY}"
        return Prediction(_frame([(m, g, float(v)) for m, g, v in rows]), True, name, source)
    wait, resp = model.mean_wait, model.mean_response
    number, qlen = model.mean_number, model.mean_queue_length
    lam = model.overall_throughput
    rows += [("mean_wait", "all", float(np.dot(thr, wait)) / lam),
             ("mean_response", "all", float(np.dot(thr, resp)) / lam),
             ("mean_number", "all", float(number.sum())),
             ("mean_queue_length", "all", float(qlen.sum()))]
    if several:
        rows.append(("work_weighted_wait", "all", float(np.dot(util, wait)) / model.overall_utilization))
        for i, name in enumerate(names):
            rows += [("mean_wait", name, float(wait[i])), ("mean_response", name, float(resp[i])),
                     ("mean_number", name, float(number[i])), ("mean_queue_length", name, float(qlen[i]))]
    if model.discipline in ("exhaustive", "gated"):
        alike = ", symmetric" if model.symmetric else ""
        name = f"M/G/1 cyclic polling, {kind}{alike} (exact per-VM waits, buffer-occupancy method)"
        source = f"{BUFFER_OCCUPANCY}; {BOXMA_GROENENDIJK} (check); stability: {STABILITY}"
    elif exact:
        name = f"M/G/1 cyclic polling, {kind}, symmetric (exact per-VM waits)"
        source = f"{TAKAGI} (symmetric systems); {BOXMA_GROENENDIJK}; stability: {STABILITY}"
    elif model.limit != 1:
        name = (f"M/G/1 cyclic polling, {kind} (approximate per-VM waits: Boxma-Meister form with r/k and an "
                "approximate pseudo-conservation law; utilization and throughput exact)")
        source = f"{K_LIMITED}; {BOXMA_MEISTER}; {BOXMA_GROENENDIJK}; stability: {STABILITY}"
    else:
        name = (f"M/G/1 cyclic polling, {kind} (Boxma-Meister approximation of per-VM waits; utilization, "
                "throughput and the pseudo-conservation law exact)")
        source = f"{BOXMA_MEISTER}; {BOXMA_GROENENDIJK}; stability: {STABILITY}"
    rows = [(m, g, float(v)) for m, g, v in rows]
    return Prediction(_frame(rows), exact, name, source)
