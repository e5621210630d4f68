"""Derivations for single-station queues: M/M/1, M/G/1, M/M/c, M/M/c/c, M/M/1/K, G/G/1.

Each builder derives its result with sympy, step by step: the birth-death
balance equations are solved with :func:`sympy.rsolve`, normalising series are
summed with :func:`sympy.summation` under the stated assumptions (e.g.
``rho < 1``), Little's law is applied by substitution and :func:`sympy.solve`.
The numeric counterparts live in :mod:`virtmodel.analytic.queues`.

Notation (Kleinrock): ``lambda`` arrival rate, ``mu`` service rate, ``rho``
utilisation, ``a = lambda/mu`` offered load in Erlangs, ``p_n`` the stationary
probability of ``n`` customers in the system, ``L`` and ``L_q`` the mean
numbers in system and in queue, ``T`` the mean response (sojourn) time and
``W`` the mean wait in queue.

Examples
--------
>>> from virtmodel.symbolic import derive
>>> derive("mm1.mean_response").result
1/(-lambda + mu)
>>> derive("mg1.mean_wait").result
E[S^2]*lambda/(-2*E[S]*lambda + 2)
>>> round(derive("erlang_b")(servers=2, offered_load=1.0), 12)
0.2
"""

from __future__ import annotations

import functools

import sympy as sp

from .derivation import Derivation, Step, derivation, exprel, gammaincc, gammaln, symbol
from .derivation import eq as _eq

__all__: list[str] = []  # everything is reached through virtmodel.symbolic.derive

# --- symbols ---------------------------------------------------------------
lam = symbol("lambda", positive=True)  # arrival rate
mu = symbol("mu", positive=True)  # service rate of one server
rho = symbol("rho", positive=True)  # utilisation (per server)
a = symbol("a", positive=True)  # offered load lambda/mu in Erlangs
c = symbol("c", integer=True, positive=True)  # number of servers
K = symbol("K", integer=True, positive=True)  # capacity (in system) of M/M/1/K
n = symbol("n", integer=True, nonnegative=True)
k = symbol("k", integer=True, nonnegative=True)
m = symbol("m", integer=True, nonnegative=True)
p0 = symbol("p_0", positive=True)
p_c = symbol("p_c", positive=True)
x = symbol("x", real=True)
y = symbol("y", real=True)
ES = symbol("E[S]", r"\mathbb{E}[S]", positive=True)  # mean service time
ES2 = symbol("E[S^2]", r"\mathbb{E}[S^{2}]", positive=True)  # second moment of service time
ER = symbol("E[R]", r"\mathbb{E}[R]", positive=True)  # mean residual service time
ca2 = symbol("c_a^2", r"c_{a}^{2}", nonnegative=True)  # squared coefficient of variation, interarrivals
cs2 = symbol("c_s^2", r"c_{s}^{2}", nonnegative=True)  # squared coefficient of variation, service
L = symbol("L")
Lq = symbol("L_q")
T = symbol("T")
W = symbol("W")
B = symbol("B")
C = symbol("C")
P_wait = symbol("P_wait", r"P_{\mathrm{wait}}")
p = sp.Function("p")
q = sp.Function("q")

RATES = (("arrival_rate", lam), ("service_rate", mu))
GEOMETRIC = "the geometric series converges only for rho < 1 (stability)"
KLEINROCK = "Kleinrock, Queueing Systems Vol. 1: Theory, Wiley 1975"
GROSS = "Gross, Shortle, Thompson & Harris, Fundamentals of Queueing Theory, 4th ed., Wiley 2008"



# A stable, typical parameter point: _tidy flips the sign of factors that are negative there.
_SAMPLE = {
    lam: sp.Rational(1, 3),
    mu: 1,
    rho: sp.Rational(1, 3),
    a: sp.Rational(1, 3),
    c: 2,
    K: 2,
    ES: 1,
    ES2: 2,
    ca2: 1,
    cs2: 1,
}


def _tidy(expr):
    """Factor ``expr`` and write each factor with the sign it has in a stable system.

    ``-lambda/(lambda - mu)`` becomes ``lambda/(mu - lambda)`` and
    ``-E[S^2] lambda/(2 (E[S] lambda - 1))`` becomes ``E[S^2] lambda/(2 (1 - E[S] lambda))``.
    """
    numerator, denominator = sp.fraction(sp.factor(expr))
    coefficient = sp.Integer(1)
    parts = []
    for power, part in ((1, numerator), (-1, denominator)):
        factors = []
        for f in sp.Mul.make_args(part):
            if f.is_Number:  # kept apart, else sympy distributes it over a sum
                coefficient *= f**power
                continue
            base, exponent = f.as_base_exp()
            if isinstance(base, sp.Add) and base.subs(_SAMPLE).is_negative:
                base = -base
                coefficient *= (-1) ** exponent
                f = sp.Pow(base, exponent)
            factors.append(f)
        parts.append(sp.Mul(*factors))
    return coefficient * parts[0] / parts[1]


def _convergent(expr):
    """Each Piecewise of a sympy summation replaced by its first branch (where the series converges)."""

    def first(piecewise):
        value, condition = piecewise.args[0]
        assert condition is not sp.true, piecewise
        return value

    return expr.replace(lambda e: isinstance(e, sp.Piecewise), first)


def _generic(expr):
    """Each Piecewise replaced by its ``otherwise`` branch, e.g. the rho != 1 case of a finite sum."""
    return expr.replace(lambda e: isinstance(e, sp.Piecewise), lambda e: e.args[-1][0])


