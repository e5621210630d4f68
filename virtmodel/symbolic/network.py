r"""Derivations for VM-to-VM networks: the Jackson tandem, its sojourn distribution, sync asymmetry.

The numeric counterparts are in :mod:`virtmodel.analytic.network`.

Public parameter names: ``arrival_rate``, ``service_rate_1``,
``service_rate_2``, ``rate_1``, ``rate_2``, ``t``, ``service_rate``,
``to_server_rate``, ``from_server_rate``.

Examples
--------
>>> from virtmodel.symbolic import derive
>>> derive("network.jackson_tandem_mean_response")(arrival_rate=0.5, service_rate_1=1.0, service_rate_2=1.25)
3.3333333333333335
"""

from __future__ import annotations

import sympy as sp

from .derivation import Derivation, Step, derivation, symbol
from .derivation import eq as _eq
from .derivation import is_zero as _zero
from .queues import _convergent

__all__: list[str] = []

lam = symbol("lambda", r"\lambda", positive=True)
mu1 = symbol("mu_1", r"\mu_1", positive=True)
mu2 = symbol("mu_2", r"\mu_2", positive=True)
n1, n2 = sp.symbols("n_1 n_2", integer=True, positive=True)
r1, r2 = (symbol(f"rho_{i}", rf"\rho_{i}", positive=True) for i in (1, 2))
L = symbol("L")
W = symbol("W")
a = symbol("a", positive=True)
b = symbol("b", positive=True)
t = symbol("t", positive=True)
x = symbol("x", positive=True)
F = symbol("F(t)")
mu = symbol("mu", r"\mu", positive=True)
lam_to = symbol("lambda_to", r"\lambda_{\to}", positive=True)
lam_from = symbol("lambda_from", r"\lambda_{\leftarrow}", positive=True)
err = symbol("e", r"E[\hat\theta - \theta]")

SOURCE_JACKSON = ("Jackson (1963), Management Science 10(1); Kleinrock (1975), Queueing Systems vol. 1, §4.8, "
                  "eq. 4.87 (product form) and Little's law")
SOURCE_SOJOURN = ("Reich (1957), Ann. Math. Stat. 28(3) (independent sojourns in M/M/1 tandems); "
                  "Kleinrock (1975), vol. 1, eq. 3.26 (M/M/1 sojourn Exp(mu - lambda))")
SOURCE_SYNC = "RFC 5905 (2010), §8 (on-wire offset); Jackson (1963) for the one-way delays"


@derivation("network.jackson_tandem_mean_response")
def _tandem():
    p = (1 - r1) * r1**n1 * (1 - r2) * r2**n2
    rates = {r1: lam / mu1, r2: lam / mu2}
    # global balance of the two-station tandem in an interior state (n1, n2 >= 1)
    inflow = (lam * p.subs(n1, n1 - 1) + mu1 * p.subs({n1: n1 + 1, n2: n2 - 1}, simultaneous=True)
              + mu2 * p.subs(n2, n2 + 1))
    outflow = (lam + mu1 + mu2) * p
    assert _zero(sp.powsimp(sp.expand((inflow - outflow).subs(rates)), force=True) / p.subs(rates))
    # on the boundaries n2 = 0 (no mu2 out, no mu1 in from n2 - 1) and n1 = 0 (no lambda in, no mu1 out)
    b1 = (lam * p.subs(n1, n1 - 1) + mu2 * p.subs(n2, n2 + 1) - (lam + mu1) * p).subs(n2, 0)
    b2 = (mu1 * p.subs({n1: n1 + 1, n2: n2 - 1}, simultaneous=True) + mu2 * p.subs(n2, n2 + 1)
          - (lam + mu2) * p).subs(n1, 0)
    assert _zero(sp.expand(b1.subs(rates)) / p.subs(rates).subs(n2, 0))
    assert _zero(sp.expand(b2.subs(rates)) / p.subs(rates).subs(n1, 0))
    k = sp.Symbol("k", integer=True, nonnegative=True)
    rho = sp.Symbol("rho", positive=True)
    mean_geometric = sp.simplify(_convergent(sp.summation(k * (1 - rho) * rho**k, (k, 0, sp.oo))))
    number = mean_geometric.subs(rho, r1) + mean_geometric.subs(rho, r2)
    result = sp.simplify((number / lam).subs(rates))
    assert _zero(result - (1 / (mu1 - lam) + 1 / (mu2 - lam)))
    steps = (
        Step("Product-form guess: independent geometric marginals, rho_i = lambda/mu_i",
             _eq(symbol("p(n_1, n_2)", r"p(n_1, n_2)"), p)),
        Step("It satisfies global balance in the interior (flow in = flow out), checked symbolically",
             _eq(inflow, outflow)),
        Step("and on the boundaries n_1 = 0 and n_2 = 0; the mean of a geometric marginal",
             _eq(symbol("E[N_i]"), mean_geometric.subs(rho, symbol("rho_i", r"\rho_i")))),
        Step("Mean number in the tandem", _eq(L, number)),
        Step("Little's law, W = L / lambda: the sum of the two M/M/1 sojourns", _eq(W, result)),
    )
    return Derivation(name="network.jackson_tandem_mean_response", title="Two M/M/1 stations in tandem (Jackson)",
                      steps=steps, result=result,
                      parameters=(("arrival_rate", lam), ("service_rate_1", mu1), ("service_rate_2", mu2)),
                      assumptions=("Poisson arrivals", "exponential service drawn independently at each station",
                                   "FCFS, one server each, lambda < mu_1, mu_2"),
                      source=SOURCE_JACKSON)


