"""Derivations for VMs time-sliced on one pCPU as a cyclic polling system with switchover times.

The numeric counterpart is :class:`virtmodel.analytic.polling.PollingSystem`.

Notation (Takagi 1986; Boxma & Groenendijk 1987): queue i has Poisson
arrivals of rate ``lambda_i`` and service ``S_i``, ``rho_i = lambda_i E[S_i]``,
``rho = sum rho_i``, ``W_0 = sum lambda_i E[S_i^2]/2``; ``R`` is the total
switchover time of a cycle with ``r = E[R]``.  The cycle time follows from
flow balance (solved with sympy).  The pseudo-conservation laws rest on Boxma
and Groenendijk's work decomposition ``V = V_{M/G/1} + Y``, whose switchover
term ``E[Y]`` is stated from the paper; the algebra that turns it into the law
is done with sympy and checked against the M/G/1 queue with (gated)
multiple vacations (one queue) and against Takagi's symmetric results.

Two VMs, exact per-VM waits (``polling.two_vm_exhaustive_wait`` and
``polling.two_vm_gated_wait``): derived from the premises by the
buffer-occupancy method (Takagi 1986, ch. 3; Takagi 1988): the joint
generating functions ``F_i(z_1, z_2)`` of the queue contents at the polling
epochs obey Takagi's recursion, whose first and second derivatives at z = 1
(here: coefficients of second-order Taylor expansions) give a linear system,
solved with sympy; the waits follow from the intervisit / cycle moments.
Checked inside the derivation against the pseudo-conservation law and
Takagi's symmetric formula.  The result is the wait of VM 1; VM 2's is the
same expression with the labels 1 and 2 swapped (the cycle 1 -> R_1 -> 2 ->
R_2 -> 1 relabelled is the same system).

Public parameter names:

- ``utilization`` (rho), ``total_switchover_mean`` (r), ``total_switchover_second_moment`` (E[R^2]);
- two queues: ``arrival_rate_1``, ``arrival_rate_2``, ``service_mean_1``, ``service_mean_2``,
  ``service_second_moment_1``, ``service_second_moment_2``; for the per-VM waits also
  ``switchover_mean_1``, ``switchover_mean_2``, ``switchover_second_moment_1``,
  ``switchover_second_moment_2`` (R_1 follows VM 1, R_2 follows VM 2);
- symmetric systems: ``queues`` (N), ``arrival_rate``, ``service_mean``, ``service_second_moment``
  (per queue), ``switchover_mean`` and ``switchover_variance`` (of one switch, per queue).

Examples
--------
>>> from virtmodel.symbolic import derive
>>> derive("polling.cycle_time")(utilization=0.5, total_switchover_mean=0.3)
0.6
>>> round(derive("polling.symmetric_exhaustive_wait")(queues=3, arrival_rate=0.2, service_mean=1.0,
...       service_second_moment=2.0, switchover_mean=0.1, switchover_variance=0.0), 12)
1.8
"""

from __future__ import annotations

import sympy as sp

from . import queues as _queues
from .derivation import Derivation, Step, derivation, derive, symbol
from .derivation import eq as _eq
from .derivation import is_zero as _zero

__all__: list[str] = []  # everything is reached through virtmodel.symbolic.derive