def _poisson_partial_sum(upper):
    r"""``sum_{k=0}^{upper} a^k/k!`` summed by sympy, rewritten as ``e^a Q(upper + 1, a)``.

    sympy returns the finite sum with symbolic ``upper`` through the lower
    incomplete gamma function; with :math:`\gamma(s, a) = \Gamma(s) - \Gamma(s, a)`
    it becomes :math:`e^a \Gamma(s, a)/\Gamma(s)`, :math:`s = upper + 1`.
    """
    s = upper + 1
    raw = sp.summation(a**k / sp.factorial(k), (k, 0, upper))
    lower = raw.atoms(sp.lowergamma)
    raw = raw.subs({g: sp.gamma(g.args[0]) - sp.uppergamma(*g.args) for g in lower})
    closed = sp.gammasimp(sp.powsimp(raw, force=True))
    closed = closed.replace(sp.uppergamma, lambda s_, a_: gammaincc(s_, a_) * sp.gamma(s_))
    closed = sp.simplify(closed)
    assert sp.simplify(closed - sp.exp(a) * gammaincc(s, a)) == 0, closed
    return closed


def _rsolve(equation, function, index, initial):
    """``sympy.rsolve``, with its plain index symbol replaced by ``index`` (which carries assumptions)."""
    solution = sp.rsolve(equation.lhs - equation.rhs, function(index), initial)
    return solution.subs({s: index for s in solution.free_symbols if s.name == index.name})


def _log_poisson_term(count, load):
    """``exp(count log load - load - ln Gamma(count + 1))``, i.e. ``load^count e^-load / count!``."""
    return sp.exp(sp.Add(count * sp.log(load), -load, -gammaln(count + 1), evaluate=False), evaluate=False)


# ===========================================================================
# M/M/1
# ===========================================================================


@functools.cache
def _mm1():
    """Steps shared by the M/M/1 derivations; returns (steps, p_n, L) in terms of rho."""
    steps = []
    balance = _eq((lam + mu) * p(n), lam * p(n - 1) + mu * p(n + 1))
    boundary = _eq(lam * p(0), mu * p(1))
    steps.append(Step("Global balance of the birth-death chain for a state n >= 1", balance))
    steps.append(Step("Global balance for the empty state", boundary))
    p1 = sp.solve(boundary, p(1))[0].subs(p(0), p0)
    solution = _rsolve(balance, p, n, {p(0): p0, p(1): p1})
    pn = sp.powsimp(sp.expand_power_base(solution.subs(lam, rho * mu), force=True))
    steps.append(Step("Solve the recurrence (sympy.rsolve) and write rho = lambda/mu", _eq(p(n), pn)))
    total = _convergent(sp.summation(pn, (n, 0, sp.oo)))
    steps.append(Step(f"Normalise; {GEOMETRIC}", _eq(sp.Sum(pn, (n, 0, sp.oo)), total)))
    p0_value = sp.solve(sp.Eq(total, 1), p0)[0]
    steps.append(Step("Solve the normalisation for the empty-system probability", _eq(p0, p0_value)))
    pn = pn.subs(p0, p0_value)
    steps.append(Step("Stationary distribution (geometric)", _eq(p(n), pn)))
    mean_number = _tidy(_convergent(sp.summation(n * pn, (n, 0, sp.oo))))
    return tuple(steps), pn, mean_number


def _mm1_result(name, title, steps, result, assumptions=(), extra_parameters=()):
    return Derivation(
        name=name,
        title=title,
        steps=steps,
        result=result,
        parameters=RATES + tuple(extra_parameters),
        assumptions=(
            "Poisson arrivals with rate lambda",
            "exponential service times with rate mu",
            "one server, FCFS, infinite waiting room",
            "rho = lambda/mu < 1 (stationary regime)",
            *assumptions,
        ),
        source=f"{KLEINROCK}, Sec. 3.2 (M/M/1); {GROSS}, Sec. 2.2 (M/M/1)",
    )


@derivation("mm1.prob_n")
def _mm1_prob_n():
    """Stationary probability of ``n`` customers in an M/M/1 queue.

    Assumptions: Poisson arrivals (rate lambda), exponential service (rate mu),
    one server, infinite room, rho = lambda/mu < 1.  Derived from the global
    balance equations of the birth-death chain, solved with ``rsolve`` and
    normalised by the geometric series.  Result :math:`p_n = (1-\\rho)\\rho^n`.

    Source: Kleinrock (1975), Queueing Systems Vol. 1, Sec. 3.2;
    Gross et al. (2008), Fundamentals of Queueing Theory, 4th ed., Sec. 2.2.
    """
    steps, pn, _ = _mm1()
    result = _tidy(pn.subs(rho, lam / mu))
    steps = (*steps, Step("Substitute rho = lambda/mu", _eq(p(n), result)))
    return _mm1_result(
        "mm1.prob_n",
        "M/M/1 stationary probability of n in system",
        steps,
        result,
        extra_parameters=(("n", n),),
    )


@derivation("mm1.mean_number")
def _mm1_mean_number():
    """Mean number in an M/M/1 system, :math:`L = \\rho/(1-\\rho) = \\lambda/(\\mu-\\lambda)`.

    Assumptions as for ``mm1.prob_n``; L = sum_n n p_n summed by sympy for
    rho < 1.  Source: Kleinrock (1975), Sec. 3.2; Gross et al. (2008), Sec. 2.2.
    """
    steps, pn, mean_number = _mm1()
    result = _tidy(mean_number.subs(rho, lam / mu))
    steps = (
        *steps,
        Step(
            "Mean number in system (sympy.summation, rho < 1)",
            _eq(L, _eq(sp.Sum(n * pn, (n, 0, sp.oo)), mean_number)),
        ),
        Step("Substitute rho = lambda/mu", _eq(L, result)),
    )
    return _mm1_result("mm1.mean_number", "M/M/1 mean number in system", steps, result)


