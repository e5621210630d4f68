r"""Guest clocks as a scenario kind: ``vm.predict``, ``vm.simulate``, ``vm.compare`` and ``vm.sweep`` accept it.

A :class:`ClockScenario` holds ``n_vms`` guest clocks, each driven by an
:class:`~virtmodel.analytic.clock.Oscillator`, descheduled by a run/gap
pattern (:class:`Deschedule`) that loses timer ticks according to a tick
policy, optionally paused (:class:`virtmodel.events.Pause`: no
synchronisation, the clock holds over) and synchronised by :class:`NTP` or
:class:`PTP` to a true reference (``topology="star"``) or each to the
previous VM (``topology="chain"``: VM 0 to the reference, VM i to VM i-1).

Metrics (group ``"all"``: every VM and every sample after ``warmup``; the
clock error is guest time minus true time):

* ``clock_offset_rms``: root mean square clock error;
* ``clock_offset_max``: largest absolute clock error;
* ``clock_precision``: mean absolute clock error, mean ``|T_real - T_guest|``;
* ``clock_consistency``: share of sample instants at which every pair of
  VMs is within ``epsilon`` of each other (max minus min error <= epsilon);
  ``clock_pair_spread_max``: the worst pair's largest separation (s);
* ``allan_deviation`` (group ``"tau=<tau>"``): overlapping Allan deviation
  of the guest clock error at averaging time tau (root of the mean over VMs
  of the per-VM Allan variance);
* ``clock_rate_error``: mean over VMs of (e(T) - e(m)) / (T - m), the
  fractional rate of the error over the second half of the measured window
  (m its midpoint);
* ``sync_offset_error`` and ``sync_offset_error_rms``: error of the offset
  the protocol measures, estimate minus truth in RFC 5905's sign (reference
  minus guest), for the sample the discipline is offered (NTP: the
  minimum-delay sample of the filter window, at every poll once the window
  is full; PTP: every sync);
* ``clock_latency``: mean, over discipline updates, of the time from the
  exchange's T4 (the guest has all four timestamps) to the instant at which
  half of the phase correction commanded by that update has been applied
  (NTP: age of the filter's chosen sample plus
  :func:`~virtmodel.analytic.clock.ntp_slew_half_life`, T4 taken at the poll
  instant since the path delays are far below the 1-s resolution; PTP: the servo's
  proportional-plus-integral step spreads the correction at rate
  (kp + ki) per s, so 0.5/(kp + ki));
* ``holdover_offset`` and ``holdover_offset_rms`` (with pauses): change of
  the clock error over each pause, mean and root mean square.

The simulator is :mod:`virtmodel.sim.clock`; closed forms are in
:mod:`virtmodel.analytic.clock`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._lazy import lazy
from ._validation import nonnegative, positive, positive_int, real_array, scalar
from .analytic import clock as C
from .analytic.clock import Oscillator, PathDelay
from .dists import Deterministic, Distribution
from .errors import InvalidParameter, NoClosedForm
from .events import Pause

pd = lazy("pandas")

__all__ = ["ClockScenario", "Deschedule", "HostDeschedule", "NTP", "PTP"]


def _length(name, value):
    if isinstance(value, Distribution):
        if isinstance(value, Deterministic):
            return scalar(positive, name, value.mean)
        if not value.mean > 0:
            raise InvalidParameter(f"{name} must have a mean > 0, got {value!r}")
        return value
    return scalar(positive, name, value)


@dataclass(frozen=True)
class Deschedule:
    """The run/gap pattern of a VM's vCPU: it runs for ``run``, then is descheduled for ``gap``, and so on.

    Parameters
    ----------
    run, gap : float or Distribution
        Lengths (s).  Two floats give a periodic pattern (each VM at a
        uniformly random phase); distributions give an alternating renewal
        process (i.i.d. lengths; exponential lengths start in equilibrium).

    Examples
    --------
    >>> Deschedule.credit(competitors=2).gap
    0.06
    """

    run: float | Distribution
    gap: float | Distribution

    def __post_init__(self):
        object.__setattr__(self, "run", _length("run", self.run))
        object.__setattr__(self, "gap", _length("gap", self.gap))

    @classmethod
    def credit(cls, competitors: int, timeslice: float = 0.030):
        """A vCPU sharing its pCPU with ``competitors`` CPU-bound vCPUs of equal weight under Xen's credit scheduler.

        Credit runs runnable vCPUs of equal priority round-robin for a
        timeslice each (30 ms by default), so this vCPU runs ``timeslice``
        and waits ``competitors * timeslice``.  Simplified: no boosts, no
        credit accounting ticks, no load balancing across pCPUs.
        """
        n = positive_int("competitors", competitors)
        t = scalar(positive, "timeslice", timeslice)
        return cls(t, n * t)

    @property
    def periodic(self) -> bool:
        """True for a fixed (periodic) pattern."""
        return not isinstance(self.run, Distribution) and not isinstance(self.gap, Distribution)

    @property
    def mean_run(self) -> float:
        return float(self.run.mean) if isinstance(self.run, Distribution) else self.run

    @property
    def mean_gap(self) -> float:
        return float(self.gap.mean) if isinstance(self.gap, Distribution) else self.gap


@dataclass(frozen=True)
class HostDeschedule:
    r"""A VM's vCPU on/off intervals taken from a simulation of a host :class:`~virtmodel.Scenario`.

    The host runs ``scenario`` (one pCPU, a run-to-completion policy such
    as FCFS, non-preemptive priority or polling, so that every job holds the
    pCPU from its start to its departure).  The guest clock belongs to VM
    ``vm``: its vCPU is descheduled exactly while the pCPU serves another
    VM's job, and runs (busy or halted, but receiving its timer) otherwise.
    Each clock of a :class:`ClockScenario` gets its own host simulation
    (streams from the clock's seed, replication and VM index).

    The long-run share of time descheduled is the other VMs' utilization,
    :math:`\sum_{j \ne i} \lambda_j E[S_j]`, so under ``delay`` or
    ``discard`` the guest clock's rate error is minus that sum (renewal
    reward; exact in the limit).  Switchover times of a polling host also
    deschedule the VM but are not counted in that sum.

    Examples
    --------
    >>> import virtmodel as vm
    >>> from virtmodel.dists import Exponential
    >>> host = vm.Scenario(1, [vm.VM("guest", Exponential(10.0), Exponential(100.0)),
    ...                        vm.VM("noisy", Exponential(40.0), Exponential(100.0))])
    >>> HostDeschedule(host, "guest").off_fraction
    0.4
    """

    scenario: object
    vm: str

    def __post_init__(self):
        from .scenario import Scenario

        if not isinstance(self.scenario, Scenario):
            raise InvalidParameter(f"scenario must be a virtmodel.Scenario, got {self.scenario!r}")
        if self.scenario.pcpus != 1:
            raise InvalidParameter(f"scenario must have 1 pCPU (on/off intervals of one vCPU), "
                                   f"got pcpus={self.scenario.pcpus}")
        names = [v.name for v in self.scenario.vms]
        if self.vm not in names:
            raise InvalidParameter(f"vm must be one of {names}, got {self.vm!r}")

    periodic = False

    @property
    def off_fraction(self) -> float:
        """Long-run share of time the other VMs hold the pCPU: the sum of their offered loads."""
        return float(sum(v.offered_load for v in self.scenario.vms if v.name != self.vm))

    def intervals(self, horizon, seed, replication):
        """(lengths, first_is_run): alternating run/gap lengths covering ``horizon`` from one host run."""
        from .sim.vmm import Hypervisor

        model = Hypervisor(self.scenario, seed, replication)
        model.run_until(horizon)
        rec = model.records()
        if rec.occupied is not None:
            raise InvalidParameter("scenario policy must run every job to completion in one piece (FCFS, "
                                   "non-preemptive priority, polling), got "
                                   f"{type(self.scenario.policy).__name__}")
        target = [v.name for v in self.scenario.vms].index(self.vm)
        other = (rec.vm != target) & np.isfinite(rec.start)
        begin = rec.start[other]
        end = np.where(np.isfinite(rec.depart[other]), rec.depart[other], horizon)
        order = np.argsort(begin)
        begin, end = np.minimum(begin[order], horizon), np.minimum(end[order], horizon)
        # runs are the stretches between the other VMs' jobs (zero-length runs merge adjacent gaps)
        edges = np.empty(2 * len(begin) + 2)
        edges[0] = 0.0
        edges[1:-1:2], edges[2:-1:2] = begin, end
        edges[-1] = horizon + 1.0
        lengths = np.diff(edges)
        return np.maximum(lengths, 0.0), True


def _check_topology(topology):
    if topology not in ("star", "chain"):
        raise InvalidParameter(f"topology must be 'star' or 'chain', got {topology!r}")


@dataclass(frozen=True)
class NTP:
    """An NTP client per VM: fixed poll interval, clock filter, RFC 5905 PLL discipline.

    Parameters
    ----------
    poll_interval : float, default 64
        Seconds between exchanges (> 0); ``2**6`` is ntpd's and chrony's default minpoll.
    to_server, from_server : PathDelay
        One-way delay law of each direction (asymmetry = different laws).
    filter_length : int, default 8
        Samples in the clock filter (RFC 5905: 8).
    topology : {"star", "chain"}
        Every VM to the reference, or VM i to VM i - 1.

    Modelled: the on-wire offset and delay, the minimum-delay filter over the
    last ``filter_length`` samples with RFC 5905's rule that a sample is used
    at most once, the type-II PLL of RFC 5905 Appendix A.5.5.6 (frequency
    gain offset * min(mu, tau) / (4 PLL tau)^2, phase replaced by the new
    offset and slewed by 1/(PLL tau) per second in ``clock_adjust``, PLL =
    16, frequency clamped to 500 ppm, mu measured between the chosen
    samples' epochs), the step threshold STEPT = 128 ms (stepped at once in
    NSET, after WATCH = 900 s in FREQ with the measured frequency, and in
    SYNC only when the large offsets last WATCH s: spike suppression).  The PLL rather than chrony's
    regression: it is specified completely in RFC 5905's code, and its
    per-second update has a closed form between polls, which lets the
    simulator advance whole poll intervals at once.  Simplified: a fixed
    poll interval (no poll adaptation), no FLL (ntpd uses it only above the
    Allan intercept, 2048 s), no popcorn suppression, no selection/cluster
    algorithms (one server).  Start-up as without a drift file: NSET (the
    first sample sets the phase), FREQ (samples are ignored for WATCH =
    900 s, then the frequency is measured directly as the offset change over
    that time), then SYNC.
    ``clock_adjust`` in ntpd's reading (denominator PLL * 2**poll; RFC 5905's
    listing writes min(LOG2D(poll), ALLAN), mixing log2 and seconds).
    """

    poll_interval: float = 64.0
    to_server: PathDelay = field(default_factory=lambda: PathDelay(1e-3, 0.5e-3))
    from_server: PathDelay = field(default_factory=lambda: PathDelay(1e-3, 0.5e-3))
    filter_length: int = 8
    topology: str = "star"

    def __post_init__(self):
        object.__setattr__(self, "poll_interval", scalar(positive, "poll_interval", self.poll_interval))
        for name in ("to_server", "from_server"):
            if not isinstance(getattr(self, name), PathDelay):
                raise InvalidParameter(f"{name} must be a virtmodel.analytic.clock.PathDelay, "
                                       f"got {getattr(self, name)!r}")
        object.__setattr__(self, "filter_length", positive_int("filter_length", self.filter_length))
        _check_topology(self.topology)

    @property
    def interval(self) -> float:
        return self.poll_interval


@dataclass(frozen=True)
class PTP:
    """A PTP slave per VM (ptp4l) with linuxptp's PI servo and its default gains.

    Parameters
    ----------
    sync_interval : float, default 1
        Seconds between Sync/Delay_Req exchanges (> 0).
    to_server, from_server : PathDelay
        Delay of slave -> master (Delay_Req) and master -> slave (Sync).
    hardware_timestamps : bool, default False
        Gains 0.7/0.3 (hardware) or 0.1/0.001 (software; a guest usually has no PHC),
        scaled with the interval as in ``pi.c``.
    topology : {"star", "chain"}

    Modelled (linuxptp ``pi.c``): offset = slave - master - mean path delay;
    state 0 stores a sample, state 1 estimates the frequency from two samples
    at least 0.016/ki s apart, steps the clock when ``|offset|`` exceeds
    ``first_step_threshold`` (20 us) and sets the frequency; state 2 sets
    the frequency to -(kp offset + drift + ki offset) and integrates drift
    += ki offset.  Simplified: the frequency is not clamped (linuxptp's
    max_frequency default, 900,000,000 ppb, is never reached here); one
    master (no BMCA), no transparent clocks, no path-delay filtering, the
    delay request sent with every Sync.
    """

    sync_interval: float = 1.0
    to_server: PathDelay = field(default_factory=lambda: PathDelay(1e-4, 2e-5))
    from_server: PathDelay = field(default_factory=lambda: PathDelay(1e-4, 2e-5))
    hardware_timestamps: bool = False
    topology: str = "star"

    def __post_init__(self):
        object.__setattr__(self, "sync_interval", scalar(positive, "sync_interval", self.sync_interval))
        if not isinstance(self.hardware_timestamps, (bool, np.bool_)):
            raise InvalidParameter(f"hardware_timestamps must be True or False, got {self.hardware_timestamps!r}")
        for name in ("to_server", "from_server"):
            if not isinstance(getattr(self, name), PathDelay):
                raise InvalidParameter(f"{name} must be a virtmodel.analytic.clock.PathDelay, "
                                       f"got {getattr(self, name)!r}")
        _check_topology(self.topology)

    @property
    def interval(self) -> float:
        return self.sync_interval

    @property
    def gains(self) -> tuple[float, float]:
        """(kp, ki) from :func:`~virtmodel.analytic.clock.linuxptp_pi_gains`."""
        return C.linuxptp_pi_gains(self.sync_interval, self.hardware_timestamps)


def _on_grid(name, value, step):
    k = value / step
    if abs(k - round(k)) > 1e-9 * max(1.0, k):
        raise InvalidParameter(f"{name} must be a multiple of step = {step}, got {value}")
    return int(round(k))


@dataclass(frozen=True)
class ClockScenario:
    """Guest clocks of ``n_vms`` VMs: oscillators, lost ticks, pauses, NTP or PTP.

    Parameters
    ----------
    n_vms : int, default 10
        VMs, named ``"vm0"``, ``"vm1"``, ...
    horizon : float, default 3600
        Simulated seconds per replication.
    step : float, default 1
        Resolution of the clock-error series (s).
    oscillator : Oscillator
        Each VM's oscillator (offset, frequency, noise, ageing).
    offset_spread, frequency_spread_ppm : float, default 0
        Standard deviation across VMs of the initial offset (s) and of the
        frequency offset (ppm), drawn per VM and replication.
    sync : NTP, PTP or None
        The synchronisation protocol; None: free-running clocks.
    descheduling : Deschedule, HostDeschedule or None
        The vCPU's run/gap pattern, given or from a simulated host (None:
        never descheduled).
    tick_policy : {"kvmclock", "delay", "catchup", "merge", "discard"}
        How lost timer ticks are handled (libvirt names; "kvmclock": the
        paravirtual clock, unaffected).
    tick_period : float, default 0.01
        Tick period h (s), > 0 (100 Hz).
    catchup_rate : float, default 2
        Catch-up delivers ticks k times faster, k >= 1.
    pauses : tuple of virtmodel.events.Pause
        Pauses with a duration: no synchronisation while paused (holdover).
    warmup : float, default 0
        Seconds excluded from the offset metrics.
    epsilon : float, default 1e-3
        Tolerance of ``clock_consistency`` (s).
    taus : tuple of float, optional
        Averaging times of ``allan_deviation`` (multiples of ``step``, at
        most about half the measured window); default: 1, 10 and 100 steps,
        those that fit.

    Examples
    --------
    >>> import virtmodel as vm
    >>> from virtmodel.analytic.clock import Oscillator
    >>> sc = vm.ClockScenario(n_vms=4, horizon=200.0, oscillator=Oscillator(frequency_ppm=5.0),
    ...                       descheduling=vm.clock.Deschedule(0.03, 0.01), tick_policy="delay")
    >>> vm.predict(sc).value("clock_rate_error")
    -0.249995
    """

    n_vms: int = 10
    horizon: float = 3600.0
    step: float = 1.0
    oscillator: Oscillator = field(default_factory=Oscillator)
    offset_spread: float = 0.0
    frequency_spread_ppm: float = 0.0
    sync: NTP | PTP | None = None
    descheduling: Deschedule | None = None
    tick_policy: str = "kvmclock"
    tick_period: float = 0.01
    catchup_rate: float = 2.0
    pauses: tuple = ()
    warmup: float = 0.0
    epsilon: float = 1e-3
    taus: tuple | None = None

    def __post_init__(self):
        object.__setattr__(self, "n_vms", positive_int("n_vms", self.n_vms))
        object.__setattr__(self, "step", scalar(positive, "step", self.step))
        object.__setattr__(self, "horizon", scalar(positive, "horizon", self.horizon))
        steps = _on_grid("horizon", self.horizon, self.step)
        if steps < 4:
            raise InvalidParameter(f"horizon must be at least 4 steps, got {self.horizon} with step {self.step}")
        if not isinstance(self.oscillator, Oscillator):
            raise InvalidParameter(f"oscillator must be a virtmodel.analytic.clock.Oscillator, got {self.oscillator!r}")
        object.__setattr__(self, "offset_spread", scalar(nonnegative, "offset_spread", self.offset_spread))
        object.__setattr__(self, "frequency_spread_ppm",
                           scalar(nonnegative, "frequency_spread_ppm", self.frequency_spread_ppm))
        # duck-typed (like descheduling): pytest's importlib doctest mode may load a second copy of this module
        if self.sync is not None and not all(hasattr(self.sync, a) for a in ("interval", "to_server", "topology")):
            raise InvalidParameter(f"sync must be NTP(...), PTP(...) or None, got {self.sync!r}")
        if self.sync is not None:
            _on_grid("poll_interval" if hasattr(self.sync, "filter_length") else "sync_interval", self.sync.interval,
                     self.step)
        d = self.descheduling
        if d is not None and not (hasattr(d, "periodic") and (hasattr(d, "mean_run") or hasattr(d, "intervals"))):
            raise InvalidParameter(f"descheduling must be a Deschedule, a HostDeschedule or None, got {d!r}")
        if self.tick_policy not in C.TICK_POLICIES:
            raise InvalidParameter(f"tick_policy must be one of {list(C.TICK_POLICIES)}, got {self.tick_policy!r}")
        object.__setattr__(self, "tick_period", scalar(positive, "tick_period", self.tick_period))
        k = scalar(real_array, "catchup_rate", self.catchup_rate)
        if not k >= 1.0:
            raise InvalidParameter(f"catchup_rate must be >= 1 (ticks delivered k times the normal rate), got {k}")
        object.__setattr__(self, "catchup_rate", k)
        pauses = tuple(self.pauses)
        names = set(self.vm_names)
        for p in pauses:
            if not isinstance(p, Pause) or p.duration is None:
                raise InvalidParameter(f"pauses must be virtmodel.events.Pause with a duration, got {p!r}")
            if p.vm not in names:
                raise InvalidParameter(f"Pause vm must be one of vm0..vm{self.n_vms - 1}, got {p.vm!r}")
            _on_grid(f"Pause({p.vm!r}).at", p.at, self.step)
            _on_grid(f"Pause({p.vm!r}).duration", p.duration, self.step)
            if p.at + p.duration > self.horizon:
                raise InvalidParameter(f"Pause({p.vm!r}) must end by the horizon {self.horizon}, "
                                       f"got at + duration = {p.at + p.duration}")
        object.__setattr__(self, "pauses", pauses)
        object.__setattr__(self, "warmup", scalar(nonnegative, "warmup", self.warmup))
        w = _on_grid("warmup", self.warmup, self.step)
        if steps - w < 4:
            raise InvalidParameter(f"warmup must leave at least 4 steps of the horizon, got {self.warmup}")
        object.__setattr__(self, "epsilon", scalar(positive, "epsilon", self.epsilon))
        if self.taus is None:  # the default: 1, 10, 100 steps, those that fit in the measured window
            taus = tuple(m * self.step for m in (1, 10, 100) if 2 * m + 1 <= steps - w + 1)
        else:
            taus = tuple(float(t) for t in np.atleast_1d(positive("taus", self.taus)))
        for t in taus:
            m = _on_grid("taus", t, self.step)
            if 2 * m + 1 > steps - w + 1:
                raise InvalidParameter(f"taus must be at most half the measured window, got {t}")
        object.__setattr__(self, "taus", taus)

    @property
    def vm_names(self) -> tuple[str, ...]:
        return tuple(f"vm{i}" for i in range(self.n_vms))

    @property
    def lost_tick_rate(self) -> float:
        """Long-run rate error from lost ticks (0 without descheduling)."""
        d = self.descheduling
        if d is None or self.tick_policy == "kvmclock":
            return 0.0
        if hasattr(d, "off_fraction"):  # a host simulation: only the share of time descheduled is known
            if self.tick_policy not in ("delay", "discard"):
                raise NoClosedForm(f"tick_policy {self.tick_policy!r} on a simulated host needs the run and gap "
                                   "lengths' laws; only delay/discard (rate = -off share) have a closed form")
            return -d.off_fraction
        return float(C.lost_tick_rate_error(d.mean_run, d.mean_gap, self.tick_policy, self.tick_period,
                                            self.catchup_rate))

    # -- prediction --------------------------------------------------------

    def _window(self):
        w = round(self.warmup / self.step)
        k = round(self.horizon / self.step)
        return w, k

    def predict(self):
        """The closed-form metrics as a :class:`~virtmodel.Prediction`.

        Free-running clocks (``sync=None``): ``clock_rate_error`` (exact for
        periodic patterns, for exponential run/gap lengths and without
        descheduling), and without descheduling (or with kvm-clock)
        ``clock_offset_rms`` (root of the exact mean square), the Allan
        deviation at each tau and the holdover over each pause.  NTP and PTP:
        ``sync_offset_error`` and ``sync_offset_error_rms`` (exact: the
        filter's choice is the minimum of ``filter_length`` i.i.d. samples;
        :func:`~virtmodel.analytic.clock.filtered_offset_error`).  PTP to the
        reference with samples at the syncs and a noiseless oscillator: the
        locked servo's ``clock_offset_rms``
        (:func:`~virtmodel.analytic.clock.pi_servo_offset`; ``warmup`` must
        cover the locking).

        Raises
        ------
        NoClosedForm
            When none of these applies (random non-exponential descheduling
            with a non-trivial tick policy and no synchronisation).
        """
        from .analytic.solve import Prediction

        rows = []
        osc = self.oscillator
        if self.sync is None:
            rows += self._free_running_rows(osc)
        else:
            window = getattr(self.sync, "filter_length", 1)  # NTP's filter; PTP uses every sample
            mean, ms = C.filtered_offset_error(self.sync.to_server, self.sync.from_server, window)
            rows += [("sync_offset_error", "all", mean), ("sync_offset_error_rms", "all", float(np.sqrt(ms)))]
            rows += self._ptp_rows(mean, ms - mean**2)
        if not rows:
            raise NoClosedForm("no closed form for this clock scenario: random descheduling with non-exponential "
                               "lengths and no synchronisation")
        values = pd.DataFrame(rows, columns=["metric", "group", "value"])
        model = "guest clocks: " + ("free-running oscillator" if self.sync is None else
                                    f"{type(self.sync).__name__} offset estimate")
        source = ("NIST SP 1065 (2008) §5.2; RFC 5905 §8 and §10; renewal reward (Ross 1996, Thm 3.6.1); "
                  "see virtmodel.analytic.clock")
        return Prediction(values, True, model, source)

    def _ptp_rows(self, err_mean, err_var):
        """clock_offset_rms of a locked linuxptp PI servo (:func:`~virtmodel.analytic.clock.pi_servo_offset`).

        Only where it is exact: PTP to the reference (star), samples at the
        sync instants (step = sync_interval), no oscillator noise, no lost
        ticks, no pauses; ``warmup`` must cover the locking.
        """
        sync, osc = self.sync, self.oscillator
        if (hasattr(sync, "filter_length") or sync.topology != "star" or self.step != sync.interval or self.pauses
                or osc.random_walk_fm or osc.white_pm or osc.ageing
                or (self.descheduling is not None and self.tick_policy != "kvmclock")):
            return []
        kp, ki = sync.gains
        # the servo's measured offset is minus the RFC-sign error: n = -(theta_hat - theta)
        mean, var = C.pi_servo_offset(sync.interval, kp, ki, -err_mean, err_var)
        return [("clock_offset_rms", "all", float(np.sqrt(mean**2 + var)))]

    def _free_running_rows(self, osc):
        rows = []
        d = self.descheduling
        if d is not None and hasattr(d, "off_fraction"):
            exact_lag = self.tick_policy in ("delay", "discard", "kvmclock")
        else:
            exact_lag = d is None or self.tick_policy == "kvmclock" or d.periodic or all(
                type(x).__name__ in ("Exponential",) for x in (d.run, d.gap))
        w, k = self._window()
        a, b = (w + (k - w) // 2) * self.step, k * self.step
        if exact_lag:
            if d is not None and not d.periodic and self.tick_policy == "catchup":
                pass  # exponential catch-up starts empty, not in equilibrium: no exact finite-horizon mean
            else:
                rate = osc.frequency + osc.ageing * (a + b) / 2 + self.lost_tick_rate
                rows.append(("clock_rate_error", "all", rate))
        if d is not None and self.tick_policy != "kvmclock":
            return rows
        t = np.arange(w, k + 1) * self.step
        y0 = osc.frequency
        sy2 = (self.frequency_spread_ppm / 1e6) ** 2
        mean = osc.offset + y0 * t + 0.5 * osc.ageing * t**2
        var = self.offset_spread**2 + sy2 * t**2 + osc.random_walk_fm * t**3 / 3 + osc.white_pm**2
        rows.append(("clock_offset_rms", "all", float(np.sqrt(np.mean(mean**2 + var)))))
        for tau in self.taus:
            rows.append(("allan_deviation", f"tau={tau:g}", float(osc.allan_deviation(tau))))
        if self.pauses:
            m2 = []
            for p in self.pauses:
                hm = C.holdover_mean(p.duration, 0.0, y0 + osc.ageing * p.at, osc.ageing)
                hv = C.holdover_variance(p.duration, osc.random_walk_fm, osc.white_pm, sy2, p.at)
                m2.append((hm, hm**2 + hv))
            rows.append(("holdover_offset", "all", float(np.mean([m for m, _ in m2]))))
            rows.append(("holdover_offset_rms", "all", float(np.sqrt(np.mean([s for _, s in m2])))))
        return rows

    # -- simulation ---------------------------------------------------------

    def replicate(self, seed, replication) -> dict:
        """One simulated replication: ``{(metric, group): value}`` (see the module docstring)."""
        from .sim.clock import clock_metrics, simulate_clocks

        return clock_metrics(simulate_clocks(self, seed, replication))
