"""Derivations for allocation to VMs: Kaufman–Roberts, DRF, the water-filling level, the idle memory tax.

The numeric counterparts live in :mod:`virtmodel.analytic.allocation`
(:func:`~virtmodel.analytic.allocation.kaufman_roberts`,
:func:`~virtmodel.analytic.allocation.drf`,
:func:`~virtmodel.analytic.allocation.water_fill`,
:func:`~virtmodel.analytic.allocation.idle_memory_tax`); the tests in
``tests/symbolic/test_allocation.py`` check each lambdified result against
them to 1e-9 relative with hypothesis.

Examples
--------
>>> from virtmodel.symbolic import derive
>>> round(derive("allocation.drf_two_users")(capacity_1=9, capacity_2=18, demand_a_1=1, demand_a_2=4,
...                                          demand_b_1=3, demand_b_2=1), 12)
3.0
"""

from __future__ import annotations

import itertools

import sympy as sp

from .derivation import Derivation, Step, derivation, symbol
from .derivation import eq as _eq
from .derivation import is_zero as _zero

__all__: list[str] = []  # everything is reached through virtmodel.symbolic.derive

KAUFMAN = ("Kaufman, 'Blocking in a shared resource environment', IEEE Trans. Commun. 29(10), 1981, "
           "eqs. (4) and (8); Roberts (1981); Ross, Multiservice Loss Models (1995), §2.3")
GHODSI = ("Ghodsi, Zaharia, Hindman, Konwinski, Shenker & Stoica, 'Dominant Resource Fairness: fair "
          "allocation of multiple resource types', NSDI 2011, §4 and §5.1")
BERTSEKAS = "Bertsekas & Gallager, Data Networks, 2nd ed. (1992), §6.5.2 (max-min fairness, progressive filling)"
WALDSPURGER = "Waldspurger, 'Memory resource management in VMware ESX Server', OSDI 2002, §5.2"

# --------------------------------------------------------------------------- Kaufman-Roberts

a1 = symbol("a_1", positive=True)
a2 = symbol("a_2", positive=True)
lam = symbol("lambda_k", positive=True)
mu = symbol("mu_k", positive=True)
nk = symbol("n_k", positive=True, integer=True)
piN = sp.Function("pi")
qf = sp.Function("q")
j = symbol("j", positive=True, integer=True)

#: the fixed instance whose blocking is the result: C = 6 units, flavours of sizes 1 and 2
KR_CAPACITY = 6
KR_SIZES = (1, 2)