# --- symbols ---------------------------------------------------------------
rho = symbol("rho", positive=True)
r = symbol("r", positive=True)  # mean total switchover of a cycle
R2 = symbol("E[R^2]", r"\mathbb{E}[R^{2}]", positive=True)  # its second moment
W0 = symbol("W_0", positive=True)  # mean residual work sum lambda_i E[S_i^2]/2
Q2 = symbol("Sum rho_i^2", r"\sum_i \rho_i^{2}", positive=True)
EC = symbol("E[C]", r"\mathbb{E}[C]")
EY = symbol("E[Y]", r"\mathbb{E}[Y]")
V = symbol("V")  # mean work in the system
S = symbol("Sum rho_i W_i", r"\sum_i \rho_i W_i")
W = symbol("W")
lam1 = symbol("lambda_1", positive=True)
lam2 = symbol("lambda_2", positive=True)
ES_1 = symbol("E[S_1]", r"\mathbb{E}[S_{1}]", positive=True)
ES_2 = symbol("E[S_2]", r"\mathbb{E}[S_{2}]", positive=True)
ES2_1 = symbol("E[S_1^2]", r"\mathbb{E}[S_{1}^{2}]", positive=True)
ES2_2 = symbol("E[S_2^2]", r"\mathbb{E}[S_{2}^{2}]", positive=True)
EV1 = symbol("E[V_1]", r"\mathbb{E}[V_{1}]")
EV2 = symbol("E[V_2]", r"\mathbb{E}[V_{2}]")
N = symbol("N", positive=True, integer=True)
lam = symbol("lambda", positive=True)
ES = symbol("E[S]", r"\mathbb{E}[S]", positive=True)
ES2 = symbol("E[S^2]", r"\mathbb{E}[S^{2}]", positive=True)
r1 = symbol("r_1", positive=True)  # mean of one switchover (symmetric)
delta2 = symbol("delta^2", r"\delta^{2}", nonnegative=True)  # its variance

TWO_QUEUES = (
    ("arrival_rate_1", lam1),
    ("arrival_rate_2", lam2),
    ("service_mean_1", ES_1),
    ("service_mean_2", ES_2),
    ("service_second_moment_1", ES2_1),
    ("service_second_moment_2", ES2_2),
    ("total_switchover_mean", r),
    ("total_switchover_second_moment", R2),
)
TWO_QUEUE_VALUES = {
    rho: lam1 * ES_1 + lam2 * ES_2,
    W0: lam1 * ES2_1 / 2 + lam2 * ES2_2 / 2,
    Q2: (lam1 * ES_1) ** 2 + (lam2 * ES_2) ** 2,
}
SYMMETRIC = (
    ("queues", N),
    ("arrival_rate", lam),
    ("service_mean", ES),
    ("service_second_moment", ES2),
    ("switchover_mean", r1),
    ("switchover_variance", delta2),
)
# N alike queues: rho_i = lambda E[S], switchovers i.i.d. (mean r_1, variance delta^2)
SYMMETRIC_VALUES = {
    rho: N * lam * ES,
    W0: N * lam * ES2 / 2,
    Q2: N * (lam * ES) ** 2,
    r: N * r1,
    R2: N * delta2 + (N * r1) ** 2,
}

TAKAGI = "Takagi, Analysis of Polling Systems, MIT Press 1986"
BOXMA_GROENENDIJK = ("Boxma & Groenendijk, Pseudo-conservation laws in cyclic-service systems, "
                     "J. Appl. Prob. 24 (1987) 949-964")
ASSUMPTIONS = (
    "Poisson arrivals at each queue, i.i.d. service per queue with finite second moments",
    "one server visits the queues in fixed cyclic order; switchover times independent of everything else, "
    "paid at every switch (also between empty queues)",
    "FIFO within a queue; service is non-preemptive",
)




# ===========================================================================
# Mean cycle time
# ===========================================================================


@derivation("polling.cycle_time")
def _cycle_time():
    """Mean cycle time E[C] = r/(1 - rho), by flow balance (Takagi 1986)."""
    visit1 = _eq(EV1, lam1 * EC * ES_1)
    visit2 = _eq(EV2, lam2 * EC * ES_2)
    cycle = _eq(EC, r + EV1 + EV2)
    two = sp.solve(sp.Eq(EC, r + visit1.rhs + visit2.rhs), EC)[0]
    general = r / (1 - rho)
    assert _zero(two - general.subs(rho, lam1 * ES_1 + lam2 * ES_2))
    # the pCPU switches a fraction r/E[C] = 1 - rho of the time and serves the rest
    assert _zero(1 - r / general - rho)
    steps = (
        Step("In steady state queue i receives lambda_i E[C] jobs per cycle on average and all are served "
             "(flow balance), so its mean visit time is the work they bring (two queues shown)",
             sp.And(visit1, visit2)),
        Step("A cycle is the visits plus the switchovers, whatever the discipline", cycle),
        Step("Solve (sympy.solve)", _eq(EC, sp.factor(two))),
        Step("N queues: E[C] = r + sum_i rho_i E[C], hence", _eq(EC, general)),
        Step("Check: the server switches a fraction r/E[C] = 1 - rho of the time", _eq(r / EC, 1 - rho)),
    )
    return Derivation(
        name="polling.cycle_time",
        title="Cyclic polling: mean cycle time",
        steps=steps,
        result=general,
        parameters=(("utilization", rho), ("total_switchover_mean", r)),
        assumptions=(*ASSUMPTIONS, "any discipline (exhaustive, gated, limited) in a stable system, rho < 1"),
        source=f"{TAKAGI}, ch. 2; {BOXMA_GROENENDIJK}",
    )


