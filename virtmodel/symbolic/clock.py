r"""Derivations for guest clocks: NTP on-wire estimates, Allan variances, holdover, lost ticks.

The numeric counterparts are in :mod:`virtmodel.analytic.clock`.  Each
builder starts from the premises (how the four timestamps arise, what the
phase process is, how the tick backlog evolves) and lets sympy do the algebra
and the integrals.

Public parameter names: ``offset`` (true server-minus-client offset),
``to_server_delay``, ``from_server_delay``, ``server_hold`` (T3 - T2),
``delay``, ``white_pm``, ``random_walk_fm``, ``ageing``, ``tau``,
``duration``, ``frequency``, ``frequency_variance``, ``elapsed``, ``run``,
``gap``, ``catchup_rate``.

Examples
--------
>>> from virtmodel.symbolic import derive
>>> derive("clock.ntp_offset_estimate")(offset=1.0, to_server_delay=0.3, from_server_delay=0.1)
1.1
>>> derive("clock.allan_variance_random_walk_fm")(random_walk_fm=3.0, tau=2.0)
2.0
"""

from __future__ import annotations

import sympy as sp

from .derivation import Derivation, Step, derivation, symbol
from .derivation import eq as _eq
from .derivation import is_zero as _zero

__all__: list[str] = []

theta = symbol("theta", r"\theta")
d_to = symbol("d_to", r"d_{\to}", nonnegative=True)
d_from = symbol("d_from", r"d_{\leftarrow}", nonnegative=True)
hold = symbol("r", nonnegative=True)
T1, T2, T3, T4 = (symbol(f"T{i}", f"T_{i}", real=True) for i in range(1, 5))
theta_hat = symbol("theta_hat", r"\hat\theta")
delta = symbol("delta", r"\delta", nonnegative=True)
err = symbol("e", r"\hat\theta - \theta")
sigma = symbol("sigma_x", r"\sigma_x", positive=True)
q = symbol("q", positive=True)
D = symbol("D", real=True)
tau = symbol("tau", r"\tau", positive=True)
s, u, t = (symbol(n, positive=True) for n in ("s", "u", "t"))
x0 = symbol("x_0", real=True)
y0 = symbol("y_0", real=True)
T = symbol("T", positive=True)
a = symbol("a", nonnegative=True)
v_y = symbol("Var(y_0)", r"\operatorname{Var}(y_0)", nonnegative=True)
run = symbol("s_run", r"s", positive=True)
gap = symbol("g", positive=True)
k = symbol("k", positive=True)
h = symbol("h", positive=True)
AV = symbol("sigma_y^2", r"\sigma_y^2(\tau)")
V2 = symbol("E[(Delta^2 x)^2]", r"\mathbb{E}[(\Delta^2_\tau x)^2]")
X = symbol("x(T)")
VX = symbol("Var x(T)", r"\operatorname{Var}[x(T) - x(0)]")
RATE = symbol("rate", r"\dot{G}")
B = symbol("Delta B", r"\Delta B")

SOURCE_NTP = "RFC 5905 (2010), §8 (on-wire protocol); Mills, Computer Network Time Synchronization, 2nd ed. (2011), §3"
SOURCE_ALLAN = "Riley, Handbook of Frequency Stability Analysis, NIST SP 1065 (2008), §5.2 and Table 5"
SOURCE_TICKS = ("libvirt 'Time keeping' (timer tickpolicy); renewal-reward theorem, Ross, Stochastic Processes, "
                "2nd ed. (1996), Thm 3.6.1; Lindley's recursion")


def _timestamps():
    """The four timestamps from the premises: T2 = T1 + d_to + theta, T3 = T2 + r, T4 = T3 + d_from - theta."""
    t2 = T1 + d_to + theta
    t3 = t2 + hold
    t4 = t3 + d_from - theta
    return t2, t3, t4


def _premises():
    t2, t3, t4 = _timestamps()
    return (
        Step("Request: leaves at T1 on the client's clock, arrives d_to later; the server's clock reads theta more",
             _eq(T2, t2)),
        Step("The server holds the request for r before replying", _eq(T3, t3)),
        Step("Reply: arrives d_from later, read on the client's clock (theta less)", _eq(T4, t4)),
    )


