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


# ---------------------------------------------------------------------------
# issue 16: installs over a shared image server, initialisation levels, dynamic loading
# ---------------------------------------------------------------------------

S = symbol("S", positive=True)
B = symbol("B", positive=True)
n_active = symbol("n", integer=True, positive=True)
C = symbol("C")
rate_each = symbol("r_each", r"r_{\mathrm{each}}")
PS_SOURCE = "Kleinrock, Queueing Systems Vol. 2 (Wiley 1976), §4.4 (processor sharing)"


@derivation("lifecycle.shared_install_makespan")
def _shared_install():
    """N equal installs sharing bandwidth B under processor sharing all end at N S / B."""
    each = B / N
    result = S / each
    steps = (
        Step("N transfers share the link equally (processor sharing): each moves at B/N", _eq(rate_each, each)),
        Step("All start together with the same size S, so none finishes before the others: "
             "each needs S at rate B/N", _eq(C, result)),
        Step("Work conservation gives the same: the link moves N S at rate B", _eq(C, sp.simplify(N * S / B))),
    )
    return Derivation(name="lifecycle.shared_install_makespan",
                      title="Makespan of N equal installs sharing an image server", steps=steps,
                      result=sp.simplify(result), parameters=(("n_vms", N), ("image_size", S), ("bandwidth", B)),
                      assumptions=("N transfers start at time 0", "equal sizes S", "link bandwidth B shared equally"),
                      source=PS_SOURCE)


@derivation("lifecycle.ps_mean_completion_exponential")
def _ps_mean_exponential():
    """Mean install end of N i.i.d. Exp(mu) sizes sharing B: (N + 1)/(2 mu B)."""
    # pairwise form: C_i = (S_i + sum_{j != i} min(S_i, S_j)) / B, E[min of two Exp(mu)] = 1/(2 mu)
    x1, x2 = symbol("x_1", positive=True), symbol("x_2", positive=True)
    density = mu * sp.exp(-mu * x1) * mu * sp.exp(-mu * x2)
    e_min = sp.integrate(sp.integrate(x1 * density, (x2, x1, sp.oo)) * 2, (x1, 0, sp.oo))
    pairwise = (1 / mu + (N - 1) * e_min) / B
    result = sp.simplify(pairwise)
    # completion process: with n active each Exp(mu) job moves at B/n, so completions come at rate mu B
    spacing_sum = sp.Sum(j / (mu * B), (j, 1, N)).doit() / N
    assert sp.simplify(spacing_sum - result) == 0
    steps = (
        Step("Each other transfer delays a given one by the smaller of the two sizes (PS)",
             _eq(C, (symbol("S_i") + sp.Symbol(r"\sum_{j\ne i}\min(S_i,S_j)")) / B)),
        Step("E[min(S_1, S_2)] for two Exp(mu) sizes", _eq(symbol("E[min]"), e_min)),
        Step("Take the mean", _eq(C, pairwise)),
        Step("Simplify", _eq(C, result)),
        Step("Check: completions come at rate mu B (memoryless), the j-th after j/(mu B); average over j",
             _eq(C, spacing_sum)),
    )
    return Derivation(name="lifecycle.ps_mean_completion_exponential",
                      title="Mean install end of N exponential images sharing an image server", steps=steps,
                      result=result, parameters=(("n_vms", N), ("size_rate", mu), ("bandwidth", B)),
                      assumptions=("N transfers start at time 0", "sizes i.i.d. exponential with rate mu",
                                   "link bandwidth B shared equally"), source=PS_SOURCE)


