"""Derivation of Erlang-A (M/M/c+M): the abandonment probability from birth-death balance.

The number in system of M/M/c+M is a birth-death chain with birth rate lambda
and death rate ``min(j, c) mu + (j - c)^+ theta`` (busy servers plus waiting
jobs whose patience runs out).  Balance across each cut gives the stationary
law in closed form; its queue part sums to Garnett, Mandelbaum & Reiman's
A(x, y) (a confluent hypergeometric series that sympy writes with the lower
incomplete gamma function); PASTA and the abandonment flux give P(Ab).

Public parameter names: ``arrival_rate``, ``service_rate``, ``servers``,
``abandonment_rate``.  The numeric form uses the regularised lower incomplete
gamma function (scipy's ``gammainc``) and ``gammaln`` so that it neither
overflows nor cancels for large x = c mu / theta.

Examples
--------
>>> from virtmodel.symbolic import derive
>>> d = derive("erlang_a.abandonment_probability")
>>> round(d(arrival_rate=2.0, service_rate=1.0, servers=2, abandonment_rate=0.5), 12)
0.227281686014
"""

from __future__ import annotations

import sympy as sp

from .derivation import Derivation, Step, derivation, gammaincc, gammaln, symbol
from .derivation import eq as _eq

__all__: list[str] = []

lam = symbol("lambda", r"\lambda", positive=True)
mu = symbol("mu", r"\mu", positive=True)
theta = symbol("theta", r"\theta", positive=True)
c = symbol("c", integer=True, positive=True)
j = symbol("j", integer=True, nonnegative=True)
k = symbol("k", integer=True, nonnegative=True)
x = symbol("x", positive=True)
y = symbol("y", positive=True)
a = symbol("a", positive=True)
B = symbol("B", r"E_{1,c}", positive=True)
pi_j = sp.Function("pi")
A_sym = symbol("A", r"A(x, y)", positive=True)
EQ = symbol("E[Q]", r"\mathbb{E}[Q]")
P_ab = symbol("P(Ab)", r"P(\mathrm{Ab})")
d_j = symbol("d_j")

SOURCE = ("Garnett, Mandelbaum & Reiman, 'Designing a call center with impatient customers', MSOM 4(3) "
          "(2002), sec. 3; Mandelbaum & Zeltyn, 'The M/M/n+G queue: summary of performance measures' (2007)")
ASSUMPTIONS = ("Poisson arrivals at rate lambda", "exponential service at rate mu on c servers, FCFS",
               "exponential patience at rate theta: a job not yet in service when it runs out leaves")


class gammainc(sp.Function):  # noqa: N801 (named after scipy.special.gammainc, which lambdify resolves)
    r"""Regularised lower incomplete gamma function :math:`P(s, z) = \gamma(s, z) / \Gamma(s)`."""

    nargs = 2

    def _eval_rewrite_as_lowergamma(self, s, z, **kwargs):
        return sp.lowergamma(s, z) / sp.gamma(s)

    def _latex(self, printer):
        s, z = (printer._print(arg) for arg in self.args)
        return rf"P\left({s}, {z}\right)"


def _series_identity_check(order=7):
    """sum_k k t_k = y A - x (A - 1) with t_k = y^k / (x+1)_k: compared as power series in y."""
    t = [y**n / sp.rf(x + 1, n) for n in range(order)]
    left = sum(n * t[n] for n in range(order))
    a_series = sum(t)
    right = y * a_series - x * (a_series - 1)
    difference = sp.expand(sp.series(sp.simplify(left - right), y, 0, order - 1).removeO())
    assert sp.simplify(difference) == 0, difference
    return sp.Sum(k * y**k / sp.rf(x + 1, k), (k, 0, sp.oo))


@derivation("erlang_a.abandonment_probability")
def _abandonment_probability():
    """P(Ab) of M/M/c+M."""
    death = sp.Min(j, c) * mu + sp.Max(j - c, 0) * theta
    term = y**k / sp.rf(x + 1, k)
    a_sum = sp.Sum(term, (k, 0, sp.oo))
    a_closed = sp.simplify(a_sum.doit())                # x e^y lowergamma(x, y) / y^x
    assert a_closed.has(sp.lowergamma), a_closed
    pi_c = 1 / (1 / B - 1 + A_sym)
    queue = pi_c * (x + A_sym * (y - x))
    subs = {x: c * mu / theta, y: lam / theta}
    erlang_b = sp.exp(-a) * a**c / sp.factorial(c) / gammaincc(c + 1, a)   # Poisson pmf(c) / cdf(c)
    result = (theta / lam * queue).subs(A_sym, a_closed).subs(B, erlang_b).subs(subs).subs(a, lam / mu)
    # numeric: A = exp(log x + y - x log y + ln Gamma(x)) P(x, y);  Erlang B = pmf(c) / cdf(c) of Poisson(a)
    xs, ys, load = c * mu / theta, lam / theta, lam / mu
    a_numeric = sp.exp(sp.log(xs) + ys - xs * sp.log(ys) + gammaln(xs)) * gammainc(xs, ys)
    b_numeric = sp.exp(c * sp.log(load) - load - gammaln(c + 1)) / gammaincc(c + 1, load)
    numeric = theta / lam * (xs + a_numeric * (ys - xs)) / (1 / b_numeric - 1 + a_numeric)
    steps = (
        Step("Birth rate lambda in every state; death rate in state j: busy servers plus waiting jobs "
             "whose patience runs out", _eq(d_j, death)),
        Step("Balance across the cut between j - 1 and j", _eq(lam * pi_j(j - 1), d_j * pi_j(j))),
        Step("Below c it is Erlang's loss chain: pi_j = pi_0 a^j / j! with a = lambda / mu",
             _eq(pi_j(j), pi_j(0) * a**j / sp.factorial(j))),
        Step("Above c each step divides by c mu + i theta: with x = c mu / theta, y = lambda / theta",
             _eq(pi_j(c + k), pi_j(c) * term)),
        Step("The queue states sum to A(x, y), an incomplete gamma function", _eq(A_sym, a_sum)),
        Step("Evaluated", _eq(A_sym, a_closed)),
        Step("Normalise with Erlang B = (a^c / c!) / sum_{j<=c} a^j / j!: sum_{j<c} pi_j = pi_c (1/B - 1)",
             _eq(pi_j(c), pi_c)),
        Step("Mean queue length: (x + k) t_k = y t_{k-1} gives sum_k k t_k = y A - x (A - 1) "
             "(checked as a power series in y)", _eq(_series_identity_check(), y * A_sym - x * (A_sym - 1))),
        Step("So E[Q] = pi_c (x + A (y - x))", _eq(EQ, queue)),
        Step("Waiting jobs abandon at rate theta each: the abandonment flux theta E[Q] over the arrival "
             "rate (PASTA, Little)", _eq(P_ab, theta * EQ / lam)),
        Step("Erlang B as a Poisson ratio, B = pmf(c; a) / cdf(c; a)", _eq(B, erlang_b)),
        Step("In the model's parameters", _eq(P_ab, result)),
    )
    return Derivation(name="erlang_a.abandonment_probability",
                      title="Erlang-A (M/M/c+M): probability of abandonment", steps=steps, result=result,
                      parameters=(("arrival_rate", lam), ("service_rate", mu), ("servers", c),
                                  ("abandonment_rate", theta)),
                      assumptions=ASSUMPTIONS, source=SOURCE, numeric=numeric)