@derivation("clock.ntp_offset_estimate")
def _offset():
    t2, t3, t4 = _timestamps()
    estimate = ((T2 - T1) + (T3 - T4)) / 2
    result = sp.simplify(estimate.subs({T2: t2, T3: t3, T4: t4}))
    assert _zero(result - (theta + (d_to - d_from) / 2))
    steps = (*_premises(),
             Step("On-wire offset estimate (RFC 5905, §8)", _eq(theta_hat, estimate)),
             Step("Substitute the premises: T1 and r cancel", _eq(theta_hat, result)))
    return Derivation(name="clock.ntp_offset_estimate", title="NTP offset estimate under asymmetric delays",
                      steps=steps, result=result,
                      parameters=(("offset", theta), ("to_server_delay", d_to), ("from_server_delay", d_from)),
                      assumptions=("clock rates equal over the exchange", "one-way delays d_to, d_from >= 0"),
                      source=SOURCE_NTP)


@derivation("clock.ntp_delay")
def _delay():
    t2, t3, t4 = _timestamps()
    estimate = (T4 - T1) - (T3 - T2)
    result = sp.simplify(estimate.subs({T2: t2, T3: t3, T4: t4}))
    steps = (*_premises(),
             Step("Round-trip delay (RFC 5905, §8)", _eq(delta, estimate)),
             Step("Substitute: the offset and the hold time cancel", _eq(delta, result)))
    return Derivation(name="clock.ntp_delay", title="NTP round-trip delay", steps=steps, result=result,
                      parameters=(("to_server_delay", d_to), ("from_server_delay", d_from)),
                      assumptions=("clock rates equal over the exchange",), source=SOURCE_NTP)


@derivation("clock.asymmetry_error")
def _asymmetry():
    t2, t3, t4 = _timestamps()
    estimate = (((T2 - T1) + (T3 - T4)) / 2).subs({T2: t2, T3: t3, T4: t4})
    result = sp.simplify(estimate - theta)
    steps = (*_premises(),
             Step("Error of the on-wire estimate", _eq(err, estimate - theta)),
             Step("Simplify: half the delay asymmetry", _eq(err, result)))
    return Derivation(name="clock.asymmetry_error", title="Offset error from path asymmetry", steps=steps,
                      result=result, parameters=(("to_server_delay", d_to), ("from_server_delay", d_from)),
                      assumptions=("clock rates equal over the exchange",), source=SOURCE_NTP)


@derivation("clock.offset_error_bound")
def _bound():
    e = (d_to - d_from) / 2
    dl = d_to + d_from
    slack_hi = sp.simplify(dl / 2 - e)
    slack_lo = sp.simplify(dl / 2 + e)
    assert slack_hi == d_from and slack_lo == d_to  # both >= 0 because the delays are
    steps = (
        Step("The error and the round-trip delay in terms of the one-way delays", _eq(err, e)),
        Step("", _eq(delta, dl)),
        Step("delta/2 minus the error is the return delay, >= 0", _eq(dl / 2 - err, slack_hi)),
        Step("delta/2 plus the error is the outbound delay, >= 0", _eq(dl / 2 + err, slack_lo)),
        Step("Hence |error| <= delta/2 whatever the asymmetry", sp.Le(sp.Abs(err), delta / 2)),
    )
    return Derivation(name="clock.offset_error_bound", title="The delta/2 bound on the NTP offset error",
                      steps=steps, result=delta / 2, parameters=(("delay", delta),),
                      assumptions=("one-way delays >= 0", "clock rates equal over the exchange"),
                      source=SOURCE_NTP)