@derivation("network.tandem_sojourn_cdf")
def _sojourn_cdf():
    # conds="none": the generic branch a != b (sympy would add a Piecewise for a = b)
    density = sp.factor(sp.integrate(a * sp.exp(-a * x) * b * sp.exp(-b * (t - x)), (x, 0, t), conds="none"))
    cdf = sp.integrate(sp.expand(density.subs(t, x)), (x, 0, t), conds="none")
    result = 1 - (b * sp.exp(-a * t) - a * sp.exp(-b * t)) / (b - a)
    assert _zero(sp.expand(cdf - result))
    steps = (
        Step("Sojourns at the two stations are independent, Exp(a) and Exp(b), a = mu_1 - lambda, "
             "b = mu_2 - lambda (Reich 1957); convolve the densities", _eq(symbol("f(t)"), density)),
        Step("Integrate", _eq(F, cdf)),
        Step("Hypoexponential distribution function (a != b)", _eq(F, result)),
    )
    return Derivation(name="network.tandem_sojourn_cdf", title="End-to-end delay distribution of a Jackson tandem",
                      steps=steps, result=result, parameters=(("rate_1", a), ("rate_2", b), ("t", t)),
                      assumptions=("independent exponential sojourns", "rate_1 != rate_2"), source=SOURCE_SOJOURN)


@derivation("network.sync_offset_error")
def _sync():
    d_to = 1 / (mu - lam_to)
    d_from = 1 / (mu - lam_from)
    result = sp.simplify((d_to - d_from) / 2)
    assert _zero(result - (lam_to - lam_from) / (2 * (mu - lam_to) * (mu - lam_from)))
    steps = (
        Step("Request: M/M/1 sojourn at the bottleneck of rate mu loaded with lambda_to",
             _eq(symbol("E[d_to]", r"E[d_\to]"), d_to)),
        Step("Reply: the reverse direction's bottleneck, loaded with lambda_from",
             _eq(symbol("E[d_from]", r"E[d_\leftarrow]"), d_from)),
        Step("NTP's mean offset error is half the asymmetry (RFC 5905, §8)", _eq(err, (d_to - d_from) / 2)),
        Step("Simplify", _eq(err, sp.factor(result))),
    )
    return Derivation(name="network.sync_offset_error", title="NTP offset error from asymmetric queueing",
                      steps=steps, result=result,
                      parameters=(("service_rate", mu), ("to_server_rate", lam_to), ("from_server_rate", lam_from)),
                      assumptions=("one Jackson station per direction of equal rate mu", "equal fixed delays"),
                      source=SOURCE_SYNC)