def _mm1_response_steps():
    steps, pn, mean_number = _mm1()
    number = _tidy(mean_number.subs(rho, lam / mu))
    response = _tidy(sp.solve(sp.Eq(number, lam * T), T)[0])
    steps = (
        *steps,
        Step("Mean number in system (sympy.summation, rho < 1)", _eq(L, mean_number)),
        Step("Little's law L = lambda T, with rho = lambda/mu", _eq(number, lam * T)),
        Step("Solve for the mean response time", _eq(T, response)),
    )
    return steps, response


@derivation("mm1.mean_response")
def _mm1_mean_response():
    """Mean response (sojourn) time of M/M/1, :math:`T = 1/(\\mu - \\lambda)`.

    Assumptions as for ``mm1.prob_n``; from L by Little's law L = lambda T.
    Source: Kleinrock (1975), Sec. 3.2; Gross et al. (2008), Sec. 2.2.
    """
    steps, response = _mm1_response_steps()
    return _mm1_result("mm1.mean_response", "M/M/1 mean response time", steps, response)


@derivation("mm1.mean_wait")
def _mm1_mean_wait():
    """Mean wait in queue of M/M/1, :math:`W = \\lambda / (\\mu(\\mu - \\lambda))`.

    Assumptions as for ``mm1.prob_n``; W = T - 1/mu (the response is the wait
    plus one mean service).  Source: Kleinrock (1975), Sec. 3.2;
    Gross et al. (2008), Sec. 2.2.
    """
    steps, response = _mm1_response_steps()
    wait = _tidy(response - 1 / mu)
    steps = (*steps, Step("The wait is the response less one mean service time 1/mu", _eq(W, wait)))
    return _mm1_result("mm1.mean_wait", "M/M/1 mean wait in queue", steps, wait)


@derivation("mm1.mean_queue_length")
def _mm1_mean_queue_length():
    """Mean number waiting in an M/M/1 queue, :math:`L_q = \\rho^2/(1-\\rho)`.

    Assumptions as for ``mm1.prob_n``; L_q = sum_{n>=1} (n-1) p_n, checked
    against Little's law L_q = lambda W.  Source: Kleinrock (1975), Sec. 3.2;
    Gross et al. (2008), Sec. 2.2.
    """
    steps, pn, _ = _mm1()
    queue = _tidy(_convergent(sp.summation((n - 1) * pn, (n, 1, sp.oo))))
    result = _tidy(queue.subs(rho, lam / mu))
    wait = _mm1_mean_wait().result
    assert sp.simplify(result - lam * wait) == 0
    steps = (
        *steps,
        Step(
            "Mean number in queue: n - 1 wait when n >= 1 are present (rho < 1)",
            _eq(Lq, _eq(sp.Sum((n - 1) * pn, (n, 1, sp.oo)), queue)),
        ),
        Step(
            "Substitute rho = lambda/mu; agrees with Little's law L_q = lambda W",
            _eq(Lq, _eq(lam * wait, result)),
        ),
    )
    return _mm1_result("mm1.mean_queue_length", "M/M/1 mean number in queue", steps, result)


# ===========================================================================
# M/G/1: Pollaczek-Khinchine mean value
# ===========================================================================

MG1_PARAMETERS = (("arrival_rate", lam), ("service_mean", ES), ("service_second_moment", ES2))
MG1_ASSUMPTIONS = (
    "Poisson arrivals with rate lambda",
    "i.i.d. general service times with mean E[S] and finite second moment E[S^2]",
    "one server, FCFS, infinite waiting room",
    "rho = lambda E[S] < 1 (stationary regime)",
)
MG1_SOURCE = (
    f"{KLEINROCK}, Sec. 5.5 (Pollaczek-Khinchine mean-value formula) and Sec. 5.2 (residual life); "
    f"{GROSS}, Sec. 5.1 (M/G/1)"
)


@functools.cache
def _mg1_wait():
    rho_def = _eq(rho, lam * ES)
    arrival_view = _eq(W, Lq * ES + rho * ER)
    residual = _eq(ER, ES2 / (2 * ES))
    little = _eq(Lq, lam * W)
    equation = arrival_view.subs({Lq: little.rhs, ER: residual.rhs, rho: rho_def.rhs})
    wait = _tidy(sp.solve(sp.Eq(equation.lhs, equation.rhs), W)[0])
    steps = (
        Step("Utilisation: the probability that the server is busy", rho_def),
        Step(
            "Mean-value argument (PASTA): an arrival waits for the L_q customers in queue, "
            "a full service each, "
            "plus the residual service of the customer in service, present with probability rho",
            arrival_view,
        ),
        Step("Mean residual life of the service in progress (length-biased sampling)", residual),
        Step("Little's law for the queue", little),
        Step("Substitute", equation),
        Step("Solve for W (Pollaczek-Khinchine)", _eq(W, wait)),
    )
    return steps, wait


def _mg1(name, title, steps, result):
    return Derivation(
        name=name,
        title=title,
        steps=steps,
        result=result,
        parameters=MG1_PARAMETERS,
        assumptions=MG1_ASSUMPTIONS,
        source=MG1_SOURCE,
    )


