"""Derivations for boot storms: the makespan of N exponential boots.

All in parallel, the makespan is the maximum of N i.i.d. Exp(mu) boot times.
By memorylessness, while k VMs are still booting the next one finishes after
an Exp(k mu) time, independent of the past; so the maximum is a sum of
independent Exp(N mu), Exp((N-1) mu), ..., Exp(mu) spacings (Rényi's
representation; David & Nagaraja, *Order Statistics*, 3rd ed., 2003, §2.5)
and :math:`E[\\max] = \\sum_{k=1}^{N} 1/(k\\mu) = H_N/\\mu`.  The builder
checks it against :math:`\\int_0^\\infty 1 - (1 - e^{-\\mu t})^N dt` for small N.

With k < N boot slots the first N - k completions happen with all k slots
busy (each after Exp(k mu)); then the last k boot in parallel:
:math:`E[M] = (N - k)/(k\\mu) + H_k/\\mu`.

Public parameter names: ``n_vms``, ``boot_rate``, ``slots``.

Examples
--------
>>> from virtmodel.symbolic import derive
>>> derive("lifecycle.parallel_boot_exponential")(n_vms=2, boot_rate=1.0)
1.5
"""

from __future__ import annotations

import sympy as sp

from .derivation import Derivation, Step, derivation, symbol
from .derivation import eq as _eq

__all__: list[str] = []

mu = symbol("mu", positive=True)
N = symbol("N", integer=True, positive=True)
k = symbol("k", integer=True, positive=True)
j = symbol("j", integer=True, positive=True)
t = symbol("t", positive=True)
M = symbol("M")
M1 = symbol("M_1", r"M_{k=1}")
E_spacing = symbol("E[spacing_j]", r"\mathbb{E}[D_j]")
E_busy = symbol("E[busy]", r"\mathbb{E}[T_{\mathrm{busy}}]")
E_last = symbol("E[last k]", r"\mathbb{E}[T_{\mathrm{last}\,k}]")

SOURCE = "David & Nagaraja, Order Statistics, 3rd ed. (Wiley 2003), §2.5 (Rényi representation) and §3.1"
ASSUMPTIONS = ("boot times i.i.d. exponential with rate mu", "boots start at time 0 (no earlier stages)")



def _harmonic_numeric(n):
    """H_n as digamma(n + 1) + Euler's gamma (vectorised by scipy)."""
    return sp.digamma(n + 1) + sp.EulerGamma


def _check_small_n(result, checks=(1, 2, 3, 4)):
    """Integrate 1 - (1 - e^{-mu t})^N for small N and compare with ``result``."""
    for n in checks:
        integral = sp.integrate(1 - (1 - sp.exp(-mu * t)) ** n, (t, 0, sp.oo))
        assert sp.simplify(integral - result.subs(N, n)) == 0, n
    return sp.integrate(1 - (1 - sp.exp(-mu * t)) ** 3, (t, 0, sp.oo))


@derivation("lifecycle.parallel_boot_exponential")
def _parallel():
    """E[max of N Exp(mu)] = H_N / mu."""
    spacing = 1 / (j * mu)
    total = sp.Sum(spacing, (j, 1, N))
    result = total.doit()
    steps = (
        Step("While j VMs are still booting, the next finishes after Exp(j mu) (memoryless)",
             _eq(E_spacing, spacing)),
        Step("The makespan is the sum of the N spacings", _eq(M, total)),
        Step("Sum: the harmonic number", _eq(M, result)),
        Step("Check for N = 3 by integrating the survival function of the maximum",
             _eq(sp.Integral(1 - (1 - sp.exp(-mu * t)) ** 3, (t, 0, sp.oo)), _check_small_n(result))),
    )
    return Derivation(name="lifecycle.parallel_boot_exponential",
                      title="Makespan of N exponential boots in parallel", steps=steps, result=result,
                      parameters=(("n_vms", N), ("boot_rate", mu)), assumptions=ASSUMPTIONS, source=SOURCE,
                      numeric=_harmonic_numeric(N) / mu)


@derivation("lifecycle.slots_boot_exponential")
def _slots():
    """E[makespan] of N exponential boots on k <= N slots: (N - k)/(k mu) + H_k / mu."""
    busy = sp.Sum(1 / (k * mu), (j, 1, N - k)).doit()
    tail = sp.Sum(1 / (j * mu), (j, 1, k)).doit()
    result = busy + tail
    steps = (
        Step("While VMs still queue for a slot, all k slots are busy: completions come at rate k mu",
             _eq(E_busy, sp.Sum(1 / (k * mu), (j, 1, N - k)))),
        Step("N - k such completions empty the queue", _eq(E_busy, busy)),
        Step("Then the last k boots run in parallel: the maximum of k exponentials",
             _eq(E_last, tail)),
        Step("Add the two phases", _eq(M, result)),
        Step("k = 1 gives the sequential N / mu", _eq(M1, sp.simplify(result.subs(k, 1)))),
    )
    return Derivation(name="lifecycle.slots_boot_exponential",
                      title="Makespan of N exponential boots on k boot slots", steps=steps, result=result,
                      parameters=(("n_vms", N), ("boot_rate", mu), ("slots", k)),
                      assumptions=(*ASSUMPTIONS, "k <= N slots, FIFO"), source=SOURCE,
                      numeric=(N - k) / (k * mu) + _harmonic_numeric(k) / mu)
