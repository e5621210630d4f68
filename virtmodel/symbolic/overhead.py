"""Derivations for virtualization overhead: the moments of S' = S + C_1 + ... + C_N.

Conditioning on N = n, the sum of n i.i.d. exit costs has
:math:`E[\\sum_{i \\le n} C_i] = n E[C]` and
:math:`E[(\\sum_{i \\le n} C_i)^2] = \\sum_i \\sum_j E[C_i C_j] = n E[C^2] + n(n-1) E[C]^2`
(the n diagonal terms and the n(n-1) independent pairs); averaging over N
replaces :math:`n^k` by :math:`E[N^k]`.  S is independent of the sum, so
:math:`E[S'^2] = E[S^2] + 2E[S]E[Y] + E[Y^2]`.  Pollaczek-Khinchine with
these moments gives the M/G/1 wait of a virtualized host.  The numeric
counterparts are :class:`virtmodel.dists.Compound` and
:class:`virtmodel.Virtualization`.

Public parameter names: ``service_mean``, ``service_second_moment`` (S),
``exits_mean``, ``exits_second_moment`` (N), ``cost_mean``,
``cost_second_moment`` (C), ``arrival_rate``.

Examples
--------
>>> from virtmodel.symbolic import derive
>>> derive("overhead.compound_mean")(service_mean=1.0, exits_mean=2.0, cost_mean=0.1)
1.2
"""

from __future__ import annotations

import functools

import sympy as sp

from .derivation import Derivation, Step, derivation, symbol
from .derivation import eq as _eq

__all__: list[str] = []  # everything is reached through virtmodel.symbolic.derive

lam = symbol("lambda", positive=True)
ES = symbol("E[S]", r"\mathbb{E}[S]", positive=True)
ES2 = symbol("E[S^2]", r"\mathbb{E}[S^{2}]", positive=True)
EN = symbol("E[N]", r"\mathbb{E}[N]", nonnegative=True)
EN2 = symbol("E[N^2]", r"\mathbb{E}[N^{2}]", nonnegative=True)
EC = symbol("E[C]", r"\mathbb{E}[C]", positive=True)
EC2 = symbol("E[C^2]", r"\mathbb{E}[C^{2}]", positive=True)
n = symbol("n", integer=True, nonnegative=True)
i = symbol("i", integer=True, positive=True)
j = symbol("j", integer=True, positive=True)
Y = symbol("Y")
S1 = symbol("E[S']", r"\mathbb{E}[S']")
S2 = symbol("E[S'^2]", r"\mathbb{E}[S'^{2}]")
W = symbol("W")
EY_n = symbol("E[Y|n]", r"\mathbb{E}[Y \mid N = n]")
EY2_n = symbol("E[Y^2|n]", r"\mathbb{E}[Y^{2} \mid N = n]")
EY = symbol("E[Y]", r"\mathbb{E}[Y]")
EY2 = symbol("E[Y^2]", r"\mathbb{E}[Y^{2}]")
VarS1 = symbol("Var S'", r"\operatorname{Var} S'")

SOURCE = ("compound sums: Ross, Stochastic Processes, 2nd ed. (Wiley 1996), §1.5 (Wald); Feller, "
          "An Introduction to Probability Theory, vol. 1, 3rd ed. (1968), §XII.1")
ASSUMPTIONS = (
    "S, N and the exit costs C_1, C_2, ... are independent; the C_i are i.i.d.",
    "N is a nonnegative integer count with finite second moment",
)
MOMENT_PARAMETERS = (("service_mean", ES), ("service_second_moment", ES2), ("exits_mean", EN),
                     ("exits_second_moment", EN2), ("cost_mean", EC), ("cost_second_moment", EC2))



def _average_over_n(expr):
    """Replace n^k by E[N^k] in a polynomial in n (the expectation over N)."""
    poly = sp.Poly(sp.expand(expr), n)
    moments = {0: sp.Integer(1), 1: EN, 2: EN2}
    return sp.expand(sum(coeff * moments[deg] for (deg,), coeff in poly.terms()))


