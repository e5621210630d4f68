"""Boot storms as a scenario kind: ``vm.predict``, ``vm.simulate`` and ``vm.compare`` accept them.

A :class:`BootStorm` starts ``n_vms`` VMs at time 0; each is created,
configured and booted, the boots sharing ``slots`` boot slots.  The metric is
``makespan`` (group ``"all"``): the time until the last VM is up.  The closed
forms live in :mod:`virtmodel.analytic.lifecycle`, the simpy model in
:mod:`virtmodel.sim.lifecycle`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._lazy import lazy
from ._validation import positive, positive_int, scalar, sequence, unique_names
from .dists import Deterministic, Distribution
from .errors import InvalidParameter, NoClosedForm

pd = lazy("pandas")

__all__ = [
    "BootStorm", "InstallFromServer", "InstallFromMedia", "InstallStorm", "Module", "Component", "HostBringUp",
    "Provisioning",
]


@dataclass(frozen=True)
class BootStorm:
    """N VMs started at once: create -> configure -> boot on ``slots`` boot slots.

    Parameters
    ----------
    n_vms : int
        Number of VMs, >= 1.
    boot : Distribution
        Boot time of one VM (i.i.d. over VMs).
    slots : int or None, default None
        Boots that may run at once (FIFO in the order VMs are ready); None:
        all in parallel; 1: sequential.
    create, configure : Distribution or None
        Optional stages before the boot, run for all VMs at once.

    Examples
    --------
    >>> import virtmodel as vm
    >>> from virtmodel.dists import Exponential
    >>> storm = vm.BootStorm(4, boot=Exponential(1.0), slots=2)
    >>> vm.predict(storm).value("makespan")        # (4 - 2)/2 + H_2
    2.5
    >>> res = vm.simulate(storm, replications=200, seed=1)
    >>> low, high = res.ci("makespan")
    >>> bool(low < 2.5 < high)
    True
    """

    n_vms: int
    boot: Distribution
    slots: int | None = None
    create: Distribution | None = None
    configure: Distribution | None = None

    def __post_init__(self):
        object.__setattr__(self, "n_vms", positive_int("n_vms", self.n_vms))
        if not isinstance(self.boot, Distribution):
            raise InvalidParameter(f"boot must be a virtmodel.dists Distribution, got {self.boot!r}")
        if self.slots is not None:
            object.__setattr__(self, "slots", positive_int("slots", self.slots))
        for name in ("create", "configure"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Distribution):
                raise InvalidParameter(f"{name} must be a virtmodel.dists Distribution or None, got {value!r}")

    def predict(self):
        """The closed-form mean makespan as a :class:`~virtmodel.Prediction`.

        Raises
        ------
        NoClosedForm
            Where :func:`virtmodel.analytic.lifecycle.boot_storm_makespan` has none.
        """
        from .analytic.lifecycle import boot_storm_makespan
        from .analytic.solve import Prediction

        m = boot_storm_makespan(self.n_vms, self.boot, self.slots, self.create, self.configure)
        values = pd.DataFrame([("makespan", "all", float(m.value))], columns=["metric", "group", "value"])
        return Prediction(values, m.exact, m.model, m.source)

    def replicate(self, seed, replication) -> dict:
        """One simulated storm: ``{("makespan", "all"): makespan}``."""
        from .sim.lifecycle import BootStormModel

        return {("makespan", "all"): BootStormModel(self, seed, replication).run()}


# ---------------------------------------------------------------------------
# OS installation, host bring-up, provisioning storms (issue 16)
# ---------------------------------------------------------------------------


def _prediction(rows, exact, model, source):
    from .analytic.solve import Prediction

    values = pd.DataFrame([(m, g, float(v)) for m, g, v in rows], columns=["metric", "group", "value"])
    return Prediction(values, exact, model, source)


def _law(name, value) -> Distribution:
    """A Distribution as given, or a positive number as Deterministic."""
    if isinstance(value, Distribution):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Deterministic(scalar(positive, name, value))
    raise InvalidParameter(f"{name} must be a virtmodel.dists Distribution or a number > 0, got {value!r}")


def _image_size(value):
    """A Distribution (i.i.d. sizes), a number (equal sizes) or a tuple of per-VM sizes."""
    if isinstance(value, (list, tuple)) or (hasattr(value, "__array__") and not isinstance(value, Distribution)):
        sizes = tuple(float(x) for x in positive("image_size", value).ravel())
        if not sizes:
            raise InvalidParameter(f"image_size must not be empty, got {value!r}")
        return sizes
    return _law("image_size", value)


class _Install:
    def sizes(self, n_vms):
        """Sizes of n_vms installs: the Distribution, or a float array (per-VM sizes)."""
        import numpy as np

        if isinstance(self.image_size, tuple):
            if len(self.image_size) != n_vms:
                raise InvalidParameter(f"image_size gives {len(self.image_size)} per-VM sizes, "
                                       f"but n_vms is {n_vms}")
            return np.array(self.image_size)
        return self.image_size


@dataclass(frozen=True)
class InstallFromServer(_Install):
    """Guest OS installed over the network from one image server of ``bandwidth`` (shared by the VMs).

    Parameters
    ----------
    image_size : Distribution, number or sequence of numbers
        Size of the image each VM pulls: i.i.d. sizes, one size, or one per VM.
    bandwidth : float
        Server link bandwidth B (size units per time unit), > 0.  Active
        transfers share it equally (processor sharing).
    slots : int or None
        Transfers the server runs at once (FIFO for the rest); None: all.
    stream_bandwidth : float or None
        Cap c on one transfer (the VM's own path); None: no cap.
    """

    image_size: object
    bandwidth: float
    slots: int | None = None
    stream_bandwidth: float | None = None
    kind = "server"

    def __post_init__(self):
        object.__setattr__(self, "image_size", _image_size(self.image_size))
        object.__setattr__(self, "bandwidth", scalar(positive, "bandwidth", self.bandwidth))
        if self.slots is not None:
            object.__setattr__(self, "slots", positive_int("slots", self.slots))
        if self.stream_bandwidth is not None:
            object.__setattr__(self, "stream_bandwidth", scalar(positive, "stream_bandwidth", self.stream_bandwidth))


@dataclass(frozen=True)
class InstallFromMedia(_Install):
    """Guest OS installed from a CD image or a local ISO file: each VM reads at ``read_rate``, nothing shared.

    Parameters
    ----------
    image_size : Distribution, number or sequence of numbers
    read_rate : float
        Local read rate r (size units per time unit), > 0.
    medium : {"iso", "cd"}
    """

    image_size: object
    read_rate: float
    medium: str = "iso"
    kind = "media"

    def __post_init__(self):
        object.__setattr__(self, "image_size", _image_size(self.image_size))
        object.__setattr__(self, "read_rate", scalar(positive, "read_rate", self.read_rate))
        if self.medium not in ("iso", "cd"):
            raise InvalidParameter(f"medium must be 'iso' or 'cd', got {self.medium!r}")


def _install(value):
    if not isinstance(value, (InstallFromServer, InstallFromMedia)):
        raise InvalidParameter(f"install must be an InstallFromServer or InstallFromMedia, got {value!r}")
    return value


@dataclass(frozen=True)
class InstallStorm:
    """N VMs install their guest OS at once (time 0): a scenario kind.

    Metrics: ``makespan`` (last install ends) and ``mean_response`` (mean
    over VMs of the install end), group ``"all"``; with per-VM sizes also
    ``mean_response`` per VM (groups ``vm0``, ``vm1``, ...).  Closed forms
    in :func:`virtmodel.analytic.lifecycle.install_times`; the simulator
    runs the shared link exactly (event at the next completion).

    Examples
    --------
    >>> import virtmodel as vm
    >>> storm = vm.InstallStorm(10, vm.InstallFromServer(image_size=4.0, bandwidth=2.0))
    >>> vm.predict(storm).value("makespan")          # N S / B
    20.0
    """

    n_vms: int
    install: object

    def __post_init__(self):
        object.__setattr__(self, "n_vms", positive_int("n_vms", self.n_vms))
        _install(self.install).sizes(self.n_vms)

    def predict(self):
        """Makespan (exact or lower bound) and mean completion where a closed form exists."""
        from .analytic.lifecycle import install_times

        t = install_times(self.n_vms, self.install)
        rows = [("makespan", "all", t.makespan)]
        if t.mean_completion is not None:
            rows.append(("mean_response", "all", t.mean_completion))
        if t.completion is not None:
            rows += [("mean_response", f"vm{i}", c) for i, c in enumerate(t.completion)]
        model = t.model if t.exact else f"{t.model}: E[makespan] in [{t.makespan_bounds[0]:.6g}, " \
                                        f"{t.makespan_bounds[1]:.6g}]"
        return _prediction(rows, t.exact, model, t.source)

    def replicate(self, seed, replication) -> dict:
        """One simulated install storm."""
        from .sim.lifecycle import install_replication

        done = install_replication(self, seed, replication)
        out = {("makespan", "all"): float(done.max()), ("mean_response", "all"): float(done.mean())}
        if isinstance(self.install.image_size, tuple):
            out.update({("mean_response", f"vm{i}"): float(c) for i, c in enumerate(done)})
        return out


@dataclass(frozen=True)
class Module:
    """A hypervisor module: ``name`` and its load time (Distribution or number)."""

    name: str
    load_time: object

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise InvalidParameter(f"module name must be a non-empty string, got {self.name!r}")
        object.__setattr__(self, "load_time", _law(f"load_time of module {self.name!r}", self.load_time))


@dataclass(frozen=True)
class Component:
    """A hypervisor component to initialise: ``name``, init time, and the components it waits for."""

    name: str
    init_time: object
    after: tuple = ()

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise InvalidParameter(f"component name must be a non-empty string, got {self.name!r}")
        object.__setattr__(self, "init_time", _law(f"init_time of component {self.name!r}", self.init_time))
        after = (self.after,) if isinstance(self.after, str) else sequence("after", self.after)
        if not all(isinstance(a, str) and a for a in after):
            raise InvalidParameter(f"after of component {self.name!r} must be component names, got {self.after!r}")
        object.__setattr__(self, "after", after)


def _names_unique(kind, items):
    return unique_names(kind, (x.name for x in items))


@dataclass(frozen=True)
class HostBringUp:
    """Host bring-up: load the hypervisor's modules, then initialise its components (a scenario kind).

    Parameters
    ----------
    modules : sequence of Module
    components : sequence of Component
        The initialisation DAG (``Component.after`` names predecessors).
    loading : {"static", "dynamic", "hybrid"}
        static: every module is loaded (one at a time) before the host is
        ready; dynamic: none, each is loaded on a VM's first use; hybrid: the
        ``core`` modules statically, the rest on demand.
    core : sequence of str
        Modules loaded at start under hybrid loading.
    initialisation : {"sequential", "parallel", "hybrid"}
        sequential: one component at a time; parallel: each starts when its
        predecessors are done and one of ``cores`` is free (list scheduling);
        hybrid: DAG level by level (a barrier between levels), parallel within.
    cores : int or None
        Cores for initialisation; None: unlimited.
    vm_modules : mapping of VM name -> sequence of module names
        The modules each VM needs, in the order the VMs start (at host ready).
    on_demand_overhead : Distribution, number or None
        Extra cost of each on-demand load (the trap into the loader, symbol
        resolution), added to its load time.

    Metrics: ``host_ready_time`` (loading + initialisation), ``first_start_delay``
    per VM (the on-demand loading its first start waits for; group ``"all"``:
    the mean over VMs) and ``makespan`` (host ready plus the largest delay:
    when the last VM can start).

    Modelled after Linux/KVM: static loading is the modules named for boot
    (``modules-load.d``) loaded before any VM starts; dynamic loading is the
    kernel's ``request_module()`` (``kernel/module/kmod.c``), which runs
    ``modprobe`` on first use while the caller waits, the usermode-helper
    start being the on-demand overhead.  Simplified: one loader taking one
    module at a time, in order of first request (Linux lets up to
    ``MAX_KMOD_CONCURRENT`` = 50 ``request_module`` calls run at once and
    holds ``module_mutex`` only briefly, so this is the serialised,
    pessimistic case, exact for one ``modprobe`` of a module list); a random
    load time per module; no dependencies between modules; initialisation
    after loading.  Missing: module unloading, page-cache effects on a
    second load, initcall levels as such (the DAG levels play their part).

    Examples
    --------
    >>> import virtmodel as vm
    >>> host = vm.HostBringUp([vm.Module("kvm", 1.0), vm.Module("vhost_net", 2.0)],
    ...                       [vm.Component("mmu", 2.0), vm.Component("timers", 1.0),
    ...                        vm.Component("devices", 1.0, after=["mmu", "timers"])],
    ...                       loading="dynamic", initialisation="parallel",
    ...                       vm_modules={"web": ["vhost_net"]})
    >>> p = vm.predict(host)
    >>> p.value("host_ready_time"), p.value("first_start_delay", "web")   # critical path 2 + 1; load 2
    (3.0, 2.0)
    """

    modules: tuple
    components: tuple = ()
    loading: str = "static"
    core: tuple = ()
    initialisation: str = "sequential"
    cores: int | None = None
    vm_modules: object = ()
    on_demand_overhead: object = None

    def __post_init__(self):
        mods = sequence("modules", self.modules)
        for m in mods:
            if not isinstance(m, Module):
                raise InvalidParameter(f"modules must be Module objects, got {m!r}")
        object.__setattr__(self, "modules", mods)
        names = set(_names_unique("module", mods))
        comps = sequence("components", self.components)
        for c in comps:
            if not isinstance(c, Component):
                raise InvalidParameter(f"components must be Component objects, got {c!r}")
        object.__setattr__(self, "components", comps)
        cnames = set(_names_unique("component", comps))
        for c in comps:
            unknown = [p for p in c.after if p not in cnames]
            if unknown:
                raise InvalidParameter(f"component {c.name!r} waits for unknown components {unknown}")
        from .analytic.lifecycle import find_cycle

        cycle = find_cycle({c.name: c.after for c in comps})
        if cycle is not None:
            raise InvalidParameter(f"components must form a DAG, got the dependency cycle {' -> '.join(cycle)}")
        if self.loading not in ("static", "dynamic", "hybrid"):
            raise InvalidParameter(f"loading must be 'static', 'dynamic' or 'hybrid', got {self.loading!r}")
        if self.initialisation not in ("sequential", "parallel", "hybrid"):
            raise InvalidParameter(
                f"initialisation must be 'sequential', 'parallel' or 'hybrid', got {self.initialisation!r}")
        core = (self.core,) if isinstance(self.core, str) else tuple(self.core)
        bad = [m for m in core if m not in names]
        if bad:
            raise InvalidParameter(f"core modules {bad} are not among the modules {sorted(names)}")
        if core and self.loading != "hybrid":
            raise InvalidParameter(f"core modules are for loading='hybrid', got loading={self.loading!r}")
        object.__setattr__(self, "core", core)
        if self.cores is not None:
            object.__setattr__(self, "cores", positive_int("cores", self.cores))
        vmm = dict(self.vm_modules)
        pairs = []
        for vm_name, needs in vmm.items():
            needs = (needs,) if isinstance(needs, str) else tuple(needs)
            for m in needs:
                if m not in names:
                    raise InvalidParameter(
                        f"VM {vm_name!r} needs module {m!r}, which no loading strategy loads: it is not among "
                        f"the modules {sorted(names)}")
            pairs.append((vm_name, needs))
        object.__setattr__(self, "vm_modules", tuple(pairs))
        if self.on_demand_overhead is not None:
            object.__setattr__(self, "on_demand_overhead", _law("on_demand_overhead", self.on_demand_overhead))

    @property
    def static_modules(self) -> tuple:
        """Names of the modules loaded before the host is ready."""
        if self.loading == "static":
            return tuple(m.name for m in self.modules)
        return self.core if self.loading == "hybrid" else ()

    def times(self, needs=None):
        """Closed forms: :class:`~virtmodel.analytic.lifecycle.BringUpTimes`.

        ``needs``: module lists per VM (default ``vm_modules``).
        """
        from .analytic.lifecycle import BringUpTimes, init_makespan, loading_delays

        static = set(self.static_modules)
        load = sum(m.load_time.mean for m in self.modules if m.name in static)
        value, low, high, exact = init_makespan({c.name: c.init_time for c in self.components},
                                                {c.name: c.after for c in self.components},
                                                self.initialisation, self.cores)
        extra = 0.0 if self.on_demand_overhead is None else self.on_demand_overhead.mean
        means = {m.name: m.load_time.mean + extra for m in self.modules}
        delays = loading_delays(means, dict(self.vm_modules if needs is None else needs), static)
        top = max(delays.values(), default=0.0)
        return BringUpTimes(load + value, (load + low, load + high), exact, delays, load + value + top,
                            f"host bring-up ({self.loading} loading, {self.initialisation} initialisation)",
                            "loading: sums of means (one loader, linearity); initialisation: "
                            "virtmodel.analytic.lifecycle.init_makespan (Graham 1966 where bounds)")

    def predict(self):
        """``host_ready_time``, ``first_start_delay`` (per VM and mean) and ``makespan``."""
        t = self.times()
        rows = [("host_ready_time", "all", t.host_ready), ("makespan", "all", t.last_vm_ready)]
        if t.delays:
            rows.append(("first_start_delay", "all", sum(t.delays.values()) / len(t.delays)))
            rows += [("first_start_delay", v, d) for v, d in t.delays.items()]
        model = t.model if t.exact else (f"{t.model}: lower bounds; E[host_ready_time] in "
                                         f"[{t.host_ready_bounds[0]:.6g}, {t.host_ready_bounds[1]:.6g}]")
        return _prediction(rows, t.exact, model, t.source)

    def replicate(self, seed, replication) -> dict:
        """One simulated bring-up."""
        from .sim.lifecycle import bring_up_replication

        ready, delays = bring_up_replication(self, seed, replication)
        out = {("host_ready_time", "all"): ready,
               ("makespan", "all"): ready + max(delays.values(), default=0.0)}
        if delays:
            out[("first_start_delay", "all")] = sum(delays.values()) / len(delays)
            out.update({("first_start_delay", v): d for v, d in delays.items()})
        return out


@dataclass(frozen=True)
class Provisioning:
    """A provisioning storm end to end (a scenario kind): host bring-up, then N VMs configure -> install -> boot.

    Parameters
    ----------
    n_vms : int
    boot : Distribution
        Boot time of one VM (i.i.d.).
    host : HostBringUp or None
        Brought up first; the VMs start when it is ready and the modules in
        ``needs`` are loaded (on demand under dynamic or hybrid loading).
    needs : sequence of str
        Modules every VM of the storm needs (must be among the host's modules).
    configure : Distribution, number or None
        Configuration time per VM (all in parallel).
    install : InstallFromServer, InstallFromMedia or None
    boot_slots : int or None
        Boots at once (FIFO in the order installs end); None: all.

    Metrics: ``makespan`` (group ``"all"``: the last VM is up; groups
    ``"host"``, ``"configure"``, ``"install"``: when the last VM finished that
    stage), ``host_ready_time``.  ``predict`` is exact where the stages
    compose into closed forms (deterministic configuration, installs that end
    together or deterministic boots in parallel, and a boot storm with a
    closed form); otherwise it gives the lower bound of :meth:`makespan_bounds`
    with ``exact=False``.

    Examples
    --------
    >>> import virtmodel as vm
    >>> from virtmodel.dists import Deterministic
    >>> p = vm.Provisioning(8, boot=Deterministic(1.0), configure=2.0,
    ...                     install=vm.InstallFromServer(4.0, bandwidth=8.0), boot_slots=4)
    >>> vm.predict(p).value("makespan")              # 2 + 8*4/8 + ceil(8/4)*1
    8.0
    """

    n_vms: int
    boot: Distribution
    host: HostBringUp | None = None
    needs: tuple = ()
    configure: object = None
    install: object = None
    boot_slots: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "n_vms", positive_int("n_vms", self.n_vms))
        if not isinstance(self.boot, Distribution):
            raise InvalidParameter(f"boot must be a virtmodel.dists Distribution, got {self.boot!r}")
        if self.host is not None and not isinstance(self.host, HostBringUp):
            raise InvalidParameter(f"host must be a HostBringUp or None, got {self.host!r}")
        needs = (self.needs,) if isinstance(self.needs, str) else tuple(self.needs)
        have = set() if self.host is None else {m.name for m in self.host.modules}
        bad = [m for m in needs if m not in have]
        if bad:
            raise InvalidParameter(f"the VMs need modules {bad}, which no loading strategy loads: they are not "
                                   f"among the host's modules {sorted(have)}")
        object.__setattr__(self, "needs", needs)
        if self.configure is not None:
            object.__setattr__(self, "configure", _law("configure", self.configure))
        if self.install is not None:
            _install(self.install).sizes(self.n_vms)
        if self.boot_slots is not None:
            object.__setattr__(self, "boot_slots", positive_int("boot_slots", self.boot_slots))

    def _start(self):
        """(E[start], low, high, exact): host ready plus the on-demand loading the storm waits for."""
        if self.host is None:
            return 0.0, 0.0, 0.0, True
        t = self.host.times(needs=(("storm", self.needs),))
        d = t.delays["storm"]
        return t.host_ready + d, t.host_ready_bounds[0] + d, t.host_ready_bounds[1] + d, t.exact

    def makespan_bounds(self) -> tuple:
        """(value, low, high, exact) for E[makespan]; value is the exact mean or the lower bound.

        After the start S0, with configure times A_i, install ends C_i and boots
        B_i on k slots: M = S0 + max_i(boot end).  Exact cases: see the class.
        Bounds (any laws): M >= C_max + B_last and M >= A_min + max(sum B / k, max B);
        M <= C_max + sum B / k + (1 - 1/k) max B (Graham 1969: the last boot
        waits only while all k slots are busy); C_max >= max(A_min + the
        simultaneous-start lower bound, E[A] + E[S]/r1) and C_max <= A_max +
        sum S / r1 (r1: the rate of a lone transfer), means by linearity.
        """
        from .analytic.lifecycle import _expected_max as emax
        from .analytic.lifecycle import expected_min, install_times, slots_makespan, slots_makespan_bounds

        n = self.n_vms
        s0, s_lo, s_hi, s_exact = self._start()
        conf = self.configure
        a_mean = 0.0 if conf is None else conf.mean
        fixed_conf = conf is None or isinstance(conf, Deterministic)
        k = n if self.boot_slots is None else min(self.boot_slots, n)
        inst = None if self.install is None else install_times(n, self.install)
        # boots after simultaneous readiness (installs end together)
        try:
            storm = slots_makespan(n, self.boot, k)
            storm_lo = storm_hi = storm
            storm_exact = True
        except NoClosedForm:
            storm_lo, storm_hi = slots_makespan_bounds(n, self.boot, k)
            storm_exact = False
        together = inst is None or (inst.exact and inst.all_together)
        if fixed_conf and together:
            c = 0.0 if inst is None else inst.makespan
            lo, hi = s_lo + a_mean + c + storm_lo, s_hi + a_mean + c + storm_hi
            exact = s_exact and storm_exact
            return (lo if not exact else s0 + a_mean + c + storm_lo), lo, hi, exact
        if fixed_conf and inst.exact and k >= n and isinstance(self.boot, Deterministic):
            v = a_mean + inst.makespan + self.boot.value
            return s0 + v, s_lo + v, s_hi + v, s_exact
        # bounds
        a_min = 0.0 if conf is None else expected_min(n, conf)
        a_max = 0.0 if conf is None else emax(n, conf)
        b_mean, b_max = self.boot.mean, emax(n, self.boot)
        graham = b_max if k >= n else n * b_mean / k + (1 - 1 / k) * b_max
        if inst is None:  # random configuration straight into the boots
            lo = max(a_mean + b_mean, a_min + max(n * b_mean / k, b_max))
            return s_lo + lo, s_lo + lo, s_hi + a_max + graham, False
        sizes = self.install.sizes(n)
        mean_s = float(sizes.mean()) if not isinstance(sizes, Distribution) else sizes.mean
        if self.install.kind == "media":
            r1 = self.install.read_rate
            max_s = float(sizes.max()) if not isinstance(sizes, Distribution) else emax(n, sizes)
            c_hi = a_max + max_s / r1
        else:
            cap = self.install.stream_bandwidth
            r1 = self.install.bandwidth if cap is None else min(cap, self.install.bandwidth)
            c_hi = a_max + n * mean_s / r1
        c_lo = max(a_min + inst.makespan_bounds[0], a_mean + mean_s / r1)
        lo = max(c_lo + b_mean, a_min + max(n * b_mean / k, b_max))
        hi = c_hi + graham
        return s_lo + lo, s_lo + lo, s_hi + hi, False

    def stage_ends(self) -> dict:
        """Exact E[when the last VM finished each stage], for the stages that have one.

        ``"host"``: E[start] (bring-up plus the on-demand loading the VMs wait
        for); ``"configure"``: plus a deterministic configuration time;
        ``"install"``: plus E[last install end] when the installs start
        together and :func:`~virtmodel.analytic.lifecycle.install_times` is exact.
        """
        from .analytic.lifecycle import install_times

        s0, _, _, s_exact = self._start()
        out = {}
        if not s_exact:
            return out
        out["host"] = s0
        if self.configure is not None and not isinstance(self.configure, Deterministic):
            return out
        out["configure"] = s0 + (0.0 if self.configure is None else self.configure.mean)
        if self.install is not None:
            inst = install_times(self.n_vms, self.install)
            if inst.exact:
                out["install"] = out["configure"] + inst.makespan
        return out

    def predict(self):
        """``makespan`` (exact or the lower bound; per stage where exact) and ``host_ready_time``."""
        value, lo, hi, exact = self.makespan_bounds()
        ready = 0.0 if self.host is None else self.host.times().host_ready
        rows = [("makespan", "all", value), ("host_ready_time", "all", ready)]
        rows += [("makespan", stage, v) for stage, v in self.stage_ends().items()]
        model = "provisioning storm (bring-up, configure, install, boot)"
        if not exact:
            model += f": lower bound; E[makespan] in [{lo:.6g}, {hi:.6g}]"
        return _prediction(rows, exact, model, "stage composition; see Provisioning.makespan_bounds")

    def replicate(self, seed, replication) -> dict:
        """One simulated provisioning storm."""
        from .sim.lifecycle import provisioning_replication

        t = provisioning_replication(self, seed, replication)
        return {("makespan", "all"): t["boot"], ("makespan", "host"): t["host"],
                ("makespan", "configure"): t["configure"], ("makespan", "install"): t["install"],
                ("host_ready_time", "all"): t["host_ready"]}
