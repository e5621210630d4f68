"""Virtualization overhead per exit rate: guest CPU time causes exits to the hypervisor, each at a cost.

A guest job that needs S units of CPU on bare metal takes

.. math:: S' = S + \\sum_{i=1}^{N} C_i, \\qquad N \\mid S \\sim \\mathrm{Poisson}(r S) + M

in a VM: exits (VM exits of VT-x/AMD-V, traps and hidden page faults of a
binary-translating VMM, hypercalls of a paravirtualized guest) happen at a
rate r per unit of guest CPU time, plus M exits per job for its I/O; each
costs :math:`C = C_{\\text{switch}} + C_{\\text{handling}} + C_{\\text{cache}}`
(the world switch itself, the VMM's handling of the exit, and the cache/TLB
refill the guest pays afterwards).  The C_i are i.i.d. and independent of
S and M.  Because exits come per unit of work, the overhead factor of the
CPU part is :math:`1 + r E[C]` whatever the job length (the per-job model
this replaces made a short job pay as much as a long one).
:meth:`Virtualization.inflate` returns S' as an :class:`ExitInflated`
distribution with exact moments of every order and an exact transform, so
Pollaczek-Khinchine applies unchanged: ``VM(..., service=virt.inflate(S))``
gives an exact M/G/1 prediction and a simulation that samples S' directly.

Paging: with **shadow** page tables every guest page-table update, page
fault and CR3 write is an exit (or a hidden fault of the VMM); with
**nested** paging (Intel EPT, AMD NPT/RVI) the hardware walks both tables
and those exits vanish, at the price of longer TLB misses (a 2-D walk of up
to 24 memory references; Bhargava et al., "Accelerating two-dimensional
page walks for virtualized systems", ASPLOS 2008), which this model folds
into the guest's native S.

Device emulation (QEMU's device models, vhost threads, Xen's dom0) runs on
the host's pCPUs *beside* the guest, not inside its service:
:meth:`Virtualization.device_model` returns a VM that carries that work, so
that it competes for the pCPUs in the simulator and in the predictions.

Time unit: every preset takes ``seconds_per_unit`` (what one model time unit
is, in seconds; default 1.0, seconds, as for :class:`~virtmodel.policies.Credit`
and :class:`~virtmodel.policies.LinuxFair`): exit rates are given per second
of guest CPU and costs in cycles, and both are converted.

Measured numbers: :data:`EXIT_MEASUREMENTS` lists published exit costs per CPU
(Nehalem-EP 2,000 cycles direct cost; Skylake-SP VMCALL round trip 1,529-1,559,
virtual IPI 3,203-3,319, immediate TSC-deadline timer 2,495-3,029; AMD EPYC
VMRUN round trip 1,344-1,376; a 2024 CPUID round trip of 1,018-1,027 on a CPU
the message does not name), each with its message id or section, and
``Virtualization.preset(..., measured_exit=key)`` uses one of them.  What
remains illustrative, and is labelled so in :data:`PRESETS`: the exit *rates*
(per second of guest CPU, nested vs shadow paging), the cache-pollution
(indirect) cost, the handling cost of shadow-paging exits, and every number of
the binary-translation and paravirtual presets.  Their published sources
(Adams & Agesen, ASPLOS 2006; Agesen et al., "Software techniques for avoiding
hardware virtualization exits", USENIX ATC 2012; the exit-rate tables of ELI,
Gordon et al., ASPLOS 2012, and SplitX's Table 1 of indirect costs) could not be
read beyond their first page here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._validation import nonnegative, positive
from .dists import (
    Deterministic,
    Distribution,
    Exponential,
    _factorial_moment,
    _is_count,
    _partial_bell,
    _scalar,
)
from .errors import InvalidParameter, NoClosedForm

__all__ = ["Virtualization", "ExitInflated", "ExitProfile", "ExitMeasurement", "EXIT_MEASUREMENTS", "MODES", "PAGING",
           "PRESETS"]

#: the virtualization techniques :class:`Virtualization` knows
MODES = ("full", "para", "hardware")
#: how guest page tables are virtualized
PAGING = ("shadow", "nested")


@dataclass(frozen=True)
class ExitProfile:
    """What one exit costs, in CPU cycles, and how often exits come, per second of guest CPU.

    Attributes
    ----------
    exits_per_second : float
        r, exits per second of guest CPU time (>= 0).
    world_switch : float
        Cycles of the transition itself (guest -> VMM -> guest).
    handling : float
        Cycles the VMM spends deciding and emulating.
    cache_pollution : float
        Cycles the guest loses afterwards refilling caches and TLB.
    source : str
        Where each number comes from.
    measured : tuple of str
        The fields (of ``exits_per_second``, ``world_switch``, ``handling``,
        ``cache_pollution``) whose value is a published measurement quoted in
        ``source``; the others are illustrative (and ``source`` says so).
    """

    exits_per_second: float
    world_switch: float
    handling: float
    cache_pollution: float
    source: str
    measured: tuple = ()

    @property
    def cycles(self) -> float:
        """Cycles per exit: world switch + handling + cache pollution."""
        return self.world_switch + self.handling + self.cache_pollution


_LKML_SVM_2020 = ("M. Roth, LKML 2020-12, 'KVM: SVM: use vmsave/vmload for saving/restoring additional host "
                  "state', lkml.iu.edu/hypermail/linux/kernel/2012.2/00527.html, AMD EPYC")
_KVM_SVM_2020 = ("world switch 1,360 cycles: the VMRUN to #VMEXIT round trip measured around svm_vcpu_run was "
                 "+1,344 to +1,376 cycles in the four samples of " + _LKML_SVM_2020)
_KVM_SVM_2020_HANDLING = ("handling 1,152 cycles: KVM's own code around that VMRUN on the measured path (ioctl "
                          "entry to pre-VMRUN +576, post-VMRUN to ioctl exit +576, 'current v2 patch, sample 1', "
                          "same message): an exit to user space, the lightest full path; exits that emulate an "
                          "instruction or a device cost more")
_SPLITX_2011 = ("Landau, Ben-Yehuda & Gordon, 'SplitX: Split Guest/Hypervisor Execution on Multi-Core', USENIX "
                "WIOV 2011, §1 (Intel Xeon X5570 2.93 GHz, KVM of Linux 2.6.34, EPT and VPID)")
_EPT_2009 = ("VMware, 'Performance Evaluation of Intel EPT Hardware Assist' (2009), introduction: EPT gains up to "
             "48 % over shadow paging on MMU-intensive benchmarks and up to 600 % on MMU-intensive "
             "microbenchmarks")

#: presets per (mode, paging): exit rates per guest-CPU second and costs in cycles.  The numbers named
#: in each profile's ``measured`` are published measurements quoted in its ``source`` (paper or
#: message, the figure, the CPU); every other number is illustrative -- an order of magnitude chosen
#: to reproduce the orderings the cited papers report -- and ``source`` says so.
PRESETS = {
    ("hardware", "nested"): ExitProfile(
        2_000.0, 1_360.0, 1_152.0, 1_000.0,
        _KVM_SVM_2020 + "; " + _KVM_SVM_2020_HANDLING + "; rate 2,000/s: timer ticks, IPIs, HLT and MSR exits "
        "of a CPU-bound guest with nested paging (illustrative; I/O-intensive guests reach 'hundreds of "
        "thousands of exits per second', " + _SPLITX_2011 + "); cache refill 1,000 cycles: illustrative (the "
        "indirect cost 'can in certain cases be an order of magnitude higher' than the 2,000-cycle direct "
        "cost, ibid.)",
        measured=("world_switch", "handling")),
    ("hardware", "shadow"): ExitProfile(
        20_000.0, 2_000.0, 8_000.0, 1_000.0,
        "world switch 2,000 cycles: the direct cost of an exit, " + _SPLITX_2011 + " (processors without "
        "nested paging are older and their round trips slower, so this is a lower bound); shadow paging adds "
        "exits on page faults, page-table writes and CR3 loads, each handled by a software page walk (Adams & "
        "Agesen, ASPLOS 2006: first-generation VT-x without MMU support often slower than binary translation; "
        + _EPT_2009 + "); rate 20,000/s, handling 8,000 and cache refill 1,000 cycles: illustrative",
        measured=("world_switch",)),
    ("full", "shadow"): ExitProfile(
        20_000.0, 0.0, 4_000.0, 1_000.0,
        "binary translation (VMware's software VMM): no hardware world switch, sensitive instructions "
        "translated in place, page-table updates and hidden page faults handled in the VMM (Adams & "
        "Agesen, ASPLOS 2006, abstract: the software VMM often outperformed first-generation VT-x); rate, "
        "handling and cache refill illustrative"),
    ("para", "shadow"): ExitProfile(
        5_000.0, 700.0, 1_000.0, 500.0,
        "paravirtualization (Xen PV): explicit hypercalls with page-table updates batched (Barham et al., "
        "SOSP 2003, §2-3, OS benchmarks within a few per cent of native); rate and all costs illustrative"),
}
PRESETS[("para", "nested")] = PRESETS[("para", "shadow")]
PRESETS[("full", "nested")] = PRESETS[("full", "shadow")]  # a BT VMM virtualizes the MMU in software

_DEFAULT_PAGING = {"full": "shadow", "para": "shadow", "hardware": "nested"}


@dataclass(frozen=True)
class ExitMeasurement:
    """One published measurement of what a hardware VM exit costs on a named CPU, in cycles.

    Attributes
    ----------
    cpu : str
        The processor, as the source names it.
    exit : str
        What was measured (the exit reason and the benchmark).
    scope : {"world switch", "round trip"}
        "world switch": the hardware transition alone (guest -> VMM -> guest);
        "round trip": the transition plus the hypervisor's own in-kernel handling
        of that exit, as kvm-unit-tests ``x86/vmexit.c`` measures it from the guest.
    cycles : float
        The measured cost (after the patch the message is about, where there is one).
    before : float or None
        The cost before that patch (the same benchmark, the same machine), or None.
    source : str
        Author, list or venue, date, title and message id (or section) of the measurement.
    """

    cpu: str
    exit: str
    scope: str
    cycles: float
    before: float | None
    source: str

    def __post_init__(self):
        if self.scope not in ("world switch", "round trip"):
            raise InvalidParameter(f"scope must be 'world switch' or 'round trip', got {self.scope!r}")
        object.__setattr__(self, "cycles", _scalar(positive, "cycles", self.cycles))
        if self.before is not None:
            object.__setattr__(self, "before", _scalar(positive, "before", self.before))
        for name in ("cpu", "exit", "source"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise InvalidParameter(f"{name} must be a non-empty string, got {getattr(self, name)!r}")


_KVM_LIST = "kvm@vger.kernel.org (lore.kernel.org/kvm/<message id>)"

#: Published exit costs per CPU and exit type (cycles), for :meth:`Virtualization.preset`'s ``measured_exit``.
#: Every number is quoted from its source; mirrored messages were read in the public-inbox archive
#: linux-mailinglist-archives/kvm.vger.kernel.org.0.
EXIT_MEASUREMENTS = {
    "nehalem-ep": ExitMeasurement(
        "Intel Xeon X5570 (Nehalem-EP), 2.93 GHz, KVM of Linux 2.6.34, EPT and VPID", "any exit (direct cost)",
        "world switch", 2_000.0, None, _SPLITX_2011 + ": 'The direct cost on its own is high: 2,000 cycles'"),
    "skylake-sp": ExitMeasurement(
        "Intel Xeon Skylake-SP ('SKX server')", "VMCALL, kvm-unit-tests x86/vmexit.c 'vmcall'", "round trip",
        1_529.0, 1_559.0,
        "Wanpeng Li, '[PATCH v2] KVM: VMX: Micro-optimize vmexit time when not exposing PMU', " + _KVM_LIST
        + ", 2020-03-13, <1584071718-17163-1-git-send-email-wanpengli@tencent.com>: 'vmcall 1559' before, "
        "'vmcall 1529' after; queued by P. Bonzini, <0776e1d0-f0e0-68ef-a07c-9a4884ea1498@redhat.com>"),
    "skylake-sp-ipi": ExitMeasurement(
        "Intel Xeon Skylake-SP ('SKylake server')",
        "virtual IPI, from the sender's ICR write to the sender receiving the ACK, kvm-unit-tests x86/vmexit.c",
        "round trip", 3_203.0, 3_319.0,
        "Wanpeng Li, '[PATCH RESEND 3/5] KVM: LAPIC: Micro optimize IPI latency', " + _KVM_LIST + ", 2019-09-06, "
        "<1567733404-7759-3-git-send-email-wanpengli@tencent.com>: 'from 3319 cycles to 3203 cycles'"),
    "skylake-sp-timer": ExitMeasurement(
        "Intel Xeon Skylake-SP ('SKX Server')",
        "TSC-deadline timer armed to fire at once, kvm-unit-tests x86/vmexit.c 'tscdeadline_immed', "
        "without the advance LAPIC timer", "round trip", 2_494.75, 3_028.5,
        "Wanpeng Li, '[PATCH v4 0/7] KVM: VMX: Tscdeadline timer emulation fastpath', " + _KVM_LIST
        + ", 2020-04-28, <1588055009-12677-1-git-send-email-wanpengli@tencent.com>: "
        "'tscdeadline_immed: 3028.5 -> 2494.75'"),
    "epyc": ExitMeasurement(
        "AMD EPYC", "VMRUN to #VMEXIT around svm_vcpu_run (no KVM code)", "world switch", 1_360.0, None,
        _LKML_SVM_2020 + ": +1,376 / +1,360 ('current v2 patch', samples 1 and 2), +1,344 / +1,344 "
        "('wrgsbase', samples 1 and 2)"),
    "kvm-2024": ExitMeasurement(
        "not stated in the message (one vCPU pinned to one pCPU)", "CPUID, kvm-unit-tests x86/vmexit.c 'cpuid'",
        "round trip", 1_027.0, 1_018.0,
        "Sean Christopherson, thread '[PATCH v2] KVM: x86: Drop the kvm_has_noapic_vcpu optimization', "
        + _KVM_LIST + ", 2024-12-09, quoted in <Z1r-Nh0JAQdL_L8n@google.com> (2024-12-12): 'the average "
        "latency for a CPUID exit goes from 1018 => 1027 cycles'"),
}


@dataclass(frozen=True)
class ExitInflated(Distribution):
    """S' = S + C_1 + ... + C_N with N | S ~ Poisson(exit_rate x S) + M: work that causes exits as it runs.

    Parameters
    ----------
    base : Distribution
        S, the native service time.
    exit_rate : float
        r >= 0, exits per unit of guest CPU time.
    exit_cost : Distribution
        C, the time of one exit (i.i.d.).
    io_exits : Distribution or None
        M, extra exits per job (integer-valued, independent of S), e.g. one
        per I/O request; None: none.

    Notes
    -----
    Given S = s, the rate part is a compound Poisson sum with factorial
    moments :math:`E[(N_r)_j \\mid s] = (r s)^j`, so (partial Bell
    polynomials B_{m,j}; Comtet 1974, §3.3)

    .. math:: E[Y_r^m \\mid s] = \\sum_{j=1}^{m} (r s)^j B_{m,j}(E[C], \\dots, E[C^{m-j+1}]),

    and :math:`E[S'^k] = \\sum \\binom{k}{i, m, l} E[S^i\\, E[Y_r^m \\mid S]]\\, E[Y_M^l]`
    is exact for every k.  In particular
    :math:`E[S'] = E[S](1 + r E[C]) + E[M] E[C]` and
    :math:`E[S'^2] = E[S^2](1 + r E[C])^2 + E[S]\\, r E[C^2] + 2E[S](1 + rE[C])E[M]E[C] + E[Y_M^2]`.
    Transform: :math:`E[e^{-\\sigma S'}] = L_S(\\sigma + r(1 - L_C(\\sigma)))\\, G_M(L_C(\\sigma))`
    (condition on S; Feller vol. 2, §XIII.3 for subordination).  The
    distribution function has no closed form here (``cdf`` raises
    NoClosedForm).

    Examples
    --------
    >>> from virtmodel.dists import Exponential, Deterministic
    >>> d = ExitInflated(Exponential(1.0), 20.0, Deterministic(0.005))
    >>> round(d.mean, 12), round(d.moment(2), 12)     # 1.1; 2 x 1.1^2 + 20 x 0.005^2
    (1.1, 2.4205)
    """

    base: Distribution
    exit_rate: float
    exit_cost: Distribution
    io_exits: Distribution | None = None

    def __post_init__(self):
        if not isinstance(self.base, Distribution):
            raise InvalidParameter(f"base must be a virtmodel.dists Distribution, got {self.base!r}")
        if not isinstance(self.exit_cost, Distribution):
            raise InvalidParameter(f"exit_cost must be a virtmodel.dists Distribution, got {self.exit_cost!r}")
        object.__setattr__(self, "exit_rate", _scalar(nonnegative, "exit_rate", self.exit_rate))
        if self.io_exits is not None and not _is_count(self.io_exits):
            raise InvalidParameter(
                f"io_exits must be an integer-valued distribution (e.g. Poisson) or None, got {self.io_exits!r}")

    def _rate_part(self, m: int, s_power) -> float:
        """E[S^a Y_r^m] for the rate part: sum_j r^j B_{m,j}(c) E[S^(a + j)]."""
        if m == 0:
            return self.base.moment(s_power)
        c = [self.exit_cost.moment(i) for i in range(1, m + 1)]
        r = self.exit_rate
        return math.fsum(r**j * _partial_bell(m, j, c) * self.base.moment(s_power + j) for j in range(1, m + 1))

    def _io_moment(self, m: int) -> float:
        if m == 0:
            return 1.0
        if self.io_exits is None:
            return 0.0
        c = [self.exit_cost.moment(i) for i in range(1, m + 1)]
        return math.fsum(_factorial_moment(self.io_exits, j) * _partial_bell(m, j, c) for j in range(1, m + 1))

    def _raw_moment(self, k):
        total = 0.0
        for l in range(k + 1):  # noqa: E741 - the textbook index
            io = self._io_moment(l)
            if io == 0.0:
                continue
            for m in range(k - l + 1):
                i = k - l - m
                coef = math.factorial(k) // (math.factorial(i) * math.factorial(m) * math.factorial(l))
                total += coef * self._rate_part(m, i) * io
        return total

    def _cdf(self, x):
        raise NoClosedForm("the distribution function of S plus a compound Poisson(r S) sum has no closed form "
                           "here; use the moments or the Laplace transform")

    def _partial_moment(self, k, x):
        raise NoClosedForm("partial moments of S plus a compound Poisson(r S) sum have no closed form here")

    def _laplace(self, s):
        lc = np.asarray(self.exit_cost.laplace(s), dtype=float)
        out = np.asarray(self.base.laplace(s + self.exit_rate * (1.0 - lc)), dtype=float)
        if self.io_exits is not None:
            lc_safe = np.maximum(lc, np.finfo(float).tiny)
            out = out * np.asarray(self.io_exits.laplace(-np.log(lc_safe)), dtype=float)
        return out

    def _sample(self, rng, size):
        shape = size if isinstance(size, tuple) else (size,)
        total = int(np.prod(shape, dtype=np.int64))
        base = self.base.sample(rng, total)
        counts = rng.poisson(self.exit_rate * base)
        if self.io_exits is not None:
            counts = counts + np.rint(self.io_exits.sample(rng, total)).astype(np.int64)
        costs = self.exit_cost.sample(rng, int(counts.sum()))
        extra = np.bincount(np.repeat(np.arange(total), counts), weights=costs, minlength=total)
        out = base + extra
        return out.reshape(shape) if isinstance(size, tuple) else out


@dataclass(frozen=True)
class Virtualization:
    """How a virtualization technique inflates guest CPU work: exits per unit of work, each at a cost.

    Parameters
    ----------
    mode : {"full", "para", "hardware"}
        Binary translation, paravirtualization, or trap-and-emulate with
        VT-x/AMD-V (a label carried into reports; see the module docstring).
    exit_rate : float
        r >= 0, exits per unit of guest CPU time (model time units).
    exit_cost : Distribution
        C, the time of one exit (world switch + handling + cache pollution).
    io_exits : Distribution or None
        Extra exits per job from its I/O (integer-valued); None: none.
    paging : {"shadow", "nested"}
        How guest page tables are virtualized (a label; the presets give
        shadow paging its extra exits).
    device_work : Distribution or None
        Host CPU time per I/O exit spent outside the guest, in the device
        model (QEMU, vhost, dom0): see :meth:`device_model`.

    Notes
    -----
    :meth:`inflate` gives :class:`ExitInflated`:
    :math:`E[S'] = E[S](1 + r E[C]) + E[M]E[C]`; the CPU part multiplies
    work by :meth:`cpu_overhead_factor` = 1 + r E[C] for every job size.
    With Poisson arrivals on one pCPU, Pollaczek-Khinchine with the exact
    moments of S' gives the mean wait exactly:
    :math:`W_q = \\lambda E[S'^2] / (2(1 - \\lambda E[S']))`.

    Examples
    --------
    >>> from virtmodel.dists import Exponential, Deterministic
    >>> virt = Virtualization("hardware", exit_rate=20.0, exit_cost=Deterministic(0.005))
    >>> round(virt.cpu_overhead_factor, 12), round(virt.inflate(Exponential(0.1)).mean, 12)   # jobs of 10
    (1.1, 11.0)
    """

    mode: str
    exit_rate: float
    exit_cost: Distribution
    io_exits: Distribution | None = None
    paging: str = "nested"
    device_work: Distribution | None = None

    def __post_init__(self):
        if not isinstance(self.mode, str) or self.mode not in MODES:
            raise InvalidParameter(f"mode must be one of {list(MODES)}, got {self.mode!r}")
        if not isinstance(self.paging, str) or self.paging not in PAGING:
            raise InvalidParameter(f"paging must be one of {list(PAGING)}, got {self.paging!r}")
        if isinstance(self.exit_rate, Distribution):
            raise InvalidParameter(
                "exit_rate must be a number (exits per unit of guest CPU time), got a distribution "
                f"{self.exit_rate!r}; exits per job (I/O) go in io_exits")
        object.__setattr__(self, "exit_rate", _scalar(nonnegative, "exit_rate", self.exit_rate))
        if not isinstance(self.exit_cost, Distribution):
            raise InvalidParameter(f"exit_cost must be a virtmodel.dists Distribution, got {self.exit_cost!r}")
        if self.io_exits is not None and not _is_count(self.io_exits):
            raise InvalidParameter(
                f"io_exits must be an integer-valued distribution (e.g. Poisson) or None, got {self.io_exits!r}")
        if self.device_work is not None and not isinstance(self.device_work, Distribution):
            raise InvalidParameter(f"device_work must be a virtmodel.dists Distribution or None, "
                                   f"got {self.device_work!r}")

    @classmethod
    def preset(cls, mode, paging=None, *, measured_exit=None, exits_per_second=None, world_switch_cycles=None,
               handling_cycles=None, cache_pollution_cycles=None, io_exits=None, device_work=None, clock_hz=3.0e9,
               seconds_per_unit=1.0) -> Virtualization:
        """Typical settings of ``mode`` and ``paging`` (:data:`PRESETS`), in model time units.

        Parameters
        ----------
        mode : {"full", "para", "hardware"}
        paging : {"shadow", "nested"} or None
            None: nested for "hardware", shadow otherwise.
        measured_exit : str, optional
            A key of :data:`EXIT_MEASUREMENTS` ("hardware" mode only): the
            exit cost measured on that CPU replaces the preset's world switch.
            A "round trip" measurement already contains the hypervisor's
            in-kernel handling of that exit, so handling then defaults to 0;
            a "world switch" measurement keeps the preset's handling.
        exits_per_second : float, optional
            Exits per second of guest CPU; default from :data:`PRESETS`.
        world_switch_cycles, handling_cycles, cache_pollution_cycles : float, optional
            Cost of one exit, in cycles; defaults from :data:`PRESETS`.
        io_exits, device_work : optional
            Passed through (see :class:`Virtualization`; ``device_work`` in model units).
        clock_hz : float, default 3e9
            Clock rate that turns cycles into seconds.
        seconds_per_unit : float, default 1.0
            What one model time unit is, in seconds (1.0: seconds, like
            Credit's and LinuxFair's defaults; 1e-3: milliseconds).

        Examples
        --------
        >>> v = Virtualization.preset("hardware", "nested")
        >>> v.exit_rate, round(v.exit_cost.mean * 3e9, 6)      # per second of guest CPU; 3,512 cycles
        (2000.0, 3512.0)
        >>> round(v.cpu_overhead_factor, 6)                    # 1 + 2,000 x 3,512 / 3e9
        1.002341
        >>> Virtualization.preset("hardware", "nested", seconds_per_unit=1e-3).exit_rate   # per millisecond
        2.0
        >>> v = Virtualization.preset("hardware", measured_exit="skylake-sp")   # VMCALL round trip, 1,529
        >>> round(v.exit_cost.mean * 3e9, 6)                  # + 1,000 cycles of cache refill (illustrative)
        2529.0
        """
        if not isinstance(mode, str) or mode not in MODES:
            raise InvalidParameter(f"mode must be one of {list(MODES)}, got {mode!r}")
        paging = _DEFAULT_PAGING[mode] if paging is None else paging
        if not isinstance(paging, str) or paging not in PAGING:
            raise InvalidParameter(f"paging must be one of {list(PAGING)}, got {paging!r}")
        p = PRESETS[(mode, paging)]
        switch, handling = p.world_switch, p.handling
        if measured_exit is not None:
            if not isinstance(measured_exit, str) or measured_exit not in EXIT_MEASUREMENTS:
                raise InvalidParameter(f"measured_exit must be one of {sorted(EXIT_MEASUREMENTS)}, "
                                       f"got {measured_exit!r}")
            if mode != "hardware":
                raise InvalidParameter(f"measured_exit is a hardware (VT-x/AMD-V) exit cost, so mode must be "
                                       f"'hardware', got mode={mode!r}")
            m = EXIT_MEASUREMENTS[measured_exit]
            switch = m.cycles
            handling = 0.0 if m.scope == "round trip" else handling

        def pick(name, given, default):
            return _scalar(nonnegative, name, default if given is None else given)

        rate = pick("exits_per_second", exits_per_second, p.exits_per_second)
        cycles = (pick("world_switch_cycles", world_switch_cycles, switch)
                  + pick("handling_cycles", handling_cycles, handling)
                  + pick("cache_pollution_cycles", cache_pollution_cycles, p.cache_pollution))
        if not cycles > 0:
            raise InvalidParameter(f"an exit must cost > 0 cycles in total, got {cycles!r}")
        hz = _scalar(positive, "clock_hz", clock_hz)
        unit = _scalar(positive, "seconds_per_unit", seconds_per_unit)
        return cls(mode, rate * unit, Deterministic(cycles / hz / unit), io_exits=io_exits, paging=paging,
                   device_work=device_work)

    @property
    def cpu_overhead_factor(self) -> float:
        """1 + r E[C]: guest CPU work in the VM per unit of native work (the same for every job size)."""
        return 1.0 + self.exit_rate * self.exit_cost.mean

    def mean_overhead(self, service: Distribution) -> float:
        """E[S'] - E[S] = r E[S] E[C] + E[M] E[C], the mean time a job of law ``service`` spends in exits."""
        return self.inflate(service).mean - service.mean

    def inflate(self, service: Distribution) -> ExitInflated:
        """The service time S' of a job whose native service is ``service``."""
        if not isinstance(service, Distribution):
            raise InvalidParameter(f"service must be a virtmodel.dists Distribution, got {service!r}")
        return ExitInflated(service, self.exit_rate, self.exit_cost, self.io_exits)

    def overhead_factor(self, service: Distribution) -> float:
        """E[S'] / E[S]: how much longer a job takes in the VM (1 = native); I/O exits included."""
        return self.inflate(service).mean / service.mean

    def device_model(self, name: str, job_arrival_rate: float, **vm_options):
        """A VM that carries the device-emulation work (QEMU / vhost / dom0) of a guest's I/O exits.

        Its requests arrive at rate ``job_arrival_rate x E[io_exits]`` as a
        Poisson stream, each needing ``device_work`` of host CPU: add it to
        the Scenario beside the guest so that it competes for the pCPUs.
        Approximation: the I/O of one job is spread as independent Poisson
        arrivals instead of coming with the job (exact in the long-run load,
        approximate in timing).

        Examples
        --------
        >>> from virtmodel.dists import Poisson, Deterministic
        >>> v = Virtualization.preset("hardware", io_exits=Poisson(2.0), device_work=Deterministic(2e-5))
        >>> qemu = v.device_model("qemu", job_arrival_rate=100.0)
        >>> round(qemu.arrival.rate, 9), round(qemu.offered_load, 9)     # 200 I/Os per second, 0.4 % of a pCPU
        (200.0, 0.004)
        """
        from .scenario import VM

        if self.io_exits is None or self.device_work is None:
            raise InvalidParameter("device_model needs io_exits and device_work, got "
                                   f"io_exits={self.io_exits!r}, device_work={self.device_work!r}")
        rate = float(positive("job_arrival_rate", job_arrival_rate)) * self.io_exits.mean
        return VM(name, Exponential(rate), self.device_work, **vm_options)
