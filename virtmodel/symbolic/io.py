r"""Derivations for shared I/O devices: request times, FCFS with read/write classes, partitions, GPS, token buckets.

The numeric counterparts are in :mod:`virtmodel.analytic.io` and
:class:`virtmodel.IOScenario`.

Public parameter names: ``overhead`` (a), ``bandwidth`` (B),
``size_mean``, ``size_second_moment`` (X), ``exits_mean``,
``exits_second_moment`` (N), ``cost_mean``, ``cost_second_moment`` (C),
``arrival_rate_1`` .. ``arrival_rate_3``, ``mean_1`` .., ``second_moment_1``
.. (FCFS classes), ``arrival_rate``, ``service_mean``,
``service_second_moment``, ``share``, ``weight``, ``others_weight``,
``token_rate``.

Examples
--------
>>> from virtmodel.symbolic import derive
>>> derive("io.partition_mean_response")(arrival_rate=0.25, service_mean=1.0, service_second_moment=2.0, share=0.5)
4.0
>>> derive("io.token_bucket_delay")(arrival_rate=0.5, token_rate=1.0)
0.5
"""

from __future__ import annotations

import sympy as sp

from .derivation import Derivation, Step, derivation, symbol
from .derivation import eq as _eq

__all__: list[str] = []

a = symbol("a", nonnegative=True)
B = symbol("B", positive=True)
X, Y = symbol("X", positive=True), symbol("Y", nonnegative=True)
EX = symbol("E[X]", r"\mathbb{E}[X]", positive=True)
EX2 = symbol("E[X^2]", r"\mathbb{E}[X^{2}]", positive=True)
EN = symbol("E[N]", r"\mathbb{E}[N]", nonnegative=True)
EN2 = symbol("E[N^2]", r"\mathbb{E}[N^{2}]", nonnegative=True)
EC = symbol("E[C]", r"\mathbb{E}[C]", nonnegative=True)
EC2 = symbol("E[C^2]", r"\mathbb{E}[C^{2}]", nonnegative=True)
ES1 = symbol("E[S]", r"\mathbb{E}[S]")
ES2s = symbol("E[S^2]", r"\mathbb{E}[S^{2}]")
lam = symbol("lambda", positive=True)
ES = symbol("E[S]", r"\mathbb{E}[S]", positive=True)
ES2 = symbol("E[S^2]", r"\mathbb{E}[S^{2}]", positive=True)
phi = symbol("phi", r"\phi", positive=True)
T = symbol("T")
W = symbol("W_q", "W_q")
w, w_o = symbol("w", positive=True), symbol("w_o", "w_{o}", positive=True)
r = symbol("r", positive=True)
lams = [symbol(f"lambda_{k}", positive=True) for k in (1, 2, 3)]
m1 = [symbol(f"E[S_{k}]", rf"\mathbb{{E}}[S_{k}]", positive=True) for k in (1, 2, 3)]
m2 = [symbol(f"E[S_{k}^2]", rf"\mathbb{{E}}[S_{k}^{{2}}]", positive=True) for k in (1, 2, 3)]

SOURCE_PK = "Kleinrock, Queueing Systems I (1975), §5.5 (Pollaczek-Khinchine), eq. (5.76)"
SOURCE_GPS = "Parekh & Gallager, IEEE/ACM Trans. Networking 1(3) (1993), §2 (GPS rates)"


def _expect(expr):
    """E[.] of a polynomial in X and Y with X, Y independent: X^k -> E[X^k], Y^k -> E[Y^k]."""
    ey = EN * EC
    ey2 = EN * EC2 + (EN2 - EN) * EC**2
    xm = {0: sp.Integer(1), 1: EX, 2: EX2}
    ym = {0: sp.Integer(1), 1: ey, 2: ey2}
    poly = sp.Poly(sp.expand(expr), X, Y)
    return sp.expand(sum(c * xm[i] * ym[j] for (i, j), c in poly.terms()))