@derivation("mg1.mean_wait")
def _mg1_mean_wait():
    """Mean wait in queue of M/G/1 (Pollaczek-Khinchine): :math:`W = \\lambda E[S^2] / (2(1-\\rho))`.

    Derived by the mean-value (residual-life) argument: W = L_q E[S] + rho E[R],
    E[R] = E[S^2]/(2E[S]), L_q = lambda W, solved for W.
    Assumptions: Poisson arrivals, i.i.d. general service with finite second
    moment, one FCFS server, rho = lambda E[S] < 1.
    Source: Kleinrock (1975), Queueing Systems Vol. 1, Sec. 5.5 (P-K
    mean-value formula) and Sec. 5.2 (residual life);
    Gross et al. (2008), Fundamentals of Queueing Theory, 4th ed., Sec. 5.1.
    """
    steps, wait = _mg1_wait()
    return _mg1("mg1.mean_wait", "M/G/1 mean wait in queue (Pollaczek-Khinchine)", steps, wait)


@derivation("mg1.mean_response")
def _mg1_mean_response():
    """Mean response time of M/G/1, :math:`T = E[S] + \\lambda E[S^2]/(2(1-\\rho))`.

    Assumptions as for ``mg1.mean_wait``; T = W + E[S].
    Source: Kleinrock (1975), Sec. 5.5; Gross et al. (2008), Sec. 5.1.
    """
    steps, wait = _mg1_wait()
    response = ES + wait
    steps = (*steps, Step("The response is the wait plus one service", _eq(T, response)))
    return _mg1("mg1.mean_response", "M/G/1 mean response time", steps, response)


@derivation("mg1.mean_number")
def _mg1_mean_number():
    """Mean number in an M/G/1 system, :math:`L = \\rho + \\lambda^2 E[S^2]/(2(1-\\rho))`.

    Assumptions as for ``mg1.mean_wait``; L = lambda T by Little's law.
    Source: Kleinrock (1975), Sec. 5.5; Gross et al. (2008), Sec. 5.1.
    """
    steps, wait = _mg1_wait()
    response = ES + wait
    number = sp.expand(lam * response)
    steps = (
        *steps,
        Step("The response is the wait plus one service", _eq(T, response)),
        Step("Little's law L = lambda T", _eq(L, number)),
    )
    return _mg1("mg1.mean_number", "M/G/1 mean number in system", steps, number)


# ===========================================================================
# M/M/c (Erlang C) and M/M/c/c (Erlang B)
# ===========================================================================

MMC_PARAMETERS = RATES + (("servers", c),)
ERLANG_PARAMETERS = (("servers", c), ("offered_load", a))
MMC_ASSUMPTIONS = (
    "Poisson arrivals with rate lambda",
    "exponential service times with rate mu at each of c identical servers",
    "FCFS, infinite waiting room",
    "rho = lambda/(c mu) < 1 (stationary regime)",
    "c is a symbolic positive integer: every step holds for general c",
)
MMC_SOURCE = f"{KLEINROCK}, Sec. 3.5 (M/M/m, Erlang's C formula); {GROSS}, Sec. 2.3 (M/M/c)"
MMCC_ASSUMPTIONS = (
    "Poisson arrivals with rate lambda",
    "exponential service times with rate mu at each of c identical servers",
    "no waiting room: an arrival that finds c busy servers is lost",
    "any load a = lambda/mu > 0 (the chain is finite)",
    "c is a symbolic positive integer: every step holds for general c",
)
MMCC_SOURCE = (
    f"{KLEINROCK}, Sec. 3.7 (M/M/m/m, Erlang's loss formula); {GROSS}, Ch. 2 (Erlang's loss formula, M/M/c/c)"
)


@functools.cache
def _poisson_head():
    """Steps p_n = p_0 a^n/n! for n <= c, from the cut equations lambda p_{n-1} = n mu p_n."""
    cut = _eq(lam * p(n - 1), n * mu * p(n))
    solution = _rsolve(cut, p, n, {p(0): p0})
    head = sp.powsimp(sp.expand_power_base(solution.subs(lam, a * mu), force=True))
    steps = (
        Step("Balance across the cut between states n-1 and n, for 1 <= n <= c (n busy servers)", cut),
        Step("Solve the recurrence (sympy.rsolve); a = lambda/mu is the offered load", _eq(p(n), head)),
    )
    return steps, head


