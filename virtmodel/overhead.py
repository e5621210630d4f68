"""Virtualization overhead: every job pays for the exits it takes to the hypervisor.

A guest job that needs S units of CPU on bare metal takes

.. math:: S' = S + \\sum_{i=1}^{N} C_i

in a VM, where N is the number of exits to the VMM the job causes (traps of
privileged instructions, shadow page-table updates, hypercalls, VM exits of
hardware virtualization) and C_i the cost of handling each.  S, N and the C_i
are independent.  :meth:`Virtualization.inflate` returns S' as a
:class:`~virtmodel.dists.Compound` distribution with exact moments, so every
model and the simulator apply unchanged: ``VM(..., service=virt.inflate(S))``
gives the M/G/1 prediction with the inflated moments (Pollaczek-Khinchine
needs only E[S'] and E[S'^2]) and a simulation that samples S' directly.

The three modes are labels for the technique; what differs between them is
how many exits a job causes and what one costs:

* ``"full"``: full virtualization by binary translation with shadow page
  tables (VMware's software VMM): no trap for most sensitive instructions,
  but page-table updates, context switches and I/O enter the VMM
  (Adams & Agesen, "A comparison of software and hardware techniques for x86
  virtualization", ASPLOS 2006, §3 and §6);
* ``"para"``: paravirtualization (Xen): the guest kernel calls the
  hypervisor explicitly and batches page-table updates into few hypercalls
  (Barham et al., "Xen and the art of virtualization", SOSP 2003, §2-3: OS
  benchmarks within a few per cent of native);
* ``"hardware"``: trap-and-emulate with VT-x / AMD-V: guest code runs
  natively but every exit is a costly world switch (first-generation exit and
  entry round trips of the order of a thousand or more cycles; Adams &
  Agesen 2006, §5-6).

:meth:`Virtualization.preset` encodes these as *illustrative* defaults (the
relative ordering the papers report, not measurements of any one machine);
pass measured exit counts and costs for real work.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._validation import positive
from .dists import Compound, Deterministic, Distribution, Poisson, _is_count, _scalar
from .errors import InvalidParameter

__all__ = ["Virtualization", "MODES", "PRESETS"]

#: the virtualization techniques :class:`Virtualization` knows
MODES = ("full", "para", "hardware")

#: illustrative defaults per mode: (mean exits per job, cycles per exit); see Virtualization.preset
PRESETS = {
    "full": (40.0, 1_000.0),
    "para": (10.0, 600.0),
    "hardware": (40.0, 2_000.0),
}


@dataclass(frozen=True)
class Virtualization:
    """How a virtualization technique inflates the service time of a guest job.

    Parameters
    ----------
    mode : {"full", "para", "hardware"}
        The technique (a label carried into reports; see the module docstring).
    exits_per_job : Distribution
        N, the number of VMM exits (traps, hypercalls, VM exits) one job
        causes: an integer-valued distribution, zero allowed (e.g.
        :class:`~virtmodel.dists.Poisson`).
    exit_cost : Distribution
        C, the time to handle one exit, in the model's time unit.

    Notes
    -----
    :meth:`inflate` gives S' = S + C_1 + ... + C_N with
    :math:`E[S'] = E[S] + E[N]E[C]` and
    :math:`\\mathrm{Var}\\,S' = \\mathrm{Var}\\,S + E[N]\\mathrm{Var}\\,C + \\mathrm{Var}\\,N\\,E[C]^2`
    (Wald's identities for a compound sum; Ross, *Stochastic Processes*, 1996,
    §1.5).  With Poisson arrivals on one pCPU the mean wait is
    Pollaczek-Khinchine with these moments (exact):
    :math:`W_q = \\lambda E[S'^2] / (2(1 - \\lambda E[S']))`.

    Examples
    --------
    >>> from virtmodel.dists import Exponential, Poisson, Deterministic
    >>> virt = Virtualization("hardware", Poisson(20.0), Deterministic(0.005))
    >>> round(virt.inflate(Exponential(1.0)).mean, 12)
    1.1
    >>> round(virt.overhead_factor(Exponential(1.0)), 12)
    1.1
    """

    mode: str
    exits_per_job: Distribution
    exit_cost: Distribution

    def __post_init__(self):
        if not isinstance(self.mode, str) or self.mode not in MODES:
            raise InvalidParameter(f"mode must be one of {list(MODES)}, got {self.mode!r}")
        for name in ("exits_per_job", "exit_cost"):
            value = getattr(self, name)
            if not isinstance(value, Distribution):
                raise InvalidParameter(f"{name} must be a virtmodel.dists Distribution, got {value!r}")
        if not _is_count(self.exits_per_job):
            raise InvalidParameter(
                "exits_per_job must be an integer-valued distribution (e.g. Poisson), "
                f"got {self.exits_per_job!r}"
            )

    @classmethod
    def preset(cls, mode, exits_per_job=None, exit_cycles=None, clock_hz=3.0e9,
               seconds_per_unit=1.0e-3) -> Virtualization:
        """Typical settings of ``mode``: Poisson exits, each of a fixed number of cycles.

        Parameters
        ----------
        mode : {"full", "para", "hardware"}
        exits_per_job : float, optional
            Mean exits per job (Poisson); default from :data:`PRESETS`.
        exit_cycles : float, optional
            CPU cycles per exit; default from :data:`PRESETS`.
        clock_hz : float, default 3e9
            Clock rate that turns cycles into seconds.
        seconds_per_unit : float, default 1e-3
            What one model time unit is, in seconds (default: milliseconds).

        Notes
        -----
        Defaults (illustrative orders of magnitude, chosen to reproduce the
        ordering reported in the literature, not measurements):
        ``"full"``: 40 exits/job of 1,000 cycles (binary translation leaves
        page-table and context-switch work to the VMM; Adams & Agesen,
        ASPLOS 2006, §3, §6); ``"para"``: 10 batched hypercalls/job of 600
        cycles (Barham et al., SOSP 2003, §3.3: batched page-table updates,
        near-native OS benchmarks); ``"hardware"``: 40 exits/job of 2,000
        cycles (first-generation VT-x world switches of the order of a
        thousand or more cycles; Adams & Agesen 2006, §5-6).

        Examples
        --------
        >>> v = Virtualization.preset("para")
        >>> v.mode, v.exits_per_job.mean, round(v.exit_cost.mean, 9)   # 600 cycles at 3 GHz, in ms
        ('para', 10.0, 0.0002)
        """
        if not isinstance(mode, str) or mode not in MODES:
            raise InvalidParameter(f"mode must be one of {list(MODES)}, got {mode!r}")
        default_exits, default_cycles = PRESETS[mode]
        exits = _scalar(positive, "exits_per_job", default_exits if exits_per_job is None else exits_per_job)
        cycles = _scalar(positive, "exit_cycles", default_cycles if exit_cycles is None else exit_cycles)
        hz = _scalar(positive, "clock_hz", clock_hz)
        unit = _scalar(positive, "seconds_per_unit", seconds_per_unit)
        return cls(mode, Poisson(exits), Deterministic(cycles / hz / unit))

    @property
    def mean_overhead(self) -> float:
        """E[N] E[C], the mean time a job spends in the VMM."""
        return self.exits_per_job.mean * self.exit_cost.mean

    def inflate(self, service: Distribution) -> Compound:
        """The service time S' = S + C_1 + ... + C_N of a job whose native service is ``service``."""
        if not isinstance(service, Distribution):
            raise InvalidParameter(f"service must be a virtmodel.dists Distribution, got {service!r}")
        return Compound(service, self.exits_per_job, self.exit_cost)

    def overhead_factor(self, service: Distribution) -> float:
        """E[S'] / E[S]: how much longer a job takes in the VM (1 = native speed)."""
        return self.inflate(service).mean / service.mean