@functools.cache
def _moments():
    steps = []
    first_given_n = sp.summation(EC, (i, 1, n))
    steps.append(Step("Given N = n, the mean of the sum of n exit costs", _eq(EY_n, first_given_n)))
    # E[(sum C_i)^2 | n] = sum_i sum_j E[C_i C_j]: E[C^2] on the diagonal, E[C]^2 off it
    second_given_n = sp.summation(EC2, (i, 1, n)) + sp.summation(sp.summation(EC**2, (j, 1, n)) - EC**2, (i, 1, n))
    second_given_n = sp.expand(second_given_n)
    steps.append(Step("Given N = n: n diagonal terms E[C^2] and n(n-1) independent pairs E[C]^2",
                      _eq(EY2_n, sp.factor_terms(second_given_n))))
    ey = _average_over_n(first_given_n)
    ey2 = _average_over_n(second_given_n)
    steps.append(Step("Average over N (n^k -> E[N^k]): Wald's identity", _eq(EY, ey)))
    steps.append(Step("Average over N", _eq(EY2, ey2)))
    mean = ES + ey
    second = sp.expand(ES2 + 2 * ES * ey + ey2)
    steps.append(Step("S is independent of Y: E[S'] = E[S] + E[Y]", _eq(S1, mean)))
    steps.append(Step("E[S'^2] = E[S^2] + 2 E[S] E[Y] + E[Y^2]", _eq(S2, second)))
    variance = sp.expand(second - mean**2)
    steps.append(Step("Check: Var S' = Var S + E[N] Var C + Var N E[C]^2",
                      _eq(VarS1, sp.collect(variance, [EN, EC]))))
    assert sp.simplify(variance - ((ES2 - ES**2) + EN * (EC2 - EC**2) + (EN2 - EN**2) * EC**2)) == 0
    return tuple(steps), mean, second


@derivation("overhead.compound_mean")
def _compound_mean():
    """E[S'] = E[S] + E[N] E[C] (Wald's identity)."""
    steps, mean, _ = _moments()
    return Derivation(name="overhead.compound_mean", title="Mean service time with VMM exits",
                      steps=steps[:3] + steps[4:5], result=mean,
                      parameters=(("service_mean", ES), ("exits_mean", EN), ("cost_mean", EC)),
                      assumptions=ASSUMPTIONS, source=SOURCE)


@derivation("overhead.compound_moments")
def _compound_moments():
    """E[S'^2] = E[S^2] + 2E[S]E[N]E[C] + E[N]E[C^2] + (E[N^2] - E[N])E[C]^2, by conditioning on N."""
    steps, _, second = _moments()
    return Derivation(name="overhead.compound_moments",
                      title="Mean and second moment of the service time with VMM exits",
                      steps=steps, result=second, parameters=MOMENT_PARAMETERS,
                      assumptions=ASSUMPTIONS, source=SOURCE)


@derivation("overhead.mg1_mean_wait")
def _mg1_mean_wait():
    """M/G/1 mean wait with inflated service: lambda E[S'^2] / (2 (1 - lambda E[S']))."""
    steps, mean, second = _moments()
    wait = lam * second / (2 * (1 - lam * mean))
    steps = (*steps, Step("Pollaczek-Khinchine with the inflated moments (Kleinrock 1975, §5.5)",
                          _eq(W, lam * S2 / (2 * (1 - lam * S1)))),
             Step("Substitute E[S'] and E[S'^2]", _eq(W, wait)))
    return Derivation(name="overhead.mg1_mean_wait", title="M/G/1 mean wait of a virtualized pCPU",
                      steps=steps, result=wait, parameters=(("arrival_rate", lam), *MOMENT_PARAMETERS),
                      assumptions=(*ASSUMPTIONS, "Poisson arrivals, one FCFS pCPU, lambda E[S'] < 1"),
                      source=SOURCE + "; Kleinrock, Queueing Systems I (1975), eq. (5.76)")


# --------------------------------------------------------------------------- exits per unit of guest work
#
# S' = S + sum_{i <= N} C_i with N | S ~ Poisson(r S) (virtmodel.overhead.ExitInflated without I/O
# exits).  Given S = s the sum is compound Poisson: its mean is r s E[C] and its second moment
# r s E[C^2] + (r s E[C])^2 (the Poisson factorial moments E[N] = r s, E[N(N-1)] = (r s)^2 in the
# conditioned formula above); averaging over S turns s^k into E[S^k].

r = symbol("r", nonnegative=True)
s = symbol("s", positive=True)
EYs = symbol("E[Y|s]", r"\mathbb{E}[Y \mid S = s]")
EY2s = symbol("E[Y^2|s]", r"\mathbb{E}[Y^{2} \mid S = s]")
ES1s = symbol("E[S'^2|s]", r"\mathbb{E}[S'^{2} \mid S = s]")
RATE_SOURCE = ("compound Poisson sums conditioned on the work: Ross, Stochastic Processes, 2nd ed. (1996), "
               "§2.5 (compound Poisson moments); Feller vol. 2 (1971), §XIII.3 (subordination)")