# ===========================================================================
# Pseudo-conservation laws
# ===========================================================================

_SWITCH_TERM = {
    "exhaustive": rho * R2 / (2 * r) + r / (2 * (1 - rho)) * (rho**2 - Q2),
    "gated": rho * R2 / (2 * r) + r / (2 * (1 - rho)) * (rho**2 - Q2) + r / (1 - rho) * Q2,
}


def _law(discipline: str):
    """(steps, general law in rho, W0, Q2, r, E[R^2]) for exhaustive or gated service."""
    mg1_work = _eq(V, W0 + rho * V)  # FCFS M/G/1: a Poisson arrival waits the work it finds (PASTA)
    v_mg1 = sp.solve(sp.Eq(mg1_work.lhs, mg1_work.rhs), V)[0]
    assert _zero(v_mg1 - W0 / (1 - rho))
    decomposition = _eq(W0 + S, v_mg1 + EY)
    switch = _SWITCH_TERM[discipline]
    solved = sp.solve(sp.Eq(decomposition.lhs, decomposition.rhs.subs(EY, switch)), S)[0]
    law = rho * W0 / (1 - rho) + switch
    assert _zero(solved - law)

    # Check 1: one queue is the M/G/1 queue with multiple vacations V = R (Fuhrmann & Cooper 1985):
    # W = lambda E[S^2]/(2(1-rho)) + E[V^2]/(2E[V]) (+ rho E[V]/(1-rho) for gated service).
    pk = derive("mg1.mean_wait").result.subs({_queues.lam: lam, _queues.ES: ES, _queues.ES2: ES2})
    vacation = pk + R2 / (2 * r) + (rho * r / (1 - rho) if discipline == "gated" else 0)
    one = {W0: lam * ES2 / 2, Q2: (lam * ES) ** 2}
    single = (law.subs(one) / rho).subs(rho, lam * ES)
    assert _zero(single - vacation.subs(rho, lam * ES))

    steps = (
        Step("Work decomposition (Boxma & Groenendijk 1987): the mean work V in the polling system is that of "
             "the M/G/1 queue with the same arrivals plus E[Y], the mean work at an arbitrary epoch of a "
             "switchover interval", _eq(V, sp.Symbol("V_{M/G/1}") + EY)),
        Step("M/G/1: the work equals the FCFS wait of a Poisson arrival (PASTA); solve", _eq(V, v_mg1)),
        Step("Non-preemptive service: the work in system is the residual of the job in service (W_0) plus "
             "the full service of each waiting job, sum_i E[S_i] L_q,i = sum_i rho_i W_i (Little)",
             decomposition),
        Step(f"Work at an arbitrary switchover epoch for {discipline} service (Boxma & Groenendijk 1987, "
             "stated)", _eq(EY, switch)),
        Step("Solve for sum_i rho_i W_i (sympy.solve)", _eq(S, law)),
        Step("Check: one queue is the M/G/1 queue with multiple vacations of length R "
             "(Fuhrmann & Cooper 1985)" + (", gated" if discipline == "gated" else ""),
             _eq(W, sp.factor(vacation))),
    )
    return steps, law