def _request_steps():
    s = a + X / B + Y
    return (
        Step("A request of size X holds the device for the overhead, the transfer and its exits "
             "(Y = C_1 + ... + C_N)", _eq(symbol("S"), s)),
        Step("Compound sum (Wald): E[Y] = E[N] E[C], E[Y^2] = E[N] E[C^2] + E[N(N-1)] E[C]^2",
             _eq(symbol("E[Y^2]", r"\mathbb{E}[Y^{2}]"), EN * EC2 + (EN2 - EN) * EC**2)),
    ), s


_REQUEST_PARAMETERS = (("overhead", a), ("bandwidth", B), ("size_mean", EX), ("size_second_moment", EX2),
                       ("exits_mean", EN), ("exits_second_moment", EN2), ("cost_mean", EC),
                       ("cost_second_moment", EC2))
_REQUEST_ASSUMPTIONS = ("X, N and the exit costs C_i independent; C_i i.i.d.", "a and B constants")


@derivation("io.request_time_mean")
def _request_time_mean():
    """E[S] = a + E[X]/B + E[N] E[C]."""
    steps, s = _request_steps()
    mean = _expect(s)
    return Derivation(name="io.request_time_mean", title="Mean device time of an I/O request",
                      steps=(*steps, Step("Linearity of expectation", _eq(ES1, mean))), result=mean,
                      parameters=tuple(p for p in _REQUEST_PARAMETERS if p[0] in ("overhead", "bandwidth",
                                                                                  "size_mean", "exits_mean",
                                                                                  "cost_mean")),
                      assumptions=_REQUEST_ASSUMPTIONS,
                      source="Wald's identity, Ross, Stochastic Processes, 2nd ed. (1996), §1.5")


@derivation("io.request_time_second_moment")
def _request_time_second_moment():
    """E[S^2] by expanding (a + X/B + Y)^2 with X and Y independent."""
    steps, s = _request_steps()
    second = _expect(s**2)
    return Derivation(name="io.request_time_second_moment", title="Second moment of an I/O request's device time",
                      steps=(*steps, Step("Expand the square; independent factors' expectations multiply",
                                          _eq(ES2s, second))),
                      result=second, parameters=_REQUEST_PARAMETERS, assumptions=_REQUEST_ASSUMPTIONS,
                      source="Ross, Stochastic Processes, 2nd ed. (1996), §1.5")


@derivation("io.fcfs_mean_response")
def _fcfs_mean_response():
    """Class 1's mean response at an FCFS device shared by three Poisson classes (its reads, writes, the others)."""
    total = sum(lams)
    merged1 = sum(l_ * m for l_, m in zip(lams, m1, strict=True)) / total
    merged2 = sum(l_ * m for l_, m in zip(lams, m2, strict=True)) / total
    wait_pk = lam * ES2 / (2 * (1 - lam * ES))
    wait = sp.simplify(wait_pk.subs({lam: total, ES: merged1, ES2: merged2}))
    result = wait + m1[0]
    steps = (
        Step("The classes' Poisson streams merge into one Poisson stream of rate sum lambda_c", _eq(lam, total)),
        Step("A merged request is of class c with probability lambda_c / lambda: its law is the mixture",
             _eq(ES, merged1)),
        Step("Second moment of the mixture", _eq(ES2, merged2)),
        Step("Pollaczek-Khinchine for the merged M/G/1 queue", _eq(W, wait_pk)),
        Step("Substitute: the same mean wait for every class (PASTA)", _eq(W, wait)),
        Step("Class 1 waits, then holds the device for its own service", _eq(T, result)),
    )
    params = tuple((f"arrival_rate_{k}", lams[k - 1]) for k in (1, 2, 3)) + \
        tuple((f"mean_{k}", m1[k - 1]) for k in (1, 2, 3)) + \
        tuple((f"second_moment_{k}", m2[k - 1]) for k in (1, 2, 3))
    return Derivation(name="io.fcfs_mean_response", title="Mean I/O latency at a shared FCFS device",
                      steps=steps, result=result, parameters=params,
                      assumptions=("Poisson classes, i.i.d. service within a class, one FCFS device",
                                   "sum_c lambda_c E[S_c] < 1"),
                      source=SOURCE_PK)


