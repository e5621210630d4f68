"""Derivations of waiting- and response-time tails: M/M/c FCFS.

``mmc.wait_tail``: P(W > t) = C(c, a) e^{-(c mu - lambda) t}, from the
geometric tail of the M/M/c state probabilities (``queues._erlang_c``) and the
Erlang distribution of the wait given the state found on arrival.
``mmc.response_tail``: P(T > t) for T = W + S, S ~ Exp(mu) independent of W
under FCFS, by the convolution integral.  The numeric counterparts are
:class:`virtmodel.analytic.tail.MMcWait` and :class:`~virtmodel.analytic.tail.MMcResponse`.

Examples
--------
>>> from virtmodel.symbolic import derive
>>> d = derive("mmc.wait_tail")
>>> round(d(arrival_rate=0.5, service_rate=1.0, servers=1, t=2.0), 12)   # rho e^{-(mu - lambda) t}
0.183939720586
"""

from __future__ import annotations

import functools

import sympy as sp

from .derivation import Derivation, Step, derivation, symbol
from .derivation import eq as _eq
from .queues import GROSS, KLEINROCK, MMC_ASSUMPTIONS, C, _convergent, _erlang_c, a, c, lam, m, mu, rho

__all__: list[str] = []

t = symbol("t", positive=True)  # the time whose tail probability is asked
w = symbol("w", positive=True)  # integration variable: the wait
i = symbol("i", integer=True, nonnegative=True)
theta = symbol("theta", r"\theta", positive=True)  # decay rate c mu - lambda of the wait
P_W = symbol("P(W>t)", r"P(W > t)")
P_T = symbol("P(T>t)", r"P(T > t)")

TAIL_PARAMETERS = (("arrival_rate", lam), ("service_rate", mu), ("servers", c), ("t", t))
TAIL_SOURCE = f"{KLEINROCK}, eq. (3.41); {GROSS}, eqs. (2.39)-(2.40)"


@functools.cache
def _wait_tail():
    steps, textbook_c, numeric_c = _erlang_c()
    state = C * (1 - rho) * rho**m  # P(arrival finds c + m): p_c rho^m with p_c = C (1 - rho)
    given = sp.Sum(sp.exp(-c * mu * t) * (c * mu * t) ** i / sp.factorial(i), (i, 0, m))
    # sympy leaves the limit rho^oo of the partial sums symbolic; it is 0 because rho < 1
    inner = sp.simplify(_convergent(sp.summation(C * (1 - rho) * rho**m, (m, i, sp.oo))).xreplace({rho**sp.oo: 0}))
    swapped = sp.powsimp(sp.exp(-c * mu * t) * (c * mu * t) ** i / sp.factorial(i) * inner, force=True)
    total = sp.simplify(sp.summation(swapped, (i, 0, sp.oo)))
    in_rates = sp.simplify(sp.powsimp(total.subs(rho, lam / (c * mu)), force=True))
    result = in_rates.subs(C, textbook_c.subs(a, lam / mu))
    numeric = in_rates.subs(C, numeric_c.subs(a, lam / mu))
    steps = (
        Step("By PASTA an arrival finds c + m jobs (m >= 0) with probability p_c rho^m = C (1 - rho) rho^m "
             "(the geometric tail of the M/M/c balance equations, C = Erlang C)", _eq(sp.Symbol("P_{c+m}"), state)),
        Step("It then waits for m + 1 departures of c busy servers, each Exp(c mu): an Erlang(m + 1, c mu) wait, "
             "whose tail is a Poisson sum", _eq(sp.Symbol("P(W>t|c+m)"), given)),
        Step("Total probability: sum over m and swap the sums (all terms positive); the inner sum over m >= i "
             "is geometric (rho < 1)", _eq(sp.Sum(state, (m, i, sp.oo)), inner)),
        Step("The outer sum is the exponential series (sympy.summation)", _eq(P_W, total)),
        Step("Substitute rho = lambda / (c mu)", _eq(P_W, in_rates)),
    )
    return steps, in_rates, result, numeric