def _law_derivation(discipline: str) -> Derivation:
    steps, law = _law(discipline)
    result = law.subs(TWO_QUEUE_VALUES)
    steps = (*steps, Step("Two queues, in the public parameters", _eq(S, result)))
    return Derivation(
        name=f"polling.pseudo_conservation_{discipline}",
        title=f"Cyclic polling, {discipline} service: pseudo-conservation law for sum_i rho_i W_i",
        steps=steps,
        result=result,
        parameters=TWO_QUEUES,
        assumptions=(*ASSUMPTIONS, f"{discipline} service at every queue",
                     "rho < 1 (stationary regime); stated for two queues, the law holds for any number"),
        source=f"{BOXMA_GROENENDIJK}; Boxma, Queueing Systems 5 (1989) 185-214",
    )


@derivation("polling.pseudo_conservation_exhaustive")
def _pseudo_conservation_exhaustive():
    """sum_i rho_i W_i = rho W_0/(1-rho) + rho E[R^2]/(2r) + r/(2(1-rho)) (rho^2 - sum rho_i^2)."""
    return _law_derivation("exhaustive")


@derivation("polling.pseudo_conservation_gated")
def _pseudo_conservation_gated():
    """The exhaustive law plus r/(1-rho) sum rho_i^2 (the work served behind the gate)."""
    return _law_derivation("gated")


# ===========================================================================
# Symmetric systems
# ===========================================================================


_TAKAGI_SYMMETRIC = {
    "exhaustive": delta2 / (2 * r1) + (N * lam * ES2 + r1 * (N - N * lam * ES)) / (2 * (1 - N * lam * ES)),
    "gated": delta2 / (2 * r1) + (N * lam * ES2 + r1 * (N + N * lam * ES)) / (2 * (1 - N * lam * ES)),
}


def _symmetric(discipline: str) -> Derivation:
    steps, law = _law(discipline)
    per_queue = sp.factor(sp.cancel(law.subs(SYMMETRIC_VALUES) / (N * lam * ES)))
    takagi = _TAKAGI_SYMMETRIC[discipline]
    assert _zero(per_queue - takagi)
    steps = (
        *steps,
        Step("N alike queues: by symmetry W_i = W, so sum_i rho_i W_i = rho W; substitute rho_i = lambda E[S], "
             "r = N r_1, E[R^2] = N delta^2 + N^2 r_1^2 and divide by rho = N lambda E[S]",
             _eq(W, per_queue)),
        Step(f"Check: Takagi's symmetric {discipline} formula (difference simplifies to 0)", _eq(W, takagi)),
    )
    return Derivation(
        name=f"polling.symmetric_{discipline}_wait",
        title=f"Symmetric cyclic polling, {discipline} service: mean wait of each queue",
        steps=steps,
        result=takagi,
        parameters=SYMMETRIC,
        assumptions=(*ASSUMPTIONS, f"{discipline} service; N alike queues (equal arrival rates, service moments "
                     "and switchover moments)", "rho = N lambda E[S] < 1"),
        source=f"{TAKAGI}, ch. 4; {BOXMA_GROENENDIJK}",
    )


@derivation("polling.symmetric_exhaustive_wait")
def _symmetric_exhaustive_wait():
    """W = delta^2/(2 r_1) + (N lambda E[S^2] + r_1 (N - rho))/(2(1 - rho)), rho = N lambda E[S]."""
    return _symmetric("exhaustive")


@derivation("polling.symmetric_gated_wait")
def _symmetric_gated_wait():
    """W = delta^2/(2 r_1) + (N lambda E[S^2] + r_1 (N + rho))/(2(1 - rho)), rho = N lambda E[S]."""
    return _symmetric("gated")


# ===========================================================================
# Two VMs: exact per-VM waits (buffer-occupancy method)
# ===========================================================================

