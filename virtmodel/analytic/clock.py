r"""Guest clocks: oscillators, lost timer ticks, NTP/PTP on-wire estimates, holdover.

All times are in seconds and frequencies are fractional (s/s; 1 ppm = 1e-6)
unless a name says otherwise.  The *clock error* (or *offset*) of a clock is
``clock time - true time``.

Oscillator (Allan, Proc. IEEE 54 (1966); Barnes et al., IEEE Trans. Instrum.
Meas. IM-20 (1971); Riley, *Handbook of Frequency Stability Analysis*, NIST
SP 1065 (2008)): the phase error

.. math:: x(t) = x_0 + y_0 t + \tfrac12 D t^2 + \int_0^t \sqrt{q}\,W(s)\,ds + \varepsilon(t)

with initial offset :math:`x_0`, frequency offset :math:`y_0`, ageing
(linear frequency drift) :math:`D`, random-walk frequency noise of diffusion
coefficient :math:`q` (``y`` is a Wiener process with variance :math:`q t`)
and white phase noise :math:`\varepsilon` of standard deviation
:math:`\sigma_x` on each reading.  The Allan variance
:math:`\sigma_y^2(\tau) = \tfrac{1}{2\tau^2} E[(x_{t+2\tau} - 2x_{t+\tau} + x_t)^2]`
of each term, all exact (NIST SP 1065, Table 5 and §5.2):

* white PM, i.i.d. readings: :math:`3\sigma_x^2/\tau^2`;
* random-walk FM: :math:`q\tau/3` (:math:`= (2\pi)^2 h_{-2}\tau/6` with
  :math:`h_{-2} = q/(2\pi^2)`);
* linear frequency drift: :math:`D^2\tau^2/2`.

Independent terms add.

NTP on-wire (RFC 5905, §8): with T1 (client send, client clock), T2 (server
receive), T3 (server send, server clock), T4 (client receive),
:math:`\theta = ((T_2 - T_1) + (T_3 - T_4))/2` estimates server minus
client, and :math:`\delta = (T_4 - T_1) - (T_3 - T_2)` is the round-trip
delay.  With one-way delays :math:`d_\to` (client to server) and
:math:`d_\leftarrow`, :math:`\hat\theta - \theta = (d_\to - d_\leftarrow)/2`
and :math:`\delta = d_\to + d_\leftarrow`, so :math:`|\hat\theta - \theta|
\le \delta/2` whenever both delays are >= 0.

Guest timekeeping under the hypervisor: a tick-counting guest advances its
clock by one tick period ``h`` per timer interrupt.  Its vCPU runs for ``s``
and is descheduled for ``g`` (mean lengths of the run/gap pattern).  The
long-run rate error of the guest clock, by the tick policies that QEMU
implements and libvirt names (``<timer tickpolicy=...>``; the policy texts of
QEMU's ``LostTickPolicy``, QEMU commit 2a7d957596, 2020, copied into
libvirt's formatdomain documentation):

* ``delay`` and ``discard``: ticks due in a gap never advance the clock by
  their time: rate error :math:`-g/(s+g)`;
* ``merge``: missed ticks become one tick at resume: rate error
  :math:`-(g - \min(g, h))/(s+g)` (a gap shorter than ``h`` holds a tick with
  probability ``g/h``, so a merged tick brings :math:`\min(g,h)` on average);
* ``catchup``: after a gap, ticks are delivered ``k`` times faster until the
  backlog is gone; the backlog is a fluid queue that gains ``g`` per gap and
  drains :math:`(k-1)s` per run, so catch-up keeps up iff
  :math:`k \ge 1 + g/s` (rate error 0) and otherwise the backlog grows at
  :math:`(g - (k-1)s)/(s+g)` seconds per second (Lindley's recursion; rate
  error its negative);
* ``kvmclock``: the guest reads the scaled host TSC (Linux
  ``arch/x86/kernel/kvmclock.c``), unaffected by descheduling: rate error 0.

These are renewal-reward limits (Ross, *Stochastic Processes*, 2nd ed.,
Thm 3.6.1): they hold for any i.i.d. run/gap lengths with the given means.

Modelled: a guest whose clock is its tick count (no lost-tick compensation
in the guest; ``discard`` then behaves like ``delay``, as QEMU's text
warns), ticks lost exactly while the vCPU is descheduled, catch-up at a
fixed multiple k of the tick rate.  Simplified: ticks are a fluid (the
clock advances continuously at 1 or k while running), a merged tick
credits min(g, h) on average.  Missing: libvirt's ``<catchup threshold
slew limit>`` parameters, guests that re-read a clocksource (TSC, HPET) to
correct lost ticks, and the timer's own phase relative to the schedule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, localcontext

import numpy as np

from .._lazy import lazy
from .._validation import as_output, nonnegative, positive, positive_int, real_array, scalar
from ..errors import InvalidParameter

integrate = lazy("scipy.integrate")

__all__ = [
    "Oscillator",
    "PathDelay",
    "TICK_POLICIES",
    "RFC5905",
    "allan_variance_white_pm",
    "allan_variance_random_walk_fm",
    "allan_variance_drift",
    "overlapping_allan_variance",
    "overlapping_allan_deviation",
    "ntp_offset_delay",
    "ntp_offset_delay_exact",
    "asymmetry_error",
    "offset_error_bound",
    "filtered_offset_error",
    "holdover_mean",
    "holdover_variance",
    "lost_tick_rate_error",
    "catchup_feasible",
    "catchup_backlog_growth",
    "linuxptp_pi_gains",
    "pi_servo_offset",
    "ntp_slew_half_life",
    "chain_offset_spread",
]

#: libvirt tick policies plus the paravirtual clock
TICK_POLICIES = ("delay", "catchup", "merge", "discard", "kvmclock")

#: constants of the RFC 5905 clock discipline (Appendix A.1.1 and A.5.5.6)
RFC5905 = {"PLL": 16, "STEPT": 0.128, "MAXFREQ": 500e-6, "WATCH": 900.0, "MINPOLL": 4, "MAXPOLL": 17}


# ---------------------------------------------------------------------------
# Oscillators and the Allan variance
# ---------------------------------------------------------------------------


def allan_variance_white_pm(white_pm, tau):
    r"""Allan variance of white phase noise: :math:`3\sigma_x^2/\tau^2`.

    Exact for i.i.d. phase readings of standard deviation ``white_pm`` taken
    ``tau`` apart (NIST SP 1065 (2008), §5.2.2: the second difference of
    i.i.d. readings has variance :math:`6\sigma_x^2`).

    >>> allan_variance_white_pm(1e-6, 10.0)
    3e-14
    """
    sigma = nonnegative("white_pm", white_pm)
    tau = positive("tau", tau)
    return as_output(3.0 * sigma**2 / tau**2)


def allan_variance_random_walk_fm(random_walk_fm, tau):
    r"""Allan variance of random-walk frequency noise: :math:`q\tau/3`.

    ``random_walk_fm`` is the diffusion coefficient q (1/s): the fractional
    frequency is a Wiener process with variance :math:`q t`.  Barnes et al.
    (1971), Table I with :math:`S_y(f) = h_{-2} f^{-2}`, :math:`h_{-2} = q/(2\pi^2)`.

    >>> allan_variance_random_walk_fm(3e-20, 100.0)
    1e-18
    """
    q = nonnegative("random_walk_fm", random_walk_fm)
    tau = positive("tau", tau)
    return as_output(q * tau / 3.0)


def allan_variance_drift(ageing, tau):
    r"""Allan variance of a linear frequency drift D (1/s): :math:`D^2\tau^2/2` (NIST SP 1065, §5.2.2).

    >>> allan_variance_drift(2e-10, 10.0)
    2e-18
    """
    d = real_array("ageing", ageing)
    tau = positive("tau", tau)
    return as_output(d**2 * tau**2 / 2.0)


@dataclass(frozen=True)
class Oscillator:
    r"""A free-running clock: offset, frequency offset, random-walk FM, white PM, ageing.

    Parameters
    ----------
    offset : float, default 0
        Initial clock error :math:`x_0` (s).
    frequency_ppm : float, default 0
        Frequency offset :math:`y_0` in ppm (the clock gains
        ``frequency_ppm * 1e-6`` s per s).
    random_walk_fm : float, default 0
        Diffusion coefficient q (1/s) of random-walk frequency noise;
        a typical crystal has q around 1e-16 to 1e-20.
    white_pm : float, default 0
        Standard deviation :math:`\sigma_x` (s) of white phase noise on each reading.
    ageing : float, default 0
        Linear frequency drift D (fractional frequency per s).

    Notes
    -----
    Mean phase :math:`x_0 + y_0 t + D t^2/2`; variance :math:`q t^3/3 +
    \sigma_x^2` (the integral of a Wiener process has variance
    :math:`t^3/3`).  Allan variance: the sum of
    :func:`allan_variance_white_pm`, :func:`allan_variance_random_walk_fm`
    and :func:`allan_variance_drift`.

    Examples
    --------
    >>> osc = Oscillator(frequency_ppm=10.0, random_walk_fm=3e-18)
    >>> osc.frequency
    1e-05
    >>> osc.phase_mean(100.0)
    0.001
    >>> osc.allan_deviation(100.0)
    1e-08
    """

    offset: float = 0.0
    frequency_ppm: float = 0.0
    random_walk_fm: float = 0.0
    white_pm: float = 0.0
    ageing: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "offset", scalar(real_array, "offset", self.offset))
        object.__setattr__(self, "frequency_ppm", scalar(real_array, "frequency_ppm", self.frequency_ppm))
        object.__setattr__(self, "random_walk_fm", scalar(nonnegative, "random_walk_fm", self.random_walk_fm))
        object.__setattr__(self, "white_pm", scalar(nonnegative, "white_pm", self.white_pm))
        object.__setattr__(self, "ageing", scalar(real_array, "ageing", self.ageing))

    @property
    def frequency(self) -> float:
        """The fractional frequency offset y0 (s/s)."""
        return self.frequency_ppm / 1e6

    def phase_mean(self, t):
        """Mean clock error at time ``t`` >= 0: x0 + y0 t + D t^2 / 2."""
        t = nonnegative("t", t)
        return as_output(self.offset + self.frequency * t + 0.5 * self.ageing * t**2)

    def phase_variance(self, t):
        """Variance of the clock error at ``t`` >= 0: q t^3 / 3 + sigma_x^2."""
        t = nonnegative("t", t)
        return as_output(self.random_walk_fm * t**3 / 3.0 + self.white_pm**2)

    def allan_variance(self, tau):
        """Allan variance at averaging time ``tau`` (sum of the three noise terms)."""
        return as_output(np.asarray(allan_variance_white_pm(self.white_pm, tau))
                         + np.asarray(allan_variance_random_walk_fm(self.random_walk_fm, tau))
                         + np.asarray(allan_variance_drift(self.ageing, tau)))

    def allan_deviation(self, tau):
        """Allan deviation (square root of :meth:`allan_variance`)."""
        return as_output(np.sqrt(self.allan_variance(tau)))


def overlapping_allan_variance(phase, tau0, m):
    r"""Overlapping Allan variance of phase data at averaging time ``m * tau0``.

    .. math:: \hat\sigma_y^2(m\tau_0) = \frac{1}{2 (m\tau_0)^2 (N - 2m)}
              \sum_{i=0}^{N-2m-1} (x_{i+2m} - 2x_{i+m} + x_i)^2

    (NIST SP 1065, eq. 12), unbiased for each noise type above.  ``phase``
    may be 2-D: one series per row (e.g. one per VM), one estimate per row.
    Agrees with ``allantools.oadev`` (``data_type="phase"``) to rounding.

    Parameters
    ----------
    phase : array_like, shape (..., N)
        Clock error readings (s), ``tau0`` apart.
    tau0 : float
        Sampling interval (s).
    m : int
        Averaging factor, 1 <= m <= (N - 1) / 2.

    >>> overlapping_allan_variance([0.0, 1.0, 0.0, 1.0, 0.0], 1.0, 1)
    2.0
    """
    x = real_array("phase", phase)
    tau0 = scalar(positive, "tau0", tau0)
    m = positive_int("m", m)
    n = x.shape[-1] if x.ndim else 0
    if n < 2 * m + 1:
        raise InvalidParameter(f"phase must have at least 2 m + 1 = {2 * m + 1} readings, got {n}")
    d2 = x[..., 2 * m:] - 2.0 * x[..., m:n - m] + x[..., :n - 2 * m]
    return as_output(np.mean(d2**2, axis=-1) / (2.0 * (m * tau0) ** 2))


def overlapping_allan_deviation(phase, tau0, m):
    """Square root of :func:`overlapping_allan_variance`."""
    return as_output(np.sqrt(overlapping_allan_variance(phase, tau0, m)))


# ---------------------------------------------------------------------------
# NTP on-wire calculations
# ---------------------------------------------------------------------------


def _check_order(t1, t2, t3, t4):
    if np.any(t4 < t1):
        raise InvalidParameter("t4 must be >= t1 (both on the client's clock: the reply cannot arrive before "
                               f"the request left), got t4 - t1 = {np.min(t4 - t1)!r}")
    if np.any(t3 < t2):
        raise InvalidParameter("t3 must be >= t2 (both on the server's clock: it cannot reply before it "
                               f"received), got t3 - t2 = {np.min(t3 - t2)!r}")


def ntp_offset_delay(t1, t2, t3, t4):
    r"""NTP on-wire offset and delay from the four timestamps (RFC 5905, §8), broadcasting.

    .. math:: \theta = \frac{(T_2 - T_1) + (T_3 - T_4)}{2},\qquad
              \delta = (T_4 - T_1) - (T_3 - T_2)

    ``theta`` estimates the server's clock minus the client's.  T2 < T1 is
    legitimate (the clocks disagree); T4 < T1 or T3 < T2 (same clock going
    backwards) raises :class:`~virtmodel.errors.InvalidParameter`.

    For absolute Unix timestamps in double precision (spacing 2.4e-7 s near
    1.5e9 s) the differences lose digits; subtract a reference epoch first,
    or use :func:`ntp_offset_delay_exact`.

    Returns
    -------
    (offset, delay) : floats or arrays

    >>> ntp_offset_delay(10.0, 12.5, 12.75, 10.5)
    (2.375, 0.25)
    """
    t1, t2, t3, t4 = (real_array(n, v) for n, v in zip(("t1", "t2", "t3", "t4"), (t1, t2, t3, t4), strict=True))
    _check_order(t1, t2, t3, t4)
    offset = ((t2 - t1) + (t3 - t4)) / 2.0
    delay = (t4 - t1) - (t3 - t2)
    return as_output(offset), as_output(delay)


def ntp_offset_delay_exact(t1, t2, t3, t4):
    """:func:`ntp_offset_delay` in exact decimal arithmetic, for timestamps given as decimal strings.

    Each argument is a string (or a sequence of strings) such as
    ``"1530612059.123456789"``; the results are :class:`decimal.Decimal`
    (lists for sequences), exact to the last digit given.

    >>> ntp_offset_delay_exact("1.000000001", "1.000000003", "1.000000004", "1.000000004")
    (Decimal('1E-9'), Decimal('2E-9'))
    """
    scalar = isinstance(t1, (str, Decimal))
    cols = [[t] if scalar else list(t) for t in (t1, t2, t3, t4)]
    if len({len(c) for c in cols}) != 1:
        raise InvalidParameter(f"t1..t4 must have the same length, got {[len(c) for c in cols]}")
    out_offset, out_delay = [], []
    with localcontext() as ctx:
        ctx.prec = 60
        for a, b, c, d in zip(*cols, strict=True):
            a, b, c, d = (Decimal(str(v).strip()) for v in (a, b, c, d))
            if d < a:
                raise InvalidParameter(f"t4 must be >= t1 (both on the client's clock), got t1={a}, t4={d}")
            if c < b:
                raise InvalidParameter(f"t3 must be >= t2 (both on the server's clock), got t2={b}, t3={c}")
            out_offset.append(((b - a) + (c - d)) / 2)
            out_delay.append((d - a) - (c - b))
    if scalar:
        return out_offset[0], out_delay[0]
    return out_offset, out_delay


def asymmetry_error(to_server_delay, from_server_delay):
    r"""Error of the NTP offset estimate from path asymmetry: :math:`\hat\theta - \theta = (d_\to - d_\leftarrow)/2`.

    RFC 5905, §8 (the on-wire protocol assumes equal one-way delays).

    >>> asymmetry_error(0.003, 0.001)
    0.001
    """
    a = nonnegative("to_server_delay", to_server_delay)
    b = nonnegative("from_server_delay", from_server_delay)
    return as_output((a - b) / 2.0)


def offset_error_bound(delay):
    r"""The bound :math:`|\hat\theta - \theta| \le \delta/2` for round-trip delay ``delay`` (RFC 5905, §8).

    >>> offset_error_bound(0.02)
    0.01
    """
    return as_output(nonnegative("delay", delay) / 2.0)


@dataclass(frozen=True)
class PathDelay:
    r"""One-way network delay: a fixed ``minimum`` plus exponential queueing of mean ``queueing_mean``.

    The classical model of a path's delay (propagation and transmission plus
    queueing in the routers; e.g. Paxson, "On calibrating measurements of
    packet transit times", SIGMETRICS 1998).  ``queueing_mean = 0`` gives a
    constant delay.

    >>> d = PathDelay(minimum=0.001, queueing_mean=0.0005)
    >>> d.mean, d.variance
    (0.0015, 2.5e-07)
    """

    minimum: float = 0.0
    queueing_mean: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "minimum", scalar(nonnegative, "minimum", self.minimum))
        object.__setattr__(self, "queueing_mean", scalar(nonnegative, "queueing_mean", self.queueing_mean))

    @property
    def mean(self) -> float:
        """Mean one-way delay."""
        return self.minimum + self.queueing_mean

    @property
    def variance(self) -> float:
        """Variance of the one-way delay (that of the exponential queueing part)."""
        return self.queueing_mean**2

    def sample(self, rng: np.random.Generator, size) -> np.ndarray:
        """``size`` delays drawn with ``rng``."""
        if self.queueing_mean == 0.0:
            return np.full(size, self.minimum)
        return self.minimum + rng.exponential(self.queueing_mean, size)


def filtered_offset_error(to_server: PathDelay, from_server: PathDelay, window: int = 8):
    r"""Mean and mean square of :math:`\hat\theta - \theta` for the minimum-delay sample of ``window``.

    NTP's clock filter (RFC 5905, §10) keeps the last 8 samples and uses the
    one with the smallest round-trip delay.  With i.i.d. delays
    :math:`d_\to = a + X`, :math:`d_\leftarrow = b + Y`, X ~ Exp(rate
    :math:`\lambda`), Y ~ Exp(:math:`\mu`), the chosen sample minimises
    S = X + Y, so its error :math:`(a - b)/2 + (X - Y)/2` has

    .. math:: E[g] = n \int\!\!\int g(x, y)\, \lambda e^{-\lambda x}\mu e^{-\mu y}
              \bar F_S(x + y)^{n-1}\,dx\,dy

    with :math:`\bar F_S(s) = (\lambda e^{-\mu s} - \mu e^{-\lambda s})/(\lambda - \mu)`
    (hypoexponential survival).  Conditionally on S = s, X is exponential
    with rate :math:`\lambda - \mu` truncated to [0, s], whose moments are
    closed; the outer integral is done with :func:`scipy.integrate.quad`.
    ``window = 1`` is the unfiltered sample: mean :math:`(E d_\to - E
    d_\leftarrow)/2`.

    Returns
    -------
    (mean, mean_square) : (float, float)

    >>> round(filtered_offset_error(PathDelay(0.002, 0.001), PathDelay(0.001, 0.001), window=8)[0], 12)
    0.0005
    """
    if not isinstance(to_server, PathDelay) or not isinstance(from_server, PathDelay):
        raise InvalidParameter(f"to_server and from_server must be PathDelay, got {to_server!r}, {from_server!r}")
    n = positive_int("window", window)
    c0 = (to_server.minimum - from_server.minimum) / 2.0
    mx, my = to_server.queueing_mean, from_server.queueing_mean
    if mx == 0.0 and my == 0.0:
        return c0, c0**2
    if mx == 0.0 or my == 0.0:
        # only one side random: the chosen sample is the minimum of n exponentials, Exp(n/mean)
        m = (mx or my) / n
        sign = 1.0 if mx else -1.0
        mean = c0 + sign * m / 2.0
        return mean, c0**2 + sign * c0 * m + m**2 / 2.0  # E[Z^2] = 2 m^2 for Z ~ Exp(mean m), times 1/4
    lam, mu = 1.0 / mx, 1.0 / my

    def cond(s):
        """E[X - Y | S=s] and E[(X - Y)^2 | S=s]: X ~ Exp(rate c) truncated to [0, s], Y = s - X."""
        c = lam - mu
        if abs(c * s) < 1e-6:
            ex, ex2 = s / 2.0, s * s / 3.0
        else:
            # moments of the density c e^{-c x}/(1 - e^{-c s}) on [0, s]; for c < 0 those of Y = s - X
            a = abs(c)
            em = -math.expm1(-a * s)
            e1 = 1.0 / a - s * math.exp(-a * s) / em
            e2 = 2.0 / a**2 - math.exp(-a * s) * (s * s + 2.0 * s / a) / em
            ex, ex2 = (e1, e2) if c > 0 else (s - e1, s * s - 2.0 * s * e1 + e2)
        d1 = 2.0 * ex - s
        d2 = 4.0 * ex2 - 4.0 * s * ex + s * s
        return d1, d2

    def density_and_survival(s):
        if abs(lam - mu) < 1e-9 * lam:
            return lam * lam * s * math.exp(-lam * s), (1.0 + lam * s) * math.exp(-lam * s)
        f = lam * mu * (math.exp(-mu * s) - math.exp(-lam * s)) / (lam - mu)
        sv = (lam * math.exp(-mu * s) - mu * math.exp(-lam * s)) / (lam - mu)
        return f, sv

    def weight(s):
        f, sv = density_and_survival(s)
        return n * f * max(sv, 0.0) ** (n - 1)

    opts = dict(limit=400, epsabs=0.0, epsrel=1e-11)
    m1 = integrate.quad(lambda s: weight(s) * cond(s)[0], 0.0, np.inf, **opts)[0] / 2.0
    m2 = integrate.quad(lambda s: weight(s) * cond(s)[1], 0.0, np.inf, **opts)[0] / 4.0
    return c0 + m1, c0**2 + 2.0 * c0 * m1 + m2


# ---------------------------------------------------------------------------
# Holdover
# ---------------------------------------------------------------------------


def holdover_mean(duration, offset=0.0, frequency=0.0, ageing=0.0):
    r"""Mean clock error after ``duration`` s of holdover: :math:`x_0 + y_0 T + \tfrac12 D T^2`.

    ``frequency`` is the residual fractional frequency y0 at the start of the
    holdover (s/s), ``ageing`` the drift D (1/s).  NIST SP 1065, §5.2 (the
    quadratic phase model); ITU-T G.810 Appendix II.

    >>> holdover_mean(1000.0, offset=0.5, frequency=0.25e-3, ageing=1e-6)
    1.25
    """
    t = nonnegative("duration", duration)
    x0 = real_array("offset", offset)
    y0 = real_array("frequency", frequency)
    d = real_array("ageing", ageing)
    return as_output(x0 + y0 * t + 0.5 * d * t**2)


def holdover_variance(duration, random_walk_fm=0.0, white_pm=0.0, frequency_variance=0.0, elapsed=0.0):
    r"""Variance of the change of clock error over a holdover of ``duration`` T.

    .. math:: \operatorname{Var} = \operatorname{Var}(y_0) T^2 + q\,(a T^2 + T^3/3) + 2\sigma_x^2

    where ``elapsed`` a is the time since the random-walk frequency noise
    started (its frequency then has variance q a), ``frequency_variance`` the
    variance of the deterministic part of y0 across clocks, and the white
    phase noise enters both readings.  With a = 0 this is the classical
    :math:`q T^3/3` of an integrated Wiener process.

    >>> holdover_variance(100.0, random_walk_fm=3e-18)
    1e-12
    """
    t = nonnegative("duration", duration)
    q = nonnegative("random_walk_fm", random_walk_fm)
    s = nonnegative("white_pm", white_pm)
    v = nonnegative("frequency_variance", frequency_variance)
    a = nonnegative("elapsed", elapsed)
    return as_output(v * t**2 + q * (a * t**2 + t**3 / 3.0) + 2.0 * s**2)


# ---------------------------------------------------------------------------
# Lost ticks
# ---------------------------------------------------------------------------


def _policy(policy):
    if policy not in TICK_POLICIES:
        raise InvalidParameter(f"tick_policy must be one of {list(TICK_POLICIES)}, got {policy!r}")
    return policy


def catchup_feasible(run, gap, catchup_rate):
    r"""Whether catch-up at ``catchup_rate`` k keeps up: :math:`k \ge 1 + g/s`.

    The backlog gains g seconds of ticks per gap and drains (k - 1) s per run
    (a fluid queue, stable iff g <= (k - 1) s; Lindley's recursion).

    >>> catchup_feasible(0.03, 0.03, 2.0), catchup_feasible(0.03, 0.09, 2.0)
    (True, False)
    """
    s = positive("run", run)
    g = nonnegative("gap", gap)
    k = _catchup_rate(catchup_rate)
    out = k >= 1.0 + g / s
    return bool(out) if out.ndim == 0 else out


def _catchup_rate(catchup_rate):
    k = real_array("catchup_rate", catchup_rate)
    if k.size and not np.all(k >= 1.0):
        raise InvalidParameter(f"catchup_rate must be >= 1 (ticks delivered k times the normal rate), "
                               f"got {catchup_rate!r}")
    return k


def catchup_backlog_growth(run, gap, catchup_rate):
    r"""Long-run growth of the catch-up backlog, seconds per second: :math:`\max(0, g - (k-1)s)/(s+g)`.

    >>> catchup_backlog_growth(0.03, 0.09, 2.0)
    0.5
    """
    s = positive("run", run)
    g = nonnegative("gap", gap)
    k = _catchup_rate(catchup_rate)
    return as_output(np.maximum(0.0, g - (k - 1.0) * s) / (s + g))


def lost_tick_rate_error(run, gap, tick_policy, tick_period=0.01, catchup_rate=2.0):
    r"""Long-run fractional rate error of a tick-counting guest descheduled ``gap`` after every ``run``.

    ``run`` and ``gap`` are the mean lengths of the run/gap pattern (s).  See
    the module docstring for the policies: ``delay``/``discard``:
    :math:`-g/(s+g)`; ``merge``: :math:`-(g - \min(g,h))/(s+g)`;
    ``catchup``: :math:`-\max(0, g - (k-1)s)/(s+g)`; ``kvmclock``: 0.

    >>> lost_tick_rate_error(0.03, 0.01, "delay")
    -0.25
    >>> lost_tick_rate_error(0.03, 0.01, "catchup", catchup_rate=2.0)
    0.0
    """
    s = positive("run", run)
    g = nonnegative("gap", gap)
    h = positive("tick_period", tick_period)
    policy = _policy(tick_policy)
    if policy in ("delay", "discard"):
        out = -g / (s + g)
    elif policy == "merge":
        out = -(g - np.minimum(g, h)) / (s + g)
    elif policy == "catchup":
        out = -np.asarray(catchup_backlog_growth(s, g, catchup_rate))
    else:
        out = np.zeros(np.broadcast_shapes(s.shape, g.shape))
    return as_output(out + 0.0)


# ---------------------------------------------------------------------------
# Disciplines and chains
# ---------------------------------------------------------------------------


def linuxptp_pi_gains(sync_interval, hardware_timestamps=False):
    r"""linuxptp's PI servo gains for a sync interval (``pi.c``, ``pi_sync_interval``).

    :math:`k_p = \min(s_p\,\Delta^{-0.3}, 0.7/\Delta)`,
    :math:`k_i = \min(s_i\,\Delta^{0.4}, 0.3/\Delta)` with scales
    :math:`s_p, s_i` = 0.7, 0.3 (hardware timestamps) or 0.1, 0.001
    (software timestamps); the exponents and norm maxima are the defaults of
    ``config.c`` (pi_proportional_exponent -0.3, pi_integral_exponent 0.4,
    pi_proportional_norm_max 0.7, pi_integral_norm_max 0.3).

    >>> linuxptp_pi_gains(1.0, hardware_timestamps=True)
    (0.7, 0.3)
    """
    dt = scalar(positive, "sync_interval", sync_interval)
    sp_, si = (0.7, 0.3) if hardware_timestamps else (0.1, 0.001)
    kp = min(sp_ * dt**-0.3, 0.7 / dt)
    ki = min(si * dt**0.4, 0.3 / dt)
    return kp, ki


def pi_servo_offset(sync_interval, kp, ki, noise_mean, noise_variance):
    r"""Stationary mean and variance of the clock error under linuxptp's PI servo (locked state).

    At sync k the servo sees :math:`o_k = x_k + n_k` (clock error plus the
    i.i.d. measurement error :math:`n_k = (d_{ms} - d_{sm})/2` of the
    offset), sets the frequency to :math:`-(k_p o_k + d_k + k_i o_k)` until
    the next sync and integrates :math:`d_{k+1} = d_k + k_i o_k`
    (``pi.c``, state 2).  With :math:`u_k = d_k - y` (drift estimate minus
    the oscillator's frequency offset y) the state :math:`s = (x, u)` obeys

    .. math:: s_{k+1} = A s_k + B n_k,\quad
              A = egin{pmatrix} 1 - \Delta(k_p + k_i) & -\Delta \ k_i & 1 \end{pmatrix},\quad
              B = egin{pmatrix} -\Delta(k_p + k_i) \ k_i \end{pmatrix}

    so the stationary mean is :math:`x = -E[n]` (y drops out: the integral
    term absorbs any constant frequency offset) and the covariance solves the
    discrete Lyapunov equation :math:`P = A P A^T + \operatorname{Var}(n) B B^T`
    (:func:`scipy.linalg.solve_discrete_lyapunov`).  Exact for the error at
    the sync instants, with no oscillator noise.

    Returns
    -------
    (mean, variance) : (float, float)

    Raises
    ------
    InvalidParameter
        When the loop is unstable (an eigenvalue of A on or outside the unit circle).

    >>> m, v = pi_servo_offset(1.0, 0.7, 0.3, noise_mean=1e-6, noise_variance=0.0)
    >>> m, v
    (-1e-06, 0.0)
    """
    from scipy import linalg

    dt = scalar(positive, "sync_interval", sync_interval)
    kp = scalar(nonnegative, "kp", kp)
    ki = scalar(positive, "ki", ki)
    mean = scalar(real_array, "noise_mean", noise_mean)
    var = scalar(nonnegative, "noise_variance", noise_variance)
    g = dt * (kp + ki)
    a = np.array([[1.0 - g, -dt], [ki, 1.0]])
    if np.max(np.abs(np.linalg.eigvals(a))) >= 1.0:
        raise InvalidParameter(f"kp, ki and sync_interval must give a stable loop, got kp={kp}, ki={ki}, "
                               f"sync_interval={dt}")
    b = np.array([[-g], [ki]])
    p = linalg.solve_discrete_lyapunov(a, var * (b @ b.T))
    return -mean, float(p[0, 0])


def ntp_slew_half_life(poll_interval):
    r"""Seconds until the RFC 5905 clock-adjust process has slewed half of a phase correction.

    ``clock_adjust`` runs once a second and removes the fraction
    :math:`1/(\mathrm{PLL}\cdot\tau)` of the residual offset (PLL = 16, tau
    the poll interval in s), so the residual after j seconds is
    :math:`(1 - 1/(16\tau))^j`; the half-life is the smallest j with
    residual <= 1/2.

    >>> ntp_slew_half_life(64.0)
    710
    """
    tau = scalar(positive, "poll_interval", poll_interval)
    r = 1.0 - 1.0 / (RFC5905["PLL"] * tau)
    if r <= 0.0:
        return 1
    return int(math.ceil(math.log(0.5) / math.log(r) - 1e-12))


def chain_offset_spread(hop_means, hop_sds):
    r"""Mean and spread of the clock error along a chain of servers with independent per-hop errors.

    Host n's error is the sum of the errors of hops 1..n, so (independent
    hops) its mean is :math:`\sum_{i\le n} m_i` and its standard deviation
    :math:`\sqrt{\sum_{i\le n} s_i^2}`.

    >>> chain_offset_spread([1.0, 1.0], [3.0, 4.0])
    (array([1., 2.]), array([3., 5.]))
    """
    m = real_array("hop_means", hop_means)
    s = nonnegative("hop_sds", hop_sds)
    return np.cumsum(m), np.sqrt(np.cumsum(s**2))
