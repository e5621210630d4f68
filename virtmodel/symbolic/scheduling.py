"""Derivations for scheduling policies on one M/G/1 hypervisor pCPU.

Priority (non-preemptive and preemptive-resume), Kleinrock's conservation law
and delay-dependent priority, processor sharing, SRPT, PSJF, non-preemptive
SJF and round robin with a switch cost per dispatch.  The numeric counterparts
live in :mod:`virtmodel.analytic.scheduling`.

Each builder does its algebra with sympy: mean-value equations are solved
with :func:`sympy.solve`, series are summed with :func:`sympy.summation` and
integrals taken with :func:`sympy.integrate`; results that are stated rather
than derived (Schrage-Miller, insensitivity of PS, Kleinrock's counting
argument for delay-dependent priority) say so in their step.

Notation (Kleinrock 1976, vol. II): classes are numbered ``1, 2`` with
``lambda_i`` their arrival rates, ``E[S_i]`` and ``E[S_i^2]`` the first two
moments of their service times, ``rho_i = lambda_i E[S_i]``,
``sigma_k = rho_1 + ... + rho_k`` and ``W_0 = sum_i lambda_i E[S_i^2]/2`` the
mean residual work (the mean remaining service of the job in service, found
by a Poisson arrival).  For priority, class 1 is the highest.  For
delay-dependent priority a larger slope is a higher priority (``b_1 <= b_2``).

Public parameter names (as in the numeric API):

- ``arrival_rate_1``, ``arrival_rate_2``, ``service_mean_1``, ``service_mean_2``,
  ``service_second_moment_1``, ``service_second_moment_2``: the two classes;
- ``cls``: the class (1 or 2) whose metric is returned; another value gives ``nan``;
- ``size``: the job size ``x`` (its service requirement);
- ``arrival_rate``, ``service_rate``, ``service_mean``: one-class models;
- ``slope_1``, ``slope_2``: delay-dependent priority slopes ``b_1 <= b_2``;
- ``quantum``, ``switch_cost``: round robin.

Examples
--------
>>> from virtmodel.symbolic import derive
>>> round(derive("rr.exponential_switch_cost")(
...     arrival_rate=0.5, service_rate=1.0, quantum=0.1, switch_cost=0.0), 12)
2.0
>>> derive("ps.response_given_size").result
x/(-E[S]*lambda + 1)
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.integrate
import sympy as sp
from sympy.codegen.cfunctions import expm1
from sympy.utilities.lambdify import implemented_function

from . import queues as _queues
from .derivation import Derivation, Step, derivation, derive, symbol
from .derivation import eq as _eq
from .derivation import is_zero as _zero

__all__: list[str] = []  # everything is reached through virtmodel.symbolic.derive

# --- symbols ---------------------------------------------------------------
lam = symbol("lambda", positive=True)  # total arrival rate (one-class models)
mu = symbol("mu", positive=True)  # service rate
ES = symbol("E[S]", r"\mathbb{E}[S]", positive=True)
ES2 = symbol("E[S^2]", r"\mathbb{E}[S^{2}]", positive=True)
rho = symbol("rho", positive=True)
x = symbol("x", positive=True)  # job size
t = symbol("t", positive=True)  # integration variable
u = symbol("u", positive=True)
k = symbol("k", integer=True, positive=True)  # class index / number of dispatches
i = symbol("i", integer=True, positive=True)
lam1 = symbol("lambda_1", positive=True)
lam2 = symbol("lambda_2", positive=True)
ES_1 = symbol("E[S_1]", r"\mathbb{E}[S_{1}]", positive=True)
ES_2 = symbol("E[S_2]", r"\mathbb{E}[S_{2}]", positive=True)
ES2_1 = symbol("E[S_1^2]", r"\mathbb{E}[S_{1}^{2}]", positive=True)
ES2_2 = symbol("E[S_2^2]", r"\mathbb{E}[S_{2}^{2}]", positive=True)
rho1 = symbol("rho_1", positive=True)
rho2 = symbol("rho_2", positive=True)
sigma_prev = symbol("sigma_{k-1}", r"\sigma_{k-1}", nonnegative=True)
sigma_k = symbol("sigma_k", r"\sigma_{k}", positive=True)
rho_k = symbol("rho_k", positive=True)
W0 = symbol("W_0", positive=True)  # mean residual work
V = symbol("V", positive=True)  # mean unfinished work
W = symbol("W")
W1 = symbol("W_1")
W2 = symbol("W_2")
Wk = symbol("W_k")
Lq1 = symbol("L_q1", r"L_{q,1}")
Lq2 = symbol("L_q2", r"L_{q,2}")
T = symbol("T")
Tx = symbol("T(x)", r"\mathbb{E}[T \mid x]")
D = symbol("D")  # mean delay before first service
Res = symbol("Res", r"\mathrm{Res}")  # mean residence time (first service to departure)
Vk = symbol("V_k")
Rk = symbol("R_k")
R1 = symbol("R_1")
R2 = symbol("R_2")
b1 = symbol("b_1", positive=True)
b2 = symbol("b_2", positive=True)
ratio = symbol("r", positive=True)  # b_1/b_2
c_lin = symbol("c", positive=True)
q = symbol("q", positive=True)  # quantum
s = symbol("s", nonnegative=True)  # switch cost per dispatch
z = symbol("z", positive=True)  # e^{-mu q}
pc = symbol("p", positive=True)  # 1 - e^{-mu q}: probability that a slice completes the job
K_mean = symbol("E[K]", r"\mathbb{E}[K]")
K2_mean = symbol("E[K^2]", r"\mathbb{E}[K^{2}]")
R_mean = symbol("E[R]", r"\mathbb{E}[R]")
R2_mean = symbol("E[R^2]", r"\mathbb{E}[R^{2}]")
X1 = symbol("E[X']", r"\mathbb{E}[X']")
X2 = symbol("E[X'^2]", r"\mathbb{E}[X'^{2}]")
L = symbol("L")
cls = symbol("k", integer=True, positive=True)  # public "cls": the class asked for

sigma = sp.Function("sigma")
rho_f = sp.Function("rho")  # rho(x) = lambda int_0^x t dF(t)
m2_f = sp.Function("m_2")  # m_2(x) = int_0^x t^2 dF(t)
F = sp.Function("F")  # service-time distribution function

TWO_CLASS = (
    ("arrival_rate_1", lam1),
    ("arrival_rate_2", lam2),
    ("service_mean_1", ES_1),
    ("service_mean_2", ES_2),
    ("service_second_moment_1", ES2_1),
    ("service_second_moment_2", ES2_2),
)
TWO_CLASS_RHO = {rho1: lam1 * ES_1, rho2: lam2 * ES_2}
TWO_CLASS_W0 = lam1 * ES2_1 / 2 + lam2 * ES2_2 / 2
EXPONENTIAL = (("size", x), ("arrival_rate", lam), ("service_rate", mu))

KLEINROCK2 = "Kleinrock, Queueing Systems Vol. 2: Computer Applications, Wiley 1976"
HARCHOL = "Harchol-Balter, Performance Modeling and Design of Computer Systems, Cambridge 2013"
COBHAM = "Cobham, Priority assignment in waiting line problems, J. Oper. Res. Soc. Am. 2 (1954) 70-76"
MULTICLASS = (
    "Poisson arrivals of two classes with rates lambda_1, lambda_2",
    "i.i.d. general service times per class with means E[S_i] and finite second moments E[S_i^2]",
    "one work-conserving server, infinite waiting room",
)




def _limit_large_size(expr):
    """Limit x -> oo of a rational function of x and e^{-mu x}: x^n e^{-mu x} -> 0, then sympy.limit."""
    w = sp.Dummy("w", positive=True)
    replaced = expr.subs(sp.exp(-mu * x), w)
    assert not replaced.has(sp.exp), replaced
    return sp.factor(sp.limit(sp.cancel(replaced.subs(w, 0)), x, sp.oo))


def _slope_at_zero(expr):
    """Limit x -> 0 of expr/x for expr(0) = 0 (L'Hopital: expr'(0))."""
    assert sp.cancel(expr.subs(x, 0)) == 0
    return sp.factor(sp.cancel(sp.diff(expr, x).subs(x, 0)))


def _by_class(first, second):
    """``first`` for class 1, ``second`` for class 2 (``nan`` for any other ``cls``)."""
    return sp.Piecewise((first, sp.Eq(cls, 1)), (second, sp.Eq(cls, 2)))


def _convergent(expr):
    """Each Piecewise of a sympy summation replaced by its first branch (where the series converges)."""
    return expr.replace(lambda e: isinstance(e, sp.Piecewise), lambda e: e.args[0][0])


# ===========================================================================
# Non-preemptive priority: Cobham's formula
# ===========================================================================


@functools.cache
def _cobham():
    """Two-class mean-value system and the general induction; returns (steps, W1, W2) in W_0, rho_i."""
    residual = _eq(W0, TWO_CLASS_W0)
    mv1 = _eq(W1, W0 + ES_1 * Lq1)
    mv2 = _eq(W2, W0 + ES_1 * Lq1 + ES_2 * Lq2 + ES_1 * lam1 * W2)
    little = {Lq1: lam1 * W1, Lq2: lam2 * W2}
    loads = {lam1: rho1 / ES_1, lam2: rho2 / ES_2}
    system = [sp.Eq(e.lhs, sp.expand(e.rhs.subs(little).subs(loads))) for e in (mv1, mv2)]
    solution = sp.solve(system, [W1, W2], dict=True)[0]
    w1, w2 = sp.factor(solution[W1]), sp.factor(solution[W2])
    assert _zero(w1 - W0 / (1 - rho1)) and _zero(w2 - W0 / ((1 - rho1) * (1 - rho1 - rho2)))

    # General class k by induction on k.
    identity_lhs = rho_k / ((1 - sigma_prev) * (1 - sigma_k))
    identity_rhs = 1 / (1 - sigma_k) - 1 / (1 - sigma_prev)
    assert _zero(identity_lhs.subs(rho_k, sigma_k - sigma_prev) - identity_rhs)
    telescoped = W0 * (1 / (1 - sigma(k - 1)) - 1)
    for top in range(1, 7):  # check the telescoping sum for explicit k
        total = sum(
            W0 * (sigma(j) - sigma(j - 1)) / ((1 - sigma(j - 1)) * (1 - sigma(j))) for j in range(1, top)
        )
        assert _zero((total - telescoped.subs(k, top)).subs(sigma(0), 0)), top
    mvk = _eq(Wk, W0 + W0 * (1 / (1 - sigma_prev) - 1) + rho_k * Wk + sigma_prev * Wk)
    wk = sp.factor(sp.solve(sp.Eq(mvk.lhs, mvk.rhs.subs(rho_k, sigma_k - sigma_prev)), Wk)[0])
    general = W0 / ((1 - sigma_prev) * (1 - sigma_k))
    assert _zero(wk - general)
    assert _zero(general.subs({sigma_prev: 0, sigma_k: rho1}) - w1)
    assert _zero(general.subs({sigma_prev: rho1, sigma_k: rho1 + rho2}) - w2)

    steps = (
        Step(
            "Mean residual work found by a Poisson arrival (PASTA): the job in service, of class i with "
            "probability rho_i, has mean residual E[S_i^2]/(2E[S_i])",
            residual,
        ),
        Step(
            "Mean-value argument for a tagged class-1 job: it waits for the residual work and for the "
            "class-1 jobs already queued (L_q,i queued jobs of class i)",
            mv1,
        ),
        Step(
            "Tagged class-2 job: the residual work, the queued jobs of classes 1 and 2, and the class-1 jobs "
            "that arrive while it waits (lambda_1 W_2 of them), which are served before it",
            mv2,
        ),
        Step(
            "Little's law L_q,i = lambda_i W_i and rho_i = lambda_i E[S_i]",
            sp.And(*[_eq(e.lhs, e.rhs) for e in system]),
        ),
        Step("Solve the linear system (sympy.solve)", sp.And(_eq(W1, w1), _eq(W2, w2))),
        Step(
            "General class k, by induction: sigma_k = rho_1 + ... + rho_k, sigma_0 = 0. Partial fractions "
            "with rho_i = sigma_i - sigma_{i-1} (checked with sympy)",
            _eq(identity_lhs, identity_rhs),
        ),
        Step(
            "Induction hypothesis W_i = W_0/((1-sigma_{i-1})(1-sigma_i)) for i < k: the sum of "
            "rho_i W_i telescopes (checked with sympy for k <= 6)",
            _eq(
                sp.Sum(sp.Symbol("rho_i") * sp.Symbol("W_i"), (i, 1, k - 1)),
                telescoped.subs(sigma(k - 1), sigma_prev),
            ),
        ),
        Step(
            "Mean-value equation of class k: residual work, queued work of classes 1..k (rho_i W_i each), "
            "and higher-class arrivals during the wait (sigma_{k-1} W_k)",
            mvk,
        ),
        Step("Solve for W_k (sympy.solve); the base case k = 1 (sigma_0 = 0) is W_1 above", _eq(Wk, wk)),
    )
    return steps, w1, w2


@derivation("priority.nonpreemptive_wait")
def _priority_nonpreemptive_wait():
    """Mean wait of class k under non-preemptive priority (Cobham's formula), two classes.

    :math:`W_k = W_0/((1-\\sigma_{k-1})(1-\\sigma_k))`, :math:`W_0 = \\sum_i \\lambda_i E[S_i^2]/2`,
    derived for two classes by solving the mean-value equations with sympy
    and for general k by induction.  The result is a Piecewise in the public
    parameter ``cls`` (1 = the higher priority, 2 = the lower).
    Source: Kleinrock (1976), Queueing Systems Vol. 2, Sec. 3.6; Cobham (1954).
    """
    steps, w1, w2 = _cobham()
    explicit = {W0: TWO_CLASS_W0, **TWO_CLASS_RHO}
    general = W0 / ((1 - sigma_prev) * (1 - sigma_k))
    first = general.subs({sigma_prev: 0, sigma_k: rho1})
    second = general.subs({sigma_prev: rho1, sigma_k: rho1 + rho2})
    assert _zero(first - w1) and _zero(second - w2)
    result = _by_class(first.subs(explicit), second.subs(explicit))
    steps = (*steps, Step("The two classes in the public parameters (k = cls)", _eq(W, result)))
    return Derivation(
        name="priority.nonpreemptive_wait",
        title="M/G/1 non-preemptive priority: mean wait of class k (Cobham)",
        steps=steps,
        result=result,
        parameters=(("cls", cls), *TWO_CLASS),
        assumptions=(
            *MULTICLASS,
            "non-preemptive head-of-line priority, class 1 highest; FCFS within a class",
            "rho_1 + rho_2 < 1 (stationary regime)",
        ),
        source=f"{KLEINROCK2}, Sec. 3.6, Eq. (3.30); {COBHAM}",
    )


# ===========================================================================
# Preemptive-resume priority
# ===========================================================================


@derivation("priority.preemptive_response")
def _priority_preemptive_response():
    """Mean response of a class-k job of size x under preemptive-resume priority, two classes.

    :math:`E[T|x,k] = x/(1-\\sigma_{k-1}) + R_k/((1-\\sigma_{k-1})(1-\\sigma_k))`,
    :math:`R_k = \\sum_{i\\le k}\\lambda_i E[S_i^2]/2`: classes below k are
    invisible to class k.  The delay before first service and the residence
    time each solve a delay-cycle (busy-period) equation.  The result is a
    Piecewise in ``cls`` (1 highest).  With one class it is the P-K response.
    Source: Kleinrock (1976), Sec. 3.7; Harchol-Balter (2013), Sec. 32.3.
    """
    work = _eq(Vk, Rk / (1 - sigma_k))
    per_class = sp.Sum(sp.Symbol("lambda_i") * sp.Symbol("E[S_i^2]") / 2, (i, 1, k))
    delay = _eq(D, Vk + sigma_prev * D)
    residence = _eq(Res, x + sigma_prev * Res)
    d = sp.solve(sp.Eq(delay.lhs, delay.rhs.subs(Vk, work.rhs)), D)[0]
    res = sp.solve(sp.Eq(residence.lhs, residence.rhs), Res)[0]
    solved = sp.factor(res) + sp.factor(d)
    general = x / (1 - sigma_prev) + Rk / ((1 - sigma_prev) * (1 - sigma_k))
    assert _zero(solved - general)
    residuals = {R1: lam1 * ES2_1 / 2, R2: TWO_CLASS_W0}
    first = general.subs({sigma_prev: 0, sigma_k: rho1, Rk: R1})
    second = general.subs({sigma_prev: rho1, sigma_k: rho1 + rho2, Rk: R2})
    explicit = {**residuals, **TWO_CLASS_RHO}
    result = _by_class(first.subs(explicit), second.subs(explicit))
    # Check: one class, averaged over the size, is the Pollaczek-Khinchine response.
    single = first.subs(explicit).subs(x, ES_1)
    pk = derive("mg1.mean_response").result.subs({_queues.lam: lam1, _queues.ES: ES_1, _queues.ES2: ES2_1})
    assert _zero(single - pk)
    steps = (
        Step(
            "Classes below k never delay a class-k job; the work of classes 1..k is that of an M/G/1 queue "
            "with only those classes (work conservation), seen by a Poisson arrival (PASTA)",
            _eq(Vk, _eq(Rk / (1 - sigma_k), per_class / (1 - sigma_k))),
        ),
        Step(
            "Delay before first service: the work found plus the work of higher classes arriving "
            "meanwhile (rate sigma_{k-1} of work per unit time)",
            delay,
        ),
        Step(
            "Residence time of a job of size x: its own work plus the higher-class work arriving during it, "
            "since each such arrival preempts it (delay cycle)",
            residence,
        ),
        Step("Solve both (sympy.solve) and add", _eq(Tx, _eq(solved, general))),
        Step("Two classes: class 1 (sigma_0 = 0) and class 2", _eq(Tx, _by_class(first, second))),
        Step(
            "Check: one class, averaged over x (x -> E[S_1]), is the Pollaczek-Khinchine response",
            _eq(single, sp.factor(pk)),
        ),
        Step("In the public parameters (k = cls)", _eq(Tx, result)),
    )
    return Derivation(
        name="priority.preemptive_response",
        title="M/G/1 preemptive-resume priority: mean response of a class-k job of size x",
        steps=steps,
        result=result,
        parameters=(("size", x), ("cls", cls), *TWO_CLASS),
        assumptions=(
            *MULTICLASS,
            "preemptive-resume priority, class 1 highest; FCFS within a class; no preemption cost",
            "the size x of the tagged job is given (condition on it; average over x for the class mean)",
            "sigma_k < 1 for the class asked for (classes 1..k are stable)",
        ),
        source=f"{KLEINROCK2}, Sec. 3.7; {HARCHOL}, Sec. 32.3",
    )


# ===========================================================================
# Kleinrock's conservation law
# ===========================================================================


@derivation("conservation_law")
def _conservation_law():
    """Kleinrock's conservation law :math:`\\sum_i \\rho_i W_i = \\rho W_0/(1-\\rho)`.

    From the unfinished work V, the same for every work-conserving
    discipline: FCFS gives V = W_0/(1-rho); any non-preemptive discipline
    gives V = W_0 + sum_i rho_i W_i.  Checked against Cobham's two-class
    result (difference simplified to 0).  Stated with the two-class
    parameters; the law holds for any number of classes.
    Source: Kleinrock (1976), Sec. 3.4; Kleinrock, Naval Res. Log. Quart. 12 (1965).
    """
    S = symbol("Sum rho_i W_i", r"\sum_i \rho_i W_i")
    fcfs = _eq(W, W0 + rho * W)
    w_fcfs = sp.solve(sp.Eq(fcfs.lhs, fcfs.rhs), W)[0]
    assert _zero(w_fcfs - W0 / (1 - rho))
    decomposition = _eq(V, W0 + S)
    solved = sp.solve(sp.Eq(w_fcfs, decomposition.rhs), S)[0]
    law = rho * W0 / (1 - rho)
    assert _zero(solved - law)
    _, w1, w2 = _cobham()
    cobham_sum = rho1 * w1 + rho2 * w2
    difference = sp.cancel(sp.together(cobham_sum - law.subs(rho, rho1 + rho2)))
    assert difference == 0
    result = law.subs(rho, lam1 * ES_1 + lam2 * ES_2).subs(W0, TWO_CLASS_W0)
    steps = (
        Step(
            "The unfinished work V(t) is the same sample path for every work-conserving discipline; "
            "under FCFS a Poisson arrival waits exactly the work it finds (PASTA), so V = W_FCFS",
            fcfs,
        ),
        Step("Solve (Pollaczek-Khinchine)", _eq(V, W0 / (1 - rho))),
        Step(
            "Under a non-preemptive discipline the work in system is the residual of the job in service "
            "plus the full service of every queued job: sum_i E[S_i] L_q,i = sum_i rho_i W_i (Little)",
            decomposition,
        ),
        Step("Equate and solve (sympy.solve)", _eq(S, _eq(sp.factor(solved), law))),
        Step(
            "Check against Cobham's two-class waits: the difference simplifies to 0",
            _eq(cobham_sum - law.subs(rho, rho1 + rho2), difference),
        ),
        Step("In the public parameters, rho = rho_1 + rho_2", _eq(S, result)),
    )
    return Derivation(
        name="conservation_law",
        title="Kleinrock's conservation law for work-conserving non-preemptive M/G/1 disciplines",
        steps=steps,
        result=result,
        parameters=TWO_CLASS,
        assumptions=(
            *MULTICLASS,
            "non-preemptive: a job in service runs to completion; the order may depend on class, "
            "not on the service time (e.g. priority, FCFS, delay-dependent priority)",
            "rho = rho_1 + rho_2 < 1 (stationary regime)",
        ),
        source=f"{KLEINROCK2}, Sec. 3.4, Eq. (3.21); Kleinrock, Naval Research Logistics Quarterly 12 (1965)",
    )


# ===========================================================================
# Delay-dependent priority
# ===========================================================================


@derivation("delay_dependent.wait")
def _delay_dependent_wait():
    """Mean wait of class k under Kleinrock's delay-dependent priority, two classes, b_1 <= b_2.

    A class-p job that has waited t has priority b_p t; the highest is served
    next (non-preemptive).  The two mean-value equations are solved with sympy:
    :math:`W_1 = \\frac{W_0/(1-\\rho)}{1-\\rho_2(1-b_1/b_2)}`,
    :math:`W_2 = \\frac{W_0}{1-\\rho} - \\rho_1 W_1 (1 - b_1/b_2)`.
    b_1 = b_2 gives FCFS; b_2/b_1 -> oo gives Cobham with class 2 first.
    Piecewise in ``cls``.  Source: Kleinrock (1964); Kleinrock (1976), Sec. 3.7.
    """
    mv1 = _eq(W1, W0 + rho1 * W1 + rho2 * W2 + rho2 * W1 * (1 - ratio))
    mv2 = _eq(W2, W0 + rho2 * W2 + rho1 * W1 * ratio)
    solution = sp.solve([sp.Eq(e.lhs, e.rhs) for e in (mv1, mv2)], [W1, W2], dict=True)[0]
    w1, w2 = sp.factor(solution[W1]), sp.factor(solution[W2])
    fcfs = W0 / (1 - rho1 - rho2)
    kleinrock1 = fcfs / (1 - rho2 * (1 - ratio))
    kleinrock2 = fcfs - rho1 * kleinrock1 * (1 - ratio)
    assert _zero(w1 - kleinrock1) and _zero(w2 - kleinrock2)
    assert _zero(rho1 * w1 + rho2 * w2 - (rho1 + rho2) * fcfs)  # conservation law
    equal = (sp.factor(w1.subs(ratio, 1)), sp.factor(w2.subs(ratio, 1)))
    assert _zero(equal[0] - fcfs) and _zero(equal[1] - fcfs)
    strict = (sp.factor(sp.limit(w1, ratio, 0)), sp.factor(sp.limit(w2, ratio, 0)))
    # Cobham with class 2 the higher priority: W_2 = W_0/(1-rho_2), W_1 = W_0/((1-rho_2)(1-rho)).
    assert _zero(strict[1] - W0 / (1 - rho2)) and _zero(strict[0] - W0 / ((1 - rho2) * (1 - rho1 - rho2)))
    explicit = {W0: TWO_CLASS_W0, ratio: b1 / b2, **TWO_CLASS_RHO}
    result = _by_class(kleinrock1.subs(explicit), kleinrock2.subs(explicit))
    steps = (
        Step(
            "Priorities: a class-p job that has waited t has priority b_p t; r = b_1/b_2 <= 1",
            _eq(ratio, b1 / b2),
        ),
        Step(
            "Tagged class-1 job (mean-value argument): the residual work, every job found queued, and the "
            "class-2 arrivals that overtake it, a fraction 1 - b_1/b_2 of those during its wait "
            "(Kleinrock's counting argument, stated)",
            mv1,
        ),
        Step(
            "Tagged class-2 job: the residual work, the class-2 jobs found, and the class-1 jobs found "
            "that it cannot overtake, a fraction b_1/b_2 (stated); no later arrival overtakes it",
            mv2,
        ),
        Step("Solve the linear system (sympy.solve)", sp.And(_eq(W1, w1), _eq(W2, w2))),
        Step(
            "which is Kleinrock's form, with the FCFS wait W_0/(1-rho); it obeys the conservation law",
            sp.And(_eq(W1, kleinrock1), _eq(W2, kleinrock2)),
        ),
        Step(
            "Limit b_1 = b_2 (r = 1): both classes wait as under FCFS",
            sp.And(_eq(W1, equal[0]), _eq(W2, equal[1])),
        ),
        Step(
            "Limit b_2/b_1 -> oo (sympy.limit r -> 0): Cobham's formula with class 2 the higher priority",
            sp.And(_eq(W1, strict[0]), _eq(W2, strict[1])),
        ),
        Step("In the public parameters (k = cls)", _eq(W, result)),
    )
    return Derivation(
        name="delay_dependent.wait",
        title="M/G/1 delay-dependent priority (Kleinrock 1964): mean wait of class k",
        steps=steps,
        result=result,
        parameters=(("cls", cls), *TWO_CLASS, ("slope_1", b1), ("slope_2", b2)),
        assumptions=(
            *MULTICLASS,
            "non-preemptive; the job served next has the highest priority b_p x (time waited)",
            "slopes 0 < b_1 <= b_2 (class 2 has the higher priority); ties FCFS",
            "rho_1 + rho_2 < 1 (stationary regime)",
        ),
        source=(
            "Kleinrock, A delay dependent queue discipline, Naval Research Logistics Quarterly 11 (1964) "
            f"329-341; {KLEINROCK2}, Sec. 3.7"
        ),
    )


# ===========================================================================
# Processor sharing
# ===========================================================================


@derivation("ps.response_given_size")
def _ps_response_given_size():
    """Mean response of a job of size x in M/G/1-PS, :math:`E[T|x] = x/(1-\\rho)`.

    From the M/M/1 mean response (the number in system of M/M/1-PS is the
    M/M/1 birth-death chain) and the linearity of E[T|x] in x (stated), the
    constant is solved with sympy; insensitivity extends the result to any
    service distribution with mean E[S] (stated).  Checked: averaging over an
    exponential size gives 1/(mu - lambda).
    Source: Kleinrock (1976), Sec. 4.4; Harchol-Balter (2013), Ch. 22 and 30.
    """
    mm1 = derive("mm1.mean_response").result.subs({_queues.lam: lam, _queues.mu: mu})
    density = mu * sp.exp(-mu * x)
    ansatz = c_lin * x
    averaged = sp.integrate(ansatz * density, (x, 0, sp.oo))
    constant = sp.solve(sp.Eq(averaged, mm1), c_lin)[0]
    in_rho = sp.factor(constant.subs(lam, rho * mu))
    exponential = ansatz.subs(c_lin, constant)
    check = sp.factor(sp.integrate(exponential * density, (x, 0, sp.oo)))
    assert _zero(check - 1 / (mu - lam)) and _zero(in_rho - 1 / (1 - rho))
    general = x / (1 - rho)
    result = general.subs(rho, lam * ES)
    steps = (
        Step(
            "M/M/1-PS: whenever n >= 1 jobs are present the total service rate is mu, so the number in "
            "system is the M/M/1 birth-death chain and, by Little's law, E[T] is the M/M/1 mean response",
            _eq(T, mm1),
        ),
        Step(
            "Linearity (stated, Kleinrock 1976, Sec. 4.4): each increment of work of the tagged job is "
            "slowed by the same mean factor, so E[T|x] = c x",
            _eq(Tx, ansatz),
        ),
        Step(
            "Uncondition over the exponential size (sympy.integrate)",
            _eq(sp.Integral(ansatz * density, (x, 0, sp.oo)), averaged),
        ),
        Step("Equate with the M/M/1 mean response and solve for c", _eq(c_lin, _eq(constant, in_rho))),
        Step(
            "Check: averaging E[T|x] = x/(1-rho) over an exponential size gives 1/(mu - lambda)",
            _eq(sp.Integral(exponential * density, (x, 0, sp.oo)), check),
        ),
        Step(
            "Insensitivity (stated): M/G/1-PS has the same E[T|x] for any size distribution, "
            "rho = lambda E[S]",
            _eq(Tx, result),
        ),
    )
    return Derivation(
        name="ps.response_given_size",
        title="M/G/1 processor sharing: mean response of a job of size x",
        steps=steps,
        result=result,
        parameters=(("size", x), ("arrival_rate", lam), ("service_mean", ES)),
        assumptions=(
            "Poisson arrivals with rate lambda (the total over all classes)",
            "i.i.d. general service times with mean E[S] (the result is insensitive to the distribution)",
            "egalitarian processor sharing, no switch cost",
            "rho = lambda E[S] < 1 (stationary regime)",
        ),
        source=f"{KLEINROCK2}, Sec. 4.4; {HARCHOL}, Ch. 22 and Sec. 30.3",
    )


# ===========================================================================
# Size-based policies: SRPT, PSJF, SJF, specialised to exponential service
# ===========================================================================


@functools.cache
def _exponential_truncated_moments():
    """rho(x) and m_2(x) for exponential service with rate mu, integrated by sympy."""
    density = mu * sp.exp(-mu * t)
    integrated = (
        lam * sp.integrate(t * density, (t, 0, x)),
        sp.integrate(t**2 * density, (t, 0, x)),
        1 - sp.integrate(density, (t, 0, x)),
    )
    # Written with e^{-mu x} only (sympy's form has e^{mu x} e^{-mu x}, which overflows for large mu x).
    load = lam / mu * (1 - (1 + mu * x) * sp.exp(-mu * x))
    second = (2 - (mu**2 * x**2 + 2 * mu * x + 2) * sp.exp(-mu * x)) / mu**2
    tail = sp.exp(-mu * x)
    for derived, written in zip(integrated, (load, second, tail), strict=True):
        assert _zero(derived - written), (derived, written)
    steps = (
        Step(
            "Exponential service with rate mu: load of the jobs of size <= x (sympy.integrate)",
            _eq(rho_f(x), _eq(lam * sp.Integral(t * density, (t, 0, x)), _eq(integrated[0], load))),
        ),
        Step(
            "Truncated second moment (sympy.integrate)",
            _eq(m2_f(x), _eq(sp.Integral(t**2 * density, (t, 0, x)), _eq(integrated[1], second))),
        ),
        Step("Tail of the size distribution", _eq(1 - F(x), tail)),
    )
    return steps, load, second, tail


def _size_based(name, title, stated, specialised_steps, result, source, assumptions, numeric=None):
    return Derivation(
        name=name,
        title=title,
        steps=(*stated, *specialised_steps),
        result=result,
        parameters=EXPONENTIAL,
        assumptions=(
            "Poisson arrivals with rate lambda",
            "i.i.d. service times; the explicit result is for exponential service with rate mu",
            "the scheduler knows each job's size x",
            *assumptions,
            "rho = lambda/mu < 1 (stationary regime)",
        ),
        source=source,
        numeric=numeric,
    )


def _srpt_residence(lam_, mu_, x_):
    """int_0^x dt/(1 - rho(t)) for exponential service, by adaptive quadrature in u = mu t."""

    def one(lam_v, mu_v, x_v):
        load = lam_v / mu_v
        upper = mu_v * x_v
        cut = min(upper, 60.0)  # beyond u = 60, e^{-u}(1+u) < 1e-24: the integrand is 1/(1-rho)

        def integrand(v):
            return 1.0 / (1.0 - load + load * np.exp(-v) * (1.0 + v))

        head, _ = scipy.integrate.quad(integrand, 0.0, cut, epsabs=0.0, epsrel=1e-13, limit=200)
        return (head + (upper - cut) / (1.0 - load)) / mu_v

    return np.vectorize(one, otypes=[float])(lam_, mu_, x_)


_SRPT_RESIDENCE = implemented_function(sp.Function("srpt_residence"), _srpt_residence)


@derivation("srpt.response_given_size")
def _srpt_response_given_size():
    """SRPT mean response of a job of size x (Schrage-Miller), specialised to exponential service.

    :math:`E[T(x)] = \\frac{\\lambda m_2(x) + \\lambda x^2 (1-F(x))}{2(1-\\rho(x))^2}
    + \\int_0^x \\frac{dt}{1-\\rho(t)}`, with :math:`\\rho(x) = \\lambda\\int_0^x t\\,dF(t)` and
    :math:`m_2(x) = \\int_0^x t^2\\,dF(t)`, stated; rho(x), m_2(x) are then
    integrated by sympy for exponential service.  The residence integral has no
    elementary antiderivative: ``result`` keeps it as an Integral and
    :meth:`lambdify` evaluates it by adaptive quadrature (scipy.integrate.quad).
    Source: Schrage & Miller, Oper. Res. 14 (1966) 670-684; Harchol-Balter (2013), Sec. 33.3.
    """
    general = (lam * m2_f(x) + lam * x**2 * (1 - F(x))) / (2 * (1 - rho_f(x)) ** 2) + sp.Integral(
        1 / (1 - rho_f(t)), (t, 0, x)
    )
    moments, load, second, tail = _exponential_truncated_moments()
    waiting = (lam * second + lam * x**2 * tail) / (2 * (1 - load) ** 2)
    residence = sp.Integral(1 / (1 - load.subs(x, t)), (t, 0, x))
    result = waiting + residence
    numeric = waiting + _SRPT_RESIDENCE(lam, mu, x)
    big = _limit_large_size(waiting)
    fcfs_large = lam * (2 / mu**2) / (2 * (1 - lam / mu) ** 2)
    assert _zero(big - fcfs_large)
    small = _slope_at_zero(waiting)
    assert small == 0
    stated = (
        Step(
            "Schrage-Miller (stated): the wait until first service is the busy period started by the work "
            "that has priority over the tagged job (jobs of size <= x, and the remaining x of larger jobs "
            "in service), the residence is slowed by the arrivals smaller than the job's remaining size",
            _eq(Tx, general),
        ),
    )
    specialised = (
        *moments,
        Step("Substitute: explicit waiting term plus the residence integral", _eq(Tx, result)),
        Step(
            "Check x -> oo (x^n e^(-mu x) -> 0, then sympy.limit): the waiting term tends to "
            "lambda E[S^2]/(2(1-rho)^2), E[S^2] = 2/mu^2 "
            "(the largest jobs wait 1/(1-rho) times longer than under FCFS)",
            _eq(sp.Limit(waiting, x, sp.oo), big),
        ),
        Step(
            "Check x -> 0 (L'Hopital): the waiting term is o(x), so E[T(x)]/x -> 1 "
            "(small jobs barely wait, unlike FCFS)",
            _eq(sp.Limit(waiting / x, x, 0), small),
        ),
    )
    return _size_based(
        "srpt.response_given_size",
        "M/G/1 SRPT: mean response of a job of size x (exponential service)",
        stated,
        specialised,
        result,
        f"Schrage & Miller, Operations Research 14 (1966) 670-684; {HARCHOL}, Sec. 33.3",
        ("preemptive: the job with the shortest remaining processing time runs", "no preemption cost"),
        numeric=numeric,
    )


@derivation("psjf.response_given_size")
def _psjf_response_given_size():
    """PSJF (preemptive shortest job first) mean response of a job of size x, exponential service.

    :math:`E[T(x)] = \\frac{\\lambda m_2(x)}{2(1-\\rho(x))^2} + \\frac{x}{1-\\rho(x)}`:
    preemptive-resume priority with a continuum of classes indexed by size
    (only smaller jobs matter).  rho(x), m_2(x) integrated by sympy.
    Source: Harchol-Balter (2013), Sec. 33.2; Kleinrock (1976), Sec. 3.7.
    """
    general = lam * m2_f(x) / (2 * (1 - rho_f(x)) ** 2) + x / (1 - rho_f(x))
    moments, load, second, _ = _exponential_truncated_moments()
    result = lam * second / (2 * (1 - load) ** 2) + x / (1 - load)
    ps = x / (1 - lam / mu)
    big = _limit_large_size(result - ps)
    assert _zero(big - lam * (2 / mu**2) / (2 * (1 - lam / mu) ** 2))
    small = _slope_at_zero(result)
    assert small == 1
    stated = (
        Step(
            "Preemptive priority with classes indexed by size (stated): a job of size x sees only jobs "
            "smaller than x, R = lambda m_2(x)/2, sigma = rho(x) on both sides of x",
            _eq(Tx, general),
        ),
    )
    specialised = (
        *moments,
        Step("Substitute", _eq(Tx, result)),
        Step(
            "Check x -> oo against PS (x^n e^(-mu x) -> 0, then sympy.limit): E[T(x)] - x/(1-rho) tends to "
            "lambda E[S^2]/(2(1-rho)^2)",
            _eq(sp.Limit(result - ps, x, sp.oo), big),
        ),
        Step(
            "Check x -> 0 (L'Hopital): small jobs run almost undisturbed",
            _eq(sp.Limit(result / x, x, 0), small),
        ),
    )
    return _size_based(
        "psjf.response_given_size",
        "M/G/1 PSJF: mean response of a job of size x (exponential service)",
        stated,
        specialised,
        result,
        f"{HARCHOL}, Sec. 33.2; {KLEINROCK2}, Sec. 3.7 (preemptive priority)",
        ("preemptive-resume on original size: the job with the smallest size runs", "no preemption cost"),
    )


@derivation("sjf.response_given_size")
def _sjf_response_given_size():
    """Non-preemptive SJF mean response of a job of size x, exponential service.

    :math:`E[T(x)] = x + \\frac{\\lambda E[S^2]}{2(1-\\rho(x))^2}`: Cobham's
    :math:`W_k = W_0/((1-\\sigma_{k-1})(1-\\sigma_k))` with a continuum of
    classes, :math:`\\sigma_{k-1},\\sigma_k \\to \\rho(x)` (continuous sizes).
    Source: Kleinrock (1976), Sec. 3.6; Harchol-Balter (2013), Sec. 31.3.
    """
    _cobham()  # the general formula W_k = W_0/((1-sigma_{k-1})(1-sigma_k)) is checked there
    cobham = W0 / ((1 - sigma_prev) * (1 - sigma_k))
    continuum = cobham.subs({sigma_prev: rho_f(x), sigma_k: rho_f(x)})
    general = x + continuum.subs(W0, lam * ES2 / 2)
    moments, load, _, _ = _exponential_truncated_moments()
    second_moment = sp.integrate(t**2 * mu * sp.exp(-mu * t), (t, 0, sp.oo))
    waiting = (lam * second_moment / 2) / (1 - load) ** 2
    result = x + waiting
    fcfs = lam * second_moment / (2 * (1 - lam / mu))
    big = _limit_large_size(waiting)
    small = sp.factor(waiting.subs(x, 0))  # continuous at 0
    assert _zero(big - fcfs / (1 - lam / mu)) and _zero(small - lam * second_moment / 2)
    stated = (
        Step("Cobham's class-k wait (priority.nonpreemptive_wait)", _eq(W, cobham)),
        Step(
            "Classes indexed by size; for a continuous size distribution sigma_{k-1} and sigma_k both "
            "tend to rho(x), the load of the jobs no larger than x",
            _eq(Tx, general),
        ),
    )
    specialised = (
        *moments,
        Step(
            "Exponential second moment (sympy.integrate)",
            _eq(ES2, _eq(sp.Integral(t**2 * mu * sp.exp(-mu * t), (t, 0, sp.oo)), second_moment)),
        ),
        Step("Substitute", _eq(Tx, result)),
        Step(
            "Check against FCFS (wait lambda E[S^2]/(2(1-rho))), x -> oo (x^n e^(-mu x) -> 0): "
            "the largest jobs wait 1/(1-rho) times longer",
            _eq(sp.Limit(waiting, x, sp.oo), big),
        ),
        Step("the smallest wait only for the residual work W_0", _eq(sp.Limit(waiting, x, 0), small)),
    )
    return _size_based(
        "sjf.response_given_size",
        "M/G/1 non-preemptive SJF: mean response of a job of size x (exponential service)",
        stated,
        specialised,
        result,
        f"{KLEINROCK2}, Sec. 3.6; {HARCHOL}, Sec. 31.3",
        ("non-preemptive: the shortest waiting job is served next, a started job runs to completion",),
    )


# ===========================================================================
# Round robin with a switch cost, exponential service
# ===========================================================================


@derivation("rr.exponential_switch_cost")
def _rr_exponential_switch_cost():
    """Mean response of round robin with quantum q and switch cost s per dispatch, M/M/1.

    Each dispatch costs s.  A job of size X ~ Exp(mu) is dispatched
    K = ceil(X/q) ~ Geometric(1 - e^{-mu q}) times and X = (K-1)q + R with R
    the exponential truncated to [0, q), independent of K; its inflated size
    is X' = X + K s.  The slices form an i.i.d. sequence whatever job is
    chosen (memorylessness), so the number in system is that of M/G/1 FCFS
    with service X': Pollaczek-Khinchine, then Little.  s = 0 gives
    1/(mu - lambda).  Source: Kleinrock (1976), Sec. 4.2-4.4 (round robin);
    Harchol-Balter (2013), Sec. 23.
    """
    pmf = z ** (k - 1) * (1 - z)

    def moment(j):  # (1 - z) sum_k k^j z^(k-1), summed by sympy for 0 < z < 1
        return sp.factor((1 - z) * _convergent(sp.summation(k**j * z ** (k - 1), (k, 1, sp.oo))))

    total, EK, EK2 = moment(0), moment(1), moment(2)
    assert total == 1 and _zero(EK - 1 / (1 - z)) and _zero(EK2 - (1 + z) / (1 - z) ** 2), (total, EK, EK2)
    EK, EK2 = 1 / (1 - z), (1 + z) / (1 - z) ** 2
    trunc = mu * sp.exp(-mu * t) / (1 - sp.exp(-mu * q))
    # the constant 1/(1 - e^{-mu q}) is kept outside the integral (else sympy returns a Piecewise in mu)
    ER_ = sp.integrate(t * mu * sp.exp(-mu * t), (t, 0, q)) / (1 - sp.exp(-mu * q))
    ER2_ = sp.integrate(t**2 * mu * sp.exp(-mu * t), (t, 0, q)) / (1 - sp.exp(-mu * q))
    size = symbol("K") * (q + s) + (symbol("R") - q)
    first = (q + s) * K_mean + (R_mean - q)
    second = (q + s) ** 2 * K2_mean + 2 * (q + s) * K_mean * (R_mean - q) + (R2_mean - 2 * q * R_mean + q**2)
    ez = sp.exp(-mu * q)
    values = {K_mean: EK.subs(z, ez), K2_mean: EK2.subs(z, ez), R_mean: ER_, R2_mean: ER2_}
    # In y = e^{-mu q} the moments are rational functions; simplify there.
    y = symbol("y", positive=True)
    m1 = sp.factor(sp.cancel(sp.expand(first.subs(values)).subs(sp.exp(-mu * q), y)))
    m2 = sp.factor(sp.cancel(sp.expand(second.subs(values)).subs(sp.exp(-mu * q), y)))
    assert not m1.has(sp.exp) and not m2.has(sp.exp), (m1, m2)
    # Tidy, with p = 1 - y the probability that a slice completes the job.
    m1_p = 1 / mu + s / pc
    m2_p = 2 / mu**2 + 2 * s / (mu * pc) + s**2 * (2 - pc) / pc**2 + 2 * q * s * (1 - pc) / pc**2
    assert _zero(m1 - m1_p.subs(pc, 1 - y)) and _zero(m2 - m2_p.subs(pc, 1 - y))
    number = lam * X1 + lam**2 * X2 / (2 * (1 - lam * X1))
    response = sp.expand(number / lam)
    explicit_p = response.subs({X1: m1_p, X2: m2_p})
    mm1 = sp.factor(sp.cancel(explicit_p.subs(s, 0)))
    assert _zero(mm1 - 1 / (mu - lam))
    result = explicit_p.subs(pc, 1 - sp.exp(-mu * q))
    numeric = explicit_p.subs(pc, -expm1(-mu * q))  # accurate for small mu q
    steps = (
        Step(
            "Dispatches of a job: K = ceil(X/q), P(K = k) = z^(k-1)(1 - z) with z = e^(-mu q) "
            "(memorylessness); it sums to 1 (sympy.summation, 0 < z < 1)",
            _eq(sp.Symbol("P(K=k)"), pmf),
        ),
        Step(
            "Moments of K (sympy.summation of the geometric series)",
            sp.And(_eq(K_mean, EK), _eq(K2_mean, EK2)),
        ),
        Step(
            "Last slice R: the exponential truncated to [0, q), independent of K (sympy.integrate)",
            sp.And(
                _eq(R_mean, _eq(sp.Integral(t * trunc, (t, 0, q)), ER_)),
                _eq(R2_mean, _eq(sp.Integral(t**2 * trunc, (t, 0, q)), ER2_)),
            ),
        ),
        Step("Inflated size: X' = X + K s with X = (K - 1) q + R", _eq(symbol("X'"), size)),
        Step("Its first two moments (K and R independent)", sp.And(_eq(X1, first), _eq(X2, second))),
        Step("Substitute and simplify, y = e^(-mu q)", sp.And(_eq(X1, m1), _eq(X2, m2))),
        Step(
            "With p = 1 - y, the probability that a slice completes its job",
            sp.And(_eq(X1, m1_p), _eq(X2, m2_p)),
        ),
        Step(
            "With exponential service every slice is drawn afresh, whichever job runs: the number in system "
            "is that of M/G/1 FCFS with service X' (Pollaczek-Khinchine)",
            _eq(L, number),
        ),
        Step("Little's law T = L/lambda", _eq(T, response)),
        Step("Check: without switch cost it is the M/M/1 response for every quantum", _eq(T.subs(s, 0), mm1)),
        Step("Explicitly", _eq(T, result)),
    )
    return Derivation(
        name="rr.exponential_switch_cost",
        title="M/M/1 round robin with quantum q and switch cost s: mean response",
        steps=steps,
        result=result,
        parameters=(("arrival_rate", lam), ("service_rate", mu), ("quantum", q), ("switch_cost", s)),
        assumptions=(
            "Poisson arrivals with rate lambda",
            "exponential service times with rate mu",
            "round robin: a job runs for at most q, then goes to the back of the queue",
            "every dispatch (including the first) costs s of server time, not counted as service",
            "lambda E[X'] = lambda (1/mu + s/(1 - e^(-mu q))) < 1 (stationary regime)",
        ),
        source=f"{KLEINROCK2}, Sec. 4.2-4.4 (round robin); {HARCHOL}, Ch. 23 (M/G/1) and Sec. 30 (RR, PS)",
        numeric=numeric,
    )