ER_1 = symbol("E[R_1]", r"\mathbb{E}[R_{1}]", positive=True)
ER_2 = symbol("E[R_2]", r"\mathbb{E}[R_{2}]", positive=True)
ER2_1 = symbol("E[R_1^2]", r"\mathbb{E}[R_{1}^{2}]", positive=True)
ER2_2 = symbol("E[R_2^2]", r"\mathbb{E}[R_{2}^{2}]", positive=True)
EB = symbol("E[B]", r"\mathbb{E}[B]")
EB2 = symbol("E[B^2]", r"\mathbb{E}[B^{2}]")
W1 = symbol("W_1")
_s = symbol("s")
_u1 = symbol("u_1")  # z_1 - 1
_u2 = symbol("u_2")  # z_2 - 1

TWO_VMS = (
    *TWO_QUEUES[:6],
    ("switchover_mean_1", ER_1),
    ("switchover_mean_2", ER_2),
    ("switchover_second_moment_1", ER2_1),
    ("switchover_second_moment_2", ER2_2),
)
#: relabelling VM 1 <-> VM 2 (the same cyclic system seen from the other VM)
SWAP = {lam1: lam2, lam2: lam1, ES_1: ES_2, ES_2: ES_1, ES2_1: ES2_2, ES2_2: ES2_1,
        ER_1: ER_2, ER_2: ER_1, ER2_1: ER2_2, ER2_2: ER2_1}


def _lst(mean, second, s):
    """Second-order Taylor polynomial of a Laplace-Stieltjes transform: 1 - E[X] s + E[X^2] s^2 / 2."""
    return 1 - mean * s + second * s**2 / 2


def _busy_period(lam_, mean, second):
    """(E[B], E[B^2]) of the M/G/1 busy period from the branching premise B = S + B_1 + ... + B_{N(S)}."""
    first = sp.solve(sp.Eq(EB, mean + lam_ * mean * EB), EB)[0]
    # given S: N(S) ~ Poisson(lambda S) independent busy periods, E[(sum B_k)^2 | S] = lambda S E[B^2]
    # + (lambda S)^2 E[B]^2, and 2 E[S sum B_k] = 2 lambda E[S^2] E[B]
    sec = sp.solve(sp.Eq(EB2, second + 2 * lam_ * second * first + lam_ * mean * EB2
                         + lam_**2 * second * first**2), EB2)[0]
    return sp.factor(first), sp.factor(sec)


def _solve_linear(equations, unknowns):
    """Solve linear equations exactly (sympy.solve); {unknown: value}."""
    return sp.solve(equations, unknowns, dict=True)[0]


def _rational_zero(expr) -> bool:
    """Whether the rational function ``expr`` is identically 0: its numerator over a common denominator expands to 0."""
    return sp.expand(sp.numer(sp.together(sp.sympify(expr)))) == 0


def _second_order(expr):
    """Terms of total degree <= 2 in (u_1, u_2) of a polynomial, {(i, j): coefficient of u_1^i u_2^j}."""
    poly = sp.Poly(expr, _u1, _u2)
    return {k: c for k, c in poly.terms() if sum(k) <= 2}


def _truncated_product(a, b):
    """``a * b`` up to total degree 2 in (u_1, u_2) (higher terms do not reach the second derivatives)."""
    ta, tb = _second_order(a), _second_order(b)
    return sum(ca * cb * _u1 ** (i + k) * _u2 ** (j + m)
               for (i, j), ca in ta.items() for (k, m), cb in tb.items() if i + j + k + m <= 2)


def _pgf_recursion(discipline: str):
    """Takagi's recursion F_2 = R_1^*(...) F_1(...) as a sympy equation with undefined functions (for display)."""
    z1, z2 = sp.symbols("z_1 z_2")
    load = lam1 * (1 - z1) + lam2 * (1 - z2)
    inner = (sp.Function("Theta_1")(lam2 * (1 - z2)) if discipline == "exhaustive"
             else sp.Function("S_1^*")(load))
    return _eq(sp.Function("F_2")(z1, z2), sp.Function("R_1^*")(load) * sp.Function("F_1")(inner, z2))


