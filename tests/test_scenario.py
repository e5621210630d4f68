"""Tests of virtmodel.scenario (Scenario, VM) and virtmodel.policies (FCFS)."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import virtmodel as vm
from virtmodel.dists import Deterministic, Erlang, Exponential, HyperExponential
from virtmodel.errors import InvalidParameter, UnstableSystem, VirtmodelError
from virtmodel.policies import FCFS, Policy


def a_vm(name="a", arrival_rate=0.5, service_rate=1.0, **kw):
    return vm.VM(name, Exponential(arrival_rate), Exponential(service_rate), **kw)


def raises_named(exc, *fragments):
    """pytest.raises for ``exc`` whose message contains every fragment; also checks the hierarchy."""
    assert issubclass(exc, VirtmodelError) and issubclass(exc, ValueError)
    return _Raises(exc, fragments)


class _Raises:
    def __init__(self, exc, fragments):
        self.exc, self.fragments = exc, fragments

    def __enter__(self):
        self.ctx = pytest.raises(self.exc)
        self.info = self.ctx.__enter__()
        return self.info

    def __exit__(self, *exc_info):
        handled = self.ctx.__exit__(*exc_info)
        err = self.info.value
        assert isinstance(err, VirtmodelError) and isinstance(err, ValueError)
        msg = str(err)
        for frag in self.fragments:
            assert frag in msg, f"{frag!r} not in message {msg!r}"
        return handled


# --------------------------------------------------------------------------- VM


class TestVMValidation:
    @pytest.mark.parametrize("name", ["", "   ", "\t"])
    def test_empty_name(self, name):
        with raises_named(InvalidParameter, "name", repr(name)):
            vm.VM(name, Exponential(0.5), Exponential(1.0))

    @pytest.mark.parametrize("name", [3, None, b"web", ("a",)])
    def test_name_not_a_string(self, name):
        with raises_named(InvalidParameter, "name", repr(name)):
            vm.VM(name, Exponential(0.5), Exponential(1.0))

    @pytest.mark.parametrize("value", [0.5, 1, "exp", None, Exponential])
    def test_arrival_not_a_distribution(self, value):
        with raises_named(InvalidParameter, "arrival", repr(value), "'web'"):
            vm.VM("web", value, Exponential(1.0))

    @pytest.mark.parametrize("value", [2.0, 3, "det", None])
    def test_service_not_a_distribution(self, value):
        with raises_named(InvalidParameter, "service", repr(value), "'web'"):
            vm.VM("web", Exponential(0.5), value)

    @pytest.mark.parametrize("priority", [-1, -7])
    def test_negative_priority(self, priority):
        with raises_named(InvalidParameter, "priority", repr(priority)):
            a_vm(priority=priority)

    @pytest.mark.parametrize("priority", [1.5, "1", None, 0.1])
    def test_non_integer_priority(self, priority):
        with raises_named(InvalidParameter, "priority", repr(priority)):
            a_vm(priority=priority)

    @pytest.mark.parametrize("priority", [True, False])
    def test_bool_priority(self, priority):
        with raises_named(InvalidParameter, "priority", repr(priority)):
            a_vm(priority=priority)

    def test_integral_float_priority_becomes_int(self):
        v = a_vm(priority=2.0)
        assert v.priority == 2 and type(v.priority) is int

    def test_frozen(self):
        v = a_vm()
        with pytest.raises(dataclasses.FrozenInstanceError):
            v.name = "b"


class TestVMProperties:
    def test_rates_and_load(self):
        v = vm.VM("web", Exponential(rate=0.4), Deterministic(2.0))
        assert v.arrival_rate == pytest.approx(0.4, rel=1e-15)
        assert v.offered_load == pytest.approx(0.8, rel=1e-15)
        assert v.poisson

    def test_non_poisson(self):
        v = vm.VM("web", Erlang(k=2, rate=1.0), Exponential(1.0))
        assert not v.poisson
        assert v.arrival_rate == pytest.approx(0.5, rel=1e-15)
        assert v.offered_load == pytest.approx(0.5, rel=1e-15)

    def test_default_priority(self):
        assert a_vm().priority == 0


# --------------------------------------------------------------------------- Scenario


class TestScenarioValidation:
    def test_empty_vm_list(self):
        with raises_named(InvalidParameter, "vms", "empty"):
            vm.Scenario(1, [])

    def test_single_vm_not_in_a_list(self):
        v = a_vm()
        with raises_named(InvalidParameter, "vms", repr(v)):
            vm.Scenario(1, v)

    def test_vms_not_iterable(self):
        with raises_named(InvalidParameter, "vms", "42"):
            vm.Scenario(1, 42)

    @pytest.mark.parametrize("bad", ["x", 3, None, Exponential(1.0)])
    def test_non_vm_entries(self, bad):
        with raises_named(InvalidParameter, "vms", repr(bad)):
            vm.Scenario(1, [a_vm("a", 0.1), bad])

    def test_duplicate_names(self):
        with raises_named(InvalidParameter, "names", "unique", "'a'"):
            vm.Scenario(1, [a_vm("a", 0.1), a_vm("b", 0.1), a_vm("a", 0.2)])

    def test_duplicate_names_listed_once_each(self):
        with raises_named(InvalidParameter, "'a'", "'b'"):
            vm.Scenario(1, [a_vm("a", 0.1), a_vm("b", 0.1), a_vm("a", 0.1), a_vm("b", 0.1)])

    @pytest.mark.parametrize("pcpus", [0, -1, 1.5, "2", None, True])
    def test_bad_pcpus(self, pcpus):
        with raises_named(InvalidParameter, "pcpus", repr(pcpus)):
            vm.Scenario(pcpus, [a_vm()])

    def test_integral_float_pcpus(self):
        sc = vm.Scenario(2.0, [a_vm()])
        assert sc.pcpus == 2 and type(sc.pcpus) is int

    @pytest.mark.parametrize("pcpus, capacity", [(2, 1), (3, 2), (1, 0)])
    def test_capacity_below_pcpus(self, pcpus, capacity):
        with raises_named(InvalidParameter, "capacity", "pcpus", repr(capacity)):
            vm.Scenario(pcpus, [a_vm()], capacity=capacity)

    @pytest.mark.parametrize("capacity", [-1, 2.5, "3", True])
    def test_bad_capacity_type(self, capacity):
        with raises_named(InvalidParameter, "capacity", repr(capacity)):
            vm.Scenario(1, [a_vm()], capacity=capacity)

    @pytest.mark.parametrize("policy", ["FCFS", FCFS, None, 1])
    def test_bad_policy(self, policy):
        with raises_named(InvalidParameter, "policy", repr(policy)):
            vm.Scenario(1, [a_vm()], policy=policy)

    @pytest.mark.parametrize(
        "pcpus, loads, expected",
        [(1, [1.0], 1.0), (1, [0.6, 0.6], 1.2), (2, [1.0, 1.5], 1.25), (3, [3.0], 1.0)],
    )
    def test_unstable(self, pcpus, loads, expected):
        vms = [vm.VM(f"v{i}", Exponential(load), Exponential(1.0)) for i, load in enumerate(loads)]
        with raises_named(UnstableSystem, "utilization", f"{expected:.6g}") as info:
            vm.Scenario(pcpus, vms)
        assert info.value.utilization == pytest.approx(expected, rel=1e-12)

    def test_unstable_is_fine_with_capacity(self):
        sc = vm.Scenario(1, [a_vm(arrival_rate=3.0)], capacity=4)
        assert sc.utilization == pytest.approx(3.0)
        assert sc.capacity == 4

    def test_errors_are_value_errors(self):
        for exc in (InvalidParameter, UnstableSystem, vm.NoClosedForm):
            assert issubclass(exc, VirtmodelError)
            assert issubclass(exc, ValueError)
        with pytest.raises(ValueError):
            vm.Scenario(0, [a_vm()])
        with pytest.raises(ValueError):
            vm.Scenario(1, [a_vm(arrival_rate=2.0)])


class TestScenarioProperties:
    def setup_method(self):
        self.vms = [
            vm.VM("web", Exponential(0.4), Exponential(2.0)),
            vm.VM("db", Erlang(k=2, rate=0.5), Deterministic(1.5)),
            vm.VM("batch", Exponential(0.1), HyperExponential.balanced(2.0, 4.0)),
        ]
        self.sc = vm.Scenario(2, self.vms)

    def test_names_and_lookup(self):
        assert self.sc.names == ("web", "db", "batch")
        assert self.sc.vm("db") is self.vms[1]
        with raises_named(InvalidParameter, "name", "'nope'", "'web'"):
            self.sc.vm("nope")

    def test_vms_stored_as_tuple(self):
        assert isinstance(self.sc.vms, tuple)
        assert self.sc.vms == tuple(self.vms)

    def test_rates_and_loads(self):
        # rates: 0.4 + 0.25 + 0.1; loads: 0.2 + 0.375 + 0.2
        assert self.sc.arrival_rate == pytest.approx(0.75, rel=1e-15)
        assert self.sc.offered_load == pytest.approx(0.775, rel=1e-15)
        assert self.sc.utilization == pytest.approx(0.3875, rel=1e-15)

    def test_defaults(self):
        assert self.sc.policy == FCFS()
        assert self.sc.capacity is None

    def test_frozen(self):
        with pytest.raises(dataclasses.FrozenInstanceError):
            self.sc.pcpus = 3

    def test_accepts_generator_of_vms(self):
        sc = vm.Scenario(1, (v for v in [a_vm("a", 0.1), a_vm("b", 0.2)]))
        assert sc.names == ("a", "b")

    @settings(max_examples=50, deadline=None)
    @given(
        pcpus=st.integers(1, 8),
        loads=st.lists(st.floats(0.01, 2.0), min_size=1, max_size=5),
        service=st.floats(0.1, 5.0),
    )
    def test_load_identities(self, pcpus, loads, service):
        vms = [vm.VM(f"v{i}", Exponential(load / service), Deterministic(service))
               for i, load in enumerate(loads)]
        total = math.fsum(loads)
        if total >= pcpus:
            with pytest.raises(UnstableSystem):
                vm.Scenario(pcpus, vms)
            return
        sc = vm.Scenario(pcpus, vms)
        assert sc.offered_load == pytest.approx(total, rel=1e-12)
        assert sc.utilization == pytest.approx(total / pcpus, rel=1e-12)
        assert sc.arrival_rate == pytest.approx(math.fsum(v.arrival_rate for v in vms), rel=1e-12)


class TestPolicies:
    def test_fcfs(self):
        p = FCFS()
        assert isinstance(p, Policy)
        assert p.name == "FCFS"
        assert not p.preemptive and p.work_conserving
        assert FCFS() == FCFS()

    def test_custom_policy_validate_hook_runs(self):
        @dataclasses.dataclass(frozen=True)
        class Picky(Policy):
            def validate(self, scenario):
                if "web" not in scenario.names:
                    raise InvalidParameter(f"Picky needs a VM 'web', got {list(scenario.names)}")

        vm.Scenario(1, [a_vm("web")], policy=Picky())
        with raises_named(InvalidParameter, "'web'", "['a']"):
            vm.Scenario(1, [a_vm("a")], policy=Picky())