@functools.cache
def _erlang_c():
    """Erlang C derivation in terms of (c, a); returns (steps, textbook form, numeric form)."""
    steps, head = _poisson_head()
    pc_value = head.subs(n, c)
    cut_tail = _eq(lam * q(m - 1), c * mu * q(m))
    tail = _rsolve(cut_tail, q, m, {q(0): p_c})
    tail = sp.powsimp(sp.expand_power_base(tail.subs(lam, rho * c * mu), force=True))
    geometric = _convergent(sp.summation(rho**m, (m, 0, sp.oo)))
    finite = sp.Sum(a**k / sp.factorial(k), (k, 0, c - 1))
    finite_closed = _poisson_partial_sum(c - 1)
    normalisation = _eq(p0 * (finite + pc_value / p0 * sp.Sum(rho**m, (m, 0, sp.oo))), 1)
    p0_value = 1 / (finite + pc_value / p0 * geometric)
    tail_mass = pc_value.subs(p0, p0_value) * geometric
    textbook = tail_mass.subs(rho, a / c)
    t = _log_poisson_term(c, a) / (1 - a / c)
    numeric = t / (gammaincc(c, a) + t)
    steps = (
        *steps,
        Step(
            "For n = c + m, m >= 0, all c servers are busy: lambda q_{m-1} = c mu q_m, with q_m = p_{c+m}",
            cut_tail,
        ),
        Step("Solve (sympy.rsolve); rho = lambda/(c mu)", _eq(q(m), tail)),
        Step(f"Normalise, p_c = p_0 a^c/c!; {GEOMETRIC}", normalisation),
        Step(
            "The tail is a geometric series (sympy.summation, rho < 1)",
            _eq(sp.Sum(rho**m, (m, 0, sp.oo)), geometric),
        ),
        Step(
            "sympy sums the head for symbolic c through the incomplete gamma function "
            "(Q is the regularised upper incomplete gamma function, scipy.special.gammaincc)",
            _eq(finite, finite_closed),
        ),
        Step("Empty-system probability", _eq(p0, p0_value)),
        Step(
            "An arrival waits iff it finds n >= c (PASTA): sum the tail",
            _eq(C, _eq(sp.Sum(q(m), (m, 0, sp.oo)), tail_mass)),
        ),
        Step("Erlang's C formula with rho = a/c", _eq(C, textbook)),
        Step(
            "Numerically stable form used by lambdify: multiply by exp(-a), write a^c/c! in log space",
            _eq(C, numeric),
        ),
    )
    return steps, textbook, numeric


@derivation("erlang_c")
def _erlang_c_derivation():
    """Erlang's C formula: probability of waiting in M/M/c with offered load ``a`` Erlangs.

    :math:`C(c, a) = \\frac{a^c/(c!(1-\\rho))}{\\sum_{k<c} a^k/k! + a^c/(c!(1-\\rho))}`,
    rho = a/c < 1.  Derived for symbolic c from the balance equations; the
    finite sum is e^a Q(c, a) with Q the regularised upper incomplete gamma
    function, so the lambdified form is stable for c in the thousands.
    Source: Kleinrock (1975), Sec. 3.5; Gross et al. (2008), Sec. 2.3.
    """
    steps, textbook, numeric = _erlang_c()
    return Derivation(
        name="erlang_c",
        title="Erlang C: probability of waiting in M/M/c",
        steps=steps,
        result=textbook,
        parameters=ERLANG_PARAMETERS,
        assumptions=MMC_ASSUMPTIONS,
        source=MMC_SOURCE,
        numeric=numeric,
    )


def _to_rates(expr):
    return expr.subs(a, lam / mu)


@derivation("mmc.prob_wait")
def _mmc_prob_wait():
    """Probability that an arrival waits in M/M/c (Erlang C), with a = lambda/mu.

    Assumptions: Poisson arrivals, exponential service at c identical servers,
    FCFS, infinite room, rho = lambda/(c mu) < 1; all steps hold for symbolic c.
    Source: Kleinrock (1975), Sec. 3.5; Gross et al. (2008), Sec. 2.3.
    """
    steps, textbook, numeric = _erlang_c()
    result = _to_rates(textbook)
    steps = (*steps, Step("Substitute a = lambda/mu", _eq(C, result)))
    return Derivation(
        name="mmc.prob_wait",
        title="M/M/c probability of waiting (Erlang C)",
        steps=steps,
        result=result,
        parameters=MMC_PARAMETERS,
        assumptions=MMC_ASSUMPTIONS,
        source=MMC_SOURCE,
        numeric=_to_rates(numeric),
    )


@functools.cache
def _mmc_wait():
    steps, textbook, numeric = _erlang_c()
    queue_sum = sp.factor(_convergent(sp.summation(m * rho**m, (m, 0, sp.oo))))
    queue = _eq(Lq, p_c * queue_sum)
    prob = _eq(C, p_c / (1 - rho))
    queue_in_c = sp.factor(queue.rhs.subs(p_c, sp.solve(prob, p_c)[0]))
    wait = sp.simplify((queue_in_c / lam).subs(rho, lam / (c * mu)))
    steps = (
        *steps,
        Step(
            "Mean number in queue: m = n - c wait in state c + m (sympy.summation, rho < 1)",
            _eq(Lq, _eq(sp.Sum(m * p_c * rho**m, (m, 0, sp.oo)), queue.rhs)),
        ),
        Step("The probability of waiting is p_c/(1 - rho); eliminate p_c", _eq(Lq, queue_in_c)),
        Step("Little's law W = L_q/lambda, rho = lambda/(c mu)", _eq(W, wait)),
    )
    result = wait.subs(C, _to_rates(textbook))
    numeric_wait = wait.subs(C, _to_rates(numeric))
    return steps, wait, result, numeric_wait


@derivation("mmc.mean_wait")
def _mmc_mean_wait():
    """Mean wait in queue of M/M/c, :math:`W = C(c, a)/(c\\mu - \\lambda)`.

    Assumptions as for ``mmc.prob_wait``; L_q = sum_m m p_{c+m}, then
    Little's law.  Source: Kleinrock (1975), Sec. 3.5;
    Gross et al. (2008), Sec. 2.3.
    """
    steps, wait, result, numeric = _mmc_wait()
    steps = (*steps, Step("Insert Erlang's C formula with a = lambda/mu", _eq(W, result)))
    return Derivation(
        name="mmc.mean_wait",
        title="M/M/c mean wait in queue",
        steps=steps,
        result=result,
        parameters=MMC_PARAMETERS,
        assumptions=MMC_ASSUMPTIONS,
        source=MMC_SOURCE,
        numeric=numeric,
    )