@derivation("clock.allan_variance_white_pm")
def _white_pm():
    e0, e1, e2 = sp.symbols("epsilon_0 epsilon_1 epsilon_2", real=True)
    second = e2 - 2 * e1 + e0
    expanded = sp.expand(second**2)
    # E[eps_i eps_j] = sigma^2 if i == j else 0 (i.i.d., zero mean)
    expectation = expanded.subs({e0 * e1: 0, e0 * e2: 0, e1 * e2: 0}).subs({e0**2: sigma**2, e1**2: sigma**2,
                                                                            e2**2: sigma**2})
    result = sp.simplify(expectation / (2 * tau**2))
    steps = (
        Step("Allan variance from phase: half the mean square second difference over tau^2",
             _eq(AV, V2 / (2 * tau**2))),
        Step("White PM: the readings are x_i = eps_i, i.i.d. with variance sigma_x^2; expand the square",
             _eq(V2, symbol("E[...]", r"\mathbb{E}") * expanded)),
        Step("Cross terms vanish, squares give sigma_x^2", _eq(V2, expectation)),
        Step("Divide", _eq(AV, result)),
    )
    return Derivation(name="clock.allan_variance_white_pm", title="Allan variance of white phase noise",
                      steps=steps, result=result, parameters=(("white_pm", sigma), ("tau", tau)),
                      assumptions=("phase readings i.i.d., zero mean",), source=SOURCE_ALLAN)


def _min_kernel(lo1, hi1, lo2, hi2):
    """Integral of min(s, u) over [lo1, hi1] x [lo2, hi2]; the intervals are equal, or the first lies below."""
    if (lo1, hi1) == (lo2, hi2):
        # split at the diagonal: twice the integral over u < s
        return sp.simplify(2 * sp.integrate(sp.integrate(u, (u, lo1, s)), (s, lo1, hi1)))
    return sp.integrate(sp.integrate(s, (u, lo2, hi2)), (s, lo1, hi1))  # every s <= every u: min = s


@derivation("clock.allan_variance_random_walk_fm")
def _rw_fm():
    # x(t) = int_0^t y, y = sqrt(q) W: the second difference is A - B with A = int_tau^2tau y, B = int_0^tau y
    var_b = q * _min_kernel(0, tau, 0, tau)
    var_a = q * _min_kernel(tau, 2 * tau, tau, 2 * tau)
    cov = q * _min_kernel(0, tau, tau, 2 * tau)
    second = sp.simplify(var_a + var_b - 2 * cov)
    result = sp.simplify(second / (2 * tau**2))
    assert _zero(result - q * tau / 3)
    steps = (
        Step("Allan variance from phase", _eq(AV, V2 / (2 * tau**2))),
        Step("Phase is the integral of frequency: the second difference is A - B, "
             "A = int_tau^2tau y, B = int_0^tau y", _eq(V2, symbol("Var(A - B)"))),
        Step("y = sqrt(q) W has covariance q min(s, u): Var B", _eq(symbol("Var B"), var_b)),
        Step("Var A", _eq(symbol("Var A"), var_a)),
        Step("Cov(A, B): every s in [0, tau] is below every u in [tau, 2 tau]", _eq(symbol("Cov(A,B)"), cov)),
        Step("Var(A - B)", _eq(V2, second)),
        Step("Divide", _eq(AV, result)),
    )
    return Derivation(name="clock.allan_variance_random_walk_fm", title="Allan variance of random-walk FM",
                      steps=steps, result=result, parameters=(("random_walk_fm", q), ("tau", tau)),
                      assumptions=("fractional frequency a Wiener process with variance q t",), source=SOURCE_ALLAN)


@derivation("clock.allan_variance_drift")
def _drift():
    x = D * t**2 / 2
    second = sp.expand(x.subs(t, t + 2 * tau) - 2 * x.subs(t, t + tau) + x)
    result = sp.simplify(second**2 / (2 * tau**2))
    steps = (
        Step("Linear frequency drift: quadratic phase", _eq(symbol("x(t)"), x)),
        Step("Its second difference is constant", _eq(symbol("Delta^2 x", r"\Delta^2_\tau x"), second)),
        Step("Allan variance", _eq(AV, result)),
    )
    return Derivation(name="clock.allan_variance_drift", title="Allan variance of linear frequency drift",
                      steps=steps, result=result, parameters=(("ageing", D), ("tau", tau)),
                      assumptions=("deterministic drift D",), source=SOURCE_ALLAN)


