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

Public parameter names:

- ``utilization`` (rho), ``total_switchover_mean`` (r), ``total_switchover_second_moment`` (E[R^2]);
- two queues: ``arrival_rate_1``, ``arrival_rate_2``, ``service_mean_1``, ``service_mean_2``,
  ``service_second_moment_1``, ``service_second_moment_2``;
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
