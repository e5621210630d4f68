"""Policies are plain data checked at construction: bad input names the parameter, the value and the rule."""

import pytest

import virtmodel as vm
from virtmodel.dists import Deterministic, Exponential
from virtmodel.errors import InvalidParameter, VirtmodelError

P = vm.policies


def two_vms(**kw):
    return [vm.VM("web", Exponential(0.3), Exponential(1.0), **kw), vm.VM("batch", Exponential(0.3), Exponential(1.0))]


@pytest.mark.parametrize("make, needle", [
    (lambda: P.RoundRobin(quantum=0), "quantum must be > 0, got 0"),
    (lambda: P.RoundRobin(quantum=-0.1), "quantum must be > 0"),
    (lambda: P.RoundRobin(quantum=float("nan")), "quantum must be finite"),
    (lambda: P.RoundRobin(quantum="fast"), "quantum must be a real number"),
    (lambda: P.RoundRobin(0.1, switch_cost=-0.01), "switch_cost must be >= 0, got -0.01"),
    (lambda: P.Priority(preemptive="yes"), "preemptive must be True or False"),
    (lambda: P.DelayDependentPriority(slope={"web": 0.0}), "slope['web'] must be > 0"),
    (lambda: P.DelayDependentPriority(offset={"web": "a"}), "offset['web'] must be a real number"),
    (lambda: P.DelayDependentPriority(slope=[1.0]), "slope must be a dict"),
    (lambda: vm.Scenario(1, two_vms(), policy=P.DelayDependentPriority(slope={"db": 2.0})),
     "slope names VMs that are not in the scenario: ['db']"),
    (lambda: vm.VM("web", Exponential(0.3), Exponential(1.0), priority=1.5), "priority must be an integer"),
    (lambda: vm.VM("web", Exponential(0.3), Exponential(1.0), priority=True), "priority must be an integer"),
    (lambda: vm.VM("web", Exponential(0.3), Exponential(1.0), priority=-1), "priority must be an integer >= 0"),
    (lambda: P.Polling("round", switchover=Deterministic(0.1)), "discipline must be"),
    (lambda: P.Polling("limited", switchover=Deterministic(0.1), limit=0), "limit must be an integer >= 1, got 0"),
    (lambda: P.Polling("exhaustive", switchover=0.1), "switchover must be a virtmodel.dists Distribution"),
    (lambda: P.ProportionalShare(weights={"web": 0}), "weights['web'] must be > 0, got 0"),
    (lambda: P.Credit(weights={"web": -1}), "weights['web'] must be > 0"),
    (lambda: P.Credit(caps={"web": 0}), "caps['web'] must be > 0"),
    (lambda: vm.Scenario(1, two_vms(), policy=P.Credit(caps={"web": 150})), r"caps\['web'\] must lie in \(0, 100"),
    (lambda: vm.Scenario(1, two_vms(vcpus=2), policy=P.Credit(caps={"web": 250})), r"\(0, 200"),
    (lambda: vm.Scenario(1, two_vms(), policy=P.ProportionalShare(weights={"db": 1})), "not in the scenario"),
    (lambda: P.Credit(timeslice=0.01, tick=0.03), "tick must be <= timeslice"),
])
def test_bad_policy_input(make, needle):
    with pytest.raises(InvalidParameter, match=needle.replace("[", r"\[").replace("]", r"\]")
                       if "\\" not in needle else needle) as info:
        make()
    assert isinstance(info.value, VirtmodelError) and isinstance(info.value, ValueError)


def test_caps_up_to_100_per_vcpu_are_accepted():
    sc = vm.Scenario(1, two_vms(vcpus=2), policy=P.Credit(caps={"web": 200}))
    assert sc.policy.cap_of("web") == 200.0 and sc.policy.cap_of("batch") is None


def test_policies_are_hashable_values():
    assert P.RoundRobin(0.1) == P.RoundRobin(0.1) and hash(P.RoundRobin(0.1)) == hash(P.RoundRobin(0.1))
    assert P.DelayDependentPriority(slope={"a": 2}) == P.DelayDependentPriority(slope={"a": 2.0})
    assert len({P.Credit(weights={"a": 1}), P.Credit(weights={"a": 1.0})}) == 1