@derivation("mmc.mean_response")
def _mmc_mean_response():
    """Mean response time of M/M/c, :math:`T = C(c, a)/(c\\mu - \\lambda) + 1/\\mu`.

    Assumptions as for ``mmc.prob_wait``.  Source: Kleinrock (1975), Sec. 3.5;
    Gross et al. (2008), Sec. 2.3.
    """
    steps, wait, result, numeric = _mmc_wait()
    steps = (
        *steps,
        Step("The response is the wait plus one service", _eq(T, wait + 1 / mu)),
        Step("Insert Erlang's C formula with a = lambda/mu", _eq(T, result + 1 / mu)),
    )
    return Derivation(
        name="mmc.mean_response",
        title="M/M/c mean response time",
        steps=steps,
        result=result + 1 / mu,
        parameters=MMC_PARAMETERS,
        assumptions=MMC_ASSUMPTIONS,
        source=MMC_SOURCE,
        numeric=numeric + 1 / mu,
    )


@functools.cache
def _erlang_b():
    steps, head = _poisson_head()
    total = sp.Sum(head, (n, 0, c))
    closed = _poisson_partial_sum(c)
    p0_value = 1 / sp.Sum(a**n / sp.factorial(n), (n, 0, c))
    textbook = head.subs(n, c).subs(p0, p0_value)
    numeric = _log_poisson_term(c, a) / gammaincc(c + 1, a)
    steps = (
        *steps,
        Step("The states are 0, ..., c (no waiting room): normalise", _eq(total, 1)),
        Step("Empty-system probability", _eq(p0, p0_value)),
        Step("An arrival is lost iff it finds all c servers busy (PASTA): B = p_c", _eq(B, textbook)),
        Step(
            "sympy sums the truncated exponential series for symbolic c "
            "(Q is the regularised upper incomplete gamma function, scipy.special.gammaincc)",
            _eq(sp.Sum(a**n / sp.factorial(n), (n, 0, c)), closed),
        ),
        Step(
            "Numerically stable form used by lambdify (the Poisson pmf over its distribution function)",
            _eq(B, numeric),
        ),
    )
    return steps, textbook, numeric


@derivation("erlang_b")
def _erlang_b_derivation():
    """Erlang's B (loss) formula :math:`B(c, a) = (a^c/c!) / \\sum_{k=0}^{c} a^k/k!`.

    The M/M/c/c stationary distribution is the Poisson distribution truncated
    to 0..c; B = p_c by PASTA.  Valid for any a > 0 (and, by insensitivity,
    for any service distribution with mean 1/mu).  The lambdified form is
    exp(c ln a - a - ln c!)/Q(c+1, a), stable for c in the thousands.
    Source: Kleinrock (1975), Sec. 3.7; Gross et al. (2008), Ch. 2 (M/M/c/c).
    """
    steps, textbook, numeric = _erlang_b()
    return Derivation(
        name="erlang_b",
        title="Erlang B: blocking probability of M/M/c/c",
        steps=steps,
        result=textbook,
        parameters=ERLANG_PARAMETERS,
        assumptions=MMCC_ASSUMPTIONS,
        source=MMCC_SOURCE,
        numeric=numeric,
    )


@derivation("mmcc.blocking_probability")
def _mmcc_blocking_probability():
    """Blocking probability of M/M/c/c (Erlang B) with a = lambda/mu.

    Assumptions: Poisson arrivals, exponential service (insensitive: any
    service distribution with mean 1/mu gives the same value), c servers, no
    waiting room, any load.  Source: Kleinrock (1975), Sec. 3.7;
    Gross et al. (2008), Ch. 2 (M/M/c/c).
    """
    steps, textbook, numeric = _erlang_b()
    result = _to_rates(textbook)
    steps = (*steps, Step("Substitute a = lambda/mu", _eq(B, result)))
    return Derivation(
        name="mmcc.blocking_probability",
        title="M/M/c/c blocking probability (Erlang B)",
        steps=steps,
        result=result,
        parameters=MMC_PARAMETERS,
        assumptions=MMCC_ASSUMPTIONS,
        source=MMCC_SOURCE,
        numeric=_to_rates(numeric),
    )


# ===========================================================================
# M/M/1/K
# ===========================================================================

MM1K_PARAMETERS = RATES + (("capacity", K),)
MM1K_ASSUMPTIONS = (
    "Poisson arrivals with rate lambda",
    "exponential service times with rate mu, one server",
    "at most K customers in the system (K - 1 waiting); arrivals finding K are lost",
    "any load rho = lambda/mu > 0; the closed form is for rho != 1, the rho = 1 value is its limit",
)
MM1K_SOURCE = f"{KLEINROCK}, Sec. 3.6 (M/M/1/K, finite storage); {GROSS}, Ch. 2 (M/M/1/K, finite capacity)"


@functools.cache
def _mm1k():
    steps = []
    balance = _eq((lam + mu) * p(n), lam * p(n - 1) + mu * p(n + 1))
    boundary = _eq(lam * p(0), mu * p(1))
    steps.append(Step("Global balance for 0 < n < K (the same as M/M/1)", balance))
    steps.append(Step("Global balance for the empty state (the one for state K is then implied)", boundary))
    p1 = sp.solve(boundary, p(1))[0].subs(p(0), p0)
    solution = _rsolve(balance, p, n, {p(0): p0, p(1): p1})
    pn = sp.powsimp(sp.expand_power_base(solution.subs(lam, rho * mu), force=True))
    steps.append(Step("Solve the recurrence (sympy.rsolve), rho = lambda/mu, for 0 <= n <= K", _eq(p(n), pn)))
    total_piecewise = sp.summation(pn, (n, 0, K))
    total = _generic(total_piecewise)
    steps.append(
        Step(
            "Normalise over the K + 1 states: a finite geometric sum (sympy.summation)",
            _eq(sp.Sum(pn, (n, 0, K)), total_piecewise),
        )
    )
    p0_value = _tidy(sp.solve(sp.Eq(total, 1), p0)[0])
    steps.append(Step("Empty-system probability for rho != 1", _eq(p0, p0_value)))
    pn = pn.subs(p0, p0_value)
    steps.append(Step("Stationary distribution: a truncated geometric distribution", _eq(p(n), pn)))
    return tuple(steps), pn