@derivation("mmc.wait_tail")
def _mmc_wait_tail():
    """Tail of the M/M/c FCFS wait, :math:`P(W > t) = C(c, a)\\,e^{-(c\\mu - \\lambda)t}`.

    Assumptions: those of M/M/c (Poisson arrivals, exponential service at c
    identical servers, FCFS, rho < 1).  Source: Kleinrock (1975), eq.
    (3.41); Gross et al. (2008), eq. (2.39).
    """
    steps, in_rates, result, numeric = _wait_tail()
    return Derivation(
        name="mmc.wait_tail",
        title="M/M/c FCFS waiting-time tail P(W > t)",
        steps=(*steps, Step("Insert Erlang's C formula with a = lambda/mu", _eq(P_W, result))),
        result=result,
        parameters=TAIL_PARAMETERS,
        assumptions=(*MMC_ASSUMPTIONS, "FCFS order of service"),
        source=TAIL_SOURCE,
        numeric=numeric,
    )


@derivation("mmc.response_tail")
def _mmc_response_tail():
    """Tail of the M/M/c FCFS response time T = W + S, S ~ Exp(mu) independent of W.

    :math:`P(T > t) = e^{-\\mu t} + C\\mu\\,\\frac{e^{-\\mu t} - e^{-\\theta t}}{\\theta - \\mu}`,
    :math:`\\theta = c\\mu - \\lambda \\ne \\mu`: W has an atom 1 - C at 0
    and density C theta e^{-theta w} (``mmc.wait_tail``); condition on it.
    Source: Gross et al. (2008), eq. (2.40).
    """
    _, in_rates, _, _ = _wait_tail()
    density = -sp.diff(in_rates.subs(lam, c * mu - theta), t).subs(t, w)
    atom = (1 - C) * sp.exp(-mu * t)
    waited = sp.integrate(density * sp.exp(-mu * (t - w)), (w, 0, t), conds="none")
    waited = sp.simplify(sp.piecewise_fold(waited).args[-1][0] if isinstance(waited, sp.Piecewise) else waited)
    late = in_rates.subs(lam, c * mu - theta)  # W > t: then T > t whatever S
    total = sp.simplify(atom + waited + late)
    textbook = sp.exp(-mu * t) + C * mu * (sp.exp(-mu * t) - sp.exp(-theta * t)) / (theta - mu)
    if sp.simplify(total - textbook) != 0:  # the textbook arrangement must be the same function
        raise AssertionError(f"response tail {total} differs from its textbook form {textbook}")
    steps_c = _erlang_c()
    result_theta = textbook
    result = result_theta.subs(theta, c * mu - lam).subs(C, steps_c[1].subs(a, lam / mu))
    numeric = result_theta.subs(theta, c * mu - lam).subs(C, steps_c[2].subs(a, lam / mu))
    steps = (
        Step("The wait has an atom 1 - C at 0 and, for w > 0, density -d/dw P(W > w) (mmc.wait_tail), "
             "theta = c mu - lambda", _eq(sp.Symbol("f_W(w)"), density)),
        Step("T = W + S with S ~ Exp(mu) independent of W (FCFS): condition on W = 0, 0 < W <= t, W > t",
             _eq(P_T, sp.Symbol("(1-C)e^{-mu t}") + sp.Integral(density * sp.exp(-mu * (t - w)), (w, 0, t))
                 + late)),
        Step("Integrate (theta != mu)", _eq(P_T, total)),
        Step("Collect (sympy.simplify confirms the two forms are equal)", _eq(P_T, textbook)),
        Step("Insert theta = c mu - lambda and Erlang's C formula", _eq(P_T, result)),
    )
    return Derivation(
        name="mmc.response_tail",
        title="M/M/c FCFS response-time tail P(T > t)",
        steps=steps,
        result=result,
        parameters=TAIL_PARAMETERS,
        assumptions=(*MMC_ASSUMPTIONS, "FCFS order of service", "c mu - lambda != mu"),
        source=TAIL_SOURCE,
        numeric=numeric,
    )