@derivation("allocation.kaufman_roberts")
def _kaufman_roberts():
    """Blocking of flavour 1 (size 1) beside flavour 2 (size 2) on C = 6 units, from the product form."""
    # product form and its local balance: pi(n) lambda_k = pi(n + e_k) (n_k + 1) mu_k
    n1, n2 = sp.symbols("n_1 n_2", nonnegative=True, integer=True)
    A1, A2 = sp.symbols("A_1 A_2", positive=True)

    def prod(m1, m2):
        return A1**m1 / sp.factorial(m1) * A2**m2 / sp.factorial(m2)

    # local balance for flavour 1 with a_1 = lambda_1 / mu_1: pi(n + e_1)(n_1 + 1) = a_1 pi(n)
    assert _zero(sp.combsimp(prod(n1 + 1, n2) * (n1 + 1) / prod(n1, n2)) - A1)
    assert _zero(sp.combsimp(prod(n1, n2 + 1) * (n2 + 1) / prod(n1, n2)) - A2)
    # the recursion j q(j) = sum_k a_k b_k q(j - b_k), checked against the product form summed over states
    C, (b1, b2) = KR_CAPACITY, KR_SIZES
    states = [(m1, m2) for m1, m2 in itertools.product(range(C + 1), range(C // b2 + 1)) if m1 * b1 + m2 * b2 <= C]
    occupancy = [sum(prod(m1, m2) for m1, m2 in states if m1 * b1 + m2 * b2 == k) for k in range(C + 1)]
    q = [sp.Integer(1)]
    for k in range(1, C + 1):
        q.append(sp.expand((A1 * b1 * (q[k - b1] if k >= b1 else 0) + A2 * b2 * (q[k - b2] if k >= b2 else 0)) / k))
    for k in range(C + 1):
        assert _zero(q[k] - occupancy[k])
    total = sum(q)
    blocking = sp.together(q[C] / total).subs({A1: a1, A2: a2})
    # one flavour: Erlang B
    erlang = (A1**C / sp.factorial(C)) / sum(A1**k / sp.factorial(k) for k in range(C + 1))
    assert _zero(sp.together(q[C] / total).subs(A2, 0) - erlang)

    steps = (
        Step("Flavour k arrives Poisson(lambda_k), holds b_k units for a time of mean 1/mu_k; n_k requests "
             "present. The chain is reversible with product form pi(n) = prod_k a_k^{n_k}/n_k! / G "
             "(a_k = lambda_k/mu_k) on {n : sum_k n_k b_k <= C}; local balance holds",
             _eq(piN(nk) * lam, piN(nk + 1) * (nk + 1) * mu)),
        Step("Hence n_k pi(n) = a_k pi(n - e_k); multiply by b_k and sum over k: j pi(n) = sum_k a_k b_k "
             "pi(n - e_k) on the states with sum_k n_k b_k = j. Summing over those states gives the "
             "Kaufman-Roberts recursion for the occupancy q(j) (q(0) = 1, q(j<0) = 0)",
             _eq(j * qf(j), sp.Sum(sp.Symbol("a_k") * sp.Symbol("b_k") * qf(j - sp.Symbol("b_k")),
                                   (sp.Symbol("k"), 1, sp.Symbol("K"))))),
        Step("Checked: the recursion equals the product form summed over every state (C = 6, sizes 1 and 2)",
             _eq(qf(C), occupancy[C].subs({A1: a1, A2: a2}))),
        Step("A request of flavour k is blocked when fewer than b_k units are free (PASTA: time = call "
             "congestion); for flavour 1 (b_1 = 1) that is j = C",
             _eq(sp.Symbol("B_1"), qf(C) / sp.Sum(qf(j), (j, 0, C)))),
        Step("Unrolled for C = 6, sizes (1, 2)", _eq(sp.Symbol("B_1"), blocking)),
        Step("Check: with a_2 = 0 this is Erlang B(6, a_1)", _eq(sp.Symbol("B_1"), erlang.subs(A1, a1))),
    )
    return Derivation(
        name="allocation.kaufman_roberts",
        title="Kaufman-Roberts: blocking of the size-1 flavour beside a size-2 flavour on 6 units",
        steps=steps,
        result=blocking,
        parameters=(("offered_load_1", a1), ("offered_load_2", a2)),
        assumptions=("Poisson arrivals per flavour; holding times i.i.d. with finite mean, any distribution "
                     "(insensitivity); complete sharing of C units, a request is lost if it does not fit",
                     "instance: capacity 6, sizes 1 and 2"),
        source=KAUFMAN,
    )


# --------------------------------------------------------------------------- DRF for two users, two resources

C1 = symbol("C_1", positive=True)
C2 = symbol("C_2", positive=True)
dA1 = symbol("d_{A1}", positive=True)
dA2 = symbol("d_{A2}", positive=True)
dB1 = symbol("d_{B1}", positive=True)
dB2 = symbol("d_{B2}", positive=True)
xA = symbol("x_A", nonnegative=True)
xB = symbol("x_B", nonnegative=True)
gA = symbol("g_A", positive=True)
gB = symbol("g_B", positive=True)
level = symbol("t", positive=True)


@derivation("allocation.drf_two_users")
def _drf_two_users():
    """Tasks of user A under DRF: two users, two resources, every demand positive."""
    # progressive filling: x_A g_A = x_B g_B = t (equal dominant shares)
    xa, xb = level / gA, level / gB
    # the level at which resource r saturates
    t_r = [sp.solve(sp.Eq(xa * dA + xb * dB, Cr), level, simplify=False, check=False)[0]
           for dA, dB, Cr in ((dA1, dB1, C1), (dA2, dB2, C2))]
    assert _zero(t_r[0] - C1 / (dA1 / gA + dB1 / gB))
    # every user needs both resources, so the first saturation freezes both: t = min_r t_r
    general = sp.Min(*t_r, evaluate=False) / gA
    g_a = sp.Max(dA1 / C1, dA2 / C2, evaluate=False)
    g_b = sp.Max(dB1 / C1, dB2 / C2, evaluate=False)
    result = general.xreplace({gA: g_a, gB: g_b})
    # the paper's example: 9 CPUs, 18 GB, A <1, 4>, B <3, 1> -> A 3 tasks
    example = {C1: 9, C2: 18, dA1: 1, dA2: 4, dB1: 3, dB2: 1}
    assert result.subs(example) == 3
    steps = (
        Step("Dominant share of one task of user i: the largest fraction of any resource it takes",
             sp.And(_eq(gA, g_a), _eq(gB, g_b))),
        Step("DRF (progressive filling) raises the dominant shares together: x_A g_A = x_B g_B = t",
             sp.And(_eq(xA, level / gA), _eq(xB, level / gB))),
        Step("Resource r saturates at the level solving x_A d_{Ar} + x_B d_{Br} = C_r (sympy.solve)",
             sp.And(*(_eq(sp.Symbol(f"t_{r + 1}"), t_r[r]) for r in range(2)))),
        Step("Both users need both resources, so the first resource to saturate stops both (Pareto "
             "efficient: no one can grow without the saturated resource)",
             _eq(xA, general)),
        Step("Check: the paper's example (9 CPU, 18 GB; A <1, 4>, B <3, 1>) gives x_A = 3 (and x_B = 2)",
             _eq(xA, sp.Integer(3))),
    )
    return Derivation(
        name="allocation.drf_two_users",
        title="Dominant Resource Fairness, two users and two resources: tasks of user A",
        steps=steps,
        result=result,
        parameters=(("capacity_1", C1), ("capacity_2", C2), ("demand_a_1", dA1), ("demand_a_2", dA2),
                    ("demand_b_1", dB1), ("demand_b_2", dB2)),
        assumptions=("divisible tasks (the fluid allocation), users with unbounded work",
                     "every per-task demand > 0", "equal weights"),
        source=GHODSI,
    )


# --------------------------------------------------------------------------- water-filling level

Ccap = symbol("C", positive=True)
u1 = symbol("u_1", positive=True)
s1 = symbol("s_1", positive=True)
s2 = symbol("s_2", positive=True)
s3 = symbol("s_3", positive=True)


@derivation("allocation.water_fill_level")
def _water_fill_level():
    """The water level of weighted max-min with three entities, entity 1 held at its ceiling u_1."""
    x = [sp.Min(u1, level * s1), level * s2, level * s3]
    # regime: t s_1 > u_1, the others below their (infinite) ceilings
    budget = sp.Eq(u1 + level * s2 + level * s3, Ccap)
    t = sp.solve(budget, level)[0]
    # if entity 1 were not capped the level would be C / (s_1 + s_2 + s_3); it is capped iff u_1 < that s_1
    uncapped = sp.solve(sp.Eq(level * (s1 + s2 + s3), Ccap), level)[0]
    assert _zero(t.subs(u1, uncapped * s1) - uncapped)  # the two regimes meet continuously
    steps = (
        Step("Weighted max-min: x_i = min(u_i, t s_i), t the largest level with sum x_i <= C "
             "(progressive filling)", _eq(sp.Symbol("x_i"), sp.Min(sp.Symbol("u_i"), level * sp.Symbol("s_i")))),
        Step("Entity 1 is frozen at its ceiling when t s_1 > u_1; the others share what is left",
             _eq(Ccap, sum(x).subs(sp.Min(u1, level * s1), u1))),
        Step("Solve for the level (sympy.solve)", _eq(level, t)),
        Step("It applies while u_1 < s_1 C / (s_1 + s_2 + s_3), the level without ceilings; at equality the "
             "two expressions agree", _eq(level, uncapped)),
    )
    return Derivation(
        name="allocation.water_fill_level",
        title="Water-filling level with one entity at its ceiling",
        steps=steps,
        result=t,
        parameters=(("capacity", Ccap), ("limit_1", u1), ("share_2", s2), ("share_3", s3)),
        assumptions=("entities 2 and 3 demand more than they get (no ceiling), no reservations",
                     "entity 1 capped: u_1 < s_1 C / (s_1 + s_2 + s_3)"),
        source=BERTSEKAS,
    )


# --------------------------------------------------------------------------- idle memory tax

M = symbol("M", positive=True)
S1 = symbol("S_1", positive=True)
S2 = symbol("S_2", positive=True)
W1 = symbol("W_1", nonnegative=True)
W2 = symbol("W_2", nonnegative=True)
tau = symbol("tau", nonnegative=True)
P1 = symbol("P_1", positive=True)
P2 = symbol("P_2", positive=True)
kk = symbol("k", positive=True)
f = symbol("f", nonnegative=True)
theta = symbol("theta", positive=True)


@derivation("allocation.idle_memory_tax")
def _idle_memory_tax():
    """Memory of VM 1 of two under ESX reclamation with the idle memory tax."""
    rho = sp.Symbol("S") / (sp.Symbol("P") * (f + kk * (1 - f)))
    k_tau = 1 / (1 - tau)
    # with W = f P the denominator is W + k (P - W)
    P, W, S = sp.Symbol("P"), sp.Symbol("W"), sp.Symbol("S")
    assert _zero((P * (f + kk * (1 - f))).subs(f, W / P) - (W + kk * (P - W)))
    per_vm = sp.solve(sp.Eq(S / (W + k_tau * (P - W)), 1 / theta), P)[0]
    assert _zero(per_vm - (tau * W + (1 - tau) * theta * S))
    p1 = per_vm.subs({S: S1, W: W1})
    p2 = per_vm.subs({S: S2, W: W2})
    th = sp.solve(sp.Eq(p1 + p2, M), theta)[0]
    result = sp.cancel(p1.subs(theta, th))
    assert _zero(result + p2.subs(theta, th) - M)
    steps = (
        Step("Adjusted shares-per-page ratio (Waldspurger 2002, §5.2): idle pages cost k = 1/(1 - tau)",
             _eq(sp.Symbol("rho"), rho)),
        Step("With the active memory W = f P (the working set) the denominator is W + k (P - W)",
             _eq(P * (f + kk * (1 - f)), W + kk * (P - W))),
        Step("Reclaiming from the lowest ratio until none can gain equalises rho = 1/theta; solve for P "
             "(sympy.solve, k = 1/(1 - tau))", _eq(P, per_vm)),
        Step("Two VMs share M: P_1 + P_2 = M fixes theta", _eq(theta, th)),
        Step("Memory of VM 1", _eq(P1, result)),
    )
    return Derivation(
        name="allocation.idle_memory_tax",
        title="Idle memory tax: memory of VM 1 of two",
        steps=steps,
        result=result,
        parameters=(("memory", M), ("shares_1", S1), ("shares_2", S2), ("working_set_1", W1),
                    ("working_set_2", W2), ("tax_rate", tau)),
        assumptions=("working sets fixed while memory is re-divided; no reservations or limits bind",
                     "0 <= tau < 1; memory above tau (W_1 + W_2) so both allocations are positive"),
        source=WALDSPURGER,
    )