@derivation("lifecycle.ps_order_statistic")
def _ps_order_statistic():
    """The i-th smallest of N transfers ends at (sum_{j<i} s_(j) + (N - i + 1) s_(i)) / B; shown for N = 4."""
    s = sp.symbols("s1:5", positive=True)  # s_(1) <= ... <= s_(4)
    size = 4
    ends, t, prev = [], 0, 0
    for i in range(size):
        t = t + (size - i) * (s[i] - prev) / B   # N - i left, each at B/(N - i), each must move s_(i) - s_(i-1)
        prev = s[i]
        ends.append(sp.expand(t))
    closed = [sp.expand((sum(s[:i]) + (size - i) * s[i]) / B) for i in range(size)]
    assert all(sp.simplify(a - b) == 0 for a, b in zip(ends, closed, strict=True))
    steps = tuple(Step(f"Phase {i + 1}: {size - i} transfers share B until the {i + 1}-th smallest is done",
                       _eq(symbol(f"C_({i + 1})"), e)) for i, e in enumerate(ends))
    steps += (Step("Telescoping: (sum_{j<i} s_(j) + (N - i + 1) s_(i)) / B; the result is i = 3",
                   _eq(symbol("C_(3)"), closed[2])),)
    return Derivation(name="lifecycle.ps_order_statistic",
                      title="Install ends under processor sharing: the order-statistics form (3rd of N = 4)",
                      steps=steps, result=closed[2],
                      parameters=(("s1", s[0]), ("s2", s[1]), ("s3", s[2]), ("bandwidth", B)),
                      assumptions=("4 transfers start at time 0", "sizes sorted s1 <= s2 <= s3 <= s4",
                                   "link bandwidth B shared equally"), source=PS_SOURCE)


@derivation("lifecycle.max_two_exponentials")
def _max_two():
    """E[max(X_a, X_b)] of independent Exp(a), Exp(b): 1/a + 1/b - 1/(a + b) (a DAG level of two)."""
    a, b = symbol("a", positive=True), symbol("b", positive=True)
    survival = 1 - (1 - sp.exp(-a * t)) * (1 - sp.exp(-b * t))
    result = sp.simplify(sp.integrate(survival, (t, 0, sp.oo)))
    steps = (
        Step("P(max > t) = 1 - F_a(t) F_b(t) for independent components", _eq(symbol("P(max>t)"), survival)),
        Step("E[max] = integral of the survival function", _eq(M, sp.Integral(survival, (t, 0, sp.oo)))),
        Step("Integrate", _eq(M, result)),
        Step("Inclusion-exclusion form", _eq(M, 1 / a + 1 / b - 1 / (a + b))),
    )
    assert sp.simplify(result - (1 / a + 1 / b - 1 / (a + b))) == 0
    return Derivation(name="lifecycle.max_two_exponentials",
                      title="One DAG level of two exponential components initialised in parallel", steps=steps,
                      result=result, parameters=(("rate_a", a), ("rate_b", b)),
                      assumptions=("independent exponential init times", "two cores or more"),
                      source="David & Nagaraja, Order Statistics, 3rd ed. (2003), §5.2")


@derivation("lifecycle.dynamic_loading_crossover")
def _crossover():
    """Dynamic loading brings the last VM up sooner than static while the needed fraction is below l/(l + o)."""
    m = symbol("m", positive=True)
    load, over, frac, init = (symbol("l", positive=True), symbol("o", positive=True), symbol("f", positive=True),
                              symbol("I", positive=True))
    static = init + m * load
    dynamic = init + frac * m * (load + over)
    crossing = sp.solve(sp.Eq(static, dynamic), frac)[0]
    steps = (
        Step("Static: every module (m, mean load l) before the host is ready", _eq(symbol("T_static"), static)),
        Step("Dynamic: the host is ready after initialisation; the VMs' fraction f of the modules is then "
             "loaded on demand, each with an overhead o", _eq(symbol("T_dynamic"), dynamic)),
        Step("Equal when", _eq(frac, crossing)),
    )
    return Derivation(name="lifecycle.dynamic_loading_crossover",
                      title="Where dynamic module loading stops paying", steps=steps, result=crossing,
                      parameters=(("load_time", load), ("on_demand_overhead", over)),
                      assumptions=("one loader, loads one at a time", "equal mean load times",
                                   "initialisation after static loading"),
                      source="virtmodel.HostBringUp (sums of means, exact by linearity)")
