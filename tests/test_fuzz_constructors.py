"""Issue 13 item 1: property-based tests over every public constructor.

For every public parameter object (distributions, VM, Scenario, policies,
events, the scenario kinds and their parts) two properties hold:

* **valid input constructs**: hypothesis draws values inside each parameter's
  domain and the constructor accepts them;
* **invalid input is refused the documented way**: replacing one parameter of
  a valid call with a value outside its domain (negative, zero where not
  allowed, NaN, +-inf, a string, None where required, a list where a number is
  expected, an unknown name...) raises a :class:`~virtmodel.errors.VirtmodelError`
  whose message names that parameter -- never another exception type, never a
  silently accepted NaN or infinity.

The default suite runs a few derandomised examples per (constructor,
parameter) pair; ``-m slow`` runs many more.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import virtmodel as vm
from virtmodel import dists as D
from virtmodel import events as E
from virtmodel import policies as P
from virtmodel.analytic.clock import Oscillator, PathDelay
from virtmodel.clock import NTP, PTP, Deschedule
from virtmodel.errors import VirtmodelError
from virtmodel.lifecycle import Component, InstallFromMedia, InstallFromServer, Module

FAST = settings(max_examples=4, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=2, derandomize=True, deadline=None, database=None,
               suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=200, derandomize=False, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])

# --------------------------------------------------------------------------- valid values
pos = st.floats(1e-6, 1e6, allow_nan=False, allow_infinity=False)
nonneg = st.one_of(st.just(0.0), pos)
real = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
small_int = st.integers(1, 8)
exp = st.builds(D.Exponential, rate=pos)
dist = st.one_of(exp, st.builds(D.Deterministic, value=pos),
                 st.builds(D.LogNormal, mean=pos, scv=st.floats(0.01, 50)),
                 st.builds(D.Erlang, k=small_int, rate=pos), st.builds(D.Gamma, shape=pos, rate=pos))
law = st.one_of(dist, pos)  # lifecycle stage times: a Distribution or a number > 0
names = st.sampled_from(["a", "b"])


@st.composite
def hyper(draw):
    n = draw(st.integers(1, 4))
    w = draw(st.lists(st.floats(0.01, 1.0), min_size=n, max_size=n))
    probs = [x / sum(w) for x in w]
    return dict(probs=probs, rates=draw(st.lists(pos, min_size=n, max_size=n)))


@st.composite
def uniform(draw):
    low = draw(nonneg)
    return dict(low=low, high=low + draw(st.floats(1e-3, 1e3)))


def samples(minimum=0.0):
    return st.lists(st.floats(minimum, 1e6, allow_nan=False), min_size=1, max_size=20).filter(
        lambda xs: max(xs) > 0)


@st.composite
def vm_kwargs(draw, name="a"):
    kw = dict(name=name, arrival=D.Exponential(draw(st.floats(0.01, 0.3))),
              service=D.Exponential(draw(st.floats(1.0, 10.0))), priority=draw(st.integers(0, 3)))
    for key in ("vcpus",):
        kw[key] = draw(st.one_of(st.none(), st.integers(1, 4)))
    for key in ("create", "configure", "boot", "warm_boot", "patience"):
        kw[key] = draw(st.one_of(st.none(), dist))
    return kw


@st.composite
def scenario_kwargs(draw):
    n = draw(st.integers(1, 4))
    vms = tuple(vm.VM(**draw(vm_kwargs(name=f"vm{i}"))) for i in range(n))
    return dict(pcpus=draw(st.integers(1, 3)), vms=vms,
                policy=draw(st.sampled_from([P.FCFS(), P.SJF(), P.SRPT(), P.PSJF(), P.Priority(True),
                                             P.ProcessorSharing(), P.RoundRobin(0.1)])),
                capacity=draw(st.one_of(st.none(), st.integers(8, 50))))


def fixed(**kw):
    return st.fixed_dictionaries({k: (v if isinstance(v, st.SearchStrategy) else st.just(v)) for k, v in kw.items()})


# --------------------------------------------------------------------------- invalid values
NAN, INF = math.nan, math.inf
NOT_A_NUMBER = ["x", [1.0, 2.0], (), object(), {}]
NON_FINITE = [NAN, INF, -INF, np.float64("nan")]
BAD = {
    "positive": NON_FINITE + NOT_A_NUMBER + [None, -1.0, 0.0, 0, -1e-300],
    "positive?": NON_FINITE + NOT_A_NUMBER + [-1.0, 0.0],          # optional: None is valid
    "nonnegative": NON_FINITE + NOT_A_NUMBER + [None, -1.0, -1e-300],
    "nonnegative?": NON_FINITE + NOT_A_NUMBER + [-1.0],
    "real": NON_FINITE + NOT_A_NUMBER + [None],
    "int>=1": NON_FINITE + ["x", None, 0, -1, 1.5, [1, 2]],
    "int>=1?": NON_FINITE + ["x", 0, -1, 1.5, [1, 2]],
    "int>=0": NON_FINITE + ["x", None, -1, 1.5],
    "dist": NON_FINITE + ["x", None, -1.0, object(), [1.0]],
    "dist?": NON_FINITE + ["x", -1.0, object(), [1.0]],
    "law": NON_FINITE + ["x", None, -1.0, 0.0, object()],
    "bool": ["x", None, NAN, 2, 1.5],
    "name": [None, "", 1.0, NAN, object()],
    "choice": ["no-such-choice", None, 1.0, NAN, [1, 2], {}],
    "probs": [[0.5, 0.6], [NAN, 1.0], [INF, 0.0], [-0.5, 1.5], [], "x", None, 0.5],
    "vector+": [[1.0, NAN], [1.0, INF], [1.0, -1.0], [], "x", None, 1.0, [[1.0, 2.0]]],
    "vector0": [[1.0, NAN], [1.0, INF], [1.0, -1.0], [], "x", None, 1.0],
    "weights": [{"a": -1.0}, {"a": NAN}, {"a": INF}, {"a": "x"}, {"a": 0.0}, "x", 5.0, [1.0]],
    "weights_real": [{"a": NAN}, {"a": INF}, {"a": -INF}, {"a": "x"}, "x", 5.0],
    "vms": [(), None, "x", 1.0, ("not a VM",)],
    "policy": [None, "FCFS", 1.0, P.FCFS],
    "seq": [NAN, 1.0, None, object(), "x"],
    "seq?": [NAN, 1.0, object()],
    "fraction": NON_FINITE + NOT_A_NUMBER + [None, -0.1, 1.1],
    "positive|inf": [NAN, -INF, np.float64("nan")] + NOT_A_NUMBER + [None, -1.0, 0.0, 0, -1e-300],
}
bad_random = {  # random values outside the domain, drawn by hypothesis
    "positive": st.floats(max_value=0.0, allow_nan=False, allow_infinity=False),
    "nonnegative": st.floats(max_value=-1e-300, allow_nan=False, allow_infinity=False),
    "int>=1": st.integers(max_value=0),
    "int>=0": st.integers(max_value=-1),
}

# --------------------------------------------------------------------------- the constructors
# id -> (constructor, strategy of valid keyword arguments, {parameter: kind})
SPECS = {
    "Exponential": (D.Exponential, fixed(rate=pos), {"rate": "positive"}),
    "Erlang": (D.Erlang, fixed(k=small_int, rate=pos), {"k": "int>=1", "rate": "positive"}),
    "Gamma": (D.Gamma, fixed(shape=pos, rate=pos), {"shape": "positive", "rate": "positive"}),
    "Deterministic": (D.Deterministic, fixed(value=pos), {"value": "positive"}),
    "HyperExponential": (D.HyperExponential, hyper(), {"probs": "probs", "rates": "vector+"}),
    "LogNormal": (D.LogNormal, fixed(mean=pos, scv=st.floats(1e-3, 1e3)), {"mean": "positive", "scv": "positive"}),
    "Uniform": (D.Uniform, uniform(), {"low": "nonnegative", "high": "positive"}),
    "Empirical": (D.Empirical, fixed(samples=samples()), {"samples": "vector0"}),
    "Sequential": (D.Sequential, fixed(values=samples(), cycle=st.booleans()), {"values": "vector0", "cycle": "bool"}),
    "Poisson": (D.Poisson, fixed(mean=pos), {"mean": "positive"}),
    "Compound": (D.Compound, fixed(base=dist, count=st.builds(D.Poisson, mean=st.floats(0.1, 10)), addend=dist),
                 {"base": "dist", "count": "dist", "addend": "dist"}),
    "VM": (vm.VM, vm_kwargs(), {"name": "name", "arrival": "dist", "service": "dist", "priority": "int>=0",
                                "vcpus": "int>=1?", "create": "dist?", "configure": "dist?", "boot": "dist?",
                                "warm_boot": "dist?", "patience": "dist?"}),
    "Scenario": (vm.Scenario, scenario_kwargs(), {"pcpus": "int>=1", "vms": "vms", "policy": "policy",
                                                  "capacity": "int>=1?", "allow_overload": "bool"}),
    "Priority": (P.Priority, fixed(preemptive=st.booleans()), {"preemptive": "bool"}),
    "RoundRobin": (P.RoundRobin, fixed(quantum=pos, switch_cost=nonneg),
                   {"quantum": "positive", "switch_cost": "nonnegative"}),
    "DelayDependentPriority": (P.DelayDependentPriority, fixed(offset=st.dictionaries(names, real),
                                                               slope=st.dictionaries(names, pos)),
                               {"offset": "weights_real", "slope": "weights"}),
    "Polling": (P.Polling, fixed(discipline="limited", switchover=dist,
                                 limit=st.integers(1, 5)),
                {"discipline": "choice", "switchover": "dist", "limit": "int>=1"}),
    "ProportionalShare": (P.ProportionalShare, fixed(weights=st.dictionaries(names, pos, min_size=1)),
                          {"weights": "weights"}),
    "Credit": (P.Credit, fixed(weights=st.dictionaries(names, st.floats(1, 65535)),
                               caps=st.dictionaries(names, st.floats(1, 100)), timeslice=st.floats(0.01, 0.1),
                               tick=st.floats(1e-3, 0.01), seconds_per_unit=st.floats(0.1, 10)),
               {"weights": "weights", "caps": "weights", "timeslice": "positive?", "tick": "positive?",
                "seconds_per_unit": "positive"}),
    "LinuxFair": (P.LinuxFair, fixed(weights=st.dictionaries(names, st.floats(1, 1000)),
                                     base_slice=st.floats(1e-4, 0.01), seconds_per_unit=st.floats(0.1, 10)),
                  {"weights": "weights", "base_slice": "positive?", "seconds_per_unit": "positive"}),
    "Pause": (E.Pause, fixed(vm=names, at=nonneg, duration=st.one_of(st.none(), pos)),
              {"vm": "name", "at": "nonnegative", "duration": "positive?"}),
    "Resume": (E.Resume, fixed(vm=names, at=nonneg), {"vm": "name", "at": "nonnegative"}),
    "Stop": (E.Stop, fixed(vm=names, at=nonneg), {"vm": "name", "at": "nonnegative"}),
    "Start": (E.Start, fixed(vm=names, at=nonneg, warm=st.booleans()),
              {"vm": "name", "at": "nonnegative", "warm": "bool"}),
    "BootStorm": (vm.BootStorm, fixed(n_vms=st.integers(1, 50), boot=dist, slots=st.one_of(st.none(), small_int),
                                      create=st.one_of(st.none(), dist), configure=st.one_of(st.none(), dist)),
                  {"n_vms": "int>=1", "boot": "dist", "slots": "int>=1?", "create": "dist?", "configure": "dist?"}),
    "Virtualization": (vm.Virtualization, fixed(mode=st.sampled_from(["full", "para", "hardware"]),
                                                exit_rate=nonneg, exit_cost=dist),
                       {"mode": "choice", "exit_rate": "nonnegative", "exit_cost": "dist"}),
    "Oscillator": (Oscillator, fixed(offset=real, frequency_ppm=real, random_walk_fm=nonneg, white_pm=nonneg,
                                     ageing=real),
                   {"offset": "real", "frequency_ppm": "real", "random_walk_fm": "nonnegative",
                    "white_pm": "nonnegative", "ageing": "real"}),
    "PathDelay": (PathDelay, fixed(minimum=nonneg, queueing_mean=nonneg),
                  {"minimum": "nonnegative", "queueing_mean": "nonnegative"}),
    "NTP": (NTP, fixed(poll_interval=st.floats(1, 1024), filter_length=small_int),
            {"poll_interval": "positive", "filter_length": "int>=1", "topology": "choice"}),
    "PTP": (PTP, fixed(sync_interval=st.floats(0.01, 10), hardware_timestamps=st.booleans()),
            {"sync_interval": "positive", "hardware_timestamps": "bool", "topology": "choice"}),
    "Deschedule": (Deschedule, fixed(run=pos, gap=pos), {"run": "positive", "gap": "positive"}),
    "ClockScenario": (vm.ClockScenario, fixed(n_vms=st.integers(1, 20), horizon=st.integers(10, 10_000).map(float),
                                              step=st.just(1.0), offset_spread=nonneg, frequency_spread_ppm=nonneg),
                      {"n_vms": "int>=1", "horizon": "positive", "step": "positive", "offset_spread": "nonnegative",
                       "frequency_spread_ppm": "nonnegative", "tick_policy": "choice", "tick_period": "positive",
                       "warmup": "nonnegative", "epsilon": "positive"}),
    "Flavour": (vm.Flavour, fixed(name="small", vcpus=small_int, memory=nonneg, arrival_rate=pos, lifetime=dist),
                {"name": "name", "vcpus": "int>=1", "memory": "nonnegative", "arrival_rate": "positive",
                 "lifetime": "dist"}),
    "Cluster": (vm.Cluster, fixed(hosts=st.integers(1, 20), host_cpus=st.integers(8, 64), host_memory=st.floats(8, 512),
                                  flavours=st.just((vm.Flavour("small", 1, 1.0, 1.0, D.Exponential(1.0)),)),
                                  placement="first_fit", requests=st.integers(1, 1000)),
                {"hosts": "int>=1", "host_cpus": "int>=1", "host_memory": "positive", "flavours": "seq",
                 "placement": "choice", "requests": "int>=1"}),
    "Module": (Module, fixed(name="kvm", load_time=law), {"name": "name", "load_time": "law"}),
    "Component": (Component, fixed(name="net", init_time=law, after=st.just(())),
                  {"name": "name", "init_time": "law", "after": "seq?"}),
    "InstallFromServer": (InstallFromServer, fixed(image_size=law, bandwidth=pos, slots=st.one_of(st.none(), small_int),
                                                   stream_bandwidth=st.one_of(st.none(), pos)),
                          {"image_size": "law", "bandwidth": "positive", "slots": "int>=1?",
                           "stream_bandwidth": "positive?"}),
    "InstallFromMedia": (InstallFromMedia, fixed(image_size=law, read_rate=pos),
                         {"image_size": "law", "read_rate": "positive", "medium": "choice"}),
    "InstallStorm": (vm.InstallStorm, fixed(n_vms=st.integers(1, 50), install=st.just(InstallFromServer(1.0, 1.0))),
                     {"n_vms": "int>=1", "install": "dist"}),
    "HostBringUp": (vm.HostBringUp, fixed(modules=st.just((Module("kvm", 1.0),)),
                                          components=st.just((Component("net", 1.0),)),
                                          loading=st.sampled_from(["static", "dynamic"]), cores=small_int),
                    {"modules": "seq", "components": "seq", "loading": "choice", "cores": "int>=1?"}),
    "Provisioning": (vm.Provisioning, fixed(n_vms=st.integers(1, 50), boot=dist,
                                            boot_slots=st.one_of(st.none(), small_int)),
                     {"n_vms": "int>=1", "boot": "dist", "boot_slots": "int>=1?"}),
    "Device": (vm.Device, fixed(bandwidth=pos, overhead=nonneg, write_bandwidth=st.one_of(st.none(), pos),
                                write_overhead=st.one_of(st.none(), nonneg), kind=st.sampled_from(["disk", "nic"])),
               {"bandwidth": "positive", "overhead": "nonnegative", "write_bandwidth": "positive?",
                "write_overhead": "nonnegative?", "kind": "choice"}),
    "IOStream": (vm.IOStream, fixed(rate=pos, size=dist, read_fraction=st.floats(0.0, 1.0)),
                 {"rate": "positive|inf", "size": "dist", "read_fraction": "fraction"}),  # inf: backlogged
    "TokenBucket": (vm.TokenBucket, fixed(rate=pos, burst=st.floats(1.0, 100.0)),
                    {"rate": "positive", "burst": "positive"}),
    "IOPath": (vm.IOPath, fixed(kind="virtio", batch=st.integers(1, 32), exit_cost=pos),
               {"kind": "choice", "batch": "int>=1", "exit_cost": "dist"}),
    "NetworkHost": (vm.NetworkHost, fixed(name="h1", vswitch_bandwidth=st.one_of(st.none(), pos),
                                          nic_bandwidth=st.one_of(st.none(), pos), vswitch_overhead=nonneg,
                                          nic_overhead=nonneg),
                    {"name": "name", "vswitch_bandwidth": "positive?", "nic_bandwidth": "positive?",
                     "vswitch_overhead": "nonnegative", "nic_overhead": "nonnegative"}),
    "Link": (vm.Link, fixed(a="h1", b="h2", bandwidth=pos, latency=nonneg, overhead=nonneg),
             {"a": "name", "b": "name", "bandwidth": "positive", "latency": "nonnegative", "overhead": "nonnegative"}),
    "Flow": (vm.Flow, fixed(src="a", dst="b", arrival=pos, size=dist),
             {"src": "name", "dst": "name", "size": "dist"}),
}

#: the message must name the parameter; where a constructor spells it differently, the spelling it uses
SPELLING = {("Pause", "vm"): "vm name", ("Resume", "vm"): "vm name", ("Stop", "vm"): "vm name",
            ("Start", "vm"): "vm name", ("Sequential", "cycle"): "cycle", ("Flavour", "name"): "name",
            ("Module", "name"): "name", ("Component", "name"): "name", ("VM", "name"): "name",
            ("Scenario", "vms"): "vm"}

PAIRS = [(spec, param) for spec, (_, _, kinds) in SPECS.items() for param in kinds]


def _construct_valid(data, spec):
    factory, strategy, _ = SPECS[spec]
    kwargs = data.draw(strategy, label="valid kwargs")
    return factory, kwargs, factory(**kwargs)


def _check_invalid(data, spec, param):
    factory, kwargs, _ = _construct_valid(data, spec)
    kind = SPECS[spec][2][param]
    choices = st.sampled_from(BAD[kind])
    base_kind = kind.rstrip("?")
    if base_kind in bad_random:
        choices = st.one_of(choices, bad_random[base_kind])
    bad = data.draw(choices, label=f"bad {param}")
    kwargs = {**kwargs, param: bad}
    try:
        factory(**kwargs)
    except VirtmodelError as err:
        spelled = SPELLING.get((spec, param), param)
        assert spelled.lower() in str(err).lower(), f"{spec}({param}={bad!r}): message does not name it: {err}"
    except Exception as err:  # pragma: no cover - the failure this test exists to catch
        pytest.fail(f"{spec}({param}={bad!r}) raised {type(err).__name__} (not a VirtmodelError): {err}")
    else:
        pytest.fail(f"{spec}({param}={bad!r}) was accepted")


@pytest.mark.parametrize("spec", sorted(SPECS))
@FAST
@given(data=st.data())
def test_valid_input_constructs(spec, data):
    _, _, obj = _construct_valid(data, spec)
    assert obj is not None


@pytest.mark.parametrize("spec,param", PAIRS, ids=[f"{s}-{p}" for s, p in PAIRS])
@FEW
@given(data=st.data())
def test_invalid_input_raises_virtmodel_error_naming_it(spec, param, data):
    _check_invalid(data, spec, param)


@pytest.mark.parametrize("spec,param", PAIRS, ids=[f"{s}-{p}" for s, p in PAIRS])
def test_every_listed_bad_value_is_refused(spec, param):
    """Deterministic sweep: each listed bad value of each parameter, on the first valid example."""
    factory, strategy, kinds = SPECS[spec]
    kwargs = _first_example(strategy)
    for bad in BAD[kinds[param]]:
        try:
            factory(**{**kwargs, param: bad})
        except VirtmodelError as err:
            spelled = SPELLING.get((spec, param), param)
            assert spelled.lower() in str(err).lower(), f"{spec}({param}={bad!r}): {err}"
        except Exception as err:
            pytest.fail(f"{spec}({param}={bad!r}) raised {type(err).__name__} (not a VirtmodelError): {err}")
        else:
            pytest.fail(f"{spec}({param}={bad!r}) was accepted")


_FIRST: dict = {}


def _first_example(strategy):
    """The first example hypothesis generates (derandomised), cached per strategy."""
    key = id(strategy)
    if key not in _FIRST:
        found = []

        @settings(max_examples=1, derandomize=True, database=None, deadline=None)
        @given(strategy)
        def grab(kw):
            found.append(kw)

        grab()
        _FIRST[key] = found[0]
    return _FIRST[key]


def test_every_public_policy_and_distribution_is_covered():
    """A new policy or distribution class must join SPECS (or the list of parameterless ones)."""
    parameterless = {"FCFS", "SJF", "SRPT", "PSJF", "ProcessorSharing", "Policy"}
    for module, skip in ((P, parameterless), (D, {"Distribution"})):
        public = {n for n in dir(module) if isinstance(getattr(module, n), type) and not n.startswith("_")
                  and getattr(module, n).__module__ == module.__name__}
        assert public - skip <= set(SPECS), f"not fuzzed: {sorted(public - skip - set(SPECS))}"
    for name in parameterless - {"Policy"}:
        getattr(P, name)()


def test_scenario_rejects_duplicate_names_and_unknown_event_targets():
    a = vm.VM("a", D.Exponential(0.3), D.Exponential(1.0))
    with pytest.raises(VirtmodelError, match="a"):
        vm.Scenario(pcpus=1, vms=(a, a))
    with pytest.raises(VirtmodelError, match="nope"):
        vm.Scenario(pcpus=1, vms=(a,), events=(E.Pause("nope", 1.0),))


@pytest.mark.slow
@pytest.mark.parametrize("spec", sorted(SPECS))
@SLOW
@given(data=st.data())
def test_valid_input_constructs_many(spec, data):
    _construct_valid(data, spec)


@pytest.mark.slow
@pytest.mark.parametrize("spec,param", PAIRS, ids=[f"{s}-{p}" for s, p in PAIRS])
@SLOW
@given(data=st.data())
def test_invalid_input_many(spec, param, data):
    _check_invalid(data, spec, param)