def _two_vm(discipline: str) -> Derivation:
    # f_i(j): mean number of VM-j jobs at VM i's polling epoch; f_i(j,k): factorial second moments there
    f1, f2 = ([sp.Symbol(f"f_{i}({j})") for j in (1, 2)] for i in (1, 2))
    g1, g2 = ([sp.Symbol(f"f_{i}({j},{k})") for j, k in ((1, 1), (1, 2), (2, 2))] for i in (1, 2))

    def pgf(f, g):
        return 1 + f[0] * _u1 + f[1] * _u2 + (g[0] * _u1**2 + 2 * g[1] * _u1 * _u2 + g[2] * _u2**2) / 2

    F1, F2 = pgf(f1, g1), pgf(f2, g2)
    arrivals = -(lam1 * _u1 + lam2 * _u2)  # sum_j lambda_j (1 - z_j)
    steps = []
    if discipline == "exhaustive":
        b1, b12 = _busy_period(lam1, ES_1, ES2_1)
        b2, b22 = _busy_period(lam2, ES_2, ES2_2)
        steps.append(Step(
            "Exhaustive service empties the queue: a visit to VM i that finds x jobs lasts x busy periods of the "
            "M/G/1 queue (lambda_i, S_i); by the branching premise B = S + B_1 + ... + B_{N(S)} with N(S) "
            "Poisson(lambda S), take means and second moments and solve (sympy.solve)",
            sp.And(_eq(EB, b1), _eq(EB2, b12))))
        visit1 = _lst(b1, b12, -lam2 * _u2)  # busy periods of VM 1, during which only VM 2 gets jobs (kept)
        visit2 = _lst(b2, b22, -lam1 * _u1)
        recursion = ("F_2(z) = R_1*(sum_j lambda_j (1 - z_j)) F_1(theta_1(lambda_2 (1 - z_2)), z_2), "
                     "F_1(z) = R_2*(sum_j lambda_j (1 - z_j)) F_2(z_1, theta_2(lambda_1 (1 - z_1)))")
    else:
        visit1 = _lst(ES_1, ES2_1, arrivals)  # one service per job found, arrivals join every queue
        visit2 = _lst(ES_2, ES2_2, arrivals)
        recursion = ("F_2(z) = R_1*(sum_j lambda_j (1 - z_j)) F_1(S_1*(sum_j lambda_j (1 - z_j)), z_2), "
                     "F_1(z) = R_2*(sum_j lambda_j (1 - z_j)) F_2(z_1, S_2*(sum_j lambda_j (1 - z_j)))")
    steps.append(Step(
        f"Takagi's recursion for the joint PGF F_i of the queue contents at VM i's polling epoch ({discipline}): "
        f"{recursion}.  Each job found at VM 1 is replaced by the jobs that arrive during its "
        + ("busy period" if discipline == "exhaustive" else "service") + ", then the switchover R_1 adds "
        "Poisson arrivals everywhere", _pgf_recursion(discipline)))
    steps.append(Step(
        "Only derivatives up to order 2 at z = 1 are needed, so expand to second order in u_j = z_j - 1: "
        "F_i = 1 + sum_j f_i(j) u_j + (1/2) sum_jk f_i(j,k) u_j u_k and R*(s) = 1 - E[R] s + E[R^2] s^2/2",
        _eq(sp.Symbol("F_1"), F1)))
    rhs2 = _truncated_product(_lst(ER_1, ER2_1, arrivals), F1.subs(_u1, visit1 - 1))
    rhs1 = _truncated_product(_lst(ER_2, ER2_2, arrivals), F2.subs(_u2, visit2 - 1))
    equations = []
    for lhs, rhs in ((F2, rhs2), (F1, rhs1)):
        equations += [c for k, c in _second_order(lhs - rhs).items() if sum(k) > 0]
    first = _solve_linear([e for e in equations if not set(e.free_symbols) & {*g1, *g2}], [*f1, *f2])
    rest = [e.subs(first) for e in equations if set(e.free_symbols) & {*g1, *g2}]
    second = _solve_linear(rest, [*g1, *g2])
    found, factorial = sp.factor(first[f1[0]]), sp.factor(second[g1[0]])
    steps.append(Step(
        "Match the coefficients of u_1, u_2, u_1^2, u_1 u_2, u_2^2 on both sides of both recursions: 10 linear "
        "equations; solve the first-order ones, then the second-order ones (sympy.solve).  VM 1's own queue at "
        "its polling epoch:", sp.And(_eq(f1[0], found), _eq(g1[0], factorial))))
    rho_1 = lam1 * ES_1
    if discipline == "exhaustive":
        wait = factorial / (2 * lam1 * found) + lam1 * ES2_1 / (2 * (1 - rho_1))
        why = ("The jobs at VM 1's poll are the Poisson arrivals of its intervisit time I_1: f_1(1) = lambda_1 "
               "E[I_1], f_1(1,1) = lambda_1^2 E[I_1^2]; the Fuhrmann-Cooper decomposition gives W_1 = "
               "E[I_1^2]/(2E[I_1]) + lambda_1 E[S_1^2]/(2(1 - rho_1))")
    else:
        wait = (1 + rho_1) * factorial / (2 * lam1 * found)
        why = ("The jobs at VM 1's poll are the Poisson arrivals of the cycle C_1 since its last poll: "
               "f_1(1,1)/f_1(1) = lambda_1 E[C_1^2]/E[C]; an arrival waits the residual cycle and the service of "
               "the VM-1 jobs that came before it in the cycle, W_1 = (1 + rho_1) E[C_1^2]/(2 E[C])")
    result = sp.factor(sp.cancel(wait))
    steps.append(Step(why, _eq(W1, result)))

    # Check 1: the pseudo-conservation law (Boxma & Groenendijk 1987) for rho_1 W_1 + rho_2 W_2
    _, law = _law(discipline)
    r_total = ER_1 + ER_2
    law2 = law.subs({**TWO_QUEUE_VALUES, r: r_total,
                     R2: ER2_1 - ER_1**2 + ER2_2 - ER_2**2 + r_total**2})
    w2 = result.xreplace(SWAP)
    assert _rational_zero(rho_1 * result + lam2 * ES_2 * w2 - law2)
    steps.append(Step("Check: rho_1 W_1 + rho_2 W_2 is the pseudo-conservation law (difference simplifies to 0); "
                      "W_2 is W_1 with the labels 1 and 2 swapped", _eq(S, law2)))
    # Check 2: two alike VMs give Takagi's symmetric formula with N = 2
    alike = {lam2: lam1, ES_2: ES_1, ES2_2: ES2_1, ER_2: ER_1, ER2_2: ER2_1}
    takagi = _TAKAGI_SYMMETRIC[discipline].subs({N: 2, lam: lam1, ES: ES_1, ES2: ES2_1, r1: ER_1,
                                                 delta2: ER2_1 - ER_1**2})
    assert _rational_zero(result.xreplace(alike) - takagi)
    steps.append(Step("Check: two alike VMs give Takagi's symmetric formula (N = 2)", _eq(W, takagi)))
    return Derivation(
        name=f"polling.two_vm_{discipline}_wait",
        title=f"Cyclic polling of two VMs, {discipline} service: exact mean wait of VM 1",
        steps=tuple(steps),
        result=result,
        parameters=TWO_VMS,
        assumptions=(*ASSUMPTIONS, f"{discipline} service at both VMs; switchover R_i follows VM i",
                     "rho = lambda_1 E[S_1] + lambda_2 E[S_2] < 1 (stationary regime)",
                     "VM 2's wait: the same expression with the labels 1 and 2 swapped"),
        source=(f"{TAKAGI}, ch. 3 (buffer-occupancy method); Takagi, ACM Comput. Surv. 20 (1988) 5-28; "
                "Levy & Sidi, IEEE Trans. Commun. 38 (1990) 1750-1760"),
    )


@derivation("polling.two_vm_exhaustive_wait")
def _two_vm_exhaustive_wait():
    """W_1 of two VMs under exhaustive service, from Takagi's PGF recursion (buffer-occupancy method)."""
    return _two_vm("exhaustive")


@derivation("polling.two_vm_gated_wait")
def _two_vm_gated_wait():
    """W_1 of two VMs under gated service, from Takagi's PGF recursion (buffer-occupancy method)."""
    return _two_vm("gated")