@derivation("clock.holdover_mean")
def _holdover_mean():
    y = y0 + D * t
    integral = sp.integrate(y, (t, 0, T))
    result = sp.expand(x0 + integral)
    steps = (
        Step("Frequency during holdover: initial y0 plus the ageing drift", _eq(symbol("y(t)"), y)),
        Step("Phase is the initial offset plus the integral of frequency", _eq(X, x0 + sp.Integral(y, (t, 0, T)))),
        Step("Integrate", _eq(X, result)),
    )
    return Derivation(name="clock.holdover_mean", title="Mean clock error after a holdover of T", steps=steps,
                      result=result, parameters=(("duration", T), ("offset", x0), ("frequency", y0), ("ageing", D)),
                      assumptions=("no corrections during the holdover", "noise with zero mean"),
                      source=SOURCE_ALLAN + "; ITU-T G.810 Appendix II")


@derivation("clock.holdover_variance")
def _holdover_variance():
    # y(t) = y0 + sqrt(q) W(a + t) with W(0) = 0: over [0, T] the phase change is
    # y0 T + sqrt(q) (W(a) T + int_0^T (W(a+t) - W(a)) dt) + eps_T - eps_0
    var_start = q * a * T**2
    var_int = q * _min_kernel(0, T, 0, T)
    result = sp.expand(v_y * T**2 + var_start + var_int + 2 * sigma**2)
    steps = (
        Step("The random-walk frequency has run for a before the holdover: Var W(a) T", _eq(symbol("V_1"), var_start)),
        Step("The new increments integrate like a Wiener process: q int int min(s, u)", _eq(symbol("V_2"), var_int)),
        Step("Independent terms add; the deterministic frequency spread and both white-PM readings add",
             _eq(VX, result)),
    )
    return Derivation(name="clock.holdover_variance", title="Variance of the holdover error", steps=steps,
                      result=result,
                      parameters=(("duration", T), ("random_walk_fm", q), ("white_pm", sigma),
                                  ("frequency_variance", v_y), ("elapsed", a)),
                      assumptions=("independent increments", "white PM independent of the frequency noise"),
                      source=SOURCE_ALLAN)


@derivation("clock.lost_tick_rate_error_delay")
def _lost_delay():
    ticks = run / h
    guest = ticks * h
    rate = sp.simplify(guest / (run + gap))
    result = sp.simplify(rate - 1)
    steps = (
        Step("Per run/gap cycle only the ticks due while the vCPU runs advance the clock", _eq(symbol("N"), ticks)),
        Step("Renewal reward: the guest rate is the clock advance per cycle over its length", _eq(RATE, rate)),
        Step("Rate error", _eq(symbol("rate error"), result)),
    )
    return Derivation(name="clock.lost_tick_rate_error_delay", title="Rate error of a tick-counting guest (delay, "
                      "discard)", steps=steps, result=result, parameters=(("run", run), ("gap", gap)),
                      assumptions=("tick-counting guest", "missed ticks never credited", "means of i.i.d. runs, gaps"),
                      source=SOURCE_TICKS)


@derivation("clock.catchup_min_rate")
def _catchup_rate():
    drift = gap - (k - 1) * run
    kmin = sp.solve(sp.Eq(drift, 0), k)[0]
    steps = (
        Step("Per cycle the backlog gains the gap and, while running, drains at k - 1", _eq(B, drift)),
        Step("Stable (keeps up) iff the drift is <= 0: the smallest catch-up rate", _eq(k, kmin)),
    )
    return Derivation(name="clock.catchup_min_rate", title="Smallest catch-up rate that keeps up", steps=steps,
                      result=sp.expand(kmin), parameters=(("run", run), ("gap", gap)),
                      assumptions=("fluid backlog", "means of i.i.d. runs and gaps"), source=SOURCE_TICKS)


@derivation("clock.catchup_backlog_growth")
def _catchup_growth():
    drift = gap - (k - 1) * run
    result = sp.simplify(drift / (run + gap))
    steps = (
        Step("Backlog drift per cycle (catch-up rate below 1 + g/s)", _eq(B, drift)),
        Step("Renewal reward: growth per unit time", _eq(symbol("dB/dt"), result)),
    )
    return Derivation(name="clock.catchup_backlog_growth", title="Growth of the catch-up backlog when it cannot "
                      "keep up", steps=steps, result=result,
                      parameters=(("run", run), ("gap", gap), ("catchup_rate", k)),
                      assumptions=("k < 1 + g/s", "fluid backlog", "means of i.i.d. runs and gaps"),
                      source=SOURCE_TICKS)