def _mm1k_derivation(name, title, steps, result, numeric):
    return Derivation(
        name=name,
        title=title,
        steps=steps,
        result=result,
        parameters=MM1K_PARAMETERS,
        assumptions=MM1K_ASSUMPTIONS,
        source=MM1K_SOURCE,
        numeric=numeric,
    )


@derivation("mm1k.blocking_probability")
def _mm1k_blocking_probability():
    """Blocking probability of M/M/1/K, :math:`p_K = (1-\\rho)\\rho^K/(1-\\rho^{K+1})`, rho != 1.

    The rho = 1 value 1/(K+1) is the limit (sympy.limit).  Assumptions: Poisson
    arrivals, exponential service, one server, room for K in system, any load.
    The lambdified form, in x = ln(rho), is exprel(-x)/((K+1) exprel(-(K+1)x))
    with exprel(z) = (e^z - 1)/z (scipy.special.exprel), exact at rho = 1 and
    free of overflow.  Source: Kleinrock (1975), Sec. 3.6;
    Gross et al. (2008), Ch. 2 (M/M/1/K).
    """
    steps, pn = _mm1k()
    derived = _tidy(pn.subs(n, K))
    blocking = (1 - rho) * rho**K / (1 - rho ** (K + 1))
    assert sp.simplify(derived - blocking) == 0, derived
    at_one = sp.limit(blocking, rho, 1)
    result = blocking.subs(rho, lam / mu)
    log_rho = sp.log(lam / mu)
    numeric = exprel(-log_rho) / ((K + 1) * exprel(-(K + 1) * log_rho))
    steps = (
        *steps,
        Step("An arrival is lost iff it finds K in system (PASTA)", _eq(B, derived)),
        Step("which rearranges to the textbook form", _eq(B, blocking)),
        Step(
            "At rho = 1 every state is equally likely (sympy.limit)", _eq(sp.Limit(blocking, rho, 1), at_one)
        ),
        Step("Substitute rho = lambda/mu", _eq(B, result)),
        Step(
            "Form used by lambdify, with x = ln(lambda/mu) and exprel(z) = (e^z - 1)/z (valid at rho = 1)",
            _eq(B, numeric),
        ),
    )
    return _mm1k_derivation(
        "mm1k.blocking_probability", "M/M/1/K blocking probability", steps, result, numeric
    )


@derivation("mm1k.mean_number")
def _mm1k_mean_number():
    """Mean number in an M/M/1/K system, rho != 1:

    :math:`L = \\rho/(1-\\rho) - (K+1)\\rho^{K+1}/(1-\\rho^{K+1})`; the
    rho = 1 value K/2 is the limit (sympy.limit).  Assumptions as for
    ``mm1k.blocking_probability``.  The lambdified form uses x = ln(rho):
    L = (K+1)/(1-e^{-(K+1)x}) - 1/(1-e^{-x}), written with scipy.special.exprel,
    and its Taylor polynomial (derived with sympy.series) where |(K+1)x| < 1e-3,
    so that it is accurate near and at rho = 1.
    Source: Kleinrock (1975), Sec. 3.6; Gross et al. (2008), Ch. 2 (M/M/1/K).
    """
    steps, pn = _mm1k()
    summed = _tidy(_generic(sp.summation(n * pn, (n, 0, K))))
    standard = rho / (1 - rho) - (K + 1) * rho ** (K + 1) / (1 - rho ** (K + 1))
    assert sp.simplify(summed - standard) == 0, summed
    at_one = sp.limit(standard, rho, 1)
    result = standard.subs(rho, lam / mu)
    # Form in x = ln(rho): rho/(1-rho) = -1/(1 - e^{-x}), 1/(1 - e^{-z}) = 1/(z exprel(-z)).
    in_x = (K + 1) / (1 - sp.exp(-(K + 1) * x)) - 1 / (1 - sp.exp(-x))
    assert sp.simplify(in_x.subs(x, sp.log(rho)) - standard) == 0
    kernel = sp.series(1 / (1 - sp.exp(-y)), y, 0, 7).removeO()
    near_one = sp.expand((K + 1) * kernel.subs(y, (K + 1) * x) - kernel.subs(y, x))
    near_one = sp.collect(near_one, x, sp.factor)
    general = 1 / (x * exprel(-(K + 1) * x)) - 1 / (x * exprel(-x))
    numeric_x = sp.Piecewise((near_one, sp.Abs((K + 1) * x) < sp.Rational(1, 1000)), (general, True))
    numeric = numeric_x.subs(x, sp.log(lam / mu))
    steps = (
        *steps,
        Step("Mean number in system (sympy.summation, rho != 1)", _eq(L, summed)),
        Step("which rearranges to the textbook form", _eq(L, standard)),
        Step(
            "At rho = 1 the distribution is uniform on 0..K (sympy.limit)",
            _eq(sp.Limit(standard, rho, 1), at_one),
        ),
        Step("Substitute rho = lambda/mu", _eq(L, result)),
        Step(
            "In x = ln(rho) the two terms are 1/(1 - e^{-z}) = 1/z + 1/2 + z/12 - ... (sympy.series), "
            "whose 1/z parts cancel; lambdify uses the series near rho = 1",
            _eq(L, numeric_x),
        ),
    )
    return _mm1k_derivation("mm1k.mean_number", "M/M/1/K mean number in system", steps, result, numeric)