def _partition(share):
    wait_pk = lam * ES2 / (2 * (1 - lam * ES))
    wait = sp.simplify(wait_pk.subs({ES2: ES2 / share**2, ES: ES / share}, simultaneous=True))
    return wait_pk, wait, wait + ES / share


@derivation("io.partition_mean_response")
def _partition_mean_response():
    """A VM on a fixed share phi of the device: M/G/1 with service S / phi."""
    wait_pk, wait, result = _partition(phi)
    steps = (
        Step("At a share phi of the bandwidth a request takes S / phi: moments E[S]/phi, E[S^2]/phi^2",
             _eq(symbol("S_phi", r"S_{\phi}"), symbol("S") / phi)),
        Step("Pollaczek-Khinchine", _eq(W, wait_pk)),
        Step("Substitute the scaled moments", _eq(W, wait)),
        Step("Mean response", _eq(T, result)),
    )
    return Derivation(name="io.partition_mean_response", title="Mean I/O latency on a static partition",
                      steps=steps, result=result,
                      parameters=(("arrival_rate", lam), ("service_mean", ES), ("service_second_moment", ES2),
                                  ("share", phi)),
                      assumptions=("Poisson requests, i.i.d. device times, FIFO on the VM's own partition",
                                   "lambda E[S] < phi"),
                      source=SOURCE_PK)


@derivation("io.gps_saturated_mean_response")
def _gps_saturated_mean_response():
    """GPS with every other VM always backlogged: the VM is served at w / (w + w_o) whenever it has work."""
    rate = w / (w + w_o)
    _, _, partition = _partition(phi)
    result = sp.simplify(partition.subs(phi, rate))
    steps = (
        Step("GPS: backlogged VMs share the device in proportion to their weights; the others (total weight "
             "w_o) are always backlogged, so whenever this VM has work its rate is", _eq(phi, rate)),
        Step("A constant rate while busy, FIFO within the VM: the partition formula at that rate", _eq(T, result)),
    )
    return Derivation(name="io.gps_saturated_mean_response", title="Mean I/O latency under fair queueing "
                      "against backlogged neighbours", steps=steps, result=result,
                      parameters=(("arrival_rate", lam), ("service_mean", ES), ("service_second_moment", ES2),
                                  ("weight", w), ("others_weight", w_o)),
                      assumptions=("Poisson requests, i.i.d. device times", "every other VM always backlogged",
                                   "lambda E[S] < w / (w + w_o)"),
                      source=SOURCE_GPS + "; " + SOURCE_PK)


@derivation("io.token_bucket_delay")
def _token_bucket_delay():
    """Mean delay in a token bucket of depth 1 (one token per request): the M/D/1 wait with D = 1/r."""
    wait_pk = lam * ES2 / (2 * (1 - lam * ES))
    result = sp.simplify(wait_pk.subs({ES: 1 / r, ES2: 1 / r**2}, simultaneous=True))
    steps = (
        Step("Depth 1: request n leaves at max(A_n, R_{n-1} + 1/r), Lindley's recursion of a server with "
             "constant service 1/r", _eq(symbol("R_n"), sp.Max(symbol("A_n"), symbol("R_{n-1}") + 1 / r))),
        Step("So the throttle delay is the M/D/1 wait; Pollaczek-Khinchine", _eq(W, wait_pk)),
        Step("Deterministic service 1/r", _eq(W, result)),
    )
    return Derivation(name="io.token_bucket_delay", title="Mean delay in an IOPS token bucket (depth 1)",
                      steps=steps, result=result, parameters=(("arrival_rate", lam), ("token_rate", r)),
                      assumptions=("Poisson requests", "one token per request, bucket depth 1, FIFO", "lambda < r"),
                      source="Cruz, IEEE Trans. Inf. Theory 37(1) (1991); " + SOURCE_PK)