RATE_ASSUMPTIONS = (
    "given the native work S = s, the number of exits is Poisson(r s): exits at rate r per unit of guest CPU",
    "exit costs C_1, C_2, ... i.i.d., independent of S and of the number of exits",
)
RATE_PARAMETERS = (("service_mean", ES), ("service_second_moment", ES2), ("exit_rate", r),
                   ("cost_mean", EC), ("cost_second_moment", EC2))


def _average_over_s(expr):
    """Replace s^k by E[S^k] (k <= 2) in a polynomial in s: the expectation over the native work."""
    poly = sp.Poly(sp.expand(expr), s)
    moments = {0: sp.Integer(1), 1: ES, 2: ES2}
    return sp.expand(sum(coeff * moments[deg] for (deg,), coeff in poly.terms()))


@functools.cache
def _rate_moments():
    steps = []
    first_given_n = sp.summation(EC, (i, 1, n))
    second_given_n = sp.expand(sp.summation(EC2, (i, 1, n))
                               + sp.summation(sp.summation(EC**2, (j, 1, n)) - EC**2, (i, 1, n)))
    # Poisson(r s): E[N] = r s, E[N^2] = r s + (r s)^2
    poisson = {EN: r * s, EN2: r * s + (r * s) ** 2}
    ey_s = sp.expand(_average_over_n(first_given_n).subs(poisson))
    ey2_s = sp.expand(_average_over_n(second_given_n).subs(poisson))
    steps.append(Step("Given S = s, N ~ Poisson(r s): Wald's identity", _eq(EYs, ey_s)))
    steps.append(Step("Given S = s: E[N] E[C^2] + E[N(N-1)] E[C]^2 with E[N(N-1)] = (r s)^2",
                      _eq(EY2s, sp.factor_terms(ey2_s))))
    second_s = sp.expand(s**2 + 2 * s * ey_s + ey2_s)
    steps.append(Step("(s + Y)^2 averaged given S = s", _eq(ES1s, sp.collect(second_s, s))))
    mean = sp.factor(_average_over_s(s + ey_s))
    second = _average_over_s(second_s)
    steps.append(Step("Average over S: the overhead factor 1 + r E[C] does not depend on the job size",
                      _eq(S1, mean)))
    steps.append(Step("Average over S (s^k -> E[S^k])", _eq(S2, sp.collect(second, [ES2, ES]))))
    assert sp.simplify(second - (ES2 * (1 + r * EC) ** 2 + r * ES * EC2)) == 0
    return tuple(steps), mean, second


@derivation("overhead.rate_moments")
def _rate_moments_derivation():
    """E[S'^2] = E[S^2](1 + r E[C])^2 + r E[S] E[C^2] for exits at rate r per unit of guest work."""
    steps, _, second = _rate_moments()
    return Derivation(name="overhead.rate_moments",
                      title="Second moment of the service time with exits per unit of guest work",
                      steps=steps, result=second, parameters=RATE_PARAMETERS,
                      assumptions=RATE_ASSUMPTIONS, source=RATE_SOURCE)


@derivation("overhead.rate_mg1_mean_wait")
def _rate_mg1_mean_wait():
    """M/G/1 mean wait with exits per unit of guest work: lambda E[S'^2] / (2 (1 - lambda E[S']))."""
    steps, mean, second = _rate_moments()
    wait = lam * second / (2 * (1 - lam * mean))
    steps = (*steps, Step("Pollaczek-Khinchine with the inflated moments (Kleinrock 1975, §5.5)",
                          _eq(W, lam * S2 / (2 * (1 - lam * S1)))),
             Step("Substitute E[S'] and E[S'^2]", _eq(W, wait)))
    return Derivation(name="overhead.rate_mg1_mean_wait",
                      title="M/G/1 mean wait of a virtualized pCPU, exits per unit of guest work",
                      steps=steps, result=wait, parameters=(("arrival_rate", lam), *RATE_PARAMETERS),
                      assumptions=(*RATE_ASSUMPTIONS, "Poisson arrivals, one FCFS pCPU, lambda E[S'] < 1"),
                      source=RATE_SOURCE + "; Kleinrock, Queueing Systems I (1975), eq. (5.76)")