# ===========================================================================
# G/G/1: Kingman's heavy-traffic approximation
# ===========================================================================


@derivation("ggc.kingman_wait")
def _ggc_kingman_wait():
    """Kingman's approximation of the mean wait in G/G/1 (an approximation, ``exact=False``).

    :math:`W \\approx \\frac{\\rho}{1-\\rho}\\,\\frac{c_a^2 + c_s^2}{2}\\,\\frac{1}{\\mu}`.
    A stated heavy-traffic result, not derived here: it is exact in the limit
    rho -> 1 (Kingman's heavy-traffic theorem), exact for M/M/1 and, for
    c_a^2 = 1, equal to Pollaczek-Khinchine (both checked as steps).
    Assumptions: renewal arrivals with rate lambda and squared coefficient of
    variation c_a^2, i.i.d. service with rate mu and c_s^2, one FCFS server,
    rho = lambda/mu < 1.
    Source: Kingman, "The single server queue in heavy traffic",
    Proc. Cambridge Philos. Soc. 57 (1961) 902-904; Gross et al. (2008),
    (G/G/1 bounds and approximations).
    """
    stated = _eq(W, rho / (1 - rho) * (ca2 + cs2) / 2 * ES)
    result = _tidy(stated.rhs.subs({rho: lam / mu, ES: 1 / mu}))
    mm1_wait = lam / (mu * (mu - lam))
    pk = (lam * ES2 / (2 * (1 - lam * ES))).subs({ES: 1 / mu, ES2: (1 + cs2) / mu**2})
    assert sp.simplify(result.subs({ca2: 1, cs2: 1}) - mm1_wait) == 0
    assert sp.simplify(result.subs(ca2, 1) - pk) == 0
    steps = (
        Step("Kingman's heavy-traffic approximation (stated, not derived; exact as rho -> 1)", stated),
        Step("Substitute rho = lambda/mu and E[S] = 1/mu", _eq(W, result)),
        Step(
            "Check: with c_a^2 = c_s^2 = 1 it is the exact M/M/1 wait",
            _eq(result.subs({ca2: 1, cs2: 1}), mm1_wait),
        ),
        Step(
            "Check: with c_a^2 = 1 it is the exact Pollaczek-Khinchine wait, E[S^2] = (1 + c_s^2)/mu^2",
            _eq(result.subs(ca2, 1), sp.factor(pk)),
        ),
    )
    return Derivation(
        name="ggc.kingman_wait",
        title="G/G/1 mean wait, Kingman's approximation",
        steps=steps,
        result=result,
        parameters=RATES + (("arrival_scv", ca2), ("service_scv", cs2)),
        assumptions=(
            "renewal arrivals with rate lambda and interarrival squared coefficient of variation c_a^2",
            "i.i.d. service times with rate mu and squared coefficient of variation c_s^2",
            "one server, FCFS, infinite waiting room, rho = lambda/mu < 1",
            "exact=False: an approximation, exact only as rho -> 1, for M/M/1, and for M/G/1",
        ),
        source=(
            "Kingman, The single server queue in heavy traffic, Proc. Cambridge Philos. Soc. 57 (1961) "
            f"902-904; {GROSS} (G/G/1 approximations)"
        ),
        exact=False,
    )


# ===========================================================================
# Little's law
# ===========================================================================


@derivation("littles_law")
def _littles_law():
    """Little's law :math:`L = \\lambda T` (sample-path argument).

    Assumptions: the limits of the time-average number in system, the arrival
    rate and the average sojourn time exist and are finite.
    Source: Little, Operations Research 9 (1961) 383-387; Kleinrock (1975),
    Sec. 2.1; Gross et al. (2008), Ch. 1.
    """
    t, s, i = sp.symbols("t s i", positive=True)
    number = sp.Function("N")
    arrivals = sp.Function("A")
    sojourn = sp.Function("T")
    area = _eq(sp.Integral(number(s), (s, 0, t)), sp.Sum(sojourn(i), (i, 1, arrivals(t))))
    averaged = _eq(
        sp.Integral(number(s), (s, 0, t)) / t,
        arrivals(t) / t * (sp.Sum(sojourn(i), (i, 1, arrivals(t))) / arrivals(t)),
    )
    steps = (
        Step(
            "For a system empty at 0 and t, the area under the number-in-system path "
            "is the total sojourn time",
            area,
        ),
        Step("Divide by t and multiply and divide by the number of arrivals A(t)", averaged),
        Step("Let t -> oo: time-average number = arrival rate x mean sojourn time", _eq(L, lam * T)),
    )
    return Derivation(
        name="littles_law",
        title="Little's law",
        steps=steps,
        result=lam * T,
        parameters=(("arrival_rate", lam), ("mean_response", T)),
        assumptions=(
            "the long-run averages L, lambda and T exist and are finite",
            "holds for any arrival process, service distribution and discipline",
        ),
        source=f"Little, Operations Research 9 (1961) 383-387; {KLEINROCK}, Sec. 2.1; {GROSS}, Ch. 1",
    )
